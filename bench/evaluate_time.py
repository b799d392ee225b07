"""Benchmark: where the time of the default evaluation protocol goes, on the quickstart's model.

Runs `e2llm-lab evaluate`'s protocol (every task, the zero-shot families, the three EEG controls, the baselines and
the link-by-link diagnostic, default settings) on a saved model's held-out subjects and prints the seconds of each
family, the total, and the target (the default protocol on the quickstart's model within 5 minutes on 2 quiet cores).
Without a model folder it trains the quickstart's model first (not counted).

    python bench/evaluate_time.py [MODEL_DIR]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from e2llm_lab.data.samples import load_sample
from e2llm_lab.data.splits import held_out_rows
from e2llm_lab.evaluate.suite import evaluate_all
from e2llm_lab.models.model import E2LLM


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model_dir", nargs="?", default=None)
    args = p.parse_args()
    tmp = tempfile.TemporaryDirectory()
    folder = args.model_dir
    if folder is None:
        from e2llm_lab.apps.quickstart import run_quickstart

        t0 = time.perf_counter()
        run_quickstart(out=tmp.name, progress=False, verbose=False)
        folder = Path(tmp.name) / "model"
        print(f"(trained the quickstart's model in {time.perf_counter() - t0:.0f} s; not counted)")
    t0 = time.perf_counter()
    model = E2LLM.from_pretrained(folder, device="cpu")
    fs = model.samples(load_sample())
    train_idx, test_idx = held_out_rows(model.held_out, fs)
    t_load = time.perf_counter() - t0
    report = evaluate_all(model, fs, test_idx, train_idx=train_idx, verbose=False)
    total = time.perf_counter() - t0
    timings = report.tables["timings"]
    print(f"model loaded and features windowed in {t_load:.1f} s; {len(test_idx)} held-out samples")
    print(timings.round(1).to_string())
    print(f"total {total:.0f} s (target <= 300 s on 2 quiet cores): {'MET' if total <= 300 else 'NOT MET'}")
    if "problems" in report.tables:
        print("problems:\n" + report.tables["problems"].to_string())


if __name__ == "__main__":
    main()
