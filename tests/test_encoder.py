import numpy as np
import pytest
import torch

from e2llm_lab.channels import REGION_NAMES, REGIONS, SEED_CH_NAMES
from e2llm_lab.config import ENCODER_PRESETS, EncoderConfig
from e2llm_lab.encoder import EEGEncoder, region_pooling_matrix

CFG = EncoderConfig(d_model=16, n_heads=2, n_layers=2, n_steps=3)


@pytest.fixture
def enc():
    torch.manual_seed(0)
    return EEGEncoder(CFG).eval()


def test_output_shapes(enc):
    out = enc(torch.randn(5, 3, 62, 5))
    assert out.tokens.shape == (5, 3, 62, 16)
    assert out.electrode_tokens.shape == (5, 62, 16)
    assert out.region_tokens.shape == (5, len(REGION_NAMES), 16)
    assert out.global_embedding.shape == (5, 16)
    assert out.logits.shape == (5, 7)
    assert out.reconstruction.shape == (5, 3, 62, 5)
    assert out.spatial_attention == [] and out.temporal_attention == []
    assert enc(torch.randn(2, 2, 62, 5)).logits.shape == (2, 7)      # fewer windows than n_steps is fine


def test_attention_weights_returned_and_normalised(enc):
    out = enc(torch.randn(4, 3, 62, 5), output_attentions=True)
    assert len(out.spatial_attention) == len(out.temporal_attention) == 2
    s, t = out.spatial_attention[1], out.temporal_attention[1]
    assert s.shape == (4, 3, 2, 62, 62) and t.shape == (4, 62, 2, 3, 3)
    torch.testing.assert_close(s.sum(-1), torch.ones(4, 3, 2, 62))
    torch.testing.assert_close(t.sum(-1), torch.ones(4, 62, 2, 3))
    assert (s >= 0).all()
    # weights come from the same pass: asking for them does not change the outputs
    x = torch.randn(2, 3, 62, 5)
    torch.testing.assert_close(enc(x).logits, enc(x, output_attentions=True).logits)


def test_region_tokens_average_their_electrodes(enc):
    out = enc(torch.randn(2, 3, 62, 5))
    r = REGION_NAMES.index("left_temporal")
    idx = [SEED_CH_NAMES.index(c) for c in REGIONS["left_temporal"]]
    torch.testing.assert_close(out.region_tokens[:, r], out.electrode_tokens[:, idx].mean(1))
    P = region_pooling_matrix()
    torch.testing.assert_close(P.sum(1), torch.ones(len(REGION_NAMES)))


def test_masked_tokens_hide_their_values(enc):
    x = torch.randn(2, 3, 62, 5)
    mask = torch.zeros(2, 3, 62, dtype=torch.bool)
    mask[:, 1, 10:20] = True
    x2 = x.clone()
    x2[mask] = 100.0                                    # change only what is masked
    torch.testing.assert_close(enc(x, mask=mask).logits, enc(x2, mask=mask).logits)
    assert not torch.allclose(enc(x).logits, enc(x2).logits)


def test_electrode_identity_matters(enc):
    """Swapping two electrodes' data changes the output: tokens know which electrode they are."""
    x = torch.randn(1, 3, 62, 5)
    y = x.clone()
    y[:, :, [0, 61]] = x[:, :, [61, 0]]
    assert not torch.allclose(enc(x).logits, enc(y).logits, atol=1e-5)


def test_bad_input_shape_raises(enc):
    with pytest.raises(ValueError, match=r"\(B, T<=3, 62, 5\)"):
        enc(torch.randn(2, 3, 5, 62))
    with pytest.raises(ValueError, match="divisible"):
        EEGEncoder(EncoderConfig(d_model=30, n_heads=4))


def test_checkpoint_round_trip_identical_outputs(enc, tmp_path):
    enc.save_pretrained(tmp_path / "enc")
    assert sorted(p.name for p in (tmp_path / "enc").iterdir()) == ["encoder.safetensors", "encoder_config.json"]
    back = EEGEncoder.from_pretrained(tmp_path / "enc")
    x = torch.randn(3, 3, 62, 5)
    torch.testing.assert_close(back(x).logits, enc(x).logits, rtol=0, atol=0)
    assert back.cfg == enc.cfg


def test_presets_build_and_agree_with_the_pipeline_presets():
    from e2llm_lab.config import PRESETS

    sizes = {}
    for name, cfg in ENCODER_PRESETS.items():
        assert cfg == PRESETS[name].encoder, name                     # one place per fact
        out = EEGEncoder(cfg)(torch.randn(2, 3, 62, 5))
        assert out.region_tokens.shape == (2, 11, cfg.d_model) and out.logits.shape == (2, 7), name
        sizes[name] = sum(p.numel() for p in EEGEncoder(cfg).parameters())
    assert sizes["cpu-tiny"] < sizes["colab-t4"] < sizes["a100"]


def test_embed_matches_forward(enc):
    X = np.random.default_rng(0).normal(size=(7, 3, 62, 5)).astype(np.float32)
    emb = enc.embed(X, batch_size=3)
    torch.testing.assert_close(torch.as_tensor(emb), enc(torch.as_tensor(X)).global_embedding, rtol=1e-5, atol=1e-5)
