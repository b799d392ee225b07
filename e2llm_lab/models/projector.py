"""The learnable projector: EEG encoder tokens -> LLM hidden size (one LLM token per EEG token).

Two kinds, as in LLaVA-1.5 (Liu et al. 2023): ``"linear"`` and ``"mlp2x_gelu"`` (Linear-GELU-Linear).
:class:`EEGProjector` wraps one of them and adds a linear read-out of the segment's whole region x band profile
to its global token.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["PROJECTOR_KINDS", "build_projector", "EEGProjector"]

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


class EEGProjector(nn.Module):
    """Per-token projector, plus a linear read-out of the whole region x band profile into the global token.

    The emotion signatures that separate emotions across subjects are linear in the region x band deviations
    (a nearest-signature reading of them beats the encoder's head on held-out subjects); a shared per-token MLP
    would have to learn a region-specific map to expose that, while one linear map over the flattened profile
    gives it to the LLM at one position. Zero-initialised, so it starts as a no-op.

    Parameters
    ----------
    kind : {"linear", "mlp2x_gelu"}
    in_dim : int
        Width of each encoder token (region embedding and its band profile).
    hidden_size : int
    n_regions, n_bands : int
        Profile size; 0 disables the read-out.
    max_segments : int
        A learned embedding per segment position in a prompt (first clip, second clip ...), added to all of that
        segment's tokens so that "Clip B" can find its own EEG by content (as BERT's segment embeddings);
        zero-initialised. 0 disables it.
    n_classes : int
        Width of the encoder head's posterior added to the global token through ``head`` (no bias); 0 disables
        it. :meth:`init_head_reading` sets it to the LM's label-word embeddings.
    """

    def __init__(self, kind: str, in_dim: int, hidden_size: int, *, n_regions: int = 0, n_bands: int = 0,
                 max_segments: int = 0, n_classes: int = 0):
        super().__init__()
        self.tokens = build_projector(kind, in_dim, hidden_size)
        self.segment = nn.Embedding(max_segments, hidden_size) if max_segments else None
        if self.segment is not None:
            nn.init.zeros_(self.segment.weight)
        self.readout = nn.Linear(n_regions * n_bands, hidden_size) if n_regions and n_bands else None
        if self.readout is not None:
            nn.init.zeros_(self.readout.weight)
            nn.init.zeros_(self.readout.bias)
        self.head = nn.Linear(n_classes, hidden_size, bias=False) if n_classes else None

    @torch.no_grad()
    def init_head_reading(self, label_embeddings: torch.Tensor) -> None:
        """Start the head map as "the posterior-weighted mean of the label words' embeddings" ((K, H) -> weight
        (H, K)): a confident head reading then enters the LM as its own word for that emotion."""
        if self.head is None:
            raise ValueError("this projector has no head reading (n_classes = 0)")
        if label_embeddings.shape != (self.head.in_features, self.head.out_features):
            raise ValueError(f"label embeddings of shape {tuple(label_embeddings.shape)}; expected "
                             f"({self.head.in_features}, {self.head.out_features}): one row per label")
        self.head.weight.copy_(label_embeddings.T)

    def forward(self, tokens: torch.Tensor, profile: torch.Tensor,
                segment: torch.Tensor | None = None, head_probs: torch.Tensor | None = None) -> torch.Tensor:
        """``tokens`` (S, R+1, in_dim), ``profile`` (S, R, F), each segment's position in its prompt ``segment``
        (S,) and the encoder head's posterior ``head_probs`` (S, K) -> LLM embeddings (S, R+1, hidden_size)."""
        out = self.tokens(tokens)
        extra = 0                                                                  # added to the global token
        if self.readout is not None:
            extra = extra + self.readout(profile.flatten(1))[:, None]              # (S, R*F) -> (S, 1, H)
        if self.head is not None:
            if head_probs is None:
                raise ValueError("this projector reads the encoder head's posterior: pass head_probs")
            extra = extra + self.head(head_probs.to(out.dtype))[:, None]           # (S, K) -> (S, 1, H)
        if torch.is_tensor(extra):
            out = torch.cat([out[:, :-1], out[:, -1:] + extra], dim=1)
        if self.segment is not None and segment is not None:
            if int(segment.max()) >= self.segment.num_embeddings:
                raise ValueError(f"a prompt holds {int(segment.max()) + 1} EEG segments; this projector embeds at "
                                 f"most {self.segment.num_embeddings} (ProjectorConfig.max_segments)")
            out = out + self.segment(segment)[:, None]                           # (S, H) -> (S, 1, H)
        return out
