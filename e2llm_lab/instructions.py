"""Instruction tasks, grounded chain-of-thought rationales, chat formatting and answer parsing.

Every rationale is built from the sample's *measured* region x band z-scores (features are z-scored against
the subject's own statistics) plus a small cited table of known associations, so each claim can be checked
against the features (:func:`check_claims`). Format::

    <think> Left temporal gamma is higher than usual (z = +1.4). ... </think>
    Emotion: happiness

Some templates, and the whole ``scenario`` task family, are held out of training for zero-shot evaluation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .channels import REGION_NAMES, region_index
from .emotions import AROUSAL, EMOTIONS, SYNONYMS, VALENCE, arousal_class, valence_class

__all__ = ["EEG_START", "EEG_TOKEN", "EEG_END", "SYSTEM_PROMPT", "ASSOCIATIONS", "TASKS", "TEMPLATES",
           "HELD_OUT_TEMPLATES", "SCENARIOS", "Example", "region_band_z", "evidence_items", "rationale",
           "eeg_placeholder", "make_example", "make_examples", "parse_answer", "check_claims", "corpus"]

EEG_START, EEG_TOKEN, EEG_END = "<|eeg_start|>", "<|eeg|>", "<|eeg_end|>"
SYSTEM_PROMPT = "You read EEG band-power evidence and explain the emotion it reflects."
_BANDS = ("delta", "theta", "alpha", "beta", "gamma")

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
    """Region x band deviation of one sample, shape ``(n_regions, n_bands)``.

    ``x`` (shape ``(T, C, F)``) holds features z-scored against the subject's own statistics; each entry is
    the mean over the sample's windows and the region's electrodes.
    """
    idx = region_index(ch_names)
    per_chan = x.mean(axis=0)                                         # (T, C, F) -> (C, F)
    return np.stack([per_chan[idx == r].mean(axis=0) for r in range(len(REGION_NAMES))])


def _pretty(region: str) -> str:
    return region.replace("_", " ")


def evidence_items(z: np.ndarray, *, k: int = 3, threshold: float = 0.4) -> list[tuple[str, str, float]]:
    """The ``k`` largest region x band deviations with ``|z| >= threshold``: (region, band, z)."""
    order = np.argsort(-np.abs(z), axis=None)
    items = []
    for flat in order[:k]:
        r, b = np.unravel_index(flat, z.shape)
        if abs(z[r, b]) >= threshold:
            items.append((REGION_NAMES[r], _BANDS[b], float(z[r, b])))
    return items


def _evidence_sentences(items) -> list[str]:
    out = []
    for region, band, value in items:
        word = "higher" if value > 0 else "lower"
        out.append(f"{_pretty(region).capitalize()} {band} is {word} than usual (z = {value:+.1f}).")
        for regions, a_band, direction, meaning, cite in ASSOCIATIONS:
            if region in regions and band == a_band and np.sign(value) == direction:
                out.append(f"This is linked to {meaning} ({cite}).")
                break
    return out or ["No region or band departs clearly from this person's usual activity."]


def rationale(z: np.ndarray, *, k: int = 3) -> str:
    """Evidence sentences for one sample's region x band z-scores."""
    return " ".join(_evidence_sentences(evidence_items(z, k=k)))


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
                 template: int | None = None, held_out: bool = False) -> Example:
    """Build one example of ``task`` from FeatureSet rows (one row per EEG segment).

    ``held_out=False`` draws only training templates; ``True`` only held-out ones.
    """
    pool = [i for i in range(len(TEMPLATES[task])) if ((task, i) in HELD_OUT_TEMPLATES or task == "scenario") == held_out]
    if not pool:
        raise ValueError(f"task {task!r} has no {'held-out' if held_out else 'training'} templates")
    t = int(rng.choice(pool)) if template is None else template
    ph = eeg_placeholder(n_eeg_tokens)
    emotions = [fs.meta.emotion.iloc[r] for r in rows]
    zs = [region_band_z(fs.X[r], fs.ch_names) for r in rows]
    fill = {"eeg": ph, "eeg2": ph, "eeg3": ph}
    truth: dict = {"emotions": emotions}
    if task == "emotion":
        answer = f"<think> {rationale(zs[0])} </think>\nEmotion: {emotions[0]}"
        truth["emotion"] = emotions[0]
    elif task == "valence_arousal":
        v, a = valence_class(emotions[0]), arousal_class(emotions[0])
        answer = f"<think> {rationale(zs[0])} </think>\nValence: {v}\nArousal: {a}"
        truth.update(valence=v, arousal=a)
    elif task in ("compare", "rank"):
        attr = str(rng.choice(["positive", "aroused"]))
        score = VALENCE if attr == "positive" else AROUSAL
        fill["attr"] = attr
        names = _letters(len(rows))
        think = " ".join(f"Clip {n}: {rationale(z, k=2)}" for n, z in zip(names, zs))
        order = sorted(range(len(rows)), key=lambda i: -score[emotions[i]])
        if task == "compare":
            answer = f"<think> {think} </think>\nAnswer: Clip {names[order[0]]}"
            truth["choice"] = names[order[0]]
        else:
            answer = f"<think> {think} </think>\nAnswer: " + " > ".join(names[i] for i in order)
            truth["ranking"] = "".join(names[i] for i in order)
    elif task == "describe":
        answer = rationale(zs[0], k=4)
    elif task == "scenario":
        options = list(rng.permutation(EMOTIONS)[:4])
        if emotions[0] not in options:
            options[int(rng.integers(4))] = emotions[0]
        fill["options"] = " ".join(f"({chr(97 + i)}) {SCENARIOS[e]}" for i, e in enumerate(options))
        letter = chr(97 + options.index(emotions[0]))
        answer = f"<think> {rationale(zs[0])} </think>\nAnswer: ({letter})"
        truth.update(choice=letter, options=options)
    else:
        raise ValueError(f"unknown task {task!r}; allowed: {TASKS + ('scenario',)}")
    return Example(task, t, TEMPLATES[task][t].format(**fill), answer, list(rows), truth)


def make_examples(fs, idx, *, tasks=TASKS, n_per_task: int | dict = 200, n_eeg_tokens: int, seed: int = 0,
                  held_out: bool = False) -> list[Example]:
    """Draw examples from FeatureSet rows ``idx`` (comparison tasks pair clips of different emotions)."""
    rng = np.random.default_rng(seed)
    idx = np.asarray(idx)
    emo = fs.meta.emotion.to_numpy()
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
            out.append(make_example(task, rows, fs, rng, n_eeg_tokens=n_eeg_tokens, held_out=held_out))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


# -- parsing ------------------------------------------------------------------------------------------------

_WORD = {w: e for e, ws in SYNONYMS.items() for w in ws}
_CLAIM = re.compile(r"(" + "|".join(sorted((_pretty(r) for r in REGION_NAMES), key=len, reverse=True)) + r")\s+("
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


def corpus(fs, *, n_per_task: int = 150, seed: int = 0, n_eeg_tokens: int = 12) -> list[str]:
    """Plain texts (prompts and answers) for training the tiny model's tokenizer and language warm-up."""
    texts = [SYSTEM_PROMPT] + [f"{e} {SCENARIOS[e]}" for e in EMOTIONS]
    for ex in make_examples(fs, np.arange(len(fs)), n_per_task=n_per_task, n_eeg_tokens=n_eeg_tokens, seed=seed):
        texts += [ex.prompt, ex.answer]
    return texts
