"""The whole evaluation protocol in one call: :func:`evaluate_all` -> :class:`EvaluationReport`.

Every table of LLM answers stands beside the encoder head, a logistic regression and chance on the same rows,
and beside the same prompts with the EEG swapped (controls): see :mod:`.generation`.

The protocol runs family by family (answers, zero-shot, each control, baselines, diagnostic), printing each
family's time. A family that fails becomes a row of the ``problems`` table saying why, never a crash, and with
``out=`` the HTML report is rewritten after every family, so a late failure keeps the earlier tables.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from .._html import write_html_report
from .._metrics import classification_metrics
from ..data.audit import audit
from ..data.splits import check_no_leakage
from ..labels import SEED7, LabelSpace
from ..text.answers import parse_answer
from ..text.instructions import MODES
from .diagnostics import diagnose_chain, ordering_link, scene_link
from .generation import MULTI_TASKS, evaluate_generation, generation_summary
from .interventions import interventions, read_back_table
from .protocols import confusion_table, logistic_regression
from .significance import label_information

__all__ = ["EvaluationReport", "evaluate_all", "basic_emotion_rows", "information_table", "DEFAULT_CONTROLS",
           "STEPS"]

FAITHFULNESS = ("claims_per_answer", "claim_precision", "no_repeat_rate", "hallucinated_per_answer", "consistency",
                "fit_top_correct", "fit_r_error", "follows_fit", "departs", "contradicts_fit", "read_back", "rule")
#: EEG controls of the default protocol: another sample's EEG, the subject's mean, pure noise.
DEFAULT_CONTROLS = ("shuffled", "subject_mean", "noise")


@dataclass
class EvaluationReport:
    """Tables and figures of one evaluation, and the answers behind them.

    Attributes
    ----------
    tables : dict of str -> pandas.DataFrame
        ``basic`` (emotion metrics per subject and overall: the LLM free and grounded, the encoder head, logistic
        regression, the closest-signature rule, chance),
        ``information`` (do the generated labels carry information about the truth? a within-subject permutation
        test and subject bootstrap of balanced accuracy, per answer line: :func:`.significance.label_information`),
        ``confusion``, ``tasks`` (every task with chance: seen, zero-shot and grounded rows), ``zero_shot_gap``,
        ``faithfulness``, ``controls``, ``diagnostic`` (when training rows were given), ``scene_link`` (the
        zero-shot scenario's second link, with the emotion given: :func:`.diagnostics.scene_link`),
        ``ordering_link`` (compare and rank with each clip's reading given: :func:`.diagnostics.ordering_link`),
        ``interventions`` (evidence edit, EEG edit, reasoning removed, per mode: :func:`.interventions.interventions`),
        ``read_back`` (what the cited claims give away against the closest-signature rule:
        :func:`.interventions.read_back_table`), ``audit`` (the data's findings: :func:`e2llm_lab.data.audit.audit`),
        ``timings`` (seconds per family) and ``problems`` (a family that could not be run or scored, and why;
        absent when none).
    figures : dict of str -> plotly Figure
    answers : pandas.DataFrame
        Every generated answer, controls included (column ``control``).
    """

    tables: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    answers: pd.DataFrame | None = None

    def evidence_warning(self) -> str | None:
        """The sentence every view of these answers must show when the generated labels carry no detectable
        information about the truth (the constrained answer line's test), else None."""
        info = self.tables.get("information")
        if info is None or not len(info) or bool(info.informative.iloc[0]):
            return None
        return str(info.verdict.iloc[0])

    def to_html(self, path, *, title: str = "e2llm_lab evaluation") -> Path:
        """Write the report as one self-contained HTML page (atomically); a warning first when the answers carry
        no information."""
        real = self.answers[self.answers.control == "none"] if self.answers is not None and len(self.answers) \
            else pd.DataFrame()
        sample = real.groupby("task", sort=False).head(2)[["task", "truth", "text"]] if len(real) else None
        tables = dict(self.tables) | ({"Some answers": sample} if sample is not None else {})
        warning = self.evidence_warning()
        text = [f"WARNING: {warning}"] if warning else []
        return write_html_report(path, title=title, text=text, tables=tables, figures=self.figures)


def _basic(answers: pd.DataFrame, y_enc, y_lr, space: LabelSpace = SEED7) -> pd.DataFrame:
    """Emotion metrics per subject and overall for the LLM (free and grounded), the encoder head, logistic
    regression, the closest-signature rule and chance.

    The basic-emotion question was asked once for every held-out row, in order, so the baselines' predictions
    (one per row) line up with the answers. An unreadable answer (None, or NaN as pandas 3 stores it) counts as
    wrong.
    """
    emo = basic_emotion_rows(answers)
    preds = {"LLM (constrained answer line)": emo.emotion_pred.to_numpy(),
             "LLM (free answer line)": emo.text_free.map(lambda t: parse_answer(t, space)["emotion"]).to_numpy()}
    grounded = basic_emotion_rows(answers, "grounded")
    if len(grounded) == len(emo):                            # asked of every held-out row too, in the same order
        preds["LLM, grounded (constrained answer line)"] = grounded.emotion_pred.to_numpy()
    preds.update({name: p for name, p in (("encoder head", y_enc), ("logistic regression", y_lr)) if p is not None})
    if "rule" in emo and emo.rule.notna().all():             # the label-free closest-signature rule, same samples
        preds["closest-signature rule"] = emo.rule.to_numpy()
    subj = emo.subject.to_numpy()
    y = space.indices(emo.emotion_true)
    rows = []
    for name, p in preds.items():
        p = space.indices(p)
        if len(p) != len(y):
            raise ValueError(f"{name}: {len(p)} predictions for {len(y)} basic-emotion answers")
        for s in [*np.unique(subj), "all"]:
            sel = np.ones(len(y), bool) if s == "all" else subj == s
            rows.append({"model": name, "subject": s, "n": int(sel.sum()),
                         **classification_metrics(y[sel], p[sel], n_classes=len(space))})
    for s in [*np.unique(subj), "all"]:
        rows.append({"model": "chance", "subject": s, "n": int((subj == s).sum()) if s != "all" else len(y),
                     "accuracy": 1 / len(space), "balanced_accuracy": 1 / len(space),
                     "macro_f1": 1 / len(space), "kappa": 0.0})
    return pd.DataFrame(rows).set_index(["model", "subject"])


def basic_emotion_rows(answers: pd.DataFrame, mode: str = "free") -> pd.DataFrame:
    """The answers to the basic-emotion question in its seen wordings (held-out-template and scenario rows apart), in
    one mode ("free" or "grounded"; answers written before modes existed are free).

    Asked once per held-out row, in row order, so they line up with one-per-row baselines.
    """
    modes = answers["mode"] if "mode" in answers else pd.Series("free", index=answers.index)
    return answers[(answers.task == "emotion") & ~answers.zero_shot.astype(bool) & (modes == mode)]


@dataclass
class _Protocol:
    """One evaluation in progress: what it asks, and what it has gathered so far (read by :func:`_finish`)."""

    model: object
    fs: object
    idx: np.ndarray
    train_idx: np.ndarray | None
    n_per_task: int
    n_control: int | None
    controls: tuple
    diagnose: bool
    gen: dict                     # seed, max_new_tokens and progress, passed to every generation
    out: object
    say: object
    modes: tuple = ("free", "grounded")
    n_intervene: int = 56
    report: EvaluationReport = field(default_factory=EvaluationReport)
    runs: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    timings: list = field(default_factory=list)
    baselines: list = field(default_factory=list)

    def real_answers(self, tasks, mode: str = "free") -> pd.DataFrame | None:
        """Answers of the run with the true EEG to ``tasks`` in ``mode`` so far (None before any)."""
        a = self.report.answers
        if a is None or not len(a):
            return None
        modes = a["mode"] if "mode" in a else pd.Series("free", index=a.index)
        return a[(a.control == "none") & a.task.isin(tasks) & (modes == mode)]

    def family(self, name: str, fn):
        """Run one family: its time is printed and recorded; a failure becomes a row of ``problems``."""
        self.say(f"[evaluate] {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            result, ok = fn(), True
        except Exception as err:                      # noqa: BLE001 - one family's failure must not lose the rest
            result, ok = None, False
            last = traceback.extract_tb(err.__traceback__)[-1]
            self.problems.append({"family": name, "error": f"{type(err).__name__}: {err}",
                                  "where": f"{Path(last.filename).name}:{last.lineno}"})
        dt = time.perf_counter() - t0
        self.timings.append({"family": name, "seconds": dt, "ok": ok})
        status = "done" if ok else "FAILED (" + self.problems[-1]["error"][:120] + ")"
        self.say(f"[evaluate] {name}: {status} in {dt:.1f} s", flush=True)
        self.finish()
        return result

    def table(self, name: str, value) -> None:
        """Keep a link family's table (a family that failed returned None and leaves none)."""
        if value is not None:
            self.report.tables[name] = value

    def finish(self) -> None:
        _finish(self.report, self.runs, self.problems, self.timings, self.fs.label_space,
                self.baselines[0] if self.baselines else None)
        if self.out is not None:
            self.report.to_html(self.out)


def _answers(p: _Protocol) -> None:
    """Every task with the true EEG, then under each control; the held-out wordings and the zero-shot scenario."""
    for control in (None, *p.controls):
        label = "answers" if control is None else f"control: {control}"
        n = p.n_per_task if control is None else (p.n_per_task if p.n_control is None else p.n_control)
        all_rows = control is None or p.n_control is None
        p.runs.append(p.family(f"{label} (tasks)", lambda c=control, n=n, a=all_rows: evaluate_generation(
            p.model, p.fs, p.idx, tasks=MULTI_TASKS, control=c, n_per_task=n, emotion_all_rows=a, **p.gen)))
        p.runs.append(p.family(f"{label} (held-out templates, zero-shot scenario)", lambda c=control, n=n:
                               evaluate_generation(p.model, p.fs, p.idx, tasks=("emotion", "scenario"),
                                                   zero_shot=True, emotion_all_rows=False, control=c, n_per_task=n,
                                                   **p.gen)))


def _audit(p: _Protocol) -> None:
    """The data audit of the evaluated samples: twins, confounded designs, balance, dead channels."""
    p.table("audit", p.family("data audit (twins, confounds, balance, channels)",
                              lambda: audit(p.fs).table.set_index("check")))


def _baselines(p: _Protocol) -> None:
    """The encoder's own head and a logistic regression on the same held-out rows."""
    preds = p.family("baselines (encoder head, logistic regression)", lambda: (
        p.model.encoder.predict_logits(p.fs.X[p.idx]).argmax(1),
        logistic_regression(p.fs.subset(p.train_idx), p.fs.subset(p.idx)) if p.train_idx is not None else None))
    if preds is not None:
        p.baselines.append(preds)


def _grounded(p: _Protocol) -> None:
    """Every task in grounded mode: the toolkit's measured evidence in the prompt, the model decides after it."""
    p.runs.append(p.family("grounded answers (tasks)", lambda: evaluate_generation(
        p.model, p.fs, p.idx, tasks=MULTI_TASKS, n_per_task=p.n_per_task, mode="grounded", **p.gen)))
    p.runs.append(p.family("grounded answers (held-out templates, zero-shot scenario)", lambda: evaluate_generation(
        p.model, p.fs, p.idx, tasks=("emotion", "scenario"), zero_shot=True, emotion_all_rows=False,
        n_per_task=p.n_per_task, mode="grounded", **p.gen)))


def _interventions(p: _Protocol) -> None:
    """Faithfulness by intervention (evidence edit, EEG edit, reasoning removed) and the read-back of the claims."""
    rows = p.idx[np.linspace(0, len(p.idx) - 1, min(p.n_intervene, len(p.idx))).round().astype(int)]
    p.table("interventions", p.family("interventions (evidence edit, EEG edit, reasoning removed)",
                                      lambda: interventions(p.model, p.fs, rows, seed=p.gen["seed"])))
    real = p.real_answers(["emotion"])
    free = basic_emotion_rows(real) if real is not None else None
    texts = {"the model's own reasoning (free mode)": list(free.text)} if free is not None and len(free) == len(
        p.idx) else None
    p.table("read_back", p.family("read-back (what the cited claims give away)",
                                  lambda: read_back_table(p.fs, p.idx, p.model.signatures, texts=texts)))


def _diagnostic(p: _Protocol) -> None:
    """Where emotion information is lost between the encoder and the generated label."""
    real = p.real_answers(["emotion"])
    real = None if real is None else basic_emotion_rows(real)
    p.table("diagnostic", p.family("diagnostic (where emotion information is lost)", lambda: diagnose_chain(
        p.model, p.fs, p.train_idx, p.idx, max_new_tokens=p.gen["max_new_tokens"], seed=p.gen["seed"], answers=real)))


def _scene_link(p: _Protocol) -> None:
    """The zero-shot scenario's second link: the scene picked when the true emotion is stated."""
    p.table("scene_link", p.family("scene link (zero-shot scenario with the emotion given)", lambda:
                                   scene_link(p.model, p.fs, p.idx, n=p.n_per_task, seed=p.gen["seed"])))


def _ordering_link(p: _Protocol) -> None:
    """Compare and rank with each clip's true reading given, and whether answers follow the model's own readings."""
    multi = p.real_answers(["compare", "rank"])
    multi = multi if multi is not None and "attr" in multi else None
    p.table("ordering_link", p.family(
        "ordering link (compare and rank with the readings given)",
        lambda: ordering_link(p.model, p.fs, p.idx, n=p.n_per_task, seed=p.gen["seed"],
                              max_new_tokens=p.gen["max_new_tokens"], answers=multi)))


#: The protocol's steps in order: (name, when it applies, what it runs). Each step runs one or more families.
STEPS = (
    ("data audit", lambda p: True, _audit),
    ("answers and controls", lambda p: True, _answers),
    ("grounded answers", lambda p: "grounded" in p.modes, _grounded),
    ("interventions", lambda p: p.n_intervene > 0, _interventions),
    ("baselines", lambda p: True, _baselines),
    ("diagnostic", lambda p: p.diagnose and p.train_idx is not None, _diagnostic),
    ("scene link", lambda p: p.diagnose and p.fs.label_space.scenes is not None, _scene_link),
    ("ordering link", lambda p: p.diagnose and bool(p.fs.label_space.attributes()), _ordering_link),
)


def evaluate_all(model, fs, idx, *, train_idx=None, n_per_task: int = 40, controls=DEFAULT_CONTROLS,
                 n_control: int | None = 20, diagnose: bool = True, seed: int = 0, max_new_tokens: int = 256,
                 modes=MODES, n_intervene: int = 56, out=None, verbose: bool = True) -> EvaluationReport:
    """Run the evaluation protocol (:data:`STEPS`) on held-out rows ``idx``.

    Parameters
    ----------
    model : E2LLM
        With ``model.signatures`` learned from the training subjects; its label space, bands and cap must be
        those of ``fs``.
    fs : FeatureSet
    idx : array of int
        Held-out rows (whole subjects never seen in training).
    train_idx : array of int, optional
        Training rows: enables the logistic-regression baseline and the link-by-link diagnostic. Checked to share
        no subject with ``idx``.
    n_per_task : int
        Prompts per multi-clip or zero-shot task (basic emotion asks every row once).
    controls : tuple of {"shuffled", "subject_mean", "noise"}
    n_control : int, optional
        Prompts per task under each control; a control needs only enough prompts to show whether accuracy falls
        to chance, so the default asks 20. None asks what the real run asks: ``n_per_task``, and basic emotion on
        every row of ``idx`` (balanced labels, so a model that reads nothing scores chance without draw noise).
    modes : tuple of {"free", "grounded"}
        Free answers are always asked (the controls ask them); "grounded" adds every task in grounded mode.
    n_intervene : int
        Held-out rows (spread evenly over ``idx``) the interventions edit; 0 leaves them out.
    out : path, optional
        HTML report rewritten after every family, so a late failure keeps what was finished.

    Returns
    -------
    EvaluationReport
    """
    idx = np.asarray(idx)
    if train_idx is not None:
        check_no_leakage(fs.meta, np.asarray(train_idx), idx, level="subject")
    if hasattr(model, "check_features"):
        model.check_features(fs)
    p = _Protocol(model, fs, idx, train_idx, n_per_task, n_control, tuple(controls), diagnose,
                  {"seed": seed, "max_new_tokens": max_new_tokens, "progress": verbose}, out,
                  print if verbose else (lambda *a, **k: None), tuple(modes), n_intervene)
    for _name, applies, step in STEPS:
        if applies(p):
            step(p)
    p.finish()
    return p.report


def _finish(report: EvaluationReport, runs, problems, timings, space: LabelSpace, baselines=None) -> None:
    """(Re)build every table and figure from what has been run so far; a table that cannot be built says why."""
    answers = [r for r in runs if r is not None and len(r)]
    report.answers = pd.concat(answers, ignore_index=True) if answers else pd.DataFrame(
        columns=["task", "control", "zero_shot", "emotion_true", "emotion_pred"])
    real = report.answers[report.answers.control == "none"]
    tables = {k: v for k, v in report.tables.items() if k in ("audit", "diagnostic", "scene_link", "ordering_link",
                                                                 "interventions", "read_back")}
    built_problems = []

    def build(name, fn):
        try:
            value = fn()
            if value is not None:
                tables[name] = value
        except Exception as err:                      # noqa: BLE001
            built_problems.append({"family": f"table {name}", "error": f"{type(err).__name__}: {err}", "where": ""})

    emo = basic_emotion_rows(real) if len(real) else real
    if len(emo):
        y_enc, y_lr = baselines if baselines is not None else (None, None)
        # the baselines predict every held-out row in order: they line up with the all-rows emotion answers only
        if y_enc is not None and len(y_enc) != len(emo):
            y_enc = y_lr = None
        build("basic", lambda: _basic(real, y_enc, y_lr, space))
        build("information", lambda: information_table(emo, space))
        build("confusion", lambda: confusion_table(space.indices(emo.emotion_true), space.indices(emo.emotion_pred),
                                                   labels=space.labels))
    if len(real):
        build("tasks", lambda: generation_summary(real, space=space))
    tasks = tables.get("tasks")
    if tasks is not None:
        build("zero_shot_gap", lambda: _gap(tasks))
        build("faithfulness", lambda: tasks[[c for c in FAITHFULNESS if c in tasks]].dropna(how="all"))
    if (report.answers.control != "none").any():
        build("controls", lambda: _controls(report.answers, space))
    tables["timings"] = pd.DataFrame(timings).set_index("family") if timings else pd.DataFrame()
    if problems or built_problems:
        tables["problems"] = pd.DataFrame(problems + built_problems).set_index("family")
    figures = {}
    if "confusion" in tables:
        figures["Basic emotion: truth vs generated label"] = px.imshow(tables["confusion"], text_auto=True)
    if tasks is not None:
        figures["Accuracy per task against chance"] = _task_figure(tasks)
    if "controls" in tables:
        figures["Controls: does the answer depend on the EEG?"] = _control_figure(tables["controls"])
    report.tables, report.figures = tables, figures


def information_table(basic: pd.DataFrame, space: LabelSpace = SEED7, *, seed: int = 0) -> pd.DataFrame:
    """Whether the basic-emotion answers carry information about the truth, for each answer line.

    Parameters
    ----------
    basic : pd.DataFrame
        Basic-emotion answers (:func:`basic_emotion_rows`) with ``emotion_true``, ``emotion_pred``, ``text_free``
        and ``subject``.

    Returns
    -------
    pd.DataFrame
        Index ``answer line`` (constrained, free); balanced_accuracy, chance, p_value, ci_low, ci_high, informative
        and the one-sentence ``verdict`` every view of the answers shows.
    """
    lines = {"constrained": basic.emotion_pred,
             "free": basic.text_free.map(lambda t: parse_answer(t, space)["emotion"])}
    rows = []
    for name, pred in lines.items():
        test = label_information(list(basic.emotion_true), list(pred), labels=space.labels,
                                 groups=list(basic.subject), seed=seed)
        rows.append({"answer line": name, "balanced_accuracy": test.balanced_accuracy, "chance": test.chance,
                     "p_value": test.p_value, "ci_low": test.ci_low, "ci_high": test.ci_high,
                     "informative": test.informative, "n": test.n, "verdict": test.verdict()})
    return pd.DataFrame(rows).set_index("answer line")


def _gap(tasks: pd.DataFrame) -> pd.DataFrame:
    rows = []
    if "emotion" in tasks.index and "emotion (zero-shot)" in tasks.index:
        seen, unseen = tasks.loc["emotion", "accuracy"], tasks.loc["emotion (zero-shot)", "accuracy"]
        rows.append({"task": "emotion", "seen_templates": seen, "held_out_templates": unseen, "gap": seen - unseen})
    if "scenario (zero-shot)" in tasks.index:
        rows.append({"task": "scenario (held-out family)", "seen_templates": np.nan,
                     "held_out_templates": tasks.loc["scenario (zero-shot)", "accuracy"], "gap": np.nan})
    return pd.DataFrame(rows).set_index("task") if rows else None


def _controls(answers: pd.DataFrame, space: LabelSpace = SEED7) -> pd.DataFrame:
    """Accuracy of each task under each control, against the original labels, with the drop from the real run."""
    rows = []
    for control, g in answers.groupby("control", sort=False):
        s = generation_summary(g, space=space)
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
    chance = df.groupby("task", sort=False).chance.first()
    fig.add_scatter(x=chance.index, y=chance.to_numpy(),
                    mode="markers", name="chance", marker={"symbol": "line-ew-open", "size": 30, "color": "black"})
    return fig
