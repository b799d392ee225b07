"""The whole pipeline on the shipped sample data: the README's main job (``e2llm-lab quickstart``).

Stage 1 pretrains the encoder on the training subjects; stage 2 aligns the projector; stage 3 instruction-
tunes LoRA + projector; then the held-out subjects are asked every task, and an HTML report is written.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px

from ._device import resolve_device
from .config import PRESETS, E2LLMConfig, fast_config
from .data.featureset import check_no_leakage
from .data.samples import load_sample
from .evaluate import classification_metrics, evaluate_generation, generation_summary
from .instructions import EmotionSignatures, make_examples
from .interpret.plots import plot_emotion_topomaps, plot_history
from .llm import add_lora, check_llm_source
from .model import E2LLM
from .pretrain import pretrain_encoder
from .report import write_html_report
from .train import train_stage

__all__ = ["QUICKSTART_TEST_SUBJECTS", "N_INSTRUCT", "N_CAPTIONS", "quickstart_config", "stage_examples",
           "run_quickstart"]

#: Subjects of the sample cohort never seen in any training stage.
QUICKSTART_TEST_SUBJECTS = (5, 6)
#: Hop between samples, in windows: consecutive samples of a trial overlap by all but this many windows.
SAMPLE_STRIDE = 2
#: Instruction mix of stage 3 (examples per task) and captions of stage 2.
N_INSTRUCT = {"emotion": 600, "valence_arousal": 150, "compare": 100, "rank": 60, "describe": 100}
N_CAPTIONS = 800


def quickstart_config(llm: str | None = None, preset: str | None = None) -> E2LLMConfig:
    """The preset for a run: "cpu-tiny" for the tiny model, "colab-t4" settings for a real Qwen checkpoint."""
    name = preset or ("cpu-tiny" if llm is None else "colab-t4")
    if name not in PRESETS:
        raise ValueError(f"preset={name!r}; allowed: {tuple(PRESETS)}")
    cfg = PRESETS[name]
    return replace(cfg, llm=replace(cfg.llm, name_or_path=llm)) if llm is not None else cfg


def stage_examples(fs, train_idx, signatures, *, n_eeg_tokens: int, seed: int = 0, scale: float = 1.0):
    """Stage-2 captions and the stage-3 instruction mix drawn from the training rows.

    Only the training task families and templates: the ``scenario`` family and held-out templates never appear.
    """
    captions = make_examples(fs, train_idx, tasks=("describe",), n_per_task=max(16, int(N_CAPTIONS * scale)),
                             n_eeg_tokens=n_eeg_tokens, seed=1 + 10 * seed, signatures=signatures)
    mix = {k: max(8, int(v * scale)) for k, v in N_INSTRUCT.items()}
    examples = make_examples(fs, train_idx, n_per_task=mix, n_eeg_tokens=n_eeg_tokens, seed=2 + 10 * seed,
                             signatures=signatures)
    return captions, examples


def _examples_to_show(answers: pd.DataFrame, n: int = 4) -> pd.DataFrame:
    """Basic-emotion answers of ``n`` different true labels (the first answer of each), so the printout shows
    the model telling labels apart, not four answers to one label."""
    emo = answers[(answers.task == "emotion") & ~answers.zero_shot]
    return emo.drop_duplicates("emotion_true").head(n)


def run_quickstart(*, llm: str | None = None, preset: str | None = None, out="reports", device: str = "auto",
                   fast: bool = False, seed: int = 0, features=None, test_subjects=None, progress: bool = True,
                   verbose: bool = True, config: E2LLMConfig | None = None, scale: float | None = None,
                   evaluate: bool = True) -> dict:
    """Run every stage on the sample cohort (or your own features) and evaluate on held-out subjects.

    Parameters
    ----------
    llm : str, optional
        Hub id or folder of a Qwen causal LM; default the tiny offline model.
    preset : str, optional
        A name of :data:`~e2llm_lab.config.PRESETS`.
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
        The whole recipe (default: the preset's); a longer recipe trains the reference model.
    scale : float, optional
        Multiplies the number of captions and instruction examples (default 1, fast mode 0.1).
    evaluate : bool
        Ask the held-out subjects and write the report; False only trains and saves the model.

    Returns
    -------
    dict with the model, histories, answers table, summary table, encoder metrics and timings.
    """
    say = print if verbose else (lambda *a, **k: None)
    from ._threads import configure_threads
    configure_threads()                      # a deliberate CPU thread count (the CLI's choice holds if it made one)
    cfg = quickstart_config(llm, preset) if config is None else config
    resolve_device(device)                   # fail before any work: device, model and preset are checked first
    check_llm_source(llm)
    cfg = replace(cfg, pretrain=replace(cfg.pretrain, seed=seed, device=device), align=replace(cfg.align, seed=seed),
                  instruct=replace(cfg.instruct, seed=seed))
    cfg = fast_config(cfg) if fast else cfg
    scale = (0.1 if fast else 1.0) if scale is None else scale
    t0 = time.perf_counter()
    windows = load_sample() if features is None else features
    if features is not None and features.n_steps != 1:
        raise ValueError(f"features must be window-level (n_steps = 1), got n_steps = {features.n_steps}")
    if test_subjects is None:
        if features is not None:
            raise ValueError("test_subjects is required with features: name the subjects no stage may see")
        test_subjects = QUICKSTART_TEST_SUBJECTS
    test_subjects = tuple(test_subjects)
    unknown = set(test_subjects) - set(windows.meta.subject)
    if unknown:
        raise ValueError(f"test subjects {sorted(unknown)} are not in the features (subjects: "
                         f"{sorted(set(windows.meta.subject))})")
    fs = windows.with_steps(cfg.data.n_steps, stride=SAMPLE_STRIDE)
    test = fs.meta.subject.isin(test_subjects).to_numpy()
    tr, te = np.flatnonzero(~test), np.flatnonzero(test)
    check_no_leakage(fs.meta, tr, te, level="subject")
    space = fs.label_space
    chance = 1 / len(space)
    say(f"data: {fs}; held-out subjects {test_subjects}")

    encoder, hist1 = pretrain_encoder(fs, cfg.pretrain, encoder_cfg=cfg.encoder, train_idx=tr, progress=progress)
    head = classification_metrics(fs.labels()[te], encoder.predict_logits(fs.X[te]).argmax(1), n_classes=len(space))
    t1 = time.perf_counter()
    say(f"stage 1 (encoder): balanced accuracy of its own head on held-out subjects "
        f"{head['balanced_accuracy']:.3f} ({t1 - t0:.0f} s)")

    model = E2LLM.build(encoder, cfg, device=device)
    model.signatures = EmotionSignatures.fit(fs, tr)          # learned from the training subjects only
    model.record_training_data(fs, tr, te, stride=SAMPLE_STRIDE)
    captions, examples = stage_examples(fs, tr, model.signatures, n_eeg_tokens=model.n_eeg_tokens, seed=seed,
                                        scale=scale)
    hist2 = train_stage(model, captions, fs, cfg.align, stage="align", progress=progress)
    t2 = time.perf_counter()
    say(f"stage 2 (alignment, projector only): loss {hist2.loss.iloc[:5].mean():.3f} -> "
        f"{hist2.loss.iloc[-5:].mean():.3f} (means of 5 steps; {t2 - t1:.0f} s)")

    model.llm = add_lora(model.llm, cfg.llm)
    hist3 = train_stage(model, examples, fs, cfg.instruct, stage="instruct", progress=progress)
    t3 = time.perf_counter()
    say(f"stage 3 (instruction tuning, LoRA + projector): loss {hist3.loss.iloc[:5].mean():.3f} -> "
        f"{hist3.loss.iloc[-5:].mean():.3f} ({t3 - t2:.0f} s)")

    if not evaluate:
        model.save_pretrained(Path(out) / "model")
        return {"model": model, "encoder_metrics": head, "features": fs, "train_idx": tr, "test_idx": te,
                "histories": {"pretrain": hist1, "align": hist2, "instruct": hist3},
                "seconds": {"stage1": t1 - t0, "align": t2 - t1, "instruct": t3 - t2, "total": t3 - t0}}
    te_eval = te if not fast else te[::8]
    answers = pd.concat([
        evaluate_generation(model, fs, te_eval, n_per_task=8 if fast else 40),
        evaluate_generation(model, fs, te_eval, tasks=("emotion", "scenario"), n_per_task=8 if fast else 40,
                            zero_shot=True, emotion_all_rows=False),
    ], ignore_index=True)
    summary = generation_summary(answers)
    llm_bacc = summary.loc["emotion", "balanced_accuracy"]
    # control: the same basic-emotion prompts with another held-out sample's EEG (a reader falls to chance)
    shuffled = generation_summary(evaluate_generation(model, fs, te_eval, tasks=("emotion",), control="shuffled"))
    t4 = time.perf_counter()
    say("\nSome answers on held-out subjects (truth beside them):")
    for _, r in _examples_to_show(answers).iterrows():
        say(f"--- truth: {r.emotion_true}\n{r.text}")
    say("\nAccuracy on held-out subjects (unparseable answers count as wrong):")
    say(summary.round(3).to_string())
    say(f"\nbasic emotion, balanced accuracy: LLM {llm_bacc:.3f} vs the encoder's own head "
        f"{head['balanced_accuracy']:.3f} (ratio {llm_bacc / max(head['balanced_accuracy'], 1e-9):.2f}); chance "
        f"{chance:.3f} ({len(space)} labels: {space.name})")
    control = (f"control, another held-out sample's EEG: accuracy {shuffled.loc['emotion', 'accuracy']:.3f} against "
               f"the true labels (chance {chance:.3f}); the answer names the donor sample's emotion "
               f"{shuffled.loc['emotion', 'follows_donor']:.3f} of the time")
    say(control)

    out = Path(out)
    model.save_pretrained(out / "model")
    hist = pd.concat([hist2, hist3.assign(step=hist3.step + len(hist2))])
    basic = answers[(answers.task == "emotion") & ~answers.zero_shot]       # held-out-template rows apart
    cm = pd.crosstab(basic.emotion_true, basic.emotion_pred.fillna("(unparsed)"))
    main_cols = [c for c in ("n", "accuracy", "chance", "balanced_accuracy", "claim_precision") if c in summary]
    report = write_html_report(
        out / "quickstart.html", title="e2llm_lab quickstart",
        text=[f"data: {fs}", f"held-out subjects: {test_subjects}", f"LLM: {llm or 'tiny offline Qwen3'}",
              f"stage 1 head balanced accuracy {head['balanced_accuracy']:.3f}; LLM {llm_bacc:.3f}", control],
        tables={"Accuracy on held-out subjects": summary[main_cols],
                "Some answers": answers.groupby("task", sort=False).head(2)[["task", "truth", "text"]]},
        details={"All figures per task (parse rate, free answers, faithfulness)": summary},
        figures={"Stage 1 history": plot_history(hist1),
                 "Stages 2-3 loss": px.line(hist, x="step", y="loss", color="stage"),
                 f"Basic emotion ({len(basic)} answers, seen templates): truth vs generated label":
                     px.imshow(cm, text_auto=True, labels={"x": "generated", "y": "truth"}),
                 "Emotion contrasts per band (z-scored DE)": plot_emotion_topomaps(windows)})
    say(f"\nreport: {report}\ntotal time {t4 - t0:.0f} s")
    return {"model": model, "encoder_metrics": head, "answers": answers, "summary": summary, "shuffled": shuffled,
            "histories": {"pretrain": hist1, "align": hist2, "instruct": hist3},
            "seconds": {"stage1": t1 - t0, "align": t2 - t1, "instruct": t3 - t2, "evaluate": t4 - t3,
                        "total": t4 - t0}, "report": report}
