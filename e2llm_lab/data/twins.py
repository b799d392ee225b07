"""Near-duplicate subjects ("twins"): one person's windows stored again under another id, copy plus noise.

A subject-wise split with one twin in training and the other in test leaks the test person, and no split guard sees
it by subject ids alone. :func:`find_twins` finds such pairs without comparing every window with every other: cheap
subject-level summaries pick a few candidate partners per subject (a sequence fingerprint, for copies that keep their
window order; second moments, for copies that do not), and the candidates are verified window by window, beside
random partners that give the cohort's between-person distance. Twins are judged against that distance (how near the
nearest window of *another person* usually is), so subjects who are merely similar are not reported.

:func:`e2llm_lab.data.splits.split` refuses a split that puts twins on both sides; :func:`e2llm_lab.data.audit.audit`
reports them with the other data defects.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Twin", "find_twins", "TWIN_RATIO", "ALIGNED_RATIO", "MIN_ALIGNED", "EXHAUSTIVE_SUBJECTS",
           "N_CANDIDATES", "N_REFERENCE", "N_QUERIES"]

#: A pair is a twin when its windows are this close relative to the cohort's between-person distance (the median,
#: over pairs of people, of the median distance from a window to the nearest window of the other person) ...
TWIN_RATIO = 0.5
#: ... or within this ratio when at least MIN_ALIGNED of the nearest windows are the *same* window (same session,
#: trial and start_window): a copy keeps its window order, two people share it only by chance (1 / n_windows).
ALIGNED_RATIO, MIN_ALIGNED = 0.8, 0.5
#: Cohorts up to this many subjects are verified pair by pair; larger ones go through candidate summaries.
EXHAUSTIVE_SUBJECTS = 24
#: Candidate partners per subject from each summary (sequence fingerprint, second moments), and random reference
#: partners per subject for the between-person distance.
N_CANDIDATES, N_REFERENCE = 3, 2
#: Windows per subject (evenly spread) that look for their nearest window elsewhere: a copy shows in every window,
#: so a sample of them bounds the cost for subjects of thousands of windows.
N_QUERIES = 128
_PROJ_DIMS, _MOMENT_DIMS, _GRID_KEYS, _BLOCK = 8, 12, 128, 1024

_TWIN_MEANING = ("A subject-wise split with one twin in training and the other in test leaks the test person: "
                 "cross-subject accuracy on such a split is inflated (on a public emotion dataset with such copies, "
                 "logistic regression scored 0.80 with the twins in training against 0.34 without, chance 0.25). "
                 "Hold each pair out together or drop one of the two.")


@dataclass(frozen=True)
class Twin:
    """Two subjects whose windows are near copies of each other, with the evidence.

    Attributes
    ----------
    subjects : tuple
        The two subject ids.
    distance : float
        Median distance from a window of one to the nearest window of the other (both directions pooled).
    within : float
        Median distance from a window of one of them to its nearest *other* window of the same person (mean of both).
    between : float
        The same nearest-window distance between two different people, the cohort's median (NaN under 3 subjects).
    aligned : float
        Share of windows whose nearest window in the other subject is the same window (session, trial,
        start_window); two people share it only by chance.
    """

    subjects: tuple
    distance: float
    within: float
    between: float
    aligned: float

    @property
    def ratio(self) -> float:
        """``distance / between``: about 1 for two different people, far below for a copy."""
        return self.distance / max(self.between, 1e-12) if np.isfinite(self.between) else float("nan")

    def __str__(self) -> str:
        a, b = self.subjects
        ref = (f"two people {self.between:.2f}; ratio {self.ratio:.2f}" if np.isfinite(self.between)
               else "no third person to compare with")
        return (f"subjects {a} and {b}: nearest windows {self.distance:.2f} apart (one person {self.within:.2f}, "
                f"{ref}), {self.aligned:.0%} the same window")


# -- the cohort as sorted window vectors ------------------------------------------------------------------------

@dataclass
class _Cohort:
    """Window vectors sorted by subject, session, trial, start_window, with integer codes for each."""

    V: np.ndarray          # (n, d) float32
    meta: pd.DataFrame     # sorted meta, index 0..n-1
    subjects: np.ndarray   # (n_subjects,) the ids, in order
    starts: np.ndarray     # (n_subjects + 1,) offsets of each subject's windows in V
    key: np.ndarray        # (n,) code of (session, trial, start_window)
    trial: np.ndarray      # (n,) code of (session, trial)
    note: str              # how samples became windows

    def rows(self, i: int) -> slice:
        return slice(self.starts[i], self.starts[i + 1])


def _codes(values) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of ``values`` in sorted order of the values, and the values themselves."""
    try:
        codes, uniq = pd.factorize(pd.Series(values), sort=True)
    except TypeError:                                  # mixed types: sorted as text
        codes, uniq = pd.factorize(pd.Series(values).astype(str), sort=True)
    return codes, np.asarray(uniq)


def _cohort(fs) -> _Cohort:
    X = fs.X.mean(1) if fs.n_steps > 1 else fs.X[:, 0]         # (N, T, C, F) -> (N, C, F)
    note = (f"samples of {fs.n_steps} windows averaged over their windows" if fs.n_steps > 1
            else "window-level features")
    m = fs.meta
    (sub, subjects), (ses, _), (tri, _) = _codes(m.subject), _codes(m.session), _codes(m.trial)
    order = np.lexsort((m.start_window.to_numpy(), tri, ses, sub))
    V = np.ascontiguousarray(X.reshape(len(X), -1)[order], dtype=np.float32)   # (N, C, F) -> (N, C*F)
    if not np.isfinite(V).all():                       # reported by the channel check; distances take them as 0
        V = np.nan_to_num(V, nan=0.0, posinf=0.0, neginf=0.0)
    meta = m.iloc[order].reset_index(drop=True)
    sub = sub[order]
    starts = np.searchsorted(sub, np.arange(len(subjects) + 1))
    key = pd.factorize(pd.Series(list(zip(ses[order], tri[order], meta.start_window.to_numpy()))))[0]
    trial = pd.factorize(pd.Series(list(zip(ses[order], tri[order]))))[0]
    return _Cohort(V, meta, subjects, starts, key, trial, note)


def _spread(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices spread evenly over ``range(n)``."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(np.int64))


def _distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Euclidean distances, shape (len(A), len(B)), by one matrix product."""
    d2 = np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None] - 2 * (A @ B.T)
    return np.sqrt(np.maximum(d2, 0, out=d2), out=d2)


def _nearest(A: np.ndarray, B: np.ndarray, *, self_index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distance to, and index of, the nearest row of ``B`` for each row of ``A`` (blocked over ``A``).

    Parameters
    ----------
    A : np.ndarray, shape (n_a, d)
    B : np.ndarray, shape (n_b, d)
    self_index : np.ndarray of int, shape (n_a,), optional
        The row of ``B`` that *is* each row of ``A`` (left out: nearest *other* window).

    Returns
    -------
    dist, arg : np.ndarray, shapes (n_a,)
    """
    dist, arg = np.empty(len(A), np.float32), np.empty(len(A), np.int64)
    for lo in range(0, len(A), _BLOCK):
        d = _distances(A[lo:lo + _BLOCK], B)                                   # (block, n_b)
        if self_index is not None:
            d[np.arange(len(d)), self_index[lo:lo + len(d)]] = np.inf
        arg[lo:lo + len(d)] = d.argmin(1)
        dist[lo:lo + len(d)] = d[np.arange(len(d)), arg[lo:lo + len(d)]]
    return dist, arg


# -- near-duplicate subjects ------------------------------------------------------------------------------------

def _verify(co: _Cohort, pairs) -> pd.DataFrame:
    """Window-by-window comparison of subject pairs (indices into ``co.subjects``)."""
    rows = []
    for i, j in sorted(pairs):
        A, B = co.V[co.rows(i)], co.V[co.rows(j)]
        ka, kb = co.key[co.rows(i)], co.key[co.rows(j)]
        qa, qb = _spread(len(A), N_QUERIES), _spread(len(B), N_QUERIES)
        if len(qa) == len(A) and len(qb) == len(B):                          # small subjects: one product
            d = _distances(A, B)
            arg_ab, arg_ba = d.argmin(1), d.argmin(0)
            d_ab, d_ba = d[qa, arg_ab], d[arg_ba, qb]
        else:
            (d_ab, arg_ab), (d_ba, arg_ba) = _nearest(A[qa], B), _nearest(B[qb], A)
        dist = np.concatenate([d_ab, d_ba])
        same = np.concatenate([ka[qa] == kb[arg_ab], kb[qb] == ka[arg_ba]])
        rows.append((i, j, float(np.median(dist)), float(same.mean())))
    return pd.DataFrame(rows, columns=["i", "j", "distance", "aligned"])


def _within_nn(co: _Cohort) -> np.ndarray:
    """Per subject, the median distance from a window to its nearest other window of the same person."""
    out = np.full(len(co.subjects), np.nan)
    for i in range(len(co.subjects)):
        A = co.V[co.rows(i)]
        if len(A) > 1:
            q = _spread(len(A), N_QUERIES)
            out[i] = np.median(_nearest(A[q], A, self_index=q)[0])
    return out


def _fingerprint_candidates(co: _Cohort, Z: np.ndarray) -> set:
    """Pairs whose projected windows agree key by key (same session, trial, start_window): copies keep their order."""
    n = len(co.subjects)
    sub = np.repeat(np.arange(n), np.diff(co.starts))
    per_key = pd.Series(sub).groupby(co.key).nunique()
    grid = per_key.index[per_key.to_numpy() >= max(2, n // 2)].to_numpy()
    if len(grid) == 0:
        return set()
    grid = np.random.default_rng(0).choice(grid, min(len(grid), _GRID_KEYS), replace=False)
    pos = pd.Series(np.arange(len(grid)), index=grid)
    hit = np.isin(co.key, grid)
    F = np.zeros((n, len(grid), Z.shape[1]), np.float32)
    M = np.zeros((n, len(grid)), np.float32)
    g = pos[co.key[hit]].to_numpy()
    F[sub[hit], g], M[sub[hit], g] = Z[hit], 1.0
    sq = (F ** 2).sum(2)                                                   # (n, G)
    flat = F.reshape(n, -1)                                                # (n, G, p) -> (n, G*p)
    d2 = (sq * M) @ M.T + M @ (sq * M).T - 2 * flat @ flat.T               # summed over shared keys
    overlap = M @ M.T
    d2 = np.where(overlap >= 3, d2 / np.maximum(overlap, 1), np.inf)
    return _top_pairs(d2)


def _moment_candidates(co: _Cohort, Z: np.ndarray) -> set:
    """Pairs whose projected windows have the same mean and second moments (no window order needed)."""
    iu = np.triu_indices(Z.shape[1])
    w = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
    summary = []
    for i in range(len(co.subjects)):
        z = Z[co.rows(i)]
        S = z.T @ z / max(len(z), 1)                                       # (p, p)
        summary.append(np.concatenate([z.mean(0), S[iu] * w]))
    S = np.asarray(summary)
    sq = (S ** 2).sum(1)
    return _top_pairs(sq[:, None] + sq[None] - 2 * S @ S.T)


def _top_pairs(d2: np.ndarray) -> set:
    d2 = d2.copy()
    np.fill_diagonal(d2, np.inf)
    k = min(N_CANDIDATES, len(d2) - 1)
    top = np.argpartition(d2, k - 1, axis=1)[:, :k]
    return {(min(i, j), max(i, j)) for i in range(len(d2)) for j in top[i] if np.isfinite(d2[i, j])}


def _pairs_to_check(co: _Cohort, seed: int) -> tuple[set, set, str]:
    """(candidate pairs, reference pairs, how they were chosen)."""
    n = len(co.subjects)
    if n <= EXHAUSTIVE_SUBJECTS:
        every = {(i, j) for i in range(n) for j in range(i + 1, n)}
        return every, every, f"all {len(every)} subject pairs compared window by window"
    rng = np.random.default_rng(seed)
    P = rng.standard_normal((co.V.shape[1], max(_PROJ_DIMS, _MOMENT_DIMS))).astype(np.float32)
    Z = co.V @ P / np.sqrt(P.shape[1])                                     # (n, d) -> (n, p)
    cand = _fingerprint_candidates(co, Z[:, :_PROJ_DIMS]) | _moment_candidates(co, Z[:, :_MOMENT_DIMS])
    partner = (np.arange(n)[:, None] + rng.integers(1, n, size=(n, N_REFERENCE))) % n
    ref = {(min(i, j), max(i, j)) for i in range(n) for j in partner[i]}
    return cand, ref, (f"{len(cand)} candidate pairs (from subject summaries: key-aligned fingerprints and second "
                       f"moments) and {len(ref)} random reference pairs compared window by window")


def _twin_search(co: _Cohort, seed: int = 0) -> tuple[list, pd.DataFrame, dict]:
    """Twins, every verified pair with its ratio, and the reference distances."""
    cand, ref, how = _pairs_to_check(co, seed)
    pairs = _verify(co, cand | ref)
    within = _within_nn(co)
    is_ref = np.array([(i, j) in ref for i, j in zip(pairs.i, pairs.j)], dtype=bool)
    between = float(np.median(pairs.distance[is_ref])) if len(co.subjects) >= 3 and is_ref.any() else np.nan
    ratio = pairs.distance / max(between, 1e-12) if np.isfinite(between) else pd.Series(np.nan, pairs.index)
    aligned = pairs.aligned >= MIN_ALIGNED
    if np.isfinite(between):
        twin = (ratio <= TWIN_RATIO) | ((ratio <= ALIGNED_RATIO) & aligned)
    else:                              # under 3 subjects no other pair to compare with: only the kept order shows
        twin = pairs.aligned >= ALIGNED_RATIO
    out = pd.DataFrame({"subject_a": co.subjects[pairs.i], "subject_b": co.subjects[pairs.j],
                        "distance": pairs.distance, "ratio": ratio, "aligned": pairs.aligned, "twin": twin})
    twins = [Twin((_plain(co.subjects[i]), _plain(co.subjects[j])), d, float(np.nanmean(within[[i, j]])),
                  between, a) for i, j, d, a in pairs[twin.to_numpy()].itertuples(index=False)]
    info = {"how": how, "between": between, "within": float(np.nanmedian(within)) if len(within) else np.nan}
    return twins, out.sort_values("ratio" if np.isfinite(between) else "aligned",
                                  ascending=np.isfinite(between)).reset_index(drop=True), info


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def find_twins(fs, *, seed: int = 0) -> list[Twin]:
    """Subject pairs whose windows are near copies of each other (not quadratic in windows).

    Cohorts of up to :data:`EXHAUSTIVE_SUBJECTS` subjects are compared pair by pair. Larger ones first pick
    :data:`N_CANDIDATES` partners per subject by each of two cheap subject summaries of randomly projected windows
    (a fingerprint of the windows key by key, for copies that keep their session/trial/window order, and their
    mean and second moments, for copies that do not), then verify only those pairs window by window, beside
    :data:`N_REFERENCE` random partners per subject that give the between-person reference distance.

    Parameters
    ----------
    fs : FeatureSet
        ``X`` of shape (n_samples, n_steps, n_chans, n_bands); samples of several windows are averaged over them.
    seed : int
        Seeds the random projection and the reference partners.

    Returns
    -------
    list of Twin
        A pair is reported when its nearest-window distance is at most :data:`TWIN_RATIO` times the cohort's
        between-person distance, or at most :data:`ALIGNED_RATIO` times with at least :data:`MIN_ALIGNED` of the
        nearest windows being the same window. With fewer than 3 subjects there is no between-person reference:
        a pair is reported when at least :data:`ALIGNED_RATIO` of its nearest windows are the same window.
    """
    return _twin_search(_cohort(fs), seed)[0]


# -- the checks: each returns rows of the report's table --------------------------------------------------------
