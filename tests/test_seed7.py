"""SEED-VII readers on fake files written in the dataset's exact official layout."""
import numpy as np
import pytest
import scipy.io

from e2llm_lab.config import DataConfig
from e2llm_lab.data.errors import EEGDataError
from e2llm_lab.data.recordings import featureset_from_recordings
from e2llm_lab.data.seed7 import (
    SEED7_SESSION_ORDER,
    default_seed7_labels,
    iter_seed7_eeg,
    list_subjects,
    read_seed7_features,
    read_seed7_labels,
)

EMO_ORDER = ["happiness", "neutral", "disgust", "sadness", "anger", "surprise", "fear"]


@pytest.fixture
def seed7_root(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "EEG_preprocessed").mkdir()
    (tmp_path / "EEG_features").mkdir()
    for s in (1, 2):
        eeg = {str(k): rng.normal(0, 20, (62, 200 * 9)) for k in range(1, 81)}     # microvolts
        scipy.io.savemat(tmp_path / "EEG_preprocessed" / f"{s}.mat", eeg)
        feats = {}
        for k in range(1, 81):
            n_w = 3 + k % 3
            base = rng.normal(size=(n_w, 5, 62))
            feats.update({f"de_{k}": base, f"de_LDS_{k}": base + 100 * s, f"psd_{k}": np.exp(base)})
        scipy.io.savemat(tmp_path / "EEG_features" / f"{s}.mat", feats)
    (tmp_path / "labels.csv").write_text("clip,emotion\n" + "".join(
        f"{k},{EMO_ORDER[(k - 1) % 7].capitalize() if k % 5 == 0 else EMO_ORDER[(k - 1) % 7]}\n" for k in range(1, 81)))
    return tmp_path


def test_labels_csv(seed7_root):
    t = read_seed7_labels(seed7_root / "labels.csv")
    assert len(t) == 80 and set(t.emotion) == set(EMO_ORDER)
    assert t.emotion[4] == "anger"            # "Anger" capitalised in the file


def test_labels_csv_with_unknown_emotion_names_line_and_value(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("clip,emotion\n1,happy\n2,boredom\n")
    with pytest.raises(ValueError, match=r"l\.csv.*\(3, 'boredom'\)"):
        read_seed7_labels(p)


def test_labels_csv_bad_header_and_clip(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("video,label\n1,happy\n")
    with pytest.raises(ValueError, match="lacks column"):
        read_seed7_labels(p)
    p.write_text("clip,emotion\n81,happy\n")
    with pytest.raises(ValueError, match=r"1\.\.80"):
        read_seed7_labels(p)


def test_read_features_transposes_and_labels(seed7_root):
    fs = read_seed7_features(seed7_root, seed7_root / "labels.csv", kind="de_LDS", normalize=None)
    assert list_subjects(seed7_root) == [1, 2]
    n_windows = 2 * sum(3 + k % 3 for k in range(1, 81))
    assert fs.X.shape == (n_windows, 1, 62, 5)
    raw = scipy.io.loadmat(seed7_root / "EEG_features" / "2.mat")["de_LDS_7"]   # (n_windows, 5, 62)
    sel = ((fs.meta.subject == 2) & (fs.meta.trial == 7)).to_numpy()
    np.testing.assert_allclose(fs.X[sel][:, 0], raw.transpose(0, 2, 1), rtol=1e-6)
    row = fs.meta[sel].iloc[0]
    assert row.emotion == EMO_ORDER[6] and row.session == 1
    assert fs.meta[fs.meta.trial == 41].session.iloc[0] == 3
    z = read_seed7_features(seed7_root, seed7_root / "labels.csv")          # per-subject z-scored
    assert abs(z.X[z.meta.subject.to_numpy() == 2].mean()) < 1e-4
    with pytest.raises(ValueError, match="allowed"):
        read_seed7_features(seed7_root, seed7_root / "labels.csv", kind="wavelet")


def test_iter_eeg_gives_volts_and_rows(seed7_root):
    it = iter_seed7_eeg(seed7_root, seed7_root / "labels.csv", subjects=[1])
    raw, row = next(it)
    mat = scipy.io.loadmat(seed7_root / "EEG_preprocessed" / "1.mat")["1"]
    np.testing.assert_allclose(raw.get_data(), mat * 1e-6)
    assert row["trial"] == 1 and row["emotion"] == "happiness" and raw.info["sfreq"] == 200


def test_wrong_array_shape_names_file_and_key(seed7_root):
    mat = scipy.io.loadmat(seed7_root / "EEG_features" / "1.mat")
    mat["de_LDS_3"] = np.zeros((4, 62, 5))       # channels and bands swapped
    scipy.io.savemat(seed7_root / "EEG_features" / "1.mat", {k: v for k, v in mat.items() if not k.startswith("__")})
    with pytest.raises(EEGDataError, match=r"1\.mat key 'de_LDS_3'.*\(4, 62, 5\)"):
        read_seed7_features(seed7_root, seed7_root / "labels.csv")
    eeg = scipy.io.loadmat(seed7_root / "EEG_preprocessed" / "2.mat")
    eeg["1"] = eeg["1"].T
    scipy.io.savemat(seed7_root / "EEG_preprocessed" / "2.mat",
                     {k: v for k, v in eeg.items() if not k.startswith("__")})
    with pytest.raises(EEGDataError, match=r"2\.mat key '1'.*\(1800, 62\)"):
        next(iter_seed7_eeg(seed7_root, seed7_root / "labels.csv", subjects=[2]))


def test_missing_layout_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="EEG_features"):
        list_subjects(tmp_path)


def test_default_table_follows_the_design_of_seed7():
    t = default_seed7_labels()
    assert t["clip"].tolist() == list(range(1, 81))
    counts = t.emotion.value_counts()
    assert counts["neutral"] == 8 and (counts.drop("neutral") == 12).all() and len(counts) == 7
    for session in range(4):                                    # clips 11-20 of a session repeat clips 1-10
        first = t.emotion[session * 20:session * 20 + 10].tolist()
        assert first == list(SEED7_SESSION_ORDER[session]) == t.emotion[session * 20 + 10:session * 20 + 20].tolist()
    assert t.emotion[0] == "happiness" and t.emotion[22] == "fear" and t.emotion[79] == "disgust"


def test_default_table_is_used_without_a_csv_and_a_csv_overrides_it(seed7_root):
    fs = read_seed7_features(seed7_root, kind="de", normalize=None)
    by_clip = fs.meta.drop_duplicates("trial").set_index("trial").emotion
    default = default_seed7_labels().set_index("clip").emotion
    assert (by_clip == default.loc[by_clip.index]).all() and len(by_clip) == 80
    own = read_seed7_features(seed7_root, seed7_root / "labels.csv", kind="de", normalize=None)
    assert own.meta.drop_duplicates("trial").set_index("trial").emotion.loc[5] == "anger"
    assert by_clip.loc[3] == "disgust"
    assert own.meta.drop_duplicates("trial").set_index("trial").emotion.loc[3] == "disgust"
    assert (own.meta.emotion != fs.meta.emotion).any()


def test_trial_keys_sort_as_numbers(tmp_path):
    (tmp_path / "EEG_features").mkdir()
    (tmp_path / "EEG_preprocessed").mkdir()
    rng = np.random.default_rng(0)
    keys = sorted(str(k) for k in (1, 2, 3, 10, 11, 20))                      # written in string order: 1, 10, 11, 2...
    scipy.io.savemat(tmp_path / "EEG_features" / "10.mat", {f"de_{k}": rng.normal(size=(2, 5, 62)) for k in keys})
    scipy.io.savemat(tmp_path / "EEG_features" / "2.mat", {f"de_{k}": rng.normal(size=(2, 5, 62)) for k in keys})
    scipy.io.savemat(tmp_path / "EEG_preprocessed" / "2.mat", {k: rng.normal(0, 20, (62, 1000)) for k in keys})
    assert list_subjects(tmp_path) == [2, 10]
    fs = read_seed7_features(tmp_path, kind="de", normalize=None)
    assert fs.meta.drop_duplicates(["subject", "trial"]).trial.tolist() == [1, 2, 3, 10, 11, 20] * 2
    assert [row["trial"] for _, row in iter_seed7_eeg(tmp_path)] == [1, 2, 3, 10, 11, 20]


def _official_de(eeg_uv):
    """SEED's official extractor loop on one clip: 4-s windows, nfft 256, (n_windows, 5, 62) like the shipped files."""
    n, nfft, fs = 800, 256, 200
    bands = [(1, 4), (4, 8), (8, 14), (14, 31), (31, 50)]
    hann = np.array([0.5 - 0.5 * np.cos(2 * np.pi * k / (n + 1)) for k in range(1, n + 1)])
    out = np.zeros((eeg_uv.shape[1] // n, len(bands), eeg_uv.shape[0]))
    for w in range(out.shape[0]):
        for c in range(eeg_uv.shape[0]):
            mag = np.abs(np.fft.fft(eeg_uv[c, w * n:(w + 1) * n] * hann, nfft)[: nfft // 2])
            for b, (lo, hi) in enumerate(bands):
                a, z = int(lo / fs * nfft), int(hi / fs * nfft)
                out[w, b, c] = np.log2(100 * np.mean(mag[a - 1:z] ** 2))
    return out


def test_fft_seed_features_from_the_eeg_sit_beside_the_shipped_de(tmp_path):
    (tmp_path / "EEG_features").mkdir()
    (tmp_path / "EEG_preprocessed").mkdir()
    rng = np.random.default_rng(4)
    eeg = {str(k): rng.normal(0, 20, (62, 200 * 12)) for k in (1, 2, 3)}
    scipy.io.savemat(tmp_path / "EEG_preprocessed" / "1.mat", eeg)
    scipy.io.savemat(tmp_path / "EEG_features" / "1.mat", {f"de_{k}": _official_de(v) for k, v in eeg.items()})
    shipped = read_seed7_features(tmp_path, kind="de", normalize=None)
    cfg = DataConfig(de_method="fft_seed", lds=False, normalize=None)
    ours = featureset_from_recordings(iter_seed7_eeg(tmp_path), cfg, preprocess=False, progress=False)
    assert ours.X.shape == shipped.X.shape == (9, 1, 62, 5)
    np.testing.assert_allclose(ours.X, shipped.X, rtol=1e-5)                 # float32 storage
    full = featureset_from_recordings(iter_seed7_eeg(tmp_path), DataConfig(de_method="fft", lds=False, normalize=None),
                                      preprocess=False, progress=False)
    assert np.abs(full.X - shipped.X).max() > 0.1                           # the default form reads all 800 samples
