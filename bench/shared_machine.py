"""Benchmark: the quickstart on a shared machine, two at once against one alone.

Runs ``e2llm-lab quickstart --fast`` once alone, then twice side by side (started together), and prints the three
wall times and each paired run's ratio to the single one. With a fair share of the cores a pair costs about 2x;
torch's defaults (every core, spinning OpenMP workers) made it 15-25x. Target: each of the pair within 2.5x of
the single run.

Measure on an otherwise quiet machine: the single run is the reference, and other work during it makes every
ratio meaningless (the script prints the load average before each phase, and warns). The children get the
toolkit's own choice of threads: ``E2LLM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` are removed from
their environment unless ``--keep-env`` is given; ``--as-before`` gives them torch's defaults instead (every
logical CPU, OpenMP's default wait policy) to show what the toolkit's choice changes. ``--cmd`` runs another
command (``{python}`` and ``{out}``, a fresh folder per run, are filled in), e.g. a few seconds of work to check
the script itself.

    python bench/shared_machine.py                       # the real measurement (quiet machine, ~5-10 min on 2 cores)
    python bench/shared_machine.py --cmd "{python} -c 'import e2llm_lab._threads as t; t.configure_threads()'"
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DEFAULT_CMD = "{python} -m e2llm_lab.apps.cli quickstart --fast --device cpu --out {out}"
TARGET = 2.5
_CLEARED = ("E2LLM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _load() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except (AttributeError, OSError):            # Windows
        return None


def _show(load) -> str:
    return "unknown" if load is None else " / ".join(f"{x:.2f}" for x in load) + " (1 / 5 / 15 min)"


def _run_together(template: str, outs: list[Path], env: dict) -> list[tuple[float, str]]:
    """Start one process per output folder at the same moment; wall time and output of each, in start order."""
    t0 = time.perf_counter()
    procs = []
    for out in outs:
        argv = [a.format(python=sys.executable, out=out) for a in shlex.split(template)]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    # read each one's output on the side so that none blocks on a full pipe; note each end as it happens
    outputs = [""] * len(procs)

    def drain(i):
        outputs[i] = procs[i].stdout.read()

    readers = [threading.Thread(target=drain, args=(i,), daemon=True) for i in range(len(procs))]
    for r in readers:
        r.start()
    ends = [None] * len(procs)
    while any(e is None for e in ends):
        for i, p in enumerate(procs):
            if ends[i] is None and p.poll() is not None:
                ends[i] = time.perf_counter() - t0
        time.sleep(0.1)
    for r in readers:
        r.join()
    for p, text in zip(procs, outputs):
        if p.returncode != 0:
            tail = "\n".join(text.strip().splitlines()[-5:])
            raise SystemExit(f"a run failed (exit {p.returncode}):\n{tail}")
    return list(zip(ends, outputs))


def _stages(text: str) -> str:
    """The quickstart's own stage times, e.g. ``stage 1 20 s, stage 2 9 s``."""
    found = re.findall(r"^(stage \d)\b.*?\((?:[^()]*; )?(\d+) s\)\s*$", text, flags=re.M)
    return ", ".join(f"{name} {sec} s" for name, sec in found)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cmd", default=DEFAULT_CMD, help=f"command to time (default: {DEFAULT_CMD!r})")
    p.add_argument("--keep-env", action="store_true",
                   help="pass E2LLM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS through to the runs")
    p.add_argument("--as-before", action="store_true",
                   help="torch's defaults: threads on every logical CPU, OpenMP's own wait policy (the baseline)")
    args = p.parse_args()
    env = dict(os.environ) if args.keep_env else {k: v for k, v in os.environ.items() if k not in _CLEARED}
    if args.as_before:
        # an empty value is no policy to OpenMP (its default) and keeps the toolkit's PASSIVE default unset
        env.update(E2LLM_THREADS=str(os.cpu_count() or 1), OMP_WAIT_POLICY="", KMP_BLOCKTIME="")
    with tempfile.TemporaryDirectory(prefix="e2llm-shared-") as tmp:
        tmp = Path(tmp)
        before = _load()
        print(f"command: {args.cmd}\nload average before the single run: {_show(before)}", flush=True)
        ((single, out1),) = _run_together(args.cmd, [tmp / "single"], env)
        print(f"single run: {single:.1f} s  {_stages(out1)}", flush=True)
        print(f"load average before the pair: {_show(_load())}", flush=True)
        pair = _run_together(args.cmd, [tmp / "pair_a", tmp / "pair_b"], env)
    worst = 0.0
    for name, (sec, out) in zip("ab", pair):
        worst = max(worst, sec / single)
        print(f"pair run {name}: {sec:.1f} s ({sec / single:.2f} x single)  {_stages(out)}")
    print(f"wall times: single {single:.1f} s, pair {pair[0][0]:.1f} s and {pair[1][0]:.1f} s; worst ratio "
          f"{worst:.2f} (target <= {TARGET}): {'MET' if worst <= TARGET else 'NOT MET'}")
    if before is not None and before[0] > 0.5:
        print(f"warning: the machine was busy before the single run (load {before[0]:.2f}): the reference is slowed "
              f"by other work; re-run on a quiet machine for a meaningful ratio")


if __name__ == "__main__":
    main()
