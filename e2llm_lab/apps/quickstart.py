"""The whole pipeline on the shipped sample data: the README's main job (``e2llm-lab quickstart``).

Stage 1 pretrains the encoder on the training subjects; stage 2 aligns the projector; stage 3 instruction-
tunes LoRA + projector; then the held-out subjects are asked every task, and an HTML report is written.
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import plotly.express as px

from .._device import resolve_device
from .._html import write_html_report
from .._threads import configure_threads
from ..config import E2LLMConfig
from ..data.audit import audit
from ..data.samples import load_sample
from ..data.splits import split
from ..evaluate.generation import evaluate_generation, generation_summary
from ..evaluate.suite import basic_emotion_rows, information_table
from ..interpret.plots import plot_emotion_topomaps, plot_history
from ..models.llm import check_llm_source
from ..training.pipeline import N_CAPTIONS, N_INSTRUCT, resolve_config, stage_examples, train_e2llm

__all__ = ["QUICKSTART_TEST_SUBJECTS", "N_INSTRUCT", "N_CAPTIONS", "quickstart_config", "stage_examples",
           "run_quickstart"]

#: Subjects of the sample cohort never seen in any training stage.
QUICKSTART_TEST_SUBJECTS = (5, 6)


def quickstart_config(llm: str | None = None, preset: str | None = None) -> E2LLMConfig:
    """The preset for a run: "cpu-tiny" for the tiny model, "colab-t4" settings for a real Qwen checkpoint."""
    return resolve_config(preset, llm)


def _examples_to_show(answers: pd.DataFrame, n: int = 4) -> pd.DataFrame:
    """Basic-emotion answers of ``n`` different true labels (the first answer of each), so the printout shows
    the model telling labels apart, not four answers to one label."""
    return basic_emotion_rows(answers).drop_duplicates("emotion_true").head(n)


def _ask_held_out(model, fs, test_idx, *, fast: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every task on the held-out rows in free and in grounded mode, the zero-shot families, and the shuffled-EEG
    control of basic emotion.

    Returns the answers, their summary per task, and the control's summary.
    """
    rows, n = (test_idx[::8], 8) if fast else (test_idx, 40)
    answers = pd.concat([
        evaluate_generation(model, fs, rows, n_per_task=n, progress=True),
        evaluate_generation(model, fs, rows, tasks=("emotion", "scenario"), n_per_task=n, zero_shot=True,
                            emotion_all_rows=False, progress=True),
        evaluate_generation(model, fs, rows, n_per_task=n, mode="grounded", progress=True),
    ], ignore_index=True)
    # control: the same basic-emotion prompts with another held-out sample's EEG (a reader falls to chance)
    shuffled = generation_summary(evaluate_generation(model, fs, rows, tasks=("emotion",), control="shuffled"))
    return answers, generation_summary(answers), shuffled


def _print_results(say, answers, summary, shuffled, head: dict, space) -> list[str]:
    """Answers beside the truth, the accuracy table, the LLM against its encoder head, the control line, and
    whether the generated labels carry information at all; returns the last two lines (guard first)."""
    chance, llm_bacc = 1 / len(space), summary.loc["emotion", "balanced_accuracy"]
    say("\nSome answers on held-out subjects (truth beside them):")
    for _, r in _examples_to_show(answers).iterrows():
        say(f"--- truth: {r.emotion_true}\n{r.text}")
    say("\nAccuracy on held-out subjects (unparseable answers count as wrong):")
    say(summary.round(3).to_string())
    grounded = summary.loc["emotion (grounded)", "balanced_accuracy"] if "emotion (grounded)" in summary.index \
        else float("nan")
    say(f"\nbasic emotion, balanced accuracy: LLM {llm_bacc:.3f} (grounded in the measured evidence: "
        f"{grounded:.3f}) vs the encoder's own head {head['balanced_accuracy']:.3f} and the closest-signature rule "
        f"{summary.loc['emotion', 'rule']:.3f} on the same samples; chance {chance:.3f} ({len(space)} labels: "
        f"{space.name})")
    control = (f"control, another held-out sample's EEG: accuracy {shuffled.loc['emotion', 'accuracy']:.3f} against "
               f"the true labels (chance {chance:.3f}); the answer names the donor sample's emotion "
               f"{shuffled.loc['emotion', 'follows_donor']:.3f} of the time")
    say(control)
    info = information_table(basic_emotion_rows(answers), space).iloc[0]
    guard = f"{'WARNING: ' if not info.informative else ''}{info.verdict}"
    say(guard)
    return [guard, control]


def _write_report(out: Path, run, windows, answers, summary, notes: list[str], llm, audit_table) -> Path:
    """``quickstart.html``: the accuracy table, some answers, the loss curves, the confusion table, topomaps."""
    h = run.histories
    hist = pd.concat([h["align"], h["instruct"].assign(step=h["instruct"].step + len(h["align"]))])
    basic = basic_emotion_rows(answers)
    cm = pd.crosstab(basic.emotion_true, basic.emotion_pred.fillna("(unparsed)"))
    main_cols = [c for c in ("n", "accuracy", "chance", "balanced_accuracy", "rule", "claim_precision", "read_back")
                 if c in summary]
    llm_bacc = summary.loc["emotion", "balanced_accuracy"]
    return write_html_report(
        out / "quickstart.html", title="e2llm_lab quickstart",
        text=[notes[0], f"data: {run.split.samples}", f"held-out subjects: {run.split.test_subjects}",
              f"LLM: {llm or 'tiny offline Qwen3'}",
              f"stage 1 head balanced accuracy {run.encoder_metrics['balanced_accuracy']:.3f}; LLM {llm_bacc:.3f}",
              *notes[1:]],
        tables={"Accuracy on held-out subjects": summary[main_cols],
                "Some answers": answers.groupby("task", sort=False).head(2)[["task", "truth", "text"]]},
        details={"All figures per task (parse rate, free answers, faithfulness)": summary,
                 "Data audit (twins, confounded designs, balance, channels)": audit_table.set_index("check")},
        figures={"Stage 1 history": plot_history(h["pretrain"]),
                 "Stages 2-3 loss": px.line(hist, x="step", y="loss", color="stage"),
                 f"Basic emotion ({len(basic)} answers, seen templates): truth vs generated label":
                     px.imshow(cm, text_auto=True, labels={"x": "generated", "y": "truth"}),
                 "Emotion contrasts per band (z-scored DE)": plot_emotion_topomaps(windows)})


def run_quickstart(*, llm: str | None = None, preset: str | None = None, out="reports", device: str = "auto",
                   fast: bool = False, seed: int = 0, features=None, test_subjects=None, progress: bool = True,
                   verbose: bool = True, config: E2LLMConfig | None = None, scale: float | None = None) -> dict:
    """Train every stage on the sample cohort (or your own features) and ask the held-out subjects every task.

    Parameters
    ----------
    llm : str, optional
        Hub id, folder or file of a causal LM; default the tiny offline model.
    preset : str, optional
        A name of :data:`~e2llm_lab.config.PRESETS` (default by ``llm``:
        :func:`~e2llm_lab.training.pipeline.resolve_config`).
    out : path
        Report folder (``quickstart.html``, and the trained model in ``model/``).
    fast : bool
        Shrink every stage (tests and notebooks in fast mode); results are then not meaningful.
    seed : int
        Seeds every stage (initialisation, data order, instruction draws).
    features : FeatureSet, optional
        Window-level features (``n_steps = 1``, z-scored per subject) on any cap: the encoder's region map, the
        rationales and the topomaps follow ``features.ch_names``. Default: the shipped sample cohort.
    test_subjects : sequence, optional
        Subjects held out of every stage (default :data:`QUICKSTART_TEST_SUBJECTS` for the sample cohort; required
        with ``features``).
    config : E2LLMConfig, optional
        The whole recipe in place of the preset's (seed, device and fast mode still apply).
    scale : float, optional
        Multiplies the number of captions and instruction examples (default the preset's ``scale``: 1 for the tiny
        LM, 0.25 for SmolLM2; fast mode a tenth of it).

    Returns
    -------
    dict with the model, histories, answers table, summary table, encoder metrics, timings and the report's path.
    """
    say = print if verbose else (lambda *a, **k: None)
    configure_threads()                      # a deliberate CPU thread count (the CLI's choice holds if it made one)
    cfg = resolve_config(preset, llm, seed, device, fast, config=config)
    resolve_device(device)                   # fail before any work: device, model and preset are checked first
    check_llm_source(llm)
    if features is not None and test_subjects is None:
        raise ValueError("test_subjects is required with features: name the subjects no stage may see")
    t0 = time.perf_counter()
    windows = load_sample() if features is None else features
    checked = audit(windows)                 # before any number: twins, confounded designs, balance, channels
    say(f"data audit: {checked.verdict()}")
    sp = split(windows, QUICKSTART_TEST_SUBJECTS if test_subjects is None else test_subjects, cfg.data,
               twins=checked.twins, say=say)
    say(f"data: {sp.samples}; held-out subjects {sp.test_subjects}")
    run = train_e2llm(sp, cfg, scale=scale, device=device, progress=progress, say=say)
    answers, summary, shuffled = _ask_held_out(run.model, sp.samples, sp.test_idx, fast=fast)
    t_eval = time.perf_counter()
    notes = _print_results(say, answers, summary, shuffled, run.encoder_metrics, sp.samples.label_space)
    run.model.save_pretrained(Path(out) / "model")
    report = _write_report(Path(out), run, windows, answers, summary, notes + [f"data audit: {checked.verdict()}"],
                           llm, checked.table)
    say(f"\nreport: {report}\ntotal time {t_eval - t0:.0f} s")
    return {"model": run.model, "encoder_metrics": run.encoder_metrics, "answers": answers, "summary": summary,
            "shuffled": shuffled, "histories": run.histories, "report": report, "evidence": notes[0],
            "seconds": {**run.seconds, "evaluate": t_eval - t0 - run.seconds["total"], "total": t_eval - t0}}
