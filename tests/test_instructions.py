import numpy as np
import pytest

from e2llm_lab.channels import REGION_NAMES, REGIONS
from e2llm_lab.data.samples import load_sample
from e2llm_lab.emotions import AROUSAL, VALENCE
from e2llm_lab.instructions import (EEG_TOKEN, HELD_OUT_TEMPLATES, TASKS, TEMPLATES, check_claims, eeg_placeholder,
                                    evidence_items, make_examples, parse_answer, rationale, region_band_z)


@pytest.fixture(scope="module")
def fs():
    return load_sample().with_steps(4, stride=4)


def test_region_band_z_matches_manual(fs):
    x = fs.X[5]
    z = region_band_z(x, fs.ch_names)
    assert z.shape == (11, 5)
    r = REGION_NAMES.index("occipital")
    idx = [fs.ch_names.index(c) for c in REGIONS["occipital"]]
    np.testing.assert_allclose(z[r, 2], x[:, idx, 2].mean(), rtol=1e-5)


def test_every_rationale_claim_is_supported_by_the_features(fs):
    for i in range(0, len(fs), 17):
        z = region_band_z(fs.X[i], fs.ch_names)
        text = rationale(z)
        res = check_claims(text, z)
        assert res["n_claims"] == len(evidence_items(z)) and res["n_supported"] == res["n_claims"], text


def test_check_claims_catches_a_false_claim():
    z = np.zeros((11, 5))
    z[REGION_NAMES.index("left_temporal"), 4] = 1.5
    assert check_claims("Left temporal gamma is higher than usual.", z)["n_supported"] == 1
    res = check_claims("Left temporal gamma is lower than usual. Occipital alpha is higher.", z)
    assert res["n_claims"] == 2 and res["n_supported"] == 0


def test_examples_placeholders_and_truth(fs):
    exs = make_examples(fs, np.arange(len(fs)), n_per_task=20, n_eeg_tokens=12, seed=0)
    assert {e.task for e in exs} == set(TASKS)
    for e in exs:
        assert e.prompt.count(EEG_TOKEN) == 12 * len(e.eeg_rows)
        assert (e.task, e.template) not in HELD_OUT_TEMPLATES            # training never sees held-out templates
        emo = [fs.meta.emotion.iloc[r] for r in e.eeg_rows]
        if e.task == "emotion":
            assert e.answer.startswith("<think>") and e.answer.endswith(f"Emotion: {emo[0]}")
        if e.task == "compare":
            score = VALENCE if "positive" in e.prompt else AROUSAL
            best = "AB"[int(np.argmax([score[x] for x in emo]))]
            assert e.answer.endswith(f"Answer: Clip {best}") and e.truth["choice"] == best
        if e.task == "rank":
            assert parse_answer(e.answer)["ranking"] == e.truth["ranking"]


def test_held_out_sets(fs):
    held = make_examples(fs, np.arange(len(fs)), tasks=("emotion", "scenario"), n_per_task=10, n_eeg_tokens=12,
                         held_out=True)
    assert all((e.task, e.template) in HELD_OUT_TEMPLATES or e.task == "scenario" for e in held)
    assert "scenario" not in TASKS and len(TEMPLATES["scenario"]) == 2
    with pytest.raises(ValueError, match="no held-out"):
        make_examples(fs, np.arange(len(fs)), tasks=("compare",), n_per_task=1, n_eeg_tokens=12, held_out=True)


@pytest.mark.parametrize("text,field,value", [
    ("<think> x </think>\nEmotion: happiness", "emotion", "happiness"),
    ("<think> x </think>\nemotion: HAPPY", "emotion", "happiness"),
    ("Emotion: joy", "emotion", "happiness"),                      # missing think block still parses
    ("<think>a</think>\nEmotion: very sad", "emotion", "sadness"),
    ("<think>a</think>\nValence: Negative\nArousal: high", "valence", "negative"),
    ("<think>a</think>\nValence: Negative\nArousal: high", "arousal", "high"),
    ("<think>a</think>\nAnswer: Clip B", "choice", "B"),
    ("<think>a</think>\nAnswer: (c)", "choice", "c"),
    ("<think>a</think>\nAnswer: C > A > B", "ranking", "CAB"),
])
def test_parser_cases(text, field, value):
    assert parse_answer(text)[field] == value


def test_parser_reports_unparseable_instead_of_guessing():
    for text in ("<think> left temporal gamma is higher, linked to positive emotion </think>",
                 "Emotion: boredom", "I am not sure.", ""):
        out = parse_answer(text)
        assert out["emotion"] is None and not out["parsed"], text
    assert parse_answer("Emotion: fear")["think"] is None
    assert parse_answer("<think> because </think>\nEmotion: fear")["think"] == "because"


def test_placeholder():
    assert eeg_placeholder(2) == "<|eeg_start|><|eeg|><|eeg|><|eeg_end|>"
