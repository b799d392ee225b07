"""SEED-VII-like synthetic EEG with planted, known emotion effects.

Each trial is a 62-channel recording built in the frequency domain:

1. an aperiodic 1/f^chi background with a posterior alpha peak at the subject's own frequency (IAF);
2. channel x band log-power changes: subject offsets, random per-trial changes, a slow vigilance drift,
   and the **planted emotion effect** (table :data:`PLANTED_EFFECTS`), whose strength waxes and wanes
   within the clip;
3. spatial mixing between neighbouring electrodes (volume conduction);
4. artefacts: eye blinks on frontal channels, 50 Hz line noise, now and then one noisy electrode.

The emotion effects are the ground truth that interpretation methods are scored against
(:func:`planted_mask`). Between-subject variability (effect gains, idiosyncratic per-subject signatures,
different IAF and 1/f slope) makes cross-subject classification hard but possible.

The effect table loosely follows the affective EEG literature; it is a teaching model, not a claim:

- Zheng & Lu 2015 (IEEE TAMD 7:162), Zheng et al. 2019 (IEEE TAFFC 10:417): positive emotion raises
  lateral-temporal beta/gamma, negative emotion lowers it; neutral shows higher parietal/occipital alpha.
- Davidson 1992 (Brain Cogn 20:125): frontal alpha asymmetry; less left-frontal alpha (more activation)
  with approach/positive states, less right-frontal alpha with withdrawal/negative states.
- Harmon-Jones 2004 (Biol Psychol 67:51): anger, an approach emotion, also reduces left-frontal alpha.
- Heller 1993 (Neuropsychology 7:476): right-posterior activation tracks arousal.
- Aftanas et al. 2001 (Neurosci Lett 303:115), Cavanagh & Frank 2014 (TICS 18:414): frontal/midline theta
  with threat, novelty and orienting.
- Barry et al. 2007 (Clin Neurophysiol 118:2765): posterior alpha desynchronises with arousal.
"""
from __future__ import annotations

from dataclasses import dataclass

import mne
import numpy as np
import pandas as pd
from scipy.signal import butter, sosfiltfilt

from ..channels import REGIONS, SEED_CH_NAMES, channel_positions_3d, make_info
from ..config import DEFAULT_BANDS, SyntheticConfig, band_names
from ..labels import SEED7

__all__ = ["PLANTED_EFFECTS", "planted_effects_table", "planted_effect_matrix", "planted_mask",
           "simulate_trial", "iter_cohort", "make_cohort", "trials_table", "write_event_recordings"]

#: emotion -> ((region, band, natural-log power change), ...)
PLANTED_EFFECTS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "happiness": (("left_temporal", "beta", 0.5), ("right_temporal", "beta", 0.5),
                  ("left_temporal", "gamma", 0.6), ("right_temporal", "gamma", 0.6),
                  ("left_frontal", "alpha", -0.4)),
    "sadness": (("right_frontal", "alpha", -0.4), ("left_temporal", "gamma", -0.45),
                ("right_temporal", "gamma", -0.45), ("left_parietal", "delta", 0.35),
                ("right_parietal", "delta", 0.35)),
    "fear": (("prefrontal", "theta", 0.45), ("occipital", "alpha", -0.5), ("right_parietal", "beta", 0.4)),
    "disgust": (("occipital", "gamma", 0.5), ("right_temporal", "theta", 0.4), ("right_frontal", "beta", 0.3)),
    "surprise": (("occipital", "alpha", -0.5), ("left_parietal", "alpha", -0.4),
                 ("right_parietal", "alpha", -0.4), ("midline", "theta", 0.45)),
    "anger": (("left_frontal", "alpha", -0.45), ("left_central", "beta", 0.35), ("right_central", "beta", 0.35),
              ("left_temporal", "gamma", 0.3), ("right_temporal", "gamma", 0.3)),
    "neutral": (("left_parietal", "alpha", 0.35), ("right_parietal", "alpha", 0.35), ("occipital", "alpha", 0.35)),
}

_UV = 1e-6
# The cohort is SEED-VII-like: its label space is SEED-VII's seven emotions, in their integer-label order.
EMOTIONS, VALENCE, AROUSAL = SEED7.labels, dict(SEED7.valence), dict(SEED7.arousal)


def planted_effects_table() -> pd.DataFrame:
    """The planted effects as a tidy table: emotion, region, band, log_power_change."""
    rows = [(e, r, b, v) for e, effs in PLANTED_EFFECTS.items() for r, b, v in effs]
    return pd.DataFrame(rows, columns=["emotion", "region", "band", "log_power_change"])


def planted_effect_matrix(ch_names=SEED_CH_NAMES, bands=DEFAULT_BANDS) -> np.ndarray:
    """Planted log-power changes, shape ``(n_emotions, n_chans, n_bands)`` (emotion order of EMOTIONS)."""
    names, bn = list(ch_names), band_names(bands)
    out = np.zeros((len(EMOTIONS), len(names), len(bn)))
    for e, effs in PLANTED_EFFECTS.items():
        for region, band, value in effs:
            if band not in bn:
                continue
            for ch in REGIONS[region]:
                if ch in names:
                    out[EMOTIONS.index(e), names.index(ch), bn.index(band)] = value
    return out


def planted_mask(ch_names=SEED_CH_NAMES, bands=DEFAULT_BANDS) -> np.ndarray:
    """Ground-truth mask of planted effects, bool, shape ``(n_emotions, n_chans, n_bands)``."""
    return planted_effect_matrix(ch_names, bands) != 0


@dataclass
class _Subject:
    iaf: float                 # individual alpha frequency, Hz
    chi: float                 # aperiodic exponent
    gain: np.ndarray           # (C,) electrode gain
    offsets: np.ndarray        # (C, F) subject log-power offsets
    effect_gain: np.ndarray    # (E, C, F) multiplicative jitter of the planted effects
    signature: np.ndarray      # (E, C, F) idiosyncratic, subject-consistent log-power changes
    spread_m: float            # volume-conduction kernel width, metres


def _band_weights(freqs: np.ndarray, bands) -> np.ndarray:
    # Soft band membership (F, n_freqs): logistic edges 0.5 Hz wide, so gains change smoothly over frequency
    lo = np.array([b[1] for b in bands])[:, None]
    hi = np.array([b[2] for b in bands])[:, None]
    return 1 / (1 + np.exp(-(freqs - lo) / 0.5)) * (1 / (1 + np.exp((freqs - hi) / 0.5)))


def _region_field(rng: np.random.Generator, sd: float, shape: tuple[int, ...]) -> np.ndarray:
    # Random changes shared within a region (plus a little per channel): (..., C, F)
    region_of = {ch: i for i, chs in enumerate(REGIONS.values()) for ch in chs}
    idx = np.array([region_of[ch] for ch in SEED_CH_NAMES])
    per_region = rng.normal(0, sd, shape[:-2] + (len(REGIONS), shape[-1]))
    return per_region[..., idx, :] + rng.normal(0, sd * 0.3, shape)


def _make_subject(rng: np.random.Generator, cfg: SyntheticConfig) -> _Subject:
    v = cfg.subject_variability
    n_e, n_c, n_f = len(EMOTIONS), len(SEED_CH_NAMES), len(DEFAULT_BANDS)
    return _Subject(
        iaf=float(rng.uniform(9.0, 11.5)),
        chi=float(rng.uniform(1.4, 2.1)),
        gain=np.exp(rng.normal(0, 0.1, n_c)) * rng.uniform(0.7, 1.4),
        offsets=_region_field(rng, 0.3 * v, (n_c, n_f)),
        effect_gain=np.clip(1 + _region_field(rng, 0.45 * v, (n_e, n_c, n_f)), 0.0, None),
        signature=_region_field(rng, 0.15 * v, (n_e, n_c, n_f)),
        spread_m=float(rng.uniform(0.02, 0.035)),
    )


def _slow_envelope(rng: np.random.Generator, n_times: int, sfreq: float, lo: float, hi: float) -> np.ndarray:
    # Smooth random curve in [lo, hi] varying over ~10 s
    sos = butter(2, 0.1, fs=sfreq, output="sos")
    z = sosfiltfilt(sos, rng.normal(size=n_times + int(20 * sfreq)))[int(10 * sfreq):][:n_times]
    z = (z - z.min()) / (np.ptp(z) + 1e-12)
    return lo + (hi - lo) * z


def simulate_trial(emotion: str, *, subject: _Subject, rng: np.random.Generator, cfg: SyntheticConfig,
                   ) -> tuple[np.ndarray, str]:
    """Simulate one clip.

    Returns
    -------
    data : np.ndarray, shape (62, n_times)
        EEG in volts.
    bad_channel : str
        Name of the noisy electrode, or "" if none.
    """
    n_times = int(round(cfg.trial_s * cfg.sfreq))
    freqs = np.fft.rfftfreq(n_times, 1 / cfg.sfreq)
    W = _band_weights(freqs, DEFAULT_BANDS)                      # (F, n_freqs)
    xyz = channel_positions_3d()
    posterior = np.clip((-xyz[:, 1] + 0.02) / 0.1, 0.1, 1.0)     # alpha strongest over the back of the head

    aperiodic = (freqs + 1.0) ** (-subject.chi)                  # power, (n_freqs,)
    alpha = np.exp(-0.5 * ((freqs - subject.iaf) / 1.2) ** 2)
    power = aperiodic[None] * (1 + 6.0 * posterior[:, None] * alpha[None])  # (C, n_freqs)

    e = EMOTIONS.index(emotion)
    static = subject.offsets + rng.normal(0, cfg.trial_noise, subject.offsets.shape) + subject.signature[e]
    effect = cfg.effect_size * planted_effect_matrix()[e] * subject.effect_gain[e]
    drift = np.zeros_like(static)
    drift[:, 2] = rng.normal(0, 0.3) * posterior                 # vigilance: posterior alpha comes and goes

    # (C, F) @ (F, n_freqs) -> amplitude gains (C, n_freqs)
    amp = np.sqrt(power) * np.exp(0.5 * static @ W)
    Z = rng.normal(size=amp.shape) + 1j * rng.normal(size=amp.shape)
    base = Z * amp
    x = np.fft.irfft(base, n=n_times)
    # Effects wax and wane within the clip; x + env * (x_full - x) approximates a slowly varying spectral gain.
    x += (_slow_envelope(rng, n_times, cfg.sfreq, 0.4, 1.2)
          * np.fft.irfft(base * (np.exp(0.5 * effect @ W) - 1), n=n_times))
    x += (_slow_envelope(rng, n_times, cfg.sfreq, -1.0, 1.0)
          * np.fft.irfft(base * (np.exp(0.5 * drift @ W) - 1), n=n_times))

    d = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    K = np.exp(-0.5 * (d / subject.spread_m) ** 2)
    M = 0.6 * np.eye(len(xyz)) + 0.4 * K / K.sum(1, keepdims=True)
    x = M @ x                                                     # (C, C) @ (C, n_times)
    x *= 15.0 * _UV / np.median(x.std(axis=1)) * subject.gain[:, None]

    t = np.arange(n_times) / cfg.sfreq
    eyes = xyz[[SEED_CH_NAMES.index("FP1"), SEED_CH_NAMES.index("FP2")]].mean(0) + np.array([0, 0.02, -0.02])
    d_eye = np.linalg.norm(xyz - eyes, axis=1)
    w_eye = np.exp(-(d_eye - d_eye.min()) / 0.03)                 # 1 at FP1/FP2, falling off backwards
    for t0 in np.cumsum(rng.exponential(1 / cfg.blink_rate_hz, size=int(cfg.trial_s * cfg.blink_rate_hz * 3) + 3)):
        if t0 >= cfg.trial_s:
            break
        width = np.where(t < t0, 0.06, 0.12)                     # fast rise, slower fall
        x += rng.uniform(80, 150) * _UV * w_eye[:, None] * np.exp(-0.5 * ((t - t0) / width) ** 2)[None]
    phase = rng.uniform(0, 2 * np.pi)
    x += cfg.line_noise_uv * _UV * rng.uniform(0.3, 1.5, (len(xyz), 1)) * np.sin(2 * np.pi * 50.0 * t + phase)[None]

    bad = ""
    if rng.random() < cfg.bad_channel_prob:
        c = int(rng.integers(len(xyz)))
        bad = SEED_CH_NAMES[c]
        x[c] += rng.normal(0, 80 * _UV, n_times)                  # a loose electrode
    return x, bad


def trials_table(cfg: SyntheticConfig) -> pd.DataFrame:
    """The cohort's trials, one row per clip, in generation order.

    Columns: subject, session, trial, emotion, valence, arousal. Within a subject, session k holds the
    k-th clip of every emotion (as SEED-VII spreads each emotion over its sessions).
    """
    rows = []
    for s in range(1, cfg.n_subjects + 1):
        trial = 0
        for k in range(cfg.n_trials_per_emotion):
            for emotion in EMOTIONS:
                trial += 1
                rows.append((s, k + 1, trial, emotion, VALENCE[emotion], AROUSAL[emotion]))
    return pd.DataFrame(rows, columns=["subject", "session", "trial", "emotion", "valence", "arousal"])


def iter_cohort(cfg: SyntheticConfig = SyntheticConfig(), *, subjects=None):
    """Yield ``(raw, row)`` per trial, one at a time, so a large cohort never sits in memory.

    Deterministic: subject ``s`` and its trials come from seed ``(cfg.seed, s)`` whichever subset is asked.

    Parameters
    ----------
    cfg : SyntheticConfig
    subjects : iterable of int, optional
        Only these subjects (1-based).

    Yields
    ------
    raw : mne.io.RawArray
        62-channel recording in volts, SEED montage set.
    row : dict
        The trial's row of :func:`trials_table` plus ``bad_channel``.
    """
    table = trials_table(cfg)
    info = make_info(SEED_CH_NAMES, cfg.sfreq)
    keep = set(table.subject) if subjects is None else set(subjects)
    for s in sorted(keep):
        rng = np.random.default_rng([cfg.seed, s])
        subject = _make_subject(rng, cfg)
        for row in table[table.subject == s].to_dict("records"):
            data, bad = simulate_trial(row["emotion"], subject=subject, rng=rng, cfg=cfg)
            raw = mne.io.RawArray(data, info.copy(), verbose="error")
            yield raw, {**row, "bad_channel": bad}


def make_cohort(cfg: SyntheticConfig = SyntheticConfig(), *, subjects=None) -> tuple[list, pd.DataFrame]:
    """Simulate a whole cohort in memory (small configs only; use :func:`iter_cohort` for large ones).

    Returns
    -------
    raws : list of mne.io.RawArray
    trials : pd.DataFrame
        One row per raw: subject, session, trial, emotion, valence, arousal, bad_channel.
    """
    pairs = list(iter_cohort(cfg, subjects=subjects))
    return [p[0] for p in pairs], pd.DataFrame([p[1] for p in pairs])


def write_event_recordings(folder, cfg: SyntheticConfig = SyntheticConfig(), *, descriptions=None,
                           progress: bool = True) -> list:
    """Write the cohort as one continuous FIF recording per subject whose annotations mark each clip.

    The layout most labs' own data come in (a recording per person, an event per stimulus), for
    :func:`~e2llm_lab.data.events.read_events_folder` and ``e2llm-lab prepare --dataset events``.

    Parameters
    ----------
    folder : path
        Written as ``<folder>/<subject>.fif`` (subject 1 -> ``1.fif``).
    cfg : SyntheticConfig
    descriptions : dict of str -> str, optional
        Annotation text per emotion (e.g. ``{"happiness": "film_funny"}``); emotions missing from it are not
        written. Default: every emotion, under its own name.

    Returns
    -------
    list of Path
    """
    import warnings
    from pathlib import Path

    from tqdm.auto import tqdm

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    descriptions = {e: e for e in EMOTIONS} if descriptions is None else dict(descriptions)
    chunks: dict = {}
    for raw, row in tqdm(iter_cohort(cfg), total=len(trials_table(cfg)), desc="recordings", disable=not progress):
        if row["emotion"] in descriptions:
            chunks.setdefault(row["subject"], []).append((raw, descriptions[row["emotion"]]))
    paths = []
    for subject, trials in chunks.items():
        lengths = [r.n_times / r.info["sfreq"] for r, _ in trials]      # before concatenating: it grows the first
        raw = mne.concatenate_raws([r for r, _ in trials], verbose="error")
        onsets = np.cumsum([0.0] + lengths[:-1])
        raw.set_annotations(mne.Annotations(onsets, lengths, [d for _, d in trials]))
        path = folder / f"{subject}.fif"
        with warnings.catch_warnings():                # MNE prefers *_raw.fif names; a plain subject id reads better
            warnings.simplefilter("ignore")
            raw.save(path, fmt="single", overwrite=True, verbose="error")
        paths.append(path)
    return paths
