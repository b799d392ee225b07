"""The seven SEED-VII emotions, their valence/arousal coordinates and the words people use for them.

Everything that names an emotion imports it from here, so the label set is defined exactly once.
"""
from __future__ import annotations

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

#: SEED-VII's seven emotions, in the order used for integer labels everywhere.
EMOTIONS: tuple[str, ...] = ("happiness", "sadness", "fear", "disgust", "surprise", "anger", "neutral")

# Circumplex coordinates (Russell 1980), valence in [-1, 1] and arousal in [0, 1], rounded from typical
# self-report norms for film clips. They order clips for the comparison tasks; they are not per-clip ratings.
VALENCE: dict[str, float] = {
    "happiness": 0.8, "surprise": 0.3, "neutral": 0.0, "disgust": -0.6,
    "anger": -0.6, "fear": -0.7, "sadness": -0.7,
}
AROUSAL: dict[str, float] = {
    "fear": 0.85, "surprise": 0.8, "anger": 0.8, "happiness": 0.65,
    "disgust": 0.55, "sadness": 0.3, "neutral": 0.2,
}

#: Words an answer may use for each emotion (lower case). The answer parser maps them back.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "happiness": ("happiness", "happy", "joy", "joyful", "joyous", "delight", "amusement", "cheerful"),
    "sadness": ("sadness", "sad", "sorrow", "grief", "unhappy", "melancholy"),
    "fear": ("fear", "afraid", "scared", "fearful", "frightened", "terror", "anxious"),
    "disgust": ("disgust", "disgusted", "revulsion", "disgusting", "repulsed"),
    "surprise": ("surprise", "surprised", "astonishment", "amazed", "astonished"),
    "anger": ("anger", "angry", "rage", "furious", "irritated", "annoyed"),
    "neutral": ("neutral", "calm", "indifferent", "no emotion", "relaxed"),
}


def normalize_emotion(word: str) -> str:
    """Map an emotion word (any case, a synonym) to its canonical SEED-VII name.

    Raises
    ------
    ValueError
        If the word is not one of the seven emotions or their synonyms.
    """
    key = str(word).strip().lower()
    for emotion, words in SYNONYMS.items():
        if key in words:
            return emotion
    raise ValueError(f"unknown emotion {word!r}; expected one of {EMOTIONS} (or a common synonym such as 'happy')")


def emotion_index(word: str) -> int:
    """Integer label of an emotion word (position in :data:`EMOTIONS`)."""
    return EMOTIONS.index(normalize_emotion(word))


def valence_class(emotion: str) -> str:
    """'positive', 'neutral' or 'negative' for an emotion."""
    v = VALENCE[normalize_emotion(emotion)]
    return "positive" if v > 0.2 else "negative" if v < -0.2 else "neutral"


def arousal_class(emotion: str) -> str:
    """'high' or 'low' arousal for an emotion."""
    return "high" if AROUSAL[normalize_emotion(emotion)] > 0.5 else "low"
