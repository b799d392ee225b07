"""World knowledge of the warm-up, and the zero-shot hold-out: nothing of the scenario task reaches stages 2-3."""
import re

import numpy as np
import pytest

from e2llm_lab.emotions import AROUSAL, EMOTIONS, VALENCE
from e2llm_lab.instructions import SCENARIOS, TEMPLATES, is_held_out
from e2llm_lab.knowledge import (_QUESTIONS_FEELING, _QUESTIONS_ORDER, _QUESTIONS_SCENE, SCENES,
                                  comparison_sentences, knowledge_texts, multiple_choice, ordering_sentences)


def test_every_scenario_option_is_known_scene_knowledge():
    for emotion, scene in SCENARIOS.items():
        assert scene in SCENES[emotion]
    assert set(SCENES) == set(EMOTIONS)


def test_multiple_choice_answers_name_the_right_option():
    for q, a in multiple_choice(np.random.default_rng(3), 200):
        letter, restated = re.search(r"Answer: \((\w)\) (.+)$", a).groups()
        options = dict(re.findall(r"\((\w)\) (.+?)(?= \(\w\) |\?|$)", q.split("?")[-1] if "?" in q else q))
        assert options[letter].rstrip(".") == restated, (q, a)
        assert "EEG" not in q and "EEG" not in a


def test_feeling_comparisons_in_multiple_choice_are_true():
    asked = 0
    for q, a in multiple_choice(np.random.default_rng(4), 300):
        m = re.search(r"more (positive|aroused)\W.*\(a\) (\w+) \(b\) (\w+)$", q)
        if m is None:
            continue
        asked += 1
        score = VALENCE if m.group(1) == "positive" else AROUSAL
        best = max(m.group(2, 3), key=score.get)
        assert a.endswith(f"Answer: ({'ab'[m.group(2, 3).index(best)]}) {best}"), (q, a)
        assert f"From most to least {m.group(1)}: {best} > " in a
    assert asked > 50


def test_held_out_wordings_never_reach_the_warm_up():
    held_out = [t[-1].split("{")[0] for t in (_QUESTIONS_SCENE, _QUESTIONS_FEELING, _QUESTIONS_ORDER)]
    _, questions = knowledge_texts(0, n_sentences=10, n_questions=600)
    assert not any(q.startswith(h) for q, _ in questions for h in held_out)
    asked = multiple_choice(np.random.default_rng(1), 300, held_out=True)
    assert all(any(q.startswith(h) for h in held_out) for q, _ in asked)
    assert all(any(q.startswith(h) for q, _ in asked) for h in held_out)      # every kind is asked


def test_orderings_are_true():
    for s in ordering_sentences(np.random.default_rng(2), 200):
        attr, ranked = re.match(r"From most to least (positive|aroused): (.+)\.$", s).groups()
        score = [(VALENCE if attr == "positive" else AROUSAL)[e] for e in ranked.split(" > ")]
        assert score == sorted(score, reverse=True) and len(set(score)) == len(score) in (2, 3)


def test_comparison_sentences_are_true():
    for s in comparison_sentences(np.random.default_rng(0), 200):
        a, word, b = re.match(r"(\w+) is (more positive|less positive|more aroused|calmer) than (\w+)\.", s).groups()
        a = a.lower()
        if word == "more positive":
            assert VALENCE[a] > VALENCE[b]
        elif word == "less positive":
            assert VALENCE[a] < VALENCE[b]
        elif word == "more aroused":
            assert AROUSAL[a] > AROUSAL[b]
        else:
            assert AROUSAL[a] < AROUSAL[b]


def test_knowledge_is_deterministic():
    assert knowledge_texts(5) == knowledge_texts(5)
    assert knowledge_texts(5) != knowledge_texts(6)


_SCENARIO_PHRASES = [t.split("{options}")[0].replace("{eeg}", "").strip().split("\n")[-1] for t in TEMPLATES["scenario"]]


def _mentions_scenario(text: str) -> bool:
    return any(p in text for p in _SCENARIO_PHRASES) or bool(re.search(r"Answer: \([a-g]\)", text))


@pytest.fixture(scope="module")
def train_rows():
    from e2llm_lab.data.samples import load_sample

    fs = load_sample().with_steps(4, stride=2)
    return fs, np.flatnonzero(~fs.meta.subject.isin((5, 6)).to_numpy())


def test_no_scenario_template_or_answer_format_reaches_stages_2_and_3(train_rows):
    from e2llm_lab.instructions import EmotionSignatures
    from e2llm_lab.quickstart import stage_examples

    fs, tr = train_rows
    captions, examples = stage_examples(fs, tr, EmotionSignatures.fit(fs, tr), n_eeg_tokens=12)
    scenes = [s for ss in SCENES.values() for s in ss]
    assert len(examples) > 500 and {e.task for e in examples} == {"emotion", "valence_arousal", "compare", "rank",
                                                                   "describe"}
    for ex in captions + examples:
        assert not is_held_out(ex.task, ex.template)
        assert not _mentions_scenario(ex.prompt + ex.answer), ex.prompt
        assert not any(s in ex.prompt + ex.answer for s in scenes)


def test_warmup_has_world_knowledge_but_no_scenario_task(train_rows):
    from e2llm_lab.build import warmup_texts
    from e2llm_lab.llm import load_llm

    fs, tr = train_rows
    _, tok = load_llm(device="cpu")
    tasks, world = warmup_texts(tok, fs, tr, n=400, seed=0, n_sentences=100, n_questions=100)
    assert len(tasks) == 400 and {t.count("<|im_start|>assistant") for t in tasks} == {1}
    assert 190 <= len(world) <= 200 and sum(c != "" for c, _ in world) == 100    # only questions have context
    assert sum("brings" in t for _, t in world) > 50 and sum(t.startswith("<think>") for _, t in world) == 100
    assert all(c.endswith("<|im_start|>assistant\n") for c, _ in world if c)  # a question is context only
    texts = tasks + [c + t for c, t in world]
    assert not any(any(p in t for p in _SCENARIO_PHRASES) for t in texts)
    assert not any("<|eeg|>" in t and "Answer: (" in t for t in texts)     # lettered answers never follow EEG


def test_knowledge_loss_learns_the_text_never_its_context():
    import torch

    from e2llm_lab.build import _knowledge_loss
    from e2llm_lab.llm import load_llm

    llm, tok = load_llm(device="cpu")
    pairs = [("Which scene would make someone feel fear? (a) x (b) y", " Answer: (a) x"), ("", "Fear is calm.")]
    with torch.no_grad():
        loss = _knowledge_loss(llm, tok, pairs)
        per_text = []                                   # the same figure, one text at a time, via transformers' loss
        for context, text in pairs:
            ids = tok(context + text, return_tensors="pt", add_special_tokens=False)["input_ids"]
            labels = ids.clone()
            labels[0, :len(tok(context, add_special_tokens=False)["input_ids"])] = -100
            per_text.append(llm(input_ids=ids, labels=labels).loss)
    assert float(loss) == pytest.approx(float(sum(per_text) / 2), rel=1e-4)
