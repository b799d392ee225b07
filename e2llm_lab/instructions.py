"""Instruction tasks, grounded chain-of-thought rationales, chat formatting and answer parsing.

Every rationale is built from the sample's *measured* region x band z-scores (features are z-scored against
the subject's own statistics) plus a small cited table of known associations, so each claim can be checked
against the features (:func:`check_claims`). Format::

    <think> Left temporal gamma is higher than usual (z = +1.4). This is linked to positive emotion (Zheng & Lu
    2015). Occipital alpha is lower than usual (z = -0.8). ... These match the happiness signature. </think>
    Emotion: happiness

The evidence is *discriminative*: it cites the deviations that separate the emotion from the others, judged
against :class:`EmotionSignatures` learned from the training subjects (each emotion's mean region x band
deviation), in the cap's fixed region order, each (region, band) once. The reasoning ends with the sentence that
decides the answer ("These match the fear signature."; for two or three clips, the comparison of their
emotions), so the answer line follows from the last step of the reasoning.

Some templates, and the whole ``scenario`` task family, are held out of training for zero-shot evaluation.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from .channels import REGION_NAMES, region_index, regions_present
from .config import DEFAULT_BANDS, band_names
from .emotions import AROUSAL, EMOTIONS, SYNONYMS, VALENCE, arousal_class, valence_class

__all__ = ["EEG_START", "EEG_TOKEN", "EEG_END", "SYSTEM_PROMPT", "ASSOCIATIONS", "TASKS", "TEMPLATES",
           "HELD_OUT_TEMPLATES", "SCENARIOS", "EVIDENCE_STYLES", "Example", "EmotionSignatures", "region_band_z",
           "evidence_items", "rationale", "fit_sentence", "decision_sentence", "is_held_out", "eeg_placeholder", "make_example",
           "make_examples", "answer_lines", "parse_answer", "check_claims", "corpus"]

EEG_START, EEG_TOKEN, EEG_END = "<|eeg_start|>", "<|eeg|>", "<|eeg_end|>"
SYSTEM_PROMPT = "You read EEG band-power evidence and explain the emotion it reflects."
_BANDS = band_names(DEFAULT_BANDS)            # the words a rationale may use for the feature axis

# (regions, band, direction, meaning, citation): what the affective-EEG literature links a change to.
ASSOCIATIONS: tuple[tuple[tuple[str, ...], str, int, str, str], ...] = (
    (("left_temporal", "right_temporal"), "gamma", +1, "positive emotion", "Zheng & Lu 2015"),
    (("left_temporal", "right_temporal"), "beta", +1, "positive emotion", "Zheng & Lu 2015"),
    (("left_temporal", "right_temporal"), "gamma", -1, "negative emotion", "Zheng & Lu 2015"),
    (("left_frontal",), "alpha", -1, "approach motivation, as in happiness or anger", "Davidson 1992"),
    (("right_frontal",), "alpha", -1, "withdrawal and negative affect", "Davidson 1992"),
    (("occipital", "left_parietal", "right_parietal"), "alpha", -1, "high arousal", "Barry et al. 2007"),
    (("occipital", "left_parietal", "right_parietal"), "alpha", +1, "a calm, low-arousal state", "Zheng et al. 2019"),
    (("prefrontal", "midline"), "theta", +1, "threat or novelty processing", "Cavanagh & Frank 2014"),
    (("right_parietal",), "beta", +1, "arousal", "Heller 1993"),
    (("left_central", "right_central"), "beta", +1, "motor readiness and tension", "Harmon-Jones 2004"),
)

#: Task families used in training. "scenario" is held out entirely (zero-shot).
TASKS = ("emotion", "valence_arousal", "compare", "rank", "describe")
TEMPLATES: dict[str, tuple[str, ...]] = {
    "emotion": ("EEG: {eeg}\nWhich emotion is the person feeling?",
                "Here is an EEG recording: {eeg}\nWhat emotion does it show?",
                "Read this EEG segment {eeg} and name the emotion.",
                "{eeg}\nClassify the emotion in this brain activity.",
                "Based on the EEG {eeg}, what is the viewer's emotion?",
                "Look at the EEG {eeg}. Which of the seven emotions fits best?"),
    "valence_arousal": ("EEG: {eeg}\nRate the valence and arousal.",
                        "Here is an EEG recording: {eeg}\nIs the feeling positive or negative, calm or aroused?",
                        "From the EEG {eeg}, give valence and arousal."),
    "compare": ("Clip A: {eeg}\nClip B: {eeg2}\nWhich clip is more {attr}?",
                "Two EEG recordings. A: {eeg} B: {eeg2} Which one is more {attr}?"),
    "rank": ("Clip A: {eeg}\nClip B: {eeg2}\nClip C: {eeg3}\nRank the clips from most to least {attr}.",),
    "describe": ("EEG: {eeg}\nDescribe the EEG evidence.",
                 "What stands out in this EEG recording? {eeg}"),
    "scenario": ("EEG: {eeg}\nWhich scene was the person most likely watching? {options}",
                 "Here is an EEG recording: {eeg}\nPick the scene that fits it: {options}"),
}
#: (task, template index) pairs never used in training.
HELD_OUT_TEMPLATES = {("emotion", 4), ("emotion", 5), ("valence_arousal", 2), ("describe", 1)}
SCENARIOS = {
    "happiness": "a stand-up comedy show", "sadness": "a farewell at a funeral", "fear": "a horror film chase",
    "disgust": "a close-up of rotting food", "surprise": "an unexpected magic trick",
    "anger": "a scene of cruel injustice", "neutral": "a documentary about office furniture",
}


def region_band_z(x: np.ndarray, ch_names) -> np.ndarray:
    """Region x band deviation of one sample (or a stack of samples).

    Parameters
    ----------
    x : np.ndarray, shape (T, C, F) or (N, T, C, F)
        Features z-scored against the subject's own statistics.
    ch_names : sequence of str

    Returns
    -------
    np.ndarray, shape (n_regions, n_bands) or (N, n_regions, n_bands)
        The mean over the sample's windows and each region's electrodes.
    """
    idx = region_index(ch_names)
    onehot = (idx[None, :] == np.arange(len(REGION_NAMES))[:, None]).astype(np.float64)     # (R, C)
    pool = onehot / np.maximum(onehot.sum(1, keepdims=True), 1)
    per_chan = np.asarray(x, dtype=np.float64).mean(axis=-3)                 # (..., T, C, F) -> (..., C, F)
    return np.einsum("rc,...cf->...rf", pool, per_chan)                      # (..., C, F) -> (..., R, F)


@dataclass(frozen=True)
class EmotionSignatures:
    """Each emotion's mean region x band deviation over training samples: what the rationales compare against.

    Attributes
    ----------
    mean : np.ndarray, shape (n_emotions, n_regions, n_bands)
        Class means of :func:`region_band_z` (class centroids), in :data:`EMOTIONS` order.
    within_sd : np.ndarray, shape (n_regions, n_bands)
        Pooled within-emotion standard deviation of each feature.
    present : np.ndarray of bool, shape (n_regions,), optional
        Regions with at least one electrode in the cap the signatures were learned on (default: all). Empty
        regions take no part in the similarity and are never cited.
    """

    mean: np.ndarray
    within_sd: np.ndarray
    present: np.ndarray | None = None

    def __post_init__(self):
        present = np.ones(self.mean.shape[1], bool) if self.present is None else np.asarray(self.present, bool)
        object.__setattr__(self, "present", present)

    @classmethod
    def fit(cls, fs, idx) -> EmotionSignatures:
        """Learn the signatures from FeatureSet rows ``idx`` (training subjects only: never pass test rows)."""
        idx = np.asarray(idx)
        z = region_band_z(fs.X[idx], fs.ch_names)                                # (N, R, F)
        y = np.array([EMOTIONS.index(e) for e in fs.meta.emotion.iloc[idx]])
        missing = [EMOTIONS[k] for k in range(len(EMOTIONS)) if not (y == k).any()]
        if missing:
            raise ValueError(f"cannot learn emotion signatures: no training sample of {missing}")
        mean = np.stack([z[y == k].mean(0) for k in range(len(EMOTIONS))])
        within = np.sqrt(np.mean([z[y == k].var(0) for k in range(len(EMOTIONS))], axis=0)) + 1e-6
        return cls(mean, within, regions_present(fs.ch_names))

    @property
    def contrast(self) -> np.ndarray:
        """Each emotion's signature minus the mean over emotions, shape (n_emotions, n_regions, n_bands)."""
        return self.mean - self.mean.mean(0)

    @property
    def discriminability(self) -> np.ndarray:
        """Between-emotion SD over within-emotion SD of each feature (an F-like ratio), shape (R, F)."""
        return self.mean.std(0) / self.within_sd

    def similarity(self, z: np.ndarray) -> np.ndarray:
        """Pearson correlation of deviations ``z`` (shape (R, F) or (N, R, F)) with each emotion's contrast.

        Returns shape (n_emotions,) or (N, n_emotions). Its argmax is a nearest-signature classifier.
        """
        z = np.asarray(z, dtype=np.float64)[..., self.present, :]              # empty regions take no part
        zz = z.reshape(*z.shape[:-2], -1)
        zz = zz - zz.mean(-1, keepdims=True)
        cc = self.contrast[:, self.present].reshape(len(EMOTIONS), -1)
        cc = cc - cc.mean(-1, keepdims=True)
        num = zz @ cc.T
        return num / np.maximum(np.linalg.norm(zz, axis=-1, keepdims=True) * np.linalg.norm(cc, axis=-1), 1e-12)

    def agreement(self, emotion: str, region: str, band: str, direction: int) -> bool:
        """Does a deviation in ``direction`` (+1 higher, -1 lower) agree with ``emotion``'s signature?"""
        c = self.contrast[EMOTIONS.index(emotion), REGION_NAMES.index(region), _BANDS.index(band)]
        return bool(np.sign(c) == direction)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "within_sd": self.within_sd.tolist(), "emotions": list(EMOTIONS),
                "present": self.present.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> EmotionSignatures:
        if tuple(d.get("emotions", EMOTIONS)) != EMOTIONS:
            raise ValueError(f"signatures were learned for emotions {d['emotions']}, expected {EMOTIONS}")
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["within_sd"], dtype=np.float64),
                   None if d.get("present") is None else np.asarray(d["present"], bool))


#: How evidence is chosen: "discriminative" cites deviations that agree with the answer emotion's signature;
#: "salient" cites the largest deviations weighted by how well each feature separates emotions (label-free).
EVIDENCE_STYLES = ("discriminative", "salient")


def _pretty(region: str) -> str:
    return region.replace("_", " ")


def evidence_items(z: np.ndarray, *, emotion: str | None = None, signatures: EmotionSignatures | None = None,
                   k: int = 3, threshold: float = 0.3, style: str = "discriminative",
                   present=None) -> list[tuple[str, str, float]]:
    """The evidence one rationale cites: up to ``k`` (region, band, z) items, in the cap's region order.

    Parameters
    ----------
    z : np.ndarray, shape (n_regions, n_bands)
        The sample's measured deviations (:func:`region_band_z`).
    emotion : str, optional
        The emotion the reasoning arrives at (style "discriminative").
    signatures : EmotionSignatures, optional
        Without them (or without ``emotion``) the items are the ``k`` largest ``|z|``.
    threshold : float
        Only deviations with ``|z| >= threshold`` are cited.
    style : {"discriminative", "salient"}
    present : np.ndarray of bool, shape (n_regions,), optional
        Regions the cap has electrodes in (:func:`~e2llm_lab.channels.regions_present`); default the signatures'
        own, else all. Empty regions are never cited.

    Returns
    -------
    list of (region, band, z)
        Each (region, band) at most once, sorted by region then band, so a reasoning never repeats a claim.
    """
    if style not in EVIDENCE_STYLES:
        raise ValueError(f"style={style!r}; allowed: {EVIDENCE_STYLES}")
    z = np.asarray(z, dtype=np.float64)
    if signatures is None:
        score = np.abs(z)
    elif style == "discriminative" and emotion is not None:
        score = z * signatures.contrast[EMOTIONS.index(emotion)] / signatures.within_sd    # > 0: agrees
    else:
        score = np.abs(z) * signatures.discriminability
    if present is None:
        present = signatures.present if signatures is not None else np.ones(z.shape[0], bool)
    score = np.where((np.abs(z) >= threshold) & np.asarray(present, bool)[:, None], score, -np.inf)
    order = np.argsort(-score, axis=None)[:k]
    picked = sorted(np.unravel_index(f, z.shape) for f in order if score.flat[f] > 0)
    return [(REGION_NAMES[r], _BANDS[b], float(z[r, b])) for r, b in picked]


def _evidence_sentences(items) -> list[str]:
    out, cited = [], set()
    for region, band, value in items:
        word = "higher" if value > 0 else "lower"
        out.append(f"{_pretty(region).capitalize()} {band} is {word} than usual (z = {value:+.1f}).")
        for regions, a_band, direction, meaning, cite in ASSOCIATIONS:
            if region in regions and band == a_band and np.sign(value) == direction:
                if meaning not in cited:                     # each association once per reasoning
                    out.append(f"This is linked to {meaning} ({cite}).")
                    cited.add(meaning)
                break
    return out or ["No region or band departs clearly from this person's usual activity."]


def rationale(z: np.ndarray, *, emotion: str | None = None, signatures: EmotionSignatures | None = None,
              k: int = 3, style: str = "discriminative", present=None) -> str:
    """Evidence sentences for one sample's region x band z-scores (see :func:`evidence_items`)."""
    return " ".join(_evidence_sentences(evidence_items(z, emotion=emotion, signatures=signatures, k=k, style=style,
                                                       present=present)))


def fit_sentence(z: np.ndarray, signatures: EmotionSignatures, *, top: int = 2) -> str:
    """The measured comparison with the learned signatures: the ``top`` closest emotions and their correlations."""
    r = signatures.similarity(z)
    best = np.argsort(-r)[:top]
    listed = ", ".join(f"{EMOTIONS[k]} (r = {r[k]:+.2f})" for k in best)
    return f"Closest learned signature{'s' if top > 1 else ''}: {listed}."


def decision_sentence(emotion: str) -> str:
    """The sentence that closes a one-clip reasoning and decides its answer."""
    return f"These match the {emotion} signature."


def is_held_out(task: str, template: int) -> bool:
    """True for the templates and task families never used in training (zero-shot evaluation)."""
    return task == "scenario" or (task, template) in HELD_OUT_TEMPLATES


def eeg_placeholder(n_tokens: int) -> str:
    """The text standing for one EEG segment: start marker, ``n_tokens`` placeholders, end marker."""
    return EEG_START + EEG_TOKEN * n_tokens + EEG_END


@dataclass
class Example:
    """One instruction example: a user prompt with EEG placeholders, the target answer, and its EEG rows."""

    task: str
    template: int
    prompt: str
    answer: str
    eeg_rows: list[int]                 # FeatureSet row per EEG segment, in placeholder order
    truth: dict = field(default_factory=dict)


def _letters(n):
    return "ABC"[:n]


def make_example(task: str, rows: list[int], fs, rng: np.random.Generator, *, n_eeg_tokens: int,
                 template: int | None = None, zero_shot: bool = False,
                 signatures: EmotionSignatures | None = None, style: str = "discriminative") -> Example:
    """Build one example of ``task`` from FeatureSet rows (one row per EEG segment).

    ``zero_shot=False`` draws only training templates; ``True`` only held-out ones. ``signatures`` choose the
    evidence (:func:`evidence_items`); they must come from training subjects.
    """
    pool = [i for i in range(len(TEMPLATES[task])) if is_held_out(task, i) == zero_shot]
    if not pool:
        raise ValueError(f"task {task!r} has no {'held-out' if zero_shot else 'training'} templates")
    t = int(rng.choice(pool)) if template is None else template
    ph = eeg_placeholder(n_eeg_tokens)
    emotions = [fs.meta.emotion.iloc[r] for r in rows]
    zs = [region_band_z(fs.X[r], fs.ch_names) for r in rows]
    present = regions_present(fs.ch_names)                    # a smaller cap: its empty regions are never cited
    fill = {"eeg": ph, "eeg2": ph, "eeg3": ph}
    truth: dict = {"emotions": emotions}

    def think(i: int, k: int = 3, top: int = 2) -> str:
        ev = rationale(zs[i], emotion=emotions[i], signatures=signatures, k=k, style=style, present=present)
        return ev if signatures is None else f"{fit_sentence(zs[i], signatures, top=top)} {ev}"

    if task == "emotion":
        answer = f"<think> {think(0)} {decision_sentence(emotions[0])} </think>\nEmotion: {emotions[0]}"
        truth["emotion"] = emotions[0]
    elif task == "valence_arousal":
        v, a = valence_class(emotions[0]), arousal_class(emotions[0])
        answer = (f"<think> {think(0)} {decision_sentence(emotions[0])} So valence is {v} and arousal {a}. "
                  f"</think>\nValence: {v}\nArousal: {a}")
        truth.update(valence=v, arousal=a)
    elif task in ("compare", "rank"):
        attr = str(rng.choice(["positive", "aroused"]))
        score = VALENCE if attr == "positive" else AROUSAL
        fill["attr"] = attr
        names = _letters(len(rows))
        clips = " ".join(f"Clip {n}: {think(i, k=1, top=1)} It matches {emotions[i]}." for i, n in enumerate(names))
        order = sorted(range(len(rows)), key=lambda i: -score[emotions[i]])
        ranked = " > ".join(f"{emotions[i]} ({names[i]})" for i in order)
        decide = f"From most to least {attr}: {ranked}."
        if task == "compare":
            answer = f"<think> {clips} {decide} </think>\nAnswer: Clip {names[order[0]]}"
            truth["choice"] = names[order[0]]
        else:
            answer = f"<think> {clips} {decide} </think>\nAnswer: " + " > ".join(names[i] for i in order)
            truth["ranking"] = "".join(names[i] for i in order)
        truth["attr"] = attr
    elif task == "describe":
        answer = rationale(zs[0], signatures=signatures, k=4, style="salient", present=present)
    elif task == "scenario":
        options = list(rng.permutation(EMOTIONS)[:4])
        if emotions[0] not in options:
            options[int(rng.integers(4))] = emotions[0]
        fill["options"] = " ".join(f"({chr(97 + i)}) {SCENARIOS[e]}" for i, e in enumerate(options))
        letter = chr(97 + options.index(emotions[0]))
        answer = f"<think> {think(0)} {decision_sentence(emotions[0])} </think>\nAnswer: ({letter}) {SCENARIOS[emotions[0]]}"
        truth.update(choice=letter, options=options)
    else:
        raise ValueError(f"unknown task {task!r}; allowed: {TASKS + ('scenario',)}")
    return Example(task, t, TEMPLATES[task][t].format(**fill), answer, list(rows), truth)


def make_examples(fs, idx, *, tasks=TASKS, n_per_task: int | dict = 200, n_eeg_tokens: int, seed: int = 0,
                  zero_shot: bool = False, signatures: EmotionSignatures | None = None,
                  style: str = "discriminative") -> list[Example]:
    """Draw examples from FeatureSet rows ``idx`` (comparison tasks pair clips of different emotions).

    Without ``signatures`` they are learned from ``idx`` itself, which is right for training rows only; to build
    reference answers for test rows, pass the signatures of the training subjects.
    """
    rng = np.random.default_rng(seed)
    idx = np.asarray(idx)
    emo = fs.meta.emotion.to_numpy()
    if signatures is None:
        signatures = EmotionSignatures.fit(fs, idx)
    out = []
    for task in tasks:
        n = n_per_task[task] if isinstance(n_per_task, dict) else n_per_task
        k = {"compare": 2, "rank": 3}.get(task, 1)
        for _ in range(n):
            if k == 1:
                rows = [int(rng.choice(idx))]
            else:   # clips whose valences and arousals all differ, so either question has one answer
                while True:
                    rows = [int(r) for r in rng.choice(idx, k, replace=False)]
                    if len({VALENCE[emo[r]] for r in rows}) == k and len({AROUSAL[emo[r]] for r in rows}) == k:
                        break
            out.append(make_example(task, rows, fs, rng, n_eeg_tokens=n_eeg_tokens, zero_shot=zero_shot,
                                    signatures=signatures, style=style))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def answer_lines(ex: Example) -> list[str]:
    """Every well-formed answer line of ``ex``'s task (for constrained decoding); [] where the answer is free text."""
    if ex.task == "emotion":
        return [f"\nEmotion: {e}" for e in EMOTIONS]
    if ex.task == "valence_arousal":
        return [f"\nValence: {v}\nArousal: {a}" for v in ("positive", "neutral", "negative") for a in ("high", "low")]
    if ex.task == "compare":
        return [f"\nAnswer: Clip {n}" for n in _letters(len(ex.eeg_rows))]
    if ex.task == "rank":
        return ["\nAnswer: " + " > ".join(p) for p in itertools.permutations(_letters(len(ex.eeg_rows)))]
    if ex.task == "scenario":       # the option restated (cloze form), so its words can be scored, not a bare letter
        return [f"\nAnswer: ({chr(97 + i)}) {SCENARIOS[e]}" for i, e in enumerate(ex.truth["options"])]
    return []


# -- parsing ------------------------------------------------------------------------------------------------

_WORD = {w: e for e, ws in SYNONYMS.items() for w in ws}
# A claim starts a sentence (or follows "Clip A:"), so "Left occipital gamma" is no claim about occipital.
_CLAIM = re.compile(r"(?:^|[.:>])\s*(" + "|".join(sorted((_pretty(r) for r in REGION_NAMES), key=len, reverse=True)) + r")\s+("
                    + "|".join(_BANDS) + r")\s+is\s+(higher|lower)", re.IGNORECASE)


def parse_answer(text: str) -> dict:
    """Parse a generated answer without guessing.

    Returns a dict with ``emotion``, ``valence``, ``arousal``, ``choice`` (letter) and ``ranking`` where found
    (None otherwise), ``think`` (the reasoning, or None if the block is missing), and ``parsed`` (False when the
    requested field could not be read; callers count those as unparseable, never as a guess).
    """
    out = {"emotion": None, "valence": None, "arousal": None, "choice": None, "ranking": None, "think": None}
    m = re.search(r"<think>(.*?)</think>", text, re.S)
    if m:
        out["think"] = m.group(1).strip()
    tail = text[m.end():] if m else text
    e = re.search(r"emotion\s*:\s*([A-Za-z ]+)", tail, re.IGNORECASE)
    if e:
        words = e.group(1).strip().lower()
        out["emotion"] = _WORD.get(words) or next((_WORD[w] for w in words.split() if w in _WORD), None)
    v = re.search(r"valence\s*:\s*(positive|negative|neutral)", tail, re.IGNORECASE)
    a = re.search(r"arousal\s*:\s*(high|low)", tail, re.IGNORECASE)
    out["valence"] = v.group(1).lower() if v else None
    out["arousal"] = a.group(1).lower() if a else None
    r = re.search(r"answer\s*:\s*([ABC])\s*>\s*([ABC])\s*>\s*([ABC])", tail, re.IGNORECASE)
    if r:
        out["ranking"] = "".join(x.upper() for x in r.groups())
    c = re.search(r"answer\s*:\s*(?:clip\s*)?\(?([A-Ga-g])\)?\b", tail, re.IGNORECASE)
    if c and not r:
        letter = c.group(1)
        out["choice"] = letter.upper() if letter.upper() in "ABC" and "clip" in c.group(0).lower() else letter.lower()
    out["parsed"] = any(out[k] is not None for k in ("emotion", "valence", "arousal", "choice", "ranking"))
    return out


def check_claims(text: str, z: np.ndarray, *, min_abs: float = 0.2) -> dict:
    """Check each "<region> <band> is higher/lower" claim of a text against a sample's measured z-scores.

    Returns
    -------
    dict with ``n_claims``, ``n_supported`` (the measured deviation has the claimed sign and ``|z| >= min_abs``)
    and ``claims`` (list of (region, band, direction, measured z, supported)).
    """
    claims = []
    for region, band, word in _CLAIM.findall(text):
        r = REGION_NAMES.index(region.lower().replace(" ", "_"))
        value = float(z[r, _BANDS.index(band.lower())])
        ok = (value >= min_abs) if word.lower() == "higher" else (value <= -min_abs)
        claims.append((region.lower(), band.lower(), word.lower(), value, ok))
    return {"n_claims": len(claims), "n_supported": sum(c[-1] for c in claims), "claims": claims}


def corpus(fs, idx, *, n_per_task: int = 150, seed: int = 0, n_eeg_tokens: int = 12) -> list[str]:
    """Plain texts (prompts and answers of rows ``idx``) for training the tiny model's tokenizer.

    The held-out ``scenario`` family is not among them: its scenes come from :mod:`~e2llm_lab.knowledge`.
    """
    texts = [SYSTEM_PROMPT]
    for ex in make_examples(fs, idx, n_per_task=n_per_task, n_eeg_tokens=n_eeg_tokens, seed=seed):
        texts += [ex.prompt, ex.answer]
    return texts
