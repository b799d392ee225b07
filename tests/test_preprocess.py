import mne
import numpy as np
import pytest
from scipy.signal import butter, filtfilt, sosfiltfilt

from e2llm_lab.channels import SEED_CH_NAMES, make_info
from e2llm_lab.config import DataConfig
from e2llm_lab.data.de import differential_entropy, lds_smooth, window_view
from e2llm_lab.data.errors import EEGDataError
from e2llm_lab.data.featureset import normalize_per_subject
from e2llm_lab.data.filtering import detect_bad_channels, preprocess_raw, validate_eeg
from e2llm_lab.data.recordings import extract_features

SF = 200.0
BANDS = DataConfig().bands


def _noise(n_chans=4, seconds=12, seed=0):
    return np.random.default_rng(seed).normal(0, 10, (n_chans, int(seconds * SF)))


def test_window_view_is_a_view_with_right_windows():
    x = np.arange(2 * 1000, dtype=float).reshape(2, 1000)
    w = window_view(x, 100.0, 2.0, 1.0)
    assert w.shape == (9, 2, 200)
    np.testing.assert_array_equal(w[3, 1], x[1, 300:500])
    assert np.shares_memory(w, x)


def _filtfilt_de(x, padlen=None):
    """Gaussian DE by another code path: (b, a) Butterworth, filtfilt per channel, variance per window."""
    n_win = 800
    ref = np.empty((x.shape[1] // n_win, x.shape[0], len(BANDS)))
    for j, (_, lo, hi) in enumerate(BANDS):
        b, a = butter(4, [lo, hi], btype="bandpass", fs=SF)
        for c in range(x.shape[0]):
            y = filtfilt(b, a, x[c], padtype="odd", padlen=padlen)
            for w in range(ref.shape[0]):
                ref[w, c, j] = 0.5 * np.log(2 * np.pi * np.e * np.var(y[w * n_win:(w + 1) * n_win]))
    return ref


def test_gaussian_de_matches_time_domain_filtfilt_away_from_the_edges():
    x = _noise(seconds=40)
    de = differential_entropy(x, SF, window_s=4.0, method="gaussian")
    assert de.shape == (10, 4, 5) and de.dtype == np.float64
    ref = _filtfilt_de(x)
    # the frequency-domain form and filtfilt differ only in how they extend the edges
    np.testing.assert_allclose(de[1:-1], ref[1:-1], rtol=1e-4)
    assert np.abs(de[[0, -1]] - ref[[0, -1]]).max() > 1e-3       # the edges really are treated differently
    # with filtfilt given the same 2-s odd extension, the edge windows agree too
    np.testing.assert_allclose(de, _filtfilt_de(x, padlen=int(2 * SF)), rtol=1e-2)


def test_gaussian_de_overlapping_windows_match_the_non_overlapping_ones():
    x = _noise(seconds=40)
    de = differential_entropy(x, SF, window_s=4.0, method="gaussian")
    de_half = differential_entropy(x, SF, window_s=4.0, stride_s=2.0, method="gaussian")
    assert de_half.shape == (19, 4, 5)
    np.testing.assert_allclose(de_half[::2], de, rtol=1e-6)


def test_gaussian_de_of_a_sine_is_analytic():
    t = np.arange(int(20 * SF)) / SF
    amp = 7.0
    x = amp * np.sin(2 * np.pi * 10.0 * t)[None]                # 10 Hz: alpha band only
    de = differential_entropy(x, SF, window_s=4.0, method="gaussian")
    expected = 0.5 * np.log(2 * np.pi * np.e * amp**2 / 2)
    assert de[1:-1, 0, 2] == pytest.approx(expected, abs=0.02)   # alpha: variance A^2/2
    assert (de[1:-1, 0, [0, 4]] < expected - 3).all()            # delta, gamma: nearly nothing


def test_fft_de_matches_seed_style_loop():
    x = _noise(3, 8, seed=1)
    de, psd = differential_entropy(x, SF, window_s=4.0, method="fft", return_power=True)
    n, nfft = 800, 1024
    hann = np.array([0.5 - 0.5 * np.cos(2 * np.pi * k / (n + 1)) for k in range(1, n + 1)])
    for w in range(2):
        for c in range(3):
            mag = np.abs(np.fft.fft(x[c, w * n:(w + 1) * n] * hann, nfft))[: nfft // 2]
            for j, (_, lo, hi) in enumerate(BANDS):
                first, last = int(lo / SF * nfft), int(hi / SF * nfft)
                e = sum(mag[k] ** 2 for k in range(first - 1, last)) / (last - first + 1)
                assert psd[w, c, j] == pytest.approx(e, rel=1e-9)
                assert de[w, c, j] == pytest.approx(np.log2(100 * e), rel=1e-9)


def _official_loop(data, nfft):
    """A re-implementation of SEED's official extractor loop: per 4-s window, per channel, per band, per bin."""
    n = 800                                                         # window * fs
    hann = np.array([0.5 - 0.5 * np.cos(2 * np.pi * k / (n + 1)) for k in range(1, n + 1)])
    starts = [int(lo / SF * nfft) for _, lo, _ in BANDS]
    ends = [int(hi / SF * nfft) for _, _, hi in BANDS]
    de = np.zeros((data.shape[1] // n, data.shape[0], len(BANDS)))
    for w in range(de.shape[0]):
        seg = data[:, w * n:(w + 1) * n]
        for c in range(seg.shape[0]):
            mag = np.abs(np.fft.fft(seg[c] * hann, nfft)[: nfft // 2])     # fft(x, N) crops x when N < len(x)
            for p in range(len(BANDS)):
                e = 0.0
                for p0 in range(starts[p] - 1, ends[p]):
                    e += mag[p0] * mag[p0]
                de[w, c, p] = np.log2(100 * e / (ends[p] - starts[p] + 1))
    return de


def test_fft_seed_reproduces_the_official_extractor_with_its_first_256_samples_quirk():
    x = _noise(3, 12, seed=2)
    de = differential_entropy(x, SF, window_s=4.0, method="fft_seed")
    np.testing.assert_allclose(de, _official_loop(x, 256), rtol=1e-12)
    # the quirk is real: only each window's first 256 samples matter
    y = x.copy()
    y[:, 300:800] = 0.0
    np.testing.assert_array_equal(differential_entropy(y, SF, method="fft_seed")[0], de[0])
    assert not np.allclose(differential_entropy(y, SF, method="fft")[0], differential_entropy(x, SF, method="fft")[0])


@pytest.mark.parametrize("nfft", [512, 1024, 2048])
def test_fft_de_matches_the_official_loop_at_any_nfft(nfft):
    x = _noise(2, 8, seed=3)
    np.testing.assert_allclose(differential_entropy(x, SF, method="fft", nfft=nfft), _official_loop(x, nfft),
                               rtol=1e-12)


def test_fft_seed_refuses_another_nfft_and_tiny_nfft_is_an_error():
    with pytest.raises(ValueError, match="fixes nfft=256"):
        differential_entropy(_noise(), SF, method="fft_seed", nfft=512)
    with pytest.raises(ValueError, match="no FFT bins"):
        differential_entropy(_noise(), SF, method="fft", nfft=16)


# ---- DE at the sampling rates of other public datasets (DEAP/DREAMER 128, FACED 250, SEED-V raw 1000 Hz) -------

def _rate_noise(sfreq, n_chans=5, seconds=24, seed=4):
    """Noise with DC offsets and unequal channel scales, as raw EEG has."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 10, (n_chans, int(seconds * sfreq))) * rng.uniform(0.5, 3, (n_chans, 1))
    return x + rng.uniform(-50, 50, (n_chans, 1))


def _window_loop_de(x, sfreq, nfft, window_s=4.0, stride_s=4.0):
    """SEED's formula as a plain per-window loop, channels vectorised: fft(window * hann, nfft), band means."""
    n_win, hop = int(round(window_s * sfreq)), int(round(stride_s * sfreq))
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1, n_win + 1) / (n_win + 1))
    out = []
    for start in range(0, x.shape[1] - n_win + 1, hop):
        mag2 = np.abs(np.fft.fft(x[:, start:start + n_win] * hann, nfft, axis=-1)[:, : nfft // 2]) ** 2
        bins = [(int(lo / sfreq * nfft) - 1, int(hi / sfreq * nfft)) for _, lo, hi in BANDS]
        out.append(np.stack([np.log2(100 * mag2[:, a:b].mean(-1)) for a, b in bins], axis=-1))
    return np.stack(out)                                            # (n_windows, n_chans, n_bands)


def _sosfiltfilt_de(x, sfreq, window_s=4.0):
    """Gaussian DE in the time domain with the frequency-domain form's 2-s odd extension."""
    power = []
    for _, lo, hi in BANDS:
        sos = butter(4, [lo, hi], btype="bandpass", fs=sfreq, output="sos")
        y = sosfiltfilt(sos, x, axis=-1, padlen=int(2 * sfreq))
        power.append(window_view(y, sfreq, window_s, window_s).var(axis=-1))
    return 0.5 * np.log(2 * np.pi * np.e * np.stack(power, axis=-1))


@pytest.mark.parametrize("sfreq", [128.0, 250.0, 1000.0])
def test_fft_de_matches_the_window_loop_at_other_rates(sfreq):
    x = _rate_noise(sfreq)
    nfft = int(2 ** np.ceil(np.log2(4 * sfreq)))                   # the default: 512, 1024, 4096
    de = differential_entropy(x, sfreq, method="fft")
    assert de.shape == (6, 5, 5)
    np.testing.assert_allclose(de, _window_loop_de(x, sfreq, nfft), rtol=1e-6)


@pytest.mark.parametrize("sfreq", [128.0, 250.0])
def test_fft_seed_matches_the_window_loop_at_other_rates(sfreq):
    x = _rate_noise(sfreq, seed=5)
    np.testing.assert_allclose(differential_entropy(x, sfreq, method="fft_seed"), _window_loop_de(x, sfreq, 256),
                               rtol=1e-6)


def test_fft_seed_at_1000_hz_has_no_delta_bins_and_says_so():
    with pytest.raises(ValueError, match=r"\('delta', 1.0, 4.0\) has no FFT bins at nfft=256"):
        differential_entropy(_rate_noise(1000.0, seconds=8), 1000.0, method="fft_seed")


@pytest.mark.parametrize("sfreq, nfft, stride_s", [(1000.0, 2048, 4.0), (250.0, 1024, 1.5), (128.0, 1024, 0.5)])
def test_fft_de_cropping_padding_and_overlap_match_the_window_loop(sfreq, nfft, stride_s):
    # nfft 2048 < 4000 samples crops each window as fft(x, nfft) does; 1024 > 512 zero-pads; strides overlap
    x = _rate_noise(sfreq, seconds=16, seed=6)
    de = differential_entropy(x, sfreq, method="fft", nfft=nfft, stride_s=stride_s)
    np.testing.assert_allclose(de, _window_loop_de(x, sfreq, nfft, stride_s=stride_s), rtol=1e-6)


@pytest.mark.parametrize("sfreq", [128.0, 250.0, 1000.0])
def test_gaussian_de_matches_sosfiltfilt_at_other_rates(sfreq):
    x = _rate_noise(sfreq, seconds=32, seed=7)
    de = differential_entropy(x, sfreq, method="gaussian")
    ref = _sosfiltfilt_de(x, sfreq)
    assert de.shape == ref.shape == (8, 5, 5)
    np.testing.assert_allclose(de[1:-1], ref[1:-1], rtol=1e-4)     # the edge windows differ by construction


def test_de_blocks_that_split_channels_and_windows_unevenly_change_nothing(monkeypatch):
    from e2llm_lab.data import de as de_code  # where the DE code lives now

    x = _rate_noise(250.0, n_chans=7, seconds=40, seed=8)
    fft, seed, gauss = (differential_entropy(x, 250.0, method=m, stride_s=2.0) for m in ("fft", "fft_seed", "gaussian"))
    # 3 (channel, window) rows per FFT block with 19 windows; Gaussian blocks of 3 channels out of 7
    monkeypatch.setattr(de_code, "_FFT_BLOCK_BYTES", 3 * 8 * 1024)
    monkeypatch.setattr(de_code, "_GAUSSIAN_BLOCK_CHANS", 3)
    # the FFT batches rows differently, so the last bit may differ; nothing more
    np.testing.assert_allclose(differential_entropy(x, 250.0, method="fft", stride_s=2.0), fft, rtol=1e-12)
    np.testing.assert_allclose(differential_entropy(x, 250.0, method="fft_seed", stride_s=2.0), seed, rtol=1e-12)
    np.testing.assert_allclose(differential_entropy(x, 250.0, method="gaussian", stride_s=2.0), gauss, rtol=1e-6)
    np.testing.assert_allclose(fft, _window_loop_de(x, 250.0, 1024, stride_s=2.0), rtol=1e-6)


@pytest.mark.parametrize("method", ["fft", "gaussian"])
def test_de_without_numpy_fft_out_gives_the_same_values(method, monkeypatch):
    from e2llm_lab.data import de as de_code

    x = _rate_noise(128.0, seconds=16, seed=9)
    expected = differential_entropy(x, 128.0, method=method)
    monkeypatch.setattr(de_code, "_NUMPY_FFT_OUT", False)              # the numpy < 2 path: scipy's FFT copied in
    np.testing.assert_allclose(differential_entropy(x, 128.0, method=method), expected, rtol=1e-6)


@pytest.mark.parametrize("method", ["fft", "fft_seed"])
def test_fft_de_of_float32_and_integer_recordings_equals_their_float64_values(method):
    x32 = _rate_noise(250.0, seconds=12, seed=10).astype(np.float32)
    xint = np.round(x32 * 10).astype(np.int32)
    for x in (x32, xint):
        np.testing.assert_allclose(differential_entropy(x, 250.0, method=method),
                                   differential_entropy(x.astype(np.float64), 250.0, method=method), rtol=1e-12)


def test_unknown_de_method_raises():
    with pytest.raises(ValueError, match="gaussian"):
        differential_entropy(_noise(), SF, method="wavelet")


def test_lds_matches_map_solution_of_the_chain():
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(0, 0.1, (30, 3, 2)), axis=0) + rng.normal(0, 0.2, (30, 3, 2))
    q, r = 0.01, 0.04
    s = lds_smooth(y, q=q, r=r)
    # Posterior mean = argmin sum (y_t - s_t)^2 / r + sum (s_t - s_{t-1})^2 / q + (s_0 - y_0)^2 / r
    n = 30
    A = np.diag(np.full(n, 1 / r))
    D = np.diff(np.eye(n), axis=0)
    A += D.T @ D / q
    A[0, 0] += 1 / r
    flat = y.reshape(n, -1)
    bvec = flat / r
    bvec[0] += flat[0] / r
    ref = np.linalg.solve(A, bvec).reshape(y.shape)
    np.testing.assert_allclose(s, ref, atol=1e-10)
    assert np.var(np.diff(s, axis=0)) < np.var(np.diff(y, axis=0))


def test_normalize_per_subject():
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, (40, 2, 4, 5)).astype(np.float32)
    subj = np.repeat([1, 2], 20)
    X[subj == 2] += 10
    Z = normalize_per_subject(X, subj)
    for s in (1, 2):
        flat = Z[subj == s].reshape(-1, 4, 5)
        np.testing.assert_allclose(flat.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(flat.std(0), 1, atol=1e-3)


def test_preprocess_removes_line_noise_and_interpolates_loose_electrode(tiny_cohort):
    raws, _ = tiny_cohort
    raw = raws[0].copy()
    bad = "CP3"
    rng = np.random.default_rng(0)
    raw._data[SEED_CH_NAMES.index(bad)] += rng.normal(0, 100e-6, raw.n_times)
    assert bad in detect_bad_channels(raw)
    out = preprocess_raw(raw)
    psd_in = raws[0].compute_psd(fmin=45, fmax=55, verbose="error")
    psd_out = out.compute_psd(fmin=45, fmax=55, verbose="error")
    f = psd_in.freqs
    at50 = np.argmin(np.abs(f - 50))
    assert np.median(psd_out.get_data()[:, at50]) < 0.01 * np.median(psd_in.get_data()[:, at50])
    sd = out.get_data().std(axis=1)
    assert sd[SEED_CH_NAMES.index(bad)] < 3 * np.median(sd)        # interpolated, no longer 100 uV of noise
    np.testing.assert_allclose(out.get_data().mean(axis=0), 0, atol=1e-12)   # average reference


def test_extract_features_shape_and_dtype(tiny_cohort):
    de = extract_features(tiny_cohort[0][0])
    assert de.shape == (4, 62, 5) and de.dtype == np.float32 and np.isfinite(de).all()


# ---- bad input: one test per case ------------------------------------------------------------------

def test_nan_sample_names_channel_and_time():
    x = _noise()
    x[2, 450] = np.nan
    with pytest.raises(EEGDataError, match=r"'C'.*sample 450.*2\.25 s"):
        validate_eeg(x, SF, ["A", "B", "C", "D"], source="rec.edf")


def test_inf_sample_raises():
    x = _noise()
    x[0, 10] = np.inf
    with pytest.raises(EEGDataError, match="non-finite"):
        validate_eeg(x, SF, ["A", "B", "C", "D"])


def test_flat_channel_raises_naming_it():
    x = _noise()
    x[1] = 0.0
    with pytest.raises(EEGDataError, match=r"flat channel\(s\) \['B'\].*rec\.fif"):
        validate_eeg(x, SF, ["A", "B", "C", "D"], source="rec.fif")


def test_recording_shorter_than_one_window_raises():
    with pytest.raises(EEGDataError, match="shorter than one 4.0 s"):
        validate_eeg(_noise(seconds=3), SF, ["A", "B", "C", "D"])


def test_nyquist_below_top_band_raises():
    with pytest.raises(EEGDataError, match="Nyquist 45.0 Hz.*50.0 Hz"):
        validate_eeg(_noise(), 90.0, ["A", "B", "C", "D"])


def test_wrong_shape_raises():
    with pytest.raises(EEGDataError, match=r"got \(100, 4\)"):
        validate_eeg(_noise().T[:100], SF, ["A", "B", "C", "D"])


def test_preprocess_rejects_flat_channel_in_raw():
    info = make_info(SEED_CH_NAMES[:8], SF)
    x = _noise(8) * 1e-6
    x[5] = 0
    raw = mne.io.RawArray(x, info, verbose="error")
    with pytest.raises(EEGDataError, match="F7"):
        preprocess_raw(raw, source="subject 1")
    raw.info["bads"] = ["F7"]            # the documented remedy: mark it, and it is interpolated
    out = preprocess_raw(raw)
    assert out.get_data()[5].std() > 0


def test_a_config_saved_with_the_old_bad_channels_name_still_loads():
    from dataclasses import asdict

    from e2llm_lab.config import config_from_dict

    old = {**asdict(DataConfig(bad_channel_policy="keep")), "bad_channels": "keep"}
    del old["bad_channel_policy"]
    assert config_from_dict(DataConfig, old).bad_channel_policy == "keep"
    with pytest.raises(ValueError, match="bad_channel_policy='drop'"):
        preprocess_raw(mne.io.RawArray(_noise(62, 12) * 1e-6, make_info(SEED_CH_NAMES, SF), verbose="error"),
                       DataConfig(bad_channel_policy="drop"))
