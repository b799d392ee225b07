"""Audit a FeatureSet before any number is trusted: near-copies of subjects, label confounds, balance, dead channels.

A cross-subject accuracy means something only if the test people are new to the model and the label is the only
thing the classes share. Four kinds of data defect break that silently, and no split guard sees them:

- **near-duplicate subjects** ("twins"): one person's windows stored again under another id, copy plus noise. A
  subject-wise split with one twin in training and the other in test leaks the test person
  (:func:`e2llm_lab.data.twins.find_twins`);
- **confounded designs**: one trial per label per subject (label and trial identity are the same thing), labels
  that follow recording order or session;
- **balance and size**: labels missing from subjects, unequal classes (chance is not 1/K), tiny subjects;
- **channels and scales**: dead or constant channels, non-finite values, feature scales that differ between
  subjects (unless the features are z-scored per subject, which the audit detects and says).

:func:`audit` runs them all and returns an :class:`AuditReport`, one row per finding, each with its evidence and
what it means for the figures a model reports on this data. :func:`e2llm_lab.data.splits.split` refuses a split
that puts twins on both sides. Checks work on window-level features; samples of several windows are averaged over
their windows first (and the report says so).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .twins import _BLOCK, _TWIN_MEANING, _Cohort, _cohort, _distances, _plain, _spread, _twin_search

__all__ = ["AuditReport", "audit", "DUP_TRIAL_RATIO", "N_TRIAL_QUERIES"]

COLUMNS = ("check", "severity", "finding", "evidence", "meaning")
SEVERITIES = ("problem", "warning", "ok")
#: Two trials of one subject are near-duplicates below this ratio to the subject's usual cross-trial distance.
DUP_TRIAL_RATIO = 0.25
#: Windows per subject (evenly spread) that look for their nearest window in the subject's other trials.
N_TRIAL_QUERIES = 1024


@dataclass
class AuditReport:
    """What :func:`audit` found: one row per finding, the twin pairs, and every verified subject pair.

    Attributes
    ----------
    table : pd.DataFrame
        Columns ``check, severity, finding, evidence, meaning``; severity is ``"problem"``, ``"warning"`` or
        ``"ok"``; problems first.
    twins : list of Twin
        Near-duplicate subject pairs (pass them to :func:`e2llm_lab.data.splits.split` as ``twins=``).
    pairs : pd.DataFrame
        Every subject pair compared window by window: ``subject_a, subject_b, distance, ratio, aligned, twin``.
    seconds : float
        How long the audit took.
    """

    table: pd.DataFrame
    twins: list = field(default_factory=list)
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    seconds: float = 0.0

    @property
    def problems(self) -> pd.DataFrame:
        """The rows of severity ``"problem"``."""
        return self.table[self.table.severity == "problem"]

    def verdict(self) -> str:
        """One paragraph: how many problems and warnings, and which checks raised them."""
        counts = self.table.severity.value_counts()
        n_p, n_w = int(counts.get("problem", 0)), int(counts.get("warning", 0))
        if n_p + n_w == 0:
            return f"No problem found: {len(self.table)} checks passed."
        named = "; ".join(f"{r.severity}: {r.finding}" for r in self.table.itertuples() if r.severity != "ok")
        lead = ("Figures on this data mislead unless these are fixed, or stated beside every number." if n_p
                else "Usable, with these caveats.")
        return f"{n_p} problem(s), {n_w} warning(s). {lead} {named}"

    def __str__(self) -> str:
        lines = [self.verdict(), ""]
        for r in self.table.itertuples():
            lines += [f"[{r.severity}] {r.check}: {r.finding}", f"    evidence: {r.evidence}"]
            lines += [f"    meaning: {r.meaning}"] if r.meaning else []
        return "\n".join(lines)


def _row(check: str, severity: str, finding: str, evidence: str, meaning: str) -> dict:
    return dict(zip(COLUMNS, (check, severity, finding, evidence, meaning)))


def _twin_rows(twins: list, pairs: pd.DataFrame, info: dict, co: _Cohort) -> list[dict]:
    check = "near-duplicate subjects"
    ref = (f"one person {info['within']:.2f}, two people {info['between']:.2f} (median nearest-window distances); "
           f"{info['how']}; {co.note}")
    if twins:
        names = ", ".join(f"{t.subjects[0]} and {t.subjects[1]}" for t in twins)
        return [_row(check, "problem", f"{len(twins)} pair(s) of subjects are near copies window by window: {names}",
                     "; ".join(map(str, twins)) + f". Reference: {ref}", _TWIN_MEANING)]
    if pairs.empty:
        return [_row(check, "ok", "one subject only: nothing to compare", co.note, "")]
    top = pairs.iloc[0]
    closest = (f"closest pair {top.subject_a} and {top.subject_b}: ratio {top.ratio:.2f}, "
               f"{top.aligned:.0%} the same window" if np.isfinite(top.ratio) else
               f"closest pair {top.subject_a} and {top.subject_b}: {top.aligned:.0%} the same window")
    return [_row(check, "ok", f"no two of the {len(co.subjects)} subjects are near copies of each other",
                 f"{closest}. Reference: {ref}",
                 "Held-out subjects are new people to a model trained on the others, as far as copies go.")]


def _trial_distances(A: np.ndarray, cut: np.ndarray) -> tuple[np.ndarray, float]:
    """Mean nearest-window distance from each trial to each other trial of one subject, and the subject's median
    distance from a window to the nearest window of another trial.

    Parameters
    ----------
    A : np.ndarray, shape (n_windows, d)
        One subject's windows, trials contiguous.
    cut : np.ndarray of int, shape (n_trials,)
        Where each trial starts in ``A``.

    Returns
    -------
    per : np.ndarray, shape (n_trials, n_trials)
        NaN on the diagonal and for trials none of whose windows was a query.
    ref : float
    """
    q = _spread(len(A), N_TRIAL_QUERIES)
    own = np.searchsorted(cut, q, side="right") - 1                          # the trial of each query
    to_trial = np.concatenate([np.minimum.reduceat(_distances(A[q[lo:lo + _BLOCK]], A), cut, axis=1)
                               for lo in range(0, len(q), _BLOCK)])           # (n_queries, n_trials)
    to_trial[np.arange(len(q)), own] = np.nan
    per = np.zeros((len(cut), len(cut)))
    np.add.at(per, own, to_trial)
    per /= np.bincount(own, minlength=len(cut))[:, None]                      # 0 / 0: NaN, a trial not queried
    return per, float(np.median(np.nanmin(to_trial, 1)))


def _duplicate_trials(co: _Cohort) -> list[dict]:
    """Trials of one subject that repeat another of its trials (a session or clip stored twice)."""
    found, ratios = [], []
    for i in range(len(co.subjects)):
        A, tr = co.V[co.rows(i)], co.trial[co.rows(i)]
        cut = np.sort(np.unique(tr, return_index=True)[1])
        if len(cut) < 2:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            per, ref = _trial_distances(A, cut)
        iu = np.triu_indices(len(cut), 1)
        pair = np.fmax(per[iu], per.T[iu]) / max(ref, 1e-12)                  # close in both directions
        if np.isfinite(pair).any():
            ratios.append(np.nanmin(pair))
        meta = co.meta.iloc[co.rows(i)].iloc[cut]
        name = [f"trial {_plain(t)} (session {_plain(s)})" for s, t in zip(meta.session, meta.trial)]
        found += [f"subject {_plain(co.subjects[i])}: {name[a]} and {name[b]}"
                  for a, b in zip(*(x[pair <= DUP_TRIAL_RATIO] for x in iu))]
    check = "near-duplicate trials"
    if found:
        return [_row(check, "problem", f"{len(found)} pair(s) of trials repeat each other within a subject: "
                     + "; ".join(found[:10]) + (" ..." if len(found) > 10 else ""),
                     f"nearest-window distance at most {DUP_TRIAL_RATIO} of the subject's usual distance between "
                     f"its trials (trials as (session, trial))",
                     "A trial stored twice sits on both sides of a trial-disjoint split: within-subject accuracy is "
                     "inflated. Drop the copies.")]
    low = f"lowest ratio {min(ratios):.2f}" if ratios else "no subject has two trials"
    return [_row(check, "ok", "no trial repeats another trial of its subject",
                 f"{low} (a repeat would be below {DUP_TRIAL_RATIO})", "")]


def _eta2(values: np.ndarray, subject: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Correlation ratio per subject: the share of the variance of ``values`` explained by ``label`` (0..1).

    Parameters
    ----------
    values : np.ndarray, shape (n,)
    subject, label : np.ndarray of int, shape (n,)
        Codes 0..n_subjects-1 and 0..n_labels-1.

    Returns
    -------
    np.ndarray, shape (n_subjects,)
    """
    values = np.asarray(values, dtype=np.float64)
    n_lab = int(label.max()) + 1
    cell = subject * n_lab + label
    n_cell = np.bincount(cell, minlength=(subject.max() + 1) * n_lab)
    cell_mean = np.bincount(cell, values, len(n_cell)) / np.maximum(n_cell, 1)
    n_sub = np.bincount(subject)
    sub_mean = np.bincount(subject, values) / n_sub
    total = np.bincount(subject, (values - sub_mean[subject]) ** 2)
    between = np.bincount(subject, (cell_mean[cell] - sub_mean[subject]) ** 2)
    return np.where(total > 0, between / np.where(total > 0, total, 1), 0.0)


def _subjects_text(subjects, n_max: int = 8) -> str:
    subjects = [_plain(s) for s in subjects]
    return ", ".join(map(str, subjects[:n_max])) + (f" and {len(subjects) - n_max} more" if len(subjects) > n_max
                                                    else "")


def _trial_rows(co: _Cohort) -> list[dict]:
    """One trial per label per subject: the label is the trial's identity."""
    m = co.meta.assign(_trial=co.trial)
    per_cell = m.groupby(["subject", "emotion"])._trial.nunique()
    single = per_cell[per_cell == 1]
    check = "label = trial identity"
    evidence = (f"{len(single)} of {len(per_cell)} (subject, label) cells hold one trial; trials per cell: "
                f"median {per_cell.median():.0f}, min {per_cell.min()}")
    if len(single) == len(per_cell):
        return [_row(check, "problem", "every subject has exactly one trial per label: label and trial identity are "
                     "the same thing", evidence,
                     "Anything that differs between recordings (the stimulus itself, electrode drift, fatigue, the "
                     "time of the recording) separates the classes as well as emotion does, and no split can tell "
                     "them apart: within-subject figures cannot be trial-disjoint at all, and cross-subject figures "
                     "measure 'which recording' as much as 'which emotion'. Report it beside every number.")]
    if len(single):
        subj = single.index.get_level_values("subject").unique()
        return [_row(check, "warning", f"{len(single)} (subject, label) cells hold one trial only (subjects "
                     f"{_subjects_text(subj)})", evidence,
                     "For those labels a trial-disjoint split of that subject cannot exist, and trial identity "
                     "stands in for the label.")]
    return [_row(check, "ok", "every subject has several trials of every label it has", evidence, "")]


def _order_rows(co: _Cohort) -> list[dict]:
    """Labels that follow recording order: position in the recording, or start_window itself."""
    sub = np.repeat(np.arange(len(co.subjects)), np.diff(co.starts))
    pos = np.arange(len(sub)) - co.starts[sub]                          # sorted by session, trial, start_window
    lab = pd.factorize(co.meta.emotion)[0]
    eta_pos = float(np.median(_eta2(pos, sub, lab)))
    eta_sw = float(np.median(_eta2(co.meta.start_window.to_numpy(), sub, lab)))
    rows = []
    sev = "problem" if eta_sw >= 0.5 else "warning" if eta_sw >= 0.2 else "ok"
    rows.append(_row("label vs start_window", sev,
                     (f"start_window predicts the label (it explains {eta_sw:.0%} of start_window's variance)"
                      if sev != "ok" else "start_window carries no label information"),
                     f"correlation ratio (eta squared) of start_window by label within subjects, median {eta_sw:.2f}",
                     "Labels tied to the position of a window in its recording mean that time (drift, fatigue, "
                     "adaptation) is a label; a model can score by reading the clock." if sev != "ok" else ""))
    sev = "problem" if eta_pos >= 0.8 else "warning" if eta_pos >= 0.5 else "ok"
    rows.append(_row("label vs recording order", sev,
                     (f"labels come in blocks of the recording (order explains {eta_pos:.0%} of its variance)"
                      if sev != "ok" else "labels are spread over the recording"),
                     f"correlation ratio of each window's position in its subject's recording (session, trial, "
                     f"start_window order; trial numbers taken as recording order) by label, median {eta_pos:.2f}",
                     "A block design: slow changes over a recording (impedance, vigilance, fatigue) separate the "
                     "labels, so within-subject figures are inflated (Li et al. 2021, IEEE TPAMI 43:316, on block "
                     "designs in EEG classification)." if sev != "ok" else ""))
    return rows + _session_rows(co)


def _cramers_v(table: np.ndarray) -> np.ndarray:
    """Cramer's V of each contingency table in ``table``, shape (n_tables, n_rows, n_cols) -> (n_tables,)."""
    table = table.astype(float)
    rows, cols, n = table.sum(2, keepdims=True), table.sum(1, keepdims=True), table.sum((1, 2), keepdims=True)
    k = np.minimum((rows[..., 0] > 0).sum(1), (cols[:, 0] > 0).sum(1)) - 1
    expected = rows * cols / np.maximum(n, 1)
    chi2 = np.where(expected > 0, (table - expected) ** 2 / np.where(expected > 0, expected, 1), 0).sum((1, 2))
    return np.where(k > 0, np.sqrt(chi2 / (n[:, 0, 0] * np.maximum(k, 1))), 0.0)


def _session_rows(co: _Cohort) -> list[dict]:
    sub = np.repeat(np.arange(len(co.subjects)), np.diff(co.starts))
    ses, lab = pd.factorize(co.meta.session)[0], pd.factorize(co.meta.emotion)[0]
    table = np.zeros((len(co.subjects), ses.max() + 1, lab.max() + 1))
    np.add.at(table, (sub, ses, lab), 1)                                  # (n_subjects, n_sessions, n_labels)
    multi = ((table.sum(2) > 0).sum(1) > 1)
    if not multi.any():
        return [_row("label vs session", "ok", "one session per subject: labels cannot follow sessions",
                     "sessions per subject: 1", "")]
    v = float(np.median(_cramers_v(table[multi])))
    sev = "problem" if v >= 0.8 else "warning" if v >= 0.5 else "ok"
    return [_row("label vs session", sev,
                 f"labels follow sessions (Cramer's V {v:.2f})" if sev != "ok" else "labels are spread over sessions",
                 f"Cramer's V of session by label within the {int(multi.sum())} subjects with several sessions, median "
                 f"{v:.2f}",
                 "Sessions differ in cap placement and impedance: a model can tell the session, not the emotion."
                 if sev != "ok" else "")]


def _balance_rows(co: _Cohort, label_space) -> list[dict]:
    """Labels per subject: missing labels, and how unequal the classes are."""
    counts = pd.crosstab(co.meta.subject, co.meta.emotion)                   # (n_subjects, n_labels present)
    present = list(counts.columns)
    missing = {_plain(s): [lab for lab in present if row[lab] == 0] for s, row in counts.iterrows()}
    missing = {s: labs for s, labs in missing.items() if labs}
    total = counts.sum(axis=0)
    ratio = float(total.max() / max(total.min(), 1))
    worst = float((counts.max(axis=1) / counts.replace(0, np.nan).min(axis=1)).max())
    majority = float(total.max() / total.sum())
    unused = [lab for lab in label_space.labels if lab not in present]
    evidence = (f"windows per label: {', '.join(f'{k} {v}' for k, v in total.items())}; largest/smallest class "
                f"{ratio:.2f} overall, {worst:.2f} in the most unequal subject; majority share {majority:.2f} "
                f"(1/K = {1 / len(present):.2f})" + (f"; labels of the space never used: {unused}" if unused else ""))
    rows = []
    if missing:
        text = "; ".join(f"{s} lacks {labs}" for s, labs in list(missing.items())[:8])
        rows.append(_row("class balance", "warning", f"{len(missing)} subject(s) lack a label: {text}", evidence,
                         "Per-subject figures on those subjects are over fewer classes, so their chance level differs; "
                         "pooled figures mix subjects with different tasks."))
    if ratio > 1.5 or worst > 2:
        rows.append(_row("class balance", "warning", f"classes are unequal (largest/smallest {ratio:.2f}, up to "
                         f"{worst:.2f} within a subject)", evidence,
                         f"Plain accuracy rewards guessing the majority ({majority:.0%} here): report balanced "
                         f"accuracy and chance computed from these counts, never 1/K."))
    return rows or [_row("class balance", "ok", "every subject has every label, in near-equal numbers", evidence, "")]


def _size_rows(co: _Cohort) -> list[dict]:
    n = pd.Series(np.diff(co.starts), index=[_plain(s) for s in co.subjects])
    floor = max(10, 0.25 * float(n.median()))
    small = n[n < floor]
    evidence = f"windows per subject: median {n.median():.0f}, min {n.min()} ({n.idxmin()}), max {n.max()}"
    if len(small):
        return [_row("subject size", "warning", f"{len(small)} subject(s) have under {floor:.0f} windows: "
                     f"{_subjects_text(small.index)}", evidence,
                     "Figures on a small subject are noisy, and per-subject z-scoring rests on few windows; "
                     "weigh per-subject results by size or drop these subjects.")]
    return [_row("subject size", "ok", f"every subject has at least {floor:.0f} windows", evidence, "")]


def _subject_moments(co: _Cohort) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject mean and SD of every feature (non-finite values taken as 0), shapes (n_subjects, d) each."""
    V = co.V
    mean, sd = np.zeros((len(co.subjects), V.shape[1])), np.zeros((len(co.subjects), V.shape[1]))
    for i in range(len(co.subjects)):                    # a loop of small reductions beats reduceat over axis 0
        x = V[co.rows(i)].astype(np.float64)
        mean[i], sd[i] = x.mean(0), x.std(0)
    return mean, sd


def _channel_rows(fs, co: _Cohort, sd: np.ndarray) -> list[dict]:
    """Non-finite values, and channels that are all zero or constant within a subject."""
    rows = []
    bad = ~np.isfinite(fs.X)                                                   # (N, T, C, F)
    if bad.any():
        chans = [fs.ch_names[c] for c in np.flatnonzero(bad.any((0, 1, 3)))]
        rows.append(_row("non-finite values", "problem", f"{int(bad.sum())} values are NaN or infinite, in "
                         f"channels {chans[:10]}", f"{bad.any((1, 2, 3)).sum()} of {len(bad)} samples affected",
                         "Every model and every z-score touching these samples is undefined; drop or repair them."))
    flat = sd.reshape(len(sd), fs.n_chans, fs.n_bands).max(2) < 1e-6          # (n_subjects, C): flat in every band
    dead = {fs.ch_names[c]: [_plain(s) for s in co.subjects[flat[:, c]]] for c in np.flatnonzero(flat.any(0))}
    if dead:
        everywhere = [c for c, s in dead.items() if len(s) == len(co.subjects)]
        text = "; ".join(f"{c} in {len(s)} subject(s)" for c, s in list(dead.items())[:10])
        rows.append(_row("dead channels", "problem" if everywhere else "warning",
                         f"{len(dead)} channel(s) are constant (all-zero or zero variance) within subjects: {text}",
                         f"per subject, the channel's SD over its windows is below 1e-6 in every band; dead in every "
                         f"subject: {everywhere or 'none'}",
                         "A flat channel carries no EEG: attributions and topomaps on it are meaningless, and a "
                         "channel dead in some subjects only is a subject marker a model can use. Interpolate it or "
                         "drop it (FeatureSet.select)."))
    if not rows:
        rows.append(_row("dead channels", "ok", "no channel is constant and every value is finite",
                         f"{fs.n_chans} channels x {fs.n_bands} bands in {len(co.subjects)} subjects", ""))
    return rows


def _scale_rows(co: _Cohort, mean: np.ndarray, sd: np.ndarray) -> list[dict]:
    """Feature scales and offsets between subjects, unless the features are z-scored per subject."""
    live = sd > 1e-6
    check = "feature scale across subjects"
    if live.any() and np.all(np.abs(mean[live]) < 0.05) and np.all(np.abs(sd[live] - 1) < 0.05):
        return [_row(check, "ok", "features are z-scored per subject: scale and offset differences between subjects "
                     "are removed", "every subject's channel x band features have mean 0 and SD 1 (within 0.05)",
                     "Figures do not ride on a subject's overall level; what differs between subjects is pattern, "
                     "not scale (z-scoring uses the subject's own unlabelled windows, allowed for held-out subjects).")]
    scale = np.array([np.median(s[ok]) if ok.any() else np.nan for s, ok in zip(sd, live)])   # (n_subjects,)
    mid = np.nanmedian(scale)
    odd = [(_plain(s), v / mid) for s, v in zip(co.subjects, scale) if not 0.5 <= v / mid <= 2]
    offset = float(np.median(mean.std(0) / np.maximum(np.median(sd, 0), 1e-12)))
    evidence = (f"median feature SD per subject {np.nanmin(scale):.3g}..{np.nanmax(scale):.3g} (median {mid:.3g}); "
                f"spread of subject means over the median within-subject SD, median over features {offset:.2f}")
    rows = []
    if odd:
        text = ", ".join(f"{s} (x{r:.1f})" for s, r in odd[:8])
        rows.append(_row(check, "warning", f"{len(odd)} subject(s) have feature scales more than 2x off the "
                         f"cohort's: {text}", evidence,
                         "A model trained on pooled features learns who is loud, not what is felt; z-score per "
                         "subject (FeatureSet.normalized('subject')) before training."))
    if offset > 1:
        rows.append(_row(check, "warning", f"subjects differ more from each other than their windows do (offset "
                         f"ratio {offset:.2f}); features are not z-scored per subject", evidence,
                         "Without per-subject normalisation, cross-subject figures mostly measure how far a new "
                         "person's baseline is from the training people's; z-score per subject."))
    return rows or [_row(check, "ok", "feature scales are alike across subjects (not z-scored per subject)", evidence,
                         "")]


# -- the audit --------------------------------------------------------------------------------------------------

def audit(fs, *, seed: int = 0) -> AuditReport:
    """Check a FeatureSet for the data defects that make a model's reported figures untrustworthy.

    Runs, in order: near-duplicate subjects (:func:`find_twins`) and trials; label confounds (one trial per label
    per subject, labels following start_window, recording order or session); class balance per subject; subject
    size; non-finite values and dead channels; feature scales across subjects.

    Parameters
    ----------
    fs : FeatureSet
        ``X`` of shape (n_samples, n_steps, n_chans, n_bands) with its meta (subject, session, trial,
        start_window, emotion). Window-level features (``n_steps = 1``) are checked as they are; samples of
        several windows are averaged over their windows.
    seed : int
        Seeds the twin search's random projection and reference pairs.

    Returns
    -------
    AuditReport
        ``table`` (one row per finding, problems first), ``twins``, ``pairs``, ``seconds``; ``print(report)`` or
        ``report.verdict()`` for a summary.

    Examples
    --------
    >>> report = audit(load_sample())
    >>> report.problems.empty, report.twins
    (True, [])
    """
    if len(fs) == 0:
        raise ValueError("the FeatureSet has no samples: nothing to audit")
    t0 = time.perf_counter()
    co = _cohort(fs)
    twins, pairs, info = _twin_search(co, seed)
    mean, sd = _subject_moments(co)
    rows = (_twin_rows(twins, pairs, info, co) + _duplicate_trials(co) + _trial_rows(co) + _order_rows(co)
            + _balance_rows(co, fs.label_space) + _size_rows(co) + _channel_rows(fs, co, sd)
            + _scale_rows(co, mean, sd))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    rank = table.severity.map({s: i for i, s in enumerate(SEVERITIES)})
    table = table.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
    return AuditReport(table, twins, pairs, time.perf_counter() - t0)
