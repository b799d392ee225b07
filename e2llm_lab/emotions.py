"""SEED-VII's seven emotions as plain constants: the default label space, :data:`e2llm_lab.labels.SEED7`.

Kept for code written before label spaces existed. New code takes the label space of its data
(``fs.label_space``) or of its model (``model.label_space``), so SEED, SEED-IV, FACED, rating quadrants and your
own labels work the same way.
"""
from __future__ import annotations

from .labels import SEED7

__all__ = [
    "EMOTIONS",
    "VALENCE",
    "AROUSAL",
    "SYNONYMS",
    "emotion_index",
    "valence_class",
    "arousal_class",
    "normalize_emotion",
]

#: SEED-VII's seven emotions, in the order of its integer labels.
EMOTIONS: tuple[str, ...] = SEED7.labels
VALENCE: dict[str, float] = dict(SEED7.valence)
AROUSAL: dict[str, float] = dict(SEED7.arousal)
#: Words an answer may use for each emotion (lower case), the emotion itself first.
SYNONYMS: dict[str, tuple[str, ...]] = {e: (e, *SEED7.synonyms_of(e)) for e in EMOTIONS}


def normalize_emotion(word: str) -> str:
    """Map an emotion word (any case, a synonym) to its canonical SEED-VII name (ValueError otherwise)."""
    return SEED7.normalize(word)


def emotion_index(word: str) -> int:
    """Integer label of an emotion word (position in :data:`EMOTIONS`)."""
    return SEED7.index(word)


def valence_class(emotion: str) -> str:
    """'positive', 'neutral' or 'negative' for an emotion."""
    return SEED7.valence_class(emotion)


def arousal_class(emotion: str) -> str:
    """'high' or 'low' arousal for an emotion."""
    return SEED7.arousal_class(emotion)
