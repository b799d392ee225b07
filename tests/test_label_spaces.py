"""Label spaces: built-ins, the FeatureSet and checkpoints carrying them, and the whole pipeline on other spaces."""
import hashlib
import json

import numpy as np
import pytest

from e2llm_lab.data.splits import held_out_rows
from e2llm_lab.labels import (
    FACED,
    LABEL_SPACES,
    SEED,
    SEED4,
    SEED5,
    SEED7,
    VA_QUADRANTS,
    LabelSpace,
    LabelSpaceError,
    get_label_space,
    quadrant_label,
)

EMOTIV = ("AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4")


def test_builtin_spaces_have_the_datasets_labels_in_code_order():
    assert SEED7.labels == ("happiness", "sadness", "fear", "disgust", "surprise", "anger", "neutral")
    assert SEED.labels == ("negative", "neutral", "positive")
    assert SEED4.labels == ("neutral", "sad", "fear", "happy")
    assert SEED5.labels == ("disgust", "fear", "sad", "neutral", "happy")
    assert len(FACED) == 9 and {"amusement", "inspiration", "joy", "tenderness"} <= set(FACED.labels)
    assert len(VA_QUADRANTS) == 4
    assert set(LABEL_SPACES) == {"seed7", "seed", "seed4", "seed5", "faced", "va_quadrants", "gameemo"}
    # GAMEEMO's games, in the order of its label codes (0 boring, 1 calm, 2 horror, 3 funny)
    assert LABEL_SPACES["gameemo"].labels == ("boring", "calm", "horror", "funny")
    assert get_label_space("faced") is FACED
    with pytest.raises(ValueError, match="built-in"):
        get_label_space("nope")


def test_words_synonyms_and_indices():
    assert SEED4.normalize("Sadness") == "sad" and SEED4.index("happiness") == 3
    assert SEED7.normalize("  HAPPY ") == "happiness"
    with pytest.raises(LabelSpaceError, match="'seed4'"):
        SEED4.normalize("disgust")
    np.testing.assert_array_equal(FACED.indices(["joy", "tender", None, np.nan, 8, "fear"]), [7, 8, -1, -1, 8, 2])
    with pytest.raises(LabelSpaceError, match="both"):
        LabelSpace.from_names(["calm", "relaxed"], synonyms={"calm": ("easy",), "relaxed": ("easy",)})
    with pytest.raises(LabelSpaceError, match="exactly the labels"):
        LabelSpace.from_names(["a", "b"], valence={"a": 1.0})


def test_json_round_trip_and_user_spaces():
    mine = LabelSpace.from_names(["calm", "stressed"], name="mine", valence={"calm": 0.5, "stressed": -0.5})
    for space in (*LABEL_SPACES.values(), mine):
        back = LabelSpace.from_json(json.dumps(space.to_dict()))
        assert back == space and back.words == space.words
    assert mine.unsupported("valence_arousal") and mine.unsupported("scenario") and mine.unsupported("rank")
    assert mine.unsupported("compare") is None and mine.attributes() == ("positive",)
    assert SEED.unsupported("valence_arousal") == ("task 'valence_arousal' left out: the 'seed' label space has no "
                                                   "valence and arousal coordinates")


def test_quadrants_from_ratings():
    assert quadrant_label(7, 8) == "excited" and quadrant_label(7, 2) == "calm"
    assert quadrant_label(2, 8) == "tense" and quadrant_label(5, 5) == "sad"        # the midpoint is not above it
    assert quadrant_label(4, 4, threshold=3) == "excited"                           # DREAMER's 1-5 scale
    assert quadrant_label(6, 4, threshold=(5, 4.5)) == "calm"
    with pytest.raises(LabelSpaceError):
        quadrant_label(np.nan, 3)


def test_check_same_names_both_spaces():
    with pytest.raises(LabelSpaceError) as err:
        SEED7.check_same(SEED4, what="the features")
    assert "'seed4'" in str(err.value) and "'seed7'" in str(err.value)


@pytest.fixture(scope="module")
def windows():
    from e2llm_lab.data.samples import load_sample

    return load_sample()


def _seed4_emotiv(windows):
    """4 labels, 4 bands (no gamma), the 14 electrodes of an Emotiv headset."""
    return windows.select(ch_names=EMOTIV, bands=("delta", "theta", "alpha", "beta")).relabel(
        {"neutral": "neutral", "sadness": "sad", "fear": "fear", "happiness": "happy"}, SEED4)


def _faced_like(windows):
    """9 labels: the cohort's clips relabelled onto FACED's categories (two clips of a label become two labels)."""
    second = {"happiness": ("amusement", "joy"), "surprise": ("inspiration", "tenderness")}
    return windows.relabel(lambda r: second[r.emotion][int(r.trial) % 2] if r.emotion in second else r.emotion,
                           FACED)


def test_featureset_carries_its_space_through_files_and_refuses_foreign_labels(windows, tmp_path):
    from e2llm_lab.data.featureset import FeatureSet

    fs = _seed4_emotiv(windows)
    assert fs.label_space is SEED4 and fs.n_bands == 4 and fs.ch_names == EMOTIV
    assert sorted(fs.meta.emotion.unique()) == ["fear", "happy", "neutral", "sad"]
    assert set(fs.meta.valence) == {SEED4.valence_of(e) for e in SEED4.labels}
    back = FeatureSet.load(fs.save(tmp_path / "fs4.npz"))
    assert back.label_space == SEED4 and back.band_names == fs.band_names
    np.testing.assert_array_equal(back.labels(), fs.labels())
    with pytest.raises(LabelSpaceError, match="outside the 'seed4'"):
        FeatureSet(fs.X, fs.meta.assign(emotion="anger"), fs.ch_names, fs.bands, label_space=SEED4)
    with pytest.raises(ValueError, match="channel 'CZ' is not in"):
        fs.select(ch_names=("CZ",))


def test_signatures_name_every_label_that_has_too_few_samples(windows):
    from e2llm_lab.text.rationales import EmotionSignatures

    fs = _seed4_emotiv(windows)
    one_fear = np.flatnonzero((fs.meta.emotion != "fear").to_numpy()).tolist() + [
        int(np.flatnonzero((fs.meta.emotion == "fear").to_numpy())[0])]
    with pytest.raises(LabelSpaceError, match=r"\['fear'\].*fear: 1"):
        EmotionSignatures.fit(fs, one_fear)


def test_rank_is_left_out_with_a_line_when_too_few_labels_differ(windows, capsys):
    """Rows holding two labels only: rank is impossible; it is skipped with one line, never looped on forever."""
    from e2llm_lab.text.instructions import make_examples
    from e2llm_lab.text.rationales import EmotionSignatures

    fs = windows.with_steps(2, stride=4)
    two = np.flatnonzero(fs.meta.emotion.isin(["happiness", "sadness"]).to_numpy())
    sig = EmotionSignatures.fit(fs, np.arange(len(fs)))
    exs = make_examples(fs, two, tasks=("compare", "rank"), n_per_task=5, n_eeg_tokens=12, signatures=sig)
    assert [e.task for e in exs] == ["compare"] * 5
    assert "task 'rank' left out" in capsys.readouterr().out


def test_default_seed7_examples_are_unchanged():
    """The SEED-VII path draws exactly the examples it drew before (hashes of make_examples on the same rows and
    seeds). Pinned when label spaces arrived, re-pinned when templates became composed from parts (issue 14) and
    when evidence became label-free with stated departures (issue 38): a change here changes every training run's
    data, so it must be deliberate."""
    from e2llm_lab.data.samples import load_sample
    from e2llm_lab.text.instructions import make_examples
    from e2llm_lab.text.rationales import EmotionSignatures

    fs = load_sample().with_steps(4, stride=2)
    tr = np.flatnonzero(~fs.meta.subject.isin((5, 6)).to_numpy())
    sig = EmotionSignatures.fit(fs, tr)

    def digest(exs):
        text = "\n".join(e.task + "|" + e.prompt + "|" + e.answer + "|" + str(e.eeg_rows) for e in exs)
        return hashlib.sha256(text.encode()).hexdigest()

    exs = make_examples(fs, tr, n_per_task=30, n_eeg_tokens=12, seed=3, signatures=sig)
    assert len(exs) == 150 and digest(exs) == "e96807e1d47a79363497152e35c470f14decb6485df3dc9e51a2d04b0901f40b"
    zs = make_examples(fs, tr, tasks=("emotion", "scenario"), n_per_task=20, n_eeg_tokens=12, seed=4, zero_shot=True,
                       signatures=sig)
    assert digest(zs) == "042603ec6a5df3fc144a48c9a647f346feeaa690e5605069a40033bf372e4893"


@pytest.mark.slow
@pytest.mark.parametrize("make, space", [(_seed4_emotiv, SEED4), (_faced_like, FACED)], ids=["4x4x14", "faced9"])
def test_quickstart_evaluate_and_explorer_on_another_label_space(windows, tmp_path, make, space):
    from e2llm_lab.apps.cli import main
    from e2llm_lab.apps.quickstart import run_quickstart
    from e2llm_lab.interpret.widgets import Explorer
    from e2llm_lab.models.model import E2LLM

    fs = make(windows)
    res = run_quickstart(features=fs, test_subjects=(5, 6), fast=True, out=tmp_path, device="cpu", verbose=False,
                         progress=False)
    answers = res["answers"]
    said = set(answers[answers.task == "emotion"].emotion_pred.dropna())
    assert said and said <= set(space.labels)                          # answers use only this label space
    assert res["summary"].loc["emotion", "chance"] == pytest.approx(1 / len(space))
    assert set(answers.emotion_true) <= set(space.labels)

    model = E2LLM.from_pretrained(tmp_path / "model", device="cpu")  # the checkpoint keeps the space and bands
    assert model.label_space == space and model.signatures.label_space == space
    assert model.encoder.bands == fs.band_names and model.held_out.test_subjects == (5, 6)
    with pytest.raises(LabelSpaceError, match=f"'{space.name}'"):
        model.check_features(windows.subset(np.arange(10)))
    with pytest.raises(ValueError, match="seen in training"):
        held_out_rows(model.held_out, model.samples(fs), (1,))

    samples = model.samples(fs)
    # every 6th sample of all subjects (the held-out 5 and 6 among them): the space must travel through `evaluate`;
    # all of them would only ask the same questions more often
    path = samples.subset(np.arange(0, len(samples), 6)).save(tmp_path / "features.npz")
    out = tmp_path / "evaluation.html"
    assert main(["evaluate", str(tmp_path / "model"), "--features", str(path), "--n-per-task", "2", "--n-control", "1",
                 "--device", "cpu", "--out", str(out)]) == 0
    assert out.exists() and "problems" not in out.read_text()

    explorer = Explorer(model.encoder, samples, rows=np.arange(4))
    assert list(explorer.emotion.options) == ["(true emotion)", *space.labels]
