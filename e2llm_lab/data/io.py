"""Any MNE-readable EEG file -> ``mne.io.Raw`` on the SEED cap: names normalised (or matched by position), montage set.

Every expected failure ends in the toolkit's own error (:class:`~e2llm_lab.data.errors.EEGDataError` or a
subclass) naming the file and what to do; MNE's own exceptions never escape :func:`read_raw`.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import mne
import numpy as np

from ..channels import SEED_CH_NAMES, channel_positions_3d, make_montage, normalize_ch_name
from .errors import EEGDataError, EEGFileError, MissingChannelsError, NoCapChannelsError

__all__ = ["SUPPORTED_EXTENSIONS", "POSITION_TOLERANCE_DEG", "MissingChannelsError", "NoCapChannelsError",
           "read_raw", "conform_to_cap", "match_by_position"]

# File type of each extension read through MNE, as messages name it.
_KINDS = {".edf": "EDF", ".bdf": "BDF", ".fif": "FIF", ".fif.gz": "FIF", ".vhdr": "BrainVision", ".set": "EEGLAB",
          ".cnt": "Neuroscan CNT"}
#: File types read through MNE (EDF, BDF, FIF, BrainVision, EEGLAB, Neuroscan CNT).
SUPPORTED_EXTENSIONS = tuple(_KINDS)
#: Largest angle (seen from the head's centre) between a cap electrode and the recorded electrode standing in for
#: it in :func:`match_by_position`. Neighbouring sites of the cap lie 12-18 degrees apart; idealised spherical
#: layouts (Biosemi's, say) sit up to ~10 degrees from the same sites on the realistic head used here.
POSITION_TOLERANCE_DEG = 10.0

# Channels typed EEG in many files although they are not scalp EEG.
_NON_EEG_NAME = re.compile(r"^(H?V?EOG|HEO|VEO|ECG|EKG|EMG|STATUS|STI\s*\d*|TRIGGER|TRIG|EVENT|RESP|GSR|PHOTIC)",
                           re.IGNORECASE)
_CAP = frozenset(SEED_CH_NAMES)

def _where(source) -> str:
    return f" in {source}" if source else ""


def _few(names, k: int = 8) -> str:
    names = list(names)
    return repr(names[:k])[:-1] + (f", ... ({len(names)} in all)]" if len(names) > k else "]")


def _sphere_directions(xyz: np.ndarray) -> np.ndarray:
    """Unit vectors from the least-squares sphere's centre through each point, shape (n, 3)."""
    A = np.c_[2 * xyz, np.ones(len(xyz))]
    centre = np.linalg.lstsq(A, (xyz**2).sum(1), rcond=None)[0][:3] if len(xyz) >= 4 else np.zeros(3)
    d = xyz - centre
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def _recorded_positions(raw: mne.io.BaseRaw, montage, source) -> dict[str, np.ndarray]:
    """Positions of ``raw``'s channels: from the file (``montage="file"``), an MNE template name, or a DigMontage."""
    if isinstance(montage, str) and montage == "file":
        pos = {ch["ch_name"]: np.asarray(ch["loc"][:3], float) for ch in raw.info["chs"]}
        pos = {k: v for k, v in pos.items() if np.isfinite(v).all() and np.linalg.norm(v) > 0}
        if not pos:
            raise EEGDataError(f"montage='file' but the file{_where(source)} stores no electrode positions; pass "
                               f"montage=<MNE template name or DigMontage> or rename={{...}}")
        return pos
    if isinstance(montage, str):
        try:
            montage = mne.channels.make_standard_montage(montage)
        except ValueError:
            raise EEGDataError(f"montage={montage!r} is not an MNE template; use one of "
                               f"{mne.channels.get_builtin_montages()[:6]}..., a DigMontage, or 'file'") from None
    if not isinstance(montage, mne.channels.DigMontage):
        raise TypeError(f"montage must be 'file', an MNE template name or an mne.channels.DigMontage, not "
                        f"{type(montage).__name__}")
    by_upper = {k.upper(): np.asarray(v, float) for k, v in montage.get_positions()["ch_pos"].items()}
    pos = {c: by_upper[c.upper()] for c in raw.ch_names if c.upper() in by_upper}
    if not pos:
        raise EEGDataError(f"none of the channel names{_where(source)} {_few(raw.ch_names)} appear in the montage "
                           f"{_few(by_upper)}; give a montage whose names are the file's names")
    return pos


def match_by_position(positions: dict, *, tolerance_deg: float = POSITION_TOLERANCE_DEG) -> dict[str, str]:
    """Map recorded electrodes onto the SEED cap by position.

    Each cap electrode takes the nearest recorded electrode within ``tolerance_deg`` (angles seen from the centre
    of each montage's own best-fitting sphere, so head size and origin do not matter); closest pairs are matched
    first and each recorded electrode stands in for one cap electrode at most.

    Parameters
    ----------
    positions : dict of str -> array of shape (3,)
        Recorded electrode positions (any head-centred frame, any unit).

    Returns
    -------
    dict
        Recorded name -> SEED cap name, for the electrodes matched.
    """
    names = list(positions)
    rec = _sphere_directions(np.array([positions[n] for n in names]))
    cap = _sphere_directions(channel_positions_3d(SEED_CH_NAMES))
    angle = np.degrees(np.arccos(np.clip(cap @ rec.T, -1, 1)))                   # (62, n_recorded)
    mapping, used_cap, used_rec = {}, set(), set()
    for i, j in zip(*np.unravel_index(np.argsort(angle, axis=None), angle.shape)):
        if angle[i, j] > tolerance_deg:
            break
        if i not in used_cap and j not in used_rec:
            mapping[names[j]] = SEED_CH_NAMES[i]
            used_cap.add(i)
            used_rec.add(j)
    return mapping


def conform_to_cap(raw: mne.io.BaseRaw, *, missing: str = "raise", montage=None, source=None) -> mne.io.BaseRaw:
    """Rename, pick and reorder ``raw``'s EEG channels to the SEED 62-channel cap, and set the montage.

    Names are normalised (:func:`~e2llm_lab.channels.normalize_ch_name`); only channels that land on the cap are
    checked for collisions, and everything else (non-EEG, reference electrodes, vendor extras) is dropped with
    one warning.

    Parameters
    ----------
    raw : mne.io.BaseRaw
    missing : {"raise", "interpolate", "present"}
        What to do when cap channels are absent: raise :class:`MissingChannelsError` listing them;
        add them as bad channels and interpolate them (spherical splines, at most a quarter of the cap); or keep
        only the channels present (``ch_names`` then travels with the features).
    montage : None, "file", str or mne.channels.DigMontage
        Match channels by position instead of name (:func:`match_by_position`): positions stored in the file,
        an MNE template montage by name, or a montage whose names are the file's channel names.
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
    where = _where(source)
    types = dict(zip(raw.ch_names, raw.get_channel_types()))
    eeg = [c for c in raw.ch_names if types[c] == "eeg" and not _NON_EEG_NAME.match(normalize_ch_name(c))]
    if montage is not None:
        target = match_by_position({c: p for c, p in _recorded_positions(raw, montage, source).items() if c in eeg})
    else:
        target = {c: normalize_ch_name(c) for c in eeg}
        target = {c: n for c, n in target.items() if n in _CAP}
    if not target:
        raise NoCapChannelsError(
            f"no channel{where} matches the SEED cap: its {len(raw.ch_names)} channels are named "
            f"{_few(raw.ch_names)}. Map them yourself with read_raw(path, rename={{'<recorded>': '<10-10 name>', "
            f"...}}) (or a function of the name), or match them by position with read_raw(path, montage=...) when the "
            f"file stores positions (montage='file') or you know the cap (an MNE template name or a DigMontage)")
    seen: dict[str, str] = {}
    for c, n in target.items():
        if n in seen:
            raise EEGDataError(f"channels {seen[n]!r} and {c!r}{where} both map onto cap electrode {n!r}; drop or "
                               f"rename one of them (read_raw(path, rename={{{c!r}: ...}}))")
        seen[n] = c
    dropped = [c for c in raw.ch_names if c not in target]
    if dropped:
        warnings.warn(f"dropping {len(dropped)} channel(s){where} that are not on the SEED cap (non-EEG, reference "
                      f"or vendor channels): {_few(dropped, 12)}", stacklevel=3)
        raw.drop_channels(dropped)
    raw.rename_channels(target)
    absent = [c for c in SEED_CH_NAMES if c not in raw.ch_names]
    if absent and missing == "raise":
        raise MissingChannelsError(
            f"{len(absent)} SEED cap channel(s) missing{where}: {absent}. Pass missing='interpolate' to fill them "
            f"from neighbours (fine for a few), or missing='present' to work on the {len(raw.ch_names)} present")
    if absent and missing == "interpolate":
        if len(absent) > len(SEED_CH_NAMES) // 4:
            raise MissingChannelsError(f"{len(absent)} of 62 channels missing{where}: too many to interpolate "
                                       f"reliably; use missing='present' to work on the {len(raw.ch_names)} present "
                                       f"(the encoder, rationales and topomaps follow the channels you have)")
        filler = mne.io.RawArray(np.zeros((len(absent), raw.n_times)),
                                 mne.create_info(absent, raw.info["sfreq"], "eeg"), verbose="error")
        raw.add_channels([filler], force_update_info=True)
        raw.info["bads"] = sorted(set(raw.info["bads"]) | set(absent))
    order = [c for c in SEED_CH_NAMES if c in raw.ch_names]
    raw.reorder_channels(order)
    raw.set_montage(make_montage(order), verbose="error")
    if absent and missing == "interpolate":
        raw.interpolate_bads(reset_bads=True, verbose="error")
    return raw


def _plausibility(data: np.ndarray) -> float:
    """How much ``data`` (volts) looks like EEG: median lag-1 autocorrelation, or -inf when amplitudes are absurd.

    A CNT file read with the wrong sample width gives either amplitudes ~65,000x too large (int16 read as int32)
    or interleaved low/high words with no sample-to-sample continuity (int32 read as int16).
    """
    sd = np.median(data.std(axis=1))
    if not np.isfinite(data).all() or not 1e-8 < sd < 1e-2:       # 0.01 uV .. 10 mV
        return -np.inf
    x = data - data.mean(axis=1, keepdims=True)
    r = (x[:, 1:] * x[:, :-1]).sum(1) / np.maximum((x * x).sum(1), 1e-30)
    return float(np.median(r))


def _read_cnt(path: Path) -> mne.io.BaseRaw:
    """Neuroscan CNT with its sample width found from the data: 16- and 32-bit layouts, the plausible one kept."""
    tried, failures = [], []
    for fmt in ("int16", "int32"):
        try:
            raw = mne.io.read_raw_cnt(path, data_format=fmt, preload=True, verbose="error")
        except Exception as err:                                    # MNE raises several types here
            failures.append(f"{fmt}: {type(err).__name__}: {err}")
            continue
        tried.append((_plausibility(raw.get_data()), fmt, raw))
    good = [t for t in tried if t[0] > 0.2]
    if not good:
        seen = "; ".join(failures + [f"{f}: read, but the values do not look like EEG" for _, f, _ in tried])
        raise EEGFileError(f"{path}: could not read it as a Neuroscan CNT file in 16- or 32-bit layout ({seen}). "
                           f"Check that it is complete and really a Neuroscan CNT (ANT Neuro's .cnt needs "
                           f"mne.io.read_raw_ant); or export it to EDF from the vendor's software")
    return max(good, key=lambda t: t[0])[2]


def _read_file(path: Path, kind: str, preload: bool) -> mne.io.BaseRaw:
    if kind == "Neuroscan CNT":
        return _read_cnt(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                           # MNE's warnings about vendor quirks
            return mne.io.read_raw(path, preload=preload, verbose="error")
    except Exception as err:                                         # any failure of MNE's readers
        raise EEGFileError(f"{path}: could not read it as a {kind} file ({type(err).__name__}: {err}). Check that "
                           f"the file is complete and really is {kind} (the extension can lie), export it again from "
                           f"the recording software, or convert it with MNE (raw.save('x_raw.fif'))") from err


def read_raw(path, *, missing: str = "raise", rename=None, montage=None, preload: bool = True) -> mne.io.BaseRaw:
    """Read an EEG recording (EDF, BDF, FIF, BrainVision, EEGLAB, Neuroscan CNT) onto the SEED cap.

    Parameters
    ----------
    path : str or Path
    missing : {"raise", "interpolate", "present"}
        See :func:`conform_to_cap`.
    rename : dict or callable, optional
        Applied to the file's channel names first (as ``mne.io.Raw.rename_channels``), for names no normalisation
        can know: ``{"000": "FP1", ...}`` or ``lambda name: ...``.
    montage : None, "file", str or mne.channels.DigMontage, optional
        Match channels onto the cap by position instead of name (see :func:`conform_to_cap`).
    preload : bool

    Returns
    -------
    mne.io.BaseRaw
        EEG channels only, SEED order, normalised names, montage set, data in volts.

    Raises
    ------
    EEGDataError
        Or a subclass (:class:`EEGFileError`, :class:`NoCapChannelsError`, :class:`MissingChannelsError`) for
        every expected failure, naming the file and what to do.
    """
    path = Path(path)
    name = path.name.lower()
    ext = next((e for e in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True) if name.endswith(e)), None)
    if ext is None:
        raise EEGFileError(f"{path}: unknown EEG file type {path.suffix!r}; supported: {SUPPORTED_EXTENSIONS}. "
                           f"Convert it with MNE (raw.save('x_raw.fif')) or export to EDF")
    if not path.is_file():
        raise EEGFileError(f"no such EEG file: {path}" + ("" if path.parent.is_dir() else
                                                          f" (folder {path.parent} does not exist either)"))
    raw = _read_file(path, _KINDS[ext], preload)
    if rename is not None:
        if isinstance(rename, dict):
            unknown = [k for k in rename if k not in raw.ch_names]
            if unknown:
                raise EEGDataError(f"rename names channel(s) {unknown[:8]} that {path} does not have; its channels: "
                                   f"{_few(raw.ch_names)}")
        elif not callable(rename):
            raise TypeError(f"rename must be a dict or a callable, not {type(rename).__name__}")
        try:
            raw.rename_channels(rename, verbose="error")
        except Exception as err:
            raise EEGDataError(f"rename failed on {path}: {err}") from err
    return conform_to_cap(raw, missing=missing, montage=montage, source=str(path))
