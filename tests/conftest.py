import os
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("E2LLM_FAST", "1")


@pytest.fixture(scope="session")
def tiny_synth_cfg():
    from e2llm_lab.config import SyntheticConfig

    return SyntheticConfig(n_subjects=2, n_trials_per_emotion=1, trial_s=16.0, seed=3)


@pytest.fixture(scope="session")
def tiny_cohort(tiny_synth_cfg):
    from e2llm_lab.data.synthetic import make_cohort

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_cohort(tiny_synth_cfg)
