"""Where an LM's training and generation time goes on this CPU, and how fast each runs, beside the matmul peak.

    python bench/llm_speed.py train    [--llm smollm2-135m] [--steps 8] [--profile] [--dtype D] [--precision P]
    python bench/llm_speed.py generate [--llm smollm2-135m] [--n 64] [--batch-size 32] [--dtype D] [--reference]

``train`` runs stage-2 and stage-3 steps of the preset a user gets with ``--llm`` (its batch size, dtype and
precision unless given) on the sample cohort's instruction examples and prints tokens per second (every non-pad
token of every example, as the training history counts them; the first step, which warms the kernels, left out),
the fraction of the bf16 matmul peak it reaches (LoRA training costs about 4 x the base LM's parameters in FLOPs a
token: forward, and backward to the activations, since the projector sits at the input; the frozen weights
get no gradient), and with ``--profile`` a
torch.profiler table of where the time goes, by kind of operation.

``generate`` answers held-out basic-emotion prompts with ``E2LLM.generate`` and, on the same prompts and the same
number of new tokens per batch, with plain transformers ``generate`` of the same LM and precision: answer tokens
per second of each (tokens up to each answer's end), and slot-steps per second (batch rows x decoding steps).
"""
from __future__ import annotations

import argparse
import time
import warnings
from collections import defaultdict
from dataclasses import replace

from _peak import matmul_gflops

KINDS = (("matmul", ("mm", "addmm", "bmm", "linear", "matmul")),
         ("attention", ("scaled_dot_product", "flash_attention", "softmax", "_efficient_attention")),
         ("loss", ("cross_entropy", "log_softmax", "nll_loss")),
         ("optimizer", ("adam", "_foreach", "clip_grad")),
         ("copies and casts", ("copy_", "to", "_to_copy", "clone", "contiguous", "cat", "index", "masked_scatter",
                               "gather", "scatter")),
         ("elementwise", ("mul", "add", "silu", "rsqrt", "pow", "mean", "neg", "sub", "div", "exp", "sigmoid",
                          "where", "fill", "zero", "embedding", "rms_norm")))


def _kind(name: str) -> str:
    base = name.removeprefix("aten::").lower().lstrip("_")
    for kind, keys in KINDS:
        if any(base == k or base.startswith(k + "_") or base.startswith(k) for k in keys):
            return kind
    return "other"


def _setup(args):
    import torch

    from e2llm_lab.data.samples import load_sample
    from e2llm_lab.data.splits import split
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.model import E2LLM
    from e2llm_lab.text.rationales import EmotionSignatures
    from e2llm_lab.training.pipeline import resolve_config, stage_examples

    cfg = resolve_config(llm=None if args.llm == "tiny" else args.llm, seed=0, device="cpu")
    if args.dtype:
        cfg = replace(cfg, llm=replace(cfg.llm, dtype=args.dtype))
    if args.lora_dropout is not None:
        cfg = replace(cfg, llm=replace(cfg.llm, lora_dropout=args.lora_dropout))
    sp = split(load_sample(), (5, 6), cfg.data)
    torch.manual_seed(0)
    model = E2LLM.build(EEGEncoder.from_features(sp.samples, cfg.encoder), cfg, device="cpu")
    model.signatures = EmotionSignatures.fit(sp.samples, sp.train_idx)
    return cfg, sp, model, stage_examples


def _profile_table(prof, total_s: float) -> str:
    by_kind, by_op = defaultdict(float), defaultdict(float)
    for e in prof.key_averages():
        by_kind[_kind(e.key)] += e.self_cpu_time_total / 1e6
        by_op[e.key] += e.self_cpu_time_total / 1e6
    lines = [f"  {k:<18} {s:7.2f} s  {s / total_s:5.1%}" for k, s in sorted(by_kind.items(), key=lambda kv: -kv[1])]
    lines += ["  top operations (self CPU time):"]
    lines += [f"    {k:<40} {s:7.2f} s" for k, s in sorted(by_op.items(), key=lambda kv: -kv[1])[:12]]
    return "\n".join(lines)


def train(args) -> None:
    import torch

    from e2llm_lab.models.llm import add_lora
    from e2llm_lab.training.train import train_stage

    cfg, sp, model, stage_examples = _setup(args)
    captions, examples = stage_examples(sp.samples, sp.train_idx, model.signatures,
                                        n_eeg_tokens=model.n_eeg_tokens, scale=0.2)
    n_params = sum(p.numel() for n, p in model.llm.named_parameters() if "lora_" not in n)
    print(f"{args.llm}: {n_params / 1e6:.0f} M parameters, {next(model.llm.parameters()).dtype}; "
          f"{torch.get_num_threads()} threads")
    peak = matmul_gflops("bfloat16")
    print(f"matmul peak in this process: bf16 {peak:.0f} GFLOPS, fp32 {matmul_gflops('float32'):.0f} GFLOPS")
    for stage, exs, tc in (("align", captions, cfg.align), ("instruct", examples, cfg.instruct)):
        if stage == "instruct":
            model.llm = add_lora(model.llm, cfg.llm)
        if args.precision:
            tc = replace(tc, mixed_precision=args.precision)
        tc = replace(tc, epochs=1, batch_size=args.train_batch_size or tc.batch_size)
        n = tc.batch_size * (args.steps + 1)
        t0 = time.perf_counter()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if args.profile else \
                _Null() as prof:
            hist = train_stage(model, exs[:n], sp.samples, tc, stage=stage, progress=False)
        wall = time.perf_counter() - t0
        hist = hist.iloc[1:]
        tps = hist.tokens.sum() / hist.seconds.sum()
        tflops = 4 * n_params * tps / 1e12
        print(f"stage {'2' if stage == 'align' else '3'} ({stage}, batch {tc.batch_size}, precision "
              f"{tc.mixed_precision}): {tps:.0f} tokens/s, {hist.seconds.mean():.2f} s/step, "
              f"{tflops:.2f} TFLOPS = {tflops * 1e3 / peak:.0%} of the bf16 peak; "
              f"loss {hist.loss.iloc[-3:].mean():.3f}")
        if args.profile:
            print(_profile_table(prof, wall))


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def generate(args) -> None:
    import numpy as np
    import torch

    from e2llm_lab.text.instructions import make_example

    if args.reference:                     # a trained model: answers of the lengths an evaluation meets
        from e2llm_lab.apps.reference import load_reference_features, load_reference_model
        from e2llm_lab.data.splits import held_out_rows

        model = load_reference_model(llm=args.llm)
        if args.dtype:
            model.llm.to(getattr(torch, args.dtype))
        fs = model.samples(load_reference_features(llm=args.llm))
        test_idx = held_out_rows(model.held_out, fs)[1]
    else:
        _, sp, model, _ = _setup(args)
        fs, test_idx = sp.samples, sp.test_idx
    rng = np.random.default_rng(0)
    rows = test_idx[:: max(1, len(test_idx) // args.n)][: args.n]
    exs = [make_example("emotion", [int(r)], fs, rng, n_eeg_tokens=model.n_eeg_tokens, signatures=model.signatures)
           for r in rows]
    prompts, eeg = [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs]
    peak = matmul_gflops("bfloat16")
    print(f"{args.llm} ({next(model.llm.parameters()).dtype}), {torch.get_num_threads()} threads; matmul peak bf16 "
          f"{peak:.0f} GFLOPS, fp32 {matmul_gflops('float32'):.0f} GFLOPS")
    model.generate(prompts[:2], eeg[:2], max_new_tokens=8, batch_size=2)               # warm the kernels
    t0 = time.perf_counter()
    texts = model.generate(prompts, eeg, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    ours = time.perf_counter() - t0
    lengths = [len(model.processor.encode([t])[0]) for t in texts]
    print(f"E2LLM.generate: {len(texts)} answers in {ours:.1f} s, {sum(lengths) / ours:.0f} answer tokens/s "
          f"(mean answer {np.mean(lengths):.0f} tokens, batch {args.batch_size})")
    # plain transformers generate of the same LM: the same prompts as token ids, each batch decoding as many steps as
    # the longest answer of that batch above (what E2LLM.generate decoded, stopping when every row had ended)
    proc, plain_s, steps_total = model.processor, 0.0, 0
    order = np.argsort([len(i) for i in proc.encode(proc.chat(prompts))], kind="stable")
    for i in range(0, len(prompts), args.batch_size):
        idx = order[i:i + args.batch_size]
        batch = proc([proc.chat([prompts[j]])[0] for j in idx], side="left")
        steps = max(lengths[j] for j in idx)
        t0 = time.perf_counter()
        with torch.no_grad():
            model.llm.generate(**batch, max_new_tokens=steps, min_new_tokens=steps, do_sample=False,
                               pad_token_id=model.tokenizer.pad_token_id)
        plain_s += time.perf_counter() - t0
        steps_total += steps * len(idx)
    print(f"plain transformers generate, same prompts and decoding steps: {plain_s:.1f} s "
          f"({steps_total / plain_s:.0f} slot-steps/s); E2LLM.generate takes {ours / plain_s:.2f}x its time")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("train", "generate"))
    p.add_argument("--llm", default="smollm2-135m")
    p.add_argument("--dtype", default=None, help="the LM's weights: float32 or bfloat16 (default: the preset's)")
    p.add_argument("--precision", default=None, help="TrainConfig.mixed_precision: 'no' or 'bf16'")
    p.add_argument("--lora-dropout", type=float, default=None, help="LLMConfig.lora_dropout (default: the preset's)")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--train-batch-size", type=int, default=None,
                   help="batch size of both stages (default: the preset's)")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--reference", action="store_true", help="generate: the shipped reference model of --llm (trained)")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    train(args) if args.what == "train" else generate(args)


if __name__ == "__main__":
    main()
