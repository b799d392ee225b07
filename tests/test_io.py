import mne
import numpy as np
import pytest

from e2llm_lab.channels import SEED_CH_NAMES
from e2llm_lab.data.io import MissingChannelsError, read_raw
from e2llm_lab.preprocess import EEGDataError

# How clinical EDF exports spell the cap: mixed case, prefixes, reference suffixes.
_MESSY = {"FP1": "EEG Fp1-REF", "FPZ": "Fpz", "CZ": "EEG Cz-LE", "T7": "T3", "OZ": "Oz"}


def _write(tmp_path, fmt, names=None, extra=True, seconds=10.0):
    names = list(names or SEED_CH_NAMES)
    rng = np.random.default_rng(0)
    data = rng.normal(0, 20e-6, (len(names), int(seconds * 200)))
    ch_names = [_MESSY.get(n, n) for n in names]
    types = ["eeg"] * len(names)
    if extra:
        ch_names += ["HEOG", "ECG"]
        types += ["eog", "ecg"]
        data = np.vstack([data, rng.normal(0, 50e-6, (2, data.shape[1]))])
    raw = mne.io.RawArray(data, mne.create_info(ch_names, 200.0, types), verbose="error")
    path = tmp_path / ("rec_raw.fif" if fmt == "fif" else "rec.edf")
    if fmt == "fif":
        raw.save(path, verbose="error")
    else:
        mne.export.export_raw(path, raw, fmt="edf", verbose="error")
    return path, dict(zip(ch_names, data))


@pytest.mark.parametrize("fmt", ["fif", "edf"])
def test_read_raw_normalises_names_drops_non_eeg_sets_montage(tmp_path, fmt):
    path, data = _write(tmp_path, fmt)
    with pytest.warns(UserWarning, match="dropping non-EEG channels.*HEOG"):
        raw = read_raw(path)
    assert raw.ch_names == list(SEED_CH_NAMES)
    assert raw.get_montage() is not None
    pos = raw.get_montage().get_positions()["ch_pos"]
    assert np.isfinite(pos["CB1"]).all()
    tol = 1e-9 if fmt == "fif" else 1e-7        # EDF stores 16-bit integers
    np.testing.assert_allclose(raw.get_data(picks="T7")[0], data["T3"], atol=tol)
    np.testing.assert_allclose(raw.get_data(picks="FP1")[0], data["EEG Fp1-REF"], atol=tol)


def test_missing_channels_raise_listing_them(tmp_path):
    names = [c for c in SEED_CH_NAMES if c not in ("CB1", "CB2", "PO5")]
    path, _ = _write(tmp_path, "fif", names, extra=False)
    with pytest.raises(MissingChannelsError, match=r"3 SEED cap channel\(s\) missing.*\['PO5', 'CB1', 'CB2'\]"):
        read_raw(path)


def test_missing_channels_interpolated_or_kept_on_request(tmp_path):
    names = [c for c in SEED_CH_NAMES if c not in ("CB1", "PO5")]
    path, _ = _write(tmp_path, "fif", names, extra=False)
    raw = read_raw(path, missing="interpolate")
    assert raw.ch_names == list(SEED_CH_NAMES) and raw.info["bads"] == []
    assert raw.get_data(picks="CB1").std() > 1e-7        # filled from neighbours, not left flat
    present = read_raw(path, missing="present")
    assert present.ch_names == names
    with pytest.raises(ValueError, match="allowed"):
        read_raw(path, missing="guess")


def test_unknown_file_type_raises(tmp_path):
    p = tmp_path / "rec.xyz"
    p.write_text("not eeg")
    with pytest.raises(EEGDataError, match=r"rec\.xyz.*unknown EEG file type.*\.edf"):
        read_raw(p)
