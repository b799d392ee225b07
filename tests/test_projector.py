import pytest
import torch

from e2llm_lab.models.projector import PROJECTOR_KINDS, build_projector


@pytest.mark.parametrize("kind", PROJECTOR_KINDS)
def test_projector_shapes(kind):
    p = build_projector(kind, 37, 64)
    assert p(torch.randn(3, 12, 37)).shape == (3, 12, 64)


def test_mlp_is_nonlinear_linear_is_not():
    torch.manual_seed(0)
    x = torch.randn(5, 8)
    lin, mlp = build_projector("linear", 8, 16), build_projector("mlp2x_gelu", 8, 16)
    torch.testing.assert_close(lin(2 * x) - lin.bias, 2 * (lin(x) - lin.bias))
    assert not torch.allclose(mlp(2 * x) - mlp(0 * x), 2 * (mlp(x) - mlp(0 * x)))


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="allowed.*linear.*mlp2x_gelu"):
        build_projector("qformer", 8, 16)


def test_profile_readout_starts_as_a_no_op_and_touches_only_the_global_token():
    from e2llm_lab.models.projector import EEGProjector

    torch.manual_seed(0)
    p = EEGProjector("mlp2x_gelu", 37, 64, n_regions=11, n_bands=5)
    tokens, profile = torch.randn(3, 12, 37), torch.randn(3, 11, 5)
    torch.testing.assert_close(p(tokens, profile), p.tokens(tokens))            # zero-initialised
    torch.nn.init.normal_(p.readout.weight)
    out = p(tokens, profile)
    torch.testing.assert_close(out[:, :-1], p.tokens(tokens)[:, :-1])
    torch.testing.assert_close(out[:, -1], p.tokens(tokens)[:, -1] + p.readout(profile.flatten(1)))
    assert EEGProjector("linear", 37, 64).readout is None


def test_segment_embeddings_mark_each_clip_and_refuse_more_clips_than_they_know():
    from e2llm_lab.models.projector import EEGProjector

    torch.manual_seed(0)
    p = EEGProjector("mlp2x_gelu", 37, 64, n_regions=11, n_bands=5, max_segments=3)
    tokens, profile = torch.randn(3, 12, 37), torch.randn(3, 11, 5)
    same = p(tokens, profile, torch.tensor([0, 1, 2]))
    torch.testing.assert_close(same, p(tokens, profile))              # zero-initialised: starts as a no-op
    with torch.no_grad():
        p.segment.weight.copy_(torch.randn(3, 64))
    out = p(tokens, profile, torch.tensor([0, 1, 2]))
    for s in range(3):                                                # clip s's tokens all move by embedding s
        torch.testing.assert_close(out[s] - same[s], p.segment.weight[s].expand(12, 64))
    with pytest.raises(ValueError, match="4 EEG segments.*at most 3"):
        p(tokens, profile, torch.tensor([0, 1, 3]))


def test_head_reading_enters_the_global_token_as_the_label_words(fs, tmp_path):
    """The stage-1 head's posterior is added to the global token through the LM's own label-word embeddings."""
    from dataclasses import replace

    from e2llm_lab.config import E2LLMConfig, EncoderConfig
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.model import E2LLM

    torch.manual_seed(0)
    enc = EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1, n_steps=fs.n_steps)).eval()
    plain = E2LLM.build(enc, E2LLMConfig(), device="cpu").eval()
    assert plain.projector.head is None                                        # off by default: old checkpoints
    cfg = E2LLMConfig()
    cfg = replace(cfg, projector=replace(cfg.projector, head_reading=True))
    model = E2LLM.build(enc, cfg, device="cpu").eval()
    assert model.n_eeg_tokens == plain.n_eeg_tokens                           # no extra token: prompts unchanged
    table = model.llm.get_input_embeddings().weight
    labels = fs.label_space.labels
    for k, label in enumerate(labels):                                        # a one-hot reading = that word
        ids = model.tokenizer(" " + label, add_special_tokens=False)["input_ids"]
        torch.testing.assert_close(model.projector.head(torch.eye(len(labels))[k]), table[ids].mean(0))
    x = torch.as_tensor(fs.X[:3], dtype=torch.float32)
    with torch.no_grad():
        with_head = model.eeg_embeds(x)
        probs = enc(x).logits.softmax(-1)
        model.projector.head.weight.zero_()
        without = model.eeg_embeds(x)
        model.projector.init_head_reading(torch.stack([table[model.tokenizer(" " + lb, add_special_tokens=False)
                                                             ["input_ids"]].mean(0) for lb in labels]))
    torch.testing.assert_close(with_head[:, :-1], without[:, :-1])            # region tokens untouched
    torch.testing.assert_close(with_head[:, -1] - without[:, -1], probs @ model.projector.head.weight.T)
    # it travels with the checkpoint
    model.save_pretrained(tmp_path / "ckpt")
    loaded = E2LLM.from_pretrained(tmp_path / "ckpt", device="cpu")
    with torch.no_grad():
        torch.testing.assert_close(loaded.eeg_embeds(x), with_head)
    with pytest.raises(ValueError, match="pass head_probs"):
        model.projector(torch.zeros(1, model.n_eeg_tokens, 16 + fs.n_bands), torch.zeros(1, model.n_eeg_tokens - 1,
                                                                                        fs.n_bands))
