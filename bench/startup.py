"""Benchmark: how long the command takes before it can answer, as a ratio to ``python -c "import torch"``.

Each command runs in a fresh interpreter (the way a user types it), ``--repeat`` times, interleaved with the
``import torch`` reference so that a change of machine load hits both alike; the medians are compared. The ratio
is the figure to read on a shared machine (absolute seconds move with the load). Target: ``--help`` at most 0.5 x
``import torch``.

    python bench/startup.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

#: What is timed: a name and the arguments after ``python``.
CASES = {
    "import torch (reference)": ["-c", "import torch"],
    "e2llm-lab --help": ["-m", "e2llm_lab.apps.cli", "--help"],
    "e2llm-lab quickstart --preset nope": ["-m", "e2llm_lab.apps.cli", "quickstart", "--preset", "nope"],
    "e2llm-lab quickstart --device gpu7": ["-m", "e2llm_lab.apps.cli", "quickstart", "--device", "gpu7"],
    "import e2llm_lab": ["-c", "import e2llm_lab"],
}
TARGET = 0.5


def _time(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, *args], capture_output=True, check=False)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="runs of each case (default 5); the median counts")
    args = p.parse_args()
    _time(CASES["import torch (reference)"])              # warm the file cache once; not counted
    runs: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeat):
        for name, argv in CASES.items():
            runs[name].append(_time(argv))
    ref = statistics.median(runs["import torch (reference)"])
    for name, times in runs.items():
        med = statistics.median(times)
        print(f"{name:40s} median {med:6.2f} s  ({med / ref:4.2f} x import torch; runs {min(times):.2f}-"
              f"{max(times):.2f} s)")
    ratio = statistics.median(runs["e2llm-lab --help"]) / ref
    print(f"--help / import torch = {ratio:.2f} (target <= {TARGET}): {'MET' if ratio <= TARGET else 'NOT MET'}")


if __name__ == "__main__":
    main()
