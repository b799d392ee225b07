"""evaluate/scoring.py: teacher-forced option scores (right-padded batches) and the constrained answer line."""
import numpy as np
import pytest

from e2llm_lab.evaluate.scoring import choose_answer_lines, score_options, strip_eeg
from e2llm_lab.text.chat import EEG_END, EEG_START, EEG_TOKEN
from e2llm_lab.text.instructions import answer_lines, make_examples


def test_scores_do_not_depend_on_batching(fs, small_e2llm):
    m = small_e2llm(fs)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion", "compare"), n_per_task=2,
                        n_eeg_tokens=m.n_eeg_tokens, seed=0, verbose=False)
    args = ([e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs], ["<think> x </think>"] * len(exs),
            [answer_lines(e) for e in exs])
    one = score_options(m, *args, batch_size=1)                   # no padding at all
    many = score_options(m, *args, batch_size=7)                  # right-padded rows of different lengths
    assert [len(s) for s in one] == [len(o) for o in args[3]]
    for a, b in zip(one, many):
        np.testing.assert_allclose(a, b, atol=1e-4)
        assert (a < 0).all()


def test_answer_line_is_the_best_scored_option_and_empty_options_keep_the_text(fs, small_e2llm):
    m = small_e2llm(fs)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion",), n_per_task=2, n_eeg_tokens=m.n_eeg_tokens,
                        seed=0, verbose=False)
    prompts, eeg = [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs]
    texts = ["<think> a " + EEG_TOKEN + "b </think>\nEmotion: x", "free text"]
    lines = [answer_lines(exs[0]), []]
    got = choose_answer_lines(m, prompts, eeg, texts, lines)
    best = score_options(m, prompts[:1], eeg[:1], ["<think> a b </think>"], lines[:1])[0]
    assert got == ["<think> a b </think>" + lines[0][int(np.argmax(best))], "free text"]


@pytest.mark.parametrize("marker", [EEG_START, EEG_TOKEN, EEG_END])
def test_strip_eeg_removes_every_marker(marker):
    assert strip_eeg(f"a{marker}b{marker}") == "ab"
