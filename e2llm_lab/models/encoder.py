"""EEGEncoder: electrode x band tokens -> interlinked spatial-temporal attention -> electrode, region, global tokens.

The encoder of E^2-LLM's first stage, built from two ideas of related work:

- RBTransformer (band-DE tokens with a learned **electrode identity embedding**, electrode x electrode
  attention); here each electrode's band vector of one window is one token, plus a region embedding;
- Multi-modal Mood Reader (**interlinked spatial-temporal attention**): each block attends across electrodes
  within a window, then across windows per electrode.

Every block's attention weights are returned by the same forward pass, so visualisers never run the model
twice. Region tokens (mean of the electrode tokens of each brain region) become the LLM's EEG tokens.

Any cap works: the region map comes from the channel names. A region with no electrode in the cap (a sparse
montage) is kept as an empty token -- its pooled vector is zero -- so the token layout, the projector and the LLM
prompt are the same for every cap; rationales never cite such a region.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from .._atomic import atomic_path, write_text_atomic
from ..channels import REGION_NAMES, SEED_CH_NAMES, region_index
from ..config import DEFAULT_BANDS, DataConfig, EncoderConfig, band_names, config_from_dict
from ..errors import damaged, read_json, read_safetensors
from ..labels import SEED7, LabelSpace

if TYPE_CHECKING:
    from ..data.featureset import FeatureSet

__all__ = ["EncoderOutput", "EEGEncoder", "region_pooling_matrix"]


def region_pooling_matrix(ch_names=SEED_CH_NAMES) -> torch.Tensor:
    """Averaging matrix ``(n_regions, n_chans)``: row r averages the electrodes of region r."""
    idx = torch.as_tensor(region_index(ch_names))
    P = F.one_hot(idx, len(REGION_NAMES)).T.float()          # (R, C)
    return P / P.sum(1, keepdim=True).clamp(min=1)


def _resolve(cfg: EncoderConfig, **from_data: tuple[int, str]) -> EncoderConfig:
    """``cfg`` with the data-given sizes it leaves None filled in.

    ``from_data`` maps a field to ``(value, what the data hold)``; a number in ``cfg`` that disagrees raises,
    naming both, rather than being overwritten.
    """
    for name, (value, what) in from_data.items():
        mine = getattr(cfg, name)
        if mine is not None and mine != value:
            raise ValueError(f"EncoderConfig({name}={mine}) disagrees with the data: {what}; leave {name}=None to "
                             f"take it from the data")
    return replace(cfg, **{name: value for name, (value, _) in from_data.items()})


@dataclass
class EncoderOutput:
    """What :class:`EEGEncoder` returns.

    Attributes
    ----------
    tokens : torch.Tensor, shape (B, T, C, d)
        Final per-window, per-electrode tokens.
    electrode_tokens : torch.Tensor, shape (B, C, d)
    region_tokens : torch.Tensor, shape (B, R, d)
    global_embedding : torch.Tensor, shape (B, d)
    logits : torch.Tensor, shape (B, n_classes)
    reconstruction : torch.Tensor, shape (B, T, C, F)
        Predicted band vectors (used by masked modelling).
    spatial_attention : list of torch.Tensor, each (B, T, H, C, C)
        Electrode x electrode attention of every block (rows sum to 1); empty unless
        ``output_attentions=True``.
    temporal_attention : list of torch.Tensor, each (B, C, H, T, T)
        Window x window attention of every block; likewise.
    """

    tokens: torch.Tensor
    electrode_tokens: torch.Tensor
    region_tokens: torch.Tensor
    global_embedding: torch.Tensor
    logits: torch.Tensor
    reconstruction: torch.Tensor
    spatial_attention: list
    temporal_attention: list


class _Attention(nn.Module):
    """Multi-head self-attention; with ``need_weights`` it also returns its weights (B, H, L, L)."""

    def __init__(self, d: int, n_heads: int):
        super().__init__()
        if d % n_heads:
            raise ValueError(f"d_model={d} must be divisible by n_heads={n_heads}")
        self.h, self.dk = n_heads, d // n_heads
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x: torch.Tensor, need_weights: bool = False):
        B, L, d = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.h, self.dk).permute(2, 0, 3, 1, 4)   # 3 x (B, H, L, dk)
        # Plain matmuls beat CPU flash attention for these short sequences and tiny heads. No dropout on the
        # weights: sampling a mask per weight dominated CPU time.
        w = torch.softmax(q @ k.transpose(-1, -2) / self.dk**0.5, dim=-1)           # (B, H, L, L)
        y = (w @ v).transpose(1, 2).reshape(B, L, d)                                # (B, H, L, dk) -> (B, L, d)
        return self.out(y), (w if need_weights else None)


class _InterlinkedBlock(nn.Module):
    """Spatial attention (electrodes, per window) then temporal attention (windows, per electrode), then MLP.

    Regularisation lives outside the blocks (channel dropout on the input, dropout before the head): per-element
    dropout masks on these many small tokens cost more CPU time than the attention itself.
    """

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        d = cfg.d_model
        self.ln_s, self.att_s = nn.LayerNorm(d), _Attention(d, cfg.n_heads)
        self.ln_t, self.att_t = nn.LayerNorm(d), _Attention(d, cfg.n_heads)
        self.ln_m = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.mlp_ratio * d), nn.GELU(), nn.Linear(cfg.mlp_ratio * d, d))

    def forward(self, x: torch.Tensor, need_weights: bool = False):
        B, T, C, d = x.shape
        s, w_s = self.att_s(self.ln_s(x).reshape(B * T, C, d), need_weights)       # (B, T, C, d) -> (B*T, C, d)
        x = x + s.view(B, T, C, d)
        xt = x.transpose(1, 2).reshape(B * C, T, d)                                 # (B, T, C, d) -> (B*C, T, d)
        t, w_t = self.att_t(self.ln_t(xt), need_weights)
        x = x + t.view(B, C, T, d).transpose(1, 2)
        x = x + self.mlp(self.ln_m(x))
        if need_weights:
            w_s, w_t = w_s.view(B, T, -1, C, C), w_t.view(B, C, -1, T, T)
        return x, w_s, w_t


class EEGEncoder(nn.Module):
    """Encoder of DE feature sequences into electrode, region and global tokens.

    To size an encoder by a FeatureSet, use :meth:`from_features`.

    Parameters
    ----------
    cfg : EncoderConfig
        The architecture. Sizes it leaves None come from the arguments below (``n_chans`` from ``ch_names``,
        ``n_bands`` from ``bands``, ``n_classes`` from ``label_space``; ``n_steps`` defaults to
        ``DataConfig().n_steps``, 4); a number it gives must agree with them. ``self.cfg`` holds the resolved numbers.
    ch_names : sequence of str
        SEED channel names of the input's channel axis (sets the region map).
    label_space : LabelSpace
        The labels of the classification head, in logit order (default SEED-VII's seven); saved with the weights.
    bands : sequence of str, optional
        Band names of the input's last axis (default delta..gamma); saved with the weights.

    Examples
    --------
    >>> enc = EEGEncoder(EncoderConfig())
    >>> out = enc(torch.randn(2, 4, 62, 5))
    >>> out.region_tokens.shape
    torch.Size([2, 11, 32])
    """

    def __init__(self, cfg: EncoderConfig = EncoderConfig(), ch_names=SEED_CH_NAMES, *,
                 label_space: LabelSpace = SEED7, bands=None):
        super().__init__()
        bands = band_names(DEFAULT_BANDS) if bands is None else tuple(bands)
        cfg = _resolve(cfg, n_chans=(len(ch_names), f"{len(ch_names)} channel names"),
                       n_classes=(len(label_space), f"the label space {label_space} has {len(label_space)} labels"),
                       n_bands=(len(bands), f"{len(bands)} band names {bands}"))
        if cfg.n_steps is None:                    # no data to read T from: the pipeline's default sample length
            cfg = replace(cfg, n_steps=DataConfig().n_steps)
        self.cfg, self.ch_names, self.label_space, self.bands = cfg, tuple(ch_names), label_space, bands
        d = cfg.d_model
        self.band_proj = nn.Linear(cfg.n_bands, d)                 # band vector -> token
        self.electrode_emb = nn.Parameter(torch.randn(cfg.n_chans, d) * 0.02)   # RBTransformer's identity embedding
        self.region_emb = nn.Embedding(len(REGION_NAMES), d)
        self.step_emb = nn.Parameter(torch.randn(cfg.n_steps, d) * 0.02)
        self.mask_token = nn.Parameter(torch.zeros(d))
        self.blocks = nn.ModuleList(_InterlinkedBlock(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d)
        self.reconstruct = nn.Linear(d, cfg.n_bands)
        n_regions = len(REGION_NAMES)
        # The global embedding reads the regions side by side (flattened), not their average: averaging
        # first would wash out *where* a band changed, which is what separates emotions.
        self.to_global = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(n_regions * d, d), nn.LayerNorm(d))
        self.head = nn.Sequential(nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(d, cfg.n_classes))
        self.register_buffer("region_ids", torch.as_tensor(region_index(ch_names)), persistent=False)
        self.register_buffer("pool", region_pooling_matrix(ch_names), persistent=False)
        nn.init.normal_(self.region_emb.weight, std=0.02)

    @classmethod
    def from_features(cls, fs: FeatureSet, cfg: EncoderConfig = EncoderConfig()) -> EEGEncoder:
        """An encoder sized by the data, as braindecode's models take ``n_chans`` and ``n_outputs`` from the data.

        Parameters
        ----------
        fs : FeatureSet
            Samples ``X`` of shape (n_samples, n_steps, n_chans, n_bands); its ``ch_names``, band names and
            ``label_space`` become the encoder's (and are saved with it).
        cfg : EncoderConfig
            The architecture; sizes it leaves None are read from ``fs``, a number it gives must agree with ``fs``.

        Returns
        -------
        EEGEncoder
            With ``cfg.n_steps, cfg.n_chans, cfg.n_bands = fs.X.shape[1:]`` and ``cfg.n_classes = len(fs.label_space)``.

        Raises
        ------
        ValueError
            If ``cfg`` gives a size that disagrees with ``fs``, naming both.

        Examples
        --------
        >>> fs = load_sample().with_steps(4, stride=2)                # (N, 4, 62, 5), SEED-VII's 7 labels
        >>> enc = EEGEncoder.from_features(fs, EncoderConfig(d_model=16, n_heads=2))
        >>> enc.cfg.n_steps, enc.cfg.n_chans, enc.cfg.n_bands, enc.cfg.n_classes
        (4, 62, 5, 7)
        """
        cfg = _resolve(cfg, n_steps=(fs.n_steps, f"its samples are {fs.n_steps} windows long (FeatureSet.n_steps)"))
        return cls(cfg, fs.ch_names, label_space=fs.label_space, bands=fs.band_names)

    @property
    def n_regions(self) -> int:
        return self.pool.shape[0]

    def forward(self, x: torch.Tensor, *, mask: torch.Tensor | None = None,
                output_attentions: bool = False) -> EncoderOutput:
        """Encode ``x``.

        Parameters
        ----------
        x : torch.Tensor, shape (B, T, C, F)
            DE features, T <= cfg.n_steps.
        mask : torch.Tensor of bool, shape (B, T, C), optional
            Tokens replaced by the learned mask token (masked DE-token modelling).
        output_attentions : bool
            Also return every block's attention weights (computed in this same pass).
        """
        if x.ndim != 4 or x.shape[2:] != (self.cfg.n_chans, self.cfg.n_bands) or x.shape[1] > self.cfg.n_steps:
            raise ValueError(f"expected x of shape (B, T<={self.cfg.n_steps}, {self.cfg.n_chans}, {self.cfg.n_bands}), "
                             f"got {tuple(x.shape)}")
        B, T, C, _ = x.shape
        h = self.band_proj(x)                                                       # (B, T, C, F) -> (B, T, C, d)
        if mask is not None:
            h = torch.where(mask[..., None], self.mask_token.expand_as(h), h)
        h = h + self.electrode_emb + self.region_emb(self.region_ids) + self.step_emb[:T, None]
        w_s, w_t = [], []
        for block in self.blocks:
            h, ws, wt = block(h, output_attentions)
            if output_attentions:
                w_s.append(ws)
                w_t.append(wt)
        h = self.ln_f(h)
        electrodes = h.mean(dim=1)                                                  # (B, T, C, d) -> (B, C, d)
        regions = torch.einsum("rc,bcd->brd", self.pool, electrodes)                # (B, C, d) -> (B, R, d)
        glob = self.to_global(regions.flatten(1))                                   # (B, R, d) -> (B, R*d) -> (B, d)
        return EncoderOutput(h, electrodes, regions, glob, self.head(glob), self.reconstruct(h), w_s, w_t)

    # -- checkpoints: safetensors for tensors, JSON for the config; nothing pickled ---------------------
    def save_pretrained(self, folder) -> Path:
        """Write ``encoder.safetensors`` and ``encoder_config.json`` into ``folder`` (atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "encoder.safetensors") as tmp:
            save_file({k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}, str(tmp))
        write_text_atomic(folder / "encoder_config.json",
                          json.dumps({"config": asdict(self.cfg), "ch_names": list(self.ch_names),
                                      "label_space": self.label_space.to_dict(), "bands": list(self.bands)}, indent=1))
        return folder

    @classmethod
    def from_pretrained(cls, folder, *, device: str = "cpu") -> EEGEncoder:
        """Load an encoder written by :meth:`save_pretrained`."""
        folder = Path(folder)
        if not (folder / "encoder.safetensors").exists():
            raise FileNotFoundError(f"no encoder checkpoint in {folder} (expected encoder.safetensors)")
        fix = f"re-save it with EEGEncoder.save_pretrained, or copy {folder} again"
        meta = read_json(folder / "encoder_config.json", fix=fix)
        try:
            # checkpoints written before label spaces existed hold SEED-VII's seven emotions over the default bands
            space = LabelSpace.from_dict(meta["label_space"]) if meta.get("label_space") else SEED7
            enc = cls(config_from_dict(EncoderConfig, meta["config"]), meta["ch_names"], label_space=space,
                      bands=meta.get("bands"))
        except (KeyError, TypeError, ValueError) as err:            # a field missing or of the wrong kind
            raise damaged(folder / "encoder_config.json", err, fix) from err
        state = read_safetensors(folder / "encoder.safetensors", fix=fix, device=device)
        try:
            enc.load_state_dict(state)
        except RuntimeError as err:                                 # tensors of another configuration
            raise damaged(folder / "encoder.safetensors", f"its tensors do not fit encoder_config.json: {err}",
                          fix) from err
        return enc.to(device).eval()

    def predict_logits(self, X: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """The emotion head's logits of feature samples, in eval mode: shape (N, n_classes)."""
        return self._batched(X, batch_size, "logits")

    def embed(self, X: np.ndarray, *, batch_size: int = 256, kind: str = "global") -> np.ndarray:
        """Embeddings of feature samples in eval mode.

        Parameters
        ----------
        X : np.ndarray, shape (N, T, C, F)
        kind : {"global", "regions"}
            For the head's logits use :meth:`predict_logits`.

        Returns
        -------
        np.ndarray, shape (N, d) or (N, R, d)
        """
        if kind not in ("global", "regions"):
            raise ValueError(f"kind={kind!r}; allowed: 'global', 'regions' (the head's logits: predict_logits)")
        return self._batched(X, batch_size, kind)

    @torch.no_grad()
    def _batched(self, X: np.ndarray, batch_size: int, kind: str) -> np.ndarray:
        was_training = self.training
        self.eval()
        dev = next(self.parameters()).device
        outs = []
        for i in range(0, len(X), batch_size):
            o = self(torch.as_tensor(X[i:i + batch_size], dtype=torch.float32, device=dev))
            outs.append({"global": o.global_embedding, "regions": o.region_tokens, "logits": o.logits}[kind].cpu())
        self.train(was_training)
        return torch.cat(outs).numpy()
