from dataclasses import replace

import numpy as np
import pytest
import torch

from e2llm_lab.config import EncoderConfig, PretrainConfig
from e2llm_lab.data.samples import load_sample
from e2llm_lab.models.encoder import EEGEncoder
from e2llm_lab.training import pretrain as pretrain_mod
from e2llm_lab.training.pretrain import pretrain_encoder, supcon_loss

ENC = EncoderConfig(d_model=16, n_heads=2, n_layers=1)


@pytest.fixture(scope="module")
def small():
    fs = load_sample(n_steps=2)
    keep = fs.meta.subject.isin([1, 2, 3]).to_numpy() & (fs.meta.start_window % 3 == 0).to_numpy()
    return fs.subset(keep)


def test_supcon_matches_loop_reference():
    torch.manual_seed(0)
    z, y = torch.randn(6, 4), torch.tensor([0, 0, 1, 1, 1, 2])
    got = supcon_loss(z, y, temperature=0.5)
    zn = torch.nn.functional.normalize(z, dim=1)
    terms = []
    for i in range(6):
        pos = [j for j in range(6) if j != i and y[j] == y[i]]
        if not pos:
            continue
        denom = sum(torch.exp(zn[i] @ zn[a] / 0.5) for a in range(6) if a != i)
        terms.append(-sum(torch.log(torch.exp(zn[i] @ zn[p] / 0.5) / denom) for p in pos) / len(pos))
    torch.testing.assert_close(got, torch.stack(terms).mean())


def test_loss_decreases_on_tiny_run(small):
    enc, hist = pretrain_encoder(small, PretrainConfig(selfsup_epochs=1, epochs=6, n_val_subjects=0, lr=3e-3),
                                 encoder_cfg=ENC, progress=False)
    sup = hist[hist.phase == "supervised"]
    assert len(hist) == 7 and list(hist.phase[:1]) == ["masked"]
    assert sup.ce_loss.iloc[-1] < 0.8 * sup.ce_loss.iloc[0]
    assert sup.loss.iloc[-1] < sup.loss.iloc[0]
    assert not enc.training


def test_self_supervised_only_on_unlabelled_data(small):
    enc, hist = pretrain_encoder(small, PretrainConfig(selfsup_epochs=4, epochs=0, n_val_subjects=0, lr=3e-3),
                                 encoder_cfg=ENC, progress=False)
    assert set(hist.phase) == {"masked"}
    assert hist.mask_loss.iloc[-1] < hist.mask_loss.iloc[0]
    assert (hist.ce_loss == 0).all()


def test_early_stopping_validates_on_training_subjects_only(small, monkeypatch):
    seen = {}
    real = pretrain_mod.subject_holdout

    def spy(meta, idx, **kw):
        tr, va = real(meta, idx, **kw)
        seen["val"] = set(meta.subject.iloc[va])
        return tr, va

    monkeypatch.setattr(pretrain_mod, "subject_holdout", spy)
    train_idx = np.flatnonzero(small.meta.subject.isin([1, 2]).to_numpy())
    _, hist = pretrain_encoder(small, PretrainConfig(selfsup_epochs=0, epochs=2), encoder_cfg=ENC,
                               train_idx=train_idx, progress=False)
    assert seen["val"] <= {1, 2} and len(seen["val"]) == 1
    assert hist.val_bacc.notna().all()


def test_deterministic_and_resume_equals_uninterrupted(small, tmp_path, crash_after_saves):
    cfg = PretrainConfig(selfsup_epochs=1, epochs=3, n_val_subjects=1, patience=10)
    full, hist_full = pretrain_encoder(small, cfg, encoder_cfg=ENC, progress=False)
    again, _ = pretrain_encoder(small, cfg, encoder_cfg=ENC, progress=False)
    x = torch.as_tensor(small.X[:5])
    torch.testing.assert_close(full(x).logits, again(x).logits, rtol=0, atol=0)

    crash_after_saves(pretrain_mod, 2)
    with pytest.raises(KeyboardInterrupt):
        pretrain_encoder(small, cfg, encoder_cfg=ENC, checkpoint_dir=tmp_path, progress=False)
    crash_after_saves.undo()
    resumed, hist = pretrain_encoder(small, cfg, encoder_cfg=ENC, checkpoint_dir=tmp_path, resume=True,
                                     progress=False)
    torch.testing.assert_close(resumed(x).logits, full(x).logits, rtol=1e-6, atol=1e-6)
    assert len(hist) == len(hist_full) == 4
    loaded = EEGEncoder.from_pretrained(tmp_path / "encoder")
    torch.testing.assert_close(loaded(x).logits, resumed(x).logits, rtol=0, atol=0)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        pretrain_encoder(small, cfg, encoder_cfg=ENC, resume=True, progress=False)


def test_stage1_follows_the_device_of_every_other_stage():
    """PretrainConfig used to default to "cpu", so stage 1 ignored a Colab GPU."""
    from e2llm_lab.config import LLMConfig, PretrainConfig, TrainConfig

    assert PretrainConfig().device == "auto" and LLMConfig().dtype == "auto"
    assert not hasattr(TrainConfig(), "device")       # stages 2-3 follow the model's device


def test_encoder_sizes_come_from_the_data_never_overwritten(small):
    """The encoder is built by EEGEncoder.from_features: the data give its layout and head; a config that says
    otherwise raises (it used to be silently replaced)."""
    none = PretrainConfig(selfsup_epochs=0, epochs=0, n_val_subjects=0)
    enc, _ = pretrain_encoder(small, none, encoder_cfg=ENC, progress=False)
    assert (enc.cfg.n_steps, enc.cfg.n_chans, enc.cfg.n_bands, enc.cfg.n_classes) == (2, 62, 5, 7)
    assert enc.cfg.d_model == ENC.d_model and enc.ch_names == small.ch_names
    with pytest.raises(ValueError, match=r"n_steps=4\).*2 windows long"):
        pretrain_encoder(small, none, encoder_cfg=replace(ENC, n_steps=4), progress=False)
