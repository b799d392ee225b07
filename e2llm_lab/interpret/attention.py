"""Reading the encoder's attention: electrode x electrode maps and where one electrode looks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import torch

from ..channels import REGION_NAMES, SEED_CH_NAMES, region_index
from .plots import plot_topomap

__all__ = ["mean_spatial_attention", "encoder_attention", "attention_rollout", "plot_attention_matrix",
           "llm_eeg_attention",
           "plot_llm_eeg_attention", "plot_llm_attention_topomap"]


@torch.no_grad()
def mean_spatial_attention(encoder, X: np.ndarray, *, layer: int = -1, batch_size: int = 128) -> np.ndarray:
    """Electrode x electrode attention of one block, averaged over samples, windows and heads.

    Parameters
    ----------
    encoder : EEGEncoder
    X : np.ndarray, shape (N, T, C, F)
    layer : int
        Block index (negative counts from the last).

    Returns
    -------
    np.ndarray, shape (C, C)
        Row i: how much electrode i attends to each electrode (rows sum to 1).
    """
    was_training = encoder.training
    encoder.eval()
    dev = next(encoder.parameters()).device
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            out = encoder(torch.as_tensor(X[i:i + batch_size], device=dev), output_attentions=True)
            w = out.spatial_attention[layer]                              # (B, T, H, C, C)
            total = total + w.sum(dim=(0, 1, 2)).cpu().numpy()
            n += w.shape[0] * w.shape[1] * w.shape[2]
    encoder.train(was_training)                                           # leave the model as it was found
    return total / n


@torch.no_grad()
def encoder_attention(encoder, X: np.ndarray, *, kind: str = "spatial", batch_size: int = 128) -> np.ndarray:
    """Every block's and head's attention, averaged over samples (and over windows or electrodes).

    Parameters
    ----------
    encoder : EEGEncoder
    X : np.ndarray, shape (N, T, C, F)
    kind : {"spatial", "temporal"}
        Electrode x electrode attention (within each window) or window x window attention (per electrode).

    Returns
    -------
    np.ndarray, shape (n_layers, n_heads, C, C) or (n_layers, n_heads, T, T); rows sum to 1.
    """
    if kind not in ("spatial", "temporal"):
        raise ValueError(f"kind={kind!r}; allowed: 'spatial', 'temporal'")
    was_training = encoder.training
    encoder.eval()
    dev = next(encoder.parameters()).device
    total, n = 0.0, 0
    for i in range(0, len(X), batch_size):
        out = encoder(torch.as_tensor(X[i:i + batch_size], device=dev), output_attentions=True)
        maps = out.spatial_attention if kind == "spatial" else out.temporal_attention   # each (B, T|C, H, L, L)
        total = total + torch.stack([w.sum(dim=(0, 1)) for w in maps]).cpu().numpy()
        n += maps[0].shape[0] * maps[0].shape[1]
    encoder.train(was_training)
    return total / n


def attention_rollout(encoder, X: np.ndarray, *, kind: str = "spatial") -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) over the blocks: how each token's final representation draws on
    the input tokens, counting the residual path as half of each block (0.5 A + 0.5 I, rows renormalised).

    Returns
    -------
    np.ndarray, shape (C, C) or (T, T); rows sum to 1.
    """
    A = encoder_attention(encoder, X, kind=kind).mean(axis=1)                 # (layers, L, L), heads averaged
    rollout = np.eye(A.shape[-1])
    for a in A:
        a = 0.5 * a + 0.5 * np.eye(len(a))
        rollout = (a / a.sum(axis=1, keepdims=True)) @ rollout
    return rollout


def plot_attention_matrix(A, *, labels, title: str | None = "Electrode x electrode attention") -> go.Figure:
    """Heatmap of an attention matrix with hover labels (query rows, key columns)."""
    A = np.asarray(A)
    if A.shape != (len(labels), len(labels)):
        raise ValueError(f"attention has shape {A.shape}; expected ({len(labels)}, {len(labels)})")
    fig = go.Figure(go.Heatmap(z=A, x=list(labels), y=list(labels), colorscale="Viridis",
                               hovertemplate="%{y} -> %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, width=640, height=600, yaxis=dict(autorange="reversed", title="query"),
                      xaxis=dict(title="key"))
    return fig


@torch.no_grad()
def llm_eeg_attention(model, prompt: str, eeg: np.ndarray, answer: str) -> pd.DataFrame:
    """How much the answer's tokens attend to each EEG token, per LLM layer (mean over heads and answer tokens).

    The LLM must compute attention weights explicitly: this switches it to eager attention for the call (SDPA
    and flash kernels never materialise the weights) and back afterwards.

    Parameters
    ----------
    model : E2LLM
    prompt : str
        User prompt with one segment's placeholders.
    eeg : np.ndarray, shape (1, T, C, F)
    answer : str
        The answer (e.g. generated) whose attention is read.

    Returns
    -------
    pd.DataFrame
        Index: layer; columns: the EEG tokens (each region, then "global"); each row: the share of the answer
        tokens' attention that lands on each EEG token.
    """
    proc = model.processor
    head = proc.encode(proc.chat([prompt]))[0]
    tail = proc.encode([answer])[0]
    ids = torch.tensor([head + tail], device=model.device)
    base = model.llm.get_base_model() if hasattr(model.llm, "get_base_model") else model.llm
    before = base.config._attn_implementation
    base.set_attn_implementation("eager") if hasattr(base, "set_attn_implementation") else \
        setattr(base.config, "_attn_implementation", "eager")
    try:
        out = model.llm(inputs_embeds=model.embed_inputs(ids, torch.as_tensor(eeg)), output_attentions=True)
    finally:
        base.set_attn_implementation(before) if hasattr(base, "set_attn_implementation") else \
            setattr(base.config, "_attn_implementation", before)
    where = (ids[0] == model.eeg_token_id).nonzero().flatten().cpu().numpy()
    answer_pos = np.arange(len(head), len(head) + len(tail))
    rows = [a[0].float().mean(0)[answer_pos][:, where].mean(0).cpu().numpy() for a in out.attentions]  # (H,L,L)->(E,)
    names = list(REGION_NAMES)[: len(where) - 1] + ["global"]
    return pd.DataFrame(rows, columns=names).rename_axis("layer")


def plot_llm_eeg_attention(att: pd.DataFrame, *, layer: int | None = None, title: str | None = None) -> go.Figure:
    """Bars of the answer's attention to each EEG token (one layer, or the mean over layers)."""
    v = att.mean(axis=0) if layer is None else att.iloc[layer]
    fig = px.bar(x=v.index, y=v.to_numpy(), labels={"x": "EEG token", "y": "attention share"},
                 title=title or f"Attention from the answer to the EEG tokens "
                                f"({'mean over layers' if layer is None else f'layer {layer}'})")
    fig.update_layout(height=320)
    return fig


def plot_llm_attention_topomap(att: pd.DataFrame, *, ch_names=None, layer: int | None = None,
                               title: str | None = None) -> go.Figure:
    """The answer's attention to each region token, drawn over that region's electrodes."""
    names = tuple(ch_names or SEED_CH_NAMES)
    v = att.mean(axis=0) if layer is None else att.iloc[layer]
    per_region = np.array([v.get(r, 0.0) for r in REGION_NAMES])
    return plot_topomap(per_region[region_index(names)], ch_names=names, colorscale="Reds",
                        title=title or "LLM attention to each region's EEG token")
