"""Benchmark: wall time of the README's main job and its headline figures.

Runs the same function as `e2llm-lab quickstart` (the tiny offline model unless --llm is given) and prints the
time of each stage, the held-out basic-emotion balanced accuracy of the generated labels, the encoder head's on
the same split, and their ratio. Target: at most 5 minutes on a 2-core CPU.

    python bench/quickstart.py [--llm Qwen/Qwen3-0.6B] [--out DIR]   (--out keeps the report and model/)
    python bench/quickstart.py --llm /tmp/tiny_new --preset cpu-tiny   (another tiny LM, the tiny model's recipe)
    python bench/quickstart.py --consistent-evidence   (answers taught only where the evidence agrees)

An --llm alone takes the "colab-t4" preset (a real Qwen's settings); pass --preset cpu-tiny for a tiny LM.
"""
from __future__ import annotations

import argparse
import tempfile

from e2llm_lab.apps.quickstart import run_quickstart
from e2llm_lab.training.pipeline import with_consistent_evidence


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--llm", default=None)
    p.add_argument("--preset", default=None, help="default: cpu-tiny without --llm, colab-t4 with it")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=None, help="keep the report and the trained model here (default: discarded)")
    p.add_argument("--consistent-evidence", action="store_true", help="TrainConfig.consistent_evidence in stage 3")
    args = p.parse_args()
    config = with_consistent_evidence(args.preset, args.llm) if args.consistent_evidence else None
    with tempfile.TemporaryDirectory() as tmp:
        res = run_quickstart(llm=args.llm, preset=args.preset, out=args.out or tmp, device=args.device,
                             progress=False, verbose=False, config=config)
    s, sec = res["summary"], res["seconds"]
    llm, head = s.loc["emotion", "balanced_accuracy"], res["encoder_metrics"]["balanced_accuracy"]
    print(" | ".join(f"{k} {v:.0f} s" for k, v in sec.items()))
    print(f"total {sec['total']:.0f} s (target <= 300 s): {'MET' if sec['total'] <= 300 else 'NOT MET'}")
    print(f"held-out basic emotion, balanced accuracy: generated labels {llm:.3f}, encoder head {head:.3f}, "
          f"ratio {llm / head:.2f}, chance {s.loc['emotion', 'chance']:.3f}")
    print(s.round(3).to_string())


if __name__ == "__main__":
    main()
