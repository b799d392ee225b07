"""Which attribution method to trust: every method and both floors, scored the way the field scores them.

Two kinds of truth:

- a **white-box model** (:class:`WhiteBox`): a linear read-out of each class whose weights are non-zero only on that
  class's planted (electrode, band) features, so its reliance is known exactly (weight x input); a correct method
  must find it (AUROC near 1);
- a **trained model** (encoder or E2LLM) against the planted masks of the synthetic cohort, where the figure mixes
  the method's error with what the model itself learned to rely on.

Metrics: the toolkit's AUROC of |attribution| against the mask (per sample and averaged per class), and through
Quantus (Hedstroem et al. 2023, JMLR 24:34): relevance rank accuracy and relevance mass accuracy (Arras et al.
2022) against the same mask, model-parameter randomisation (Adebayo et al. 2018), random logit (Sixt et al. 2020)
and pixel flipping (Bach et al. 2015), whose area under the deletion curve is the faithfulness column. Quantus is
an optional extra: ``pip install "e2llm-lab[interpret]"``.

Every model is given to the metrics as a :class:`ClassScores` module, ``(B, T, C, F) -> (B, n_classes)``, the
form Quantus calls; :func:`class_target` turns one of its classes into an attribution target.
"""
from __future__ import annotations

import copy
import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from tqdm.auto import tqdm

from ..labels import SEED7
from .attribution import FLOORS, METHODS, attribute
from .targets import e2llm_log_probs

__all__ = ["ClassScores", "EncoderScores", "E2LLMScores", "WhiteBox", "class_target", "quantus_explain",
           "auroc_scores", "quantus_scores", "attribution_table", "TABLE_COLUMNS"]

#: Columns of :func:`attribution_table`.
TABLE_COLUMNS = ("auroc", "auroc_class", "auroc_class_min", "rank_accuracy", "mass_accuracy",
                 "randomisation_spearman", "random_logit", "deletion_auc", "deletion_auc_se", "deletion_gain_z",
                 "seconds")


def _quantus():
    """Import Quantus, or say how to install it."""
    try:
        import quantus
    except ImportError as err:
        raise ImportError('the attribution metrics need Quantus: pip install "e2llm-lab[interpret]" '
                          '(or pip install quantus)') from err
    return quantus


# -- models as class scores ----------------------------------------------------------------------------------------

class ClassScores(nn.Module):
    """A model as ``(B, T, C, F) -> (B, n_classes)`` scores; ``score(x, k)`` is class ``k`` alone (cheaper where the
    model can compute one class without the others)."""

    labels: tuple = SEED7.labels

    def score(self, x: torch.Tensor, k: int) -> torch.Tensor:
        return self(x)[:, k]


class EncoderScores(ClassScores):
    """The stage-1 encoder's class logits."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.labels = tuple(getattr(encoder, "label_space", SEED7).labels)
        self.eval()                                       # Quantus refuses a module in training mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).logits


class E2LLMScores(ClassScores):
    """The whole E2LLM: log p(label | prompt, EEG) of every label (:func:`~.attribution.e2llm_log_probs`).

    Only the EEG path (encoder and projector) are child modules: model randomisation re-initialises what turns the
    EEG into LLM tokens, not the language model, which is kept out of ``named_modules``.
    """

    def __init__(self, model, **target_kwargs):
        super().__init__()
        self.encoder, self.projector = model.encoder, model.projector
        self._frozen = (model,)
        self.labels = tuple(getattr(model, "label_space", SEED7).labels)
        self.target_kwargs = target_kwargs
        self.eval()
        model.eval()

    def model(self):
        """The E2LLM with this module's (possibly re-initialised) encoder and projector."""
        m = copy.copy(self._frozen[0])
        m._modules = {**m._modules, "encoder": self.encoder, "projector": self.projector}
        return m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return e2llm_log_probs(self.model(), x, self.labels, **self.target_kwargs)

    def score(self, x: torch.Tensor, k: int) -> torch.Tensor:
        return e2llm_log_probs(self.model(), x, [self.labels[k]], **self.target_kwargs)[:, 0]


class WhiteBox(ClassScores):
    """A linear model whose reliance is known exactly: class k reads only the features of ``masks[k]``.

    ``logit_k(x) = sum_(c, f) W[k, c, f] * mean_t x[t, c, f] + b_k`` with ``W[k]`` zero outside ``masks[k]``, so the
    exact contribution of a feature is ``W[k, c, f] * x[t, c, f] / T`` and the set a correct attribution must find
    is ``masks[k]`` (:meth:`reliance`).

    Parameters
    ----------
    masks : np.ndarray of bool, shape (n_classes, n_chans, n_bands)
        e.g. :func:`e2llm_lab.data.synthetic.planted_mask`.
    """

    def __init__(self, masks: np.ndarray, *, labels=SEED7.labels):
        super().__init__()
        masks = np.asarray(masks, bool)
        if masks.ndim != 3 or len(masks) != len(labels):
            raise ValueError(f"masks must be (n_classes={len(labels)}, n_chans, n_bands), got {masks.shape}")
        self.labels, self.shape = tuple(labels), masks.shape[1:]
        self.register_buffer("mask", torch.as_tensor(masks).flatten(1).float())   # (K, C*F)
        self.linear = nn.Linear(self.mask.shape[1], len(masks))
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.mean(1).flatten(1))                   # (B, T, C, F) -> (B, C*F) -> (B, K)

    def reliance(self) -> np.ndarray:
        """The features each class reads (non-zero weight), bool, shape (n_classes, n_chans, n_bands)."""
        return (self.linear.weight != 0).detach().cpu().numpy().reshape(len(self.labels), *self.shape)

    def fit(self, X: np.ndarray, y: np.ndarray, *, epochs: int = 300, lr: float = 0.05, l2: float = 1e-3,
            seed: int = 0) -> WhiteBox:
        """Logistic regression restricted to the masks (full-batch Adam, penalty ``l2`` x sum of squared weights), on
        ``X`` (N, T, C, F) and labels ``y``. With all-True masks it is a plain linear model: what the data lets a model
        rely on."""
        torch.manual_seed(seed)
        xt = torch.as_tensor(np.asarray(X, np.float32)).mean(1).flatten(1)   # (N, T, C, F) -> (N, C*F)
        yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
        w = nn.Parameter(torch.zeros_like(self.linear.weight))
        b = nn.Parameter(torch.zeros_like(self.linear.bias))
        opt = torch.optim.Adam([w, b], lr=lr)
        for _ in range(epochs):
            loss = nn.functional.cross_entropy(xt @ (w * self.mask).T + b, yt) + l2 * (w * self.mask).pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            self.linear.weight.copy_(w * self.mask)
            self.linear.bias.copy_(b)
        return self.eval()


def class_target(scores: ClassScores, k: int):
    """Class ``k`` of a :class:`ClassScores` module as an attribution target ``(B, T, C, F) -> (B,)``."""
    def f(x: torch.Tensor) -> torch.Tensor:
        return scores.score(x, k)

    f.name = f"{type(scores).__name__}: {scores.labels[k]}"
    f.device, f.module = next(scores.parameters()).device, scores
    return f


def quantus_explain(model, inputs, targets, *, method: str = "integrated_gradients", **kwargs) -> np.ndarray:
    """Quantus's ``explain_func``: :func:`~.attribution.attribute` of each input to its target class.

    Parameters
    ----------
    model : ClassScores
        (Quantus passes re-initialised copies of it for the randomisation metrics.)
    inputs : np.ndarray, shape (N, T, C, F)
    targets : np.ndarray of int, shape (N,)
    method, **kwargs : passed to :func:`~.attribution.attribute` (``ch_names``, ``bands``, ``n_steps`` ...)

    Returns
    -------
    np.ndarray, shape (N, T, C, F)
    """
    kwargs.pop("device", None)                          # Quantus adds it; the target knows its model's device
    inputs = np.asarray(inputs, np.float32)
    return np.stack([attribute(class_target(model, int(k)), x, method=method, **kwargs).values
                     for x, k in zip(inputs, np.asarray(targets).ravel())])


def auroc_scores(A: np.ndarray, y: np.ndarray, masks: np.ndarray) -> dict:
    """The toolkit's AUROC of |attribution| (summed over windows) against each sample's class mask.

    Quantus's localisation ``AUC`` metric scores an image-shaped explanation per sample; the class-averaged
    figure (attributions averaged over a class's samples, then scored) is this toolkit's, so both live here.

    Parameters
    ----------
    A : np.ndarray, shape (N, T, C, F)
    y : np.ndarray of int, shape (N,)
    masks : np.ndarray of bool, shape (n_classes, C, F)

    Returns
    -------
    dict with ``per_sample`` (N,), ``per_class`` ({class index: AUROC}).
    """
    E = np.abs(np.asarray(A)).sum(1)                                 # (N, T, C, F) -> (N, C, F)
    per = np.array([roc_auc_score(masks[k].ravel(), e.ravel()) for e, k in zip(E, y)])
    per_class = {int(k): roc_auc_score(masks[k].ravel(), E[y == k].mean(0).ravel()) for k in np.unique(y)}
    return {"per_sample": per, "per_class": per_class}


def quantus_scores(scores: ClassScores, X: np.ndarray, y: np.ndarray, A: np.ndarray, masks: np.ndarray, *,
                   method: str, explain_kwargs: dict | None = None, features_in_step: int | None = None,
                   randomisation: bool = True, seed: int = 0) -> dict:
    """Quantus's localisation, randomisation and faithfulness metrics of one method's attributions, per sample.

    Parameters
    ----------
    scores : ClassScores
    X : np.ndarray, shape (N, T, C, F)
    y : np.ndarray of int, shape (N,)
    A : np.ndarray, shape (N, T, C, F)
        The method's attributions of ``X`` to ``y`` (from :func:`quantus_explain`).
    masks : np.ndarray of bool, shape (n_classes, C, F)
    method : the method (re-run on re-initialised models and on other classes)
    features_in_step : features removed per pixel-flipping step (default ``C``: ``T * F`` steps; Quantus wants it to
        divide ``C * F``)
    randomisation : also run the model-parameter randomisation and random-logit tests (they re-attribute)

    Returns
    -------
    dict of per-sample arrays: ``rank_accuracy``, ``mass_accuracy`` (|attribution| summed over windows against the
    mask), ``deletion_auc`` (area under the target's curve as features are set to the subject's mean, most
    positive first: lower is more faithful), and with ``randomisation``: ``randomisation_spearman`` (trained vs fully
    re-initialised model, |attribution|; low passes) and ``random_logit`` (the true class vs a random other
    class; low means class-specific).
    """
    quantus = _quantus()
    X, y, A = np.asarray(X, np.float32), np.asarray(y), np.asarray(A, np.float32)
    N, T, C, F = X.shape
    common = {"model": scores, "x_batch": X, "y_batch": y, "channel_first": True, "softmax": False, "device": "cpu"}
    kw = {"method": method, **(explain_kwargs or {})}
    # Localisation: the attribution summed over windows, as one (C, F) "image" per sample
    a_map = np.abs(A).sum(1, keepdims=True)                                    # (N, T, C, F) -> (N, 1, C, F)
    s_map = masks[y][:, None].astype(float)                                    # (N, 1, C, F)
    loc = {"x_batch": X[:, :1], "a_batch": a_map, "s_batch": s_map}
    out = {
        "rank_accuracy": quantus.RelevanceRankAccuracy(abs=True, normalise=False, disable_warnings=True)(
            **{**common, **loc}),
        "mass_accuracy": quantus.RelevanceMassAccuracy(abs=True, normalise=False, disable_warnings=True)(
            **{**common, **loc}),
        # Quantus 0.6 integrates the curve with np.trapz, which numpy 2.4 removed: its curve, our trapezoid
        "deletion_auc": np.trapezoid(np.asarray(quantus.PixelFlipping(
            features_in_step=features_in_step or C, perturb_baseline=0.0, abs=False, normalise=False,
            disable_warnings=True)(**common, a_batch=A), float), axis=1),
    }
    if randomisation:
        def explain(model, inputs, targets, **kwargs):
            # MPRT re-explains the original model before the randomised one: those are the attributions given
            same = model is scores and np.shape(inputs) == X.shape and np.array_equal(inputs, X) and np.array_equal(
                np.ravel(targets), y)
            return A if same else quantus_explain(model, inputs, targets, **kwargs)

        sim = quantus.similarity_func.correlation_spearman
        out["randomisation_spearman"] = quantus.MPRT(
            similarity_func=sim, skip_layers=True, return_last_correlation=True, abs=True, normalise=False, seed=seed,
            disable_warnings=True)(**common, a_batch=A, explain_func=explain, explain_func_kwargs=kw)
        out["random_logit"] = quantus.RandomLogit(
            similarity_func=sim, num_classes=len(scores.labels), abs=True, normalise=False, seed=seed,
            disable_warnings=True)(**common, a_batch=A, explain_func=explain, explain_func_kwargs=kw)
    return {k: np.asarray(v, float).ravel() for k, v in out.items()}


#: For each metric, whether higher is better (the floors' comparison and the recommendation read it).
HIGHER_IS_BETTER = {"auroc": True, "auroc_class": True, "auroc_class_min": True, "rank_accuracy": True,
                    "mass_accuracy": True, "randomisation_spearman": False, "random_logit": False,
                    "deletion_auc": False}


def attribution_table(scores: ClassScores, X: np.ndarray, y: np.ndarray, masks: np.ndarray, *,
                      methods=METHODS + FLOORS, randomisation: bool = True, explain_kwargs: dict | None = None,
                      features_in_step: int | None = None, progress: bool = True) -> pd.DataFrame:
    """The method x metric table: every method and both floors, on one model and one set of samples.

    Parameters
    ----------
    scores : ClassScores
        :class:`EncoderScores`, :class:`E2LLMScores` or :class:`WhiteBox`.
    X : np.ndarray, shape (N, T, C, F)
    y : np.ndarray of int, shape (N,)
        The class each sample is attributed to (its true label), in ``scores.labels`` order.
    masks : np.ndarray of bool, shape (n_classes, C, F)
        The truth: the planted masks, or :meth:`WhiteBox.reliance`.
    methods : methods of :data:`~.attribution.METHODS` and :data:`~.attribution.FLOORS`
    randomisation : run the model-randomisation and random-logit tests (each re-attributes every sample)
    explain_kwargs : options of :func:`~.attribution.attribute` (``n_steps``, ``ch_names``, ``bands`` ...)
    features_in_step : features removed per deletion step (default ``C``; coarser is cheaper for the E2LLM)

    Returns
    -------
    pd.DataFrame
        One row per method, columns :data:`TABLE_COLUMNS` (means over samples; ``*_sd`` / ``*_se`` their spread;
        ``deletion_gain_z``: the random floor's deletion AUC minus the method's, paired per sample, over its standard
        error), and ``beats_floors``: better than both floors on every metric (``df.attrs["floor_failures"]``: where
        not, per method). ``df.attrs["recommended"]``: the
        method that beats the floors everywhere and passes randomisation (Spearman < 0.3) with the highest
        class-averaged AUROC, or None.
    """
    unknown = [m for m in methods if m not in METHODS + FLOORS]
    if unknown:
        raise ValueError(f"methods {unknown} unknown; allowed: {METHODS + FLOORS}")
    X, y, masks = np.asarray(X, np.float32), np.asarray(y, int), np.asarray(masks, bool)
    if X.ndim != 4 or len(y) != len(X) or masks.shape != (len(scores.labels),) + X.shape[2:]:
        raise ValueError(f"X (N, T, C, F), y (N,) and masks (n_classes={len(scores.labels)}, C, F) expected; got "
                         f"{X.shape}, {y.shape}, {masks.shape}")
    rows, deletion = [], {}
    for method in tqdm(methods, desc="attribution metrics", disable=not progress):
        t0 = time.perf_counter()
        A = quantus_explain(scores, X, y, method=method, **(explain_kwargs or {}))
        seconds = (time.perf_counter() - t0) / len(X)
        au = auroc_scores(A, y, masks)
        q = quantus_scores(scores, X, y, A, masks, method=method, explain_kwargs=explain_kwargs,
                           randomisation=randomisation, features_in_step=features_in_step)
        deletion[method] = q["deletion_auc"]
        cls = list(au["per_class"].values())
        row = {"method": method, "auroc": au["per_sample"].mean(), "auroc_sd": au["per_sample"].std(),
               "auroc_class": np.mean(cls), "auroc_class_min": np.min(cls)}
        for k, v in q.items():
            row[k] = v.mean()
            row[f"{k}_sd"] = v.std()
        row["deletion_auc_se"] = q["deletion_auc"].std(ddof=1) / np.sqrt(len(X))
        row["seconds"] = seconds
        rows.append(row)
    df = pd.DataFrame(rows).set_index("method")
    if "random" in deletion:                                     # paired against the random order of the same samples
        d = {m: deletion["random"] - v for m, v in deletion.items()}
        df["deletion_gain_z"] = [d[m].mean() / max(d[m].std(ddof=1) / np.sqrt(len(X)), 1e-12) for m in df.index]
    floors = [f for f in FLOORS if f in df.index]
    judged = [c for c in HIGHER_IS_BETTER if c in df.columns]
    if floors:
        def lost(m):                                          # the metrics on which a floor does as well as m
            return [c for c in judged if not ((df.loc[m, c] > df.loc[floors, c].max()) if HIGHER_IS_BETTER[c]
                                              else (df.loc[m, c] < df.loc[floors, c].min()))]
        df.attrs["floor_failures"] = {m: lost(m) for m in df.index if m not in floors}
        df["beats_floors"] = [m not in floors and not lost(m) for m in df.index]
    ok = df[df.get("beats_floors", True) & (df.get("randomisation_spearman", 0) < 0.3)] if floors else df.iloc[:0]
    df.attrs["recommended"] = ok.auroc_class.idxmax() if len(ok) else None
    cols = [c for c in TABLE_COLUMNS if c in df.columns]
    return df[cols + [c for c in df.columns if c not in cols]]
