"""Stages 2 and 3: one training loop for cross-modal alignment and chain-of-thought instruction tuning.

- ``"align"`` (stage 2): encoder and LLM frozen; only the projector learns, on feature-description captions.
- ``"instruct"`` (stage 3): LoRA adapters + projector learn on mixed tasks; the encoder stays frozen unless
  ``TrainConfig.unfreeze_encoder``.

The loop runs on ``accelerate.Accelerator``, so ``accelerate launch`` spreads it over GPUs; prompt and padding
tokens are masked with -100 so only answers are learned.
"""
from __future__ import annotations

import functools
import re
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..config import TrainConfig
from ..models.llm import lora_input_casting, lora_to_lm_dtype
from ..models.processor import EEGPromptProcessor, pad
from ..text.instructions import Example
from .checkpoint import load_training_state, save_training_state

__all__ = ["STAGES", "InstructionDataset", "collate", "decision_spans", "set_trainable", "train_stage"]

STAGES = ("align", "instruct")
_THINK_END = "</think>"


@functools.lru_cache(maxsize=32)
def _label_pattern(words: tuple[str, ...]) -> re.Pattern:
    """One regex for a label space's words (longest first, so "very happy" wins over "happy"), built once."""
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


def decision_spans(answer: str, words) -> list[tuple[int, int]]:
    """Character spans of an answer's decisions: every label of ``words`` (whole words, any case) in the reasoning,
    and the answer line after ``</think>``."""
    end = answer.find(_THINK_END)
    reasoning = answer if end < 0 else answer[:end]
    spans = [m.span() for m in _label_pattern(tuple(words)).finditer(reasoning)] if words else []
    if end >= 0:
        spans.append((end + len(_THINK_END), len(answer)))
    return sorted(spans)


def _token_weights(offsets, spans, weight: float) -> list[float]:
    """``weight`` for each token (character span in ``offsets``) that overlaps a span, 1.0 for the others."""
    return [weight if any(a < e and s < b for s, e in spans) else 1.0 for a, b in offsets]


class InstructionDataset(torch.utils.data.Dataset):
    """Tokenised examples: ``input_ids`` (prompt + answer + end-of-turn), ``labels`` (-100 on the prompt), EEG,
    and with ``decision_weight != 1`` each token's loss weight (see :class:`~e2llm_lab.config.TrainConfig`)."""

    def __init__(self, examples: list[Example], fs, tokenizer, *, max_length: int = 512,
                 decision_weight: float = 1.0):
        if not decision_weight > 0:
            raise ValueError(f"decision_weight={decision_weight}: it must be > 0 (1.0 weighs every answer token alike)")
        words = fs.label_space.labels
        proc = EEGPromptProcessor(tokenizer)
        self.items = []
        for ex in examples:
            prompt, answer = proc.encode_example(ex.prompt, ex.answer, ex.given)
            if len(prompt) + len(answer) > max_length:
                raise ValueError(f"a {ex.task} example is {len(prompt) + len(answer)} tokens, over max_length="
                                 f"{max_length}; raise LLMConfig.max_length")
            weights = None
            if decision_weight != 1.0:
                weights = _token_weights(proc.answer_offsets(ex.answer), decision_spans(ex.answer, words),
                                         decision_weight)
                if len(weights) != len(answer):
                    raise RuntimeError(f"offsets of a {ex.task} answer give {len(weights)} tokens, not "
                                       f"{len(answer)}: this tokenizer cannot weigh decisions; use decision_weight=1")
                weights = [0.0] * len(prompt) + weights
            self.items.append((prompt + answer, [-100] * len(prompt) + answer, fs.X[ex.eeg_rows], weights))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def collate(batch, pad_token_id: int) -> dict:
    """Right-pad a batch (:func:`~e2llm_lab.models.processor.pad`); EEG segments of all examples are concatenated
    in order. Items that carry token weights add ``weights`` (0 on prompt and padding).

    Returns
    -------
    dict
        ``input_ids``, ``attention_mask``, ``labels`` (-100 on padding), and ``weights`` where given, each (B, L);
        ``eeg``, shape (S, T, C, F).
    """
    input_ids, mask = pad([ids for ids, *_ in batch], side="right", pad_id=pad_token_id)
    labels, _ = pad([lab for _, lab, *_ in batch], side="right", pad_id=-100)
    eeg = torch.as_tensor(np.concatenate([item[2] for item in batch]))     # B x (n_b, T, C, F) -> (S, T, C, F)
    out = {"input_ids": input_ids, "attention_mask": mask, "labels": labels, "eeg": eeg}
    if len(batch[0]) > 3 and batch[0][3] is not None:
        out["weights"], _ = pad([w for *_, w in batch], side="right", pad_id=0.0)
    return out


def set_trainable(model, stage: str, *, unfreeze_encoder: bool = False) -> list[str]:
    """Freeze everything, then unfreeze what ``stage`` trains; returns the trainable parameter names."""
    if stage not in STAGES:
        raise ValueError(f"stage={stage!r}; allowed: {STAGES}")
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.projector.parameters():
        p.requires_grad_(True)
    if stage == "instruct":
        for n, p in model.llm.named_parameters():
            if "lora_" in n:
                p.requires_grad_(True)
        if unfreeze_encoder:
            for p in model.encoder.parameters():
                p.requires_grad_(True)
    for p in model.parameters():            # trainable parts stay fp32 even when the LLM runs in bf16
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()
    return [n for n, p in model.named_parameters() if p.requires_grad]


def _resume(ckpt, model, opt, sched) -> tuple[int, list[dict]]:
    """Load a stage's training state into the model, optimizer and scheduler: ``(step, history rows)``."""
    if ckpt is None:
        raise ValueError("resume=True needs checkpoint_dir")
    groups, opt_state, meta = load_training_state(ckpt, device=str(model.device))
    model.load_state_dict(groups["trainable"], strict=False)
    opt.load_state_dict(opt_state)
    sched.load_state_dict(meta["scheduler"])
    return meta["step"], meta["history"]


def length_batches(lengths, batch_size: int, generator: torch.Generator, *, group: int = 16) -> list[list[int]]:
    """One epoch's batches of examples of similar length, in random order.

    A random order of the examples is cut into spans of ``group`` batches; each span is sorted by length and cut
    into batches, and the batches are shuffled (as Hugging Face's ``group_by_length`` and fairseq's buckets do). Every
    example comes once, a batch still mixes tasks, and a batch pads only to its own longest example, so little compute
    goes to padding. As many batches as plain shuffling gives (only the last span holds a short batch).
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    batches = []
    for start in range(0, len(order), batch_size * group):
        span = sorted(order[start:start + batch_size * group], key=lambda i: -lengths[i])
        batches += [span[k:k + batch_size] for k in range(0, len(span), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def _epoch_loader(ds, cfg: TrainConfig, epoch: int, pad_token_id: int, accelerator):
    """One epoch's shuffled, right-padded batches (:func:`collate`), in the same order after a resume; batches of
    similar lengths (:func:`length_batches`) unless ``cfg.group_by_length`` is off."""
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)   # same order after a resume
    collate_fn = functools.partial(collate, pad_token_id=pad_token_id)
    if cfg.group_by_length:
        batches = length_batches([len(item[0]) for item in ds.items], cfg.batch_size, gen)
        loader = torch.utils.data.DataLoader(ds, batch_sampler=batches, collate_fn=collate_fn)
    else:
        loader = torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, generator=gen,
                                             collate_fn=collate_fn)
    return accelerator.prepare(loader)


def _train_batch(model_p, batch: dict, accelerator, params, opt, sched, autocast: dict | None = None) -> float:
    """Forward, backward and (when gradients sync) a clipped optimizer step on one batch; returns its loss.
    ``autocast``: ``torch.autocast`` arguments for the forward pass (bf16 mixed precision)."""
    with accelerator.accumulate(model_p):
        with torch.autocast(**(autocast or {"device_type": "cpu", "enabled": False})):
            loss = model_p(**batch).loss                   # the LM head on the scored positions only (E2LLM.forward)
        accelerator.backward(loss)
        if accelerator.sync_gradients:
            accelerator.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    return loss.item()


def _trainable_names(model, stage: str, cfg: TrainConfig) -> set[str]:
    """Mark what ``stage`` trains and return those parameters' names (stage 3 needs LoRA adapters)."""
    names = set(set_trainable(model, stage, unfreeze_encoder=cfg.unfreeze_encoder))
    if stage == "instruct" and not any("lora_" in n for n in names):
        raise ValueError("stage 'instruct' trains LoRA adapters: wrap model.llm with "
                         "e2llm_lab.models.llm.add_lora first")
    return names


def _autocast_args(cfg: TrainConfig, device) -> dict:
    """``torch.autocast`` arguments of ``cfg.mixed_precision``. Autocast here, not accelerate's mixed_precision:
    that one is fixed once per process (its AcceleratorState), so a bf16 stage could not follow an fp32 one."""
    if cfg.mixed_precision not in ("no", "bf16"):
        raise ValueError(f"mixed_precision={cfg.mixed_precision!r}; allowed: 'no', 'bf16'")
    return {"device_type": torch.device(device).type, "dtype": torch.bfloat16,
            "enabled": cfg.mixed_precision == "bf16"}


def train_stage(model, examples: list[Example], fs, cfg: TrainConfig = TrainConfig(), *, stage: str,
                checkpoint_dir=None, resume: bool = False, progress: bool = True) -> pd.DataFrame:
    """Train one stage of :class:`~e2llm_lab.models.model.E2LLM` on instruction examples.

    Parameters
    ----------
    model : E2LLM
        For ``"instruct"`` its LLM must already carry LoRA adapters (:func:`~e2llm_lab.models.llm.add_lora`).
    examples : list of Example
    fs : FeatureSet
        Rows referenced by the examples.
    cfg : TrainConfig
    stage : {"align", "instruct"}
    checkpoint_dir : path, optional
        Training state every ``cfg.checkpoint_every`` optimizer steps and at the end.
    resume : bool
        Continue from ``checkpoint_dir``, skipping the batches already done.

    Returns
    -------
    pd.DataFrame
        One row per optimizer step: stage, epoch, step, loss, lr.
    """
    from accelerate import Accelerator
    from transformers import get_linear_schedule_with_warmup

    names, autocast = _trainable_names(model, stage, cfg), _autocast_args(cfg, model.device)
    accelerator = Accelerator(gradient_accumulation_steps=cfg.grad_accum, cpu=model.device.type == "cpu")
    ds = InstructionDataset(examples, fs, model.tokenizer, max_length=model.cfg.llm.max_length,
                            decision_weight=cfg.decision_weight)
    params = [p for n, p in model.named_parameters() if n in names]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = (steps_per_epoch := -(-len(ds) // (cfg.batch_size * cfg.grad_accum))) * cfg.epochs
    sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup_frac * total), total)
    model_p, opt, sched = accelerator.prepare(model, opt, sched)

    step, rows = 0, []
    ckpt = Path(checkpoint_dir) / f"{stage}_state" if checkpoint_dir is not None else None
    if resume:
        step, rows = _resume(ckpt, model, opt, sched)

    def save():
        if ckpt is not None:
            trainable = {n: p for n, p in model.named_parameters() if n in names}
            save_training_state(ckpt, tensors={"trainable": trainable}, optimizer=opt,
                                meta={"step": step, "history": rows, "scheduler": sched.state_dict(),
                                      "stage": stage, "train_config": asdict(cfg)})

    bar = tqdm(total=total, initial=step, desc=f"stage {'2: align' if stage == 'align' else '3: instruct'}",
               disable=not progress)
    model_p.train()
    if not cfg.unfreeze_encoder:
        model.encoder.eval()                 # frozen: no dropout noise in the EEG tokens either
    with lora_input_casting(model.llm, enabled=not autocast["enabled"]):    # autocast: no per-layer casts to fp32
        for epoch in range(cfg.epochs):
            loader = _epoch_loader(ds, cfg, epoch, model.tokenizer.pad_token_id, accelerator)
            done_here = max(0, step - epoch * steps_per_epoch) * cfg.grad_accum
            if done_here >= len(loader):
                continue
            if done_here:
                loader = accelerator.skip_first_batches(loader, done_here)
            torch.manual_seed(cfg.seed * 1000 + epoch + step)              # LoRA dropout
            running, tokens, t0 = [], 0, time.perf_counter()
            for batch in loader:
                tokens += int(batch["attention_mask"].sum())
                running.append(_train_batch(model_p, batch, accelerator, params, opt, sched, autocast))
                if accelerator.sync_gradients:
                    step += 1
                    rows.append({"stage": stage, "epoch": epoch, "step": step, "loss": float(np.mean(running)),
                                 "lr": sched.get_last_lr()[0], "tokens": tokens, "seconds": time.perf_counter() - t0})
                    running, tokens, t0 = [], 0, time.perf_counter()
                    bar.update(1)
                    bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}")
                    if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                        save()
    bar.close()
    save()
    lora_to_lm_dtype(model.llm)              # answering with a bf16 LM: adapters in bf16 too (fp32 again to train)
    model.eval()
    return pd.DataFrame(rows)
