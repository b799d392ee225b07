import pytest

from e2llm_lab.emotions import EMOTIONS, arousal_class, emotion_index, normalize_emotion, valence_class


def test_seven_emotions_defined_once():
    assert EMOTIONS == ("happiness", "sadness", "fear", "disgust", "surprise", "anger", "neutral")


@pytest.mark.parametrize("word,expected", [("Happy", "happiness"), (" JOY ", "happiness"), ("scared", "fear"),
                                           ("angry", "anger"), ("Neutral", "neutral")])
def test_synonyms(word, expected):
    assert normalize_emotion(word) == expected


def test_unknown_emotion_raises():
    with pytest.raises(ValueError, match="boredom"):
        normalize_emotion("boredom")


def test_valence_arousal_classes():
    assert valence_class("happiness") == "positive" and valence_class("fear") == "negative"
    assert valence_class("neutral") == "neutral"
    assert arousal_class("fear") == "high" and arousal_class("sadness") == "low"
    assert emotion_index("sad") == 1
