"""Teacher-forced scoring of answer options, and the constrained answer line built on it.

- :func:`score_options`: the log-likelihood an :class:`~e2llm_lab.models.model.E2LLM` gives each option continuing an
  assistant's text, given the prompt and its EEG (one pass over each prompt, the options from its cache);
- :func:`choose_answer_lines`: keep a generated reasoning (up to ``</think>``) and end it with its most likely
  answer line (constrained decoding of the answer only).

Both are for scoring and choosing among fixed options, never for writing free text (that is ``E2LLM.generate``).
"""
from __future__ import annotations

import numpy as np
import torch
from transformers.modeling_outputs import CausalLMOutputWithPast

from ..text.chat import EEG_END, EEG_START, EEG_TOKEN

__all__ = ["score_options", "choose_answer_lines", "strip_eeg"]

# transformers 5.x names a model's key/value cache `cache` (past_key_values before, deprecated since)
_CACHE = "cache" if "cache" in CausalLMOutputWithPast.__dataclass_fields__ else "past_key_values"


def strip_eeg(text: str) -> str:
    """Remove EEG marker tokens from generated text (they stand for EEG only where the caller puts them)."""
    for t in (EEG_START, EEG_TOKEN, EEG_END):
        text = text.replace(t, "")
    return text


@torch.no_grad()
def score_options(model, prompts: list[str], eeg: list[np.ndarray], prefixes: list[str],
                  options: list[list[str]], *, batch_size: int = 32) -> list[np.ndarray]:
    """Log-likelihood of each option continuing the assistant's ``prefix``, given the prompt and the EEG.

    One forward pass reads each prompt and its prefix (left-padded, with the positions every row would have alone)
    and keeps its key/value cache; the options then continue from that cache, a few tokens each. A question with
    seven answer lines costs one pass over its prompt, not seven.

    Parameters
    ----------
    model : E2LLM
    prompts : list of str
        User messages with their EEG placeholders.
    eeg : list of np.ndarray, each shape (n_segments, T, C, F)
    prefixes : list of str
        The assistant's text so far, one per prompt.
    options : list of list of str
        The continuations to score, per prompt.
    batch_size : int
        Prompts per forward pass (their options ride along, at most 8 x ``batch_size`` rows).

    Returns
    -------
    list of np.ndarray, one per prompt, shape (n_options,)
        The sum of the option tokens' log-probabilities (teacher-forced; for scoring, never as an answer).
    """
    model.eval()
    proc = model.processor
    heads = proc.encode(proc.chat(prompts, prefixes))
    tails = [proc.encode(opts) for opts in options]
    if any(not t for ts in tails for t in ts):
        raise ValueError("an option is empty: every option needs at least one token to be scored")
    out = [np.zeros(len(o)) for o in options]
    todo = sorted((k for k in range(len(prompts)) if options[k]), key=lambda k: len(heads[k]))  # similar lengths
    chunk: list[int] = []
    for k in todo + [None]:
        if k is not None and len(chunk) < batch_size and sum(len(tails[j]) for j in chunk + [k]) <= 8 * batch_size:
            chunk.append(k)
            continue
        if chunk:
            for j, scores in zip(chunk, _score_chunk(model, [heads[j] for j in chunk], [tails[j] for j in chunk],
                                                     [eeg[j] for j in chunk])):
                out[j] = scores
        chunk = [] if k is None else [k]
    return out


def _score_chunk(model, heads, tails, eeg) -> list[np.ndarray]:
    """Scores of one chunk: the prompts' forward pass with its cache, then every option from its prompt's cache."""
    proc, dev = model.processor, model.device
    batch = proc.from_ids(heads, eeg, side="left", device=dev)
    mask = batch["attention_mask"]
    pos = (mask.cumsum(1) - 1).clamp_min(0)                       # left padding: each row counts from its own start
    res = model.llm(inputs_embeds=model.embed_inputs(batch["input_ids"], batch["eeg"]), attention_mask=mask,
                    position_ids=pos, use_cache=True)
    first = torch.log_softmax(res.logits[:, -1].float(), -1)     # (b, V): each option's first token
    rows = [(b, t) for b, ts in enumerate(tails) for t in ts]    # one row per (prompt, option)
    src = torch.tensor([b for b, _ in rows], device=dev)
    cache = getattr(res, _CACHE)
    cache.batch_select_indices(src)                              # each row continues its prompt's cache
    ids, tail_mask = proc.pad([t for _, t in rows], side="right", device=dev)
    tail_pos = pos[src, -1:] + 1 + torch.arange(ids.shape[1], device=dev)
    logits = model.llm(input_ids=ids, attention_mask=torch.cat([mask[src], tail_mask], 1), position_ids=tail_pos,
                       **{_CACHE: cache}).logits                                 # (R, T, V)
    logp = torch.log_softmax(logits.float(), -1)
    scores = [[] for _ in heads]
    for r, (b, t) in enumerate(rows):
        tok = torch.tensor(t, device=dev)
        rest = logp[r, torch.arange(len(t) - 1, device=dev), tok[1:]].sum() if len(t) > 1 else 0.0
        scores[b].append(float(first[b, tok[0]] + rest))          # position i of the tail predicts its token i + 1
    return [np.array(s) for s in scores]


def choose_answer_lines(model, prompts: list[str], eeg: list[np.ndarray], texts: list[str],
                        answer_options: list[list[str]], *, batch_size: int = 32) -> list[str]:
    """Keep each generated reasoning (up to ``</think>``) and end it with its most likely answer line.

    Parameters
    ----------
    model : E2LLM
    prompts : list of str
    eeg : list of np.ndarray, each shape (n_segments, T, C, F)
    texts : list of str
        Generated answers; EEG markers in them are removed.
    answer_options : list of list of str
        The allowed answer lines (e.g. ``"\\nEmotion: fear"``); an empty list keeps that text unchanged.
    batch_size : int

    Returns
    -------
    list of str
        ``reasoning + " </think>" + best answer line`` (by :func:`score_options`), or the text unchanged.
    """
    texts = list(texts)
    todo = [j for j, o in enumerate(answer_options) if o]
    if todo:
        reasoned = [strip_eeg(texts[j].split("</think>")[0]).rstrip() + " </think>" for j in todo]
        scores = score_options(model, [prompts[j] for j in todo], [eeg[j] for j in todo], reasoned,
                               [answer_options[j] for j in todo], batch_size=batch_size)
        for j, text, sc in zip(todo, reasoned, scores):
            texts[j] = text + answer_options[j][int(np.argmax(sc))]
    return texts
