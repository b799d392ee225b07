import numpy as np
import pandas as pd
import pytest

from e2llm_lab.config import DEFAULT_BANDS
from e2llm_lab.data.featureset import FeatureSet
from e2llm_lab.data.splits import (
    LeakageError,
    check_no_leakage,
    kfold_by_subject,
    leave_one_subject_out,
    subject_holdout,
    trial_split,
)
from e2llm_lab.emotions import EMOTIONS


def make_fs(n_subjects=3, trials_per_emotion=2, n_windows=6, n_chans=4, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(1, n_subjects + 1):
        t = 0
        for k in range(trials_per_emotion):
            for e in EMOTIONS:
                t += 1
                rows += [dict(subject=s, session=k + 1, trial=t, start_window=w, emotion=e, valence=0.0, arousal=0.5)
                         for w in range(n_windows)]
    meta = pd.DataFrame(rows)
    X = rng.normal(size=(len(meta), 1, n_chans, 5)).astype(np.float32)
    return FeatureSet(X, meta, ("FP1", "FPZ", "FP2", "AF3")[:n_chans], DEFAULT_BANDS)


def test_validation_errors():
    fs = make_fs()
    with pytest.raises(ValueError, match="n_samples, n_steps"):
        FeatureSet(fs.X[:, 0], fs.meta, fs.ch_names, fs.bands)
    with pytest.raises(ValueError, match="rows"):
        FeatureSet(fs.X, fs.meta.iloc[:-1], fs.ch_names, fs.bands)
    with pytest.raises(ValueError, match="lacks columns"):
        FeatureSet(fs.X, fs.meta.drop(columns="trial"), fs.ch_names, fs.bands)
    bad = fs.meta.copy()
    bad.loc[0, "emotion"] = "boredom"
    with pytest.raises(ValueError, match="boredom"):
        FeatureSet(fs.X, bad, fs.ch_names, fs.bands)


def test_save_load_round_trip(tmp_path):
    fs = make_fs()
    p = fs.save(tmp_path / "f.npz")
    back = FeatureSet.load(p)
    np.testing.assert_array_equal(back.X, fs.X)
    pd.testing.assert_frame_equal(back.meta, fs.meta, check_dtype=False)
    assert back.ch_names == fs.ch_names and back.bands == fs.bands
    assert list(tmp_path.iterdir()) == [p]            # no temp file left behind


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    fs = make_fs()
    p = fs.save(tmp_path / "f.npz")
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        make_fs(seed=1).save(p)
    assert p.read_bytes() == before                   # the old file is untouched
    assert list(tmp_path.iterdir()) == [p]


def test_load_refuses_pickled_arrays(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, X=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a valid FeatureSet"):
        FeatureSet.load(p)


def test_with_steps_joins_consecutive_windows_of_one_trial_only():
    fs = make_fs(n_windows=6)
    seq = fs.with_steps(4, stride=1)
    n_trials = fs.meta[["subject", "session", "trial"]].drop_duplicates().shape[0]
    assert seq.X.shape == (n_trials * 3, 4, 4, 5)
    for k in (0, 5, len(seq) - 1):
        row = seq.meta.iloc[k]
        sel = ((fs.meta.subject == row.subject) & (fs.meta.trial == row.trial)).to_numpy()
        windows = fs.X[sel][np.argsort(fs.meta.start_window[sel].to_numpy())][:, 0]
        np.testing.assert_array_equal(seq.X[k], windows[row.start_window: row.start_window + 4])
    assert fs.with_steps(4, stride=2).X.shape[0] == n_trials * 2
    with pytest.raises(ValueError, match="no trial has 7"):
        fs.with_steps(7)


def test_torch_dataset():
    fs = make_fs().with_steps(2)
    ds = fs.torch_dataset()
    x, y = ds[3]
    assert tuple(x.shape) == (2, 4, 5) and x.dtype.is_floating_point
    assert int(y) == EMOTIONS.index(fs.meta.emotion[3])


def test_loso_never_shares_a_subject():
    fs = make_fs()
    folds = leave_one_subject_out(fs.meta)
    assert len(folds) == 3
    for tr, te in folds:
        assert set(fs.meta.subject[tr]).isdisjoint(fs.meta.subject[te])
        assert len(tr) + len(te) == len(fs)


def test_kfold_by_subject():
    fs = make_fs(n_subjects=5)
    folds = kfold_by_subject(fs.meta, 2, seed=1)
    tested = np.concatenate([te for _, te in folds])
    assert sorted(tested) == list(range(len(fs)))
    with pytest.raises(ValueError, match="n_splits"):
        kfold_by_subject(fs.meta, 6)


def test_trial_split_is_trial_disjoint_and_covers_subjects():
    fs = make_fs(trials_per_emotion=3).with_steps(3)
    tr, te = trial_split(fs.meta, test_trials_per_emotion=1, seed=0)
    key = lambda idx: set(map(tuple, fs.meta.iloc[idx][["subject", "session", "trial"]].to_numpy().tolist()))  # noqa: E731
    assert key(tr).isdisjoint(key(te))
    assert set(fs.meta.subject[te]) == set(fs.meta.subject[tr]) == {1, 2, 3}
    assert (fs.meta.iloc[te].groupby(["subject", "emotion"]).trial.nunique() == 1).all()
    with pytest.raises(ValueError, match="needs more"):
        trial_split(make_fs(trials_per_emotion=1).meta)


def test_leakage_guard_fires_on_window_level_random_split():
    """The classic mistake: shuffling windows puts one trial on both sides."""
    fs = make_fs()
    idx = np.random.default_rng(0).permutation(len(fs))
    tr, te = idx[: len(idx) // 2], idx[len(idx) // 2:]
    with pytest.raises(LeakageError, match="trial"):
        check_no_leakage(fs.meta, tr, te, level="trial")
    tr, te = trial_split(make_fs(trials_per_emotion=2).meta)
    with pytest.raises(LeakageError, match="subject"):
        check_no_leakage(fs.meta, tr, te, level="subject")


def test_subject_holdout_uses_training_subjects_only():
    fs = make_fs(n_subjects=4)
    tr, te = leave_one_subject_out(fs.meta)[0]
    a, v = subject_holdout(fs.meta, tr, n_val_subjects=1, seed=0)
    assert set(fs.meta.subject[v]).isdisjoint(fs.meta.subject[te])
    assert set(fs.meta.subject[a]).isdisjoint(fs.meta.subject[v])
    assert len(a) + len(v) == len(tr)
