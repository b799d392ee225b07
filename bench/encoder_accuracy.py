"""Benchmark: cross-subject balanced accuracy of the stage-1 encoder beside logistic regression, an MLP and chance.

A synthetic cohort of 12 subjects (seed 2024, not the sample data's seed), DE features with LDS smoothing,
per-subject z-scoring, samples of 4 windows (hop 2), 3 folds of whole subjects. Target: the encoder at
least 5 points of balanced accuracy above logistic regression, the whole bench under 5 minutes on 2 cores.

    python bench/encoder_accuracy.py [--subjects 12] [--folds 3]
"""
from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from e2llm_lab.config import DataConfig, EncoderConfig, PretrainConfig, SyntheticConfig
from e2llm_lab.data.recordings import featureset_from_recordings
from e2llm_lab.data.synthetic import iter_cohort, trials_table
from e2llm_lab.evaluate.protocols import chance, cross_validate, encoder_models, logistic_regression, mlp


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subjects", type=int, default=12)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--seed", type=int, default=2024)
    args = p.parse_args()
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    cfg = SyntheticConfig(n_subjects=args.subjects, n_trials_per_emotion=2, trial_s=60.0, seed=args.seed)
    fs = featureset_from_recordings(iter_cohort(cfg), DataConfig(), total=len(trials_table(cfg)), progress=False)
    fs = fs.with_steps(DataConfig().n_steps, stride=DataConfig().step_stride)
    t_data = time.perf_counter() - t0
    print(f"cohort: {fs} ({t_data:.0f} s to simulate and extract)")
    models = {"encoder": encoder_models(PretrainConfig(), EncoderConfig()), "logistic_regression": logistic_regression,
              "mlp": mlp, "chance": chance}
    res = cross_validate(fs, models, protocol="kfold", n_splits=args.folds, progress=False)
    s = res["summary"]
    table = pd.DataFrame({"balanced_accuracy": s["balanced_accuracy_mean"], "std": s["balanced_accuracy_std"],
                          "macro_f1": s["macro_f1_mean"], "seconds": pd.Series(res["seconds"])})
    print(table.round(3).to_string())
    gap = 100 * (s.loc["encoder", "balanced_accuracy_mean"] - s.loc["logistic_regression", "balanced_accuracy_mean"])
    total = time.perf_counter() - t0
    print(f"encoder - logistic regression: {gap:+.1f} points (target >= +5): {'MET' if gap >= 5 else 'NOT MET'}")
    print(f"wall time: {total:.0f} s (target < 300 s): {'MET' if total < 300 else 'NOT MET'}")


if __name__ == "__main__":
    main()
