"""What a real LLM already knows, in miniature: everyday scenes and the feelings they bring, how pleasant and
how arousing each feeling is compared with another, and generic multiple-choice question formats.

Used **only** in the tiny offline model's language warm-up (:func:`~e2llm_lab.apps.build.build_tiny_llm`), never in
stages 2-3, so the held-out ``scenario`` task tests composition: EEG -> emotion (learned in stage 3) and
scene -> emotion (known from pre-training), as a real Qwen model would bring it. Nothing here mentions EEG.
"""
from __future__ import annotations

import numpy as np

from ..emotions import AROUSAL, EMOTIONS, SYNONYMS, VALENCE

__all__ = ["SCENES", "scene_sentences", "comparison_sentences", "multiple_choice", "knowledge_texts", "MC_SYSTEM"]

#: System prompt of the multiple-choice questions, in the warm-up and when asked
#: (:func:`e2llm_lab.evaluate.knowledge.ask_multiple_choice`).
MC_SYSTEM = "You answer multiple-choice questions."

#: Everyday scenes and the emotion most people feel at them (the scenario task's options are among them).
SCENES: dict[str, tuple[str, ...]] = {
    "happiness": ("a stand-up comedy show", "a surprise birthday party with friends", "a wedding dance",
                  "a puppy playing in the snow", "a team winning the final", "a reunion of old friends",
                  "a holiday on a sunny beach", "a child's first steps"),
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

_SENTENCES = ("Watching {scene} makes most people feel {word}.", "{Scene} usually brings {word}.",
              "People who see {scene} tend to feel {word}.", "The typical reaction to {scene} is {word}.",
              "{Scene} is a classic way to evoke {word}.")
_QUESTIONS_SCENE = ("Which scene would make someone feel {word}? {options}",
                    "Someone is feeling {word}. What were they most likely watching? {options}",
                    "Pick the scene that fits the feeling {word}. {options}")
_QUESTIONS_FEELING = ("What would most people feel watching {scene}? {options}",
                      "Choose the feeling that {scene} brings. {options}")
# Wordings the warm-up never uses: bench/tiny_llm.py asks them (``multiple_choice(..., held_out=True)``).
_HELD_OUT_SCENE = ("A viewer feels {word}. Which of these were they watching? {options}",
                   "Which of these scenes brings {word}? {options}")
_HELD_OUT_FEELING = ("Which feeling fits {scene}? {options}", "How would most people feel at {scene}? {options}")


def scene_sentences(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` sentences linking a scene to its emotion, in varied words."""
    out = []
    for _ in range(n):
        emotion = EMOTIONS[rng.integers(len(EMOTIONS))]
        scene = SCENES[emotion][rng.integers(len(SCENES[emotion]))]
        word = SYNONYMS[emotion][rng.integers(min(3, len(SYNONYMS[emotion])))]
        t = _SENTENCES[rng.integers(len(_SENTENCES))]
        out.append(t.format(scene=scene, Scene=scene[0].upper() + scene[1:], word=word))
    return out


def comparison_sentences(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` sentences comparing two feelings' pleasantness (valence) or arousal (Russell's circumplex)."""
    out = []
    for _ in range(n):
        a, b = (str(e) for e in rng.choice(EMOTIONS, 2, replace=False))
        if rng.random() < 0.5:
            if VALENCE[a] == VALENCE[b]:
                continue
            hi, lo = (a, b) if VALENCE[a] > VALENCE[b] else (b, a)
            out.append(f"{hi.capitalize()} is more positive than {lo}." if rng.random() < 0.5 else
                       f"{lo.capitalize()} is less positive than {hi}.")
        else:
            if AROUSAL[a] == AROUSAL[b]:
                continue
            hi, lo = (a, b) if AROUSAL[a] > AROUSAL[b] else (b, a)
            out.append(f"{hi.capitalize()} is more aroused than {lo}." if rng.random() < 0.5 else
                       f"{lo.capitalize()} is calmer than {hi}.")
    return out


def multiple_choice(rng: np.random.Generator, n: int, *, held_out: bool = False) -> list[tuple[str, str]]:
    """``n`` (question, answer) pairs: four lettered options, a short reasoning, ``Answer: (x) <option>``.

    ``held_out=True`` words them in ways the warm-up never uses (the warm-up draws with the default).
    """
    scene_wordings, feeling_wordings = ((_HELD_OUT_SCENE, _HELD_OUT_FEELING) if held_out else
                                        (_QUESTIONS_SCENE, _QUESTIONS_FEELING))
    out = []
    for _ in range(n):
        emotions = [str(e) for e in rng.permutation(EMOTIONS)[:4]]
        target = int(rng.integers(4))
        scenes = [SCENES[e][rng.integers(len(SCENES[e]))] for e in emotions]
        if rng.random() < 0.6:                              # which scene fits a feeling?
            choices = scenes
            options = " ".join(f"({chr(97 + i)}) {s}" for i, s in enumerate(scenes))
            q = scene_wordings[rng.integers(len(scene_wordings))].format(word=emotions[target], options=options)
            why = f"The feeling is {emotions[target]}. {scenes[target][0].upper() + scenes[target][1:]} brings " \
                  f"{emotions[target]}."
        else:                                               # which feeling fits a scene?
            choices = emotions
            options = " ".join(f"({chr(97 + i)}) {e}" for i, e in enumerate(emotions))
            q = feeling_wordings[rng.integers(len(feeling_wordings))].format(scene=scenes[target], options=options)
            why = f"{scenes[target][0].upper() + scenes[target][1:]} brings {emotions[target]}."
        out.append((q, f"<think> {why} </think>\nAnswer: ({chr(97 + target)}) {choices[target]}"))
    return out


def knowledge_texts(seed: int = 0, *, n_sentences: int = 600, n_questions: int = 600) -> tuple[list[str], list]:
    """Sentences (scenes, then feeling comparisons: 3 to 1) and multiple-choice pairs, deterministic by ``seed``."""
    rng = np.random.default_rng(seed)
    sentences = scene_sentences(rng, n_sentences - n_sentences // 4) + comparison_sentences(rng, n_sentences // 4)
    return sentences, multiple_choice(rng, n_questions)
