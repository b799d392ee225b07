"""The whole evaluation protocol in one call: :func:`evaluate_all` -> :class:`EvaluationReport`.

Every table of LLM answers stands beside the encoder head, a logistic regression and chance on the same rows,
and beside the same prompts with the EEG swapped (controls): see :mod:`.generation`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..data.featureset import check_no_leakage
from ..labels import SEED7, LabelSpace
from ..instructions import parse_answer
from ..report import write_html_report
from .diagnostics import diagnose_chain
from .generation import CHANCE, MULTI_TASKS, evaluate_generation, generation_summary
from .protocols import classification_metrics, confusion_table, logistic_regression

__all__ = ["EvaluationReport", "evaluate_all"]

FAITHFULNESS = ("claims_per_answer", "claim_precision", "no_repeat_rate", "hallucinated_per_answer", "consistency",
                "fit_top_correct", "fit_r_error")


@dataclass
class EvaluationReport:
    """Tables and figures of one evaluation, and the answers behind them.

    Attributes
    ----------
    tables : dict of str -> pandas.DataFrame
        ``basic`` (emotion metrics per subject and overall: LLM, encoder head, logistic regression, chance),
        ``confusion``, ``tasks`` (every task with chance, seen and zero-shot rows), ``zero_shot_gap``,
        ``faithfulness``, ``controls`` and ``diagnostic`` (when training rows were given).
    figures : dict of str -> plotly Figure
    answers : pandas.DataFrame
        Every generated answer, controls included (column ``control``).
    """

    tables: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    answers: pd.DataFrame | None = None

    def to_html(self, path, *, title: str = "e2llm_lab evaluation") -> Path:
        """Write the report as one self-contained HTML page (atomically)."""
        real = self.answers[self.answers.control == "none"] if self.answers is not None else pd.DataFrame()
        sample = real.groupby("task", sort=False).head(2)[["task", "truth", "text"]] if len(real) else None
        tables = dict(self.tables) | ({"Some answers": sample} if sample is not None else {})
        return write_html_report(path, title=title, tables=tables, figures=self.figures)


def _basic(answers: pd.DataFrame, y_enc, y_lr, space: LabelSpace = SEED7) -> pd.DataFrame:
    """Emotion metrics per subject and overall for the LLM, the encoder head, logistic regression and chance.

    The basic-emotion question was asked once for every held-out row, in order, so the baselines' predictions
    (one per row) line up with the answers. An unreadable answer (None, or NaN as pandas 3 stores it) counts as
    wrong.
    """
    emo = answers[(answers.task == "emotion") & ~answers.zero_shot]
    preds = {"LLM (constrained answer line)": emo.emotion_pred.to_numpy(),
             "LLM (free answer line)": emo.text_free.map(lambda t: parse_answer(t)["emotion"]).to_numpy()}
    preds.update({name: p for name, p in (("encoder head", y_enc), ("logistic regression", y_lr)) if p is not None})
    subj = emo.subject.to_numpy()
    y = space.indices(emo.emotion_true)
    rows = []
    for name, p in preds.items():
        p = space.indices(p)
        if len(p) != len(y):
            raise ValueError(f"{name}: {len(p)} predictions for {len(y)} basic-emotion answers")
        for s in [*np.unique(subj), "all"]:
            sel = np.ones(len(y), bool) if s == "all" else subj == s
            rows.append({"model": name, "subject": s, "n": int(sel.sum()), **classification_metrics(y[sel], p[sel], n_classes=len(space))})
    for s in [*np.unique(subj), "all"]:
        rows.append({"model": "chance", "subject": s, "n": int((subj == s).sum()) if s != "all" else len(y),
                     "accuracy": 1 / len(space), "balanced_accuracy": 1 / len(space),
                     "macro_f1": 1 / len(space), "kappa": 0.0})
    return pd.DataFrame(rows).set_index(["model", "subject"])


def evaluate_all(model, fs, idx, *, train_idx=None, n_per_task: int = 40, controls=("shuffled", "subject_mean"),
                 diagnose: bool = True, seed: int = 0, max_new_tokens: int = 256) -> EvaluationReport:
    """Run the evaluation protocol on held-out rows ``idx``.

    Parameters
    ----------
    model : E2LLM
        With ``model.signatures`` learned from the training subjects.
    fs : FeatureSet
    idx : array of int
        Held-out rows (whole subjects never seen in training).
    train_idx : array of int, optional
        Training rows: enables the logistic-regression baseline and the link-by-link diagnostic. Checked to share
        no subject with ``idx``.
    n_per_task : int
        Prompts per multi-clip or zero-shot task (basic emotion asks every row once).
    controls : tuple of {"shuffled", "subject_mean"}

    Returns
    -------
    EvaluationReport
    """
    idx = np.asarray(idx)
    if train_idx is not None:
        check_no_leakage(fs.meta, np.asarray(train_idx), idx, level="subject")
    kw = dict(n_per_task=n_per_task, seed=seed, max_new_tokens=max_new_tokens)
    runs = []
    for control in (None, *controls):
        runs.append(evaluate_generation(model, fs, idx, tasks=MULTI_TASKS, control=control, **kw))
        runs.append(evaluate_generation(model, fs, idx, tasks=("emotion", "scenario"), zero_shot=True,
                                        emotion_all_rows=False, control=control, **kw))
    answers = pd.concat(runs, ignore_index=True)
    real = answers[answers.control == "none"]
    y_enc = model.encoder.predict_logits(fs.X[idx]).argmax(1)
    y_lr = logistic_regression(fs.subset(train_idx), fs.subset(idx)) if train_idx is not None else None
    space = fs.label_space
    tables = {"basic": _basic(real, y_enc, y_lr, space)}
    emo = real[(real.task == "emotion") & ~real.zero_shot]
    tables["confusion"] = confusion_table(space.indices(emo.emotion_true), space.indices(emo.emotion_pred),
                                          labels=space.labels)
    tasks = generation_summary(real)
    tables["tasks"] = tasks
    seen, unseen = tasks.loc["emotion", "accuracy"], tasks.loc["emotion (zero-shot)", "accuracy"]
    tables["zero_shot_gap"] = pd.DataFrame(
        [{"task": "emotion", "seen_templates": seen, "held_out_templates": unseen, "gap": seen - unseen},
         {"task": "scenario (held-out family)", "seen_templates": np.nan,
          "held_out_templates": tasks.loc["scenario (zero-shot)", "accuracy"], "gap": np.nan}]).set_index("task")
    tables["faithfulness"] = tasks[[c for c in FAITHFULNESS if c in tasks]].dropna(how="all")
    tables["controls"] = _controls(answers)
    if diagnose and train_idx is not None:
        tables["diagnostic"] = diagnose_chain(model, fs, train_idx, idx, max_new_tokens=max_new_tokens, seed=seed)
    figures = {"Basic emotion: truth vs generated label": px.imshow(tables["confusion"], text_auto=True),
               "Accuracy per task against chance": _task_figure(tasks),
               "Controls: does the answer depend on the EEG?": _control_figure(tables["controls"])}
    return EvaluationReport(tables, figures, answers)


def _controls(answers: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of each task under each control, against the original labels, with the drop from the real run."""
    rows = []
    for control, g in answers.groupby("control", sort=False):
        s = generation_summary(g)
        for task in s.index:
            rows.append({"control": control, "task": task, "accuracy": s.loc[task, "accuracy"],
                         "balanced_accuracy": s.loc[task].get("balanced_accuracy", np.nan),
                         "chance": s.loc[task, "chance"], "follows_donor": s.loc[task].get("follows_donor", np.nan)})
    out = pd.DataFrame(rows).set_index(["control", "task"])
    real = out.xs("none", level="control").accuracy
    out["drop"] = [real.get(t, np.nan) - a for (_, t), a in out.accuracy.items()]
    out["above_chance"] = out.accuracy - out.chance
    return out


def _task_figure(tasks: pd.DataFrame) -> go.Figure:
    fig = go.Figure([go.Bar(x=tasks.index, y=tasks.accuracy, name="LLM (constrained)"),
                     go.Bar(x=tasks.index, y=tasks.accuracy_free, name="LLM (free)"),
                     go.Scatter(x=tasks.index, y=tasks.chance, mode="markers", name="chance",
                                marker={"symbol": "line-ew-open", "size": 30, "color": "black"})])
    fig.update_layout(barmode="group", yaxis={"title": "accuracy", "range": [0, 1]})
    return fig


def _control_figure(controls: pd.DataFrame) -> go.Figure:
    df = controls.reset_index()
    fig = px.bar(df, x="task", y="accuracy", color="control", barmode="group")
    fig.add_scatter(x=df.task.unique(), y=[CHANCE.get(t.split(" (")[0], np.nan) for t in df.task.unique()],
                    mode="markers", name="chance", marker={"symbol": "line-ew-open", "size": 30, "color": "black"})
    return fig
