"""The chat format: the EEG marker tokens, the system prompt, and a user prompt in the LM's own chat template.

This is the one home of what a prompt looks like as text. :class:`~e2llm_lab.models.processor.EEGPromptProcessor`
wraps it and is the one place that turns such text into token ids and padded batches.

Each EEG segment stands in a prompt as ``<|eeg_start|>`` + ``n_tokens`` x ``<|eeg|>`` + ``<|eeg_end|>``
(:func:`eeg_placeholder`); the model writes its EEG token embeddings over the ``<|eeg|>`` positions. Nothing here
depends on one model family: the LM's own chat template is used (ChatML where it has none), and a ``<think>`` the
template opens by itself is removed, so every answer writes its own ``<think> ... </think>`` block.
"""
from __future__ import annotations

import re

__all__ = ["EEG_START", "EEG_TOKEN", "EEG_END", "EEG_TOKENS", "SYSTEM_PROMPT", "CHATML_TEMPLATE", "eeg_placeholder",
           "chat_prompt"]

EEG_START, EEG_TOKEN, EEG_END = "<|eeg_start|>", "<|eeg|>", "<|eeg_end|>"
EEG_TOKENS = (EEG_START, EEG_TOKEN, EEG_END)
SYSTEM_PROMPT = "You read EEG band-power evidence and explain the emotion it reflects."
# ChatML, as Qwen uses; the assistant's reasoning sits inline in a <think> ... </think> block.
CHATML_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
                   "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
                   "{% endif %}")
# what a template may append to the assistant's turn by itself (Qwen3 with enable_thinking=False, R1 distills)
_OPENED_THINK = re.compile(r"<think>\s*(</think>\s*)?$")


def eeg_placeholder(n_tokens: int) -> str:
    """The text standing for one EEG segment: start marker, ``n_tokens`` placeholders, end marker."""
    return EEG_START + EEG_TOKEN * n_tokens + EEG_END


def chat_prompt(tokenizer, user: str, *, system: str = SYSTEM_PROMPT) -> str:
    """The chat-formatted prompt up to the assistant's turn (the model's own template), as text.

    A template that refuses a system turn (Gemma's) gets the system text at the top of the user's. A ``<think>``
    (or an empty ``<think></think>`` block) that the template itself opens the assistant's turn with is removed:
    every answer writes its own ``<think> ... </think>`` block, whatever the model family.
    """
    from jinja2.exceptions import TemplateError

    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except TemplateError:
        # "System role not supported": fold it into the user's turn
        messages = [{"role": "user", "content": f"{system}\n\n{user}"}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return _OPENED_THINK.sub("", text)
