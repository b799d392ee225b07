"""The shipped sample cohort in ``data_samples/``: where it lives, how to load it, how it is rebuilt."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

import mne
import pandas as pd

from .._atomic import atomic_path, write_text_atomic
from ..config import DataConfig, SyntheticConfig
from .featureset import FeatureSet
from .io import read_raw
from .synthetic import iter_cohort, planted_effects_table, trials_table

__all__ = ["SAMPLE_CONFIG", "SAMPLE_DATA_CONFIG", "sample_dir", "load_sample", "load_sample_raw",
           "load_sample_trials", "build_samples"]

#: The cohort in data_samples/: 6 subjects x 7 emotions x 2 clips of 60 s.
SAMPLE_CONFIG = SyntheticConfig(n_subjects=6, n_trials_per_emotion=2, trial_s=60.0, seed=7)
#: Features are stored before per-subject normalisation, so their absolute DE values stay visible.
SAMPLE_DATA_CONFIG = DataConfig(normalize=None)
_FEATURES, _TRIALS, _RAW, _COHORT = "sample_features.npz", "sample_trials.csv", "sample_raw.fif", "cohort.json"


def sample_dir() -> Path:
    """Folder of the sample data: ``$E2LLM_LAB_SAMPLES`` if set, else ``data_samples/`` of this checkout, else the
    copy a wheel or non-editable install puts in ``<prefix>/share/e2llm_lab/data_samples``."""
    env = os.environ.get("E2LLM_LAB_SAMPLES")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "data_samples")
    candidates.append(Path(sys.prefix) / "share" / "e2llm_lab" / "data_samples")
    for c in candidates:
        if (c / _FEATURES).exists():
            return c
    raise FileNotFoundError(
        f"sample data not found in {[str(c) for c in candidates]}. Install e2llm_lab from a clone of its "
        f"repository (pip install -e .), or run `e2llm-lab build-samples --out DIR` and set E2LLM_LAB_SAMPLES=DIR")


def load_sample(*, n_steps: int = 1, normalize: str | None = "subject") -> FeatureSet:
    """The sample cohort's DE features.

    Parameters
    ----------
    n_steps : int
        Consecutive 4-s windows per sample (1 = window level).
    normalize : {"subject", None}
        Per-subject z-scoring of each channel x band feature.

    Returns
    -------
    FeatureSet
        6 subjects x 14 clips x 15 windows at window level; X (n_samples, n_steps, 62, 5).
    """
    from ..preprocess import normalize_per_subject

    fs = FeatureSet.load(sample_dir() / _FEATURES)
    if normalize == "subject":
        fs = replace(fs, X=normalize_per_subject(fs.X, fs.meta.subject.to_numpy()))
    elif normalize is not None:
        raise ValueError(f"normalize={normalize!r}; allowed: 'subject', None")
    return fs if n_steps == 1 else fs.with_steps(n_steps)


def load_sample_trials() -> pd.DataFrame:
    """The sample cohort's trials table (subject, session, trial, emotion, valence, arousal, bad_channel)."""
    return pd.read_csv(sample_dir() / _TRIALS, keep_default_na=False)


def load_sample_raw() -> mne.io.BaseRaw:
    """A 30-s unprocessed recording from the sample cohort (subject 1, clip 1, happiness), read from FIF."""
    return read_raw(sample_dir() / _RAW)


def build_samples(out_dir, *, cfg: SyntheticConfig = SAMPLE_CONFIG, progress: bool = True) -> Path:
    """Rebuild the sample data deterministically into ``out_dir`` (files written atomically)."""
    from ..preprocess import featureset_from_recordings

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    first_raw, rows = {}, []

    def stream():
        for raw, row in iter_cohort(cfg):
            if not first_raw:
                first_raw["raw"] = raw.copy().crop(0, 30.0, include_tmax=False)
            rows.append(row)
            yield raw, row

    fs = featureset_from_recordings(stream(), SAMPLE_DATA_CONFIG, total=len(trials_table(cfg)), progress=progress)
    fs.save(out / _FEATURES)
    with atomic_path(out / _TRIALS) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    with atomic_path(out / _RAW) as tmp:
        # MNE insists on a *_raw.fif-like name for its own checks; write through a named temp copy.
        tmp_fif = tmp.with_name(tmp.name + "_raw.fif")
        first_raw["raw"].save(tmp_fif, fmt="single", overwrite=True, verbose="error")
        os.replace(tmp_fif, tmp)
    write_text_atomic(out / _COHORT, json.dumps({"synthetic": asdict(cfg), "data": asdict(SAMPLE_DATA_CONFIG),
                                                 "planted_effects": planted_effects_table().to_dict("records")},
                                                indent=1))
    return out

