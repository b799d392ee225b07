"""Which windows, electrodes and bands drove a prediction? Attributions with captum, and how to trust them.

Targets
-------
- the stage-1 encoder's class logit (:func:`encoder_target`);
- the whole E2LLM: the log-probability of the emotion's label tokens given the prompt, the start of the answer
  and the EEG (:func:`e2llm_target`). captum's LLM wrappers take ``input_ids`` only; here the forward takes the
  EEG tensor and builds ``inputs_embeds`` from it, so every method attributes to (window, electrode, band).

Methods (``METHODS``): Integrated Gradients (Sundararajan et al. 2017; its convergence delta is kept),
Saliency (Simonyan et al. 2014), InputXGradient, and occlusion of whole regions or whole bands (captum's
FeatureAblation with a feature mask).

Baselines: features are z-scored against each subject's own statistics, so the all-zero input **is** the
subject's mean (``"zero"``, the default: "what in this sample departs from this person's usual activity");
``"shuffled"`` uses another sample's features. Any array of the sample's shape may be given.

Trust: :func:`score_attribution` (AUROC against the planted effects of the synthetic cohort),
:func:`sanity_check` (Adebayo et al. 2018: a re-initialised model must give different attributions) and
:func:`deletion_curve` (remove the most-attributed electrodes first; the target should fall faster than for a
random order).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from ..channels import REGION_NAMES, SEED_CH_NAMES, region_index
from ..config import DEFAULT_BANDS, band_names
from ..emotions import EMOTIONS

__all__ = ["METHODS", "Attribution", "encoder_target", "e2llm_target", "attribute", "Attributor",
           "score_attribution", "sanity_check", "deletion_curve"]

METHODS = ("integrated_gradients", "saliency", "input_x_gradient", "occlusion_region", "occlusion_band")


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


# -- targets: functions (B, T, C, F) -> (B,) ------------------------------------------------------------------

def encoder_target(encoder, emotion: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The encoder's logit for ``emotion``, as a function of its input features."""
    k = EMOTIONS.index(emotion)
    encoder.eval()

    def f(x: torch.Tensor) -> torch.Tensor:
        return encoder(x).logits[:, k]

    f.name, f.device = f"encoder logit: {emotion}", next(encoder.parameters()).device
    return f


def e2llm_target(model, emotion: str, *, prompt: str | None = None,
                 prefix: str = "<think> Closest learned signatures:") -> Callable[[torch.Tensor], torch.Tensor]:
    """Log-probability of ``emotion``'s tokens continuing ``prefix``, given the prompt and the EEG.

    The default prefix stops where the model's reasoning first names an emotion (its comparison with the
    learned signatures), the position where it reads the EEG to decide; pass the full reasoning up to
    ``"Emotion:"`` to attribute the answer line instead.
    """
    from ..instructions import TEMPLATES, eeg_placeholder
    from ..llm import chat_prompt

    tok = model.tokenizer
    prompt = prompt or TEMPLATES["emotion"][0].format(eeg=eeg_placeholder(model.n_eeg_tokens))
    head = tok(chat_prompt(tok, prompt) + prefix, add_special_tokens=False)["input_ids"]
    tail = tok(" " + emotion, add_special_tokens=False)["input_ids"]
    ids = torch.tensor(head + tail, device=model.device)
    pos = torch.arange(len(head) - 1, len(head) + len(tail) - 1, device=model.device)
    want = torch.tensor(tail, device=model.device)
    model.eval()

    def f(x: torch.Tensor) -> torch.Tensor:
        batch = ids.expand(len(x), -1)
        logits = model.llm(inputs_embeds=model.embed_inputs(batch, x)).logits.float()       # (B, L, V)
        return torch.log_softmax(logits[:, pos], dim=-1).gather(-1, want.expand(len(x), -1)[..., None]).sum((1, 2))

    f.name, f.device = f"E2LLM log p({emotion})", model.device
    return f


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


def attribute(target: Callable, x: np.ndarray, *, method: str = "integrated_gradients", baseline="zero",
              n_steps: int = 32, internal_batch_size: int | None = 32, ch_names=SEED_CH_NAMES,
              bands=band_names(DEFAULT_BANDS)) -> Attribution:
    """Attribute ``target`` at one sample to its (window, electrode, band) features.

    Parameters
    ----------
    target : callable
        (B, T, C, F) -> (B,), e.g. :func:`encoder_target` or :func:`e2llm_target`.
    x : np.ndarray, shape (n_windows, n_chans, n_bands)
    method : one of :data:`METHODS`
    baseline : "zero" (the subject's mean for z-scored features) or an array shaped like ``x``
    n_steps, internal_batch_size : Integrated Gradients' path steps and batch

    Returns
    -------
    Attribution
    """
    from captum.attr import FeatureAblation, InputXGradient, IntegratedGradients, Saliency

    if method not in METHODS:
        raise ValueError(f"method={method!r}; allowed: {METHODS}")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[1] != len(ch_names) or x.shape[2] != len(bands):
        raise ValueError(f"x must be (n_windows, {len(ch_names)} chans, {len(bands)} bands), got {x.shape}")
    b = _baseline(x, baseline)
    dev = getattr(target, "device", "cpu")
    xt, bt = torch.as_tensor(x[None], device=dev), torch.as_tensor(b[None], device=dev)
    delta = None
    if method == "integrated_gradients":
        a, d = IntegratedGradients(target).attribute(xt, baselines=bt, n_steps=n_steps, return_convergence_delta=True,
                                                     internal_batch_size=internal_batch_size)
        delta = float(d.abs().max())
    elif method == "saliency":
        a = Saliency(target).attribute(xt.clone().requires_grad_(), abs=False)
    elif method == "input_x_gradient":
        a = InputXGradient(target).attribute(xt.clone().requires_grad_())
    else:   # each group's effect is spread over its elements, so region or band sums equal the effect
        mask = _masks(x.shape, ch_names)[method].to(xt.device)
        a = FeatureAblation(target).attribute(xt, baselines=bt, feature_mask=mask)
        a = a / torch.bincount(mask.flatten())[mask].to(a.dtype)
    with torch.no_grad():
        out, base_out = float(target(xt)[0]), float(target(bt)[0])
    return Attribution(a[0].detach().float().cpu().numpy(), method, getattr(target, "name", "target"), tuple(ch_names),
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
