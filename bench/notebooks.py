"""Benchmark: how long the course takes. Each notebook is executed top to bottom in a fresh kernel, as a student
would run it, and timed.

Target: all notebooks together <= 10 minutes on a 2-core CPU in fast mode (``E2LLM_FAST=1``, what the test suite
runs). Full mode is what a student on a laptop CPU waits for; it is printed too with ``--full``.

    python bench/notebooks.py                 # fast mode
    python bench/notebooks.py --full          # fast mode, then full mode
    python bench/notebooks.py --only 00 03    # some notebooks
    python bench/notebooks.py --full-only     # full mode alone (E2LLM_LAB_REFERENCE=tiny: 05-07 on the tiny reference)
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
TARGET_FAST_S = 600.0


def _kernel_name() -> str:
    """The project's own kernel (CI registers "e2llm-lab" in its virtualenv), else the default "python3"."""
    from jupyter_client.kernelspec import KernelSpecManager

    return "e2llm-lab" if "e2llm-lab" in KernelSpecManager().find_kernel_specs() else "python3"


def run(path: Path, fast: bool, save: Path | None = None) -> tuple[float, str]:
    """Seconds to execute one notebook, and "ok" or the error's first line (executed copy kept in ``save``)."""
    os.environ["E2LLM_FAST"] = "1" if fast else "0"
    os.environ.setdefault("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as cwd:
        t = time.perf_counter()
        try:
            NotebookClient(nb, timeout=3600, kernel_name=_kernel_name(),
                           resources={"metadata": {"path": cwd}}).execute()
            status = "ok"
        except Exception as err:                       # report and go on: one broken notebook must not hide the rest
            status = f"FAILED: {str(err).strip().splitlines()[-1][:100]}"
        seconds = time.perf_counter() - t
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / f"{path.stem}_{'fast' if fast else 'full'}.ipynb")
    return seconds, status


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="also time full mode")
    p.add_argument("--full-only", action="store_true", help="time full mode only")
    p.add_argument("--only", nargs="*", default=None, help="notebook number prefixes, e.g. 00 05")
    p.add_argument("--save", type=Path, default=None, help="keep the executed notebooks (with outputs) here")
    args = p.parse_args()
    paths = [q for q in NOTEBOOKS if not args.only or q.name[:2] in args.only]
    print(f"{len(paths)} notebooks, {os.cpu_count()} CPU cores")
    for fast in ([False] if args.full_only else [True, False] if args.full else [True]):
        mode, total = "fast" if fast else "full", 0.0
        print(f"\n{mode} mode")
        for path in paths:
            seconds, status = run(path, fast, args.save)
            total += seconds
            print(f"  {path.name:42s} {seconds:7.1f} s  {status}", flush=True)
        line = f"  {'total':42s} {total:7.1f} s ({total / 60:.1f} min)"
        if fast and len(paths) == len(NOTEBOOKS):
            line += f"; target <= {TARGET_FAST_S / 60:.0f} min: {'MET' if total <= TARGET_FAST_S else 'NOT MET'}"
        print(line)


if __name__ == "__main__":
    main()
