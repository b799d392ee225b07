"""The data audit: planted twins found and nothing else, planted confounds and defects reported, quiet on clean data;
the split refuses twins on both sides; per-trial features (one vector per trial) go through the split."""
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from e2llm_lab.config import DEFAULT_BANDS, DataConfig
from e2llm_lab.data.arrays import featureset_from_arrays
from e2llm_lab.data.audit import audit
from e2llm_lab.data.deap import DEAP_EEG_CHANNELS
from e2llm_lab.data.samples import load_sample
from e2llm_lab.data.splits import HeldOut, LeakageError, split, training_windows
from e2llm_lab.data.twins import EXHAUSTIVE_SUBJECTS, N_CANDIDATES, N_REFERENCE, find_twins
from e2llm_lab.labels import VA_QUADRANTS

N_CHANS, N_TRIALS, N_WINDOWS = 8, 8, 6
CH_NAMES = tuple(f"E{i}" for i in range(N_CHANS))
PLANTED = {(1, 20), (3, 19), (5, 18)}


def cohort(n_subjects=20, twins=PLANTED, *, noise=0.5, shuffle_twins=False, seed=0, normalize="subject", **layout):
    """Window-level fake cohort: per subject an offset, per trial its label's effect and its own change, per window
    noise; 2 trials per label, start_window restarting in each trial. Each twin pair (a, b): b is a copy of a plus
    noise of ``noise`` times the median distance between two windows of one person (a's windows reshuffled first
    with ``shuffle_twins``). ``layout`` overrides the arrays (power, subject, labels, trial, window)."""
    rng = np.random.default_rng(seed)
    shape = (n_subjects, N_TRIALS, N_WINDOWS, N_CHANS, len(DEFAULT_BANDS))
    labels = np.arange(N_TRIALS) % len(VA_QUADRANTS)
    effect = rng.normal(0, 0.5, (len(VA_QUADRANTS), *shape[3:]))
    X = (rng.normal(0, 1, (n_subjects, 1, 1, *shape[3:])) + effect[labels][None, :, None]
         + rng.normal(0, 0.7, (n_subjects, N_TRIALS, 1, *shape[3:])) + rng.normal(0, 1, shape))
    X = X.reshape(n_subjects, N_TRIALS * N_WINDOWS, -1)                    # (S, T, W, C, F) -> (S, T*W, C*F)
    typical = np.median(np.linalg.norm(X[0][:, None] - X[0][None], axis=-1)[np.triu_indices(X.shape[1], 1)])
    for a, b in twins:
        n = rng.normal(0, 1, X[a - 1].shape)
        src = X[a - 1][rng.permutation(X.shape[1])] if shuffle_twins else X[a - 1]
        X[b - 1] = src + noise * typical * n / np.linalg.norm(n, axis=1, keepdims=True)
    arrays = dict(power=X.reshape(-1, N_CHANS, len(DEFAULT_BANDS)),
                  subject=np.repeat(np.arange(1, n_subjects + 1), N_TRIALS * N_WINDOWS),
                  labels=np.tile(np.repeat(labels, N_WINDOWS), n_subjects),
                  trial=np.tile(np.repeat(np.arange(1, N_TRIALS + 1), N_WINDOWS), n_subjects),
                  window=np.tile(np.arange(N_WINDOWS), n_subjects * N_TRIALS))
    arrays.update(layout)
    power = arrays.pop("power")
    return featureset_from_arrays(power, **arrays, label_space=VA_QUADRANTS, ch_names=CH_NAMES, bands=DEFAULT_BANDS,
                                  log=False, normalize=normalize)


def pairs_of(twins) -> set:
    return {tuple(sorted(t.subjects)) for t in twins}


def rows(report, check: str) -> pd.DataFrame:
    return report.table[report.table.check == check]


def severity(report, check: str) -> set:
    return set(rows(report, check).severity)


# -- twins ------------------------------------------------------------------------------------------------------

def test_every_planted_twin_pair_is_found_and_no_other():
    fs = cohort()
    report = audit(fs)
    assert pairs_of(report.twins) == PLANTED
    for t in report.twins:
        assert t.aligned > 0.95                        # the copy's nearest window is the same window
        assert 0.3 < t.ratio < 0.8                     # half a person's typical distance: well under two people's
        assert t.distance < t.within                   # nearer than two windows of one person
    others = report.pairs[~report.pairs.twin]
    assert len(report.pairs) == 190 and others.ratio.min() > 0.9 and others.aligned.max() < 0.2
    (row,) = rows(report, "near-duplicate subjects").itertuples()
    assert row.severity == "problem" and all(f"{a} and {b}" in row.finding for a, b in PLANTED)


def test_a_large_cohort_is_searched_through_candidates_not_every_pair():
    n = 3 * EXHAUSTIVE_SUBJECTS
    planted = {(2, n), (10, 40), (33, 34)}
    fs = cohort(n, planted)
    report = audit(fs)
    assert pairs_of(report.twins) == planted
    assert len(report.pairs) <= n * (2 * N_CANDIDATES + N_REFERENCE) < n * (n - 1) // 2
    # copies whose windows were reshuffled: the key-aligned fingerprint cannot see them, the second moments can
    shuffled = cohort(n, planted, noise=0.25, shuffle_twins=True)
    found = find_twins(shuffled)
    assert pairs_of(found) == planted and max(t.aligned for t in found) < 0.3


def test_no_twins_in_a_clean_cohort_and_two_subjects_need_the_window_order():
    assert find_twins(cohort(twins=())) == []
    two = cohort(2, twins=())
    assert find_twins(two) == []
    (twin,) = find_twins(cohort(2, twins={(1, 2)}))                   # no third person: the kept order decides
    assert twin.subjects == (1, 2) and twin.aligned > 0.95 and np.isnan(twin.between)


# -- confounds and defects -----------------------------------------------------------------------------------------

def test_a_clean_cohort_gives_no_problem_and_no_warning():
    report = audit(cohort(twins=()))
    assert set(report.table.severity) == {"ok"}, report.table[report.table.severity != "ok"]
    assert report.verdict().startswith("No problem found")
    assert "z-scored per subject" in rows(report, "feature scale across subjects").finding.iloc[0]


def test_one_trial_per_label_and_labels_in_recording_order_are_problems():
    # a design like GAMEEMO's: one recording per label, its windows numbered from the start of the session
    n_win = N_TRIALS * N_WINDOWS
    labels = np.tile(np.repeat(np.arange(len(VA_QUADRANTS)), n_win // len(VA_QUADRANTS)), 20)
    report = audit(cohort(twins=(), labels=labels, trial=labels + 1, window=np.tile(np.arange(n_win), 20)))
    assert severity(report, "label = trial identity") == {"problem"}
    assert "80 of 80 (subject, label) cells hold one trial" in rows(report, "label = trial identity").evidence.iloc[0]
    assert severity(report, "label vs start_window") == {"problem"}
    assert severity(report, "label vs recording order") == {"problem"}
    eta = float(rows(report, "label vs recording order").evidence.iloc[0].rsplit(" ", 1)[1])
    assert eta == pytest.approx(1 - (12 ** 2 - 1) / (48 ** 2 - 1), abs=0.01)       # 4 blocks of 12 windows
    assert report.verdict().startswith("3 problem(s)")


def test_labels_that_follow_sessions_and_a_repeated_trial_are_problems():
    fs = cohort(twins=())
    meta = fs.meta.assign(session=np.where(fs.meta.emotion.isin(["excited", "calm"]), 1, 2))
    X = fs.X.copy()
    one = fs.meta.subject.to_numpy() == 4
    t1, t2 = np.flatnonzero(one & (fs.meta.trial == 1)), np.flatnonzero(one & (fs.meta.trial == 5))
    X[t2] = X[t1] + 0.01                                  # trial 5 of subject 4: trial 1 stored again
    report = audit(replace(fs, X=X, meta=meta))
    assert severity(report, "label vs session") == {"problem"}
    (dup,) = rows(report, "near-duplicate trials").itertuples()
    assert dup.severity == "problem" and "1 pair(s)" in dup.finding and "subject 4: trial 1" in dup.finding


def test_balance_size_dead_channels_and_scales_are_reported_by_name():
    fs = cohort(twins=(), normalize=None)
    m = fs.meta
    drop = ((m.subject == 7) & (m.emotion == "sad")) | ((m.subject == 8) & (m.trial > 1))
    fs = fs.subset(~drop.to_numpy())
    X = fs.X.copy()
    s = fs.meta.subject.to_numpy()
    X[s == 9, :, 2] = 0.0                                  # E2 dead in subject 9
    X[:, :, 5] = 3.0                                       # E5 flat everywhere
    X[s == 11] *= 6                                        # subject 11 six times louder
    report = audit(replace(fs, X=X))
    balance = rows(report, "class balance")
    assert set(balance.severity) == {"warning"} and "7 lacks ['sad']" in " ".join(balance.finding)
    size = rows(report, "subject size")
    assert size.severity.iloc[0] == "warning" and size.finding.iloc[0].endswith(": 8")
    dead = rows(report, "dead channels").iloc[0]
    assert dead.severity == "problem" and "E2 in 1 subject(s)" in dead.finding and "E5 in 20 subject(s)" in dead.finding
    scale = " ".join(rows(report, "feature scale across subjects").finding)
    assert "11 (x6.0)" in scale and "not z-scored per subject" in scale


def test_non_finite_values_and_windowed_samples():
    fs = cohort(twins=PLANTED)
    X = fs.X.copy()
    X[3, 0, 1, 2] = np.nan
    report = audit(replace(fs, X=X))
    assert rows(report, "non-finite values").severity.tolist() == ["problem"]
    assert "1 values are NaN" in rows(report, "non-finite values").finding.iloc[0]
    windowed = audit(fs.with_steps(3, stride=3))          # samples of 3 windows: averaged, twins still found
    assert pairs_of(windowed.twins) == PLANTED
    assert "averaged" in rows(windowed, "near-duplicate subjects").evidence.iloc[0]


# -- the split's twin guard -----------------------------------------------------------------------------------

def test_split_refuses_a_test_subject_whose_twin_is_in_training():
    fs = cohort()
    with pytest.raises(LeakageError) as err:
        split(fs, (20, 7))
    msg = str(err.value)
    assert "test subject 20 is a near copy of training subject 1" in msg
    assert "test_subjects=(1, 7, 20)" in msg and "isin([1])" in msg and "skip_twin_check" in msg
    assert msg.count("near copy") == 1                    # one pair split, one sentence


def test_split_passes_twins_held_out_together_and_takes_known_twins_or_a_reason():
    fs = cohort()
    sp = split(fs, (1, 20, 3, 19))
    assert set(sp.samples.meta.subject.iloc[sp.test_idx]) == {1, 3, 19, 20}
    clean = cohort(twins=())
    with pytest.raises(LeakageError, match="test subject 4 is a near copy of training subject 6"):
        split(clean, (4,), twins=[(4, 6)])                # known twins: not searched again
    said = []
    split(fs, (20,), skip_twin_check="twin 1 is dropped before training", say=said.append)
    assert said == ["split: twin check skipped (twin 1 is dropped before training)"]
    with pytest.raises(ValueError, match="needs a reason"):
        split(fs, (20,), skip_twin_check=" ")


def test_the_twin_check_costs_little_on_quickstart_sizes():
    windows = load_sample()                               # the quickstart's 6 subjects x 210 windows x 310 features
    t0 = time.perf_counter()
    assert find_twins(windows) == []
    assert time.perf_counter() - t0 < 1.0


# -- per-trial features ---------------------------------------------------------------------------------------

def deap_like(n_subjects=6, n_trials=40, seed=0):
    """DEAP's feature layout: 32 channels x 5 bands, one vector per trial, 4 valence x arousal quadrants."""
    rng = np.random.default_rng(seed)
    n = n_subjects * n_trials
    return featureset_from_arrays(rng.lognormal(0, 1, (n, len(DEAP_EEG_CHANNELS), len(DEFAULT_BANDS))),
                                  subject=np.repeat(np.arange(1, n_subjects + 1), n_trials),
                                  labels=rng.integers(0, len(VA_QUADRANTS), n), label_space=VA_QUADRANTS,
                                  trial=np.tile(np.arange(1, n_trials + 1), n_subjects), window=np.zeros(n, int),
                                  ch_names=DEAP_EEG_CHANNELS, bands=DEFAULT_BANDS)


def test_per_trial_features_make_one_window_samples_with_one_line():
    fs = deap_like()
    said = []
    sp = split(fs, (5, 6), DataConfig(), say=said.append)
    assert said == ["split: the longest trial holds 1 window(s), fewer than n_steps=4; samples of 1 window(s) "
                    "instead (every trial kept)"]
    assert sp.samples.X.shape == (240, 1, 32, 5) and len(sp.test_idx) == 80 and len(sp.train_idx) == 160
    record = HeldOut.from_split(sp.samples, sp.train_idx, sp.test_idx, stride=sp.stride)
    assert record.n_steps == 1 and record.test_subjects == (5, 6)
    assert training_windows(fs, record.n_steps, record) is fs          # evaluation windows as training did


def test_per_trial_samples_size_the_encoder():
    torch = pytest.importorskip("torch")
    from e2llm_lab.config import EncoderConfig
    from e2llm_lab.models.encoder import EEGEncoder

    sp = split(deap_like(), (5, 6), say=lambda _: None)
    enc = EEGEncoder.from_features(sp.samples, EncoderConfig(d_model=16, n_heads=2))
    assert enc.cfg.n_steps == 1
    with torch.no_grad():
        assert enc.predict_logits(sp.samples.X[sp.test_idx[:3]]).shape == (3, 4)


def test_trials_of_unequal_length_drop_the_short_ones_and_count_them():
    fs = deap_like(n_trials=10)
    # a second window for trials 1-4 of every subject: the longest trial holds 2 windows, trials 5-10 only 1
    extra = fs.subset((fs.meta.trial <= 4).to_numpy())
    meta = pd.concat([fs.meta, extra.meta.assign(start_window=1)], ignore_index=True)
    both = replace(fs, X=np.concatenate([fs.X, extra.X + 0.1]), meta=meta)
    said = []
    sp = split(both, (6,), say=said.append)
    assert said == ["split: the longest trial holds 2 window(s), fewer than n_steps=4; samples of 2 window(s) "
                    "instead (36 of 60 trials are shorter and give no sample)"]
    assert sp.samples.X.shape == (24, 2, 32, 5)


def test_the_audit_command_names_the_twins_and_exits_1_on_a_problem(tmp_path, capsys):
    from e2llm_lab.apps.cli import main

    twinned = cohort().save(tmp_path / "twins.npz")
    assert main(["audit", str(twinned), "--out", str(tmp_path / "audit.html")]) == 1
    said = capsys.readouterr().out
    assert "problem" in said and all(f"{a}" in said and f"{b}" in said for a, b in PLANTED)
    page = (tmp_path / "audit.html").read_text()
    assert "near-duplicate" in page.lower() or "twin" in page.lower()
    clean = cohort(twins=(), seed=1).save(tmp_path / "clean.npz")
    assert main(["audit", str(clean)]) == 0
    first = capsys.readouterr().out.split("\n")[0]
    assert first.startswith("No problem found") or first.startswith("0 problem(s)")
    assert main(["audit", str(tmp_path / "missing.npz")]) == 2
