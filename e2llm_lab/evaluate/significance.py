"""Do the generated labels carry information about the truth? A guard against confident nonsense.

A language model writes fluent, specific explanations whether or not its answers track the EEG. Before any
explanation is read, the labels it generated on held-out subjects are tested against the truth: a label-permutation
test of balanced accuracy (the p-value; Good, *Permutation Tests*, 2000; Ojala & Garriga, JMLR 11, 2010) and a
bootstrap interval, resampling subjects when they are given (a subject's answers are not independent). When the
labels carry no detectable information, :meth:`InformationTest.verdict` says plainly that the explanations beside
them are not evidence.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["InformationTest", "label_information"]

_CHUNK = 512          # permutations or resamples per block: (chunk, n) arrays stay a few MB for large test sets


@dataclass(frozen=True)
class InformationTest:
    """Whether generated labels carry information about the true labels (see :func:`label_information`).

    Attributes
    ----------
    balanced_accuracy : float
        Mean recall over the true classes (sklearn's ``balanced_accuracy_score``); unparsed answers count as wrong.
    chance : float
        1 / number of true classes: what any guess that ignores the EEG scores on average.
    p_value : float
        Label-permutation p-value, add-one corrected: ``(1 + #{permuted >= observed}) / (1 + n_permutations)``.
    ci_low, ci_high : float
        Bootstrap 95% interval of the balanced accuracy (percentile; subjects resampled when groups are given).
    informative : bool
        ``p_value < alpha`` and ``ci_low > chance``.
    n, n_groups, n_unparsed : int
        Answers, subjects (0 when not given), and answers that did not parse to one of the labels.
    n_permutations : int
    alpha : float
    """

    balanced_accuracy: float
    chance: float
    p_value: float
    ci_low: float
    ci_high: float
    informative: bool
    n: int
    n_groups: int
    n_unparsed: int
    n_permutations: int
    alpha: float = 0.05

    def verdict(self, *, truth: str = "the true emotion", data: str = "these held-out subjects") -> str:
        """One plain sentence saying whether the labels carry information, and what that means for explanations.

        Parameters
        ----------
        truth : str
            What the labels are about ("the true emotion", "the true valence", ...).
        data : str
            Where they were tested ("these held-out subjects").
        """
        p = f"{self.p_value:.2g}"
        stats = (f"balanced accuracy {self.balanced_accuracy:.2f}, 95% CI {self.ci_low:.2f}-{self.ci_high:.2f}, "
                 f"chance {self.chance:.2f}, permutation p = {p}, {self.n} answers")
        if self.informative:
            return (f"The generated labels carry information about {truth} on {data} ({stats}); this does not by "
                    f"itself show that each explanation is right.")
        if self.p_value < self.alpha:            # the permutation test sees it, the interval across people does not
            return (f"The generated labels carry at most weak information about {truth} on {data} ({stats}): the "
                    f"interval reaches chance, so the explanations beside them are not evidence.")
        return (f"The generated labels carry no detectable information about {truth} on {data} ({stats}): "
                f"the explanations beside them are not evidence.")


def label_information(y_true: Sequence, y_pred: Sequence, *, labels: Sequence | None = None,
                      n_permutations: int = 2000, n_bootstrap: int = 2000, seed: int = 0,
                      groups: Sequence | None = None, alpha: float = 0.05) -> InformationTest:
    """Test whether generated labels carry information about the truth (permutation test + bootstrap interval).

    Parameters
    ----------
    y_true : sequence, shape (n,)
        True labels.
    y_pred : sequence, shape (n,)
        Generated labels; None, NaN or anything outside ``labels`` (an answer that did not parse) counts as wrong.
    labels : sequence, optional
        The label space (e.g. ``space.names``); default the labels present in ``y_true``. Chance is 1 / the number
        of labels present in ``y_true``, as balanced accuracy averages over those.
    n_permutations : int
        Permutations of the predictions for the p-value (within each group when ``groups`` is given).
    n_bootstrap : int
        Resamples for the 95% interval (of whole groups when ``groups`` is given).
    seed : int
    groups : sequence, shape (n,), optional
        The subject of each answer.
    alpha : float
        Significance level of :attr:`InformationTest.informative`.

    Returns
    -------
    InformationTest

    Raises
    ------
    ValueError
        On empty input, lengths that differ (both are named), or true labels outside ``labels``.
    """
    from sklearn.metrics import balanced_accuracy_score

    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}; pass one prediction per "
                         f"true label (None where an answer did not parse)")
    if not y_true:
        raise ValueError("no labels to test: y_true and y_pred are empty")
    if any(_missing(v) for v in y_true):
        raise ValueError("y_true holds missing values (None or NaN); every true label must be known")
    names = list(labels) if labels is not None else sorted(set(y_true), key=str)
    index = {name: k for k, name in enumerate(names)}
    unknown = sorted({str(v) for v in y_true if v not in index})
    if unknown:
        raise ValueError(f"y_true holds labels {unknown[:5]} that are not in labels {names}")
    t = np.array([index[v] for v in y_true])
    p = np.array([-1 if _missing(v) else index.get(v, -1) for v in y_pred])   # -1: unparsed, always wrong
    g = np.zeros(len(t), dtype=int)
    if groups is not None:
        groups = list(groups)
        if len(groups) != len(t):
            raise ValueError(f"groups has {len(groups)} entries but y_true has {len(t)} labels; pass the subject "
                             f"of every answer")
        g = np.unique(np.array([str(x) for x in groups]), return_inverse=True)[1]
    present = np.unique(t)
    onehot = (t[:, None] == present[None, :]).astype(float)                      # (n, K) over true classes
    with warnings.catch_warnings():                                               # "y_pred has classes not in y_true"
        warnings.simplefilter("ignore")
        observed = float(balanced_accuracy_score(t, p))
    rng = np.random.default_rng(seed)

    p_value = float(_permutation_p(t, p, g, onehot, observed, n_permutations, rng))
    n_groups = int(g.max()) + 1
    ci_low, ci_high = _bootstrap_ci(t, p, g if groups is not None else None, onehot, n_bootstrap, rng)
    chance = 1 / len(present)
    return InformationTest(balanced_accuracy=observed, chance=chance, p_value=float(p_value), ci_low=ci_low,
                           ci_high=ci_high, informative=bool(p_value < alpha and ci_low > chance), n=len(t),
                           n_groups=n_groups if groups is not None else 0, n_unparsed=int(np.sum(p < 0)),
                           n_permutations=n_permutations, alpha=alpha)


def _permutation_p(t, p, g, onehot, observed: float, n_permutations: int, rng) -> float:
    """Add-one p-value of ``observed`` under the null: predictions shuffled within each group, truth fixed."""
    slots = np.argsort(g, kind="stable")                                          # positions, grouped
    exceed = 0
    for b in range(0, n_permutations, _CHUNK):
        keys = g[None, :] + rng.random((min(_CHUNK, n_permutations - b), len(t)))  # (B, n): group + random rank
        shuffled = np.empty(keys.shape, dtype=p.dtype)
        shuffled[:, slots] = p[np.argsort(keys, axis=1)]                           # a within-group permutation
        ba = _balanced_accuracy(shuffled == t[None, :], np.ones(keys.shape), onehot)
        exceed += int(np.sum(ba >= observed - 1e-12))
    return (1 + exceed) / (1 + n_permutations)


def _bootstrap_ci(t, p, g, onehot, n_bootstrap: int, rng) -> tuple[float, float]:
    """95% bootstrap interval of balanced accuracy: answers resampled, or whole groups when ``g`` is given."""
    correct = (p == t).astype(float)
    boot = []
    for b in range(0, n_bootstrap, _CHUNK):
        size = min(_CHUNK, n_bootstrap - b)
        if g is not None:
            n_groups = int(g.max()) + 1
            weights = rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=size)[:, g]   # (B, n)
        else:
            weights = rng.multinomial(len(t), np.full(len(t), 1 / len(t)), size=size)
        boot.append(_balanced_accuracy(np.broadcast_to(correct, weights.shape), weights, onehot))
    low, high = np.percentile(np.concatenate(boot), [2.5, 97.5])
    return float(low), float(high)


def _balanced_accuracy(correct: np.ndarray, weights: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Balanced accuracy of each row: ``correct`` and ``weights`` (B, n), ``onehot`` (n, K) -> (B,).

    A class with no weight in a row (absent from a resample) is left out of that row's mean, as sklearn does.
    """
    hits = (weights * correct) @ onehot                                           # (B, n) @ (n, K) -> (B, K)
    totals = weights @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(totals > 0, hits / totals, np.nan)
    return np.nanmean(recall, axis=1)


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)                                               # NaN
    except (TypeError, ValueError):                                               # pandas.NA
        return True
