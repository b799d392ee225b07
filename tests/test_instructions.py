import numpy as np
import pytest

from e2llm_lab.channels import REGION_NAMES, REGIONS
from e2llm_lab.data.samples import load_sample
from e2llm_lab.emotions import AROUSAL, VALENCE
from e2llm_lab.text.answers import check_claims, parse_answer
from e2llm_lab.text.chat import EEG_TOKEN, eeg_placeholder
from e2llm_lab.text.instructions import (
    HELD_OUT_TEMPLATES,
    TASKS,
    TEMPLATE_PARTS,
    TEMPLATES,
    make_example,
    make_examples,
)
from e2llm_lab.text.rationales import evidence_items, rationale, region_band_z


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
                         zero_shot=True)
    assert all((e.task, e.template) in HELD_OUT_TEMPLATES or e.task == "scenario" for e in held)
    assert "scenario" not in TASKS and len(TEMPLATES["scenario"]) == 2
    with pytest.raises(ValueError, match="no training templates"):
        make_example("scenario", [0], fs, np.random.default_rng(0), n_eeg_tokens=12, zero_shot=False)


def test_templates_are_composed_and_held_out_combinations_never_train(fs):
    for task in TASKS:
        intros, questions = TEMPLATE_PARTS[task]
        assert len(TEMPLATES[task]) == len(intros) * len(questions) >= 20
        held = {t for k, t in HELD_OUT_TEMPLATES if k == task}
        seen = set(range(len(TEMPLATES[task]))) - held
        assert 0 not in held and len(held) >= 4
        for parts, pos in ((intros, lambda t: t // len(questions)), (questions, lambda t: t % len(questions))):
            # every part is trained in some combination and asked held out in another (composition, not new words)
            assert {pos(t) for t in seen} == set(range(len(parts)))
        assert {pos for pos in held} and all(TEMPLATES[task][t] not in {TEMPLATES[task][s] for s in seen}
                                             for t in held)
    train = make_examples(fs, np.arange(len(fs)), n_per_task=60, n_eeg_tokens=2, seed=3, verbose=False)
    assert not {(e.task, e.template) for e in train} & HELD_OUT_TEMPLATES
    assert len({(e.task, e.template) for e in train if e.task == "emotion"}) >= 20   # many wordings, not a few
    held_ex = make_examples(fs, np.arange(len(fs)), tasks=("compare",), n_per_task=20, n_eeg_tokens=2,
                            zero_shot=True, verbose=False)
    assert {(e.task, e.template) for e in held_ex} <= HELD_OUT_TEMPLATES


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


# -- signatures, discriminative evidence, decision, answer lines ------------------------------------------------

from e2llm_lab.emotions import EMOTIONS  # noqa: E402
from e2llm_lab.text.instructions import answer_lines  # noqa: E402
from e2llm_lab.text.rationales import EmotionSignatures, decision_sentence, fit_sentence  # noqa: E402


@pytest.fixture(scope="module")
def train_idx(fs):
    return np.flatnonzero(~fs.meta.subject.isin((5, 6)).to_numpy())


@pytest.fixture(scope="module")
def sig(fs, train_idx):
    return EmotionSignatures.fit(fs, train_idx)


def test_signatures_are_class_means_and_similarity_is_pearson(fs, train_idx, sig):
    k = EMOTIONS.index("fear")
    rows = [i for i in train_idx if fs.meta.emotion.iloc[i] == "fear"]
    manual = np.mean([region_band_z(fs.X[i], fs.ch_names) for i in rows], axis=0)
    np.testing.assert_allclose(sig.mean[k], manual, rtol=1e-6)
    z = region_band_z(fs.X[3], fs.ch_names)
    ref = [np.corrcoef(z.ravel(), sig.contrast[j].ravel())[0, 1] for j in range(7)]
    np.testing.assert_allclose(sig.similarity(z), ref, rtol=1e-6)
    assert sig.similarity(region_band_z(fs.X[:5], fs.ch_names)).shape == (5, 7)
    assert EmotionSignatures.from_dict(sig.to_dict()).mean.tolist() == sig.mean.tolist()


def test_signatures_need_every_emotion(fs):
    rows = np.flatnonzero((fs.meta.emotion != "anger").to_numpy())
    with pytest.raises(ValueError, match="anger"):
        EmotionSignatures.fit(fs, rows)


def test_nearest_signature_reads_held_out_subjects_well_above_chance(fs, train_idx, sig):
    test = np.flatnonzero(fs.meta.subject.isin((5, 6)).to_numpy())
    pred = sig.similarity(region_band_z(fs.X[test], fs.ch_names)).argmax(1)
    assert (pred == fs.labels()[test]).mean() > 1 / 7 + 0.3          # the comparison the rationales make


def test_discriminative_evidence_agrees_with_the_emotion_in_cap_order(fs, sig):
    for i in range(0, len(fs), 23):
        z = region_band_z(fs.X[i], fs.ch_names)
        for emotion in EMOTIONS:
            items = evidence_items(z, emotion=emotion, signatures=sig, style="discriminative")
            assert len(items) <= 3 and len({(r, b) for r, b, _ in items}) == len(items)
            keys = [(REGION_NAMES.index(r), ("delta", "theta", "alpha", "beta", "gamma").index(b)) for r, b, _ in items]
            assert keys == sorted(keys)                                     # fixed order: never a repeat
            for r, b, v in items:
                assert abs(v) >= 0.3 and sig.agreement(emotion, r, b, int(np.sign(v)))


def test_reasoning_ends_with_its_decision_and_names_the_measured_closest(fs, train_idx, sig):
    rng = np.random.default_rng(0)
    ex = make_example("emotion", [int(train_idx[0])], fs, rng, n_eeg_tokens=12, signatures=sig)
    e = ex.truth["emotion"]
    think = parse_answer(ex.answer)["think"]
    assert think.endswith(decision_sentence(e))
    z = region_band_z(fs.X[train_idx[0]], fs.ch_names)
    assert think.startswith(fit_sentence(z, sig))
    assert EMOTIONS[int(np.argmax(sig.similarity(z)))] in fit_sentence(z, sig, top=1)


@pytest.mark.parametrize("task,n", [("emotion", 7), ("valence_arousal", 6), ("compare", 2), ("rank", 6),
                                    ("scenario", 4), ("describe", 0)])
def test_answer_lines_hold_the_reference_answer(fs, sig, task, n):
    rng = np.random.default_rng(1)
    first = {e: int(np.flatnonzero((fs.meta.emotion == e).to_numpy())[0]) for e in EMOTIONS}
    # clips whose valences and arousals all differ, as make_examples draws them
    rows = [first[e] for e in ("happiness", "sadness", "neutral")][:{"compare": 2, "rank": 3}.get(task, 1)]
    ex = make_example(task, rows, fs, rng, n_eeg_tokens=12, signatures=sig, zero_shot=task == "scenario")
    lines = answer_lines(ex)
    assert len(lines) == n and len(set(lines)) == n
    if n:
        assert sum(ex.answer.endswith(line) for line in lines) == 1


@pytest.mark.parametrize("text,field,value", [
    ("<think> x </think>\nEmotion: Fear.", "emotion", "fear"),
    ("<think> x </think>\nAnswer: clip b", "choice", "B"),
    ("<think> x </think>\nAnswer: B>A>C", "ranking", "BAC"),
    ("<think> These match the fear signature. </think>\nEmotion: sadness", "emotion", "sadness"),
    ("<think> These match the fear signature.", "emotion", None),      # a decision in the reasoning is no answer
])
def test_parser_tricky_answers(text, field, value):
    assert parse_answer(text)[field] == value


def test_consistent_examples_never_decide_against_their_closest_signature(fs, capsys):
    from e2llm_lab.text.instructions import consistent_rows
    from e2llm_lab.text.rationales import EmotionSignatures

    idx = np.arange(len(fs))
    sig = EmotionSignatures.fit(fs, idx)
    # the reference, computed another way: Pearson r of each row's region x band profile with each label's contrast
    present = sig.present
    own = []
    for i in idx:
        z = region_band_z(fs.X[i], fs.ch_names)[present].ravel()
        r = [np.corrcoef(z, sig.contrast[k][present].ravel())[0, 1] for k in range(len(sig.labels))]
        own.append(sig.labels[int(np.argmax(r))] == fs.meta.emotion.iloc[i])
    keep = consistent_rows(fs, idx, sig)
    np.testing.assert_array_equal(keep, idx[np.asarray(own)])
    assert 0 < len(keep) < len(idx)                                  # the sample cohort has rows of both kinds

    exs = make_examples(fs, idx, tasks=("emotion", "compare", "describe"), n_per_task=40, n_eeg_tokens=2, seed=0,
                        signatures=sig, consistent=True)
    assert f"consistent evidence: {len(keep)} of {len(idx)} training rows" in capsys.readouterr().out
    deciding = [e for e in exs if e.task != "describe"]
    assert {e.task for e in deciding} == {"emotion", "compare"} and all(set(e.eeg_rows) <= set(keep) for e in deciding)
    for e in (e for e in exs if e.task == "emotion"):
        closest = e.answer.split("signatures: ")[1].split(" ")[0]
        assert closest == e.truth["emotion"], e.answer                # "Closest: X ... These match the X signature"
    # captions decide nothing: they still come from every row (here mostly rows whose evidence disagrees)
    other = np.setdiff1d(idx, keep)
    mixed = make_examples(fs, np.concatenate([other, keep[:6]]), tasks=("emotion", "describe"), n_per_task=30,
                          n_eeg_tokens=2, seed=1, signatures=sig, consistent=True, verbose=False)
    assert all(set(e.eeg_rows) <= set(keep[:6]) for e in mixed if e.task == "emotion")
    assert set().union(*(e.eeg_rows for e in mixed if e.task == "describe")) & set(other)
    plain = make_examples(fs, idx, tasks=("emotion",), n_per_task=40, n_eeg_tokens=2, seed=0, signatures=sig)
    assert any(e.answer.split("signatures: ")[1].split(" ")[0] != e.truth["emotion"] for e in plain)


def test_consistent_examples_refuse_rows_whose_evidence_never_agrees(fs):
    from e2llm_lab.text.instructions import consistent_rows
    from e2llm_lab.text.rationales import EmotionSignatures

    idx = np.arange(len(fs))
    sig = EmotionSignatures.fit(fs, idx)
    none = np.setdiff1d(idx, consistent_rows(fs, idx, sig))
    with pytest.raises(ValueError, match=f"no training row's closest signature is its own label \\({len(none)} rows"):
        make_examples(fs, none, tasks=("emotion",), n_per_task=4, n_eeg_tokens=2, signatures=sig, consistent=True)
