"""The prompt processor: chat-formatted prompts -> token ids -> padded batches, for training, generation and scoring.

One object turns text into what :class:`~e2llm_lab.models.model.E2LLM` reads, as a transformers processor does for a
multimodal model, and it is the only place in the package that does: :meth:`EEGPromptProcessor.chat` builds the chat
prompt (the LM's own template, :func:`~e2llm_lab.text.chat.chat_prompt`), :meth:`~EEGPromptProcessor.encode`
tokenises text, :meth:`~EEGPromptProcessor.encode_example` a prompt and its answer for training, and :func:`pad` is
where sequences are padded. The side depends on the use: **left** for generation (every prompt ends where the new
tokens begin), **right** for scoring and training (positions count from the start, so ``labels`` and option tokens
line up with their ids).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..text.chat import SYSTEM_PROMPT, chat_prompt

__all__ = ["PAD_SIDES", "pad", "EEGPromptProcessor"]

PAD_SIDES = ("left", "right")


def pad(ids_list: Sequence[Sequence], *, side: str, pad_id, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad sequences of different lengths to the longest, on one side.

    Parameters
    ----------
    ids_list : sequence of sequences, B of them, lengths L_b
        Token ids, or any per-token values (labels, loss weights).
    side : {"left", "right"}
        Where the padding goes: left for generation, right for scoring and training.
    pad_id : int or float
        The value of padded positions (the tokenizer's ``pad_token_id``; -100 for labels; 0.0 for weights).
    device : torch.device or str, optional

    Returns
    -------
    values : torch.Tensor, shape (B, max L_b)
        The dtype torch infers from the values (int64 for ids, float32 for weights).
    attention_mask : torch.Tensor of int64, shape (B, max L_b)
        1 on the given positions, 0 on padding.
    """
    if side not in PAD_SIDES:
        raise ValueError(f"side={side!r}; allowed: {PAD_SIDES}")
    width = max(map(len, ids_list))
    if side == "left":
        rows = [[pad_id] * (width - len(x)) + list(x) for x in ids_list]
        mask = [[0] * (width - len(x)) + [1] * len(x) for x in ids_list]
    else:
        rows = [list(x) + [pad_id] * (width - len(x)) for x in ids_list]
        mask = [[1] * len(x) + [0] * (width - len(x)) for x in ids_list]
    return torch.tensor(rows, device=device), torch.tensor(mask, device=device)


class EEGPromptProcessor:
    """Chat prompts, token ids and padded batches for one tokenizer (the LLM's, with the EEG tokens added).

    Parameters
    ----------
    tokenizer : transformers tokenizer

    Examples
    --------
    >>> proc = EEGPromptProcessor(model.tokenizer)                          # doctest: +SKIP
    >>> batch = proc(proc.chat(prompts), eeg, side="left")                 # doctest: +SKIP
    >>> batch["input_ids"].shape, batch["eeg"].shape                       # doctest: +SKIP
    (torch.Size([B, L]), torch.Size([S, T, C, F]))
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    @property
    def pad_token_id(self) -> int:
        return self.tokenizer.pad_token_id

    def chat(self, prompts: Sequence[str], prefixes: Sequence[str] | None = None, *,
             system: str = SYSTEM_PROMPT) -> list[str]:
        """User prompts -> chat-formatted text up to the assistant's turn, each followed by its ``prefix`` (the text
        the assistant's turn starts with; default none)."""
        prefixes = [""] * len(prompts) if prefixes is None else prefixes
        return [chat_prompt(self.tokenizer, p, system=system) + pre for p, pre in zip(prompts, prefixes)]

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens (the chat template already holds them)."""
        return [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]

    def encode_example(self, prompt: str, answer: str, given: str = "") -> tuple[list[int], list[int]]:
        """A training example's ids: the chat prompt up to the assistant's turn followed by ``given`` (a start of the
        answer that is read, not learned), and the answer closed by the end-of-turn token (tokenised apart, so the
        answer's tokens never merge with the prompt's)."""
        return self.encode(self.chat([prompt], [given]))[0], self.encode([answer + self.tokenizer.eos_token])[0]

    def answer_offsets(self, answer: str) -> list[tuple[int, int]]:
        """Character span of each token of ``answer`` + end-of-turn (as :meth:`encode_example` tokenises it)."""
        enc = self.tokenizer(answer + self.tokenizer.eos_token, add_special_tokens=False,
                             return_offsets_mapping=True)
        return [tuple(o) for o in enc["offset_mapping"]]

    def pad(self, ids_list: Sequence[Sequence[int]], *, side: str, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`pad` with the tokenizer's ``pad_token_id`` (0 where it has none): ``(input_ids, attention_mask)``,
        each (B, L)."""
        pad_id = self.pad_token_id if self.pad_token_id is not None else 0
        return pad(ids_list, side=side, pad_id=pad_id, device=device)

    def __call__(self, texts: Sequence[str], eeg: Sequence[np.ndarray] | None = None, *, side: str,
                 device=None) -> dict[str, torch.Tensor]:
        """A model-ready batch of chat-formatted ``texts`` (:meth:`chat`) and their EEG segments.

        Parameters
        ----------
        texts : sequence of str, B of them
        eeg : sequence of np.ndarray, each shape (n_segments_b, T, C, F), optional
            None for text-only prompts (then the batch holds no ``eeg``).
        side : {"left", "right"}
            Left for generation, right for scoring and training.
        device : torch.device or str, optional

        Returns
        -------
        dict
            ``input_ids`` and ``attention_mask``, shape (B, L); ``eeg``, shape (S, T, C, F) with S the segments of
            all texts in order.
        """
        return self.from_ids(self.encode(texts), eeg, side=side, device=device)

    def from_ids(self, ids: Sequence[Sequence[int]], eeg: Sequence[np.ndarray] | None = None, *, side: str,
                 device=None) -> dict[str, torch.Tensor]:
        """As :meth:`__call__`, from token ids already encoded (e.g. a prompt followed by an option's tokens)."""
        input_ids, mask = self.pad(ids, side=side, device=device)
        out = {"input_ids": input_ids, "attention_mask": mask}
        if eeg is not None:
            out["eeg"] = torch.as_tensor(np.concatenate(eeg), device=device)   # B x (n_b, T, C, F) -> (S, T, C, F)
        return out
