"""What a real LLM already knows, in miniature: everyday scenes and the feelings they bring, how pleasant and
how arousing each feeling is, which words mean the same feeling, and generic multiple-choice question formats.

The feelings cover the words of every built-in label space (:data:`e2llm_lab.labels.LABEL_SPACES`: SEED-VII,
SEED, SEED-IV, SEED-V, FACED, rating quadrants), so a model trained on any of them knows its labels.

Used **only** in the tiny offline model's language warm-up (:func:`~e2llm_lab.build.build_tiny_llm`), never in
stages 2-3, so the held-out ``scenario`` task tests composition: EEG -> emotion (learned in stage 3) and
scene -> emotion (known from pre-training), as a real Qwen model would bring it. Nothing here mentions EEG.

Multiple-choice questions come with a short chain of thought that checks each option (``<think> ... </think>``,
then ``Answer: (x) <option>``). Their wordings are split: :data:`HELD_OUT_WORDINGS` never reach the warm-up, so
:func:`multiple_choice` with ``held_out=True`` asks questions the model has never seen (bench/tiny_llm.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Feeling", "FEELINGS", "SCENES", "SCENE_SENSE", "MC_KINDS", "WORDINGS", "LEAD_INS", "HELD_OUT_WORDINGS",
           "wording",
           "pleasantness", "arousal_score", "scene_sentences", "comparison_sentences", "word_sentences",
           "multiple_choice", "question_key", "knowledge_texts"]


@dataclass(frozen=True)
class Feeling:
    """A feeling word: circumplex coordinates (Russell 1980; valence in [-1, 1], arousal in [0, 1] or None), the
    kinds of scene it names (keys of :data:`SCENES`), and other words for it."""

    valence: float
    arousal: float | None
    senses: tuple[str, ...]
    synonyms: tuple[str, ...] = ()


#: Everyday scenes by the feeling they bring (the "sense"); each label space's scene is among them.
SCENES: dict[str, tuple[str, ...]] = {
    "amusement": ("a stand-up comedy show", "a clown slipping on a banana peel", "a blooper reel of a sitcom",
                  "a cat falling off a sofa", "a parrot singing a silly song", "a prank that ends in laughter"),
    "joy": ("a surprise birthday party with friends", "a wedding dance", "a reunion of old friends",
            "a family reunion at an airport", "a holiday on a sunny beach", "a child opening a long-wished gift"),
    "excitement": ("a team winning the final", "a last-second winning goal in a final", "a roller coaster ride",
                   "a rock concert crowd jumping", "a fireworks show at midnight", "a race car crossing the line"),
    "inspiration": ("an athlete finishing a marathon against the odds", "a blind climber reaching a summit",
                    "a girl from a poor village winning a science prize", "a firefighter carrying a child to safety",
                    "a speech that moves a crowd to act", "a disabled dancer on a big stage"),
    "tenderness": ("a parent rocking a sleeping baby", "an old couple holding hands", "a mother cat licking her kittens",
                   "a grandfather reading to a child", "a puppy asleep in a child's arms", "a child hugging a grandmother"),
    "calm": ("a quiet sunset over a lake", "waves on an empty beach at dusk", "a slow walk in a misty forest",
             "rain on a window with soft music", "a meadow in the evening breeze", "a candle burning in a still room"),
    "sadness": ("a farewell at a funeral", "a dog waiting for an owner who never returns", "a lonely old man",
                "a family losing their home", "a last goodbye at a hospital bed", "a breakup in the rain",
                "a war orphan alone", "an empty house after the move"),
    "fear": ("a horror film chase", "footsteps behind you in a dark alley", "a shark circling a swimmer",
             "a plane dropping in turbulence", "a stranger breaking into a house at night",
             "a spider crawling up an arm", "a car skidding on ice", "a ghost in a haunted corridor"),
    "disgust": ("a close-up of rotting food", "maggots in a bin", "a filthy public toilet",
                "someone eating a live insect", "a vomit scene", "mould growing on bread",
                "a rat in the kitchen", "a wound full of pus"),
    "surprise": ("an unexpected magic trick", "a twist ending in a thriller", "a gift nobody expected",
                 "a friend appearing out of nowhere", "a lottery win announced on air",
                 "a cake that turns out to be a shoe", "a sudden plot reveal", "a confetti cannon going off"),
    "anger": ("a scene of cruel injustice", "a bully hitting a child", "a driver cutting the queue",
              "a corrupt official laughing at victims", "someone kicking a dog", "a cheater winning the prize",
              "a landlord evicting a sick family", "a liar blaming an innocent man"),
    "neutral": ("a documentary about office furniture", "a weather report", "a train timetable",
                "a tutorial on folding towels", "a lecture on tax forms", "a video of a quiet car park",
                "a list of product codes", "a slow tour of an empty warehouse"),
}
#: Scene -> the feeling it brings.
SCENE_SENSE: dict[str, str] = {s: sense for sense, scenes in SCENES.items() for s in scenes}

_POSITIVE = ("amusement", "joy", "excitement", "inspiration", "tenderness", "calm")
_NEGATIVE = ("sadness", "fear", "disgust", "anger")
#: Every label word of the built-in label spaces. Coordinates keep each space's order (tests check it).
FEELINGS: dict[str, Feeling] = {
    "happiness": Feeling(0.8, 0.65, ("amusement", "joy", "excitement"), ("happy", "cheerful", "joyful")),
    "happy": Feeling(0.8, 0.65, ("amusement", "joy", "excitement"), ("happiness", "cheerful", "glad")),
    "joy": Feeling(0.8, 0.7, ("joy",), ("joyful", "delight", "gladness")),
    "amusement": Feeling(0.65, 0.6, ("amusement",), ("amused", "funny", "humour")),
    "excited": Feeling(0.7, 0.8, ("excitement",), ("elated", "enthusiastic", "thrilled")),
    "inspiration": Feeling(0.55, 0.5, ("inspiration",), ("inspired", "awe", "uplifted")),
    "tenderness": Feeling(0.6, 0.35, ("tenderness",), ("tender", "warmth", "affection")),
    "calm": Feeling(0.6, 0.2, ("calm",), ("relaxed", "serene", "peaceful")),
    "positive": Feeling(0.7, None, _POSITIVE, ("pleasant", "good")),
    "surprise": Feeling(0.3, 0.8, ("surprise",), ("surprised", "astonished", "amazed")),
    "neutral": Feeling(0.0, 0.2, ("neutral",), ("indifferent", "no emotion", "unmoved")),
    "negative": Feeling(-0.7, None, _NEGATIVE, ("unpleasant", "bad")),
    "anger": Feeling(-0.55, 0.8, ("anger",), ("angry", "rage", "furious")),
    "disgust": Feeling(-0.6, 0.55, ("disgust",), ("disgusted", "revulsion", "repulsed")),
    "tense": Feeling(-0.6, 0.75, ("fear", "anger"), ("stressed", "nervous", "distressed")),
    "fear": Feeling(-0.7, 0.85, ("fear",), ("afraid", "scared", "frightened")),
    "sadness": Feeling(-0.75, 0.3, ("sadness",), ("sad", "sorrow", "grief")),
    "sad": Feeling(-0.75, 0.3, ("sadness",), ("sadness", "sorrow", "unhappy")),
}
# Pairs that name overlapping feelings although their scenes differ (SEED-VII counts "calm" as neutral; a
# surprise is mildly positive): never offered side by side as if one excluded the other.
_CLOSE = {frozenset(p) for p in (("calm", "neutral"), ("positive", "surprise"), ("surprise", "excitement"),
                                 ("happiness", "surprise"), ("happy", "surprise"), ("excited", "surprise"))}


def pleasantness(word: str) -> int:
    """How pleasant a feeling is, 0-100 (valence -1..1 rescaled), as the chains of thought state it."""
    return int(round(50 + 50 * FEELINGS[word].valence))


def arousal_score(word: str) -> int:
    """How aroused a feeling is, 0-100."""
    return int(round(100 * FEELINGS[word].arousal))


def _close(a: str, b: str) -> bool:
    """True when words/senses a and b may describe the same scene (never both among the options)."""
    sa = set(FEELINGS[a].senses) if a in FEELINGS else {a}
    sb = set(FEELINGS[b].senses) if b in FEELINGS else {b}
    return bool(sa & sb) or frozenset((a, b)) in _CLOSE or any(frozenset((x, y)) in _CLOSE for x in sa for y in sb)


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


# -- sentences ----------------------------------------------------------------------------------------------

_SENTENCES = ("Watching {scene} makes most people feel {word}.", "{Scene} usually brings {word}.",
              "People who see {scene} tend to feel {word}.", "The typical reaction to {scene} is {word}.",
              "{Scene} is a classic way to evoke {word}.")


def scene_sentences(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` sentences linking a scene to a feeling word that names it, in varied words."""
    out = []
    words = list(FEELINGS)
    for _ in range(n):
        word = words[rng.integers(len(words))]
        senses = FEELINGS[word].senses
        sense = senses[rng.integers(len(senses))]
        scene = SCENES[sense][rng.integers(len(SCENES[sense]))]
        if rng.random() < 0.3:
            word = FEELINGS[word].synonyms[rng.integers(len(FEELINGS[word].synonyms))]
        t = _SENTENCES[rng.integers(len(_SENTENCES))]
        out.append(t.format(scene=scene, Scene=_cap(scene), word=word))
    return out


def _pair(rng, attr: str):
    words = [w for w in FEELINGS if attr == "positive" or FEELINGS[w].arousal is not None]
    a, b = (str(w) for w in rng.choice(words, 2, replace=False))
    score = pleasantness if attr == "positive" else arousal_score
    return (a, b) if score(a) > score(b) else (b, a) if score(b) > score(a) else None


def comparison_sentences(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` sentences comparing two feelings' pleasantness (valence) or arousal (Russell's circumplex)."""
    out = []
    while len(out) < n:
        attr = "positive" if rng.random() < 0.5 else "aroused"
        pair = _pair(rng, attr)
        if pair is None:
            continue
        hi, lo = pair
        if attr == "positive":
            out.append(f"{_cap(hi)} is more positive than {lo}." if rng.random() < 0.5 else
                       f"{_cap(lo)} is less positive than {hi}.")
        else:
            out.append(f"{_cap(hi)} is more aroused than {lo}." if rng.random() < 0.5 else
                       f"{_cap(lo)} is calmer than {hi}.")
    return out


def word_sentences(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` sentences on one feeling word: its synonyms, its pleasantness and arousal, its valence class."""
    out, words = [], list(FEELINGS)
    for _ in range(n):
        w = words[rng.integers(len(words))]
        f = FEELINGS[w]
        kind = rng.integers(3)
        if kind == 0:
            syn = f.synonyms[rng.integers(len(f.synonyms))]
            out.append(f"{_cap(syn)} is another word for {w}." if rng.random() < 0.5 else
                       f"Someone who feels {syn} feels {w}.")
        elif kind == 1:
            extra = "" if f.arousal is None else f" and arousal {arousal_score(w)}"
            out.append(f"{_cap(w)} has pleasantness {pleasantness(w)}{extra}.")
        else:
            out.append(f"{_cap(w)} is a {_valence_word(w)} feeling.")
    return out


def _valence_word(w: str) -> str:
    p = pleasantness(w)
    return "pleasant" if p > 60 else "unpleasant" if p < 40 else "neutral"


# -- multiple choice ----------------------------------------------------------------------------------------

MC_KINDS = ("feeling_of_scene", "scene_of_feeling", "compare", "valence", "synonym")
#: Question wordings per kind (some combinations with a lead-in never reach the warm-up: :data:`HELD_OUT_WORDINGS`).
WORDINGS: dict[str, tuple[str, ...]] = {
    "feeling_of_scene": ("What would most people feel watching {scene}?", "Choose the feeling that {scene} brings.",
                         "How does {scene} make people feel?", "{Scene}: which feeling does it evoke?"),
    "scene_of_feeling": ("Which scene would make someone feel {word}?", "Pick the scene that fits the feeling {word}.",
                         "Someone is feeling {word}. What were they most likely looking at?",
                         "Which of these is most likely to leave a person {word}?"),
    "compare": ("Which feeling is the {most} {attr}?", "Of these feelings, which one is {most} {attr}?",
                "Pick the {most} {attr} feeling.", "Among these emotions, find the {most} {attr} one."),
    "valence": ("Is {word} a pleasant or an unpleasant feeling?", "How does {word} feel to most people?",
                "What kind of feeling is {word}?", "Would you call {word} pleasant, unpleasant or neutral?"),
    "synonym": ("Which word means the same as {syn}?", "{Syn} is another word for which feeling?",
                "Pick the feeling closest in meaning to {syn}.", "A person says they feel {syn}. Which feeling is that?"),
}
#: Lead-ins put before a wording: the same question in other words.
LEAD_INS = ("", "Quick question: ", "Here is a question. ", "Think it over. ", "One more: ")
#: (kind, wording index, lead-in index) combinations kept out of the warm-up: held-out questions are worded as
#: never seen (every wording and every lead-in is seen, never in these combinations).
HELD_OUT_WORDINGS = frozenset((k, i, j) for k, v in WORDINGS.items() for i in range(len(v))
                              for j in range(len(LEAD_INS)) if (i + j) % len(LEAD_INS) == len(LEAD_INS) - 1)


def wording(kind: str, i: int, j: int) -> str:
    """Question template ``i`` of ``kind`` after lead-in ``j``."""
    return LEAD_INS[j] + WORDINGS[kind][i]


def _options(labels: list[str]) -> str:
    return " ".join(f"({chr(97 + i)}) {x}" for i, x in enumerate(labels))


def _draw(rng, pool, k, ok) -> list[str] | None:
    """``k`` distinct items of ``pool`` in random order, each accepted by ``ok(item, chosen)``; None if stuck."""
    chosen = []
    for i in rng.permutation(len(pool)):
        if ok(pool[i], chosen):
            chosen.append(pool[i])
            if len(chosen) == k:
                return chosen
    return None


def _question(rng: np.random.Generator, kind: str, wording_id: tuple[int, int]):
    """One question of ``kind``: (text, answer, key), or None when the draw has no single right option."""
    n_opt = int(rng.integers(3, 5))
    t = wording(kind, *wording_id)
    words = list(FEELINGS)
    if kind == "feeling_of_scene":
        target = words[rng.integers(len(words))]
        sense = FEELINGS[target].senses[rng.integers(len(FEELINGS[target].senses))]
        scene = SCENES[sense][rng.integers(len(SCENES[sense]))]
        others = _draw(rng, words, n_opt - 1, lambda w, ch: not _close(w, sense) and not _close(w, target)
                       and not any(_close(w, c) for c in ch))
        if others is None:
            return None
        opts = list(others)
        opts.insert(int(rng.integers(n_opt)), target)
        checks = ", ".join(f"({chr(97 + i)}) {w} {'yes' if w == target else 'no'}" for i, w in enumerate(opts))
        why = f"{_cap(scene)} brings {sense}. {checks}."
        text = t.format(scene=scene, Scene=_cap(scene))
        key = (kind, scene, tuple(opts))
    elif kind == "scene_of_feeling":
        target_word = words[rng.integers(len(words))]
        senses = FEELINGS[target_word].senses
        right = SCENES[senses[rng.integers(len(senses))]]
        right = right[rng.integers(len(right))]
        pool = [s for s in SCENE_SENSE if not _close(target_word, SCENE_SENSE[s])]
        others = _draw(rng, pool, n_opt - 1, lambda s, ch: all(SCENE_SENSE[s] != SCENE_SENSE[c] for c in ch))
        if others is None:
            return None
        opts = list(others)
        opts.insert(int(rng.integers(n_opt)), right)
        target = right
        checks = " ".join(f"({chr(97 + i)}) {SCENE_SENSE[s]}." for i, s in enumerate(opts))
        why = f"{checks} {_cap(target_word)} fits ({chr(97 + opts.index(right))})."
        text = t.format(word=target_word)
        key = (kind, target_word, tuple(opts))
    elif kind == "compare":
        attr = "positive" if rng.random() < 0.5 else "aroused"
        most = "most" if rng.random() < 0.6 else "least"
        score = pleasantness if attr == "positive" else arousal_score
        pool = [w for w in words if attr == "positive" or FEELINGS[w].arousal is not None]
        opts = _draw(rng, pool, n_opt, lambda w, ch: all(abs(score(w) - score(c)) >= 5 for c in ch))
        if opts is None:
            return None
        vals = [score(w) for w in opts]
        target = opts[int(np.argmax(vals) if most == "most" else np.argmin(vals))]
        name = "pleasantness" if attr == "positive" else "arousal"
        checks = " ".join(f"({chr(97 + i)}) {w}: {name} {v}." for i, (w, v) in enumerate(zip(opts, vals)))
        why = f"{checks} {_cap(most)} {attr}: ({chr(97 + opts.index(target))}) {target}."
        text = t.format(most=most, attr=attr)
        key = (kind, most, attr, tuple(opts))
    elif kind == "valence":
        word = words[rng.integers(len(words))]
        opts = [str(x) for x in rng.permutation(["pleasant", "unpleasant", "neutral"])]
        target = _valence_word(word)
        why = f"{_cap(word)} has pleasantness {pleasantness(word)}, so it is {target}."
        text = t.format(word=word)
        key = (kind, word, tuple(opts))
    elif kind == "synonym":
        target = words[rng.integers(len(words))]
        syns = FEELINGS[target].synonyms
        syn = syns[rng.integers(len(syns))]
        others = _draw(rng, [w for w in words if w not in syns], n_opt - 1,
                       lambda w, ch: not _close(w, target) and not any(_close(w, c) for c in ch))
        if others is None:
            return None
        opts = list(others)
        opts.insert(int(rng.integers(n_opt)), target)
        checks = ", ".join(f"({chr(97 + i)}) {w} {'yes' if w == target else 'no'}" for i, w in enumerate(opts))
        why = f"{_cap(syn)} is another word for {target}. {checks}."
        text = t.format(syn=syn, Syn=_cap(syn))
        key = (kind, syn, tuple(opts))
    else:
        raise ValueError(f"unknown multiple-choice kind {kind!r}; allowed: {MC_KINDS}")
    letter = chr(97 + opts.index(target))
    return f"{text} {_options(opts)}", f"<think> {why} </think>\nAnswer: ({letter}) {target}", key


def question_key(question: str) -> str:
    """What makes two questions the same instance: the whole text (wording, subject and options in order)."""
    return " ".join(question.split())


def multiple_choice(rng: np.random.Generator, n: int, *, held_out: bool = False, kinds=MC_KINDS,
                    exclude: set | frozenset = frozenset()) -> list[tuple[str, str]]:
    """``n`` (question, answer) pairs over ``kinds``: 3-4 lettered options, a chain of thought that checks each
    option, then ``Answer: (x) <option>``.

    ``held_out=False`` uses the warm-up wordings only; ``True`` the held-out wordings only. Questions whose
    :func:`question_key` is in ``exclude`` are drawn again (held-out sets exclude every warm-up question).
    """
    out = []
    while len(out) < n:
        kind = kinds[rng.integers(len(kinds))]
        pool = [(i, j) for i in range(len(WORDINGS[kind])) for j in range(len(LEAD_INS))
                if ((kind, i, j) in HELD_OUT_WORDINGS) == held_out]
        q = _question(rng, kind, pool[rng.integers(len(pool))])
        if q is None or question_key(q[0]) in exclude:
            continue
        out.append(q[:2])
    return out


def knowledge_texts(seed: int = 0, *, n_sentences: int = 600, n_questions: int = 600) -> tuple[list[str], list]:
    """Sentences (scenes, feeling comparisons, words: 2 to 1 to 1) and warm-up multiple-choice pairs,
    deterministic by ``seed``."""
    rng = np.random.default_rng(seed)
    n_cmp = n_sentences // 4
    sentences = (scene_sentences(rng, n_sentences - 2 * n_cmp) + comparison_sentences(rng, n_cmp)
                 + word_sentences(rng, n_cmp))
    return sentences, multiple_choice(rng, n_questions)
