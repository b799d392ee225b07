"""Classification metrics with unreadable predictions counted as wrong: the one definition every layer uses
(stage 1's head in the training pipeline, every table of the evaluation)."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, cohen_kappa_score, f1_score

__all__ = ["METRICS", "classification_metrics"]

METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "kappa")


def classification_metrics(y_true, y_pred, *, n_classes: int | None = None) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro-F1 (over all ``n_classes`` classes) and Cohen's kappa.

    ``n_classes`` is the size of the label space (default: the largest label seen, plus one); -1 marks an
    unreadable prediction, which counts as wrong.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    labels = np.arange(n_classes)
    with warnings.catch_warnings():     # unparsed answers (-1) are a class of their own here, on purpose
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        warnings.filterwarnings("ignore", message="A single label was found")    # one subject, one label
        return _metrics(y_true, y_pred, labels)


def _metrics(y_true, y_pred, labels) -> dict[str, float]:
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "kappa": cohen_kappa_score(y_true, y_pred, labels=labels) if len(np.unique(y_true)) > 1 else np.nan,
    }
