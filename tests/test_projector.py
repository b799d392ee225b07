import pytest
import torch

from e2llm_lab.projector import PROJECTOR_KINDS, build_projector


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
    from e2llm_lab.projector import EEGProjector

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
    from e2llm_lab.projector import EEGProjector

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
