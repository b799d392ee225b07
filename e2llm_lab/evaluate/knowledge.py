"""What a plain LM knows without EEG: its free answers to multiple-choice questions (the tiny LM's warm-up probe)."""
from __future__ import annotations

import re

import torch

from ..models.processor import EEGPromptProcessor
from ..text.knowledge import MC_SYSTEM

__all__ = ["ask_multiple_choice"]

_ANSWER = re.compile(r"Answer: \((\w)\)")


@torch.no_grad()
def ask_multiple_choice(llm, tokenizer, questions, *, system: str = MC_SYSTEM, max_new_tokens: int = 64,
                        batch_size: int = 16) -> list[str | None]:
    """The letter each question's free, greedy answer names on its ``Answer: (x)`` line (None if it names none).

    Parameters
    ----------
    llm, tokenizer : a causal LM and its tokenizer (no EEG in these prompts)
    questions : sequence
        (question, answer) pairs as :func:`~e2llm_lab.text.knowledge.multiple_choice` gives them, or question
        strings.

    Notes
    -----
    Left-padded batches (:class:`~e2llm_lab.models.processor.EEGPromptProcessor`), so answers do not depend on the
    batch.
    """
    proc = EEGPromptProcessor(tokenizer)
    texts = proc.chat([q if isinstance(q, str) else q[0] for q in questions], system=system)
    device = next(llm.parameters()).device
    letters = []
    for i in range(0, len(texts), batch_size):
        batch = proc(texts[i:i + batch_size], side="left", device=device)
        out = llm.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                           pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        for row in tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True):
            m = _ANSWER.search(row)
            letters.append(m.group(1) if m else None)
    return letters
