"""Does the LLM read the EEG and reason over it? Held-out figures of a recipe over seeds, against issue 14's targets.

``--recipe reference`` (the default) builds the reference model once per seed (``e2llm-lab build-reference``:
10-subject cohort, subjects 7-10 held out of every stage, the full evaluation protocol); ``--recipe quickstart``
runs the quickstart pipeline (sample cohort, subjects 5 and 6 held out) and the same protocol. Prints mean +/- sd
over seeds of every figure with its target (MET / NOT MET), the link-by-link diagnostic and the scene link.

    python bench/llm_accuracy.py [--recipe reference|quickstart] [--seeds 0 1 2] [--out reports/bench_llm]
    python bench/llm_accuracy.py --from data_samples/reference      # the figures of an existing build

One reference build takes about 13 minutes on 2 quiet CPU cores (its ``evaluation.json`` says how long).
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import pandas as pd

TARGETS = {   # figure -> (test, text): issue 14
    "LLM - max(head, LR)": (lambda v: v >= 0, ">= 0 (LLM >= encoder head and logistic regression)"),
    "compare acc": (lambda v: v >= 0.85, ">= 0.85"),
    "rank acc (exact)": (lambda v: v >= 0.6, ">= 0.6"),
    "rank Kendall tau": (lambda v: v >= 0.7, ">= 0.7"),
    "scenario acc (zero-shot, constrained)": (lambda v: v >= 0.6, ">= 0.6"),
    "scenario acc (zero-shot, free)": (lambda v: v >= 0.6, ">= 0.6"),
    "scenario parse rate (free)": (lambda v: v >= 0.95, ">= 0.95"),
    "held-out template gap": (lambda v: v <= 0.05, "<= 0.05"),
    "claim precision (emotion)": (lambda v: v >= 0.9, ">= 0.9"),
    "named closest signature is the closest": (lambda v: v >= 0.9, ">= 0.9"),
    "shuffled EEG: emotion acc - chance": (lambda v: abs(v) <= 0.05, "within 0.05 of chance"),
    "subject_mean EEG: emotion acc - chance": (lambda v: abs(v) <= 0.05, "within 0.05 of chance"),
    "noise EEG: emotion acc - chance": (lambda v: abs(v) <= 0.05, "within 0.05 of chance"),
}


def _quickstart_tables(seed: int, out: Path) -> dict:
    from e2llm_lab.apps.quickstart import QUICKSTART_TEST_SUBJECTS
    from e2llm_lab.apps.reference import report_tables
    from e2llm_lab.data.samples import load_sample
    from e2llm_lab.data.splits import split
    from e2llm_lab.evaluate.suite import evaluate_all
    from e2llm_lab.training.pipeline import resolve_config, train_e2llm

    cfg = resolve_config(seed=seed, device="cpu")
    sp = split(load_sample(), QUICKSTART_TEST_SUBJECTS, cfg.data)
    run = train_e2llm(sp, cfg, device="cpu", progress=False, say=lambda *a: None)
    run.model.save_pretrained(out / "model")
    report = evaluate_all(run.model, sp.samples, sp.test_idx, train_idx=sp.train_idx, seed=seed, verbose=False)
    report.to_html(out / "evaluation.html")
    return report_tables(report)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", choices=("reference", "quickstart"), default="reference")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="reports/bench_llm")
    p.add_argument("--from", dest="folders", nargs="+", default=None,
                   help="reference build folder(s) to read instead of training (their evaluation.json)")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    pd.set_option("display.width", 200)
    runs = {}
    if args.folders:
        for folder in args.folders:
            runs[folder] = json.loads((Path(folder) / "evaluation.json").read_text())["tables"]
    else:
        from e2llm_lab.apps.reference import build_reference, reference_report

        for seed in args.seeds:
            t0, out = time.perf_counter(), Path(args.out) / f"{args.recipe}_seed{seed}"
            if args.recipe == "reference":
                folder = build_reference(out, seed=seed, progress=False)
                runs[f"seed {seed}"] = reference_report(folder=folder)["tables"]
            else:
                runs[f"seed {seed}"] = _quickstart_tables(seed, out)
            print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    from e2llm_lab.apps.reference import evaluation_figures

    df = pd.DataFrame([evaluation_figures(t) for t in runs.values()], index=list(runs))
    print(f"\nrecipe {args.recipe if not args.folders else 'from ' + ', '.join(args.folders)}; "
          f"{len(df)} run(s); mean +/- sd over runs; held-out subjects only")
    for name in df.columns:
        m, s = df[name].mean(), df[name].std(ddof=1) if len(df) > 1 else float("nan")
        verdict = ""
        if name in TARGETS:
            ok, text = TARGETS[name]
            verdict = f"target {text}: {'MET' if ok(m) else 'NOT MET'}"
        print(f"{name:44s} {m:7.3f} +/- {s:5.3f}   {verdict}")
    if len(df) > 1:
        sd = df["emotion balanced acc (LLM, constrained)"].std(ddof=1)
        verdict = "MET" if sd <= 0.05 else "NOT MET"
        print(f"{'seed sd of basic emotion':44s} {sd:7.3f}           target <= 0.05: {verdict}")
    diag = pd.concat([pd.DataFrame(t["diagnostic"]).set_index("link").balanced_accuracy.rename(k)
                      for k, t in runs.items() if "diagnostic" in t], axis=1)
    if len(diag):
        print("\nlink by link (basic emotion, balanced accuracy):")
        print(diag.round(3).to_string())


if __name__ == "__main__":
    main()
