import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from e2llm_lab.channels import REGION_NAMES, REGIONS, SEED_CH_NAMES
from e2llm_lab.config import ENCODER_PRESETS, EncoderConfig
from e2llm_lab.models.encoder import EEGEncoder, region_pooling_matrix

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


# -- sizes come from the data ------------------------------------------------------------------------------------
EMOTIV = ("AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4")


def _features(n_steps=3, ch_names=EMOTIV, n_bands=4):
    """A FeatureSet of 8 random samples on a 14-channel cap, 4 bands, SEED-IV's 4 labels."""
    from e2llm_lab.config import DEFAULT_BANDS
    from e2llm_lab.data.featureset import FeatureSet
    from e2llm_lab.labels import SEED4

    labels = list(SEED4.labels) * 2
    meta = pd.DataFrame({"subject": 1, "session": 1, "trial": range(8), "start_window": 0, "emotion": labels,
                         "valence": np.nan, "arousal": np.nan})
    X = np.random.default_rng(0).normal(size=(8, n_steps, len(ch_names), n_bands))
    return FeatureSet(X, meta, ch_names, DEFAULT_BANDS[-n_bands:], label_space=SEED4)


def test_from_features_takes_the_sizes_from_the_data():
    fs = _features()
    enc = EEGEncoder.from_features(fs, EncoderConfig(d_model=16, n_heads=2, n_layers=1))
    assert (enc.cfg.n_steps, enc.cfg.n_chans, enc.cfg.n_bands, enc.cfg.n_classes) == (3, 14, 4, 4)
    assert (enc.cfg.d_model, enc.cfg.n_heads, enc.cfg.n_layers) == (16, 2, 1)          # the user's choices kept
    assert enc.ch_names == EMOTIV and enc.bands == ("theta", "alpha", "beta", "gamma")
    assert enc.label_space == fs.label_space
    out = enc(torch.as_tensor(fs.X))
    assert out.logits.shape == (8, 4) and out.reconstruction.shape == (8, 3, 14, 4)
    assert enc.electrode_emb.shape == (14, 16) and enc.step_emb.shape == (3, 16)
    # a number that agrees with the data is fine
    same = EEGEncoder.from_features(fs, EncoderConfig(n_chans=14, n_bands=4, n_steps=3, n_classes=4, d_model=16))
    assert same.cfg == replace(enc.cfg, d_model=16, n_heads=4, n_layers=2)


@pytest.mark.parametrize("field, value, data", [("n_chans", 62, "14 channel names"), ("n_bands", 5, "4 band names"),
                                                 ("n_steps", 4, "3 windows long"), ("n_classes", 7, "4 labels")])
def test_from_features_refuses_a_config_that_disagrees_with_the_data(field, value, data):
    with pytest.raises(ValueError, match=rf"{field}={value}\).*{data}.*{field}=None"):
        EEGEncoder.from_features(_features(), EncoderConfig(**{field: value}))


def test_default_config_is_sized_by_the_constructors_arguments():
    """Without a FeatureSet the sizes come from ch_names, bands and label_space (n_steps: the pipeline's 4)."""
    from e2llm_lab.labels import SEED4

    assert EncoderConfig().n_chans is None and EncoderConfig().n_classes is None
    enc = EEGEncoder(EncoderConfig(d_model=16, n_heads=2))
    assert (enc.cfg.n_steps, enc.cfg.n_chans, enc.cfg.n_bands, enc.cfg.n_classes) == (4, 62, 5, 7)
    small = EEGEncoder(EncoderConfig(d_model=16, n_heads=2), EMOTIV, label_space=SEED4, bands=("alpha", "beta"))
    assert (small.cfg.n_chans, small.cfg.n_bands, small.cfg.n_classes) == (14, 2, 4)
    with pytest.raises(ValueError, match=r"n_chans=62\).*14 channel names"):
        EEGEncoder(EncoderConfig(n_chans=62), EMOTIV)


def test_save_pretrained_writes_the_resolved_sizes(tmp_path):
    enc = EEGEncoder.from_features(_features(), EncoderConfig(d_model=16, n_heads=2, n_layers=1))
    enc.save_pretrained(tmp_path / "enc")
    saved = json.loads((tmp_path / "enc" / "encoder_config.json").read_text())["config"]
    assert saved == {"n_chans": 14, "n_bands": 4, "n_steps": 3, "d_model": 16, "n_heads": 2, "n_layers": 1,
                     "mlp_ratio": 2, "dropout": 0.1, "n_classes": 4}
    back = EEGEncoder.from_pretrained(tmp_path / "enc")
    assert back.cfg == enc.cfg and back.label_space == enc.label_space and back.bands == enc.bands


def test_old_checkpoints_load_unchanged(tmp_path):
    """The shipped reference encoder (written when EncoderConfig held 62 channels and 7 classes) loads as it was."""
    from e2llm_lab.config import config_from_dict
    from e2llm_lab.data.samples import sample_dir

    ref = EEGEncoder.from_pretrained(sample_dir() / "reference" / "model" / "encoder")
    assert ref.cfg == EncoderConfig(n_chans=62, n_bands=5, n_steps=4, d_model=32, n_heads=4, n_layers=2,
                                    mlp_ratio=2, dropout=0.1, n_classes=7)
    assert ref.predict_logits(np.zeros((2, 4, 62, 5), np.float32)).shape == (2, 7)
    # an encoder saved before label spaces and band names were stored: SEED-VII's seven over delta..gamma
    old = EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1)).save_pretrained(tmp_path / "old")
    meta = json.loads((old / "encoder_config.json").read_text())
    (old / "encoder_config.json").write_text(json.dumps({"config": meta["config"], "ch_names": meta["ch_names"]}))
    assert EEGEncoder.from_pretrained(old).cfg.n_classes == 7
    # config dicts of either age rebuild
    assert config_from_dict(EncoderConfig, meta["config"]).n_chans == 62
    assert config_from_dict(EncoderConfig, {"d_model": 16, "n_chans": None}) == EncoderConfig(d_model=16)
