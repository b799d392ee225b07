"""The shipped reference model: it loads, keeps to its held-out subjects, and its report states what it does."""
import numpy as np
import pandas as pd
import pytest

from e2llm_lab.reference import (
    REFERENCE_TEST_SUBJECTS,
    load_reference_features,
    load_reference_model,
    reference_dir,
    reference_report,
)


@pytest.fixture(scope="module")
def reference():
    model = load_reference_model(device="cpu")
    return model, model.samples(load_reference_features())


def test_reference_records_its_held_out_subjects_and_refuses_the_others(reference):
    from e2llm_lab.data.featureset import LeakageError

    model, fs = reference
    assert model.test_subjects == REFERENCE_TEST_SUBJECTS and len(REFERENCE_TEST_SUBJECTS) >= 4
    tr, te = model.held_out_rows(fs)
    assert set(fs.meta.subject.iloc[te]) == set(REFERENCE_TEST_SUBJECTS)
    assert not set(fs.meta.subject.iloc[tr]) & set(REFERENCE_TEST_SUBJECTS)
    with pytest.raises(LeakageError, match="seen in training"):
        model.held_out_rows(fs, (1, 7))
    # the signatures were learned from the training subjects only: refitting them there gives the same numbers
    from e2llm_lab.rationales import EmotionSignatures

    np.testing.assert_allclose(EmotionSignatures.fit(fs, tr).mean, model.signatures.mean, atol=1e-9)


def test_shipped_files_name_no_local_path():
    text = "\n".join(p.read_text() for p in reference_dir().rglob("*.json"))
    assert "/work/" not in text and "/tmp/" not in text and "/home/" not in text


def test_report_figures_match_its_answers():
    report = reference_report()
    answers = pd.read_csv(reference_dir() / "answers.csv")
    tasks = pd.DataFrame(report["tables"]["tasks"]).set_index("task")
    assert tasks.loc["emotion", "n"] == len(answers)
    assert tasks.loc["emotion", "accuracy"] == pytest.approx((answers.emotion_pred == answers.emotion_true).mean())
    assert set(answers.subject) == set(REFERENCE_TEST_SUBJECTS)


@pytest.mark.slow
def test_shipped_answers_are_what_the_shipped_model_generates(reference):
    """Re-generate a subset of the held-out basic-emotion answers (greedy: deterministic) and re-score them."""
    from e2llm_lab.instructions import answer_lines, make_example

    model, fs = reference
    answers = pd.read_csv(reference_dir() / "answers.csv")
    subset = answers.groupby("emotion_true").head(2).head(10)
    exs = [make_example("emotion", [int(r)], fs, np.random.default_rng(0), n_eeg_tokens=model.n_eeg_tokens,
                        template=int(t), signatures=model.signatures) for r, t in zip(subset.row, subset.template)]
    prompts, eeg = [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs]
    free = model.generate(prompts, eeg)
    assert free == subset.text_free.tolist()
    constrained = model.choose_answer_lines(prompts, eeg, free, [answer_lines(e) for e in exs])
    assert constrained == subset.text.tolist()
    assert (subset.emotion_pred == subset.emotion_true).mean() == pytest.approx(
        np.mean([t.endswith(f"Emotion: {e}") for t, e in zip(constrained, subset.emotion_true)]))
