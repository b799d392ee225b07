"""Any MNE-readable EEG file -> ``mne.io.Raw`` on the SEED cap, with names normalised and montage set."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import mne

from ..channels import SEED_CH_NAMES, make_montage, normalize_ch_name
from ..preprocess import EEGDataError

__all__ = ["SUPPORTED_EXTENSIONS", "MissingChannelsError", "read_raw", "conform_to_cap"]

#: File types read through ``mne.io.read_raw`` (EDF, BDF, FIF, BrainVision, EEGLAB, Neuroscan CNT).
SUPPORTED_EXTENSIONS = (".edf", ".bdf", ".fif", ".fif.gz", ".vhdr", ".set", ".cnt")

# Channels typed EEG in many EDF files although they are not scalp EEG.
_NON_EEG_NAME = re.compile(r"^(H?V?EOG|HEO|VEO|ECG|EKG|EMG|STATUS|STI\s*\d*|TRIGGER|TRIG|EVENT|RESP|GSR|PHOTIC)",
                           re.IGNORECASE)


class MissingChannelsError(EEGDataError):
    """The recording lacks channels of the SEED cap."""


def conform_to_cap(raw: mne.io.BaseRaw, *, missing: str = "raise", source=None) -> mne.io.BaseRaw:
    """Rename, pick and reorder ``raw``'s EEG channels to the SEED 62-channel cap, and set the montage.

    Parameters
    ----------
    raw : mne.io.BaseRaw
    missing : {"raise", "interpolate", "present"}
        What to do when cap channels are absent: raise :class:`MissingChannelsError` listing them;
        add them as bad channels and interpolate them (spherical splines); or keep only the channels
        present (``ch_names`` then travels with the features).
    source : str, optional
        File name for messages.

    Returns
    -------
    mne.io.BaseRaw
        A modified copy, EEG only, channels in SEED order.
    """
    if missing not in ("raise", "interpolate", "present"):
        raise ValueError(f"missing={missing!r}; allowed: 'raise', 'interpolate', 'present'")
    raw = raw.copy().load_data(verbose="error")
    where = f" in {source}" if source else ""
    # Drop non-EEG channels, whether typed so (EOG, ECG, stim) or only named so.
    types = dict(zip(raw.ch_names, raw.get_channel_types()))
    drop = [c for c in raw.ch_names if types[c] != "eeg" or _NON_EEG_NAME.match(normalize_ch_name(c))]
    if drop:
        warnings.warn(f"dropping non-EEG channels{where}: {drop}", stacklevel=2)
        raw.drop_channels(drop)
    rename, seen = {}, {}
    for c in raw.ch_names:
        n = normalize_ch_name(c)
        if n in seen:
            raise EEGDataError(f"channels {seen[n]!r} and {c!r}{where} both normalise to {n!r}; rename one of them")
        seen[n] = c
        rename[c] = n
    raw.rename_channels(rename)
    extra = [c for c in raw.ch_names if c not in SEED_CH_NAMES]
    if extra:
        warnings.warn(f"dropping channels not on the SEED cap{where}: {extra}", stacklevel=2)
        raw.drop_channels(extra)
    absent = [c for c in SEED_CH_NAMES if c not in raw.ch_names]
    if absent and missing == "raise":
        raise MissingChannelsError(
            f"{len(absent)} SEED cap channel(s) missing{where}: {absent}. Pass missing='interpolate' to fill them "
            f"from neighbours (fine for a few), or missing='present' to work on the {len(raw.ch_names)} present")
    if absent and missing == "interpolate":
        if len(absent) > len(SEED_CH_NAMES) // 4:
            raise MissingChannelsError(f"{len(absent)} of 62 channels missing{where}: too many to interpolate; "
                                       f"use missing='present'")
        filler = mne.io.RawArray(
            0 * raw.get_data()[:1].repeat(len(absent), 0),
            mne.create_info(absent, raw.info["sfreq"], "eeg"), verbose="error")
        raw.add_channels([filler], force_update_info=True)
        raw.info["bads"] = sorted(set(raw.info["bads"]) | set(absent))
    order = [c for c in SEED_CH_NAMES if c in raw.ch_names]
    raw.reorder_channels(order)
    raw.set_montage(make_montage(order), verbose="error")
    if absent and missing == "interpolate":
        raw.interpolate_bads(reset_bads=True, verbose="error")
    return raw


def read_raw(path, *, missing: str = "raise", preload: bool = True) -> mne.io.BaseRaw:
    """Read an EEG recording (EDF, BDF, FIF, BrainVision, EEGLAB, Neuroscan CNT) onto the SEED cap.

    Parameters
    ----------
    path : str or Path
    missing : {"raise", "interpolate", "present"}
        See :func:`conform_to_cap`.
    preload : bool

    Returns
    -------
    mne.io.BaseRaw
        EEG channels only, SEED order, normalised names, montage set, data in volts.
    """
    path = Path(path)
    name = path.name.lower()
    if not any(name.endswith(ext) for ext in SUPPORTED_EXTENSIONS):
        raise EEGDataError(f"{path}: unknown EEG file type {path.suffix!r}; supported: {SUPPORTED_EXTENSIONS}. "
                           f"Convert it with MNE (raw.save('x_raw.fif')) or export to EDF")
    if not path.exists():
        raise FileNotFoundError(f"no such EEG file: {path}")
    raw = mne.io.read_raw(path, preload=preload, verbose="error")
    return conform_to_cap(raw, missing=missing, source=str(path))
