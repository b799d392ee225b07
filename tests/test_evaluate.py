import numpy as np
import pytest
from sklearn.metrics import f1_score

from e2llm_lab.config import EncoderConfig, PretrainConfig
from e2llm_lab.data.featureset import LeakageError
from e2llm_lab.data.samples import load_sample
from e2llm_lab.evaluate import (chance, classification_metrics, confusion_table, cross_validate, encoder_models,
                                logistic_regression, make_folds, mlp)


@pytest.fixture(scope="module")
def fs():
    s = load_sample(n_steps=2)
    return s.subset((s.meta.start_window % 2 == 0).to_numpy())


def test_metrics_against_hand_computation():
    y, p = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0])
    m = classification_metrics(y, p, n_classes=3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    po, pe = 4 / 6, (2 * 2 + 2 * 3 + 2 * 1) / 36
    assert m["kappa"] == pytest.approx((po - pe) / (1 - pe))
    cm = confusion_table(y, p, labels=("a", "b", "c"))
    assert cm.loc["a", "b"] == 1 and cm.to_numpy().sum() == 6


def test_cross_subject_baselines_beat_chance(fs):
    res = cross_validate(fs, {"lr": logistic_regression, "mlp": mlp, "chance": chance}, protocol="loso",
                         progress=False)
    s = res["summary"]["balanced_accuracy_mean"]
    assert s["lr"] > 1 / 7 + 0.2                 # chance is 1/7 = 0.14
    assert s["mlp"] > 1 / 7 + 0.1
    assert abs(s["chance"] - 1 / 7) < 0.08
    per = res["per_subject"]
    assert set(per.subject) == set(range(1, 7)) and (per.groupby("model").size() == 6).all()
    assert res["confusion"]["lr"].to_numpy().sum() == len(fs)


def test_subject_dependent_protocol_is_trial_disjoint(fs):
    (tr, te), = make_folds(fs.meta, "trial")
    key = ["subject", "session", "trial"]
    a = set(map(tuple, fs.meta.iloc[tr][key].to_numpy().tolist()))
    b = set(map(tuple, fs.meta.iloc[te][key].to_numpy().tolist()))
    assert a.isdisjoint(b)
    res = cross_validate(fs, {"lr": logistic_regression}, protocol="trial", progress=False)
    assert res["summary"].loc["lr", "balanced_accuracy_mean"] > 0.5


def test_models_never_see_the_test_subject(fs):
    def spy(train, test):
        assert set(train.meta.subject).isdisjoint(test.meta.subject)
        return np.zeros(len(test), dtype=int)

    res = cross_validate(fs, {"spy": spy}, protocol="kfold", n_splits=3, progress=False)
    assert len(res["per_subject"]) == 6


def test_leaky_folds_are_refused(fs, monkeypatch):
    import e2llm_lab.evaluate as ev

    idx = np.arange(len(fs))
    monkeypatch.setattr(ev, "make_folds", lambda *a, **k: [(idx[::2], idx[1::2])])
    with pytest.raises(LeakageError):
        cross_validate(fs, {"lr": logistic_regression}, protocol="loso", progress=False)
    with pytest.raises(ValueError, match="allowed"):
        make_folds(fs.meta, "random")


@pytest.mark.slow
def test_encoder_and_probe_beat_chance_cross_subject(fs):
    model = encoder_models(PretrainConfig(selfsup_epochs=1, epochs=8),
                           EncoderConfig(d_model=16, n_heads=2, n_layers=1))
    res = cross_validate(fs, {"encoder": model}, protocol="kfold", n_splits=2, progress=False)
    s = res["summary"]["balanced_accuracy_mean"]
    assert s["encoder"] > 1 / 7 + 0.1 and s["linear_probe"] > 1 / 7 + 0.1


class _Canned:
    """Stands in for E2LLM: answers from a function of the prompt."""

    n_eeg_tokens = 12

    def __init__(self, answer):
        self.answer = answer

    def generate(self, prompts, eeg, *, max_new_tokens=256):
        assert len(prompts) == len(eeg) and all(e.ndim == 4 for e in eeg)
        return [self.answer(p) for p in prompts]


def test_generation_scoring_counts_unparseable_as_wrong(fs):
    from e2llm_lab.evaluate import evaluate_generation, generation_summary

    idx = np.flatnonzero((fs.meta.subject == 6).to_numpy())[:14]
    truth = fs.meta.emotion.iloc[idx].tolist()
    answers = iter(["<think> x </think>\nEmotion: " + (t if i % 2 == 0 else "??") for i, t in enumerate(truth)])
    res = evaluate_generation(_Canned(lambda p: next(answers)), fs, idx, tasks=("emotion",))
    s = generation_summary(res)
    assert s.loc["emotion", "n"] == 14 and s.loc["emotion", "parse_rate"] == pytest.approx(0.5)
    assert s.loc["emotion", "accuracy"] == pytest.approx(0.5)


def test_scenario_accepts_the_option_letter_or_the_emotion_it_names(fs):
    from e2llm_lab.evaluate import _correct

    truth = {"choice": "b", "options": ["fear", "sadness", "anger", "neutral"]}
    assert _correct("scenario", {"choice": "b", "emotion": None}, truth)
    assert _correct("scenario", {"choice": None, "emotion": "sadness"}, truth)
    assert not _correct("scenario", {"choice": None, "emotion": "happiness"}, truth)   # not an option
    assert not _correct("scenario", {"choice": "A", "emotion": None}, truth)           # the compare format


def test_faithfulness_counts_supported_claims(fs):
    from e2llm_lab.evaluate import evaluate_generation
    from e2llm_lab.instructions import rationale, region_band_z

    idx = np.flatnonzero((fs.meta.subject == 5).to_numpy())[:6]
    texts = {}

    def answer(prompt):
        r = idx[len(texts)]
        texts[r] = "<think> " + rationale(region_band_z(fs.X[r], fs.ch_names)) + " </think>\nEmotion: fear"
        return texts[r]

    res = evaluate_generation(_Canned(answer), fs, idx, tasks=("emotion",))
    assert res.n_claims.sum() > 0 and (res.n_supported == res.n_claims).all()   # rationales of the truth hold
