"""Configuration dataclasses and named presets.

Configs nest like Hugging Face composite configs; notebooks override fields with
``dataclasses.replace``; ``dataclasses.asdict(cfg)`` goes into every checkpoint.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields, is_dataclass

__all__ = ["DEFAULT_BANDS", "DataConfig", "SyntheticConfig", "band_names", "config_from_dict"]

#: Canonical EEG bands (name, low Hz, high Hz), SEED's convention.
DEFAULT_BANDS: tuple[tuple[str, float, float], ...] = (
    ("delta", 1.0, 4.0),
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 14.0),
    ("beta", 14.0, 31.0),
    ("gamma", 31.0, 50.0),
)


def band_names(bands=DEFAULT_BANDS) -> tuple[str, ...]:
    """Names of a band table."""
    return tuple(b[0] for b in bands)


@dataclass(frozen=True)
class DataConfig:
    """How recordings become DE feature samples.

    Parameters
    ----------
    sfreq : float
        Target sampling rate after resampling (Hz). SEED-VII's preprocessed data are at 200 Hz.
    l_freq, h_freq : float
        Band-pass edges (Hz); ``h_freq`` must lie above the top band edge and below Nyquist.
    notch_freq : float or None
        Line frequency to notch (50 Hz in China/Europe, 60 Hz in the Americas); None skips it.
    reference : str
        ``"average"`` or a channel name to re-reference to.
    bad_channels : str
        ``"interpolate"`` (detect noisy channels and interpolate them), ``"keep"``.
    bands : tuple of (name, low, high)
        Frequency bands for features.
    window_s, stride_s : float
        DE window length and hop in seconds (SEED-VII's official features: 4 s, non-overlapping).
    de_method : str
        ``"gaussian"`` (band-pass then 0.5 log(2 pi e var)) or ``"fft"`` (SEED's official extractor form).
    lds : bool
        Smooth each feature sequence over windows with a linear dynamical system (Kalman/RTS).
    lds_q, lds_r : float
        Process and observation noise variances of that smoother (in DE units squared).
    normalize : str or None
        ``"subject"``: z-score every channel x band feature with the subject's own statistics.
    n_steps : int
        Consecutive windows per sample, the encoder's T.
    step_stride : int
        Hop between samples, in windows.
    """

    sfreq: float = 200.0
    l_freq: float = 0.5
    h_freq: float = 70.0
    notch_freq: float | None = 50.0
    reference: str = "average"
    bad_channels: str = "interpolate"
    bands: tuple = DEFAULT_BANDS
    window_s: float = 4.0
    stride_s: float = 4.0
    de_method: str = "gaussian"
    lds: bool = True
    lds_q: float = 0.01
    lds_r: float = 0.04
    normalize: str | None = "subject"
    n_steps: int = 4
    step_stride: int = 1


@dataclass(frozen=True)
class SyntheticConfig:
    """A SEED-VII-like synthetic cohort (see :mod:`e2llm_lab.data.synthetic`).

    Parameters
    ----------
    n_subjects : int
    n_trials_per_emotion : int
        Clips per emotion per subject; each clip is one trial.
    trial_s : float
        Clip length in seconds.
    sfreq : float
        Sampling rate of the simulated recording (Hz).
    effect_size : float
        Multiplies every planted log-power change (0 removes the emotion effects).
    subject_variability : float
        Multiplies all between-subject variability (effect gains, idiosyncratic signatures, offsets).
    trial_noise : float
        SD of random per-trial channel x band log-power changes unrelated to emotion.
    bad_channel_prob : float
        Probability that a trial has one noisy electrode.
    blink_rate_hz : float
        Mean eye-blink rate.
    line_noise_uv : float
        Typical 50 Hz line-noise amplitude in microvolts.
    seed : int
    """

    n_subjects: int = 6
    n_trials_per_emotion: int = 2
    trial_s: float = 60.0
    sfreq: float = 200.0
    effect_size: float = 1.0
    subject_variability: float = 1.0
    trial_noise: float = 0.25
    bad_channel_prob: float = 0.15
    blink_rate_hz: float = 0.25
    line_noise_uv: float = 2.0
    seed: int = 0


def config_from_dict(cls, d: dict):
    """Rebuild a (possibly nested) config dataclass from ``asdict`` output, turning JSON lists back to tuples."""
    kwargs = {}
    for f in fields(cls):
        if f.name not in d:
            continue
        v = d[f.name]
        if f.default is not MISSING:
            default = f.default
        else:
            default = f.default_factory() if f.default_factory is not MISSING else None
        if is_dataclass(default) and isinstance(v, dict):
            v = config_from_dict(type(default), v)
        elif isinstance(v, list):
            v = tuple(tuple(x) if isinstance(x, list) else x for x in v)
        kwargs[f.name] = v
    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; allowed: {[f.name for f in fields(cls)]}")
    return cls(**kwargs)
