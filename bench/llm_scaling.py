"""E^2-LLM's scaling claim, measured: does a larger LM read and reason better? One table, one row per LM.

Each LM is the reference recipe of ``e2llm-lab build-reference --llm ...``: the same 10-subject cohort, subjects
7-10 held out of every stage, the same evaluation protocol; each LM on its own preset (learning rates, epochs and
batch suited to it: "cpu-tiny" x 8 instruction epochs for the tiny LM, "cpu-smollm2" for SmolLM2-135M-Instruct,
"colab-t4" for a hub LM such as Qwen3-0.6B). Columns: every task, the controls' largest distance from chance,
claim precision, the ordering and scene links, seconds per stage, training tokens per second, peak memory.

    python bench/llm_scaling.py                          # the shipped references' stored evaluations (seconds)
    python bench/llm_scaling.py --rebuild --out reports/scaling            # train and evaluate each LM present
    python bench/llm_scaling.py --rebuild --llm tiny smollm2-135m Qwen/Qwen3-0.6B --device cuda   # with a GPU

A rebuild takes about 15 minutes for the tiny LM and 90 for SmolLM2 on 2 CPU cores. Qwen hub ids are tried only
when the hub answers (or the model is cached) and a GPU is present.
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pandas as pd


def present(llms: list[str], device: str) -> list[str]:
    """The LMs of ``llms`` this machine can train: named offline models when installed, hub ids with a GPU."""
    from e2llm_lab.models.llm import check_llm_source, named_llm_path

    keep = []
    for llm in llms:
        if llm not in ("tiny", "smollm2-135m") and not device.startswith("cuda"):
            print(f"skipping {llm}: a hub LM needs --device cuda")
            continue
        try:
            if llm == "smollm2-135m":
                named_llm_path(llm)
            elif llm != "tiny":
                check_llm_source(llm)
        except ValueError as err:
            print(f"skipping {llm}: {err}")
            continue
        keep.append(llm)
    return keep


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--llm", nargs="+", default=["tiny", "smollm2-135m", "Qwen/Qwen3-0.6B"])
    p.add_argument("--rebuild", action="store_true", help="train and evaluate each LM (else: the shipped ones)")
    p.add_argument("--out", default="reports/scaling", help="where --rebuild writes each LM's reference")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 100)
    from e2llm_lab.apps.reference import REFERENCES, build_reference, scaling_row, scaling_table

    if not args.rebuild:
        table = scaling_table([m for m in args.llm if m in REFERENCES])
    else:
        import json

        rows = []
        for llm in present(args.llm, args.device):
            folder = Path(args.out) / llm.replace("/", "_")
            print(f"== {llm}: building into {folder}", flush=True)
            build_reference(folder, llm=None if llm == "tiny" else llm, seed=args.seed, device=args.device)
            train = json.loads((folder / "train.json").read_text())
            rows.append(scaling_row(json.loads((folder / "evaluation.json").read_text()), train))
        table = pd.DataFrame(rows).set_index("llm")
        Path(args.out).mkdir(parents=True, exist_ok=True)
        table.to_csv(Path(args.out) / "scaling.csv")
    print(table.T.round(3).to_string())
    print("\ntargets (issue 24, the real-LM reference): basic >= head and LR; compare >= 0.85; rank exact >= 0.6, "
          "tau >= 0.7; scenario >= 0.6 constrained and free, parse >= 0.95; claim precision >= 0.9; controls within "
          "0.05 of chance")


if __name__ == "__main__":
    main()
