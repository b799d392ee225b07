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


@pytest.fixture(scope="module")
def fs():
    """The sample cohort in 2-window samples (hop 4): small enough for E2LLM tests on a CPU."""
    from e2llm_lab.data.samples import load_sample

    return load_sample().with_steps(2, stride=4)


@pytest.fixture
def small_e2llm():
    """A factory of small, seeded E2LLM models (tiny encoder + the shipped tiny LLM) in eval mode."""
    import torch

    from e2llm_lab.config import E2LLMConfig, EncoderConfig
    from e2llm_lab.encoder import EEGEncoder
    from e2llm_lab.model import E2LLM

    def build(fs):
        torch.manual_seed(0)
        enc = EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1, n_steps=fs.n_steps))
        return E2LLM.build(enc, E2LLMConfig(), device="cpu").eval()

    return build
