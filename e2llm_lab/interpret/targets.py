"""What an attribution explains: functions of the EEG ``(B, T, C, F) -> (B,)`` for captum.

- the stage-1 encoder's class logit (:func:`encoder_target`);
- the whole E2LLM: the log-probability of the emotion's label tokens given the prompt, the start of the answer
  and the EEG (:func:`e2llm_target`, all labels at once with :func:`e2llm_log_probs`). captum's LLM wrappers take
  ``input_ids`` only; here the forward takes the EEG tensor and builds ``inputs_embeds`` from it, so every method
  attributes to (window, electrode, band).

Each target carries ``name``, ``device`` and ``module`` (the model, for randomisation checks).
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from ..labels import SEED7
from ..models.processor import pad
from ..text.chat import eeg_placeholder
from ..text.instructions import TEMPLATES

__all__ = ["encoder_target", "e2llm_log_probs", "e2llm_target"]


def encoder_target(encoder, emotion: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The encoder's logit for ``emotion`` (a label of the encoder's label space), as a function of its input."""
    k = getattr(encoder, "label_space", SEED7).index(emotion)
    encoder.eval()

    def f(x: torch.Tensor) -> torch.Tensor:
        return encoder(x).logits[:, k]

    f.name, f.device, f.module = f"encoder logit: {emotion}", next(encoder.parameters()).device, encoder
    return f


def _answer_ids(model, labels, prompt: str | None, prefix: str):
    # Prompt + prefix + " <label>" per label, right-padded (causal: padding never reaches the label's positions):
    # ids (K, L), the label tokens' 0/1 weights (K, L) at the positions that predict them.
    proc = model.processor
    prompt = prompt or TEMPLATES["emotion"][0].format(eeg=eeg_placeholder(model.n_eeg_tokens))
    head = proc.encode(proc.chat([prompt], [prefix]))[0]
    tails = proc.encode([" " + label for label in labels])
    ids, _ = proc.pad([head + tail for tail in tails], side="right", device=model.device)
    # position i predicts token i + 1: the label's tokens are predicted from len(head) - 1 on
    weight, _ = pad([[0.0] * (len(head) - 1) + [1.0] * len(tail) for tail in tails], side="right", pad_id=0.0,
                    device=model.device)
    weight = torch.cat([weight, weight.new_zeros(len(tails), ids.shape[1] - weight.shape[1])], dim=1)  # (K, L)
    return ids, weight


def e2llm_log_probs(model, x: torch.Tensor, labels, *, prompt: str | None = None,
                    prefix: str = "<think> Closest learned signatures:") -> torch.Tensor:
    """Log-probability of each label's tokens continuing ``prefix``, given the prompt and the EEG, in one forward.

    Parameters
    ----------
    model : E2LLM
    x : torch.Tensor, shape (B, T, C, F)
    labels : sequence of str

    Returns
    -------
    torch.Tensor, shape (B, K)
    """
    ids, weight = _answer_ids(model, labels, prompt, prefix)                    # (K, L), (K, L)
    B, K = len(x), len(labels)
    batch = ids.repeat(B, 1)                                                    # (K, L) -> (B*K, L)
    eeg = x.repeat_interleave(K, dim=0)                                         # (B, T, C, F) -> (B*K, T, C, F)
    start = int(weight.sum(0).nonzero()[0])                  # the first position that predicts a label token
    logits = model.llm(inputs_embeds=model.embed_inputs(batch, eeg)).logits[:, start:].float()   # (B*K, L', V)
    nxt = torch.cat([batch[:, start + 1:], batch[:, -1:]], dim=1)               # the token each position predicts
    lp = torch.log_softmax(logits, dim=-1).gather(-1, nxt[..., None])[..., 0]   # (B*K, L')
    return (lp * weight[:, start:].repeat(B, 1)).sum(1).view(B, K)


def e2llm_target(model, emotion: str, *, prompt: str | None = None,
                 prefix: str = "<think> Closest learned signatures:") -> Callable[[torch.Tensor], torch.Tensor]:
    """Log-probability of ``emotion``'s tokens continuing ``prefix``, given the prompt and the EEG.

    The default prefix stops where the model's reasoning first names an emotion (its comparison with the
    learned signatures), the position where it reads the EEG to decide; pass the full reasoning up to
    ``"Emotion:"`` to attribute the answer line instead.
    """
    model.eval()

    def f(x: torch.Tensor) -> torch.Tensor:
        return e2llm_log_probs(model, x, [emotion], prompt=prompt, prefix=prefix)[:, 0]

    f.name, f.device, f.module = f"E2LLM log p({emotion})", model.device, model
    return f
