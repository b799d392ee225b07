"""Benchmark: the data audit on 1,000 subjects x 100 windows (62 channels x 5 bands), against its 10-s target.

The cohort is made here: per subject an offset, per trial its label's effect and its own change, per window noise
(10 trials x 10 windows, the 4 valence x arousal quadrants in turn), z-scored per subject as the pipeline's features
are. ``--twins`` pairs are planted: a copy of one subject plus noise of half the median distance
between two windows of one person. The audit must find every planted pair, report no other, and take <= 10 s with
one thread (``OMP_NUM_THREADS=1``): the twin search picks candidates from subject summaries and verifies them window
by window, so it never compares all 100,000 windows with each other.

    OMP_NUM_THREADS=1 python bench/audit.py                  # 1000 subjects x 100 windows, 10 planted pairs
    OMP_NUM_THREADS=1 python bench/audit.py --subjects 200 --repeat 3
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from e2llm_lab.config import DEFAULT_BANDS
from e2llm_lab.data.arrays import featureset_from_arrays
from e2llm_lab.data.audit import audit
from e2llm_lab.labels import VA_QUADRANTS

TARGET_S = 10.0
N_TRIALS, N_WINDOWS, N_CHANS = 10, 10, 62


def cohort(n_subjects: int, n_twins: int, seed: int = 0):
    """A z-scored window-level FeatureSet and the planted twin pairs."""
    rng = np.random.default_rng(seed)
    shape = (N_CHANS, len(DEFAULT_BANDS))
    labels = np.arange(N_TRIALS) % len(VA_QUADRANTS)                           # (n_trials,)
    effect = rng.normal(0, 0.3, (len(VA_QUADRANTS), *shape))
    X = (rng.normal(0, 1, (n_subjects, 1, 1, *shape))                          # subject offset
         + effect[labels][None, :, None] + rng.normal(0, 0.7, (n_subjects, N_TRIALS, 1, *shape))
         + rng.normal(0, 1, (n_subjects, N_TRIALS, N_WINDOWS, *shape))).astype(np.float32)
    one = X[0].reshape(N_TRIALS * N_WINDOWS, -1)
    typical = np.median(np.linalg.norm(one[:, None] - one[None], axis=-1)[np.triu_indices(len(one), 1)])
    pairs = []
    for k in range(n_twins):
        a, b = 2 * k, n_subjects - 1 - k
        noise = rng.normal(0, 1, X[a].shape).astype(np.float32)
        noise *= 0.5 * typical / np.linalg.norm(noise.reshape(N_TRIALS, N_WINDOWS, -1), axis=-1)[..., None, None]
        X[b] = X[a] + noise
        pairs.append((a + 1, b + 1))
    subject = np.repeat(np.arange(1, n_subjects + 1), N_TRIALS * N_WINDOWS)
    trial = np.tile(np.repeat(np.arange(1, N_TRIALS + 1), N_WINDOWS), n_subjects)
    window = np.tile(np.arange(N_WINDOWS), n_subjects * N_TRIALS)
    fs = featureset_from_arrays(X.reshape(-1, *shape), subject=subject, labels=np.tile(np.repeat(labels, N_WINDOWS),
                                n_subjects), label_space=VA_QUADRANTS, ch_names=[f"E{i}" for i in range(N_CHANS)],
                                bands=DEFAULT_BANDS, trial=trial, window=window, log=False)
    return fs, pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--twins", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    fs, planted = cohort(args.subjects, args.twins)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        report = audit(fs)
        times.append(time.perf_counter() - t0)
    found = {tuple(sorted(t.subjects)) for t in report.twins}
    missed, extra = set(planted) - found, found - set(planted)
    print(f"audit of {args.subjects} subjects x {N_TRIALS * N_WINDOWS} windows ({N_CHANS} x {len(DEFAULT_BANDS)} "
          f"features): {np.median(times):.2f} s (median of {args.repeat}; target <= {TARGET_S:.0f} s) "
          f"{'PASS' if np.median(times) <= TARGET_S else 'FAIL'}")
    print(f"planted twin pairs {len(planted)}: found {len(planted) - len(missed)}, missed {sorted(missed)}, "
          f"other pairs reported {sorted(extra)} {'PASS' if not missed and not extra else 'FAIL'}")
    ratios = report.pairs[report.pairs.twin].ratio
    others = report.pairs[~report.pairs.twin].ratio
    print(f"ratio to the between-person distance: twins {ratios.min():.2f}..{ratios.max():.2f}, other verified "
          f"pairs from {others.min():.2f} ({len(report.pairs)} pairs verified window by window)")
    print(report.verdict())


if __name__ == "__main__":
    main()
