"""Does bf16 autocast make stage 3 faster on this CPU? SmolLM2-135M (or --llm), the same steps in fp32 and bf16.

Each precision runs in its own process (peak memory is per process), from the same seed: stage-3 steps (LoRA +
projector) on instruction examples of the sample cohort, batch 8. Prints the CPU's bf16 flags, tokens per second,
seconds per step, peak resident memory and the loss of each run (bf16 must learn as fp32 does: the last steps' mean
loss within a few percent).

    python bench/cpu_precision.py [--llm smollm2-135m] [--steps 6]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import warnings
from pathlib import Path


def one(llm: str, precision: str, steps: int) -> dict:
    import torch

    from e2llm_lab.config import TrainConfig
    from e2llm_lab.data.samples import load_sample
    from e2llm_lab.data.splits import split
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.llm import add_lora
    from e2llm_lab.models.model import E2LLM
    from e2llm_lab.text.rationales import EmotionSignatures
    from e2llm_lab.training.pipeline import resolve_config, stage_examples
    from e2llm_lab.training.train import train_stage

    cfg = resolve_config("cpu-smollm2", llm, 0, "cpu")
    sp = split(load_sample(), (5, 6), cfg.data)
    torch.manual_seed(0)
    model = E2LLM.build(EEGEncoder.from_features(sp.samples, cfg.encoder), cfg, device="cpu")
    model.signatures = EmotionSignatures.fit(sp.samples, sp.train_idx)
    _, examples = stage_examples(sp.samples, sp.train_idx, model.signatures, n_eeg_tokens=model.n_eeg_tokens,
                                 scale=0.1)
    model.llm = add_lora(model.llm, cfg.llm)
    tc = TrainConfig(epochs=1, batch_size=8, lr=3e-4, decision_weight=4.0, mixed_precision=precision)
    hist = train_stage(model, examples[:8 * steps], sp.samples, tc, stage="instruct", progress=False)
    hist = hist.iloc[1:]                                                  # the first step warms up kernels
    return {"precision": precision, "steps": len(hist), "tokens_per_s": float(hist.tokens.sum() / hist.seconds.sum()),
            "s_per_step": float(hist.seconds.mean()), "loss_last3": float(hist.loss.iloc[-3:].mean()),
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--llm", default="smollm2-135m")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    if args.one:
        print(json.dumps(one(args.llm, args.one, args.steps)))
        return
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    print("CPU bf16 support:", {f: f in flags for f in ("avx512_bf16", "amx_bf16", "avx512f")})
    rows = []
    for precision in ("no", "bf16"):
        out = subprocess.run([sys.executable, __file__, "--llm", args.llm, "--steps", str(args.steps),
                              "--one", precision], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    fp32, bf16 = rows
    print(f"\nbf16 autocast / fp32: {bf16['tokens_per_s'] / fp32['tokens_per_s']:.2f}x tokens per second; peak memory "
          f"{bf16['peak_rss_gb']:.2f} vs {fp32['peak_rss_gb']:.2f} GB; loss of the last 3 steps "
          f"{bf16['loss_last3']:.3f} vs {fp32['loss_last3']:.3f}")


if __name__ == "__main__":
    main()
