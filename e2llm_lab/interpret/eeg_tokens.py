"""What an EEG token looks like to the language model: its nearest text tokens in embedding space."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..channels import REGION_NAMES

__all__ = ["nearest_text_tokens"]


@torch.no_grad()
def nearest_text_tokens(model, x: np.ndarray, *, k: int = 5) -> pd.DataFrame:
    """The ``k`` vocabulary tokens whose input embeddings are closest (cosine) to each EEG token of one sample.

    Parameters
    ----------
    model : E2LLM
    x : np.ndarray, shape (T, C, F)
        One EEG segment.

    Returns
    -------
    pd.DataFrame
        One row per EEG token (each region, then "global"): the nearest tokens and their similarities. Special
        tokens (``<|eeg|>``, ``<|im_end|>``, padding ...) are left out: they name no content.
    """
    was_training = model.training
    model.eval()                                      # no dropout: the same sample always gives the same table
    try:
        with torch.no_grad():
            eeg = model.eeg_embeds(torch.as_tensor(x[None]))[0].float()          # (R+1, H)
            vocab = model.llm.get_input_embeddings().weight.float()               # (V, H)
    finally:
        model.train(was_training)
    sim = torch.nn.functional.normalize(eeg, dim=-1) @ torch.nn.functional.normalize(vocab, dim=-1).T
    special = [i for i in model.tokenizer.all_special_ids if i < sim.shape[1]]
    special += [i for t, i in model.tokenizer.get_added_vocab().items() if i < sim.shape[1]]
    sim[:, special] = -torch.inf
    top = sim.topk(k, dim=-1)
    names = list(REGION_NAMES) + ["global"]
    tok = model.tokenizer
    return pd.DataFrame({
        "eeg_token": names[: len(eeg)],
        "nearest": [[tok.convert_ids_to_tokens(int(i)) for i in row] for row in top.indices],
        "cosine": [[round(float(v), 3) for v in row] for row in top.values],
    })
