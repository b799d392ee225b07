"""Teacher-forced scoring of answer options, and the constrained answer line built on it.

- :func:`score_options`: the log-likelihood an :class:`~e2llm_lab.models.model.E2LLM` gives each option continuing an
  assistant's text, given the prompt and its EEG (right-padded batches from the model's processor);
- :func:`choose_answer_lines`: keep a generated reasoning (up to ``</think>``) and end it with its most likely
  answer line (constrained decoding of the answer only).

Both are for scoring and choosing among fixed options, never for writing free text (that is ``E2LLM.generate``).
"""
from __future__ import annotations

import numpy as np
import torch

from ..text.chat import EEG_END, EEG_START, EEG_TOKEN

__all__ = ["score_options", "choose_answer_lines", "strip_eeg"]


def strip_eeg(text: str) -> str:
    """Remove EEG marker tokens from generated text (they stand for EEG only where the caller puts them)."""
    for t in (EEG_START, EEG_TOKEN, EEG_END):
        text = text.replace(t, "")
    return text


@torch.no_grad()
def score_options(model, prompts: list[str], eeg: list[np.ndarray], prefixes: list[str],
                  options: list[list[str]], *, batch_size: int = 32) -> list[np.ndarray]:
    """Log-likelihood of each option continuing the assistant's ``prefix``, given the prompt and the EEG.

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
        (prompt, option) pairs per forward pass.

    Returns
    -------
    list of np.ndarray, one per prompt, shape (n_options,)
        The sum of the option tokens' log-probabilities (teacher-forced; for scoring, never as an answer).
    """
    model.eval()
    proc, dev = model.processor, model.device
    flat = [(k, head, opt, e) for k, (head, opts, e) in enumerate(zip(proc.chat(prompts, prefixes), options, eeg))
            for opt in opts]
    out = [[] for _ in prompts]
    for i in range(0, len(flat), batch_size):
        chunk = flat[i:i + batch_size]
        heads = proc.encode([h for _, h, _, _ in chunk])
        tails = proc.encode([o for _, _, o, _ in chunk])
        batch = proc.from_ids([h + t for h, t in zip(heads, tails)], [e for *_, e in chunk], side="right",
                              device=dev)                           # right-padded: position i is token i
        logits = model.llm(inputs_embeds=model.embed_inputs(batch["input_ids"], batch["eeg"]),
                           attention_mask=batch["attention_mask"]).logits
        logp = torch.log_softmax(logits.float(), dim=-1)                         # (B, L, V)
        for b, (h, t) in enumerate(zip(heads, tails)):
            pos = torch.arange(len(h) - 1, len(h) + len(t) - 1, device=dev)       # predicts each tail token
            out[chunk[b][0]].append(float(logp[b, pos, torch.tensor(t, device=dev)].sum()))
    return [np.array(o) for o in out]


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
