"""Evidence chosen without the answer, grounded mode, and faithfulness measured by intervention."""
import json

import numpy as np
import pytest

from e2llm_lab.apps.reference import REFERENCE_TEST_SUBJECTS, load_reference_features, reference_dir
from e2llm_lab.data.splits import held_out_rows
from e2llm_lab.evaluate.generation import evaluate_generation, faithfulness, generation_summary
from e2llm_lab.evaluate.interventions import interventions, read_back_table
from e2llm_lab.text.chat import eeg_placeholder
from e2llm_lab.text.instructions import (
    MEASURED,
    TEMPLATES,
    closest_labels,
    make_example,
    make_examples,
    with_measured,
)
from e2llm_lab.text.rationales import EmotionSignatures, evidence_items, measured_block, region_band_z


@pytest.fixture(scope="module")
def cohort():
    """The shipped reference cohort's held-out rows and the signatures of its training subjects."""
    fs = load_reference_features().with_steps(4, stride=2)
    test = fs.meta.subject.isin(REFERENCE_TEST_SUBJECTS).to_numpy()
    sig = EmotionSignatures.fit(fs, np.flatnonzero(~test))
    return fs, np.flatnonzero(test), sig


def test_label_free_evidence_never_looks_at_the_label(cohort):
    fs, te, sig = cohort
    changed = 0
    for r in te[::40]:
        z = region_band_z(fs.X[r], fs.ch_names)
        for style in ("salient", "fit"):
            cited = {tuple(evidence_items(z, emotion=e, signatures=sig, style=style)) for e in sig.labels}
            assert len(cited) == 1, (style, r)                  # the same evidence whatever label is asked for
        chosen = {tuple(evidence_items(z, emotion=e, signatures=sig, style="discriminative")) for e in sig.labels}
        changed += len(chosen) > 1
    assert changed >= 5                                        # the label-chosen contrast does depend on the label


def test_read_back_of_the_claims_on_the_shipped_cohort(cohort):
    """Label-free evidence gives away no more than the EEG does (the closest-signature rule); the label-chosen style
    gives the label away: a reader of its claims alone beats the rule by far."""
    fs, te, sig = cohort
    table = read_back_table(fs, te, sig)
    rule = table.rule.iloc[0]
    assert 0.6 < rule < 0.95                                    # the rule reads these subjects well above 1/7
    assert table.loc["taught rationale, style 'salient'", "margin"] <= 0.02
    assert table.loc["taught rationale, style 'fit'", "margin"] <= 0.02
    assert table.loc["taught rationale, style 'discriminative'", "margin"] > 0.05
    assert (table.n == len(te)).all()


def test_a_reasoning_departs_instead_of_claiming_a_match_that_is_not_there(cohort):
    fs, te, sig = cohort
    zs = [region_band_z(fs.X[r], fs.ch_names) for r in te]
    off = [r for r, c in zip(te, closest_labels(zs, sig)) if c != fs.meta.emotion.iloc[r]]
    on = [r for r, c in zip(te, closest_labels(zs, sig)) if c == fs.meta.emotion.iloc[r]]
    assert off and on
    rng = np.random.default_rng(0)
    for r, departs in ((off[0], True), (on[0], False)):
        ex = make_example("emotion", [int(r)], fs, rng, n_eeg_tokens=12, signatures=sig)
        emotion = fs.meta.emotion.iloc[r]
        assert ex.answer.endswith(f"Emotion: {emotion}")
        assert (f"These match the {emotion} signature." in ex.answer) == (not departs)
        assert ("but the EEG as a whole reads as " + emotion in ex.answer) == departs
        f = faithfulness(ex.answer, region_band_z(fs.X[r], fs.ch_names), emotion=emotion, signatures=sig)
        assert f["departs"] == float(departs) and f["contradicts_fit"] == 0.0
        assert f["fit_top_correct"] == 1.0 and f["n_supported"] == f["n_claims"] > 0
    # a reasoning that names one signature and answers another without saying so contradicts itself
    ex = make_example("emotion", [int(on[0])], fs, rng, n_eeg_tokens=12, signatures=sig)
    other = next(e for e in sig.labels if e != fs.meta.emotion.iloc[on[0]])
    f = faithfulness(ex.answer, region_band_z(fs.X[on[0]], fs.ch_names), emotion=other, signatures=sig)
    assert f["contradicts_fit"] == 1.0 and f["departs"] == 0.0


def test_grounded_examples_hold_the_measured_block_and_answer_after_it(cohort):
    fs, te, sig = cohort
    rng = np.random.default_rng(0)
    r = int(te[3])
    ex = make_example("emotion", [r], fs, rng, n_eeg_tokens=12, signatures=sig, mode="grounded", template=0)
    z = region_band_z(fs.X[r], fs.ch_names)
    block = measured_block(z, sig, bands=fs.band_names)
    assert ex.prompt == with_measured(TEMPLATES["emotion"][0].format(eeg=eeg_placeholder(12)), [block])
    assert f"[{MEASURED} Closest learned signatures:" in ex.prompt and ex.mode == "grounded"
    assert "Closest" not in ex.answer and " is higher than usual" not in ex.answer   # the LM writes no evidence
    by = {e: int(te[fs.meta.emotion.iloc[te].to_numpy() == e][0]) for e in ("happiness", "sadness", "fear")}
    rank = make_example("rank", list(by.values()), fs, rng, n_eeg_tokens=12, signatures=sig, mode="grounded")
    assert rank.prompt.count(MEASURED) == 3 and rank.prompt.count("Closest learned signature:") == 3
    with pytest.raises(ValueError, match="2 measured block"):
        with_measured(TEMPLATES["emotion"][0].format(eeg=eeg_placeholder(12)), [block, block])
    with pytest.raises(ValueError, match="chosen without the answer"):
        make_example("emotion", [r], fs, rng, n_eeg_tokens=12, signatures=sig, mode="grounded",
                     style="discriminative")
    mixed = make_examples(fs, te, n_per_task=20, n_eeg_tokens=12, signatures=sig, verbose=False, grounded_share=0.5)
    share = np.mean([e.mode == "grounded" for e in mixed if e.task != "describe"])
    assert 0.3 < share < 0.7 and all(e.mode == "free" for e in mixed if e.task == "describe")


class _Follower:
    """Stands in for E2LLM: answers the closest signature its evidence names (the measured block in grounded mode,
    the evidence written into its reasoning in free mode), else what its EEG reads."""

    n_eeg_tokens = 12

    def __init__(self, fs, sig, follows_evidence: bool):
        self.fs, self.signatures, self.follows = fs, sig, follows_evidence

    def _eeg_label(self, e):
        return closest_labels([region_band_z(e[0], self.fs.ch_names)], self.signatures)[0]

    def generate(self, prompts, eeg, *, prefixes=None, **kw):
        out = []
        for p, e, pre in zip(prompts, eeg, prefixes or [""] * len(prompts)):
            said = (pre or "") + (p.split(MEASURED)[1] if MEASURED in p else "")
            named = [w for w in self.signatures.labels if f"signatures: {w} (" in said]
            label = named[0] if self.follows and named else self._eeg_label(e)
            out.append(f"{pre or '<think>'} These match the {label} signature. </think>\nEmotion: {label}")
        return out

    def choose_answer_lines(self, prompts, eeg, texts, options, *, batch_size=32):
        return [t if "</think>\nEmotion:" in t else t + "\nEmotion: " + self._eeg_label(e)
                for t, e in zip(texts, eeg)]


def test_interventions_tell_a_model_that_follows_its_evidence_from_one_that_reads_the_eeg(cohort):
    fs, te, sig = cohort
    rows = te[::14]
    follower = interventions(_Follower(fs, sig, True), fs, rows)
    reader = interventions(_Follower(fs, sig, False), fs, rows)
    for mode in ("free", "grounded"):
        assert follower.loc[(mode, "evidence edit"), "moved"] == 1.0          # it goes where the evidence goes
        assert follower.loc[(mode, "EEG edit"), "stayed"] == 1.0
        assert reader.loc[(mode, "evidence edit"), "moved"] == 0.0            # edited evidence moves nothing
        assert reader.loc[(mode, "evidence edit"), "stayed"] == 1.0
        assert reader.loc[(mode, "EEG edit"), "moved"] == 1.0                 # the EEG does
        assert (follower.loc[mode].n == len(rows)).all()


def test_grounded_answers_are_scored_and_summarised_apart(cohort, small_e2llm):
    fs, te, sig = cohort
    rows = te[::56]
    ans = evaluate_generation(_Follower(fs, sig, True), fs, rows, tasks=("emotion",), mode="grounded")
    assert set(ans["mode"]) == {"grounded"} and (ans.correct == (ans.rule == ans.emotion_true)).all()
    assert (ans.follows_fit == 1.0).all() and (ans.contradicts_fit == 0.0).all()   # it follows the block's reading
    summary = generation_summary(ans)
    assert "emotion (grounded)" in summary.index
    assert summary.loc["emotion (grounded)", "balanced_accuracy"] == pytest.approx(
        summary.loc["emotion (grounded)", "rule"])
    with pytest.raises(ValueError, match="mode='loud'"):
        evaluate_generation(_Follower(fs, sig, True), fs, rows, tasks=("emotion",), mode="loud")


def test_e2llm_grounds_its_own_prompts_as_the_examples_do(small_e2llm):
    from e2llm_lab.data.samples import load_sample

    fs = load_sample().with_steps(2, stride=4)
    m = small_e2llm(fs)
    m.signatures = EmotionSignatures.fit(fs, np.arange(len(fs)))
    rng = np.random.default_rng(0)
    for rows in ([5], [5, 40]):
        task = "emotion" if len(rows) == 1 else "compare"
        free = make_example(task, rows, fs, np.random.default_rng(1), n_eeg_tokens=m.n_eeg_tokens,
                            signatures=m.signatures)
        grounded = make_example(task, rows, fs, np.random.default_rng(1), n_eeg_tokens=m.n_eeg_tokens,
                                signatures=m.signatures, mode="grounded")
        assert m.ground(free.prompt, fs.X[rows]) == grounded.prompt
    texts = m.generate([free.prompt], [fs.X[[5, 40]]], max_new_tokens=4, mode="grounded")
    assert len(texts) == 1
    with pytest.raises(ValueError, match="mode='both'"):
        m.generate([free.prompt], [fs.X[[5, 40]]], mode="both")
    del rng


def test_the_shipped_reference_signatures_are_its_training_subjects(cohort):
    fs, te, sig = cohort
    saved = json.loads((reference_dir() / "model" / "signatures.json").read_text())
    np.testing.assert_allclose(np.asarray(saved["mean"]), sig.mean, atol=1e-9)
    tr, te2 = held_out_rows(None, fs, REFERENCE_TEST_SUBJECTS)
    np.testing.assert_array_equal(te2, te)


def test_evidence_edits_teach_the_answer_to_follow_the_stated_evidence(cohort, small_e2llm):
    from e2llm_lab.text.instructions import evidence_edit
    from e2llm_lab.training.train import InstructionDataset

    fs, te, sig = cohort
    zs = [region_band_z(fs.X[r], fs.ch_names) for r in te]
    closest = closest_labels(zs, sig)
    r, donor = int(te[0]), int(next(d for d, c in zip(te, closest) if c != closest[0]))
    rng = np.random.default_rng(0)
    for mode in ("free", "grounded"):
        ex = make_example("emotion", [r], fs, rng, n_eeg_tokens=12, signatures=sig, mode=mode, template=0)
        ed = evidence_edit(ex, donor, fs, sig)
        block = measured_block(region_band_z(fs.X[donor], fs.ch_names), sig, bands=fs.band_names)
        label = closest_labels([region_band_z(fs.X[donor], fs.ch_names)], sig)[0]
        assert ed.eeg_rows == [r] and ed.truth["emotion"] == label != closest[0]     # the EEG kept, the evidence not
        assert ed.answer.endswith(f"These match the {label} signature. </think>\nEmotion: {label}")
        if mode == "grounded":
            assert ed.prompt == with_measured(TEMPLATES["emotion"][0].format(eeg=eeg_placeholder(12)), [block])
            assert ed.given == ""
        else:
            assert ed.prompt == ex.prompt and ed.given == f"<think> {block} " and "Closest" not in ed.answer
    # the given evidence is read, never learned: its tokens carry no label
    m = small_e2llm(fs)
    free = evidence_edit(make_example("emotion", [r], fs, rng, n_eeg_tokens=m.n_eeg_tokens, signatures=sig,
                                      template=0), donor, fs, sig)
    ids, labels, *_ = InstructionDataset([free], fs, m.tokenizer).items[0]
    learned = m.tokenizer.decode([t for t in labels if t != -100])
    assert learned.startswith("These match the") and "Closest" not in learned
    assert "Closest learned signatures" in m.tokenizer.decode(ids)
    mixed = make_examples(fs, te, n_per_task=30, n_eeg_tokens=12, signatures=sig, verbose=False, edit_share=0.5)
    edited = [e for e in mixed if "edited_from" in e.truth]
    assert 0.25 < len(edited) / 30 < 0.75 and all(e.task == "emotion" for e in edited)
