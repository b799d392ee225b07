"""The LLM's generated answers: scoring, EEG controls and faithfulness.

Predictions come from :meth:`E2LLM.generate` only. One greedy generation per prompt gives two answers:

- ``free``: the answer line the model wrote itself (parse rate counts answers it wrote in no readable form);
- ``constrained``: the same generated reasoning, closed by the well-formed answer line the model finds most
  likely (:func:`~e2llm_lab.text.instructions.answer_lines`), the default for the headline figures.

Controls (``control=``) ask the same prompts with the EEG replaced: ``"shuffled"`` (each segment by another
random held-out sample's; the donor's emotion is recorded), ``"subject_mean"`` (all-zero z-scores: the
subject's own mean) or ``"noise"`` (Gaussian noise of the features' own scale: the control that showed earlier
EEG-to-text models read nothing). A model that reads the EEG falls to chance under all three, and under
``"shuffled"`` its answers follow the donor.

Chance is computed for the questions actually asked: the mean over them of 1 / (the number of well-formed answer
lines), so a label space of k labels has emotion chance 1/k and a scenario question with 3 options 1/3.

Faithfulness of each reasoning, checked against the sample's measured features: claims per answer, claim
precision (:func:`~e2llm_lab.text.instructions.check_claims`), repeated claims, hallucinated claims (a "region" or
"band" that does not exist) and label-evidence consistency: the share of claims whose direction agrees with the
learned signature of the emotion the answer gives (:class:`~e2llm_lab.text.instructions.EmotionSignatures`).
"""
from __future__ import annotations

import re
from functools import partial

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from .._metrics import classification_metrics
from ..channels import REGION_NAMES
from ..config import DEFAULT_BANDS, band_names
from ..labels import SEED7, LabelSpace
from ..text.answers import check_claims, parse_answer
from ..text.instructions import (
    MEASURED,
    MODES,
    answer_lines,
    closest_labels,
    is_held_out,
    make_example,
    make_examples,
    task_plan,
)
from ..text.rationales import read_back, region_band_z
from .scoring import choose_answer_lines

__all__ = ["CHANCE", "MULTI_TASKS", "CONTROLS", "clip_readings", "clip_reading_accuracy", "chance_by_simulation",
           "faithfulness", "evaluate_generation", "generation_summary"]

#: Chance of each task for SEED-VII's seven labels and four scenario options (uniform guessing over the answer
#: set). Tables compute chance from the questions actually asked (column ``chance`` of the answers).
CHANCE = {"emotion": 1 / 7, "valence_arousal": 1 / 6, "compare": 1 / 2, "rank": 1 / 6, "scenario": 1 / 4}
MULTI_TASKS = ("emotion", "valence_arousal", "compare", "rank")
CONTROLS = (None, "shuffled", "subject_mean", "noise")

_REGIONS = {r.replace("_", " ") for r in REGION_NAMES}
_SENTENCE_CLAIM = re.compile(r"([A-Za-z][A-Za-z ]*?)\s+([A-Za-z]+)\s+is\s+(?:higher|lower)\s+than usual", re.I)
_DECIDED = re.compile(r"(?:match(?:es)?\s+(?:the\s+)?|reads\s+as\s+)([a-z]+)(?:\s+signature)?", re.I)
_DEPARTS = re.compile(r"but\s+the\s+EEG\s+as\s+a\s+whole\s+reads\s+as", re.I)
_FIT = re.compile(r"closest learned signatures?:\s*([a-z]+)\s*\(r\s*=\s*([+-]?\d*\.\d+)\)", re.I)
_MEASURED = re.compile(re.escape(MEASURED) + r"\s*(.*?)\]", re.S)
_CLIP_READ = re.compile(r"clip\s+([ABC])\s*:.*?it\s+(?:matches|reads\s+as)\s+([a-z][a-z ]*?)\s*[.,]", re.I | re.S)


def clip_readings(think: str | None, space=SEED7) -> dict[str, str | None]:
    """The label a multi-clip reasoning reads for each clip ("Clip B: ... It matches fear." or "It reads as fear, not
    its closest signature." -> {"B": "fear"}).

    The first reading of each clip counts; an unknown word reads as None.
    """
    out: dict[str, str | None] = {}
    for letter, word in _CLIP_READ.findall(think or ""):
        out.setdefault(letter.upper(), space.lookup(word))
    return out


def clip_reading_accuracy(think: str | None, emotions, space=SEED7) -> float:
    """Share of a prompt's clips whose reading names their true label (a clip the reasoning never reads is wrong)."""
    read = clip_readings(think, space)
    return float(np.mean([read.get("ABC"[i]) == e for i, e in enumerate(emotions)]))


def _decided_emotion(think: str | None, space=SEED7) -> str | None:
    """The label a reasoning arrives at ("These match the fear signature." or "... but the EEG as a whole reads as
    fear."), or None."""
    m = _DECIDED.findall(think or "")
    return space.lookup(m[-1]) if m else None


def faithfulness(text: str, z: np.ndarray, *, emotion: str | None = None, signatures=None,
                 measured: str | None = None) -> dict:
    """Check one single-clip reasoning against the sample's measured region x band deviations.

    Parameters
    ----------
    text : str
        The answer (its ``<think>`` block if present, else all of it).
    z : np.ndarray, shape (n_regions, n_bands)
    emotion : str, optional
        The emotion the answer gives; with ``signatures`` it sets the label-evidence consistency.
    signatures : EmotionSignatures, optional
    measured : str, optional
        The measured block a grounded answer was given (its closest signature is the one the answer can follow).

    Returns
    -------
    dict with n_claims, n_supported, n_repeated (claims of a (region, band) already claimed), n_hallucinated
    (claim-shaped sentences about a region or band that does not exist, or a region the cap has no electrode in,
    by ``signatures.present``), consistency (share of claims that
    agree with ``emotion``'s signature; NaN without claims, emotion or signatures), and for the signature
    comparison: fit_top_correct (the first emotion named as closest really is the closest by the measured
    correlation), fit_r_error (|stated r - measured r|) and follows_fit (the answer gives the emotion it named as
    closest, or was given as closest in grounded mode), NaN where the answer makes no such comparison; departs (the
    reasoning says that its answer is not its closest signature: a stated departure, not a contradiction),
    contradicts_fit (it answers another label than the one it names closest, without saying so: a misstated
    measurement) and read_back (the label a reader recovers from the cited claims alone:
    :func:`~e2llm_lab.text.rationales.read_back`).
    """
    space = signatures.label_space if signatures is not None else SEED7
    bands = signatures.bands if signatures is not None else band_names(DEFAULT_BANDS)
    think = parse_answer(text, space)["think"] or text
    res = check_claims(think, z, bands=bands)
    seen, repeated = set(), 0
    for region, band, *_ in res["claims"]:
        repeated += (region, band) in seen
        seen.add((region, band))
    hallucinated = 0
    for sentence in re.split(r"(?<=[.:])\s+", think):
        for region, band in _SENTENCE_CLAIM.findall(sentence):
            region = re.sub(r"^(clip [abc]\s*)", "", region.strip().lower())
            hallucinated += region not in _REGIONS or band.lower() not in bands or (
                signatures is not None and not signatures.present[REGION_NAMES.index(region.replace(" ", "_"))])
    consistency = np.nan
    if res["claims"] and emotion in space and signatures is not None:
        agree = [signatures.agreement(emotion, r.replace(" ", "_"), b, 1 if d == "higher" else -1)
                 for r, b, d, *_ in res["claims"]]
        consistency = float(np.mean(agree))
    fit_ok = fit_err = follows = np.nan
    departs = bool(_DEPARTS.search(think))
    m = _FIT.search(think) or (_FIT.search(measured) if measured else None)     # grounded: the block names it
    if m and signatures is not None:
        r = signatures.similarity(z)
        named = space.lookup(m.group(1))
        fit_ok = float(named is not None and space.labels.index(named) == int(np.argmax(r)))
        fit_err = abs(float(m.group(2)) - r[space.labels.index(named)]) if named else np.nan
        follows = float(named == emotion) if emotion in space else np.nan
    back = read_back(res["claims"], signatures) if signatures is not None else None
    return {"n_claims": res["n_claims"], "n_supported": res["n_supported"], "n_repeated": repeated,
            "n_hallucinated": hallucinated, "consistency": consistency, "fit_top_correct": fit_ok,
            "fit_r_error": fit_err, "follows_fit": follows, "departs": float(departs),
            "contradicts_fit": float(follows == 0 and not departs) if follows == follows else np.nan,
            "read_back": back}


# the field of a parsed answer (and of its truth) that each task's question asks for
_ANSWER_FIELD = {"emotion": "emotion", "compare": "choice", "rank": "ranking",
                 # only a chosen option counts: an answer that names an emotion leaves the step from the feeling to
                 # the scene to the scorer, which is the half of the task being measured (see _emotion_instead)
                 "scenario": "choice"}


def chosen(task: str, parsed: dict):
    """What a parsed answer chose for ``task``'s question: a label, a clip letter, a ranking ("BCA"), an option
    letter, or (valence, arousal). None for free-text tasks."""
    if task == "valence_arousal":
        return parsed["valence"], parsed["arousal"]
    return parsed[_ANSWER_FIELD[task]] if task in _ANSWER_FIELD else None


def _correct(task: str, parsed: dict, truth: dict):
    if task == "valence_arousal":
        return chosen(task, parsed) == (truth["valence"], truth["arousal"])
    return chosen(task, parsed) == truth[_ANSWER_FIELD[task]] if task in _ANSWER_FIELD else None


def _emotion_instead(task: str, parsed: dict, truth: dict) -> bool | float:
    """Scenario answers that name an emotion and no option: is it the emotion of the right option? (NaN else)"""
    if task != "scenario" or parsed["choice"] is not None or parsed["emotion"] is None:
        return np.nan
    return parsed["emotion"] == truth["emotions"][0]


def _answered(task: str, parsed: dict, truth: dict) -> bool:
    """A readable answer to the question asked: a scenario answer must choose one of its options' letters (not
    "Emotion: fear", not the compare format "Answer: Clip B")."""
    if task == "scenario":
        return parsed["choice"] in [chr(97 + i) for i in range(len(truth["options"]))]
    return bool(parsed["parsed"])


def _kendall(pred: str | None, truth: str) -> float:
    if not pred:
        return np.nan
    return float(kendalltau([pred.index(c) for c in truth], range(len(truth))).statistic)


def chance_by_simulation(examples, *, n_draws: int = 2000, seed: int = 0, space=SEED7) -> pd.Series:
    """Accuracy of a guesser that picks a well-formed answer line uniformly at random, per task, by simulation.

    Each draw answers every example with one of its :func:`~e2llm_lab.text.instructions.answer_lines`, parsed and scored
    exactly as a model's answer is, so this checks the chance column (1 / number of lines) and the scorer together.
    """
    rng = np.random.default_rng(seed)
    hits: dict[str, list[float]] = {}
    for ex in examples:
        lines = answer_lines(ex)
        if not lines:
            continue
        picks = rng.integers(len(lines), size=n_draws)
        scored = [bool(_correct(ex.task, parse_answer("<think> </think>" + lines[k], space), ex.truth))
                  for k in range(len(lines))]
        hits.setdefault(ex.task, []).append(float(np.mean(np.asarray(scored)[picks])))
    return pd.Series({task: float(np.mean(v)) for task, v in hits.items()}, name="chance (simulated)")


def _control_eeg(fs, rows: list[int], idx: np.ndarray, control, rng) -> tuple[np.ndarray, list[str] | None]:
    if control is None:
        return fs.X[rows], None
    if control == "subject_mean":
        return np.zeros_like(fs.X[rows]), None
    if control == "noise":      # Gaussian noise of the held-out features' own scale, per channel x band
        sd = fs.X[idx].std(axis=(0, 1))                                           # (C, F)
        return (rng.standard_normal(fs.X[rows].shape) * sd).astype(np.float32), None
    if control == "shuffled":
        trial = fs.meta[["subject", "session", "trial"]].to_numpy()
        keys = [tuple(t) for t in trial[idx]]
        donors = []
        for r in rows:
            others = [d for d, k in zip(idx, keys) if k != tuple(trial[r])]
            if not others:
                raise ValueError("the shuffled control needs held-out rows of at least two trials")
            donors.append(int(rng.choice(others)))
        return fs.X[donors], [fs.meta.emotion.iloc[d] for d in donors]
    raise ValueError(f"control={control!r}; allowed: {CONTROLS}")


def measured_in(prompt: str) -> str:
    """The measured blocks a grounded prompt holds (their text joined; "" in free mode)."""
    return " ".join(_MEASURED.findall(prompt))


def _answer_row(ex, text: str, text_free: str, donor, opts: list[str], fs, *, control, signatures) -> dict:
    """One row of :func:`evaluate_generation`'s table: an example's constrained and free answers, scored."""
    space = fs.label_space
    parsed, parsed_free = parse_answer(text, space), parse_answer(text_free, space)
    correct, correct_free = _correct(ex.task, parsed, ex.truth), _correct(ex.task, parsed_free, ex.truth)
    decided = _decided_emotion(parsed["think"], space)
    gives = parsed["emotion"] or decided
    row = {"task": ex.task, "mode": ex.mode, "template": ex.template, "zero_shot": is_held_out(ex.task, ex.template),
           "control": control or "none", "subject": fs.meta.subject.iloc[ex.eeg_rows[0]],
           "truth": ex.truth.get("emotion") or ex.truth.get("choice") or ex.truth.get("ranking")
           or f"{ex.truth.get('valence')}/{ex.truth.get('arousal')}",
           "chance": 1 / len(opts) if opts else np.nan,
           "emotion_true": ex.truth["emotions"][0], "emotion_pred": parsed["emotion"], "emotion_decided": decided,
           "emotion_donor": donor[0] if donor else None, "text": text, "text_free": text_free,
           "parsed": _answered(ex.task, parsed_free, ex.truth),
           "correct": bool(correct) if correct is not None else None,
           "correct_free": bool(correct_free) if correct_free is not None else None,
           "kendall_tau": _kendall(parsed["ranking"], ex.truth["ranking"]) if ex.task == "rank" else np.nan,
           "emotion_instead": _emotion_instead(ex.task, parsed_free, ex.truth),
           # inside compare/rank prompts: is each clip read as well as a single clip is?
           "clip_reading": clip_reading_accuracy(parsed["think"], ex.truth["emotions"], space)
           if len(ex.eeg_rows) > 1 else np.nan,
           "n_clips": len(ex.eeg_rows), "attr": ex.truth.get("attr")}
    if len(ex.eeg_rows) == 1:
        z = region_band_z(fs.X[ex.eeg_rows[0]], fs.ch_names)
        row["rule"] = closest_labels([z], signatures)[0]           # the closest-signature rule on the same sample
        row.update(faithfulness(text, z, emotion=gives, signatures=signatures, measured=measured_in(ex.prompt)))
    return row


def _questions(fs, idx, tasks, rng, *, n_eeg_tokens, signatures, mode, n_per_task, zero_shot, seed,
               emotion_all_rows):
    """The examples :func:`evaluate_generation` asks, task by task; tasks the rows cannot support are left out with
    one printed line each."""
    tasks, skipped = task_plan(fs, idx, tasks)
    for line in skipped:
        print(line)
    examples = []
    for task in tasks:
        zs = zero_shot or task == "scenario"
        if task == "emotion" and emotion_all_rows:
            examples += [make_example("emotion", [int(r)], fs, rng, n_eeg_tokens=n_eeg_tokens, zero_shot=zs,
                                      signatures=signatures, mode=mode) for r in idx]
        else:
            examples += make_examples(fs, idx, tasks=(task,), n_per_task=n_per_task, n_eeg_tokens=n_eeg_tokens,
                                      seed=seed, zero_shot=zs, signatures=signatures, verbose=False, mode=mode)
    return examples


def evaluate_generation(model, fs, idx, *, tasks=MULTI_TASKS, n_per_task: int = 40, zero_shot: bool = False,
                        seed: int = 0, max_new_tokens: int = 256, emotion_all_rows: bool = True,
                        control: str | None = None, mode: str = "free", batch_size: int = 128,
                        progress: bool = False) -> pd.DataFrame:
    """Generate answers for rows ``idx`` (held-out subjects) and score them.

    Parameters
    ----------
    model : E2LLM
        Or any stand-in with ``generate``, ``n_eeg_tokens`` and ``signatures``. The constrained answer line is chosen
        by :func:`.scoring.choose_answer_lines` (the model's own likelihood of each line), unless the object has a
        ``choose_answer_lines`` method of that signature: a stand-in may choose it another way.
    fs : FeatureSet
    idx : array of int
        Rows to ask about (held-out subjects).
    tasks : task families; ``"scenario"`` is the zero-shot family
    zero_shot : bool
        Ask with held-out templates only.
    emotion_all_rows : bool
        Ask the basic-emotion question once for every row of ``idx`` (else ``n_per_task`` draws).
    control : {None, "shuffled", "subject_mean", "noise"}
        Replace the EEG the model sees (the truth stays that of the original rows). In grounded mode the measured
        block stays that of the original rows: the control then edits the EEG and keeps the evidence.
    mode : {"free", "grounded"}
        Free: the model writes its evidence. Grounded: the prompt holds the toolkit's measured evidence after each
        clip's EEG (:func:`~e2llm_lab.text.instructions.with_measured`) and the model decides after it.
    progress : bool
        A progress bar over the generation batches.

    Returns
    -------
    pd.DataFrame
        One row per answer: task, mode, template, zero_shot, subject, truth, chance (1 / the number of well-formed
        answer lines of that question), text (constrained answer), text_free,
        parsed (free answer readable), correct (constrained), correct_free, emotion_true / emotion_pred /
        emotion_decided (named at the end of the reasoning) / emotion_donor, kendall_tau (rank), clip_reading,
        n_clips and attr (compare/rank: the attribute asked), and for single-clip tasks rule (the closest-signature
        rule's label on the same sample) and the :func:`faithfulness` columns.

    Notes
    -----
    Tasks the label space or the rows cannot support are left out with one printed line each
    (:func:`~e2llm_lab.text.instructions.task_plan`).
    """
    if control not in CONTROLS:
        raise ValueError(f"control={control!r}; allowed: {CONTROLS}")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}; allowed: {MODES}")
    rng = np.random.default_rng(seed)
    idx = np.asarray(idx)
    space = fs.label_space
    if hasattr(model, "check_features"):
        model.check_features(fs)
    sig = getattr(model, "signatures", None)
    if sig is None:   # reference answers and consistency need signatures of the *training* subjects
        raise ValueError("model.signatures is not set: learn them from the training rows with "
                         "model.signatures = EmotionSignatures.fit(fs, train_idx)")
    examples = _questions(fs, idx, tasks, rng, n_eeg_tokens=model.n_eeg_tokens, signatures=sig, mode=mode,
                          n_per_task=n_per_task, zero_shot=zero_shot, seed=seed, emotion_all_rows=emotion_all_rows)
    crng = np.random.default_rng(seed + 1)
    eeg, donors = zip(*[_control_eeg(fs, ex.eeg_rows, idx, control, crng) for ex in examples]) if examples else ((), ())
    prompts = [e.prompt for e in examples]
    lines = [answer_lines(e) for e in examples]
    free = model.generate(prompts, list(eeg), max_new_tokens=max_new_tokens, batch_size=batch_size,
                          **({"progress": progress} if progress else {})) if prompts else []
    choose = getattr(model, "choose_answer_lines", None) or partial(choose_answer_lines, model)
    constrained = choose(prompts, list(eeg), free, lines, batch_size=batch_size) if prompts else []
    rows = [_answer_row(ex, text, text_free, donor, opts, fs, control=control, signatures=sig)
            for ex, text, text_free, donor, opts in zip(examples, constrained, free, donors, lines)]
    out = pd.DataFrame(rows, columns=None if rows else ["task", "zero_shot", "control", "subject", "chance"])
    out.attrs["label_space"] = space
    return out


def _space_of(answers: pd.DataFrame, space=None):
    """The label space of a table of answers: given, recorded by :func:`evaluate_generation`, or SEED-VII."""
    space = space if space is not None else answers.attrs.get("label_space")
    if space is not None:
        return space
    seen = set(answers.get("emotion_true", pd.Series(dtype=object)).dropna())
    return SEED7 if seen <= set(SEED7.labels) else LabelSpace.from_names(sorted(seen), name="from answers")


def generation_summary(answers: pd.DataFrame, *, space=None) -> pd.DataFrame:
    """Per task (zero-shot rows apart, as ``"<task> (zero-shot)"``; grounded rows as ``"<task> (grounded)"``):
    accuracy and faithfulness figures.

    Columns: n, parse_rate (free answers readable), accuracy (constrained), accuracy_free (unparseable = wrong),
    chance (for the questions asked: see the module docstring), balanced_accuracy / macro_f1 / kappa (emotion),
    kendall_tau (rank), clip_reading (compare/rank: share of clips whose reading names their true label, beside
    single-clip emotion accuracy), emotion_instead / emotion_instead_right (scenario: share of free answers that
    name an emotion and no option, and how often that emotion is the right option's; such answers are unread),
    claims_per_answer, claim_precision, no_repeat_rate (answers without a repeated claim), hallucinated_per_answer,
    consistency, fit_top_correct, fit_r_error, follows_fit, departs, contradicts_fit (see :func:`faithfulness`),
    read_back (emotion: balanced accuracy of the label a reader recovers from the cited claims alone) beside rule
    (the closest-signature rule's balanced accuracy on the same samples), and follows_donor (shuffled control: the
    label named is the donor sample's). ``space`` defaults to the label space the answers were generated in.
    """
    space = _space_of(answers, space)
    out = []
    zs = answers["zero_shot"] if "zero_shot" in answers else pd.Series(False, index=answers.index)
    modes = answers["mode"] if "mode" in answers else pd.Series("free", index=answers.index)
    for (task, zero, mode), g in answers.groupby([answers.task, zs, modes], sort=False):
        chance = g.chance.mean() if "chance" in g and g.chance.notna().any() else CHANCE.get(task, np.nan)
        name = task + (" (zero-shot)" if zero else "") + (" (grounded)" if mode == "grounded" else "")
        row = {"task": name, "n": len(g), "parse_rate": g.parsed.mean(),
               "accuracy": g.correct.astype(float).mean() if g.correct.notna().any() else np.nan,
               "accuracy_free": g.correct_free.astype(float).mean()
               if "correct_free" in g and g.correct_free.notna().any() else np.nan,
               "chance": chance}
        if task == "emotion":
            m = classification_metrics(space.indices(g.emotion_true), space.indices(g.emotion_pred),
                                       n_classes=len(space))
            row.update(balanced_accuracy=m["balanced_accuracy"], macro_f1=m["macro_f1"], kappa=m["kappa"])
            for col in ("read_back", "rule"):          # what the cited claims give away, and what the EEG gives
                if col in g and g[col].notna().any():
                    row[col] = classification_metrics(space.indices(g.emotion_true), space.indices(g[col]),
                                                      n_classes=len(space))["balanced_accuracy"]
            if "emotion_donor" in g and g.emotion_donor.notna().any():
                row["follows_donor"] = float((g.emotion_pred == g.emotion_donor).mean())
        if "clip_reading" in g and g.clip_reading.notna().any():
            row["clip_reading"] = g.clip_reading.mean()
        if "emotion_instead" in g and g.emotion_instead.notna().any():      # scenario: named a feeling, no option
            row["emotion_instead"] = float(g.emotion_instead.notna().mean())
            row["emotion_instead_right"] = float(g.emotion_instead.dropna().astype(float).mean())
        if task == "rank" and "kendall_tau" in g:
            row["kendall_tau"] = g.kendall_tau.fillna(-1.0).mean()      # unreadable rankings count as reversed
        if "n_claims" in g and g.n_claims.notna().any():
            c = g.dropna(subset=["n_claims"])
            row.update(claims_per_answer=c.n_claims.mean(),
                       claim_precision=c.n_supported.sum() / c.n_claims.sum() if c.n_claims.sum() else np.nan)
            if "n_repeated" in c:
                row.update(no_repeat_rate=float((c.n_repeated == 0).mean()),
                           hallucinated_per_answer=c.n_hallucinated.mean(), consistency=c.consistency.mean(),
                           fit_top_correct=c.fit_top_correct.mean(), fit_r_error=c.fit_r_error.mean())
            for col in ("follows_fit", "departs", "contradicts_fit"):   # answers written before lack them
                if col in c:
                    row[col] = c[col].mean()
        out.append(row)
    return pd.DataFrame(out).set_index("task")
