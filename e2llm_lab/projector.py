"""The learnable projector: EEG encoder tokens -> LLM hidden size (one LLM token per EEG token).

Two kinds, as in LLaVA-1.5 (Liu et al. 2023): ``"linear"`` and ``"mlp2x_gelu"`` (Linear-GELU-Linear).
"""
from __future__ import annotations

from torch import nn

__all__ = ["PROJECTOR_KINDS", "build_projector"]

PROJECTOR_KINDS = ("linear", "mlp2x_gelu")


def build_projector(kind: str, in_dim: int, hidden_size: int) -> nn.Module:
    """Build a projector.

    Parameters
    ----------
    kind : {"linear", "mlp2x_gelu"}
    in_dim : int
        Encoder token width (``d_model``).
    hidden_size : int
        The LLM's hidden size.

    Returns
    -------
    torch.nn.Module mapping (..., in_dim) -> (..., hidden_size)
    """
    if kind == "linear":
        return nn.Linear(in_dim, hidden_size)
    if kind == "mlp2x_gelu":
        return nn.Sequential(nn.Linear(in_dim, hidden_size), nn.GELU(), nn.Linear(hidden_size, hidden_size))
    raise ValueError(f"unknown projector kind {kind!r}; allowed: {PROJECTOR_KINDS}")
