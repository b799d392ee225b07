"""Which windows, electrodes and bands drove a prediction? Attributions with captum, and how to trust them.

Targets (:mod:`e2llm_lab.interpret.targets`, re-exported here): the encoder's class logit
(:func:`encoder_target`) and the whole E2LLM's log-probability of the emotion's label tokens
(:func:`e2llm_target`), both functions of the EEG, so every method attributes to (window, electrode, band).

Methods (``METHODS``): Integrated Gradients (Sundararajan et al. 2017; its convergence delta is kept),
Saliency (Simonyan et al. 2014), InputXGradient, DeepLIFT with the rescale rule (Shrikumar et al. 2017) and
DeepLIFT-SHAP, GradientSHAP (Lundberg & Lee 2017), SmoothGrad (Smilkov et al. 2017; ``noise_tunnel=`` puts
captum's NoiseTunnel over any gradient method), and occlusion of whole regions or whole bands (captum's
FeatureAblation with a feature mask).

Floors (``FLOORS``): a random attribution and the input magnitude |x|. They read no model, so a method that does
not beat them on a metric has shown nothing on that metric (:mod:`e2llm_lab.interpret.metrics` scores them all).

DeepLIFT and the encoder: captum's DeepLift rejects none of the encoder's modules, but it has rules only for
ReLU-like activations, Softmax *modules* and max-pooling. The encoder's GELUs (and the LLM's SiLUs) get the rescale
rule here (:data:`DEEPLIFT_RESCALED`: it holds for any elementwise activation); the attention's functional softmax,
the q.k and weights.v products and LayerNorm have no rule and pass plain gradients, so DeepLIFT is not complete
on the encoder: on the trained quickstart encoder its attributions miss f(x) - f(baseline) by about 90% of it
(median over held-out samples; Integrated Gradients by < 1e-6). Its convergence delta is kept in
``Attribution.delta``. On MLP-style models (ReLU, GELU) it is exact.

Baselines: features are z-scored against each subject's own statistics, so the all-zero input **is** the
subject's mean (``"zero"``, the default: "what in this sample departs from this person's usual activity");
``"shuffled"`` uses another sample's features. Any array of the sample's shape may be given.

Trust: :func:`score_attribution` (AUROC against the planted effects of the synthetic cohort),
:func:`sanity_check` (Adebayo et al. 2018: a re-initialised model must give different attributions) and
:func:`deletion_curve` (remove the most-attributed electrodes first; the target should fall faster than for a
random order). Every method beside both floors, with Quantus's metrics, on a white box and the trained models:
:func:`e2llm_lab.interpret.metrics.attribution_table`.
"""
from __future__ import annotations

import contextlib
import copy
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from torch import nn

from ..channels import REGION_NAMES, SEED_CH_NAMES, region_index
from ..config import DEFAULT_BANDS, band_names
from .targets import e2llm_log_probs, e2llm_target, encoder_target

__all__ = ["METHODS", "FLOORS", "NOISE_TUNNELS", "DEEPLIFT_RESCALED", "Attribution", "encoder_target", "e2llm_target",
           "e2llm_log_probs", "attribute", "Attributor", "score_attribution", "sanity_check", "deletion_curve"]

#: Gradient methods (any of them takes ``noise_tunnel=``), SmoothGrad over saliency, and occlusion.
GRADIENT_METHODS = ("integrated_gradients", "saliency", "input_x_gradient", "deeplift", "deeplift_shap",
                    "gradient_shap")
METHODS = GRADIENT_METHODS + ("smoothgrad", "occlusion_region", "occlusion_band")
#: Attributions that read no model: what every method must beat.
FLOORS = ("random", "input_magnitude")
NOISE_TUNNELS = ("smoothgrad", "smoothgrad_sq", "vargrad")
#: Elementwise activations given DeepLIFT's rescale rule, beside captum's own list.
DEEPLIFT_RESCALED = (nn.GELU, nn.SiLU)


@dataclass
class Attribution:
    """One attribution: a value per (window, electrode, band) of one sample, for one target and method.

    Attributes
    ----------
    values : np.ndarray, shape (n_windows, n_chans, n_bands)
    method, target : str
    ch_names, bands : tuple of str
    delta : float or None
        Integrated Gradients' convergence delta: the sum of attributions minus the output difference between
        input and baseline (small means the path integral converged).
    output, baseline_output : float
        The target's value at the input and at the baseline.
    """

    values: np.ndarray
    method: str
    target: str
    ch_names: tuple = tuple(SEED_CH_NAMES)
    bands: tuple = band_names(DEFAULT_BANDS)
    delta: float | None = None
    output: float = np.nan
    baseline_output: float = np.nan
    meta: dict = field(default_factory=dict)

    def electrode_band(self, *, absolute: bool = False) -> np.ndarray:
        """Summed over windows, shape (n_chans, n_bands)."""
        v = np.abs(self.values) if absolute else self.values
        return v.sum(axis=0)

    def electrode(self, *, absolute: bool = False) -> np.ndarray:
        """Summed over windows and bands, shape (n_chans,)."""
        return self.electrode_band(absolute=absolute).sum(axis=1)

    def band(self, *, absolute: bool = False) -> np.ndarray:
        """Summed over windows and electrodes, shape (n_bands,)."""
        return self.electrode_band(absolute=absolute).sum(axis=0)

    def region(self, *, absolute: bool = False) -> np.ndarray:
        """Summed over each region's electrodes (windows and bands too), shape (n_regions,)."""
        idx, e = region_index(self.ch_names), self.electrode(absolute=absolute)
        return np.array([e[idx == r].sum() for r in range(len(REGION_NAMES))])

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (window, electrode, band) with its region and value."""
        T, C, F = self.values.shape
        t, c, f = np.meshgrid(np.arange(T), np.arange(C), np.arange(F), indexing="ij")
        regions = np.asarray(REGION_NAMES)[region_index(self.ch_names)]
        return pd.DataFrame({"window": t.ravel(), "electrode": np.asarray(self.ch_names)[c.ravel()],
                             "region": regions[c.ravel()], "band": np.asarray(self.bands)[f.ravel()],
                             "value": self.values.ravel(), "method": self.method, "target": self.target})


# -- attributing ------------------------------------------------------------------------------------------------

def _baseline(x: np.ndarray, baseline) -> np.ndarray:
    if isinstance(baseline, str):
        if baseline == "zero":
            return np.zeros_like(x)
        if baseline == "shuffled":
            raise ValueError("baseline='shuffled' needs the other sample's features: pass them as an array")
        raise ValueError(f"baseline={baseline!r}; allowed: 'zero' (the subject's mean) or an array of shape {x.shape}")
    b = np.asarray(baseline, dtype=np.float32)
    if b.shape != x.shape:
        raise ValueError(f"baseline of shape {b.shape} for a sample of shape {x.shape}")
    return b


def _masks(shape, ch_names) -> dict[str, torch.Tensor]:
    T, C, F = shape
    region = torch.as_tensor(region_index(ch_names))[None, :, None].expand(T, C, F)
    band = torch.arange(F)[None, None, :].expand(T, C, F)
    return {"occlusion_region": region[None].contiguous(), "occlusion_band": band[None].contiguous()}


class _TargetModule(nn.Module):
    """A target function as the ``nn.Module`` captum's DeepLift needs; the model it reads (``target.module``) is a
    child, so DeepLift's hooks reach its activations."""

    def __init__(self, target: Callable):
        super().__init__()
        self.net = getattr(target, "module", None)
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.target(x)


@contextlib.contextmanager
def _rescale_rule_for_activations():
    # captum keeps its DeepLift rules in a module-level table; GELU/SiLU get its elementwise rescale rule while we
    # attribute, then the table is restored.
    from captum.attr._core import deep_lift

    added = [m for m in DEEPLIFT_RESCALED if m not in deep_lift.SUPPORTED_NON_LINEAR]
    deep_lift.SUPPORTED_NON_LINEAR.update({m: deep_lift.nonlinear for m in added})
    try:
        with warnings.catch_warnings():          # captum announces its hooks on every call
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
            warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
            yield
    finally:
        for m in added:
            deep_lift.SUPPORTED_NON_LINEAR.pop(m, None)


@contextlib.contextmanager
def _seeded(seed: int, device):
    # captum draws GradientSHAP's path points from numpy's global generator and the noise tunnel's noise from
    # torch's: both are seeded for the call and given back as they were, so one sample's attribution is the same
    # on every call (cached views, and a re-initialised model compared on the same draws)
    state = np.random.get_state()
    with torch.random.fork_rng(devices=[device] if torch.device(device).type == "cuda" else []):
        torch.manual_seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


def _background(x: np.ndarray, baseline, n_baselines: int, rng: np.random.Generator) -> np.ndarray:
    # The SHAP methods' baseline distribution (K, T, C, F). For z-scored features "zero" means the subject's own
    # distribution with features treated as independent: K draws of N(0, 1).
    b = np.asarray(baseline, dtype=np.float32) if not isinstance(baseline, str) else None
    if b is not None and b.ndim == 4:
        if b.shape[1:] != x.shape or len(b) < 2:
            raise ValueError(f"a baseline distribution must be (K >= 2, {', '.join(map(str, x.shape))}), got {b.shape}")
        return b
    if b is not None:
        return np.stack([_baseline(x, b)] * 2)
    _baseline(x, baseline)                                         # same checks and messages as the other methods
    return rng.standard_normal((n_baselines,) + x.shape).astype(np.float32)


def _seed_of(x: np.ndarray) -> int:
    # A random floor that differs between samples but is the same for the same sample (cached views agree)
    return zlib.crc32(np.ascontiguousarray(x).tobytes())


def _check_method(method: str, noise_tunnel: str | None) -> tuple[str, str | None]:
    """Refuse an unknown method or noise tunnel; ``"smoothgrad"`` is saliency under the smoothgrad tunnel."""
    if method not in METHODS + FLOORS:
        raise ValueError(f"method={method!r}; allowed: {METHODS + FLOORS}")
    if method == "smoothgrad":
        method, noise_tunnel = "saliency", noise_tunnel or "smoothgrad"
    if noise_tunnel is not None and (noise_tunnel not in NOISE_TUNNELS or method not in GRADIENT_METHODS):
        raise ValueError(f"noise_tunnel={noise_tunnel!r} with method={method!r}: noise_tunnel is one of "
                         f"{NOISE_TUNNELS} over a gradient method {GRADIENT_METHODS}")
    return method, noise_tunnel


def _algorithm(method: str, target: Callable, bt: torch.Tensor, *, n_steps: int, internal_batch_size: int | None,
               n_samples: int):
    """captum's attribution object for a gradient method, and the keyword arguments its ``attribute`` takes."""
    from captum.attr import (
        DeepLift,
        DeepLiftShap,
        GradientShap,
        InputXGradient,
        IntegratedGradients,
        Saliency,
    )

    if method == "integrated_gradients":
        return IntegratedGradients(target), {"baselines": bt, "n_steps": n_steps,
                                             "internal_batch_size": internal_batch_size}
    if method == "saliency":
        return Saliency(target), {"abs": False}
    if method == "input_x_gradient":
        return InputXGradient(target), {}
    if method == "deeplift":
        return DeepLift(_TargetModule(target)), {"baselines": bt}
    if method == "deeplift_shap":
        return DeepLiftShap(_TargetModule(target)), {"baselines": bt}
    return GradientShap(target), {"baselines": bt, "n_samples": n_samples, "stdevs": 0.0}


def attribute(target: Callable, x: np.ndarray, *, method: str = "integrated_gradients", baseline="zero",
              noise_tunnel: str | None = None, n_steps: int = 32, internal_batch_size: int | None = 32,
              n_samples: int = 16, stdev: float = 0.3, n_baselines: int = 8, seed: int | None = None,
              ch_names=SEED_CH_NAMES, bands=band_names(DEFAULT_BANDS)) -> Attribution:
    """Attribute ``target`` at one sample to its (window, electrode, band) features.

    Parameters
    ----------
    target : callable
        (B, T, C, F) -> (B,), e.g. :func:`encoder_target` or :func:`e2llm_target`. DeepLIFT needs the model as an
        ``nn.Module``: it is read from ``target.module`` (set by both target builders).
    x : np.ndarray, shape (n_windows, n_chans, n_bands)
    method : one of :data:`METHODS` or :data:`FLOORS`
    baseline : "zero" (the subject's mean for z-scored features) or an array shaped like ``x``; for
        ``deeplift_shap`` and ``gradient_shap`` also a distribution, shape (K, n_windows, n_chans, n_bands)
        ("zero" draws ``n_baselines`` samples of N(0, 1), the subject's z-scored distribution).
    noise_tunnel : {None, "smoothgrad", "smoothgrad_sq", "vargrad"}
        Average the gradient method over ``n_samples`` copies of ``x`` with Gaussian noise of sd ``stdev`` (in
        z-score units). ``method="smoothgrad"`` is saliency with ``noise_tunnel="smoothgrad"``.
    n_steps, internal_batch_size : Integrated Gradients' path steps and batch
    n_samples, stdev : noise-tunnel samples and noise sd; ``n_samples`` is also GradientSHAP's draws per baseline
    seed : random state of the floors, the noise and the background (default: derived from ``x``)

    Returns
    -------
    Attribution
        ``delta`` is captum's convergence delta for Integrated Gradients, DeepLIFT, DeepLIFT-SHAP and GradientSHAP.
    """
    from captum.attr import FeatureAblation, NoiseTunnel

    method, noise_tunnel = _check_method(method, noise_tunnel)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[1] != len(ch_names) or x.shape[2] != len(bands):
        raise ValueError(f"x must be (n_windows, {len(ch_names)} chans, {len(bands)} bands), got {x.shape}")
    rng = np.random.default_rng(_seed_of(x) if seed is None else seed)
    shap = method in ("deeplift_shap", "gradient_shap")
    b = _background(x, baseline, n_baselines, rng) if shap else _baseline(x, baseline)
    dev = getattr(target, "device", "cpu")
    xt = torch.as_tensor(x[None], device=dev)
    bt = torch.as_tensor(b if shap else b[None], device=dev)          # (1 or K, T, C, F)
    name = method if noise_tunnel is None else f"{method}+{noise_tunnel}"
    delta = None
    if method in FLOORS:                  # read no model: the random floor is N(0, 1), the magnitude floor is |x|
        a = torch.as_tensor(rng.standard_normal(x.shape) if method == "random" else np.abs(x))[None]
    elif method in ("occlusion_region", "occlusion_band"):   # a group's effect is spread over its elements
        mask = _masks(x.shape, ch_names)[method].to(xt.device)
        a = FeatureAblation(target).attribute(xt, baselines=bt, feature_mask=mask)
        a = a / torch.bincount(mask.flatten())[mask].to(a.dtype)
    else:
        algo, kw = _algorithm(method, target, bt, n_steps=n_steps, internal_batch_size=internal_batch_size,
                              n_samples=n_samples)
        complete = method in ("integrated_gradients", "deeplift", "deeplift_shap", "gradient_shap")
        inputs = xt.clone().requires_grad_()
        rules = _rescale_rule_for_activations() if method.startswith("deeplift") else contextlib.nullcontext()
        with _seeded(int(rng.integers(2**31)), xt.device), rules:
            if noise_tunnel is not None:
                a = NoiseTunnel(algo).attribute(inputs, nt_type=noise_tunnel, nt_samples=n_samples, stdevs=stdev, **kw)
            elif complete:
                a, d = algo.attribute(inputs, return_convergence_delta=True, **kw)
                delta = float(d.abs().max())
            else:
                a = algo.attribute(inputs, **kw)
    with torch.no_grad():                        # for the SHAP methods the baseline output is the background's mean
        out, base_out = float(target(xt)[0]), float(target(bt).mean())
    return Attribution(a[0].detach().float().cpu().numpy(), name, getattr(target, "name", "target"), tuple(ch_names),
                       tuple(bands), delta, out, base_out)


class Attributor:
    """Attributions of one model, cached per (sample, target, method, baseline) so views can update live.

    Parameters
    ----------
    model : EEGEncoder or E2LLM
    ch_names, bands : the features' channel and band names
    """

    def __init__(self, model, *, ch_names=SEED_CH_NAMES, bands=band_names(DEFAULT_BANDS), **kwargs):
        self.model, self.ch_names, self.bands, self.kwargs = model, tuple(ch_names), tuple(bands), kwargs
        self.cache: dict = {}

    def target(self, emotion: str) -> Callable:
        is_llm = hasattr(self.model, "llm")
        return e2llm_target(self.model, emotion) if is_llm else encoder_target(self.model, emotion)

    def __call__(self, x: np.ndarray, emotion: str, method: str = "integrated_gradients", *, baseline="zero",
                 key=None) -> Attribution:
        """The attribution of ``emotion`` at sample ``x`` (``key``, e.g. the FeatureSet row, names it in the cache)."""
        base_key = baseline if isinstance(baseline, str) else np.asarray(baseline).tobytes()
        k = (key if key is not None else np.asarray(x).tobytes(), emotion, method, base_key)
        if k not in self.cache:
            self.cache[k] = attribute(self.target(emotion), x, method=method, baseline=baseline,
                                      ch_names=self.ch_names, bands=self.bands, **self.kwargs)
        return self.cache[k]


# -- trusting them --------------------------------------------------------------------------------------------

def score_attribution(attr: Attribution | np.ndarray, mask: np.ndarray) -> float:
    """AUROC of |attribution| per (electrode, band) against a ground-truth mask (e.g. the planted effects).

    The toolkit's headline figure, on one :class:`Attribution`; the table also reports Quantus's relevance rank and
    mass accuracy against the same mask.

    Parameters
    ----------
    attr : Attribution, or an array (n_chans, n_bands) or (n_windows, n_chans, n_bands)
    mask : np.ndarray of bool, shape (n_chans, n_bands)
        :func:`e2llm_lab.data.synthetic.planted_mask` ``[emotion]``.
    """
    v = attr.values if isinstance(attr, Attribution) else np.asarray(attr)
    v = np.abs(v).sum(axis=0) if v.ndim == 3 else np.abs(v)
    mask = np.asarray(mask, bool)
    if v.shape != mask.shape:
        raise ValueError(f"attribution of shape {v.shape} against a mask of shape {mask.shape}")
    if mask.all() or not mask.any():
        raise ValueError("the mask must hold both planted and unplanted features")
    return float(roc_auc_score(mask.ravel(), v.ravel()))


def _reinitialised(model):
    twin = copy.deepcopy(model)
    torch.manual_seed(12345)
    for m in twin.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    for p in twin.parameters(recurse=False):             # embeddings held as bare parameters
        torch.nn.init.normal_(p, std=0.02)
    return twin


def sanity_check(encoder, x: np.ndarray, emotion: str, *, method: str = "integrated_gradients", **kwargs) -> dict:
    """Model-randomisation test (Adebayo et al. 2018) on the encoder: attributions of the trained model against
    those of a re-initialised copy.

    One sample, for exploring; the table (:func:`~.metrics.attribution_table`) runs Quantus's MPRT. Kept by hand
    because it also re-draws the encoder's bare embedding parameters (electrode and window identities), which
    Quantus's ``reset_parameters`` walk leaves trained.

    Returns
    -------
    dict with ``spearman`` (rank correlation of |attribution| per electrode x band; a method that explains the
    model, not the input, gives a low value) and both attributions.
    """
    trained = attribute(encoder_target(encoder, emotion), x, method=method, **kwargs)
    twin = _reinitialised(encoder)
    random = attribute(encoder_target(twin, emotion), x, method=method, **kwargs)
    rho = spearmanr(np.abs(trained.electrode_band()).ravel(), np.abs(random.electrode_band()).ravel()).statistic
    return {"spearman": float(rho), "trained": trained, "reinitialised": random}


def deletion_curve(target: Callable, x: np.ndarray, attr: Attribution, *, baseline="zero", n_random: int = 10,
                   seed: int = 0) -> pd.DataFrame:
    """Set electrodes to the baseline, most attributed first, and track the target; the same for random orders.

    Whole electrodes (all windows and bands) go at once, the unit a topomap reader removes; Quantus's pixel flipping
    (the deletion column of :func:`~.metrics.attribution_table`) removes single features and has no grouping.

    Returns
    -------
    pd.DataFrame
        One row per number of electrodes removed (0 .. n_chans): ``attributed`` (target value), ``random`` (mean over
        ``n_random`` random orders), and the attribute ``gap`` in ``df.attrs``: the mean of random - attributed
        over the curve (> 0: the attribution found what the target depends on).
    """
    x = np.asarray(x, dtype=np.float32)
    b = _baseline(x, baseline)
    order = np.argsort(-np.abs(attr.electrode()))
    rng = np.random.default_rng(seed)
    orders = [order] + [rng.permutation(x.shape[1]) for _ in range(n_random)]
    curves = []
    for o in orders:
        batch = np.repeat(x[None], x.shape[1] + 1, axis=0)
        for k in range(1, x.shape[1] + 1):
            batch[k][:, o[:k]] = b[:, o[:k]]
        with torch.no_grad():
            curves.append(target(torch.as_tensor(batch, device=getattr(target, "device", "cpu"))).float().cpu().numpy())
    df = pd.DataFrame({"removed": np.arange(x.shape[1] + 1), "attributed": curves[0],
                       "random": np.mean(curves[1:], axis=0)})
    df.attrs["gap"] = float((df.random - df.attributed).mean())
    return df
