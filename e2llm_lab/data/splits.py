"""Splits and the leakage guard: every way the toolkit divides data, and the checks that no split leaks.

Leakage is the field's classic error. Windows of one trial never sit on both sides of a split
(:func:`check_no_leakage` at ``level="trial"``), and a cross-subject result never sees its test subject
(``level="subject"``). Every splitter here checks its own output, and so does every consumer of a saved model:

- folds for stage-1 protocols: :func:`leave_one_subject_out`, :func:`kfold_by_subject`, :func:`trial_split`
  (subject-dependent, trial-disjoint), and :func:`subject_holdout` (validation subjects for early stopping);
- the pipeline's split: :func:`split` turns window-level features into the encoder's samples and holds whole
  subjects out of every training stage (:class:`Split`);
- the record a model keeps of it: :class:`HeldOut` (saved as ``training_data.json``), with
  :func:`held_out_rows`, which hands out a model's test rows only for subjects no training stage saw, and
  :func:`training_windows`, which windows new window-level features as training did.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import DataConfig
from .featureset import TRIAL_KEY
from .twins import find_twins

__all__ = ["LeakageError", "check_no_leakage", "leave_one_subject_out", "kfold_by_subject", "trial_split",
           "subject_holdout", "Split", "split", "DEFAULT_STRIDE", "HeldOut", "held_out_rows", "training_windows"]


class LeakageError(ValueError):
    """A split puts the same trial (or, across subjects, the same subject) on both sides."""


def _keys(meta: pd.DataFrame, idx, cols) -> set:
    return set(map(tuple, meta.iloc[np.asarray(idx)][cols].to_numpy().tolist()))


def check_no_leakage(meta: pd.DataFrame, train_idx, test_idx, *, level: str = "trial") -> None:
    """Raise :class:`LeakageError` if a trial (``level="trial"``) or a subject (``level="subject"``) is on both sides.

    Parameters
    ----------
    meta : pd.DataFrame
        FeatureSet meta.
    train_idx, test_idx : array of int
    level : {"trial", "subject"}
        ``"subject"`` is the cross-subject guarantee: the test subject is never seen in training.
    """
    if level not in ("trial", "subject"):
        raise ValueError(f"level={level!r}; allowed: 'trial', 'subject'")
    cols = TRIAL_KEY if level == "trial" else ["subject"]
    both = _keys(meta, train_idx, cols) & _keys(meta, test_idx, cols)
    if both:
        shown = sorted(both)[:5]
        raise LeakageError(f"{len(both)} {level}(s) sit on both sides of the split, e.g. {shown} "
                           f"({', '.join(cols)}); split by {level} so that every window of one stays on one side")


def leave_one_subject_out(meta: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-subject folds: each subject is the test set once.

    Returns
    -------
    list of (train_idx, test_idx)
    """
    subjects = meta.subject.to_numpy()
    folds = []
    for s in np.unique(subjects):
        tr, te = np.flatnonzero(subjects != s), np.flatnonzero(subjects == s)
        check_no_leakage(meta, tr, te, level="subject")
        folds.append((tr, te))
    return folds


def kfold_by_subject(meta: pd.DataFrame, n_splits: int = 5, *, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-subject k-fold: subjects shuffled (by ``seed``) into ``n_splits`` disjoint groups."""
    uniq = np.unique(meta.subject.to_numpy())
    if not 2 <= n_splits <= len(uniq):
        raise ValueError(f"n_splits={n_splits} must be between 2 and the number of subjects ({len(uniq)})")
    groups = np.array_split(np.random.default_rng(seed).permutation(uniq), n_splits)
    subjects = meta.subject.to_numpy()
    folds = []
    for g in groups:
        te_mask = np.isin(subjects, g)
        tr, te = np.flatnonzero(~te_mask), np.flatnonzero(te_mask)
        check_no_leakage(meta, tr, te, level="subject")
        folds.append((tr, te))
    return folds


def trial_split(meta: pd.DataFrame, *, test_trials_per_emotion: int = 1, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Subject-dependent, trial-disjoint split: per subject and emotion, hold out whole trials.

    Every subject appears on both sides, but no trial does.

    Parameters
    ----------
    test_trials_per_emotion : int
        Trials of each emotion per subject that go to the test side; each (subject, emotion) needs more.
    """
    rng = np.random.default_rng(seed)
    trials = meta[TRIAL_KEY + ["emotion"]].drop_duplicates()
    test_keys = set()
    for (s, e), g in trials.groupby(["subject", "emotion"], sort=True):
        if len(g) <= test_trials_per_emotion:
            raise ValueError(f"subject {s} has {len(g)} trial(s) of {e}; a trial-disjoint split holding out "
                             f"{test_trials_per_emotion} needs more (lower test_trials_per_emotion)")
        pick = rng.choice(len(g), test_trials_per_emotion, replace=False)
        test_keys |= set(map(tuple, g.iloc[pick][TRIAL_KEY].to_numpy().tolist()))
    is_test = np.array([k in test_keys for k in map(tuple, meta[TRIAL_KEY].to_numpy().tolist())])
    tr, te = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    check_no_leakage(meta, tr, te, level="trial")
    return tr, te


def subject_holdout(meta: pd.DataFrame, idx, *, n_val_subjects: int = 1, seed: int = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` (a training set) into train/validation by whole subjects, for early stopping.

    The validation subjects come from ``idx`` alone, so the test subject never guides training.
    """
    idx = np.asarray(idx)
    subjects = meta.subject.to_numpy()[idx]
    uniq = np.unique(subjects)
    if len(uniq) <= n_val_subjects:
        raise ValueError(f"{len(uniq)} training subject(s) cannot give {n_val_subjects} validation subject(s)")
    val_subj = np.random.default_rng(seed).choice(uniq, n_val_subjects, replace=False)
    is_val = np.isin(subjects, val_subj)
    tr, va = idx[~is_val], idx[is_val]
    check_no_leakage(meta, tr, va, level="subject")
    return tr, va


# -- the pipeline's split: whole subjects held out of every training stage ---------------------------------

@dataclass(frozen=True)
class Split:
    """The encoder's samples and which rows train and which are held out (whole subjects, never both sides).

    Attributes
    ----------
    samples : FeatureSet
        ``X`` of shape (n_samples, n_steps, n_chans, n_bands): ``n_steps`` consecutive windows of one trial, a new
        sample every ``step_stride`` windows.
    train_idx, test_idx : np.ndarray of int
        Rows of ``samples``; their subjects are disjoint (checked when the split is made).
    test_subjects : tuple
        The subjects held out of every stage.
    stride : int
        The hop between samples, in windows (saved with the model, so evaluation windows the same way).
    """

    samples: object
    train_idx: object
    test_idx: object
    test_subjects: tuple
    stride: int


def split(fs, test_subjects, cfg: DataConfig = DataConfig(), *, twins=None, skip_twin_check: str | None = None,
          say=print) -> Split:
    """Window-level features -> the encoder's samples, with ``test_subjects`` held out of every stage.

    Two guards run before any sample is made. Whole subjects are held out (no subject on both sides), and so are
    their **twins**: a subject whose windows are near copies of a held-out subject's
    (:func:`e2llm_lab.data.twins.find_twins`) must be held out too, or the model meets the test person in training.

    Samples hold ``cfg.n_steps`` consecutive windows of one trial. When the data's trials are shorter (per-trial
    features, one vector per trial, as DEAP, MAHNOB and DREAMER features circulate), the rule is: samples hold
    ``min(cfg.n_steps, the longest trial's windows)`` windows, trials shorter than that give none, and one printed
    line says so (all one-window trials: one-window samples, every trial kept). The samples' ``n_steps`` travels
    with the split (``sp.samples.n_steps``): the encoder is sized by it and the model's record keeps it, so a model
    trained on 1-window samples is evaluated on 1-window samples.

    Parameters
    ----------
    fs : FeatureSet
        Window-level features (``n_steps = 1``), z-scored per subject.
    test_subjects : sequence
        Subjects no training stage may see.
    cfg : DataConfig
        ``n_steps`` (windows per sample, at most) and ``step_stride`` (hop between samples, in windows).
    twins : sequence of Twin or of subject pairs, optional
        Known near-duplicate pairs (``audit(fs).twins``); default: found here with :func:`find_twins`.
    skip_twin_check : str, optional
        Skip the twin guard; give the reason (printed with the split), e.g. ``"twins dropped upstream"``.
    say : callable
        Where the line about shortened samples or a skipped guard goes (``print``; a no-op to keep quiet).

    Raises
    ------
    ValueError
        For features that are not window-level, or held-out subjects absent from them.
    LeakageError
        If a held-out subject's twin is in training (naming both and how to proceed), or a subject ended up on
        both sides (a guard: the split is by subject).
    """
    if fs.n_steps != 1:
        raise ValueError(f"features must be window-level (n_steps = 1), got n_steps = {fs.n_steps}")
    test_subjects = tuple(test_subjects)
    unknown = set(test_subjects) - set(fs.meta.subject)
    if unknown:
        raise ValueError(f"test subjects {sorted(unknown)} are not in the features (subjects: "
                         f"{sorted(set(fs.meta.subject))})")
    _check_twins(fs, test_subjects, twins, skip_twin_check, say)
    samples = _samples(fs, cfg, say)
    test = samples.meta.subject.isin(test_subjects).to_numpy()
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    check_no_leakage(samples.meta, train_idx, test_idx, level="subject")
    return Split(samples, train_idx, test_idx, test_subjects, cfg.step_stride)


def _check_twins(fs, test_subjects: tuple, twins, skip: str | None, say) -> None:
    """Raise :class:`LeakageError` when a held-out subject's near copy is left in training."""
    if skip is not None:
        if not str(skip).strip():
            raise ValueError("skip_twin_check needs a reason (a non-empty string), e.g. 'twins dropped upstream'")
        say(f"split: twin check skipped ({skip})")
        return
    if twins is None:
        twins = find_twins(fs)
    held = set(test_subjects)
    split_pairs = [t for t in twins if (_pair(t)[0] in held) != (_pair(t)[1] in held)]
    if not split_pairs:
        return
    shown = []
    for t in split_pairs:
        a, b = _pair(t)
        test_one, train_one = (a, b) if a in held else (b, a)
        shown.append(f"test subject {test_one} is a near copy of training subject {train_one}"
                     + (f" ({t})" if hasattr(t, "aligned") else ""))
    in_training = sorted({_plain(s) for t in split_pairs for s in _pair(t) if s not in held}, key=_subject_order)
    together = tuple(sorted({_plain(s) for s in held} | set(in_training), key=_subject_order))
    raise LeakageError(f"{'; '.join(shown)}. A model trained with the twin has in effect seen the test person, so its "
                       f"held-out figures would be inflated. Hold the twins out together (test_subjects={together}) "
                       f"or drop one of each pair (fs.subset(~fs.meta.subject.isin({in_training}))); to go on "
                       f"regardless, pass skip_twin_check='<your reason>'")


def _pair(twin) -> tuple:
    return tuple(twin.subjects) if hasattr(twin, "subjects") else tuple(twin)


def _samples(fs, cfg: DataConfig, say):
    """Samples of ``cfg.n_steps`` windows, or of as many as the longest trial holds (the rule in :func:`split`)."""
    lengths = fs.meta.groupby(TRIAL_KEY, sort=False).size().to_numpy()
    n_steps = min(cfg.n_steps, int(lengths.max()))
    short = int((lengths < n_steps).sum())
    dropped = f"{short} of {len(lengths)} trials are shorter and give no sample" if short else "every trial kept"
    if n_steps < cfg.n_steps:
        say(f"split: the longest trial holds {n_steps} window(s), fewer than n_steps={cfg.n_steps}; samples of "
            f"{n_steps} window(s) instead ({dropped})")
    elif short:
        say(f"split: samples of {n_steps} windows; {dropped}")
    return fs.with_steps(n_steps, stride=cfg.step_stride)


# -- the record a model keeps of its split -------------------------------------------------------------------

#: Sample stride used for a model that records none: the data config's default.
DEFAULT_STRIDE = DataConfig().step_stride
_KEYS = ("train_subjects", "test_subjects", "n_steps", "stride", "feature")


def _plain(v):
    """A numpy scalar -> the Python value (JSON-ready)."""
    return v.item() if hasattr(v, "item") else v


def _subject_order(s) -> tuple:
    """Numbers before names, numbers by value (subject 2 before 10)."""
    return isinstance(s, str), s if not isinstance(s, str) else 0, str(s)


@dataclass(frozen=True)
class HeldOut:
    """The data a model was trained on: its training and held-out subjects and its sample windowing.

    Parameters
    ----------
    train_subjects, test_subjects : tuple
        Subject ids (int or str) seen by training, and never seen by any training stage.
    n_steps : int
        Windows per sample.
    stride : int
        Hop, in windows, between consecutive samples.
    feature : str
        The feature the samples hold (e.g. ``"de_gaussian_lds"``).
    """

    train_subjects: tuple
    test_subjects: tuple
    n_steps: int
    stride: int
    feature: str

    @classmethod
    def from_split(cls, fs, train_idx, test_idx, *, stride: int) -> HeldOut:
        """The record of a training split of ``fs`` (rows ``train_idx``; held out: rows ``test_idx``)."""
        subjects = fs.meta.subject.to_numpy()
        pick = lambda idx: tuple(sorted({_plain(s) for s in subjects[np.asarray(idx)]}, key=_subject_order))  # noqa: E731
        return cls(pick(train_idx), pick(test_idx), int(fs.n_steps), int(stride), fs.feature)

    def to_dict(self) -> dict:
        """The JSON form saved as ``training_data.json`` (subjects as lists)."""
        return {"train_subjects": list(self.train_subjects), "test_subjects": list(self.test_subjects),
                "n_steps": self.n_steps, "stride": self.stride, "feature": self.feature}

    @classmethod
    def from_dict(cls, d: dict) -> HeldOut:
        """Inverse of :meth:`to_dict` (reads every checkpoint's ``training_data.json``)."""
        missing = [k for k in _KEYS if k not in d]
        if missing:
            raise KeyError(f"the held-out record lacks {missing}; it needs {list(_KEYS)}")
        return cls(tuple(d["train_subjects"]), tuple(d["test_subjects"]), int(d["n_steps"]), int(d["stride"]),
                   d["feature"])


def training_windows(fs, n_steps: int, record: HeldOut | None = None):
    """Window-level features (``fs.n_steps == 1``) -> samples of ``n_steps`` windows, with the record's stride
    (:data:`DEFAULT_STRIDE` without a record); other features are returned as they are."""
    if fs.n_steps == 1 and n_steps > 1:
        fs = fs.with_steps(n_steps, stride=DEFAULT_STRIDE if record is None else record.stride)
    return fs


def held_out_rows(record: HeldOut | None, fs, subjects: Sequence | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``fs`` from the other subjects and from held-out ``subjects`` (default the record's test subjects).

    Parameters
    ----------
    record : HeldOut or None
        None for a model that does not record its subjects: then ``subjects`` must be named.
    fs : FeatureSet
    subjects : sequence, optional

    Returns
    -------
    train_rows, test_rows : np.ndarray of int, shapes (n_train,), (n_test,)

    Raises
    ------
    LeakageError
        When a requested subject was seen in training: the model's figures on it would be inflated.
    """
    test_subjects = None if record is None else record.test_subjects
    seen = set(map(str, () if record is None else record.train_subjects))
    subjects = tuple(test_subjects or ()) if subjects is None else tuple(subjects)
    if not subjects:
        raise ValueError("name the held-out subjects: this model does not record which subjects it never saw")
    leaked = sorted(s for s in subjects if str(s) in seen)
    if leaked:
        raise LeakageError(f"subjects {leaked} were seen in training; evaluate or explain this model only on "
                           f"subjects it never saw: {test_subjects}")
    known = {str(s): s for s in fs.meta.subject.unique()}
    missing = [s for s in subjects if str(s) not in known]
    if missing:
        raise ValueError(f"held-out subjects {missing} are not in the features (subjects: {sorted(known, key=str)})")
    test = fs.meta.subject.astype(str).isin({str(s) for s in subjects}).to_numpy()
    tr, te = np.flatnonzero(~test), np.flatnonzero(test)
    check_no_leakage(fs.meta, tr, te, level="subject")
    return tr, te
