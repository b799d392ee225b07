"""Preprocessing a recording with MNE: checks, notch and band-pass filtering, bad channels, resampling, reference.

These sit in the data layer because the readers compute features with them
(:func:`~e2llm_lab.data.recordings.featureset_from_recordings`); :mod:`e2llm_lab.preprocess` re-exports them.
"""
from __future__ import annotations

import mne
import numpy as np

from ..config import DataConfig
from .errors import EEGDataError

__all__ = ["validate_eeg", "detect_bad_channels", "preprocess_raw"]


def _where(source) -> str:
    return f" in {source}" if source else ""


def validate_eeg(data: np.ndarray, sfreq: float, ch_names, *, bands=DataConfig().bands, window_s: float = 4.0,
                 source=None) -> None:
    """Check a recording before feature extraction; raise :class:`EEGDataError` naming what is wrong.

    Parameters
    ----------
    data : np.ndarray, shape (n_chans, n_times)
    sfreq : float
    ch_names : sequence of str, length n_chans
    bands : tuple of (name, low, high)
    window_s : float
        Feature window; the recording must hold at least one.
    source : str, optional
        File or recording name used in messages.
    """
    if data.ndim != 2 or data.shape[0] != len(ch_names):
        raise EEGDataError(f"expected EEG of shape (n_chans={len(ch_names)}, n_times){_where(source)}, "
                           f"got {data.shape}; pass channels first, time second")
    finite = np.isfinite(data)
    if not finite.all():
        c, t = np.argwhere(~finite)[0]
        raise EEGDataError(f"channel {ch_names[c]!r}{_where(source)} has a non-finite value ({data[c, t]}) at "
                           f"sample {t} (t = {t / sfreq:.2f} s); repair or drop that stretch, or mark the channel "
                           f"bad and interpolate it")
    top = max(b[2] for b in bands)
    if sfreq / 2 <= top:
        raise EEGDataError(f"sampling rate {sfreq} Hz{_where(source)} has Nyquist {sfreq / 2} Hz, not above the top "
                           f"band edge {top} Hz; record faster or drop/lower the top band")
    n_win = int(round(window_s * sfreq))
    if data.shape[1] < n_win:
        raise EEGDataError(f"recording{_where(source)} is {data.shape[1] / sfreq:.2f} s long, shorter than one "
                           f"{window_s} s feature window; use a longer recording or a shorter window_s")
    flat = np.flatnonzero(data.std(axis=1) < 1e-3 * max(np.median(data.std(axis=1)), 1e-30))
    if flat.size:
        names = [ch_names[i] for i in flat]
        raise EEGDataError(f"flat channel(s) {names}{_where(source)} (no signal: disconnected electrode?); mark them "
                           f"in raw.info['bads'] so they are interpolated, or drop them")


def detect_bad_channels(raw: mne.io.BaseRaw, *, threshold: float = 5.0) -> list[str]:
    """Channels whose log-amplitude is an outlier (robust z-score above ``threshold``).

    A loose electrode shows as a channel far noisier than the rest; the median and MAD of log standard
    deviations across channels are robust to a few such channels.
    """
    picks = mne.pick_types(raw.info, eeg=True, exclude="bads")
    log_sd = np.log(raw.get_data(picks=picks).std(axis=1) + 1e-30)
    mad = np.median(np.abs(log_sd - np.median(log_sd))) * 1.4826 + 1e-12
    z = (log_sd - np.median(log_sd)) / mad
    return [raw.ch_names[picks[i]] for i in np.flatnonzero(z > threshold)]


def preprocess_raw(raw: mne.io.BaseRaw, cfg: DataConfig = DataConfig(), *, source=None) -> mne.io.BaseRaw:
    """Notch, band-pass, interpolate bad channels, resample and re-reference a copy of ``raw`` (MNE).

    Channels listed in ``raw.info['bads']`` (and, with ``cfg.bad_channel_policy="interpolate"``, noisy ones found
    by :func:`detect_bad_channels`) are interpolated with spherical splines before the average reference,
    so one loose electrode cannot leak into every channel.
    """
    if cfg.bad_channel_policy not in ("interpolate", "keep"):
        raise ValueError(f"bad_channel_policy={cfg.bad_channel_policy!r}; allowed: 'interpolate', 'keep'")
    raw = raw.copy().load_data(verbose="error").pick("eeg", exclude=())
    good = [c for c in raw.ch_names if c not in raw.info["bads"]]
    validate_eeg(raw.get_data(picks=good), raw.info["sfreq"], good, bands=cfg.bands, window_s=cfg.window_s,
                 source=source)
    if cfg.sfreq / 2 <= max(b[2] for b in cfg.bands):
        raise EEGDataError(f"target sfreq {cfg.sfreq} Hz cannot carry the top band edge "
                           f"{max(b[2] for b in cfg.bands)} Hz")
    nyq = raw.info["sfreq"] / 2
    if cfg.notch_freq is not None and cfg.notch_freq < nyq:
        raw.notch_filter(cfg.notch_freq, verbose="error")
    h_freq = min(cfg.h_freq, 0.9 * min(nyq, cfg.sfreq / 2))
    raw.filter(cfg.l_freq, h_freq, verbose="error")
    if cfg.bad_channel_policy == "interpolate":
        raw.info["bads"] = sorted(set(raw.info["bads"]) | set(detect_bad_channels(raw)))
        if raw.info["bads"]:
            raw.interpolate_bads(reset_bads=True, verbose="error")
    if raw.info["sfreq"] != cfg.sfreq:
        raw.resample(cfg.sfreq, verbose="error")
    if cfg.reference == "average":
        raw.set_eeg_reference("average", projection=False, verbose="error")
    else:
        raw.set_eeg_reference([cfg.reference], verbose="error")
    return raw
