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


@pytest.fixture
def crash_after_saves(monkeypatch):
    """Make ``module.save_training_state`` raise KeyboardInterrupt right after its n-th save (a simulated crash).

    Returns a function ``arm(module, n)``; the patch is undone when the test ends or by ``arm.undo()``.
    """
    def arm(module, n):
        real = module.save_training_state
        calls = {"n": 0}

        def save_then_crash(*args, **kwargs):
            real(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt(f"simulated crash after save {n}")

        monkeypatch.setattr(module, "save_training_state", save_then_crash)
        arm.undo = lambda: monkeypatch.setattr(module, "save_training_state", real)

    return arm
