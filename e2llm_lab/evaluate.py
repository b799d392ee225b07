"""Evaluation protocols and metrics.

Stage 1 protocols (each split checks itself for leakage before any model sees it):

- ``"loso"``: cross-subject, leave one subject out;
- ``"kfold"``: cross-subject, k folds of whole subjects;
- ``"trial"``: subject-dependent, trial-disjoint (whole clips held out within each subject).

A *model* here is a function ``fit_predict(train: FeatureSet, test: FeatureSet) -> y_pred`` (or a dict of
named predictions, so one trained encoder can report its head and its linear probe side by side).

For the LLM, :func:`evaluate_generation` asks held-out subjects' samples each task, parses the answers without
guessing, and checks every rationale claim against the sample's measured features (faithfulness).
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, cohen_kappa_score, confusion_matrix, f1_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from .config import EncoderConfig, PretrainConfig
from .data.featureset import FeatureSet, check_no_leakage, kfold_by_subject, leave_one_subject_out, trial_split
from .emotions import EMOTIONS

__all__ = ["PROTOCOLS", "classification_metrics", "confusion_table", "make_folds", "cross_validate",
           "summarize", "logistic_regression", "mlp", "chance", "encoder_models", "CHANCE", "evaluate_generation",
           "generation_summary"]

PROTOCOLS = ("loso", "kfold", "trial")
METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "kappa")


def classification_metrics(y_true, y_pred, *, n_classes: int = len(EMOTIONS)) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro-F1 (over all classes) and Cohen's kappa."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.arange(n_classes)
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "kappa": cohen_kappa_score(y_true, y_pred, labels=labels) if len(np.unique(y_true)) > 1 else np.nan,
    }


def confusion_table(y_true, y_pred, *, labels=EMOTIONS) -> pd.DataFrame:
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
                                 **classification_metrics(y[te][sel], np.asarray(y_pred)[sel])})
    per_subject = pd.DataFrame(rows)
    confusion = {m: confusion_table(np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]))
                 for m, v in preds.items()}
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
    from .pretrain import pretrain_encoder

    def fit_predict(train: FeatureSet, test: FeatureSet) -> dict[str, np.ndarray]:
        encoder, _ = pretrain_encoder(train, cfg, encoder_cfg=encoder_cfg, progress=progress)
        head = encoder.embed(test.X, kind="logits").argmax(1)
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=probe_C, max_iter=2000))
        probe.fit(encoder.embed(train.X), train.labels())
        return {"encoder": head, "linear_probe": probe.predict(encoder.embed(test.X))}

    return fit_predict


# -- the LLM's answers --------------------------------------------------------------------------------------

#: Chance level of each task's answer (uniform guessing over its answer set).
CHANCE = {"emotion": 1 / 7, "valence_arousal": 1 / 6, "compare": 1 / 2, "rank": 1 / 6, "scenario": 1 / 4}


def _correct(task: str, parsed: dict, truth: dict):
    if task == "emotion":
        return parsed["emotion"] == truth["emotion"]
    if task == "valence_arousal":
        return parsed["valence"] == truth["valence"] and parsed["arousal"] == truth["arousal"]
    if task == "compare":
        return parsed["choice"] == truth["choice"]
    if task == "rank":
        return parsed["ranking"] == truth["ranking"]
    if task == "scenario":
        choice = parsed["choice"]
        if choice is None and parsed["emotion"] in truth["options"]:
            # zero-shot answers may name the emotion instead of the letter; that names one option exactly
            choice = chr(97 + truth["options"].index(parsed["emotion"]))
        return choice == truth["choice"]
    return None


def evaluate_generation(model, fs: FeatureSet, idx, *, tasks=("emotion", "valence_arousal", "compare", "rank"),
                        n_per_task: int = 40, held_out: bool = False, seed: int = 0, max_new_tokens: int = 256,
                        emotion_all_rows: bool = True) -> pd.DataFrame:
    """Generate answers for rows ``idx`` (held-out subjects) and score them.

    Parameters
    ----------
    model : E2LLM
    tasks : task families (``"scenario"`` is the zero-shot family; ``held_out=True`` uses held-out templates)
    emotion_all_rows : bool
        Ask the basic-emotion question once for every row of ``idx`` (else ``n_per_task`` draws).

    Returns
    -------
    pd.DataFrame
        One row per answer: task, template, subject, truth, text, parsed (bool), correct (bool; unparseable
        answers count as wrong), n_claims / n_supported (rationale claims checked against the first segment's
        measured features).
    """
    from .instructions import check_claims, make_example, make_examples, parse_answer, region_band_z

    rng = np.random.default_rng(seed)
    examples = []
    for task in tasks:
        if task == "emotion" and emotion_all_rows:
            examples += [make_example("emotion", [int(r)], fs, rng, n_eeg_tokens=model.n_eeg_tokens, held_out=held_out)
                         for r in idx]
        else:
            examples += make_examples(fs, idx, tasks=(task,), n_per_task=n_per_task, n_eeg_tokens=model.n_eeg_tokens,
                                      seed=seed, held_out=held_out or task == "scenario")
    texts = model.generate([e.prompt for e in examples], [fs.X[e.eeg_rows] for e in examples],
                           max_new_tokens=max_new_tokens)
    rows = []
    for ex, text in zip(examples, texts):
        parsed = parse_answer(text)
        z = region_band_z(fs.X[ex.eeg_rows[0]], fs.ch_names)
        claims = check_claims(parsed["think"] or text, z) if len(ex.eeg_rows) == 1 else {"n_claims": 0, "n_supported": 0}
        correct = _correct(ex.task, parsed, ex.truth)
        rows.append({"task": ex.task, "template": ex.template, "subject": fs.meta.subject.iloc[ex.eeg_rows[0]],
                     "truth": ex.truth.get("emotion") or ex.truth.get("choice") or ex.truth.get("ranking")
                     or f"{ex.truth.get('valence')}/{ex.truth.get('arousal')}",
                     "emotion_true": ex.truth["emotions"][0], "emotion_pred": parsed["emotion"],
                     "text": text, "parsed": parsed["parsed"], "correct": bool(correct) if correct is not None else None,
                     "n_claims": claims["n_claims"], "n_supported": claims["n_supported"]})
    return pd.DataFrame(rows)


def generation_summary(answers: pd.DataFrame) -> pd.DataFrame:
    """Per task: answers, parse rate, accuracy (unparseable = wrong), chance, and the share of supported claims."""
    out = []
    for task, g in answers.groupby("task", sort=False):
        row = {"task": task, "n": len(g), "parse_rate": g.parsed.mean(),
               "accuracy": g.correct.astype(float).mean() if g.correct.notna().any() else np.nan,
               "chance": CHANCE.get(task, np.nan),
               "claims_supported": g.n_supported.sum() / max(g.n_claims.sum(), 1) if g.n_claims.sum() else np.nan}
        if task == "emotion":
            pred = g.emotion_pred.map(lambda e: EMOTIONS.index(e) if isinstance(e, str) else -1)
            row["balanced_accuracy"] = balanced_accuracy_score(g.emotion_true.map(EMOTIONS.index), pred)
        out.append(row)
    return pd.DataFrame(out).set_index("task")
