"""World knowledge of the warm-up, and the zero-shot hold-out: nothing of the scenario task reaches stages 2-3."""
import re

import numpy as np
import pytest

from e2llm_lab.instructions import SCENARIOS, TEMPLATES, is_held_out
from e2llm_lab.knowledge import (
    FEELINGS,
    HELD_OUT_WORDINGS,
    LEAD_INS,
    MC_KINDS,
    SCENE_SENSE,
    SCENES,
    WORDINGS,
    arousal_score,
    comparison_sentences,
    knowledge_texts,
    multiple_choice,
    pleasantness,
    question_key,
    wording,
)
from e2llm_lab.labels import LABEL_SPACES


@pytest.mark.parametrize("space", list(LABEL_SPACES.values()), ids=list(LABEL_SPACES))
def test_knowledge_covers_every_label_space(space):
    """Each label is a known feeling, its scene brings it, and the space's order of labels is kept."""
    for label in space.labels:
        assert label in FEELINGS, label
        if space.has_scenes:
            assert SCENE_SENSE[space.scene_of(label)] in FEELINGS[label].senses, label
    for attr, score in (("positive", pleasantness), ("aroused", arousal_score)):
        if attr not in space.attributes():
            continue
        coords = space.score(attr)
        for a in space.labels:
            for b in space.labels:
                if coords[a] > coords[b]:
                    assert score(a) > score(b), (space.name, attr, a, b)


def test_every_scenario_option_is_known_scene_knowledge():
    for emotion, scene in SCENARIOS.items():
        assert any(scene in SCENES[sense] for sense in FEELINGS[emotion].senses)
    assert "amusement" in FEELINGS and "tenderness" in FEELINGS and "tense" in FEELINGS


def _options(q: str) -> dict[str, str]:
    return dict(re.findall(r"\((\w)\) (.+?)(?= \(\w\) |$)", q))


def test_multiple_choice_answers_name_the_one_right_option():
    rng = np.random.default_rng(3)
    qs = [qa for kind in MC_KINDS for qa in multiple_choice(rng, 100, kinds=(kind,))]
    for q, a in qs:
        letter, restated = re.search(r"Answer: \((\w)\) (.+)$", a).groups()
        options = _options(q)
        assert 3 <= len(options) <= 4 and len(set(options.values())) == len(options), q
        assert options[letter] == restated, (q, a)
        assert "EEG" not in q and "EEG" not in a
        m = re.search(r"Which scene would make someone feel (\w+)\?", q)
        if m:                       # exactly one option's scene brings the feeling
            fits = [x for x, s in options.items() if SCENE_SENSE[s] in FEELINGS[m.group(1)].senses]
            assert fits == [letter], (q, a)
        m = re.search(r"Which feeling is the (most|least) (positive|aroused)\?", q)
        if m:
            score = pleasantness if m.group(2) == "positive" else arousal_score
            values = {x: score(w) for x, w in options.items()}
            best = (max if m.group(1) == "most" else min)(values, key=values.get)
            assert best == letter and sorted(values.values()).count(values[best]) == 1, (q, a)


def _worded(q: str, template: str) -> bool:
    pattern = re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template))
    return re.fullmatch(pattern + r" \(a\) .*", q) is not None


def test_held_out_questions_are_worded_and_drawn_apart_from_the_warm_up():
    _, warm = knowledge_texts(0, n_sentences=100, n_questions=3000)
    warm_keys = {question_key(q) for q, _ in warm}
    held = multiple_choice(np.random.default_rng(1), 300, held_out=True, exclude=warm_keys)
    assert len(held) == 300 and not {question_key(q) for q, _ in held} & warm_keys
    assert 0 < len(HELD_OUT_WORDINGS) < sum(len(v) for v in WORDINGS.values()) * len(LEAD_INS) / 3
    held_templates = [wording(*w) for w in HELD_OUT_WORDINGS]
    seen_templates = [wording(k, i, j) for k, v in WORDINGS.items() for i in range(len(v))
                      for j in range(len(LEAD_INS)) if (k, i, j) not in HELD_OUT_WORDINGS]
    for q, _ in held:                                # worded as held out, and as nothing the warm-up uses
        assert any(_worded(q, t) for t in held_templates), q
        assert not any(_worded(q, t) for t in seen_templates if not t.startswith("{")), q
    for q, _ in warm[:600]:
        assert not any(_worded(q, t) for t in held_templates), q
    # every wording and every lead-in does reach the warm-up, only not in the held-out combinations
    assert {(k, i) for k, i, _ in HELD_OUT_WORDINGS} <= {(k, i) for k, v in WORDINGS.items() for i in range(len(v))}
    assert all(any(_worded(q, t) for q, _ in warm) for t in seen_templates[::7])


def test_comparison_sentences_are_true():
    for s in comparison_sentences(np.random.default_rng(0), 200):
        a, word, b = re.match(r"(\w+) is (more positive|less positive|more aroused|calmer) than (\w+)\.", s).groups()
        a = a.lower()
        if word == "more positive":
            assert pleasantness(a) > pleasantness(b)
        elif word == "less positive":
            assert pleasantness(a) < pleasantness(b)
        elif word == "more aroused":
            assert arousal_score(a) > arousal_score(b)
        else:
            assert arousal_score(a) < arousal_score(b)


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
    scenes = list(SCENE_SENSE)
    assert len(examples) > 500 and {e.task for e in examples} == {"emotion", "valence_arousal", "compare", "rank",
                                                                   "describe"}
    for ex in captions + examples:
        assert not is_held_out(ex.task, ex.template)
        assert not _mentions_scenario(ex.prompt + ex.answer), ex.prompt
        assert not any(s in ex.prompt + ex.answer for s in scenes)


def test_warmup_has_world_knowledge_but_no_scenario_task(train_rows):
    from e2llm_lab.build import CURRICULUM, warmup_curriculum
    from e2llm_lab.llm import load_llm

    fs, tr = train_rows
    _, tok = load_llm(device="cpu")
    stages = warmup_curriculum(tok, fs, tr, n=1000, seed=0, n_sentences=200, n_questions=400)
    assert [name for name, _ in stages] == [name for name, _, _ in CURRICULUM]
    texts = [t for _, ts in stages for t in ts]
    assert abs(len(texts) - 1000) <= 5
    assert sum("brings" in t for t in texts) > 100 and sum("Answer: (" in t for t in texts) > 400
    assert not any(any(p in t for p in _SCENARIO_PHRASES) for t in texts)
    assert not any("<|eeg|>" in t and "Answer: (" in t for t in texts)     # lettered answers never follow EEG
    assert not any("<|eeg|>" in t and s in t for t in texts for s in SCENE_SENSE)   # scenes never beside EEG
    # the curriculum's order: multiple choice first (no EEG), then captions, then chain-of-thought tasks
    first, captions, reasoning = (ts for _, ts in stages)
    assert not any("<|eeg|>" in t for t in first)
    assert any("Describe the EEG evidence." in t for t in captions)
    assert not any("Emotion:" in t for t in first + captions)
    assert sum("Emotion:" in t for t in reasoning) > 30
    warm = {question_key(m.group(1)) for t in texts
            if (m := re.search(r"<\|im_start\|>user\n(.+?)<\|im_end\|>", t, re.S)) and "Answer: (" in t}
    _, drawn = knowledge_texts(0, n_sentences=200, n_questions=400)
    assert warm <= {question_key(q) for q, _ in drawn}                      # bench/tiny_llm.py excludes these
