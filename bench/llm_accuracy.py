"""Does the LLM read the EEG? Held-out accuracy of generated answers, controls and faithfulness over seeds.

Runs the quickstart pipeline (tiny offline model, sample cohort, subjects 5 and 6 held out of every stage) once
per seed, then :func:`e2llm_lab.evaluate.evaluate_all` on the held-out subjects, and prints mean +/- sd of each
figure against the targets of the LLM-accuracy issue (MET / NOT MET).

    python bench/llm_accuracy.py [--seeds 0 1 2] [--out reports/bench_llm]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from e2llm_lab.data.samples import load_sample
from e2llm_lab.evaluate import evaluate_all
from e2llm_lab.quickstart import QUICKSTART_TEST_SUBJECTS, run_quickstart


def figures(report, encoder_bacc: float, seconds: dict) -> dict:
    t, c, b = report.tables["tasks"], report.tables["controls"], report.tables["basic"]
    llm = t.loc["emotion", "balanced_accuracy"]
    real = report.answers[(report.answers.control == "none") & (report.answers.task == "emotion")
                          & ~report.answers.zero_shot]
    return {
        "emotion balanced acc (LLM, constrained)": llm,
        "emotion balanced acc (LLM, free)": b.loc[("LLM (free answer line)", "all"), "balanced_accuracy"],
        "emotion balanced acc (encoder head)": encoder_bacc,
        "emotion balanced acc (logistic regression)": b.loc[("logistic regression", "all"), "balanced_accuracy"],
        "LLM / encoder head": llm / encoder_bacc,
        "valence/arousal acc": t.loc["valence_arousal", "accuracy"],
        "compare acc": t.loc["compare", "accuracy"],
        "rank acc": t.loc["rank", "accuracy"],
        "rank Kendall tau": t.loc["rank", "kendall_tau"],
        "emotion acc, held-out templates": t.loc["emotion (zero-shot)", "accuracy"],
        "scenario acc (zero-shot, constrained)": t.loc["scenario (zero-shot)", "accuracy"],
        "scenario acc (zero-shot, free)": t.loc["scenario (zero-shot)", "accuracy_free"],
        "scenario parse rate (free)": t.loc["scenario (zero-shot)", "parse_rate"],
        "emotion parse rate (free)": t.loc["emotion", "parse_rate"],
        "claim precision (emotion)": t.loc["emotion", "claim_precision"],
        "answers without repeated claims": real.n_repeated.eq(0).mean(),
        "label-evidence consistency": t.loc["emotion", "consistency"],
        "shuffled EEG: emotion acc - chance": c.loc[("shuffled", "emotion"), "above_chance"],
        "shuffled EEG: follows donor": c.loc[("shuffled", "emotion"), "follows_donor"],
        "subject-mean EEG: emotion acc - chance": c.loc[("subject_mean", "emotion"), "above_chance"],
        "subject-mean EEG: balanced acc - chance": c.loc[("subject_mean", "emotion"), "balanced_accuracy"] - 1 / 7,
        "quickstart seconds (stages + its evaluation)": seconds["total"],
    }


TARGETS = {   # figure -> (test, text)
    "LLM / encoder head": (lambda v: v >= 0.9, ">= 0.9 (stretch >= 1.0)"),
    "valence/arousal acc": (lambda v: v >= 0.6, ">= 0.6"),
    "compare acc": (lambda v: v >= 0.75, ">= 0.75"),
    "rank acc": (lambda v: v >= 0.4, ">= 0.4"),
    "scenario acc (zero-shot, constrained)": (lambda v: v >= 0.5, ">= 0.5"),
    "scenario acc (zero-shot, free)": (lambda v: v >= 0.5, ">= 0.5"),
    "scenario parse rate (free)": (lambda v: v >= 0.9, ">= 0.9"),
    "claim precision (emotion)": (lambda v: v >= 0.8, ">= 0.8"),
    "answers without repeated claims": (lambda v: v >= 0.95, ">= 0.95"),
    "shuffled EEG: emotion acc - chance": (lambda v: abs(v) <= 0.05, "within 0.05 of chance"),
    "subject-mean EEG: emotion acc - chance": (lambda v: abs(v) <= 0.05, "within 0.05 of chance"),
    "quickstart seconds (stages + its evaluation)": (lambda v: v <= 300, "<= 300 s"),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="reports/bench_llm")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    fs = load_sample().with_steps(4, stride=2)
    test = fs.meta.subject.isin(QUICKSTART_TEST_SUBJECTS).to_numpy()
    tr, te = np.flatnonzero(~test), np.flatnonzero(test)
    rows, diags = [], []
    for seed in args.seeds:
        t0 = time.perf_counter()
        res = run_quickstart(out=f"{args.out}/seed{seed}", seed=seed, progress=False, verbose=False)
        report = evaluate_all(res["model"], fs, te, train_idx=tr, seed=seed)
        report.to_html(f"{args.out}/seed{seed}/evaluation.html")
        rows.append(figures(report, res["encoder_metrics"]["balanced_accuracy"], res["seconds"]))
        diags.append(report.tables["diagnostic"].balanced_accuracy.rename(f"seed {seed}"))
        print(f"seed {seed}: {time.perf_counter() - t0:.0f} s; stage times "
              + ", ".join(f"{k} {v:.0f} s" for k, v in res["seconds"].items()), flush=True)
    df = pd.DataFrame(rows)
    print(f"\nheld-out subjects {QUICKSTART_TEST_SUBJECTS}; seeds {args.seeds}; mean +/- sd")
    for name in df.columns:
        m, s = df[name].mean(), df[name].std(ddof=1) if len(df) > 1 else 0.0
        verdict = ""
        if name in TARGETS:
            ok, text = TARGETS[name]
            verdict = f"target {text}: {'MET' if ok(m) else 'NOT MET'}"
        print(f"{name:48s} {m:7.3f} +/- {s:5.3f}   {verdict}")
    d = pd.concat(diags, axis=1)
    print("\nlink by link (basic emotion, balanced accuracy):")
    print(d.assign(mean=d.mean(1), sd=d.std(1, ddof=1) if d.shape[1] > 1 else 0.0).round(3).to_string())


if __name__ == "__main__":
    main()
