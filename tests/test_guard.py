"""The guard against confident nonsense: answers that carry no information about the truth are said to be so, in the
evaluation's tables, its HTML report, the quickstart's summary and the explorer; and real-like band-power arrays
become a FeatureSet the pipeline reads."""
import numpy as np
import pytest

from e2llm_lab.data.arrays import featureset_from_arrays
from e2llm_lab.emotions import EMOTIONS
from e2llm_lab.evaluate.generation import evaluate_generation
from e2llm_lab.evaluate.suite import basic_emotion_rows, evaluate_all, information_table
from e2llm_lab.interpret.widgets import evidence_html
from e2llm_lab.labels import GAMEEMO
from e2llm_lab.text.rationales import EmotionSignatures, decision_sentence, region_band_z


class _Reader:
    """Stands in for E2LLM: names the learned signature nearest to the EEG it is given (so it reads real EEG and
    answers at random on noise), with a reasoning that decides for it."""

    n_eeg_tokens = 12

    def __init__(self, fs, sig):
        self.fs, self.signatures = fs, sig

    def generate(self, prompts, eeg, *, max_new_tokens=256, batch_size=32, **kw):
        out = []
        for e in eeg:
            label = EMOTIONS[int(np.argmax(self.signatures.similarity(region_band_z(e[0], self.fs.ch_names))))]
            out.append(f"<think> {decision_sentence(label)} </think>\nEmotion: {label}")
        return out

    def choose_answer_lines(self, prompts, eeg, texts, options, *, batch_size=32):
        return texts


@pytest.fixture(scope="module")
def reader(fs):
    train = np.flatnonzero(~fs.meta.subject.isin((5, 6)).to_numpy())
    return _Reader(fs, EmotionSignatures.fit(fs, train))


def _held_out(fs):
    return np.flatnonzero(fs.meta.subject.isin((5, 6)).to_numpy())


def test_the_guard_passes_a_reader_and_fires_on_the_same_model_fed_noise(fs, reader):
    te = _held_out(fs)
    asked = evaluate_generation(reader, fs, te, tasks=("emotion",))
    real = information_table(basic_emotion_rows(asked), fs.label_space)
    noise = information_table(basic_emotion_rows(evaluate_generation(reader, fs, te, tasks=("emotion",),
                                                                     control="noise")), fs.label_space)
    assert real.loc["constrained", "informative"] and real.loc["constrained", "p_value"] < 0.01
    assert real.loc["constrained", "balanced_accuracy"] > 1 / 7 + 0.15
    assert not noise.loc["constrained", "informative"]
    assert noise.loc["constrained", "ci_low"] <= 1 / 7 <= noise.loc["constrained", "ci_high"] + 0.05
    assert "not evidence" in noise.loc["constrained", "verdict"]
    assert "not evidence" not in real.loc["constrained", "verdict"]


class _Noise(_Reader):
    """A model fed pure noise in place of its EEG: whatever it says, it says at random."""

    def generate(self, prompts, eeg, *, max_new_tokens=256, batch_size=32, **kw):
        rng = np.random.default_rng(len(prompts))
        return super().generate(prompts, [rng.standard_normal(e.shape).astype(np.float32) for e in eeg])


def test_every_view_of_noise_answers_says_they_are_not_evidence(fs, reader, tmp_path):
    te = _held_out(fs)
    report = evaluate_all(_Noise(fs, reader.signatures), fs, te, n_per_task=4, controls=(), diagnose=False,
                          verbose=False)
    warning = report.evidence_warning()
    assert warning is not None and "not evidence" in warning
    assert "WARNING: The generated labels carry no detectable information" in report.to_html(tmp_path / "r.html") \
        .read_text()
    good = evaluate_all(reader, fs, te, n_per_task=4, controls=(), diagnose=False, verbose=False)
    assert good.evidence_warning() is None
    assert "WARNING" not in good.to_html(tmp_path / "g.html").read_text()
    # the explorer's line above the reasoning
    from e2llm_lab.evaluate.significance import label_information

    t = report.tables["information"].loc["constrained"]
    test = label_information(["fear"] * 5 + ["anger"] * 5, ["anger"] * 10)
    assert "Not evidence." in evidence_html(test) and "Not tested" in evidence_html(None)
    assert t.n == len(te)


def _gameemo_like(n_subjects=4, n_windows=24, seed=0):
    """Arrays in the layout of the real-data file: band power (n, 14, 4), subject, game label, window index."""
    rng = np.random.default_rng(seed)
    rows = [(s, g, w) for s in range(1, n_subjects + 1) for g in range(4) for w in range(n_windows)]
    subject, game, window = (np.array(x) for x in zip(*rows))
    power = rng.lognormal(0.0, 0.5, size=(len(rows), 14, 4)) * (1 + 0.5 * game)[:, None, None]   # a game effect
    power *= rng.lognormal(0.0, 1.0, size=n_subjects + 1)[subject][:, None, None]              # subject scale
    return power, subject, game, window


CH = ("AF3", "AF4", "F3", "F4", "F7", "F8", "FC5", "FC6", "O1", "O2", "P7", "P8", "T7", "T8")
BANDS = (("delta", 0.5, 4.0), ("theta", 4.0, 8.0), ("alpha", 8.0, 13.0), ("beta", 13.0, 30.0))


def test_band_power_arrays_become_a_window_level_featureset_of_their_own_space():
    power, subject, game, window = _gameemo_like()
    fs = featureset_from_arrays(power, subject=subject, labels=game, label_space=GAMEEMO, ch_names=CH, bands=BANDS,
                                trial=game + 1, window=window)
    assert fs.X.shape == (len(power), 1, 14, 4) and fs.label_space is GAMEEMO and fs.ch_names == CH
    # log10, then z-scored within each subject: computed here another way
    logp = np.log10(power)
    sel = subject == 2
    expected = (logp[sel] - logp[sel].mean(0)) / logp[sel].std(0)
    got = fs.X[(fs.meta.subject == 2).to_numpy(), 0]
    order = np.lexsort((window[sel], game[sel]))
    np.testing.assert_allclose(got, expected[order], atol=1e-4)
    assert set(fs.meta.emotion) == set(GAMEEMO.labels)
    valence = fs.meta.groupby("emotion").valence.first()
    assert valence["horror"] < 0 < valence["funny"]
    samples = fs.with_steps(4, stride=2)                       # samples never cross a game
    assert len(samples) == 4 * 4 * ((24 - 4) // 2 + 1)


def test_band_power_arrays_that_do_not_fit_are_refused_by_name():
    power, subject, game, window = _gameemo_like(n_subjects=2)
    kw = {"label_space": GAMEEMO, "ch_names": CH, "bands": BANDS}
    with pytest.raises(ValueError, match=r"subject has 3 entries for 192 windows"):
        featureset_from_arrays(power, subject=subject[:3], labels=game, **kw)
    with pytest.raises(ValueError, match=r"must be \(n_windows, 14 channels, 4 bands\)"):
        featureset_from_arrays(power[:, :13], subject=subject, labels=game, **kw)
    with pytest.raises(ValueError, match=r"integer labels \[7\] are outside"):
        featureset_from_arrays(power, subject=subject, labels=np.where(game == 3, 7, game), **kw)
    bad = power.copy()
    bad[5, 2, 1] = 0.0
    with pytest.raises(ValueError, match=r"power\[5, 2, 1\] \(channel F3, band theta\) is 0.0"):
        featureset_from_arrays(bad, subject=subject, labels=game, **kw)
    names = featureset_from_arrays(power, subject=subject, labels=[GAMEEMO.labels[g] for g in game], **kw)
    ints = featureset_from_arrays(power, subject=subject, labels=game, **kw)
    np.testing.assert_array_equal(names.X, ints.X)
