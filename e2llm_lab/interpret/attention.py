"""Reading the encoder's attention: electrode x electrode maps and where one electrode looks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import torch

__all__ = ["mean_spatial_attention", "plot_attention_matrix", "plot_history"]


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
    encoder.eval()
    dev = next(encoder.parameters()).device
    total, n = 0.0, 0
    for i in range(0, len(X), batch_size):
        out = encoder(torch.as_tensor(X[i:i + batch_size], device=dev), output_attentions=True)
        w = out.spatial_attention[layer]                                  # (B, T, H, C, C)
        total = total + w.sum(dim=(0, 1, 2)).cpu().numpy()
        n += w.shape[0] * w.shape[1] * w.shape[2]
    return total / n


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


def plot_history(history: pd.DataFrame, *, columns=("loss", "mask_loss", "supcon_loss", "ce_loss", "val_loss"),
                 title: str | None = "Training history") -> go.Figure:
    """Loss curves per epoch from a history DataFrame (phases shaded by line style)."""
    cols = [c for c in columns if c in history and history[c].notna().any()]
    long = history.melt(id_vars=["epoch"] + (["phase"] if "phase" in history else []), value_vars=cols,
                        var_name="curve", value_name="value")
    fig = px.line(long, x="epoch", y="value", color="curve", markers=True, title=title,
                  line_dash="phase" if "phase" in history else None)
    fig.update_layout(width=700, height=400)
    return fig
