"""Can the tiny LM learn the ordering step of compare/rank at all? LoRA on text-only ordering drills, nothing else.

The compare and rank reasonings read each clip ("Clip A: ... It matches fear.") and then order them ("From most to
least positive: happiness (B) > fear (A)."). The evaluation's ``ordering_link`` shows that the reference model
fails at the second step even when each clip's true reading is written for it. This bench isolates that step:
the shipped tiny LM gets LoRA adapters (the stage-3 settings, ``LLMConfig()``) and is trained on drills only --
readings in the reasoning's own form, the ordered sentence and the answer line as the target -- then answers 200
new drills greedily; the answer line is scored exactly, for two and for three clips.

``--recall-warmup N`` first fine-tunes the whole LM for N steps on generic in-context recall ("Item A: red. Item
B: fear. Which item is fear? Item B."), the copying skill a real LLM brings from pre-training, to see whether the
ordering step then comes easier.

``--form walk`` writes the ordering step as a walk through every label of the space in the attribute's order, each
with its clip or "(no clip)" beside it, so that each step is a copy (an induction step) rather than a sort.

    python bench/ordering_drill.py [--steps 750] [--recall-warmup 0] [--form order|walk]

Measured 2026-11-24 on 2 quiet cores (seed 0): 750 steps -> two clips 0.663, three clips 0.231 (3.5-5 min); with a
600-step recall warm-up first (recall itself then 0.62) -> 0.565 / 0.157; ``--form walk`` -> 0.620 / 0.000, and
no walk exactly right. Chance: 0.5 / 0.167. An earlier run of the same drills without the signature sentence
reached 0.88 / 0.54 after 2,400 steps.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")

_WORDS = "red blue green river stone cloud apple piano tiger lamp chair north winter garden candle".split()


def recall_text(rng, labels) -> str:
    """One generic recall drill: 2-4 lettered items, then a question one way or the other, with its answer."""
    k = int(rng.integers(2, 5))
    names = "ABCD"[:k]
    words = [str(w) for w in rng.choice(list(labels) + _WORDS, k, replace=False)]
    pairs = " ".join(f"Item {n}: {w}." for n, w in zip(names, words))
    i = int(rng.integers(k))
    if rng.random() < 0.5:
        return f"{pairs} Which item is {words[i]}? Item {names[i]}."
    return f"{pairs} What is item {names[i]}? {words[i]}."


def ordering_drill(rng, space, tokenizer, form: str = "order"):
    """(prompt, reasoning so far, target): 2 or 3 clips whose labels differ on the attribute asked.

    ``form="order"`` is the reasoning's own ordered sentence; ``"walk"`` goes through every label of the space in
    the attribute's order, each with its clip or "(no clip)", so each step copies instead of sorting."""
    from e2llm_lab.text.chat import chat_prompt

    while True:
        attr = str(rng.choice(list(space.attributes())))
        score = space.score(attr)
        k = int(rng.choice([2, 3]))
        labels = [str(x) for x in rng.choice(space.labels, k, replace=False)]
        if len({score[e] for e in labels}) == k:
            break
    names = "ABC"[:k]
    tail = " (clip {})" if form == "walk" else ""
    reads = " ".join(f"Clip {n}: Closest learned signatures: {e} (r = +0.{rng.integers(2, 9)}). It matches {e}"
                     f"{tail.format(n)}." for n, e in zip(names, labels))
    order = sorted(range(k), key=lambda i: -score[labels[i]])
    if form == "walk":
        where = dict(zip(labels, names))
        steps = sorted(space.labels, key=lambda e: (-score[e], e))
        decide = ", ".join(f"{e} (clip {where[e]})" if e in where else f"{e} (no clip)" for e in steps)
    else:
        decide = " > ".join(f"{labels[i]} ({names[i]})" for i in order)
    target = (f"From most to least {attr}: {decide}. </think>\nAnswer: "
              + (f"Clip {names[order[0]]}" if k == 2 else " > ".join(names[i] for i in order)))
    return chat_prompt(tokenizer, f"Order the clips. Which is most {attr}?"), "<think> " + reads + " ", target


def main() -> None:
    import torch

    from e2llm_lab.config import LLMConfig
    from e2llm_lab.labels import SEED7
    from e2llm_lab.models.llm import add_lora, load_llm, tiny_llm_path

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=750, help="LoRA steps on ordering drills (batch 16, lr 1e-2)")
    p.add_argument("--recall-warmup", type=int, default=0, help="full fine-tuning steps on recall drills first")
    p.add_argument("--form", choices=("order", "walk"), default="order",
                   help="the ordering step as the reasoning writes it, or a walk through every label")
    p.add_argument("--model", default=None, help="tiny LM folder (default: the shipped one)")
    args = p.parse_args()

    torch.manual_seed(0)
    space = SEED7
    llm, tok = load_llm(str(args.model or tiny_llm_path()), device="cpu")
    t0 = time.perf_counter()
    if args.recall_warmup:
        rng = np.random.default_rng(1)
        opt = torch.optim.AdamW(llm.parameters(), lr=1e-3, weight_decay=0.01)
        for _ in range(args.recall_warmup):
            b = tok([recall_text(rng, space.labels) for _ in range(32)], return_tensors="pt", padding=True)
            llm(**b, labels=b["input_ids"].masked_fill(b["attention_mask"] == 0, -100)).loss.backward()
            opt.step()
            opt.zero_grad()
        llm.eval()
        tok.padding_side = "left"
        rng = np.random.default_rng(7)
        qs = [recall_text(rng, space.labels) for _ in range(100)]
        enc = tok([q.rsplit("?", 1)[0] + "?" for q in qs], return_tensors="pt", padding=True)
        with torch.no_grad():
            out = llm.generate(**enc, max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
        ok = [tok.decode(o[enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
              .startswith(q.rsplit("?", 1)[1].strip()[:-1]) for q, o in zip(qs, out)]
        print(f"recall after {args.recall_warmup} warm-up steps: {np.mean(ok):.2f}", flush=True)
        tok.padding_side = "right"
        llm.train()

    llm = add_lora(llm, LLMConfig())
    opt = torch.optim.AdamW([q for q in llm.parameters() if q.requires_grad], lr=1e-2)
    rng = np.random.default_rng(0)
    for step in range(args.steps):
        ids, labels = [], []
        for prompt, reads, target in (ordering_drill(rng, space, tok, args.form) for _ in range(16)):
            pi = tok(prompt + reads, add_special_tokens=False)["input_ids"]
            ti = tok(target + tok.eos_token, add_special_tokens=False)["input_ids"]
            ids.append(pi + ti)
            labels.append([-100] * len(pi) + ti)
        w = max(map(len, ids))
        x = torch.tensor([i + [tok.pad_token_id] * (w - len(i)) for i in ids])
        y = torch.tensor([lab + [-100] * (w - len(lab)) for lab in labels])
        mask = torch.tensor([[1] * len(i) + [0] * (w - len(i)) for i in ids])
        loss = llm(input_ids=x, attention_mask=mask, labels=y).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        if step % 150 == 0:
            print(f"step {step}: loss {loss.item():.3f}", flush=True)

    llm.eval()
    tok.padding_side = "left"
    rng = np.random.default_rng(99)
    hits, reasoned = {2: [], 3: []}, []
    for _ in range(10):
        batch = [ordering_drill(rng, space, tok, args.form) for _ in range(20)]
        enc = tok([p + r for p, r, _ in batch], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = llm.generate(**enc, max_new_tokens=110 if args.form == "walk" else 40, do_sample=False,
                               pad_token_id=tok.pad_token_id)
        for (_, reads, target), o in zip(batch, out):
            text = tok.decode(o[enc["input_ids"].shape[1]:], skip_special_tokens=True)
            got = text.split("Answer:")[1].strip().split("\n")[0].strip() if "Answer:" in text else None
            hits[3 if "Clip C" in reads else 2].append(got == target.split("Answer:")[1].strip())
            reasoned.append(text.strip().startswith(target.split(" </think>")[0]))      # the ordering line exact
    print(f"{args.form} form, {args.steps} LoRA steps (recall warm-up {args.recall_warmup}), "
          f"{time.perf_counter() - t0:.0f} s: ordering line exact {np.mean(reasoned):.3f}, "
          f"two clips {np.mean(hits[2]):.3f} (n={len(hits[2])}, chance 0.5), "
          f"three clips {np.mean(hits[3]):.3f} (n={len(hits[3])}, chance 0.167)")


if __name__ == "__main__":
    main()
