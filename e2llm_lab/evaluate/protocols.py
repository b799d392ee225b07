"""Stage-1 evaluation protocols, classification metrics and baselines.

Protocols (each split checks itself for leakage before any model sees it):

- ``"loso"``: cross-subject, leave one subject out;
- ``"kfold"``: cross-subject, k folds of whole subjects;
- ``"trial"``: subject-dependent, trial-disjoint (whole clips held out within each subject).

A *model* here is a function ``fit_predict(train: FeatureSet, test: FeatureSet) -> y_pred`` (or a dict of
named predictions, so one trained encoder can report its head and its linear probe side by side).
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from .._metrics import METRICS, classification_metrics
from ..config import EncoderConfig, PretrainConfig
from ..data.featureset import FeatureSet
from ..data.splits import check_no_leakage, kfold_by_subject, leave_one_subject_out, trial_split
from ..labels import SEED7
from ..training.pretrain import pretrain_encoder

__all__ = ["PROTOCOLS", "confusion_table", "make_folds", "cross_validate",
           "summarize", "logistic_regression", "mlp", "chance", "encoder_models"]

PROTOCOLS = ("loso", "kfold", "trial")


def confusion_table(y_true, y_pred, *, labels=SEED7.labels) -> pd.DataFrame:
    """Confusion matrix as a DataFrame (rows: true emotion, columns: predicted)."""
    cm = confusion_matrix(y_true, y_pred, labels=np.arange(len(labels)))
    return pd.DataFrame(cm, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="predicted"))


def make_folds(meta: pd.DataFrame, protocol: str = "loso", *, n_splits: int = 4, seed: int = 0):
    """Train/test index pairs for a protocol (see module docstring)."""
    if protocol == "loso":
        return leave_one_subject_out(meta)
    if protocol == "kfold":
        return kfold_by_subject(meta, n_splits, seed=seed)
    if protocol == "trial":
        return [trial_split(meta, seed=seed)]
    raise ValueError(f"protocol={protocol!r}; allowed: {PROTOCOLS}")


def cross_validate(fs: FeatureSet, models: dict[str, Callable], *, protocol: str = "loso", n_splits: int = 4,
                   seed: int = 0, progress: bool = True) -> dict:
    """Run every model on the same folds.

    Returns
    -------
    dict with
        ``per_subject``: DataFrame, one row per (model, fold, test subject) with the metrics;
        ``summary``: mean and std over those rows per model;
        ``confusion``: dict model -> confusion DataFrame pooled over folds;
        ``seconds``: dict model -> wall time.
    """
    folds = make_folds(fs.meta, protocol, n_splits=n_splits, seed=seed)
    level = "trial" if protocol == "trial" else "subject"
    y = fs.labels()
    rows, preds, seconds = [], {}, {}
    for k, (tr, te) in enumerate(tqdm(folds, desc=f"{protocol} folds", disable=not progress)):
        check_no_leakage(fs.meta, tr, te, level=level)       # again, right where the models are fed
        train, test = fs.subset(tr), fs.subset(te)
        for name, fit_predict in models.items():
            t0 = time.perf_counter()
            out = fit_predict(train, test)
            dt = time.perf_counter() - t0
            out = out if isinstance(out, dict) else {name: out}
            for sub_name, y_pred in out.items():
                seconds[sub_name] = seconds.get(sub_name, 0.0) + dt
                preds.setdefault(sub_name, []).append((y[te], np.asarray(y_pred)))
                for s in np.unique(test.meta.subject):
                    sel = (test.meta.subject == s).to_numpy()
                    rows.append({"model": sub_name, "fold": k, "subject": s, "n_test": int(sel.sum()),
                                 **classification_metrics(y[te][sel], np.asarray(y_pred)[sel],
                                                          n_classes=len(fs.label_space))})
    per_subject = pd.DataFrame(rows)
    confusion = {m: confusion_table(np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]),
                                    labels=fs.label_space.labels) for m, v in preds.items()}
    return {"per_subject": per_subject, "summary": summarize(per_subject), "confusion": confusion,
            "seconds": seconds}


def summarize(per_subject: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of each metric per model (rows in first-seen order)."""
    g = per_subject.groupby("model", sort=False)[list(METRICS)]
    out = g.mean().add_suffix("_mean").join(g.std().add_suffix("_std"))
    return out[[f"{m}_{s}" for m in METRICS for s in ("mean", "std")]]


# -- models -------------------------------------------------------------------------------------------------

def _flat(fs: FeatureSet) -> np.ndarray:
    return fs.X.reshape(len(fs), -1)                           # (N, T, C, F) -> (N, T*C*F)


def logistic_regression(train: FeatureSet, test: FeatureSet, *, C: float = 0.1) -> np.ndarray:
    """Baseline: standardised, L2-regularised logistic regression on flattened DE features."""
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    return clf.fit(_flat(train), train.labels()).predict(_flat(test))


def mlp(train: FeatureSet, test: FeatureSet, *, seed: int = 0) -> np.ndarray:
    """Baseline: a one-hidden-layer MLP (scikit-learn) on flattened DE features, early-stopped."""
    clf = make_pipeline(StandardScaler(), MLPClassifier((128,), alpha=1e-2, early_stopping=True, max_iter=300,
                                                        random_state=seed))
    return clf.fit(_flat(train), train.labels()).predict(_flat(test))


def chance(train: FeatureSet, test: FeatureSet, *, seed: int = 0) -> np.ndarray:
    """Uniform random guesses over the emotions seen in training (expected balanced accuracy 1/n_classes)."""
    classes = np.unique(train.labels())
    return np.random.default_rng(seed).choice(classes, len(test))


def encoder_models(cfg: PretrainConfig = PretrainConfig(), encoder_cfg: EncoderConfig = EncoderConfig(), *,
                   probe_C: float = 0.1, progress: bool = False) -> Callable:
    """A model function that pretrains an encoder on the training fold and reports two predictions:

    ``"encoder"`` (its own classification head) and ``"linear_probe"`` (logistic regression on the frozen
    global embedding, trained on the same training fold).
    """
    def fit_predict(train: FeatureSet, test: FeatureSet) -> dict[str, np.ndarray]:
        encoder, _ = pretrain_encoder(train, cfg, encoder_cfg=encoder_cfg, progress=progress)
        head = encoder.predict_logits(test.X).argmax(1)
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=probe_C, max_iter=2000))
        probe.fit(encoder.embed(train.X), train.labels())
        return {"encoder": head, "linear_probe": probe.predict(encoder.embed(test.X))}

    return fit_predict
