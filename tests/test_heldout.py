"""heldout.py: the held-out record (saved as training_data.json in its old format) and the leakage policy."""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from e2llm_lab.data.splits import DEFAULT_STRIDE, HeldOut, LeakageError, held_out_rows, training_windows

REFERENCE = Path(__file__).resolve().parents[1] / "data_samples" / "reference" / "model" / "training_data.json"


def _split(fs, test=(5, 6)):
    is_test = fs.meta.subject.isin(test).to_numpy()
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def test_record_of_a_split_is_sorted_json_ready_and_frozen(fs):
    tr, te = _split(fs)
    rec = HeldOut.from_split(fs, tr, te, stride=4)
    assert rec.test_subjects == (5, 6) and 5 not in rec.train_subjects and rec.train_subjects == tuple(
        sorted(set(fs.meta.subject) - {5, 6}))
    assert all(type(s) is int for s in rec.train_subjects + rec.test_subjects)       # numpy ints made plain
    assert (rec.n_steps, rec.stride, rec.feature) == (fs.n_steps, 4, fs.feature)
    d = rec.to_dict()
    assert list(d) == ["train_subjects", "test_subjects", "n_steps", "stride", "feature"]
    assert d["test_subjects"] == [5, 6] and HeldOut.from_dict(json.loads(json.dumps(d))) == rec
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.stride = 1


def test_subjects_sort_numbers_first_then_names(fs):
    names = fs.meta.subject.map(lambda s: {1: "s10", 2: "s2"}.get(s, s)).to_numpy()

    class _FS:
        meta = fs.meta.assign(subject=names)
        n_steps, feature = fs.n_steps, fs.feature

    rec = HeldOut.from_split(_FS, np.arange(len(fs)), [0], stride=2)
    assert rec.train_subjects[-2:] == ("s10", "s2") and rec.train_subjects[:2] == (3, 4)


def test_the_shipped_reference_record_loads_and_saves_unchanged():
    raw = json.loads(REFERENCE.read_text())
    rec = HeldOut.from_dict(raw)
    assert rec.test_subjects == (7, 8, 9, 10) and rec.stride == 2
    assert json.dumps(rec.to_dict(), indent=1) == REFERENCE.read_text()
    with pytest.raises(KeyError, match="lacks \\['stride'\\]"):
        HeldOut.from_dict({k: v for k, v in raw.items() if k != "stride"})


def test_held_out_rows_refuse_training_subjects_and_name_the_missing(fs):
    tr, te = _split(fs)
    rec = HeldOut.from_split(fs, tr, te, stride=4)
    got_tr, got_te = held_out_rows(rec, fs)
    np.testing.assert_array_equal(got_tr, tr)
    np.testing.assert_array_equal(got_te, te)
    np.testing.assert_array_equal(held_out_rows(rec, fs, ["6"])[1], np.flatnonzero(fs.meta.subject == 6))
    with pytest.raises(LeakageError, match=r"subjects \[1\] were seen in training.*never saw: \(5, 6\)"):
        held_out_rows(rec, fs, (1, 5))
    with pytest.raises(ValueError, match="does not record"):
        held_out_rows(None, fs)
    with pytest.raises(ValueError, match=r"held-out subjects \[99\] are not in the features"):
        held_out_rows(rec, fs, (99,))
    np.testing.assert_array_equal(held_out_rows(None, fs, (1,))[1], np.flatnonzero(fs.meta.subject == 1))


def test_window_level_features_are_windowed_with_the_recorded_stride():
    from e2llm_lab.data.samples import load_sample

    windows = load_sample()
    assert windows.n_steps == 1
    rec = HeldOut((1,), (2,), 3, 5, windows.feature)
    np.testing.assert_array_equal(training_windows(windows, 3, rec).X, windows.with_steps(3, stride=5).X)
    np.testing.assert_array_equal(training_windows(windows, 3).X, windows.with_steps(3, stride=DEFAULT_STRIDE).X)
    assert training_windows(windows, 1, rec) is windows
    samples = windows.with_steps(2, stride=4)
    assert training_windows(samples, 3, rec) is samples
