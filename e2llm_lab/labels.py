"""Label spaces: the emotion labels of a dataset, travelling with its FeatureSet and with every model trained on it.

A :class:`LabelSpace` holds the label names in order (the integer label of a sample is its position), and what
a dataset may or may not know about them: valence/arousal coordinates (for the "more positive / more aroused"
comparisons), synonyms (for reading answers), scene descriptions (for the zero-shot scenario family). Tasks that
need what a space lacks are left out (:meth:`LabelSpace.unsupported`), never crashed into.

Built-ins (:data:`LABEL_SPACES`): SEED-VII's seven emotions (the default), SEED, SEED-IV, SEED-V, FACED and the
valence x arousal quadrants of rating datasets (DEAP, DREAMER; :func:`quadrant_label`). Your own:
``LabelSpace.from_names(["calm", "stressed"])``.

Coordinates are circumplex placements (Russell 1980): valence in [-1, 1], arousal in [0, 1], rounded from typical
self-report norms for film clips. They order clips for the comparison tasks; they are not per-clip ratings.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LabelSpace", "LabelSpaceError", "LABEL_SPACES", "SEED7", "SEED", "SEED4", "SEED5", "FACED",
           "VA_QUADRANTS", "GAMEEMO", "get_label_space", "quadrant_label", "TASK_NEEDS"]


class LabelSpaceError(ValueError):
    """Data or a model of one label space met another, or a label outside its space."""


#: What each task family needs of a label space (checked by :meth:`LabelSpace.unsupported`).
TASK_NEEDS = {"emotion": "", "describe": "", "valence_arousal": "valence and arousal coordinates",
              "compare": "valence or arousal coordinates", "rank": "valence or arousal coordinates",
              "scenario": "scene descriptions"}


def _frozen_map(d) -> tuple | None:
    return None if d is None else tuple((str(k), v) for k, v in dict(d).items())


@dataclass(frozen=True)
class LabelSpace:
    """The labels of a dataset, in order, with what is known about them.

    Parameters
    ----------
    name : str
        Short name (``"seed7"``, ``"faced"``, ``"custom"``); shown in errors and saved with data and models.
    labels : tuple of str
        Canonical label names in integer-label order (lower case, as answers write them).
    valence, arousal : dict of str -> float, optional
        Circumplex coordinates per label (valence in [-1, 1], arousal in [0, 1]); every label or none.
    synonyms : dict of str -> tuple of str, optional
        Other words an answer may use for a label (the label itself always counts).
    scenes : dict of str -> str, optional
        A short scene that typically evokes each label (the zero-shot scenario family); every label or none.
    """

    name: str
    labels: tuple
    valence: tuple | None = None
    arousal: tuple | None = None
    synonyms: tuple | None = None
    scenes: tuple | None = None
    _words: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        labels = tuple(str(x).strip().lower() for x in self.labels)
        if len(labels) < 2:
            raise LabelSpaceError(f"label space {self.name!r} needs at least 2 labels, got {labels}")
        if len(set(labels)) != len(labels):
            raise LabelSpaceError(f"label space {self.name!r} lists a label twice: {labels}")
        object.__setattr__(self, "labels", labels)
        for attr in ("valence", "arousal", "synonyms", "scenes"):
            value = _frozen_map(getattr(self, attr))
            if value is not None:
                keys = {k.strip().lower() for k, _ in value}
                if keys != set(labels):
                    raise LabelSpaceError(f"label space {self.name!r}: {attr} must cover exactly the labels "
                                          f"{labels}; missing {sorted(set(labels) - keys)}, extra "
                                          f"{sorted(keys - set(labels))}")
                value = tuple((k.strip().lower(), v) for k, v in value)
            object.__setattr__(self, attr, value)
        words = {}
        for lab in labels:
            for w in (lab, *self.synonyms_of(lab)):
                w = str(w).strip().lower()
                if words.get(w, lab) != lab:
                    raise LabelSpaceError(f"label space {self.name!r}: the word {w!r} stands for both "
                                          f"{words[w]!r} and {lab!r}")
                words[w] = lab
        object.__setattr__(self, "_words", words)

    # -- construction ------------------------------------------------------------------------------------
    @classmethod
    def from_names(cls, names, *, name: str = "custom", valence=None, arousal=None, synonyms=None,
                   scenes=None) -> LabelSpace:
        """A user-defined space from label names (coordinates, synonyms and scenes optional)."""
        return cls(name, tuple(names), valence, arousal, synonyms, scenes)

    def to_dict(self) -> dict:
        """JSON-ready form (saved with FeatureSets and checkpoints)."""
        return {"name": self.name, "labels": list(self.labels),
                **{k: (None if getattr(self, k) is None else dict(getattr(self, k)))
                   for k in ("valence", "arousal", "scenes")},
                "synonyms": None if self.synonyms is None else {k: list(v) for k, v in self.synonyms}}

    @classmethod
    def from_dict(cls, d: dict) -> LabelSpace:
        try:
            syn = d.get("synonyms")
            return cls(d["name"], tuple(d["labels"]), d.get("valence"), d.get("arousal"),
                       None if syn is None else {k: tuple(v) for k, v in syn.items()}, d.get("scenes"))
        except (KeyError, TypeError, AttributeError) as err:
            raise LabelSpaceError(f"not a label space description ({err!r}): {str(d)[:200]}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> LabelSpace:
        return cls.from_dict(json.loads(text))

    # -- lookups -----------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self):
        return iter(self.labels)

    def __contains__(self, label) -> bool:
        return isinstance(label, str) and label in self.labels

    def synonyms_of(self, label: str) -> tuple[str, ...]:
        return dict(self.synonyms or ()).get(label, ())

    @property
    def words(self) -> dict[str, str]:
        """Every word an answer may use (lower case) -> its canonical label."""
        return dict(self._words)

    def normalize(self, word) -> str:
        """Map a label word (any case, a synonym) to its canonical label; :class:`LabelSpaceError` otherwise."""
        key = str(word).strip().lower()
        if key in self._words:
            return self._words[key]
        raise LabelSpaceError(f"{word!r} is not a label of the {self.name!r} label space; expected one of "
                              f"{self.labels}")

    def lookup(self, word) -> str | None:
        """The canonical label a word stands for, or None (a missing value or an unknown word)."""
        if not isinstance(word, str):
            return None
        return self._words.get(word.strip().lower())

    def index(self, word) -> int:
        """Integer label of a label word."""
        return self.labels.index(self.normalize(word))

    def indices(self, values) -> np.ndarray:
        """Integer labels of predictions: label words, integer labels, or a missing value -> -1.

        Missing values are None *and* NaN (pandas 3 stores an unparsed answer as NaN) or any unknown word; a
        prediction that cannot be read counts as wrong, never as a crash.
        """
        out = []
        for v in list(values):
            if isinstance(v, str):
                lab = self.lookup(v)
                out.append(-1 if lab is None else self.labels.index(lab))
            elif v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
                out.append(-1)
            elif isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()):
                out.append(int(v) if 0 <= int(v) < len(self) else -1)
            else:
                out.append(-1)
        return np.asarray(out, dtype=np.int64)

    # -- coordinates -------------------------------------------------------------------------------------
    @property
    def has_valence(self) -> bool:
        return self.valence is not None

    @property
    def has_arousal(self) -> bool:
        return self.arousal is not None

    @property
    def has_scenes(self) -> bool:
        return self.scenes is not None

    def valence_of(self, label: str) -> float:
        if self.valence is None:
            return float("nan")
        return float(dict(self.valence)[self.normalize(label)])

    def arousal_of(self, label: str) -> float:
        if self.arousal is None:
            return float("nan")
        return float(dict(self.arousal)[self.normalize(label)])

    def scene_of(self, label: str) -> str:
        if self.scenes is None:
            raise LabelSpaceError(f"label space {self.name!r} has no scene descriptions")
        return dict(self.scenes)[self.normalize(label)]

    def valence_class(self, label: str) -> str:
        """'positive', 'neutral' or 'negative'."""
        v = self.valence_of(label)
        return "positive" if v > 0.2 else "negative" if v < -0.2 else "neutral"

    def arousal_class(self, label: str) -> str:
        """'high' or 'low'."""
        return "high" if self.arousal_of(label) > 0.5 else "low"

    def attributes(self) -> tuple[str, ...]:
        """The comparison attributes this space supports: "positive" (valence), "aroused" (arousal)."""
        return tuple(a for a, ok in (("positive", self.has_valence), ("aroused", self.has_arousal)) if ok)

    def score(self, attr: str) -> dict[str, float]:
        """Label -> coordinate for a comparison attribute ("positive" or "aroused")."""
        table = {"positive": self.valence, "aroused": self.arousal}.get(attr)
        if table is None:
            raise LabelSpaceError(f"label space {self.name!r} has no coordinate for {attr!r}; it supports "
                                  f"{self.attributes() or 'no comparisons'}")
        return dict(table)

    # -- tasks ---------------------------------------------------------------------------------------------
    def unsupported(self, task: str) -> str | None:
        """Why ``task`` cannot be asked in this space (one line), or None when it can."""
        if task not in TASK_NEEDS:
            raise ValueError(f"unknown task {task!r}; allowed: {tuple(TASK_NEEDS)}")
        lacking = {"valence_arousal": not (self.has_valence and self.has_arousal),
                   "compare": not self.attributes(), "rank": not self.attributes(),
                   "scenario": not self.has_scenes}.get(task, False)
        if lacking:
            return f"task {task!r} left out: the {self.name!r} label space has no {TASK_NEEDS[task]}"
        if task == "rank" and len(self) < 3:
            return f"task 'rank' left out: the {self.name!r} label space has fewer than 3 labels"
        return None

    def supported(self, tasks) -> tuple[tuple[str, ...], list[str]]:
        """Split ``tasks`` into those this space supports and one line per task left out."""
        reasons = [(t, self.unsupported(t)) for t in tasks]
        return tuple(t for t, r in reasons if r is None), [r for _, r in reasons if r is not None]

    def check_same(self, other: LabelSpace, *, what: str = "data", against: str = "the model") -> None:
        """Raise :class:`LabelSpaceError` naming both spaces unless ``other`` has the same labels in order."""
        if other.labels != self.labels:
            raise LabelSpaceError(f"{what} use the {other.name!r} label space {other.labels} but {against} was "
                                  f"trained on the {self.name!r} label space {self.labels}; train a model on this "
                                  f"label space (e2llm-lab quickstart --features ...) or relabel the data")

    def __str__(self) -> str:
        return f"{self.name} ({len(self)} labels: {', '.join(self.labels)})"


# -- built-in spaces ---------------------------------------------------------------------------------------

SEED7 = LabelSpace(
    "seed7", ("happiness", "sadness", "fear", "disgust", "surprise", "anger", "neutral"),
    valence={"happiness": 0.8, "surprise": 0.3, "neutral": 0.0, "disgust": -0.6, "anger": -0.6, "fear": -0.7,
             "sadness": -0.7},
    arousal={"fear": 0.85, "surprise": 0.8, "anger": 0.8, "happiness": 0.65, "disgust": 0.55, "sadness": 0.3,
             "neutral": 0.2},
    synonyms={"happiness": ("happy", "joy", "joyful", "joyous", "delight", "amusement", "cheerful"),
              "sadness": ("sad", "sorrow", "grief", "unhappy", "melancholy"),
              "fear": ("afraid", "scared", "fearful", "frightened", "terror", "anxious"),
              "disgust": ("disgusted", "revulsion", "disgusting", "repulsed"),
              "surprise": ("surprised", "astonishment", "amazed", "astonished"),
              "anger": ("angry", "rage", "furious", "irritated", "annoyed"),
              "neutral": ("calm", "indifferent", "no emotion", "relaxed")},
    scenes={"happiness": "a stand-up comedy show", "sadness": "a farewell at a funeral",
            "fear": "a horror film chase", "disgust": "a close-up of rotting food",
            "surprise": "an unexpected magic trick", "anger": "a scene of cruel injustice",
            "neutral": "a documentary about office furniture"})

# SEED (Zheng & Lu 2015): film clips rated negative / neutral / positive; no arousal axis in its design.
SEED = LabelSpace(
    "seed", ("negative", "neutral", "positive"),
    valence={"negative": -0.7, "neutral": 0.0, "positive": 0.7},
    synonyms={"negative": ("unpleasant", "sad", "sadness", "bad"), "neutral": ("calm", "no emotion", "indifferent"),
              "positive": ("pleasant", "happy", "happiness", "joy", "good")},
    scenes={"negative": "a farewell at a funeral", "neutral": "a documentary about office furniture",
            "positive": "a stand-up comedy show"})

# SEED-IV (Zheng et al. 2019): label codes 0 neutral, 1 sad, 2 fear, 3 happy.
SEED4 = LabelSpace(
    "seed4", ("neutral", "sad", "fear", "happy"),
    valence={"neutral": 0.0, "sad": -0.7, "fear": -0.7, "happy": 0.8},
    arousal={"neutral": 0.2, "sad": 0.3, "fear": 0.85, "happy": 0.65},
    synonyms={"neutral": ("calm", "no emotion", "indifferent"), "sad": ("sadness", "sorrow", "grief", "unhappy"),
              "fear": ("afraid", "scared", "fearful", "frightened"), "happy": ("happiness", "joy", "joyful")},
    scenes={"neutral": "a documentary about office furniture", "sad": "a farewell at a funeral",
            "fear": "a horror film chase", "happy": "a stand-up comedy show"})

# SEED-V (Liu et al. 2021): label codes 0 disgust, 1 fear, 2 sad, 3 neutral, 4 happy.
SEED5 = LabelSpace(
    "seed5", ("disgust", "fear", "sad", "neutral", "happy"),
    valence={"disgust": -0.6, "fear": -0.7, "sad": -0.75, "neutral": 0.0, "happy": 0.8},
    arousal={"disgust": 0.55, "fear": 0.85, "sad": 0.3, "neutral": 0.2, "happy": 0.65},
    synonyms={"disgust": ("disgusted", "revulsion", "repulsed"), "fear": ("afraid", "scared", "fearful"),
              "sad": ("sadness", "sorrow", "grief", "unhappy"), "neutral": ("calm", "no emotion", "indifferent"),
              "happy": ("happiness", "joy", "joyful")},
    scenes={"disgust": "a close-up of rotting food", "fear": "a horror film chase", "sad": "a farewell at a funeral",
            "neutral": "a documentary about office furniture", "happy": "a stand-up comedy show"})

# FACED (Chen et al. 2023): 9 categories, codes 0..8 in this order; four positive emotions SEED-VII lacks.
FACED = LabelSpace(
    "faced", ("anger", "disgust", "fear", "sadness", "neutral", "amusement", "inspiration", "joy", "tenderness"),
    valence={"anger": -0.55, "disgust": -0.6, "fear": -0.7, "sadness": -0.75, "neutral": 0.0, "amusement": 0.65,
             "inspiration": 0.55, "joy": 0.8, "tenderness": 0.6},
    arousal={"anger": 0.8, "disgust": 0.55, "fear": 0.85, "sadness": 0.3, "neutral": 0.2, "amusement": 0.6,
             "inspiration": 0.5, "joy": 0.7, "tenderness": 0.35},
    synonyms={"anger": ("angry", "rage", "furious"), "disgust": ("disgusted", "revulsion"),
              "fear": ("afraid", "scared", "fearful"), "sadness": ("sad", "sorrow", "grief"),
              "neutral": ("calm", "no emotion"), "amusement": ("amused", "funny", "humour", "humor"),
              "inspiration": ("inspired", "awe", "uplifted"), "joy": ("joyful", "happy", "happiness"),
              "tenderness": ("tender", "warmth", "affection")},
    scenes={"anger": "a scene of cruel injustice", "disgust": "a close-up of rotting food",
            "fear": "a horror film chase", "sadness": "a farewell at a funeral",
            "neutral": "a documentary about office furniture", "amusement": "a stand-up comedy show",
            "inspiration": "an athlete finishing a marathon against the odds",
            "joy": "a family reunion at an airport", "tenderness": "a parent rocking a sleeping baby"})

# Rating datasets (DEAP, DREAMER): quadrants of the valence x arousal plane (Russell 1980).
VA_QUADRANTS = LabelSpace(
    "va_quadrants", ("excited", "calm", "tense", "sad"),
    valence={"excited": 0.7, "calm": 0.6, "tense": -0.6, "sad": -0.7},
    arousal={"excited": 0.8, "calm": 0.2, "tense": 0.75, "sad": 0.25},
    synonyms={"excited": ("hvha", "high valence high arousal", "elated", "enthusiastic"),
              "calm": ("hvla", "high valence low arousal", "relaxed", "content", "serene"),
              "tense": ("lvha", "low valence high arousal", "stressed", "distressed", "nervous"),
              "sad": ("lvla", "low valence low arousal", "sadness", "depressed", "bored")},
    scenes={"excited": "a last-second winning goal in a final", "calm": "a quiet sunset over a lake",
            "tense": "a horror film chase", "sad": "a farewell at a funeral"})

# GAMEEMO (Alakus et al. 2020): four computer games chosen for their emotion. The dataset's design puts boring and
# horror at negative valence, calm and funny at positive, horror and funny at high arousal.
GAMEEMO = LabelSpace(
    "gameemo", ("boring", "calm", "horror", "funny"),
    valence={"boring": -0.4, "calm": 0.5, "horror": -0.6, "funny": 0.7},
    arousal={"boring": 0.15, "calm": 0.25, "horror": 0.85, "funny": 0.75},
    synonyms={"boring": ("bored", "boredom", "dull", "tedious"), "calm": ("calmness", "relaxed", "peaceful"),
              "horror": ("fear", "scared", "afraid", "frightened"), "funny": ("fun", "amused", "amusement", "joy")},
    scenes={"boring": "waiting in a long queue with nothing to do", "calm": "a quiet sunset over a lake",
            "horror": "a horror film chase", "funny": "a stand-up comedy show"})

#: Built-in label spaces by name.
LABEL_SPACES: dict[str, LabelSpace] = {s.name: s for s in (SEED7, SEED, SEED4, SEED5, FACED, VA_QUADRANTS,
                                                            GAMEEMO)}


def get_label_space(name_or_space) -> LabelSpace:
    """A built-in space by name (or a LabelSpace, returned as is)."""
    if isinstance(name_or_space, LabelSpace):
        return name_or_space
    if name_or_space not in LABEL_SPACES:
        raise ValueError(f"label space {name_or_space!r}; built-in: {tuple(LABEL_SPACES)} "
                         f"(or LabelSpace.from_names([...]) for your own)")
    return LABEL_SPACES[name_or_space]


def quadrant_label(valence, arousal, *, threshold: float | tuple[float, float] = 5.0) -> str:
    """The :data:`VA_QUADRANTS` label of a (valence, arousal) rating pair.

    A rating above ``threshold`` counts as high (DEAP's 1-9 scale: 5, its midpoint; DREAMER's 1-5: 3). Pass a
    pair for separate valence and arousal thresholds.
    """
    tv, ta = (threshold, threshold) if np.isscalar(threshold) else threshold
    if not (np.isfinite(valence) and np.isfinite(arousal)):
        raise LabelSpaceError(f"rating ({valence}, {arousal}) is not a number")
    high_v, high_a = float(valence) > tv, float(arousal) > ta
    return {(True, True): "excited", (True, False): "calm", (False, True): "tense", (False, False): "sad"}[
        (high_v, high_a)]
