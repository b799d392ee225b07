"""World knowledge of the warm-up, and the zero-shot hold-out: nothing of the scenario task reaches stages 2-3."""
import re

import numpy as np
import pytest

from e2llm_lab.emotions import AROUSAL, EMOTIONS, VALENCE
from e2llm_lab.text.instructions import SCENARIOS, TEMPLATES, is_held_out
from e2llm_lab.text.knowledge import SCENES, comparison_sentences, knowledge_texts, multiple_choice


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


_SCENARIO_PHRASES = [t.split("{options}")[0].replace("{eeg}", "").strip().split("\n")[-1]
                     for t in TEMPLATES["scenario"]]


def _mentions_scenario(text: str) -> bool:
    return any(p in text for p in _SCENARIO_PHRASES) or bool(re.search(r"Answer: \([a-g]\)", text))


@pytest.fixture(scope="module")
def train_rows():
    from e2llm_lab.data.samples import load_sample

    fs = load_sample().with_steps(4, stride=2)
    return fs, np.flatnonzero(~fs.meta.subject.isin((5, 6)).to_numpy())


def test_no_scenario_template_or_answer_format_reaches_stages_2_and_3(train_rows):
    from e2llm_lab.text.rationales import EmotionSignatures
    from e2llm_lab.training.pipeline import stage_examples

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
    from e2llm_lab.apps.build import warmup_texts
    from e2llm_lab.models.llm import load_llm

    fs, tr = train_rows
    _, tok = load_llm(device="cpu")
    texts = warmup_texts(tok, fs, tr, n=400, seed=0, n_sentences=100, n_questions=100)
    assert len(texts) >= 400
    assert sum("brings" in t for t in texts) > 50 and sum("Answer: (" in t for t in texts) == 100
    assert not any(any(p in t for p in _SCENARIO_PHRASES) for t in texts)
    assert not any("<|eeg|>" in t and "Answer: (" in t for t in texts)     # lettered answers never follow EEG


def test_the_warm_up_knowledge_is_the_shipped_models():
    """The tiny model in data_samples/ was warmed up on exactly these texts (e2llm-lab build-tiny-llm); a change
    here means a new model, a rebuilt reference and new figures, not a silent drift."""
    import hashlib
    import json

    texts = knowledge_texts(0, n_sentences=1500, n_questions=1500)
    assert hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16] == "f811ac5d195cc4d0"


def test_held_out_wordings_never_reach_the_warm_up():
    from e2llm_lab.text.knowledge import _HELD_OUT_FEELING, _HELD_OUT_SCENE

    held_out = [w.split("{")[0] for w in _HELD_OUT_SCENE + _HELD_OUT_FEELING]
    _, questions = knowledge_texts(0, n_sentences=10, n_questions=1500)
    assert not any(q.startswith(h) for q, _ in questions for h in held_out)
    asked = multiple_choice(np.random.default_rng(1), 300, held_out=True)
    assert all(any(q.startswith(h) for h in held_out) for q, _ in asked)
    assert all(any(q.startswith(h) for q, _ in asked) for h in held_out)      # every held-out wording is asked
    for q, a in asked:                                                        # and answered right by the key
        letter, restated = re.search(r"Answer: \((\w)\) (.+)$", a).groups()
        assert f"({letter}) {restated}" in q


def test_asking_multiple_choice_scores_what_the_model_writes():
    """ask_multiple_choice reads the letter of the generated answer line, batched or one at a time alike."""
    from e2llm_lab.evaluate.knowledge import ask_multiple_choice
    from e2llm_lab.models.llm import load_llm

    llm, tok = load_llm(device="cpu")
    asked = multiple_choice(np.random.default_rng(1234), 20, held_out=True)
    batched = ask_multiple_choice(llm, tok, asked)
    assert len(batched) == 20 and all(g is None or g in "abcd" for g in batched)
    assert batched[:3] == [ask_multiple_choice(llm, tok, [q])[0] for q in asked[:3]]
    assert sum(g is not None for g in batched) >= 18                         # the format is learned
