"""Stage 1: emotion-discriminative pretraining of the EEG encoder.

Objectives (weights in :class:`~e2llm_lab.config.PretrainConfig`):

- **masked DE-token modelling** — mask a large fraction of (window, electrode) tokens and reconstruct their
  band vectors (after Multi-modal Mood Reader's masked brain-signal pretraining); needs no labels, so a
  first phase can run on unlabelled recordings;
- **supervised contrastive** loss on emotion labels (Khosla et al. 2020, NeurIPS), pulling same-emotion
  samples of *different subjects* together;
- **cross-entropy** of the classification head.

Early stopping watches subjects held out from the *training* set, never the test subject.
"""
from __future__ import annotations

import copy
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import balanced_accuracy_score
from tqdm.auto import tqdm

from .._device import resolve_device
from ..config import EncoderConfig, PretrainConfig
from ..data.featureset import FeatureSet
from ..data.splits import subject_holdout
from ..models.encoder import EEGEncoder
from .checkpoint import load_training_state, save_training_state

__all__ = ["supcon_loss", "masked_modelling_loss", "pretrain_encoder"]


def supcon_loss(z: torch.Tensor, y: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020, the L_out form).

    Parameters
    ----------
    z : torch.Tensor, shape (B, d)
        Embeddings (normalised here).
    y : torch.Tensor, shape (B,)
        Labels; anchors without a positive in the batch are skipped.
    """
    z = F.normalize(z, dim=1)
    sim = z @ z.T / temperature                                          # (B, B)
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = (y[:, None] == y[None]) & ~self_mask
    has_pos = pos.any(1)
    if not has_pos.any():
        return z.sum() * 0.0
    mean_log_pos = log_prob.masked_fill(~pos, 0.0).sum(1) / pos.sum(1).clamp(min=1)
    return -mean_log_pos[has_pos].mean()


def masked_modelling_loss(encoder: EEGEncoder, x: torch.Tensor, mask_ratio: float,
                          generator: torch.Generator | None = None):
    """Mask ``mask_ratio`` of the (window, electrode) tokens and score their reconstruction (MSE).

    Returns
    -------
    loss : torch.Tensor
    out : EncoderOutput
        Of the masked input (its logits and embeddings are reused by the supervised losses).
    mask : torch.Tensor of bool, shape (B, T, C)
    """
    B, T, C, _ = x.shape
    mask = torch.rand((B, T, C), generator=generator, device="cpu").to(x.device) < mask_ratio
    out = encoder(x, mask=mask)
    loss = F.mse_loss(out.reconstruction[mask], x[mask]) if mask.any() else x.sum() * 0.0
    return loss, out, mask


def _augment(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    # Channel dropout: zero (the subject mean, for z-scored features) whole electrodes across all windows
    if p <= 0:
        return x
    keep = (torch.rand((x.shape[0], 1, x.shape[2], 1), generator=generator) >= p).to(x.device)
    return x * keep


@torch.no_grad()
def _evaluate(encoder: EEGEncoder, X: np.ndarray, y: np.ndarray, device) -> tuple[float, float]:
    logits = torch.as_tensor(encoder.predict_logits(X))
    loss = F.cross_entropy(logits, torch.as_tensor(y)).item()
    return loss, balanced_accuracy_score(y, logits.argmax(1).numpy())


def _train_epoch(encoder: EEGEncoder, opt: torch.optim.Optimizer, X: np.ndarray, y: np.ndarray | None,
                 cfg: PretrainConfig, gen: torch.Generator, device) -> np.ndarray:
    """One pass over ``X`` (N, T, C, F) in shuffled batches; masked modelling alone where ``y`` is None.

    Returns the sample-weighted mean of (loss, mask_loss, supcon_loss, ce_loss), shape (4,).
    """
    order = torch.randperm(len(X), generator=gen).numpy()
    ratio = cfg.mask_ratio if y is None else cfg.sup_mask_ratio
    encoder.train()
    sums = np.zeros(4)
    for i in range(0, len(order), cfg.batch_size):
        b = order[i:i + cfg.batch_size]
        x = _augment(torch.as_tensor(X[b], device=device), cfg.channel_dropout, gen)
        l_mask, out, _ = masked_modelling_loss(encoder, x, ratio, gen)
        if y is None:
            l_sup = l_ce = torch.zeros((), device=device)
            loss = l_mask
        else:
            # One forward serves all three losses: the light masking doubles as token-dropout augmentation.
            yb = torch.as_tensor(y[b], device=device)
            l_sup = supcon_loss(out.global_embedding, yb, cfg.temperature)
            l_ce = F.cross_entropy(out.logits, yb)
            loss = cfg.w_mask * l_mask + cfg.w_supcon * l_sup + cfg.w_ce * l_ce
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
        opt.step()
        sums += np.array([loss.item(), l_mask.item(), l_sup.item(), l_ce.item()]) * len(b)
    return sums / len(order)


def _resume(checkpoint_dir, encoder: EEGEncoder, opt, sched, device) -> tuple[int, list, dict | None, float, int]:
    """Restore the state saved in ``checkpoint_dir``; returns (next epoch, history rows, best state, best loss, bad
    epochs)."""
    if checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir")
    groups, opt_state, meta = load_training_state(Path(checkpoint_dir) / "state", device=str(device))
    encoder.load_state_dict(groups["model"])
    opt.load_state_dict(opt_state)
    sched.load_state_dict(meta["scheduler"])
    return meta["epoch"] + 1, meta["history"], groups.get("best"), meta["best_loss"], meta["bad_epochs"]


def pretrain_encoder(fs: FeatureSet, cfg: PretrainConfig = PretrainConfig(), *,
                     encoder_cfg: EncoderConfig = EncoderConfig(), train_idx=None, unlabeled: FeatureSet | None = None,
                     checkpoint_dir=None, resume: bool = False, progress: bool = True
                     ) -> tuple[EEGEncoder, pd.DataFrame]:
    """Pretrain an :class:`EEGEncoder` on ``fs`` (rows ``train_idx``).

    Parameters
    ----------
    fs : FeatureSet
        Samples of shape (n_steps, n_chans, n_bands), emotion labels in ``meta``.
    cfg : PretrainConfig
    encoder_cfg : EncoderConfig
        The architecture; the input layout and head size come from ``fs`` (:meth:`EEGEncoder.from_features`).
    train_idx : array of int, optional
        Training rows (default all). Early stopping uses ``cfg.n_val_subjects`` of *these* subjects.
    unlabeled : FeatureSet, optional
        Extra recordings for the masked-modelling-only phase (labels ignored).
    checkpoint_dir : path, optional
        Saves the training state every epoch (and the final encoder in ``<dir>/encoder``).
    resume : bool
        Continue from the state in ``checkpoint_dir``; the result equals an uninterrupted run.

    Returns
    -------
    encoder : EEGEncoder
        The weights of the best validation epoch (the last one without validation), in eval mode.
    history : pd.DataFrame
        One row per epoch: epoch, phase, loss, mask_loss, supcon_loss, ce_loss, val_loss, val_bacc.
    """
    device = resolve_device(cfg.device)
    idx = np.arange(len(fs)) if train_idx is None else np.asarray(train_idx)
    y_all = fs.labels()
    if cfg.n_val_subjects > 0:
        tr, va = subject_holdout(fs.meta, idx, n_val_subjects=cfg.n_val_subjects, seed=cfg.seed)
    else:
        tr, va = idx, np.array([], dtype=np.int64)
    torch.manual_seed(cfg.seed)
    encoder = EEGEncoder.from_features(fs, encoder_cfg).to(device)
    opt = torch.optim.AdamW(encoder.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n_epochs = cfg.selfsup_epochs + cfg.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(n_epochs, 1), pct_start=0.15)
    X_ss = fs.X[tr] if unlabeled is None else np.concatenate([fs.X[tr], unlabeled.X])

    start, rows, best, best_loss, bad = 0, [], None, float("inf"), 0
    if resume:
        start, rows, best, best_loss, bad = _resume(checkpoint_dir, encoder, opt, sched, device)
    for epoch in tqdm(range(start, n_epochs), desc="stage 1: encoder", disable=not progress, initial=start,
                      total=n_epochs):
        if bad > cfg.patience:
            break
        phase = "masked" if epoch < cfg.selfsup_epochs else "supervised"
        torch.manual_seed(cfg.seed * 100_003 + epoch)                     # dropout; reproducible after resume
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        X_ep, y_ep = (X_ss, None) if phase == "masked" else (fs.X[tr], y_all[tr])
        sums = _train_epoch(encoder, opt, X_ep, y_ep, cfg, gen, device)
        sched.step()
        val_loss, val_bacc = (np.nan, np.nan)
        if len(va) and phase == "supervised":
            val_loss, val_bacc = _evaluate(encoder, fs.X[va], y_all[va], device)
            if val_loss < best_loss - 1e-4:
                best_loss, bad = val_loss, 0
                best = copy.deepcopy(encoder.state_dict())
            else:
                bad += 1
        rows.append({"epoch": epoch, "phase": phase, "loss": sums[0], "mask_loss": sums[1], "supcon_loss": sums[2],
                     "ce_loss": sums[3], "val_loss": val_loss, "val_bacc": val_bacc})
        if checkpoint_dir is not None:
            save_training_state(Path(checkpoint_dir) / "state",
                                tensors={"model": encoder.state_dict(), **({"best": best} if best else {})},
                                optimizer=opt,
                                meta={"epoch": epoch, "history": rows, "best_loss": best_loss, "bad_epochs": bad,
                                      "scheduler": sched.state_dict(), "pretrain_config": asdict(cfg),
                                      "encoder_config": asdict(encoder.cfg)})
    if best is not None:
        encoder.load_state_dict(best)
    encoder.eval()
    if checkpoint_dir is not None:
        encoder.save_pretrained(Path(checkpoint_dir) / "encoder")
    return encoder, pd.DataFrame(rows)
