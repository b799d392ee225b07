import numpy as np
import pytest
import torch

from e2llm_lab.channels import REGION_NAMES, SEED_CH_NAMES, region_index
from e2llm_lab.config import EncoderConfig, PretrainConfig
from e2llm_lab.data.samples import load_sample
from e2llm_lab.data.synthetic import planted_mask
from e2llm_lab.emotions import EMOTIONS
from e2llm_lab.interpret.attribution import (
    FLOORS,
    METHODS,
    Attribution,
    Attributor,
    attribute,
    deletion_curve,
    sanity_check,
    score_attribution,
)
from e2llm_lab.interpret.targets import encoder_target

OCC = region_index(SEED_CH_NAMES) == REGION_NAMES.index("occipital")


def _occipital_alpha(x: torch.Tensor) -> torch.Tensor:
    """A 'model' that reads only occipital alpha: (B, T, C, F) -> (B,)."""
    return (x[:, :, torch.as_tensor(OCC), 2] ** 2).sum((1, 2))


@pytest.fixture(scope="module")
def fs():
    return load_sample().with_steps(4, stride=4)


@pytest.fixture(scope="module")
def encoder(fs):
    from e2llm_lab.training.pretrain import pretrain_encoder

    enc, _ = pretrain_encoder(fs, PretrainConfig(selfsup_epochs=1, epochs=6),
                              encoder_cfg=EncoderConfig(d_model=16, n_heads=2, n_layers=1), progress=False)
    return enc


def test_reductions_match_manual_sums():
    rng = np.random.default_rng(0)
    a = Attribution(rng.normal(size=(4, 62, 5)), "x", "y")
    np.testing.assert_allclose(a.electrode(), a.values.sum((0, 2)))
    np.testing.assert_allclose(a.band(absolute=True), np.abs(a.values).sum((0, 1)))
    r = REGION_NAMES.index("occipital")
    np.testing.assert_allclose(a.region()[r], a.values[:, OCC].sum())
    df = a.to_frame()
    assert len(df) == 4 * 62 * 5 and set(df.region) == set(REGION_NAMES)
    np.testing.assert_allclose(df.groupby("band", sort=False).value.sum().to_numpy(), a.band())


def test_integrated_gradients_is_complete(fs, encoder):
    a = attribute(encoder_target(encoder, "fear"), fs.X[7], n_steps=64)
    assert a.values.shape == fs.X[7].shape
    assert a.values.sum() == pytest.approx(a.output - a.baseline_output, abs=1e-3)   # completeness
    assert a.delta < 1e-3


@pytest.mark.parametrize("method", METHODS)
def test_every_method_finds_the_only_region_a_model_reads(fs, method):
    a = attribute(_occipital_alpha, fs.X[3], method=method)
    e = np.abs(a.electrode_band())
    if method == "occlusion_band":                    # a band is removed everywhere: all of it lands in alpha
        assert np.delete(np.abs(a.band()), 2).sum() == pytest.approx(0, abs=1e-6) and abs(a.band()[2]) > 0
        return
    assert e[~OCC].sum() == pytest.approx(0, abs=1e-6) and e[OCC].sum() > 0
    if method == "occlusion_region":                                  # the region's total is its effect
        assert a.region()[REGION_NAMES.index("occipital")] == pytest.approx(a.output - a.baseline_output, rel=1e-4)


def test_score_attribution_against_known_masks():
    mask = planted_mask()[EMOTIONS.index("happiness")]
    assert score_attribution(mask.astype(float), mask) == 1.0
    assert score_attribution(1.0 - mask, mask) == 0.0
    with pytest.raises(ValueError, match="shape"):
        score_attribution(np.ones((62, 4)), mask)


def test_deletion_curve_drops_first_where_the_model_reads(fs):
    x = fs.X[5]
    a = attribute(_occipital_alpha, x)
    df = deletion_curve(_occipital_alpha, x, a)
    assert len(df) == 63 and df.attributed.iloc[-1] == pytest.approx(0.0, abs=1e-6)
    assert df.attrs["gap"] > 0 and df.attributed.iloc[OCC.sum()] == pytest.approx(0.0, abs=1e-6)


def test_a_reinitialised_encoder_fails_the_sanity_check(fs, encoder):
    res = sanity_check(encoder, fs.X[11], fs.meta.emotion.iloc[11])
    assert res["spearman"] < 0.7
    assert not np.allclose(res["trained"].values, res["reinitialised"].values)


def test_attributor_caches_and_checks_its_input(fs, encoder):
    at = Attributor(encoder)
    first = at(fs.X[2], "anger", "saliency", key=2)
    assert at(fs.X[2], "anger", "saliency", key=2) is first and len(at.cache) == 1
    with pytest.raises(ValueError, match="allowed"):
        at(fs.X[2], "anger", "lime")
    with pytest.raises(ValueError, match="chans"):
        attribute(_occipital_alpha, fs.X[2][:, :10])


def test_e2llm_target_attributes_the_label_to_the_eeg(fs):
    from e2llm_lab.config import E2LLMConfig
    from e2llm_lab.interpret.targets import e2llm_target
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.model import E2LLM

    torch.manual_seed(0)
    model = E2LLM.build(EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1)), E2LLMConfig(), device="cpu")
    torch.nn.init.normal_(model.projector.readout.weight, std=0.1)    # let the EEG reach the label
    target = e2llm_target(model, "fear")
    with torch.no_grad():
        lp = target(torch.as_tensor(fs.X[:2]))
    assert lp.shape == (2,) and (lp < 0).all()
    a = Attributor(model)(fs.X[0], "fear", key=0)
    assert a.values.shape == fs.X[0].shape and np.abs(a.values).sum() > 0
    from e2llm_lab.interpret.metrics import E2LLMScores, class_target

    scores = E2LLMScores(model)                         # every label in one forward = each label's own target
    with torch.no_grad():
        every = scores(torch.as_tensor(fs.X[:2]))
    assert every.shape == (2, 7) and every[:, EMOTIONS.index("fear")].numpy() == pytest.approx(lp.numpy(), abs=1e-4)
    assert [n for n, _ in scores.named_children()] == ["encoder", "projector"]       # randomisation: the EEG path
    d = attribute(class_target(scores, EMOTIONS.index("fear")), fs.X[0], method="deeplift")
    assert np.isfinite(d.values).all() and np.abs(d.values).sum() > 0
    gap = a.output - a.baseline_output
    assert a.values.sum() == pytest.approx(gap, abs=0.05 * abs(gap) + 1e-3)


def test_encoder_attention_per_head_and_rollout(fs, encoder):
    from e2llm_lab.interpret.attention import attention_rollout, encoder_attention, mean_spatial_attention

    X = fs.X[:20]
    sp = encoder_attention(encoder, X)
    tp = encoder_attention(encoder, X, kind="temporal")
    assert sp.shape == (1, 2, 62, 62) and tp.shape == (1, 2, 4, 4)
    np.testing.assert_allclose(sp.sum(-1), 1, atol=1e-5)
    np.testing.assert_allclose(sp.mean(1)[-1], mean_spatial_attention(encoder, X), atol=1e-6)   # computed 2 ways
    r = attention_rollout(encoder, X)
    np.testing.assert_allclose(r, (0.5 * sp.mean(1)[0] + 0.5 * np.eye(62)), atol=1e-6)   # one block: A/2 + I/2
    with pytest.raises(ValueError, match="allowed"):
        encoder_attention(encoder, X, kind="heads")


# -- new methods, floors, the white-box truth and the metrics table --------------------------------------------

def _small_net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 62 * 5, 24), torch.nn.GELU(),
                               torch.nn.Linear(24, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def test_deeplift_is_complete_on_a_small_model(fs):
    from captum.attr import DeepLift

    net = _small_net()

    def f(x):
        return net(x)[:, 0]

    f.module = net
    x = fs.X[9]
    a = attribute(f, x, method="deeplift")
    assert a.values.sum() == pytest.approx(a.output - a.baseline_output, abs=1e-4)   # summation-to-delta
    assert a.delta < 1e-4
    # captum alone (no rescale rule for GELU: plain gradients there) misses completeness by its own delta
    xt = torch.as_tensor(x[None])
    raw, delta = DeepLift(net).attribute(xt, baselines=torch.zeros_like(xt), return_convergence_delta=True)
    assert abs(raw.sum().item() - (a.output - a.baseline_output)) == pytest.approx(abs(delta.item()), abs=1e-5)
    assert abs(delta.item()) > 10 * a.delta


def test_noise_tunnel_over_a_linear_model_is_its_gradient(fs):
    w = torch.as_tensor(np.random.default_rng(1).normal(size=(4, 62, 5)), dtype=torch.float32)

    def f(x):
        return (x * w).sum((1, 2, 3))

    sg = attribute(f, fs.X[4], method="smoothgrad")
    assert sg.method == "saliency+smoothgrad"
    np.testing.assert_allclose(sg.values, w.numpy(), rtol=1e-5, atol=1e-6)
    ig = attribute(f, fs.X[4], method="integrated_gradients", noise_tunnel="smoothgrad", n_samples=4)
    assert ig.values.sum() != pytest.approx((fs.X[4] * w.numpy()).sum(), rel=1e-6)   # noisy inputs, not x itself
    with pytest.raises(ValueError, match="noise_tunnel"):
        attribute(f, fs.X[4], method="occlusion_region", noise_tunnel="smoothgrad")


@pytest.mark.parametrize("method", ["gradient_shap", "smoothgrad"])
def test_stochastic_methods_repeat_and_leave_global_random_state_alone(fs, encoder, method):
    target = encoder_target(encoder, "sadness")
    np.random.seed(3)
    torch.manual_seed(3)
    expected = np.random.random(), torch.rand(1).item()
    np.random.seed(3)
    torch.manual_seed(3)
    first = attribute(target, fs.X[6], method=method)
    assert (np.random.random(), torch.rand(1).item()) == expected
    np.testing.assert_array_equal(first.values, attribute(target, fs.X[6], method=method).values)
    assert not np.array_equal(first.values, attribute(target, fs.X[6], method=method, seed=1).values)


def test_floors_read_no_model(fs):
    r1 = attribute(_occipital_alpha, fs.X[1], method="random")
    r2 = attribute(lambda x: x.sum((1, 2, 3)), fs.X[1], method="random")
    np.testing.assert_array_equal(r1.values, r2.values)                   # same sample, same draw, any model
    assert not np.allclose(r1.values, attribute(_occipital_alpha, fs.X[2], method="random").values)
    np.testing.assert_array_equal(attribute(_occipital_alpha, fs.X[1], method="input_magnitude").values,
                                  np.abs(fs.X[1]))


@pytest.fixture(scope="module")
def white(fs):
    from e2llm_lab.interpret.metrics import WhiteBox

    return WhiteBox(planted_mask(fs.ch_names)).fit(fs.X[:180], fs.labels()[:180], epochs=150)


def test_white_box_reliance_is_the_mask_and_correct_methods_recover_it(fs, white):
    from e2llm_lab.interpret.metrics import auroc_scores, quantus_explain

    np.testing.assert_array_equal(white.reliance(), planted_mask(fs.ch_names))
    X, y = fs.X[200:214], fs.labels()[200:214]
    for method in ("integrated_gradients", "input_x_gradient", "deeplift", "saliency"):
        A = quantus_explain(white, X, y, method=method)
        assert auroc_scores(A, y, white.reliance())["per_sample"].min() > 0.99, method
    # IG of a linear model is exactly weight x input: the known truth
    W = white.linear.weight.detach().numpy().reshape(7, 62, 5)
    A = quantus_explain(white, X[:2], y[:2], method="integrated_gradients")
    np.testing.assert_allclose(A, W[y[:2]][:, None] * X[:2] / 4, atol=1e-5)
    random = auroc_scores(quantus_explain(white, X, y, method="random"), y, white.reliance())["per_sample"]
    assert 0.35 < random.mean() < 0.65


def test_metrics_table_flags_floors_and_the_randomisation_check(fs, white):
    from e2llm_lab.interpret.metrics import TABLE_COLUMNS, attribution_table

    X, y = fs.X[200:210], fs.labels()[200:210]
    df = attribution_table(white, X, y, white.reliance(), methods=("integrated_gradients", "saliency") + tuple(FLOORS),
                           progress=False)
    assert list(df.index) == ["integrated_gradients", "saliency", "random", "input_magnitude"]
    assert set(TABLE_COLUMNS) <= set(df.columns)
    assert df.loc["integrated_gradients", "auroc"] > 0.99 and df.loc["random", "auroc"] < 0.7
    # floors read no model: a re-initialised model leaves them unchanged (they fail), IG changes
    assert df.loc["random", "randomisation_spearman"] == pytest.approx(1.0)
    assert df.loc["input_magnitude", "randomisation_spearman"] == pytest.approx(1.0)
    assert df.loc["integrated_gradients", "randomisation_spearman"] < 0.5
    assert not df.loc[list(FLOORS), "beats_floors"].any()
    assert df.loc["integrated_gradients", "deletion_auc"] < df.loc["random", "deletion_auc"]
    assert df.attrs["recommended"] == "integrated_gradients"
    with pytest.raises(ValueError, match="allowed"):
        attribution_table(white, X, y, white.reliance(), methods=("lime",))


def test_missing_quantus_says_how_to_install(monkeypatch):
    import sys

    from e2llm_lab.interpret import metrics

    monkeypatch.setitem(sys.modules, "quantus", None)                     # import quantus -> ImportError
    with pytest.raises(ImportError, match=r'pip install "e2llm-lab\[interpret\]"'):
        metrics._quantus()


def test_metrics_table_on_the_trained_encoder(fs, encoder):
    from e2llm_lab.interpret.metrics import EncoderScores, attribution_table

    rows = np.arange(0, 252, 36)
    df = attribution_table(EncoderScores(encoder), fs.X[rows], fs.labels()[rows], planted_mask(fs.ch_names),
                           methods=("integrated_gradients",) + tuple(FLOORS), progress=False)
    assert df.shape[0] == 3 and df[["auroc", "rank_accuracy", "mass_accuracy", "deletion_auc"]].notna().all().all()
    assert 0 <= df.loc["integrated_gradients", "mass_accuracy"] <= 1
    assert df.loc["input_magnitude", "randomisation_spearman"] == pytest.approx(1.0)
