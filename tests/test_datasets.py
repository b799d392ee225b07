"""Dataset readers on fake files of each dataset's exact layout (2 subjects, seconds of data), written here."""
import inspect
import struct
import warnings

import mne
import numpy as np
import pandas as pd
import pytest
import scipy.io

from e2llm_lab.channels import SEED_CH_NAMES
from e2llm_lab.config import DataConfig
from e2llm_lab.data import deap, dreamer, faced, seed, seed4, seed5
from e2llm_lab.data.datasets import DATASETS, READERS, read_dataset, reader_options
from e2llm_lab.data.errors import DatasetFolderError, EEGDataError, EEGFileError
from e2llm_lab.data.events import features_from_events, iter_event_trials, parse_mapping, read_events_folder
from e2llm_lab.data.recordings import featureset_from_recordings
from e2llm_lab.labels import FACED, SEED, SEED4, VA_QUADRANTS, quadrant_label

# 1-s windows, no smoothing or normalisation: small files still give several windows with checkable values
CFG = DataConfig(window_s=1.0, stride_s=1.0, lds=False, normalize=None, bad_channel_policy="keep")
RNG = np.random.default_rng(0)


def _eeg(n_chans, n_times):
    return RNG.standard_normal((n_chans, n_times)) * 20.0          # microvolts


# -- featureset_from_recordings ----------------------------------------------------------------------------------
def test_recordings_carry_the_label_space_its_coordinates_and_extra_columns():
    info = mne.create_info(list(SEED_CH_NAMES[:8]), 200.0, "eeg")
    rows = [(mne.io.RawArray(_eeg(8, 600) * 1e-6, info, verbose="error"),
             {"subject": s, "trial": t, "emotion": lab, "rating_valence": 7.0 + t, "source": "x"})
            for s, t, lab in ((1, 1, "positive"), (1, 2, "unpleasant"), (2, 1, "neutral"))]
    fs = featureset_from_recordings(rows, CFG, preprocess=False, progress=False, label_space="seed")
    assert fs.label_space == SEED and fs.X.shape == (9, 1, 8, 5)
    assert fs.meta.emotion.tolist() == ["positive"] * 3 + ["negative"] * 3 + ["neutral"] * 3
    assert fs.meta.valence.tolist() == [SEED.valence_of(e) for e in fs.meta.emotion]
    assert fs.meta.arousal.isna().all()                               # SEED has no arousal axis
    assert fs.meta.rating_valence.tolist() == [8.0] * 3 + [9.0] * 3 + [8.0] * 3
    assert "source" not in fs.meta.columns


def test_recordings_refuse_a_label_outside_the_space_and_an_empty_stream(capsys):
    info = mne.create_info(["CZ", "PZ"], 200.0, "eeg")
    raw = mne.io.RawArray(_eeg(2, 400) * 1e-6, info, verbose="error")
    with pytest.raises(EEGDataError, match=r"rec\.edf.*'anger' is not in the 'seed4' label space"):
        featureset_from_recordings([(raw, {"subject": 1, "trial": 1, "emotion": "anger", "source": "rec.edf"})], CFG,
                                   preprocess=False, progress=False, label_space=SEED4)
    with pytest.raises(EEGDataError, match="yielded no"):
        featureset_from_recordings(iter([]), CFG)
    assert "0it" not in capsys.readouterr().err                      # no empty progress bar before the error


# -- SEED --------------------------------------------------------------------------------------------------------
SEED_LABELS = [1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]


def _write_seed(root, subjects=((2, ("20140404", "20140413")), (10, ("20131130", "20131107"))), n_times=400):
    pre, ext = root / "Preprocessed_EEG", root / "ExtractedFeatures"
    pre.mkdir(parents=True)
    ext.mkdir()
    scipy.io.savemat(pre / "label.mat", {"label": np.array([SEED_LABELS])})
    truth = {}
    for s, dates in subjects:
        for date in dates:
            trials = {f"ab_eeg{k}": _eeg(62, n_times + k) for k in range(1, 16)}
            scipy.io.savemat(pre / f"{s}_{date}.mat", trials)
            feats = {f"de_LDS{k}": RNG.standard_normal((62, 3 + k % 2, 5)) for k in range(1, 16)}
            scipy.io.savemat(ext / f"{s}_{date}.mat", feats)
            truth[(s, date)] = (trials, feats)
    return truth


def test_seed_trials_sessions_labels_and_values(tmp_path):
    truth = _write_seed(tmp_path)
    got = list(seed.iter_seed_eeg(tmp_path))
    assert len(got) == 2 * 2 * 15
    keys = [(r["subject"], r["session"], r["trial"]) for _, r in got]
    assert keys == sorted(keys) and keys[0] == (2, 1, 1) and keys[-1] == (10, 2, 15)   # 2 before 10
    raw, row = got[30]                                        # subject 10, session 1 = its earlier date
    np.testing.assert_allclose(raw.get_data() * 1e6, truth[(10, "20131107")][0]["ab_eeg1"])
    assert raw.ch_names == list(SEED_CH_NAMES) and raw.info["sfreq"] == 200.0
    names = {-1: "negative", 0: "neutral", 1: "positive"}
    assert [r["emotion"] for _, r in got[:15]] == [names[c] for c in SEED_LABELS]


def test_seed_streams_one_file_at_a_time(tmp_path, monkeypatch):
    _write_seed(tmp_path, n_times=50)
    opened = []
    real = seed.loadmat
    monkeypatch.setattr(seed, "loadmat", lambda path, **kw: opened.append(path.name) or real(path, **kw))
    stream = seed.iter_seed_eeg(tmp_path)
    next(stream)
    assert opened == ["label.mat", "2_20140404.mat"]                   # one subject file read, not the four
    for _ in range(15):
        next(stream)
    assert opened[-1] == "2_20140413.mat" and len(opened) == 3


def test_seed_features_transposed_to_windows_channels_bands(tmp_path):
    truth = _write_seed(tmp_path)
    fs = seed.read_seed_features(tmp_path, normalize=None, progress=False)
    n = sum(f[f"de_LDS{k}"].shape[1] for _, f in truth.values() for k in range(1, 16))
    assert fs.X.shape == (n, 1, 62, 5) and fs.label_space == SEED and fs.bands == seed.SEED_FEATURE_BANDS
    first = truth[(2, "20140404")][1]["de_LDS1"]                         # (62, W, 5)
    np.testing.assert_allclose(fs.X[: first.shape[1], 0], first.transpose(1, 0, 2), rtol=1e-6)
    assert fs.meta.subject.unique().tolist() == [2, 10]


def test_seed_bad_inputs_name_file_key_shape_and_label(tmp_path):
    _write_seed(tmp_path, subjects=((1, ("20140101",)),))
    pre = tmp_path / "Preprocessed_EEG"
    scipy.io.savemat(pre / "label.mat", {"label": np.array([[2] + SEED_LABELS[1:]])})
    with pytest.raises(EEGDataError, match=r"label\.mat.*\[2\] outside the SEED codes"):
        list(seed.iter_seed_eeg(tmp_path))
    scipy.io.savemat(pre / "label.mat", {"label": np.array([SEED_LABELS])})
    scipy.io.savemat(pre / "1_20140101.mat", {f"ab_eeg{k}": _eeg(62, 50) for k in range(1, 15)})
    with pytest.raises(EEGFileError, match=r"1_20140101\.mat lacks key.*eeg\[15\]"):
        list(seed.iter_seed_eeg(tmp_path))
    scipy.io.savemat(pre / "1_20140101.mat", {f"ab_eeg{k}": _eeg(60, 50) for k in range(1, 16)})
    with pytest.raises(EEGDataError, match=r"ab_eeg1': expected EEG of shape \(62, n_times\), got shape \(60, 50\)"):
        list(seed.iter_seed_eeg(tmp_path))
    (pre / "label.mat").unlink()
    with pytest.raises(EEGFileError, match=r"label\.mat not found"):
        list(seed.iter_seed_eeg(tmp_path))
    with pytest.raises(EEGFileError, match="Preprocessed_EEG not found"):
        list(seed.iter_seed_eeg(tmp_path / "nowhere"))


# -- SEED-IV -----------------------------------------------------------------------------------------------------
def test_seed4_session_folders_labels_and_features(tmp_path):
    for session in (1, 2):
        for s in (3, 12):
            d = tmp_path / "eeg_raw_data" / str(session)
            d.mkdir(parents=True, exist_ok=True)
            scipy.io.savemat(d / f"{s}_2016050{session}.mat", {f"xy_eeg{k}": _eeg(62, 30) for k in range(1, 25)})
            f = tmp_path / "eeg_feature_smooth" / str(session)
            f.mkdir(parents=True, exist_ok=True)
            scipy.io.savemat(f / f"{s}_2016050{session}.mat",
                             {f"de_LDS{k}": np.full((62, 2, 5), 100 * session + k, float) for k in range(1, 25)})
    got = [r for _, r in seed4.iter_seed4_eeg(tmp_path)]
    assert [(r["subject"], r["session"]) for r in got[::24]] == [(3, 1), (3, 2), (12, 1), (12, 2)]
    assert [r["emotion"] for r in got[24:48]] == [SEED4.labels[c] for c in seed4.SEED4_SESSION_LABELS[1]]
    assert {lab: sum(1 for c in seed4.SEED4_SESSION_LABELS[0] if SEED4.labels[c] == lab) for lab in SEED4.labels} \
        == {lab: 6 for lab in SEED4.labels}                          # the ReadMe's design: 6 trials per emotion
    fs = seed4.read_seed4_features(tmp_path, normalize=None, progress=False)
    assert fs.X.shape == (2 * 2 * 24 * 2, 1, 62, 5) and fs.label_space == SEED4
    row = fs.meta[(fs.meta.session == 2) & (fs.meta.trial == 7)].index[0]
    assert fs.X[row].min() == fs.X[row].max() == 207
    scipy.io.savemat(tmp_path / "eeg_feature_smooth" / "1" / "3_20160501.mat", {"de_LDS1": np.zeros((5, 62))})
    with pytest.raises(EEGDataError, match=r"3_20160501\.mat key 'de_LDS1': expected \(62, n_windows, 5\)"):
        seed4.read_seed4_features(tmp_path, progress=False)


# -- SEED-V ------------------------------------------------------------------------------------------------------
def test_seed5_table_matches_the_design():
    for session in seed5.SEED5_TRIALS:
        assert len(session) == 15
        assert all(s < e for s, e, _ in session) and all(a[1] <= b[0] for a, b in zip(session, session[1:]))
        assert sorted(c for _, _, c in session) == sorted(list(range(5)) * 3)      # 3 clips of each emotion


def test_seed5_cuts_clips_from_the_cnt(tmp_path, monkeypatch):
    import test_io
    from test_io import write_cnt

    from e2llm_lab.channels import channel_positions_2d

    # the writer places electrodes by their cap position; the references and EOG sit at the origin
    monkeypatch.setattr(test_io, "channel_positions_2d", lambda names: np.array(
        [channel_positions_2d([n])[0] if n in SEED_CH_NAMES else (0.0, 0.0) for n in names]))
    d = tmp_path / "EEG_raw"
    d.mkdir()
    names = list(SEED_CH_NAMES) + ["M1", "M2", "VEO", "HEO"]
    data = {}
    for s in (1, 2):
        data[s] = np.cumsum(RNG.standard_normal((len(names), 2000)), axis=1) * 2e-6      # 10 s at 200 Hz
        write_cnt(d / f"{s}_1_2018080{s}.cnt", names, data[s])
    monkeypatch.setattr(seed5, "SEED5_TRIALS", (((1, 3, 4), (4, 7, 0)),))
    got = list(seed5.iter_seed5_eeg(tmp_path))
    assert [(r["subject"], r["trial"], r["emotion"]) for _, r in got] == [(1, 1, "happy"), (1, 2, "disgust"),
                                                                           (2, 1, "happy"), (2, 2, "disgust")]
    raw = got[3][0]
    assert raw.ch_names == list(SEED_CH_NAMES) and raw.n_times == 600
    np.testing.assert_allclose(raw.get_data(picks="OZ")[0], data[2][names.index("OZ"), 800:1400], atol=1e-8)
    monkeypatch.setattr(seed5, "SEED5_TRIALS", (((1, 30, 4),),))
    with pytest.raises(EEGDataError, match=r"1_1_20180801\.cnt: clip 1 of session 1 ends at 30 s"):
        list(seed5.iter_seed5_eeg(tmp_path))


def test_seed5_pickled_features_are_refused(tmp_path):
    (tmp_path / "EEG_DE_features").mkdir()
    (tmp_path / "EEG_DE_features" / "1_123.npz").write_bytes(b"not opened")
    with pytest.raises(EEGFileError, match=r"pickled Python objects.*EEG_raw"):
        read_dataset("seed5", tmp_path)
    with pytest.raises(EEGFileError, match="never loads"):
        read_dataset("seed5", tmp_path, from_features=True)
    with pytest.raises(EEGFileError, match=r"1_123\.npz: SEED-V's EEG_DE_features"):
        read_dataset("seed5", tmp_path / "EEG_DE_features" / "1_123.npz")


# -- DEAP --------------------------------------------------------------------------------------------------------
def _write_deap(root, subjects=(2, 11), n_trials=3, seconds=5):
    d = root / "data_preprocessed_matlab"
    d.mkdir(parents=True)
    truth = {}
    for s in subjects:
        data = RNG.standard_normal((n_trials, 40, int((3 + seconds) * 128))) * 10
        ratings = RNG.uniform(1, 9, (n_trials, 4))
        scipy.io.savemat(d / f"s{s:02d}.mat", {"data": data, "labels": ratings})
        truth[s] = (data, ratings)
    return truth


def test_deap_quadrants_ratings_baseline_and_channels(tmp_path):
    truth = _write_deap(tmp_path)
    got = list(deap.iter_deap_eeg(tmp_path, threshold=4.5))
    assert [(r["subject"], r["trial"]) for _, r in got] == [(2, 1), (2, 2), (2, 3), (11, 1), (11, 2), (11, 3)]
    raw, row = got[4]
    data, ratings = truth[11]
    assert row["emotion"] == quadrant_label(ratings[1, 0], ratings[1, 1], threshold=4.5)
    assert [row[f"rating_{r}"] for r in deap.RATINGS] == pytest.approx(ratings[1].tolist())
    assert set(raw.ch_names) == {c.upper() for c in deap.DEAP_EEG_CHANNELS}       # all 32 land on the cap
    assert raw.ch_names == [c for c in SEED_CH_NAMES if c in raw.ch_names]
    fz = deap.DEAP_EEG_CHANNELS.index("Fz")
    np.testing.assert_allclose(raw.get_data(picks="FZ")[0] * 1e6, data[1, fz, 3 * 128:])   # baseline cut off
    fs = read_dataset("deap", tmp_path, cfg=CFG, subjects=[2], progress=False)
    assert fs.label_space == VA_QUADRANTS and fs.X.shape == (3 * 5, 1, 32, 5)
    assert {"rating_valence", "rating_arousal", "rating_dominance", "rating_liking"} <= set(fs.meta.columns)


def test_deap_bad_inputs_and_pickles(tmp_path):
    _write_deap(tmp_path, subjects=(1,))
    path = tmp_path / "data_preprocessed_matlab" / "s01.mat"
    scipy.io.savemat(path, {"data": np.zeros((3, 40, 1000)), "labels": np.full((3, 4), 10.0)})
    with pytest.raises(EEGDataError, match=r"s01\.mat key 'labels': rating\(s\) \[10\.0"):
        list(deap.iter_deap_eeg(tmp_path))
    scipy.io.savemat(path, {"data": np.zeros((3, 40, 1000)), "ratings": np.ones((3, 4))})
    with pytest.raises(EEGFileError, match=r"s01\.mat has no key 'labels'"):
        list(deap.iter_deap_eeg(tmp_path))
    scipy.io.savemat(path, {"data": np.zeros((3, 20, 1000)), "labels": np.ones((3, 4))})
    with pytest.raises(EEGDataError, match=r"key 'data'.*got shape \(3, 20, 1000\)"):
        list(deap.iter_deap_eeg(tmp_path))
    py = tmp_path / "py"
    (py / "data_preprocessed_python").mkdir(parents=True)
    with pytest.raises(EEGFileError, match=r"pickles.*data_preprocessed_matlab"):
        list(deap.iter_deap_eeg(py))
    with pytest.raises(EEGFileError, match="pickles"):
        list(deap.iter_deap_eeg(py / "data_preprocessed_python" / "s01.dat"))


# -- DREAMER -----------------------------------------------------------------------------------------------------
def _write_dreamer(path, n_subjects=2, n_clips=3, seconds=4, score=None):
    subjects = []
    for _ in range(n_subjects):
        stim = np.empty((n_clips, 1), dtype=object)
        base = np.empty((n_clips, 1), dtype=object)
        for k in range(n_clips):
            stim[k, 0] = _eeg(14, seconds * 128).T + 4000                 # (n_times, 14), Emotiv's DC offset
            base[k, 0] = _eeg(14, 128).T
        sv = RNG.integers(1, 6, (n_clips, 1)).astype(float) if score is None else np.full((n_clips, 1), score)
        subjects.append({"EEG": {"stimuli": stim, "baseline": base}, "ScoreValence": sv,
                         "ScoreArousal": RNG.integers(1, 6, (n_clips, 1)).astype(float),
                         "ScoreDominance": RNG.integers(1, 6, (n_clips, 1)).astype(float)})
    cell = np.empty((1, n_subjects), dtype=object)
    for i, s in enumerate(subjects):
        cell[0, i] = s
    electrodes = np.empty((1, 14), dtype=object)
    electrodes[0, :] = list(dreamer.DREAMER_EEG_CHANNELS)
    scipy.io.savemat(path, {"DREAMER": {"Data": cell, "EEG_SamplingRate": 128, "EEG_Electrodes": electrodes}})
    return subjects


def test_dreamer_clips_ratings_and_channels(tmp_path):
    subjects = _write_dreamer(tmp_path / "DREAMER.mat")
    got = list(dreamer.iter_dreamer_eeg(tmp_path))
    assert [(r["subject"], r["trial"]) for _, r in got] == [(s, k) for s in (1, 2) for k in (1, 2, 3)]
    raw, row = got[5]
    s = subjects[1]
    v, a = s["ScoreValence"][2, 0], s["ScoreArousal"][2, 0]
    assert row["emotion"] == quadrant_label(v, a, threshold=3.0) and row["rating_valence"] == v
    assert set(raw.ch_names) == set(dreamer.DREAMER_EEG_CHANNELS) and len(raw.ch_names) == 14
    np.testing.assert_allclose(raw.get_data(picks="O2")[0] * 1e6, s["EEG"]["stimuli"][2, 0][:, 7])
    fs = dreamer.read_dreamer(tmp_path / "DREAMER.mat", CFG, subjects=[2], progress=False)
    assert fs.X.shape == (3 * 4, 1, 14, 5) and fs.label_space == VA_QUADRANTS


def test_dreamer_bad_inputs(tmp_path):
    _write_dreamer(tmp_path / "DREAMER.mat", n_subjects=1, score=7.0)
    with pytest.raises(EEGDataError, match=r"rating\(s\) \[7\.0.*1-5"):
        list(dreamer.iter_dreamer_eeg(tmp_path))
    scipy.io.savemat(tmp_path / "DREAMER.mat", {"dreamer": np.zeros(3)})
    with pytest.raises(EEGFileError, match="no variable 'DREAMER'"):
        list(dreamer.iter_dreamer_eeg(tmp_path))
    with pytest.raises(EEGFileError, match=r"DREAMER\.mat not found"):
        list(dreamer.iter_dreamer_eeg(tmp_path / "x"))


# -- FACED: BDF written by hand (24-bit samples, BDF+ annotations) ------------------------------------------------
def _bdf(path, names, data_volts, sfreq, annotations=()):
    """Write a BDF(+) file with 1-s records: EEG signals in microvolts and/or a 'BDF Annotations' signal."""
    n_rec = int(np.ceil(data_volts.shape[1] / sfreq)) if len(names) else int(max(o for o, _ in annotations)) + 2
    n_ann = 120                                                        # 3-byte slots of the annotation signal
    labels = list(names) + ["BDF Annotations"]
    ns = len(labels)
    fs_i = int(sfreq)

    def field(values, width):
        return b"".join(str(v).encode().ljust(width)[:width] for v in values)

    head = (b"\xffBIOSEMI" + b" " * 80 + b" " * 80 + b"01.01.20" + b"00.00.00" + str(256 * (ns + 1)).encode().ljust(8)
            + b"BDF+C".ljust(44) + str(n_rec).encode().ljust(8) + b"1".ljust(8) + str(ns).encode().ljust(4))
    head += field(labels, 16) + field([""] * ns, 80) + field(["uV"] * len(names) + [""], 8)
    head += field(["-8000"] * len(names) + ["-1"], 8) + field(["8000"] * len(names) + ["1"], 8)
    head += field(["-8000000"] * len(names) + ["-8388608"], 8) + field(["8000000"] * len(names) + ["8388607"], 8)
    head += field([""] * ns, 80)
    head += field([fs_i] * len(names) + [n_ann], 8) + field([""] * ns, 32)
    counts = np.round(data_volts * 1e6 / 1e-3).astype(np.int64) if len(names) else None   # 1 count = 1 nV
    body = bytearray()
    for r in range(n_rec):
        for c in range(len(names)):
            seg = np.zeros(fs_i, np.int64)
            chunk = counts[c, r * fs_i:(r + 1) * fs_i]
            seg[:len(chunk)] = chunk
            body += b"".join(int(v).to_bytes(3, "little", signed=True) for v in seg)
        tal = f"+{r}\x14\x14\x00".encode()
        for onset, text in annotations:
            if r <= onset < r + 1:
                tal += f"+{onset}\x14{text}\x14\x00".encode()
        body += tal.ljust(3 * n_ann, b"\x00")
    path.write_bytes(head + bytes(body))
    return path


FACED_NAMES = ["Fp1", "Fp2", "Fz", "F3", "F4", "F7", "F8", "FC1", "FC2", "FC5", "FC6", "Cz", "C3", "C4", "T7", "T8",
               "CP1", "CP2", "CP5", "CP6", "Pz", "P3", "P4", "P7", "P8", "PO3", "PO4", "Oz", "O1", "O2", "A2", "A1"]


def test_faced_clips_from_bdf_and_event_codes(tmp_path):
    truth = {}
    for s, clips in ((0, (17, 2)), (12, (28,))):
        d = tmp_path / "Data" / f"sub{s:03d}"
        d.mkdir(parents=True)
        data = _eeg(32, 12 * 250) * 1e-6
        _bdf(d / "data.bdf", FACED_NAMES, data, 250)
        ann = [(0.5, "100")]
        for i, clip in enumerate(clips):
            ann += [(1 + 5 * i, str(clip)), (2 + 5 * i, "101"), (5 + 5 * i, "102")]
        _bdf(d / "evt.bdf", [], np.zeros((0, 0)), 250, ann)
        truth[s] = data
    got = list(faced.iter_faced_eeg(tmp_path))
    assert [(r["subject"], r["trial"], r["emotion"]) for _, r in got] == [
        (0, 2, "anger"), (0, 17, "amusement"), (12, 28, "tenderness")]
    raw, _ = got[1]                                                    # clip 17: 2-5 s of sub000
    assert len(raw.ch_names) == 30 and "A1" not in raw.ch_names and raw.n_times == 3 * 250
    np.testing.assert_allclose(raw.get_data(picks="OZ")[0], truth[0][FACED_NAMES.index("Oz"), 2 * 250:5 * 250],
                               atol=2e-9)
    assert faced.FACED_CLIP_EMOTIONS.count("neutral") == 4 and set(faced.FACED_CLIP_EMOTIONS) == set(FACED.labels)
    fs = read_dataset("faced", tmp_path, cfg=CFG, subjects=[12], progress=False)
    assert fs.label_space == FACED and fs.X.shape == (3, 1, 30, 5)


def test_faced_pickles_and_missing_files_are_refused(tmp_path):
    (tmp_path / "Processed_data").mkdir()
    (tmp_path / "Processed_data" / "sub000.pkl").write_bytes(b"never opened")
    with pytest.raises(EEGFileError, match=r"sub000\.pkl.*pickles.*data\.bdf"):
        list(faced.iter_faced_eeg(tmp_path))
    with pytest.raises(EEGFileError, match="pickles"):
        read_dataset("faced", tmp_path, from_features=True)
    (tmp_path / "Data" / "sub001").mkdir(parents=True)
    with pytest.raises(EEGFileError, match=r"sub001/data\.bdf not found"):
        list(faced.iter_faced_eeg(tmp_path))


# -- events and BIDS ---------------------------------------------------------------------------------------------
def _annotated_raw(names=("Fp1", "Fz", "Cz", "Pz", "Oz", "O1", "O2", "C3", "C4"), scale=1.0, sfreq=200.0):
    """12 s (times ``scale``): a 2-s 'stim/happy' trial at 1 s, a 3-s 'stim/sad' at 4 s, a BAD_ mark at 8 s."""
    raw = mne.io.RawArray(_eeg(len(names), int(12 * scale * sfreq)) * 1e-6,
                          mne.create_info(list(names), sfreq, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations(np.array([1.0, 4.0, 8.0]) * scale, np.array([2.0, 3.0, 0.0]) * scale,
                                        ["stim/happy", "stim/sad", "BAD_blink"]))
    return raw


def test_events_from_annotations_and_from_an_events_array():
    raw = _annotated_raw()
    got = list(iter_event_trials(raw, {"stim/happy": "happiness", "stim/sad": "sadness"}, subject=5))
    assert [(r["trial"], r["emotion"], r["event"]) for _, r in got] == [(1, "happiness", "stim/happy"),
                                                                        (2, "sadness", "stim/sad")]
    assert [t.n_times for t, _ in got] == [400, 600]                  # the annotated durations
    np.testing.assert_allclose(got[1][0].get_data(picks="CZ")[0], raw.get_data(picks="Cz")[0, 800:1400])
    events = np.array([[200, 0, 1], [1000, 0, 2], [1600, 0, 1]])
    fs = features_from_events(raw, {1: "calm", 2: "tense"}, events=events, cfg=CFG, progress=False)
    assert fs.label_space.labels == ("calm", "tense")                 # built from the mapping
    assert fs.meta.groupby("trial").size().tolist() == [4, 3, 4]      # until the next event, then the end
    with pytest.raises(EEGDataError, match=r"none of the events.*'stim/happy', 'stim/sad'"):
        list(iter_event_trials(raw, {"x": "calm"}))
    with pytest.raises(EEGDataError, match="'glee' is not in the 'va_quadrants' label space"):
        features_from_events(raw, {"stim/happy": "glee", "stim/sad": "calm"}, label_space="va_quadrants", cfg=CFG,
                             progress=False)
    assert parse_mapping("1=calm, 2=tense") == {"1": "calm", "2": "tense"}
    with pytest.raises(ValueError, match="event=label"):
        parse_mapping("1:calm")


def test_a_folder_of_edf_files_and_the_cli(tmp_path, capsys):
    from e2llm_lab.apps.cli import main
    from e2llm_lab.data.featureset import FeatureSet

    for s in (2, 10):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mne.export.export_raw(tmp_path / f"{s}.edf", _annotated_raw(scale=4.0), fmt="edf", verbose="error")
    fs = read_events_folder(tmp_path, {"stim/happy": "happiness", "stim/sad": "sadness"}, label_space="seed7",
                            cfg=CFG, progress=False)
    assert fs.meta.subject.unique().tolist() == [2, 10] and fs.label_space.name == "seed7"
    assert fs.meta.groupby("subject").size().tolist() == [8 + 12, 8 + 12]          # 1-s windows of 8-s, 12-s trials
    ten = read_dataset("events", tmp_path, cfg=CFG, subjects=[10], mapping={"stim/happy": "happiness",
                                                                            "stim/sad": "sadness"}, progress=False)
    np.testing.assert_array_equal(ten.X, fs.X[fs.meta.subject.to_numpy() == 10])
    with pytest.raises(EEGFileError, match=r"subject\(s\) \[3\] have no file.*\[2, 10\]"):
        read_dataset("events", tmp_path, subjects=[3])
    assert main(["prepare", str(tmp_path / "2.edf"), "--out", str(tmp_path / "one.npz"), "--threads", "1"]) == 0
    one = FeatureSet.load(tmp_path / "one.npz")
    assert one.label_space.labels == ("stim/happy", "stim/sad") and len(one) == 5
    assert main(["prepare", str(tmp_path), "--out", str(tmp_path / "all.npz"), "--mapping",
                 "stim/happy=happy,stim/sad=sad", "--label-space", "seed4"]) == 0
    assert FeatureSet.load(tmp_path / "all.npz").meta.emotion.unique().tolist() == ["happy", "sad"]
    (tmp_path / "s7" / "EEG_preprocessed").mkdir(parents=True)
    capsys.readouterr()
    assert main(["prepare", str(tmp_path / "s7"), "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert "EEG_preprocessed holds no <subject>.mat" in err and "0it" not in err


def test_bids_root_task_and_label_column(tmp_path):
    mne_bids = pytest.importorskip("mne_bids")
    for s in ("01", "02"):
        src = tmp_path / f"src{s}.edf"
        raw = _annotated_raw()
        raw.set_meas_date(None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mne.export.export_raw(src, raw, fmt="edf", verbose="error")
            raw = mne.io.read_raw_edf(src, verbose="error")
            raw.info["line_freq"] = 50
            mne_bids.write_raw_bids(raw, mne_bids.BIDSPath(subject=s, task="film", root=tmp_path / "bids"),
                                    allow_preload=False, overwrite=True, verbose="error")
    fs = read_dataset("bids", tmp_path / "bids", cfg=CFG, task="film", progress=False)
    assert fs.meta.subject.unique().tolist() == [1, 2]
    assert fs.label_space.labels == ("stim/happy", "stim/sad")       # BAD_ annotations are not trials
    assert fs.meta.groupby(["subject", "trial"]).size().tolist() == [2, 3, 2, 3]
    with pytest.raises(EEGFileError, match="no column 'emotion'"):
        read_dataset("bids", tmp_path / "bids", cfg=CFG, task="film", label_column="emotion", progress=False)
    with pytest.raises(EEGFileError, match=r"no EEG recording of task 'rest'.*\['film'\]"):
        read_dataset("bids", tmp_path / "bids", task="rest")


def test_registry_names_every_reader():
    assert DATASETS == ("seed7", "seed", "seed4", "seed5", "deap", "dreamer", "faced", "bids", "events")
    assert tuple(READERS) == DATASETS
    with pytest.raises(ValueError, match="allowed"):
        read_dataset("amigos", ".")
    with pytest.raises(ValueError, match="task="):
        read_dataset("bids", ".")
    with pytest.raises(ValueError, match=r"'deap' does not take the option\(s\) \['from_features'\].*'threshold'"):
        read_dataset("deap", ".", from_features=True)
    assert struct.calcsize("<i") == 4


@pytest.mark.parametrize("name", DATASETS)
def test_every_reader_has_one_signature(name):
    params = inspect.signature(READERS[name]).parameters
    first, *rest = params.values()
    assert first.name == "root" and first.kind is first.POSITIONAL_OR_KEYWORD
    assert all(p.kind is p.KEYWORD_ONLY for p in rest), [p for p in rest if p.kind is not p.KEYWORD_ONLY]
    assert {"cfg", "subjects", "label_space", "progress"} <= set(params)
    assert params["subjects"].default is None and params["label_space"].default is None
    assert "cfg" not in reader_options(name) and "subjects" in reader_options(name)


def test_old_positional_forms_still_work_and_fixed_label_spaces_are_checked(tmp_path):
    _write_deap(tmp_path, subjects=(1,), n_trials=1, seconds=2)
    new = deap.read_deap(tmp_path, cfg=CFG, progress=False)
    old = deap.read_deap(tmp_path, CFG, progress=False)                # cfg second, positionally: the older form
    np.testing.assert_array_equal(new.X, old.X)
    with pytest.raises(TypeError, match="multiple values for argument 'cfg'"):
        deap.read_deap(tmp_path, CFG, cfg=CFG)
    with pytest.raises(TypeError, match="at most 1 more positional"):
        deap.read_deap(tmp_path, CFG, 5.0)
    assert read_dataset("deap", tmp_path, cfg=CFG, label_space="va_quadrants", progress=False).label_space \
        == VA_QUADRANTS
    with pytest.raises(ValueError, match=r"DEAP's labels are the 'va_quadrants' space.*label_space='seed'"):
        read_dataset("deap", tmp_path, cfg=CFG, label_space="seed")


# -- the dataset root or its inner folder (TorchEEG's root_path) ----------------------------------------------------
def _same_from_both(name, root, inner, capsys, **options):
    """Read ``name`` from the dataset root and from ``root/inner``: the same FeatureSet, one line saying which."""
    capsys.readouterr()
    whole = read_dataset(name, root, cfg=CFG, progress=False, **options)
    assert capsys.readouterr().out == ""                             # the dataset root: nothing to say
    part = read_dataset(name, root / inner, cfg=CFG, progress=False, **options)
    said = capsys.readouterr().out.splitlines()
    assert len(said) == 1 and f"reading {root / inner} as the {inner} folder itself" in said[0], said
    assert len(whole) > 0 and part.X.dtype == whole.X.dtype
    np.testing.assert_array_equal(part.X, whole.X)
    pd.testing.assert_frame_equal(part.meta, whole.meta)
    assert (part.ch_names, part.bands, part.feature, part.label_space) == \
        (whole.ch_names, whole.bands, whole.feature, whole.label_space)
    return whole


def test_seed_reads_from_its_root_or_its_folders(tmp_path, capsys):
    _write_seed(tmp_path, subjects=((1, ("20140101",)),), n_times=210)
    fs = _same_from_both("seed", tmp_path, "Preprocessed_EEG", capsys)
    assert fs.X.shape == (15, 1, 62, 5)
    _same_from_both("seed", tmp_path, "ExtractedFeatures", capsys, from_features=True)   # label.mat from its sibling


def test_seed4_reads_from_its_root_or_its_folders(tmp_path, capsys):
    eeg = {f"xy_eeg{k}": _eeg(62, 210) for k in range(1, 25)}
    features = {f"de_LDS{k}": RNG.standard_normal((62, 2, 5)) for k in range(1, 25)}
    for folder, arrays in (("eeg_raw_data", eeg), ("eeg_feature_smooth", features)):
        (tmp_path / folder / "1").mkdir(parents=True)
        scipy.io.savemat(tmp_path / folder / "1" / "3_20160501.mat", arrays)
    assert _same_from_both("seed4", tmp_path, "eeg_raw_data", capsys).X.shape == (24, 1, 62, 5)
    _same_from_both("seed4", tmp_path, "eeg_feature_smooth", capsys, from_features=True)


def test_seed5_reads_from_its_root_or_its_folder(tmp_path, capsys, monkeypatch):
    import test_io
    from test_io import write_cnt

    from e2llm_lab.channels import channel_positions_2d

    monkeypatch.setattr(test_io, "channel_positions_2d", lambda names: np.array(
        [channel_positions_2d([n])[0] if n in SEED_CH_NAMES else (0.0, 0.0) for n in names]))
    (tmp_path / "EEG_raw").mkdir()
    names = list(SEED_CH_NAMES) + ["M1", "M2", "VEO", "HEO"]
    write_cnt(tmp_path / "EEG_raw" / "1_1_20180801.cnt", names,
              np.cumsum(RNG.standard_normal((len(names), 1200)), axis=1) * 2e-6)          # 6 s at 200 Hz
    monkeypatch.setattr(seed5, "SEED5_TRIALS", (((1, 3, 4), (3, 5, 0)),))
    assert _same_from_both("seed5", tmp_path, "EEG_raw", capsys).X.shape == (4, 1, 62, 5)


def test_seed7_reads_from_its_root_or_its_folders(tmp_path, capsys):
    (tmp_path / "EEG_preprocessed").mkdir()
    (tmp_path / "EEG_features").mkdir()
    scipy.io.savemat(tmp_path / "EEG_preprocessed" / "1.mat", {str(k): _eeg(62, 410) for k in (1, 2)})
    scipy.io.savemat(tmp_path / "EEG_features" / "1.mat", {f"de_LDS_{k}": RNG.standard_normal((3, 5, 62))
                                                           for k in (1, 2)})
    assert _same_from_both("seed7", tmp_path, "EEG_preprocessed", capsys).X.shape == (4, 1, 62, 5)
    _same_from_both("seed7", tmp_path, "EEG_features", capsys, from_features=True)


def test_deap_reads_from_its_root_or_its_folder_also_from_the_command_line(tmp_path, capsys):
    from e2llm_lab.apps.cli import main
    from e2llm_lab.data.featureset import FeatureSet

    _write_deap(tmp_path, subjects=(1, 2), n_trials=2, seconds=4)
    assert _same_from_both("deap", tmp_path, "data_preprocessed_matlab", capsys).X.shape == (16, 1, 32, 5)
    # the command: the inner folder, as TorchEEG's root_path takes it
    assert main(["prepare", str(tmp_path / "data_preprocessed_matlab"), "--dataset", "deap", "--out",
                 str(tmp_path / "deap.npz"), "--threads", "1"]) == 0
    assert "as the data_preprocessed_matlab folder itself" in capsys.readouterr().out
    assert len(FeatureSet.load(tmp_path / "deap.npz")) == 2 * 2
    (tmp_path / "data_preprocessed_python").mkdir()                  # TorchEEG's DEAPDataset folder: pickles
    with pytest.raises(EEGFileError, match="pickles.*data_preprocessed_matlab"):
        read_dataset("deap", tmp_path / "data_preprocessed_python")


def test_faced_reads_from_its_root_or_its_folder(tmp_path, capsys):
    d = tmp_path / "Data" / "sub003"
    d.mkdir(parents=True)
    _bdf(d / "data.bdf", FACED_NAMES, _eeg(32, 6 * 250) * 1e-6, 250)
    _bdf(d / "evt.bdf", [], np.zeros((0, 0)), 250, [(0.5, "100"), (1, "5"), (2, "101"), (4, "102")])
    assert _same_from_both("faced", tmp_path, "Data", capsys).X.shape == (2, 1, 30, 5)


@pytest.mark.parametrize("name,inner", [("seed", "Preprocessed_EEG"), ("seed4", "eeg_raw_data"), ("seed5", "EEG_raw"),
                                        ("seed7", "EEG_preprocessed"), ("deap", "data_preprocessed_matlab"),
                                        ("faced", "Data")])
def test_a_folder_of_neither_form_names_both_paths(tmp_path, name, inner):
    root = tmp_path / "downloads"
    root.mkdir()
    with pytest.raises(DatasetFolderError) as info:
        read_dataset(name, root, cfg=CFG, progress=False)
    msg = str(info.value)
    assert f"{root / inner} not found, and {root} is not" in msg and f"the {inner} folder" in msg, msg
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, EEGFileError)


def test_the_readers_share_one_listing_and_one_subject_filter(tmp_path):
    import re

    from e2llm_lab.data._readers import keep_subjects, matching
    from e2llm_lab.data.errors import EEGFileError

    for name in ("10_20200101.mat", "2_20200102.mat", "2_20200101.mat", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "3_20200101.mat").mkdir()                       # a folder is no file
    found = matching(tmp_path, re.compile(r"^(\d+)_(\d{8})\.mat$"))
    assert [(s, d) for s, d, _ in found] == [(10, 20200101), (2, 20200101), (2, 20200102)]   # name order, ints
    assert [f[0] for f in keep_subjects(found, None, tmp_path)] == [2, 2, 10]                 # subjects by number
    assert [f[:2] for f in keep_subjects(found, [10], tmp_path)] == [(10, 20200101)]
    with pytest.raises(EEGFileError, match=r"subject\(s\) \[7, 8\] have no file in .*found \[2, 10\]"):
        keep_subjects(found, [2, 7, 8], tmp_path)
    assert matching(tmp_path / "absent", re.compile(".*")) == []
