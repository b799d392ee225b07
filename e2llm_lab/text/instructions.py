"""Instruction tasks: templates, examples with grounded chain-of-thought answers, and their answer lines.

Each example pairs a user prompt holding EEG placeholders with a target answer whose ``<think>`` block is built
from the sample's measured features (:mod:`e2llm_lab.text.rationales`) and ends with the sentence that decides the
answer ("These match the fear signature."; for two or three clips, the comparison of their labels), so the
answer line follows from the last step of the reasoning. Labels come from the data's label space: a task that
needs what the space lacks (valence/arousal coordinates, scene descriptions) is left out with one line saying so.

Some templates, and the whole ``scenario`` task family, are held out of training for zero-shot evaluation.
Reading answers lives in :mod:`e2llm_lab.text.answers`, rationales in :mod:`e2llm_lab.text.rationales`, the chat format
and EEG tokens in :mod:`e2llm_lab.text.chat`.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np

from ..channels import regions_present
from ..labels import SEED7, LabelSpace
from .chat import EEG_END, EEG_TOKEN, SYSTEM_PROMPT, eeg_placeholder
from .rationales import (
    DEFAULT_STYLE,
    EmotionSignatures,
    decision_sentence,
    departure_sentence,
    fit_sentence,
    measured_block,
    rationale,
    region_band_z,
)

__all__ = ["TASKS", "MODES", "MEASURED", "TEMPLATES", "HELD_OUT_TEMPLATES", "TEMPLATE_PARTS", "SCENARIOS", "Example",
           "is_held_out", "with_measured", "ground", "closest_labels", "make_example", "make_examples", "evidence_edit",
           "consistent_rows", "task_plan", "answer_lines", "corpus"]

#: Task families used in training. "scenario" is held out entirely (zero-shot).
TASKS = ("emotion", "valence_arousal", "compare", "rank", "describe")
#: How the evidence reaches an answer: "free" (the LM writes it in its reasoning) or "grounded" (the toolkit computes
#: it and places it in the prompt after each clip's EEG, marked :data:`MEASURED`; the LM writes what follows).
MODES = ("free", "grounded")
MEASURED = "Measured by the toolkit:"

#: The parts each task's templates are composed of: every way of showing the EEG ("{eeg}", "{eeg2}", "{eeg3}")
#: followed by every wording of the question. Template ``i * n_questions + j`` is intro ``i`` + question ``j``.
TEMPLATE_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "emotion": (("EEG: {eeg}\n", "Here is an EEG recording: {eeg}\n", "Read this EEG segment {eeg}. ", "{eeg}\n",
                 "Based on the EEG {eeg}: ", "Look at the brain activity {eeg}. "),
                ("Which emotion is the person feeling?", "What emotion does it show?", "Name the emotion.",
                 "Classify the emotion in this brain activity.", "What is the viewer's emotion?",
                 "Which of the {n_labels} emotions fits best?")),
    "valence_arousal": (("EEG: {eeg}\n", "Here is an EEG recording: {eeg}\n", "From the EEG {eeg}: ",
                         "{eeg}\n", "Consider this brain activity {eeg}. "),
                        ("Rate the valence and arousal.", "Is the feeling positive or negative, calm or aroused?",
                         "Give valence and arousal.", "How pleasant and how intense is the feeling?")),
    "compare": (("Clip A: {eeg}\nClip B: {eeg2}\n", "Two EEG recordings. A: {eeg} B: {eeg2} ",
                 "Here are two clips, A {eeg} and B {eeg2}. ", "EEG of clip A: {eeg}\nEEG of clip B: {eeg2}\n"),
                ("Which clip is more {attr}?", "Which one is more {attr}?", "Which of the two feels more {attr}?",
                 "Pick the clip that is more {attr}.", "Which recording shows the more {attr} state?")),
    "rank": (("Clip A: {eeg}\nClip B: {eeg2}\nClip C: {eeg3}\n", "Three EEG recordings. A: {eeg} B: {eeg2} C: {eeg3} ",
              "Here are three clips, A {eeg}, B {eeg2} and C {eeg3}. ",
              "EEG of clip A: {eeg}\nEEG of clip B: {eeg2}\nEEG of clip C: {eeg3}\n"),
             ("Rank the clips from most to least {attr}.", "Order them from most to least {attr}.",
              "Sort the three clips by how {attr} they are, most first.",
              "Which is most {attr}, then next, then least?",
              "List the clips from the most {attr} to the least.")),
    "describe": (("EEG: {eeg}\n", "Here is an EEG recording: {eeg}\n", "{eeg}\n", "Look at this EEG {eeg}. "),
                 ("Describe the EEG evidence.", "What stands out in this EEG recording?",
                  "Which regions and bands are unusual?", "Summarise what the band power shows.",
                  "Explain the evidence in this brain activity.")),
}


def _compose(task: str) -> tuple[str, ...]:
    intros, questions = TEMPLATE_PARTS[task]
    return tuple(i + q for i in intros for q in questions)


def _held_out(task: str) -> set[tuple[str, int]]:
    """About one combination in five: in row ``i`` of the grid, question ``j`` with ``(i + 2 j) % 5 == 3``. Every
    intro and every question also appears in training templates, but never in these combinations."""
    intros, questions = TEMPLATE_PARTS[task]
    return {(task, i * len(questions) + j) for i in range(len(intros)) for j in range(len(questions))
            if (i + 2 * j) % 5 == 3}


TEMPLATES: dict[str, tuple[str, ...]] = {task: _compose(task) for task in TEMPLATE_PARTS}
TEMPLATES["scenario"] = ("EEG: {eeg}\nWhich scene was the person most likely watching? {options}",
                         "Here is an EEG recording: {eeg}\nPick the scene that fits it: {options}")
#: (task, template index) pairs never used in training.
HELD_OUT_TEMPLATES = set().union(*(_held_out(task) for task in TEMPLATE_PARTS))
#: SEED-VII's scenes (other label spaces carry their own: ``LabelSpace.scenes``).
SCENARIOS: dict[str, str] = dict(SEED7.scenes)


def is_held_out(task: str, template: int) -> bool:
    """True for the templates and task families never used in training (zero-shot evaluation)."""
    return task == "scenario" or (task, template) in HELD_OUT_TEMPLATES


@dataclass
class Example:
    """One instruction example: a user prompt with EEG placeholders, the target answer, and its EEG rows."""

    task: str
    template: int
    prompt: str
    answer: str
    eeg_rows: list[int]                 # FeatureSet row per EEG segment, in placeholder order
    truth: dict = field(default_factory=dict)
    label_space: LabelSpace = SEED7     # the labels an answer line may name
    mode: str = "free"                  # "grounded": the prompt holds the toolkit's measured evidence (MODES)
    given: str = ""                     # the start of the answer that is given, not learned (an evidence edit)


def _letters(n):
    return "ABC"[:n]


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve")


def with_measured(prompt: str, blocks: Sequence[str]) -> str:
    """``prompt`` with each clip's measured block placed right after its EEG (after each ``<|eeg_end|>``, in order):
    grounded mode's tool result, text the LM reads and did not write."""
    parts = prompt.split(EEG_END)
    if len(parts) - 1 != len(blocks):
        raise ValueError(f"the prompt holds {len(parts) - 1} EEG segment(s) but {len(blocks)} measured block(s) were "
                         f"given: one block per segment, in order")
    return "".join(p + EEG_END + f" [{MEASURED} {b}]" for p, b in zip(parts, blocks)) + parts[-1]


def ground(prompt: str, zs, signatures: EmotionSignatures, *, present=None, bands=None,
           style: str = DEFAULT_STYLE) -> str:
    """A grounded prompt: ``prompt`` with each clip's measured block (:func:`~.rationales.measured_block` of its
    deviations ``zs``, one (n_regions, n_bands) array per EEG segment) after its EEG. One clip: its two closest
    signatures and three pieces of evidence; several clips: each clip's closest signature and one piece."""
    k, top = (1, 1) if len(zs) > 1 else (3, 2)
    return with_measured(prompt, [measured_block(z, signatures, k=k, top=top, present=present, bands=bands,
                                                 style=style) for z in zs])


def closest_labels(zs, signatures: EmotionSignatures) -> list[str]:
    """The measured closest signature of each sample's deviations (the closest-signature rule, label-free)."""
    return [signatures.labels[int(np.argmax(signatures.similarity(z)))] for z in zs]


def make_example(task: str, rows: list[int], fs, rng: np.random.Generator, *, n_eeg_tokens: int,
                 template: int | None = None, zero_shot: bool = False, signatures: EmotionSignatures | None = None,
                 style: str = DEFAULT_STYLE, mode: str = "free") -> Example:
    """Build one example of ``task`` from FeatureSet rows (one row per EEG segment).

    ``zero_shot=False`` draws only training templates; ``True`` only held-out ones. ``signatures`` (of training
    subjects only) name the closest signatures and choose the evidence (:func:`~.rationales.evidence_items`, label-free
    unless ``style="discriminative"``). The reasoning decides for the label: it names the signature it matches, or,
    where the label is not the measured closest signature, says that the EEG reads as another label than its closest
    signature (:func:`~.rationales.departure_sentence`). Labels, their coordinates and scenes come from
    ``fs.label_space``; band words from ``fs.bands``.

    ``mode="grounded"``: the evidence is the toolkit's measured block in the prompt (:func:`with_measured`), and the
    answer holds only the decision and what follows it.
    """
    space = fs.label_space
    reason = space.unsupported(task) if task in TEMPLATES else None
    if reason:
        raise ValueError(reason)
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}; allowed: {MODES}")
    if mode == "grounded" and (signatures is None or task == "describe"):
        raise ValueError("grounded mode needs signatures (the measured block names the closest ones) and a task that "
                         "decides a label (not 'describe')")
    pool = [i for i in range(len(TEMPLATES.get(task, ()))) if is_held_out(task, i) == zero_shot]
    if task in TEMPLATES and not pool:
        raise ValueError(f"task {task!r} has no {'held-out' if zero_shot else 'training'} templates")
    t = int(rng.choice(pool)) if template is None and pool else template
    emotions = [fs.meta.emotion.iloc[r] for r in rows]
    ev = _Evidence(fs, rows, signatures, style)
    n = len(space)
    fill = {"eeg": ev.ph(n_eeg_tokens), "eeg2": ev.ph(n_eeg_tokens), "eeg3": ev.ph(n_eeg_tokens),
            "n_labels": _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)}
    truth: dict = {"emotions": emotions}
    grounded, multi = mode == "grounded", len(rows) > 1
    think = (lambda i: "") if grounded else (lambda i: ev.text(i, k=1 if multi else 3, top=1 if multi else 2) + " ")

    if task == "emotion":
        answer = f"<think> {think(0)}{ev.decide(0)} </think>\nEmotion: {emotions[0]}"
        truth["emotion"] = emotions[0]
    elif task == "valence_arousal":
        v, a = space.valence_class(emotions[0]), space.arousal_class(emotions[0])
        answer = (f"<think> {think(0)}{ev.decide(0)} So valence is {v} and arousal {a}. "
                  f"</think>\nValence: {v}\nArousal: {a}")
        truth.update(valence=v, arousal=a)
    elif task in ("compare", "rank"):
        attr = str(rng.choice(list(space.attributes())))
        fill["attr"], truth["attr"] = attr, attr
        answer, key, value = _ordering_answer(task, emotions, space.score(attr), attr,
                                              [think(i) + ev.reading(i) for i in range(len(rows))])
        truth[key] = value
    elif task == "describe":
        answer = rationale(ev.zs[0], signatures=signatures, k=4, style="salient", present=ev.present, bands=ev.bands)
    elif task == "scenario":
        k = min(4, n)
        options = list(rng.permutation(space.labels)[:k])
        if emotions[0] not in options:
            options[int(rng.integers(k))] = emotions[0]
        fill["options"] = " ".join(f"({chr(97 + i)}) {space.scene_of(e)}" for i, e in enumerate(options))
        letter = chr(97 + options.index(emotions[0]))
        answer = f"<think> {think(0)}{ev.decide(0)} </think>\nAnswer: ({letter}) {space.scene_of(emotions[0])}"
        truth.update(choice=letter, options=options)
    else:
        raise ValueError(f"unknown task {task!r}; allowed: {TASKS + ('scenario',)}")
    prompt = TEMPLATES[task][t].format(**fill)
    if grounded:
        prompt = ground(prompt, ev.zs, signatures, present=ev.present, bands=ev.bands, style=style)
    return Example(task, t, prompt, answer, list(rows), truth, space, mode)


class _Evidence:
    """What one example's reasoning may say about its clips: each clip's measured deviations, its closest signature,
    the label-free evidence, and the sentence that decides (a match, or a stated departure)."""

    def __init__(self, fs, rows, signatures, style):
        self.zs = [region_band_z(fs.X[r], fs.ch_names) for r in rows]
        self.emotions = [fs.meta.emotion.iloc[r] for r in rows]
        self.present, self.bands = regions_present(fs.ch_names), fs.band_names   # a smaller cap: never cited
        self.signatures, self.style = signatures, style
        self.closest = closest_labels(self.zs, signatures) if signatures is not None else list(self.emotions)

    @staticmethod
    def ph(n_eeg_tokens: int) -> str:
        return eeg_placeholder(n_eeg_tokens)

    def text(self, i: int, *, k: int, top: int) -> str:
        ev = rationale(self.zs[i], emotion=self.emotions[i], signatures=self.signatures, k=k, style=self.style,
                       present=self.present, bands=self.bands)
        if self.signatures is None:
            return ev
        return f"{fit_sentence(self.zs[i], self.signatures, top=min(top, len(self.signatures.labels)))} {ev}"

    def decide(self, i: int) -> str:
        e, c = self.emotions[i], self.closest[i]
        return decision_sentence(e) if e == c else departure_sentence(e, c)

    def reading(self, i: int) -> str:
        e = self.emotions[i]
        return f"It matches {e}." if e == self.closest[i] else f"It reads as {e}, not its closest signature."


def _ordering_answer(task, emotions, score, attr, clip_texts) -> tuple[str, str, str]:
    """A compare or rank answer: each clip's reading, the labels ordered on ``attr``, the answer line."""
    if len({score[e] for e in emotions}) != len(emotions):
        raise ValueError(f"clips {emotions} tie on {attr!r}: a {task} question needs labels whose coordinates differ")
    names = _letters(len(emotions))
    clips = " ".join(f"Clip {c}: {text}" for c, text in zip(names, clip_texts))
    order = sorted(range(len(emotions)), key=lambda i: -score[emotions[i]])
    decide = f"From most to least {attr}: " + " > ".join(f"{emotions[i]} ({names[i]})" for i in order) + "."
    if task == "compare":
        return f"<think> {clips} {decide} </think>\nAnswer: Clip {names[order[0]]}", "choice", names[order[0]]
    ranking = "".join(names[i] for i in order)
    return f"<think> {clips} {decide} </think>\nAnswer: " + " > ".join(ranking), "ranking", ranking


def evidence_edit(ex: Example, donor: int, fs, signatures: EmotionSignatures) -> Example:
    """A basic-emotion example whose evidence is another sample's (``donor``, of another closest signature) while its
    EEG stays its own, answered as that evidence says: teaches that the answer follows the stated evidence.

    Grounded: the donor's measured block in the prompt, the decision for the donor's closest signature. Free: the
    donor's evidence is the given start of the reasoning (``Example.given``: read, never learned, so the LM is not
    taught to write another sample's evidence), and the LM learns only the decision that follows from it.
    """
    if ex.task != "emotion":
        raise ValueError(f"evidence edits are basic-emotion examples, not {ex.task!r}")
    present, bands = regions_present(fs.ch_names), fs.band_names
    z = region_band_z(fs.X[donor], fs.ch_names)
    label = closest_labels([z], signatures)[0]
    block = measured_block(z, signatures, present=present, bands=bands)
    decide = f"{decision_sentence(label)} </think>\nEmotion: {label}"
    truth = {"emotions": [label], "emotion": label, "edited_from": int(donor)}
    if ex.mode == "grounded":
        plain = TEMPLATES["emotion"][ex.template].format(eeg=eeg_placeholder(ex.prompt.count(EEG_TOKEN)),
                                                         n_labels=_n_labels(fs))
        return replace(ex, prompt=with_measured(plain, [block]), answer=f"<think> {decide}", truth=truth)
    return replace(ex, given=f"<think> {block} ", answer=decide, truth=truth)


def _n_labels(fs) -> str:
    n = len(fs.label_space)
    return _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)


def _with_edits(out: list[Example], fs, signatures: EmotionSignatures, share: float, rng) -> list[Example]:
    """``share`` of the basic-emotion examples of ``out`` made evidence edits (:func:`evidence_edit`), each with a
    donor from the same rows whose closest signature is another label."""
    if not share:
        return out
    rows = sorted({e.eeg_rows[0] for e in out if e.task == "emotion"})
    if not rows:
        return out
    closest = dict(zip(rows, closest_labels([region_band_z(fs.X[r], fs.ch_names) for r in rows], signatures)))
    edited = []
    for ex in out:
        if ex.task == "emotion" and rng.random() < share:
            pool = [r for r in rows if closest[r] != closest[ex.eeg_rows[0]]]
            if pool:
                ex = evidence_edit(ex, int(rng.choice(pool)), fs, signatures)
        edited.append(ex)
    return edited


def _distinct_groups(space: LabelSpace, labels, k: int) -> list[tuple[str, ...]]:
    """Groups of ``k`` labels whose coordinates all differ on every axis the space has (either question then has
    exactly one answer)."""
    axes = [space.score(a) for a in space.attributes()]
    return [g for g in combinations(sorted(labels), k) if all(len({ax[e] for e in g}) == k for ax in axes)]


def task_plan(fs, idx, tasks=TASKS) -> tuple[tuple[str, ...], list[str]]:
    """The tasks that can be asked of rows ``idx`` and one line for each one left out, with the reason.

    A task is left out when the label space lacks what it needs (:meth:`LabelSpace.unsupported`) or, for compare
    and rank, when the rows hold too few labels whose coordinates all differ.
    """
    space = fs.label_space
    present = set(fs.meta.emotion.iloc[np.asarray(idx)]) if len(idx) else set()
    keep, skipped = [], []
    for task in tasks:
        reason = space.unsupported(task)
        k = {"compare": 2, "rank": 3}.get(task)
        if reason is None and k and not _distinct_groups(space, present, k):
            reason = (f"task {task!r} left out: the rows hold labels {sorted(present)}, and no {k} of them differ "
                      f"in both valence and arousal" if len(space.attributes()) == 2 else
                      f"task {task!r} left out: the rows hold fewer than {k} labels with different coordinates")
        if reason is None and task == "scenario" and len(present) < 1:
            reason = "task 'scenario' left out: no rows"
        (skipped.append(reason) if reason else keep.append(task))
    return tuple(keep), skipped


def consistent_rows(fs, idx, signatures: EmotionSignatures) -> np.ndarray:
    """The rows of ``idx`` whose measured closest signature (:func:`fit_sentence`'s first label) is their own label:
    the rows whose reasoning can decide their label without contradicting its own evidence."""
    idx = np.asarray(idx)
    if not len(idx):
        return idx
    z = region_band_z(fs.X[idx], fs.ch_names)                                     # (N, R, F)
    closest = signatures.similarity(z).argmax(1)                                 # into signatures.labels
    labels = np.asarray(signatures.labels)[closest]
    return idx[labels == fs.meta.emotion.to_numpy()[idx]]


def _consistent_pool(fs, idx, signatures: EmotionSignatures, say) -> np.ndarray:
    keep = consistent_rows(fs, idx, signatures)
    if not len(keep):
        raise ValueError(f"no training row's closest signature is its own label ({len(idx)} rows): the evidence "
                         f"cannot decide any answer; train without TrainConfig.consistent_evidence")
    names, counts = np.unique(fs.meta.emotion.to_numpy()[keep], return_counts=True)
    missing = sorted(set(fs.meta.emotion.to_numpy()[idx]) - set(names))
    say(f"consistent evidence: {len(keep)} of {len(idx)} training rows are closest to their own label's signature ("
        + ", ".join(f"{e} {c}" for e, c in zip(names, counts)) + ")"
        + (f"; {missing} never: no answer teaches them" if missing else ""))
    return keep


def make_examples(fs, idx, *, tasks=TASKS, n_per_task: int | dict = 200, n_eeg_tokens: int, seed: int = 0,
                  zero_shot: bool = False, signatures: EmotionSignatures | None = None,
                  style: str = DEFAULT_STYLE, verbose: bool = True, consistent: bool = False,
                  mode: str = "free", grounded_share: float = 0.0, edit_share: float = 0.0) -> list[Example]:
    """Draw examples from FeatureSet rows ``idx`` (comparison tasks pair clips whose labels' coordinates differ).

    Tasks the rows cannot support are left out with one printed line each (:func:`task_plan`). Without
    ``signatures`` they are learned from ``idx`` itself, which is right for training rows only; to build
    reference answers for test rows, pass the signatures of the training subjects.

    ``consistent=True`` draws every task that decides a label (all but ``describe``) only from
    :func:`consistent_rows`, so no reasoning needs to depart from the signature it names closest (one printed line
    says how many rows of each label qualify); without it such rows teach a stated departure.

    ``mode`` is every example's (:data:`MODES`); ``grounded_share`` > 0 makes that share of the examples that decide
    a label grounded instead (stage 3 teaches both formats), drawn with the same seed. ``edit_share`` > 0 makes that
    share of the basic-emotion examples evidence edits (:func:`evidence_edit`): their answer follows another
    sample's evidence, so the LM learns to decide from the evidence it states or is given.
    """
    if not 0.0 <= grounded_share <= 1.0:
        raise ValueError(f"grounded_share={grounded_share}: a share between 0 and 1")
    rng = np.random.default_rng(seed)
    idx = np.asarray(idx)
    emo = fs.meta.emotion.to_numpy()
    space = fs.label_space
    if signatures is None:
        signatures = EmotionSignatures.fit(fs, idx)
    deciding = _consistent_pool(fs, idx, signatures, print if verbose else lambda _: None) if consistent else idx
    tasks, skipped = task_plan(fs, deciding, tasks)
    for line in skipped:
        if verbose:
            print(line)
    axes = [space.score(a) for a in space.attributes()]
    out = []
    for task in tasks:
        n = n_per_task.get(task, 0) if isinstance(n_per_task, dict) else n_per_task
        k = {"compare": 2, "rank": 3}.get(task, 1)
        rows_of = idx if task == "describe" else deciding
        groups = _distinct_groups(space, set(emo[rows_of]), k) if k > 1 else None
        for _ in range(n):
            if k == 1:
                rows = [int(rng.choice(rows_of))]
            else:   # clips whose coordinates all differ, so either question has one answer
                for _attempt in range(200):
                    rows = [int(r) for r in rng.choice(rows_of, k, replace=False)]
                    if all(len({ax[emo[r]] for r in rows}) == k for ax in axes):
                        break
                else:   # rare label mixes: draw a feasible group of labels, then one row of each (always ends)
                    group = groups[int(rng.integers(len(groups)))]
                    rows = [int(rng.choice(rows_of[emo[rows_of] == e])) for e in rng.permutation(group)]
            m = "grounded" if task != "describe" and grounded_share and rng.random() < grounded_share else mode
            out.append(make_example(task, rows, fs, rng, n_eeg_tokens=n_eeg_tokens, zero_shot=zero_shot,
                                    signatures=signatures, style=style, mode=m if task != "describe" else "free"))
    out = _with_edits(out, fs, signatures, edit_share, rng)
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def answer_lines(ex: Example) -> list[str]:
    """Every well-formed answer line of ``ex``'s task (for constrained decoding); [] where the answer is free text."""
    if ex.task == "emotion":
        return [f"\nEmotion: {e}" for e in ex.label_space.labels]
    if ex.task == "valence_arousal":
        return [f"\nValence: {v}\nArousal: {a}" for v in ("positive", "neutral", "negative") for a in ("high", "low")]
    if ex.task == "compare":
        return [f"\nAnswer: Clip {n}" for n in _letters(len(ex.eeg_rows))]
    if ex.task == "rank":
        return ["\nAnswer: " + " > ".join(p) for p in itertools.permutations(_letters(len(ex.eeg_rows)))]
    if ex.task == "scenario":       # the option restated (cloze form), so its words can be scored, not a bare letter
        return [f"\nAnswer: ({chr(97 + i)}) {ex.label_space.scene_of(e)}" for i, e in enumerate(ex.truth["options"])]
    return []


def corpus(fs, idx, *, n_per_task: int = 150, seed: int = 0, n_eeg_tokens: int = 12) -> list[str]:
    """Plain texts (prompts and answers of rows ``idx``) for training the tiny model's tokenizer.

    The held-out ``scenario`` family is not among them: its scenes come from :mod:`~e2llm_lab.text.knowledge`.
    """
    texts = [SYSTEM_PROMPT]
    for ex in make_examples(fs, idx, n_per_task=n_per_task, n_eeg_tokens=n_eeg_tokens, seed=seed):
        texts += [ex.prompt, ex.answer]
    return texts
