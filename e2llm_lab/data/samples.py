"""The shipped sample cohort in ``data_samples/``: where it lives and how to load it (:mod:`e2llm_lab.apps.build`
rebuilds it)."""
from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

import mne

from ..config import DataConfig, SyntheticConfig
from .featureset import FeatureSet
from .io import read_raw

__all__ = ["SAMPLE_CONFIG", "SAMPLE_DATA_CONFIG", "SOURCE_SAMPLES", "sample_dir", "load_sample", "load_sample_raw"]

#: The cohort in data_samples/: 6 subjects x 7 emotions x 2 clips of 60 s.
SAMPLE_CONFIG = SyntheticConfig(n_subjects=6, n_trials_per_emotion=2, trial_s=60.0, seed=7)
#: Features are stored before per-subject normalisation, so their absolute DE values stay visible.
SAMPLE_DATA_CONFIG = DataConfig(normalize=None)
_FEATURES, _TRIALS, _RAW, _COHORT = "sample_features.npz", "sample_trials.csv", "sample_raw.fif", "cohort.json"
#: ``data_samples/`` of the source checkout this package was imported from (the build commands write there).
SOURCE_SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"


def sample_dir() -> Path:
    """Folder of the sample data: ``$E2LLM_LAB_SAMPLES`` if set, else ``data_samples/`` of this checkout, else the
    copy a wheel or non-editable install puts in ``<prefix>/share/e2llm_lab/data_samples``."""
    env = os.environ.get("E2LLM_LAB_SAMPLES")
    candidates = [Path(env)] if env else []
    candidates.append(SOURCE_SAMPLES)
    # where pip put the data-files: the install scheme's data path (/usr/local on Debian-style Pythons such as
    # Colab's), the interpreter prefix (venvs, conda), the user base (pip install --user)
    for base in (sysconfig.get_path("data"), sys.prefix, site.getuserbase()):
        candidates.append(Path(base) / "share" / "e2llm_lab" / "data_samples")
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
    fs = FeatureSet.load(sample_dir() / _FEATURES).normalized(normalize)
    return fs if n_steps == 1 else fs.with_steps(n_steps)


def load_sample_raw() -> mne.io.BaseRaw:
    """A 30-s unprocessed recording from the sample cohort (subject 1, clip 1, happiness), read from FIF."""
    return read_raw(sample_dir() / _RAW)
