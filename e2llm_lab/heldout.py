"""The held-out record: which subjects a model trained on and never saw, and how its samples were windowed.

Saved with every checkpoint as ``training_data.json`` (the keys of :meth:`HeldOut.to_dict`), it carries the
leakage policy: :func:`held_out_rows` hands out a model's test rows only for subjects no training stage saw, and
:func:`training_windows` windows window-level features as training did.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import DataConfig

__all__ = ["DEFAULT_STRIDE", "HeldOut", "held_out_rows", "training_windows"]

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
    from .data.featureset import LeakageError, check_no_leakage  # lazy: the data package loads every reader

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
