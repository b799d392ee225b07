"""The tiny offline LM before any EEG training: held-out multiple-choice skill, bits per byte, size, step cost.

Multiple choice is free generation (greedy), the letter of ``Answer: (x)`` parsed; an unparsable answer counts
as wrong. The questions are held out: worded as the warm-up never words them (``knowledge.HELD_OUT_WORDINGS``)
and never equal to a warm-up question. Chance is the mean of 1 / (number of options) over the questions asked.
A second set uses warm-up wordings on question instances the warm-up never asked. The step time is one
forward + backward pass at batch 16 x 256 tokens, measured for every model in the same process, interleaved.

    OMP_NUM_THREADS=1 python bench/tiny_llm.py --model data_samples/tiny_qwen3_v2 --baseline data_samples/tiny_qwen3
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from e2llm_lab.build import _MC_SYSTEM
from e2llm_lab.knowledge import LEAD_INS, MC_KINDS, knowledge_texts, multiple_choice, question_key, word_sentences
from e2llm_lab.llm import chat_prompt, load_llm

_ANSWER = re.compile(r"Answer:\s*\(([a-z])\)")


def warmup_question_keys(model_dir: Path) -> set[str]:
    """The keys of every multiple-choice question the model's warm-up drew (from its warmup.json)."""
    info = json.loads((model_dir / "warmup.json").read_text())
    _, questions = knowledge_texts(info["seed"], n_sentences=info["n_sentences"], n_questions=info["n_questions"])
    return {question_key(q) for q, _ in questions}


def held_out_questions(n: int, exclude: set[str], *, held_out_wordings: bool, seed: int = 2024):
    """``n`` questions per kind, none of them in ``exclude``."""
    rng = np.random.default_rng(seed)
    return [(kind, q, a) for kind in MC_KINDS
            for q, a in multiple_choice(rng, n, held_out=held_out_wordings, kinds=(kind,), exclude=exclude)]


@torch.no_grad()
def answer_letters(model, tok, questions: list[str], *, batch_size: int = 32, max_new_tokens: int = 80) -> list:
    """Greedy answers' letters (None when no ``Answer: (x)`` line is found)."""
    tok.padding_side = "left"
    out = []
    for i in range(0, len(questions), batch_size):
        prompts = [chat_prompt(tok, q, system=_MC_SYSTEM) for q in questions[i:i + batch_size]]
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id,
                             eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"))
        for row in gen[:, enc["input_ids"].shape[1]:]:
            m = _ANSWER.search(tok.decode(row, skip_special_tokens=True))
            out.append(m.group(1) if m else None)
    tok.padding_side = "right"
    return out


def mc_accuracy(model, tok, items) -> dict:
    """Accuracy overall and by kind, chance, the share of unparsable answers."""
    letters = answer_letters(model, tok, [q for _, q, _ in items])
    truth = [_ANSWER.search(a).group(1) for _, _, a in items]
    right = np.array([g == t for g, t in zip(letters, truth)])
    n_opts = np.array([len(re.findall(r"\([a-z]\) ", q)) for _, q, _ in items])
    kinds = np.array([k for k, _, _ in items])
    return {"accuracy": float(right.mean()), "chance": float(np.mean(1 / n_opts)),
            "unparsed": float(np.mean([g is None for g in letters])), "n": len(items),
            "by_kind": {k: round(float(right[kinds == k].mean()), 3) for k in MC_KINDS}, "right": right}


def _core(question: str) -> str:
    """A question without its lead-in: two questions with the same core ask the same thing."""
    for lead in sorted(LEAD_INS, key=len, reverse=True):
        if lead and question.startswith(lead):
            return question_key(question[len(lead):])
    return question_key(question)


@torch.no_grad()
def bits_per_byte(model, tok, texts: list[str]) -> float:
    """Next-token loss on plain sentences, in bits per UTF-8 byte (comparable across tokenizers)."""
    nll, n_bytes = 0.0, 0
    for t in texts:
        ids = tok(t, return_tensors="pt", add_special_tokens=False)["input_ids"]
        loss = model(input_ids=ids, labels=ids).loss
        nll += float(loss) * (ids.shape[1] - 1)
        n_bytes += len(t.encode()) - len(tok.decode(ids[0, :1]).encode())
    return nll / n_bytes / np.log(2)


def step_times(models: dict, *, batch: int = 16, seq: int = 256, reps: int = 5) -> dict[str, float]:
    """Median seconds of one forward + backward pass at ``batch`` x ``seq`` tokens, models interleaved."""
    times = {name: [] for name in models}
    for rep in range(reps + 1):
        for name, (model, tok) in models.items():
            model.train()
            ids = torch.randint(0, len(tok), (batch, seq), generator=torch.Generator().manual_seed(rep))
            t0 = time.perf_counter()
            model(input_ids=ids, labels=ids).loss.backward()
            dt = time.perf_counter() - t0
            model.zero_grad(set_to_none=True)
            model.eval()
            if rep:                                               # the first pass warms up
                times[name].append(dt)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="data_samples/tiny_qwen3_v2")
    ap.add_argument("--baseline", default="data_samples/tiny_qwen3", help="measured in the same run ('' for none)")
    ap.add_argument("--n", type=int, default=20, help="questions per kind")
    ap.add_argument("--seen-wordings", action="store_true", help="also unseen questions in warm-up wordings")
    ap.add_argument("--baseline-mc", action="store_true", help="also the baseline's multiple-choice accuracy")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    paths = {"model": Path(args.model), **({"baseline": Path(args.baseline)} if args.baseline else {})}
    models = {name: load_llm(p, device="cpu", dtype="float32") for name, p in paths.items()}
    print("under load: the machine's other work slows every timing; compare ratios from one run", flush=True)
    sentences = word_sentences(np.random.default_rng(99), 200)
    for name, (model, tok) in models.items():
        path = paths[name]
        model.eval()
        exclude = warmup_question_keys(path) if (path / "warmup.json").exists() else set()
        cores = {_core(q) for q in exclude}
        weights = path / "model.safetensors"
        print(f"== {name}: {path}", flush=True)
        print(f"parameters {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M, weights file "
              f"{weights.stat().st_size / 2**20:.1f} MB")
        print(f"bits per byte on knowledge sentences: {bits_per_byte(model, tok, sentences):.3f}")
        if name == "baseline" and not args.baseline_mc:
            continue
        sets = [("held-out wordings, unseen questions", True)]
        sets += [("warm-up wordings, unseen questions", False)] if args.seen_wordings else []
        for label, held in sets:
            t0 = time.perf_counter()
            items = held_out_questions(args.n, exclude, held_out_wordings=held)
            r = mc_accuracy(model, tok, items)
            print(f"multiple choice ({label}): accuracy {r['accuracy']:.3f} (chance {r['chance']:.3f}, "
                  f"n {r['n']}, unparsed {r['unparsed']:.3f}) by kind {r['by_kind']} "
                  f"[{time.perf_counter() - t0:.0f} s]", flush=True)
            new = np.array([_core(q) not in cores for _, q, _ in items])
            print(f"  of which questions whose content (lead-in aside) the warm-up never asked either: accuracy "
                  f"{r['right'][new].mean():.3f} (n {int(new.sum())})", flush=True)
    times = step_times(models)
    line = ", ".join(f"{name} {t:.3f} s" for name, t in times.items())
    ratio = f"; ratio model / baseline {times['model'] / times['baseline']:.2f}" if "baseline" in times else ""
    print(f"forward+backward step at batch 16 x 256 tokens (median of 5, taken under load): {line}{ratio}")


if __name__ == "__main__":
    main()
