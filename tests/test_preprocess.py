import mne
import numpy as np
import pytest
from scipy.signal import butter, filtfilt

from e2llm_lab.channels import SEED_CH_NAMES, make_info
from e2llm_lab.config import DataConfig
from e2llm_lab.preprocess import (EEGDataError, detect_bad_channels, differential_entropy, extract_features,
                                  lds_smooth, normalize_per_subject, preprocess_raw, validate_eeg, window_view)

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


def test_gaussian_de_matches_per_channel_per_window_reference():
    x = _noise()
    de = differential_entropy(x, SF, window_s=4.0, method="gaussian")
    assert de.shape == (3, 4, 5)
    ref = np.empty_like(de)
    for j, (_, lo, hi) in enumerate(BANDS):
        b, a = butter(4, [lo, hi], btype="bandpass", fs=SF)   # (b, a) form, filtfilt: another code path
        for c in range(4):
            y = filtfilt(b, a, x[c], padtype="odd", padlen=3 * max(len(a), len(b)))
            for w in range(3):
                seg = y[w * 800:(w + 1) * 800]
                ref[w, c, j] = 0.5 * np.log(2 * np.pi * np.e * np.var(seg))
    # filter implementations differ at the edges only; values agree to a few hundredths of a nat
    np.testing.assert_allclose(de[1], ref[1], atol=0.03)
    np.testing.assert_allclose(de, ref, atol=0.15)


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
