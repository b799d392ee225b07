import struct
import warnings

import mne
import numpy as np
import pytest

from e2llm_lab.channels import SEED_CH_NAMES, channel_positions_2d
from e2llm_lab.data.errors import EEGDataError, EEGFileError, MissingChannelsError, NoCapChannelsError
from e2llm_lab.data.io import match_by_position, read_raw

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
    with pytest.warns(UserWarning, match=r"dropping 2 channel\(s\).*not on the SEED cap.*\['HEOG', 'ECG'\]"):
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
    with pytest.raises(EEGFileError, match=r"rec\.xyz.*unknown EEG file type.*\.edf"):
        read_raw(p)


# -- files as vendors write them -------------------------------------------------------------------------------
# A clinical 10-20 EDF export: 19 scalp channels with vendor prefixes and reference suffixes, reference electrodes
# A1/A2, and vendor extras whose names normalise to nothing useful.
CLINICAL_1020 = {"FP1": "EEG Fp1-Ref", "FP2": "EEG Fp2-Ref", "F7": "EEG F7-Ref", "F3": "EEG F3-Ref", "FZ": "EEG Fz-Ref",
                 "F4": "EEG F4-Ref", "F8": "EEG F8-Ref", "T7": "EEG T3-Ref", "C3": "EEG C3-Ref", "CZ": "EEG Cz-Ref",
                 "C4": "EEG C4-Ref", "T8": "EEG T4-Ref", "P7": "EEG T5-Ref", "P3": "EEG P3-Ref", "PZ": "EEG Pz-Ref",
                 "P4": "EEG P4-Ref", "P8": "EEG T6-Ref", "O1": "EEG O1-Ref", "O2": "EEG O2-Ref"}
CLINICAL_EXTRAS = ["POL E", "POL $A1", "POL $A2", "A1", "A2", "EEG EKG1-Ref", "POL DC03"]


def _eeg(n_chans, seconds=10.0, seed=0, sfreq=200.0):
    """Smooth EEG-like signals in volts (low-passed noise, ~20 uV)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n_chans, int(seconds * sfreq)))
    k = np.exp(-0.5 * (np.arange(-10, 11) / 3.0) ** 2)
    x = np.array([np.convolve(r, k / k.sum(), mode="same") for r in x])
    return 20e-6 * x / x.std(axis=1, keepdims=True)


def _save(raw, path):
    if path.suffix == ".fif":
        raw.save(path, verbose="error", overwrite=True)
    else:
        fmt = {".edf": "edf", ".vhdr": "brainvision"}[path.suffix]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mne.export.export_raw(path, raw, fmt=fmt, verbose="error", overwrite=True)
    return path


def _file(tmp_path, names, fname="rec.edf", seconds=10.0):
    data = _eeg(len(names), seconds)
    raw = mne.io.RawArray(data, mne.create_info(list(names), 200.0, "eeg"), verbose="error")
    return _save(raw, tmp_path / fname), data


@pytest.mark.parametrize("fname", ["clinical.edf", "clinical.vhdr", "clinical_raw.fif"])
def test_clinical_1020_export_reads_its_19_channels(tmp_path, fname):
    names = list(CLINICAL_1020.values()) + CLINICAL_EXTRAS
    path, data = _file(tmp_path, names, fname)
    with pytest.warns(UserWarning, match=r"dropping 7 channel\(s\).*'POL E', 'POL \$A1', 'POL \$A2', 'A1', 'A2'"):
        raw = read_raw(path, missing="present")
    expected = [c for c in SEED_CH_NAMES if c in CLINICAL_1020]
    assert raw.ch_names == expected and len(expected) == 19
    tol = 1e-9 if fname.endswith(".fif") else 2e-8                 # EDF and BrainVision store integers
    for cap, recorded in (("T7", "EEG T3-Ref"), ("P8", "EEG T6-Ref"), ("FP1", "EEG Fp1-Ref")):
        np.testing.assert_allclose(raw.get_data(picks=cap)[0], data[names.index(recorded)], atol=tol)
    with pytest.raises(MissingChannelsError, match=r"43 SEED cap channel\(s\) missing"):
        read_raw(path)
    with pytest.raises(MissingChannelsError, match=r"too many to interpolate.*missing='present'"):
        read_raw(path, missing="interpolate")


def test_reference_electrodes_alone_do_not_collide(tmp_path):
    path, _ = _file(tmp_path, ["Fp1", "Fp2", "Cz", "A1", "A2", "M1", "M2"])
    with pytest.warns(UserWarning, match=r"'A1', 'A2', 'M1', 'M2'"):
        raw = read_raw(path, missing="present")
    assert raw.ch_names == ["FP1", "FP2", "CZ"]


def test_two_channels_landing_on_one_cap_electrode_is_an_error_naming_both(tmp_path):
    path, _ = _file(tmp_path, ["EEG Fp1-Ref", "Fp1", "Cz"])
    with pytest.raises(EEGDataError, match=r"'EEG Fp1-Ref' and 'Fp1'.*rec\.edf.*'FP1'"):
        read_raw(path, missing="present")


@pytest.mark.parametrize("names", [
    [f"{i:03d}" for i in range(32)],                                 # numbered 000..031
    [str(i) for i in range(1, 65)],                                  # numbered 1..64
    [f"A{i}" for i in range(1, 33)] + [f"B{i}" for i in range(1, 33)],   # Biosemi
    ["Sine 10Hz", "Square 2Hz", "Ramp", "Noise"],                    # a signal generator
])
def test_no_channel_on_the_cap_names_the_file_a_few_channels_and_the_ways_out(tmp_path, names):
    path, _ = _file(tmp_path, names)
    with pytest.raises(NoCapChannelsError) as err:
        read_raw(path, missing="present")
    msg = str(err.value)
    assert "rec.edf" in msg and repr(names[0]) in msg and "rename=" in msg and "montage=" in msg
    assert isinstance(err.value, EEGDataError)


def test_rename_maps_numbered_channels_and_bad_rename_is_explained(tmp_path):
    names = [f"{i:03d}" for i in range(4)]
    path, data = _file(tmp_path, names)
    raw = read_raw(path, missing="present", rename={"000": "Fp1", "001": "Cz", "002": "Oz", "003": "T3"})
    assert raw.ch_names == ["FP1", "T7", "CZ", "OZ"]
    np.testing.assert_allclose(raw.get_data(picks="OZ")[0], data[2], atol=2e-8)
    by_fn = read_raw(path, missing="present", rename=lambda n: {"000": "Fp1"}.get(n, n))
    assert by_fn.ch_names == ["FP1"]
    with pytest.raises(EEGDataError, match=r"rename names channel\(s\) \['Fp1'\].*rec\.edf.*'000'"):
        read_raw(path, missing="present", rename={"Fp1": "FP1"})


def test_biosemi_names_matched_by_position_with_a_montage(tmp_path):
    template = mne.channels.make_standard_montage("biosemi64")
    names = [f"A{i}" for i in range(1, 33)] + [f"B{i}" for i in range(1, 33)]    # Biosemi's order of the 64 sites
    path, data = _file(tmp_path, names, "biosemi_raw.fif")
    pos = dict(zip(names, (template.get_positions()["ch_pos"][c] for c in template.ch_names)))
    montage = mne.channels.make_dig_montage(ch_pos=pos, coord_frame="head")
    raw = read_raw(path, missing="present", montage=montage)
    label = dict(zip(names, (c.upper() for c in template.ch_names)))
    on_cap = [n for n in names if label[n] in SEED_CH_NAMES]
    assert len(on_cap) >= 50
    assert sorted(raw.ch_names) == sorted(label[n] for n in on_cap)      # each lands on its own 10-10 site
    for n in ("A1", "B16", "A27"):                                           # Fp1, Fz... by Biosemi's layout
        np.testing.assert_allclose(raw.get_data(picks=label[n])[0], data[names.index(n)], atol=1e-9)


def test_positions_stored_in_the_file_match_numbered_channels(tmp_path):
    cap = ["FP1", "FZ", "CZ", "PZ", "OZ", "T7", "T8", "C3", "C4"]
    names = [f"{i:03d}" for i in range(len(cap))]
    data = _eeg(len(cap))
    raw = mne.io.RawArray(data, mne.create_info(names, 200.0, "eeg"), verbose="error")
    name = "colin27_1020" if "colin27_1020" in mne.channels.get_builtin_montages() else "standard_1020"
    std = mne.channels.make_standard_montage(name).get_positions()["ch_pos"]
    by_upper = {k.upper(): v for k, v in std.items()}
    raw.set_montage(mne.channels.make_dig_montage(ch_pos={n: by_upper[c] for n, c in zip(names, cap)},
                                                  coord_frame="head"))
    path = _save(raw, tmp_path / "numbered_raw.fif")
    with pytest.raises(NoCapChannelsError):
        read_raw(path, missing="present")
    got = read_raw(path, missing="present", montage="file")
    assert sorted(got.ch_names) == sorted(cap)
    np.testing.assert_allclose(got.get_data(picks="OZ")[0], data[cap.index("OZ")], atol=1e-9)
    bare, _ = _file(tmp_path, names, "bare_raw.fif")
    with pytest.raises(EEGDataError, match="stores no electrode positions"):
        read_raw(bare, missing="present", montage="file")


def test_position_matching_respects_the_tolerance():
    from e2llm_lab.channels import channel_positions_3d
    xyz = channel_positions_3d()
    a = np.radians(6.0)                                              # tilt the whole cap 6 degrees about left-right
    tilt = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    recorded = {f"e{i}": 1.1 * p @ tilt.T for i, p in enumerate(xyz)}      # another unit, another size
    identity = {f"e{i}": c for i, c in enumerate(SEED_CH_NAMES)}
    assert match_by_position(recorded, tolerance_deg=10) == identity
    strict = match_by_position(recorded, tolerance_deg=2)
    assert 0 < len(strict) < 20 and all(identity[k] == v for k, v in strict.items())   # only sites near the axis


def test_corrupt_or_mislabelled_files_raise_the_toolkits_error_naming_the_file(tmp_path):
    fake = tmp_path / "notes.edf"
    fake.write_text("this is a text file, not an EDF recording\n" * 20)
    with pytest.raises(EEGFileError, match=r"notes\.edf: could not read it as a EDF file"):
        read_raw(fake)
    half, _ = _file(tmp_path, ["Fp1", "Fp2"], "half.edf")
    half.write_bytes(half.read_bytes()[:300])
    with pytest.raises(EEGFileError, match=r"half\.edf"):
        read_raw(half)
    with pytest.raises(EEGFileError, match="no such EEG file"):
        read_raw(tmp_path / "absent.edf")


# -- Neuroscan CNT: a minimal file in the SETUP + ELECTLOC + data + event-table layout MNE reads -------------------
def write_cnt(path, names, data_volts, *, sfreq=200, bits=16, header_samples=0):
    """Write a Neuroscan CNT file; ``header_samples=0`` mimics exporters whose sample count field is unreliable."""
    n_ch, n_t = data_volts.shape
    cal = 1e-6 / 204.8                                    # volts per count with sensitivity = cal = 1 (MNE's formula)
    counts = np.round(data_volts / cal).T                 # (n_times, n_ch): samples interleaved across channels
    dtype = "<i2" if bits == 16 else "<i4"
    setup = bytearray(900)
    setup[225:235] = b"01/01/20\0\0"
    setup[235:247] = b"00:00:00\0\0\0\0"
    struct.pack_into("<H", setup, 370, n_ch)
    struct.pack_into("<H", setup, 376, sfreq)
    struct.pack_into("<i", setup, 864, header_samples)
    data_offset = 900 + 75 * n_ch
    event_offset = data_offset + counts.size * (2 if bits == 16 else 4)
    struct.pack_into("<i", setup, 886, event_offset)
    elect = bytearray()
    xy = channel_positions_2d([n for n in names])
    for name, (x, y) in zip(names, xy):
        e = bytearray(75)
        e[:len(name)] = name.encode()
        struct.pack_into("<ff", e, 19, float(x), float(-y))
        struct.pack_into("<f", e, 59, 1.0)
        struct.pack_into("<f", e, 71, 1.0)
        elect += e
    events = struct.pack("<bii", 1, 0, 0)                 # event table of type 1, no events
    path.write_bytes(bytes(setup) + bytes(elect) + counts.astype(dtype).tobytes() + events)
    return path


@pytest.mark.parametrize("bits", [16, 32])
def test_cnt_of_either_sample_width_reads_back_its_values(tmp_path, bits):
    names = ["FP1", "FPZ", "FP2", "FZ", "CZ", "PZ", "OZ", "O1", "O2", "T7", "T8"]
    data = _eeg(len(names), seconds=8.0)
    path = write_cnt(tmp_path / f"rec{bits}.cnt", names, data, bits=bits)
    if bits == 32:
        with pytest.raises(RuntimeError):                 # what MNE alone says of such a file
            mne.io.read_raw_cnt(path, verbose="error")
    raw = read_raw(path, missing="present")
    assert raw.ch_names == [c for c in SEED_CH_NAMES if c in names]
    assert raw.n_times == data.shape[1]
    np.testing.assert_allclose(raw.get_data(picks="OZ")[0], data[names.index("OZ")], atol=1e-8)


def test_a_cnt_that_is_not_eeg_is_the_toolkits_error(tmp_path):
    names = ["FP1", "FZ", "CZ", "PZ"]
    noise = np.random.default_rng(1).integers(-2**15, 2**15, (4, 4000)).astype(float) * 1e-6 / 204.8
    path = write_cnt(tmp_path / "white.cnt", names, noise, bits=16)
    with pytest.raises(EEGFileError, match=r"white\.cnt: could not read it as a Neuroscan CNT.*16- or 32-bit"):
        read_raw(path, missing="present")
    junk = tmp_path / "junk.cnt"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(EEGFileError, match=r"junk\.cnt"):
        read_raw(junk)
