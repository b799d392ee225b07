"""Band features of EEG arrays: windowing, differential entropy (DE), LDS smoothing.

Differential entropy (DE) comes in three forms, all vectorised over channels and windows:

``"gaussian"``
    Band-pass the signal (zero-phase Butterworth), then in each window
    ``DE = 0.5 * log(2 * pi * e * var)`` -- the entropy of a Gaussian with that variance
    (Duan, Zhu & Lu 2013, "Differential entropy feature for EEG-based emotion classification", NER).
``"fft"``
    SEED's formula: Hann-window each segment, FFT, average ``|X|^2`` over the band's bins (``E``),
    ``DE = log2(100 * E)``, over the whole window.
``"fft_seed"``
    SEED's official extractor exactly, its ``nfft = 256`` included: with 4-s windows at 200 Hz the FFT reads
    only each window's first 256 samples. Use it to put features computed here beside SEED-VII's shipped ``de_*``.

Features are computed on data in microvolts, as SEED-VII stores its EEG. The readers compute features with these
functions, so they sit in the data layer; :mod:`e2llm_lab.preprocess` re-exports them.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import scipy.fft as sfft
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import butter, sosfreqz

from ..config import DataConfig
from .errors import EEGDataError

__all__ = ["window_view", "DE_METHODS", "SEED_NFFT", "differential_entropy", "lds_smooth"]


def window_view(data: np.ndarray, sfreq: float, window_s: float, stride_s: float) -> np.ndarray:
    """Windows of a recording as a strided view (no copy).

    Parameters
    ----------
    data : np.ndarray, shape (n_chans, n_times)

    Returns
    -------
    windows : np.ndarray, shape (n_windows, n_chans, n_win)
        ``n_win = round(window_s * sfreq)``; the tail that does not fill a window is dropped.
    """
    n_win, hop = int(round(window_s * sfreq)), int(round(stride_s * sfreq))
    if n_win < 1 or hop < 1:
        raise ValueError(f"window_s={window_s} and stride_s={stride_s} must each span at least one sample")
    if data.shape[-1] < n_win:
        raise EEGDataError(f"recording of {data.shape[-1]} samples is shorter than one window of {n_win} samples")
    view = sliding_window_view(data, n_win, axis=-1)[:, ::hop]   # (C, n_windows, n_win)
    return view.transpose(1, 0, 2)                                  # -> (n_windows, C, n_win)


def _seed_hann(n: int) -> np.ndarray:
    # SEED's extractor uses 0.5 - 0.5 cos(2 pi k / (n + 1)), k = 1..n (no zero end-points)
    k = np.arange(1, n + 1)
    return 0.5 - 0.5 * np.cos(2 * np.pi * k / (n + 1))


def _fft_band_bins(band: tuple, sfreq: float, nfft: int) -> slice:
    # SEED's bin convention: from int(lo/fs*N) to int(hi/fs*N), both 1-based and inclusive
    return slice(int(band[1] / sfreq * nfft) - 1, int(band[2] / sfreq * nfft))


#: DE forms of :func:`differential_entropy`.
DE_METHODS = ("gaussian", "fft", "fft_seed")
#: FFT length of SEED's official extractor: with 4-s windows at 200 Hz it reads each window's first 256 samples.
SEED_NFFT = 256
_FILTER_ORDER = 4


@lru_cache(maxsize=16)
def _butter_gain2(n_fft: int, sfreq: float, bands: tuple) -> np.ndarray:
    """Squared magnitude of each band's Butterworth band-pass on the rFFT grid, shape (n_bands, n_fft // 2 + 1).

    Filtering forwards and backwards with a filter multiplies the spectrum by exactly this (zero phase), which is
    what ``sosfiltfilt`` does in the time domain.
    """
    freqs = sfft.rfftfreq(n_fft, 1 / sfreq)
    gains = []
    for _, lo, hi in bands:
        sos = butter(_FILTER_ORDER, [lo, hi], btype="bandpass", fs=sfreq, output="sos")
        gains.append(np.abs(sosfreqz(sos, worN=freqs, fs=sfreq)[1]) ** 2)
    return np.stack(gains).astype(np.float32)


#: Channels band-passed together by the Gaussian form: a few, so each transform's buffers stay in cache.
_GAUSSIAN_BLOCK_CHANS = 8


def _gaussian_band_power(data: np.ndarray, sfreq: float, bands: tuple, n_win: int, hop: int) -> np.ndarray:
    """Variance of each band-passed channel in each window, shape (n_windows, C, F).

    Zero-phase band-pass in the frequency domain over the whole recording: one rFFT per channel, then per band one
    multiply by the Butterworth's squared magnitude and one inverse, in float32, blocks of channels spread over
    the CPU cores. The recording is extended by odd reflection (as ``sosfiltfilt`` does) so the circular transform
    does not wrap one end onto the other; values agree with ``sosfiltfilt`` to ~1e-6 except in the first and last
    window, where the two edge treatments differ.

    Each core takes blocks of ``_GAUSSIAN_BLOCK_CHANS`` channels through buffers it allocates once: transforming
    half the channels at once moved tens of MB per band through memory and page-faulted a fresh inverse on every
    band (1.2-1.7x slower at 200-1000 Hz).
    """
    C, n = data.shape
    pad = min(n - 1, int(2 * sfreq))                     # 2 s: the band-passes' responses have died out by then
    n_fft = sfft.next_fast_len(n + 2 * pad, real=True)
    gain = _butter_gain2(n_fft, float(sfreq), tuple(bands))                    # (F, K)
    starts = np.arange(0, n - n_win + 1, hop)
    ones = np.ones(n_win, np.float32)
    cb = min(C, _GAUSSIAN_BLOCK_CHANS)
    power = np.empty((C, len(starts), len(gain)))                              # (C, W, F); blocks fill their rows

    def worker(blocks: list) -> None:
        x = np.zeros((cb, n_fft), np.float32)            # [reflection | data | reflection | zeros up to n_fft]
        z = np.empty((cb, n_fft // 2 + 1), np.complex64)
        y = np.empty((cb, n_fft), np.float32)
        for rows in blocks:
            c, d = len(rows), data[rows]
            x[:c, pad:pad + n] = d
            x[:c, :pad] = 2 * d[:, :1] - d[:, pad:0:-1]
            x[:c, pad + n:pad + n + pad] = 2 * d[:, -1:] - d[:, -2:-pad - 2:-1]
            spectrum = sfft.rfft(x[:c], axis=-1)                                # (c, n_fft) -> (c, K)
            for j, g in enumerate(gain):
                np.multiply(spectrum, g, out=z[:c])
                if _NUMPY_FFT_OUT:                                             # (c, K) -> (c, n_fft)
                    np.fft.irfft(z[:c], n_fft, axis=-1, out=y[:c])
                else:                                                          # numpy < 2 would give float64
                    y[:c] = sfft.irfft(z[:c], n_fft, axis=-1)
                yb = y[:c, pad:pad + n]
                if hop == n_win:                                               # non-overlapping: a reshape
                    w = yb[:, :len(starts) * n_win].reshape(c, len(starts), n_win)
                else:
                    w = sliding_window_view(yb, n_win, axis=-1)[:, starts]
                s1 = (w @ ones).astype(np.float64) / n_win                    # float32 sums by BLAS, 800 terms
                s2 = (w[..., None, :] @ w[..., :, None])[..., 0, 0].astype(np.float64) / n_win
                power[rows, :, j] = s2 - s1**2                                 # (c, W)

    blocks = [np.arange(i, min(i + cb, C)) for i in range(0, C, cb)]
    n_workers = min(len(blocks), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        list(pool.map(worker, [blocks[k::n_workers] for k in range(n_workers)]))   # re-raises a worker's error
    return power.transpose(1, 0, 2)                                            # -> (W, C, F)


@lru_cache(maxsize=16)
def _fft_band_matrix(bands: tuple, sfreq: float, nfft: int) -> tuple[slice, np.ndarray]:
    """The rFFT bins the bands use, and the matrix that turns their squared parts into band means.

    Returns ``(used, avg)``: ``used`` spans every band's bins (nothing outside it is read), and
    ``avg`` has shape ``(2 * n_used, n_bands)``, rows in the order of the spectrum viewed as interleaved
    (real, imaginary) float64 pairs, so ``(re**2, im**2) @ avg`` gives each band's mean ``|X|^2`` in one product.
    """
    slices = []
    for b in bands:
        sl = _fft_band_bins(b, sfreq, nfft)
        if sl.start < 0 or sl.stop > nfft // 2 or sl.stop <= sl.start:
            raise ValueError(f"band {b} has no FFT bins at nfft={nfft}, sfreq={sfreq}; use a larger nfft")
        slices.append(sl)
    used = slice(min(sl.start for sl in slices), max(sl.stop for sl in slices))
    avg = np.zeros((used.stop - used.start, 2, len(bands)))          # (bin, re/im, band)
    for j, sl in enumerate(slices):
        avg[sl.start - used.start:sl.stop - used.start, :, j] = 1.0 / (sl.stop - sl.start)
    avg.flags.writeable = False                                      # cached: shared between calls
    return used, avg.reshape(-1, len(bands))                         # -> (2 * n_used, F)


#: Bytes of windowed input transformed at once by the FFT form: small enough that the buffers stay in cache.
_FFT_BLOCK_BYTES = 1 << 20
#: numpy's FFTs write into a given buffer from numpy 2 on; before, scipy's result is copied in (~15% slower).
_NUMPY_FFT_OUT = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def _fft_band_power(data: np.ndarray, sfreq: float, bands: tuple, n_win: int, hop: int, nfft: int) -> np.ndarray:
    """SEED's mean ``|X|^2`` over each band's bins per window, shape (n_windows, C, F).

    Like the official extractor, the Hann window spans the whole window and ``nfft`` shorter than the window keeps
    only its first ``nfft`` samples; those are the only samples transformed. One real FFT per (channel, window),
    only the bins the bands use are squared, and bins are averaged by one matrix product.

    The windows are read as a strided view of ``data`` and transformed in blocks of about
    ``_FFT_BLOCK_BYTES`` through buffers allocated once: transforming every window in one call streams
    arrays of tens of MB through memory (and page-faults them in on every call), which made that form no
    faster than a per-window loop; cache-sized blocks make it 3-4x faster.
    """
    used, avg = _fft_band_matrix(bands, float(sfreq), nfft)
    n_used = min(nfft, n_win)
    hann = _seed_hann(n_win)[:n_used]                                  # the quirk: first nfft samples
    frames = sliding_window_view(data, n_win, axis=-1)[:, ::hop, :n_used]   # (C, W, n_used), a view
    C, W = frames.shape[:2]
    rows = max(1, _FFT_BLOCK_BYTES // (8 * nfft))                      # (channel, window) pairs per block
    wb = min(W, rows)
    cb = min(C, max(1, rows // wb))
    buf = np.zeros((cb, wb, nfft))                                     # zero tail = the FFT's zero padding
    spec = np.empty((cb, wb, nfft // 2 + 1), np.complex128)
    sq = np.empty((cb, wb, avg.shape[0]))
    power = np.empty((C, W, len(bands)))
    for c0 in range(0, C, cb):
        for w0 in range(0, W, wb):
            f = frames[c0:c0 + cb, w0:w0 + wb]
            c, w = f.shape[:2]
            np.multiply(f, hann, out=buf[:c, :w, :n_used])
            if _NUMPY_FFT_OUT:                                                 # (c, w, nfft) -> (c, w, K)
                np.fft.rfft(buf[:c, :w], axis=-1, out=spec[:c, :w])
            else:
                spec[:c, :w] = sfft.rfft(buf[:c, :w], axis=-1)
            # complex bins viewed as (re, im) float pairs: |X|^2 is their squares, summed by ``avg``
            np.square(spec[:c, :w, used].view(np.float64), out=sq[:c, :w])     # (c, w, 2 * n_used)
            np.matmul(sq[:c, :w], avg, out=power[c0:c0 + c, w0:w0 + w])        # -> (c, w, F)
    return np.ascontiguousarray(power.transpose(1, 0, 2))                      # -> (W, C, F)


def differential_entropy(data: np.ndarray, sfreq: float, *, bands=DataConfig().bands, window_s: float = 4.0,
                         stride_s: float | None = None, method: str = "gaussian", nfft: int | None = None,
                         return_power: bool = False):
    """Differential entropy per window, channel and band.

    Parameters
    ----------
    data : np.ndarray, shape (n_chans, n_times)
        EEG (microvolts for SEED-comparable values).
    sfreq : float
    bands : tuple of (name, low, high)
    window_s, stride_s : float
        Window and hop in seconds (``stride_s`` defaults to ``window_s``).
    method : {"gaussian", "fft", "fft_seed"}
        ``"gaussian"``: 4th-order Butterworth band-pass applied forwards and backwards (zero phase) over the
        whole recording, then ``0.5 log(2 pi e var)`` per window. ``"fft"``: SEED's formula over the whole window.
        ``"fft_seed"``: SEED's official extractor exactly, ``nfft = 256`` included (with 4-s windows at 200 Hz it
        reads only the first 256 of each window's 800 samples), so features sit beside the dataset's ``de_*``.
    nfft : int, optional
        FFT length for ``"fft"`` (default: next power of two >= window length). Not allowed with "fft_seed".
    return_power : bool
        Also return band power (variance of the band-passed signal, or SEED's mean ``|X|^2``).

    Returns
    -------
    de : np.ndarray, shape (n_windows, n_chans, n_bands)
    power : np.ndarray, same shape (only with ``return_power=True``)
    """
    if method not in DE_METHODS:
        raise ValueError(f"method={method!r}; allowed: {DE_METHODS}")
    stride_s = window_s if stride_s is None else stride_s
    n_win, hop = int(round(window_s * sfreq)), int(round(stride_s * sfreq))
    data = np.asarray(data)
    if data.ndim != 2:
        raise EEGDataError(f"expected EEG of shape (n_chans, n_times), got {data.shape}")
    if n_win < 1 or hop < 1:
        raise ValueError(f"window_s={window_s} and stride_s={stride_s} must each span at least one sample")
    if data.shape[-1] < n_win:
        raise EEGDataError(f"recording of {data.shape[-1]} samples is shorter than one window of {n_win} samples")
    bands = tuple(tuple(b) for b in bands)
    if method == "gaussian":
        power = _gaussian_band_power(data, sfreq, bands, n_win, hop)
        de = 0.5 * np.log(2 * np.pi * np.e * power)
    else:
        if method == "fft_seed":
            if nfft is not None and nfft != SEED_NFFT:
                raise ValueError(f"method='fft_seed' fixes nfft={SEED_NFFT}; use method='fft' for nfft={nfft}")
            nfft = SEED_NFFT
        nfft = nfft or int(2 ** np.ceil(np.log2(n_win)))
        # real input is windowed straight into float64 buffers: no float64 copy of a float32 or integer recording
        real = data.dtype.kind in "fiu"
        power = _fft_band_power(data if real else np.asarray(data, dtype=np.float64), sfreq, bands, n_win, hop, nfft)
        de = np.log2(100 * power)
    return (de, power) if return_power else de


def lds_smooth(x: np.ndarray, *, q: float = 0.01, r: float = 0.04) -> np.ndarray:
    """Smooth feature sequences with a linear dynamical system (random-walk Kalman filter + RTS smoother).

    The state follows ``s_t = s_{t-1} + N(0, q)``, observed as ``y_t = s_t + N(0, r)``; the prior on
    ``s_0`` is ``N(y_0, r)``. SEED's ``de_LDS`` features use this kind of smoothing (Shi & Lu 2010).
    Every feature shares ``q`` and ``r``, so the gains are scalars per step and the filter runs over all
    features at once; only time is looped.

    Parameters
    ----------
    x : np.ndarray, shape (n_windows, ...)
        Time first.

    Returns
    -------
    np.ndarray, same shape
        Posterior means.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    m, p = np.empty_like(x), np.empty(n)
    m_prev, p_prev = x[0], r - q              # so that the first prediction has variance r
    for t in range(n):
        p_pred = p_prev + q
        k = p_pred / (p_pred + r)
        m[t] = m_prev + k * (x[t] - m_prev)
        p[t] = (1 - k) * p_pred
        m_prev, p_prev = m[t], p[t]
    s = m.copy()
    for t in range(n - 2, -1, -1):
        j = p[t] / (p[t] + q)
        s[t] = m[t] + j * (s[t + 1] - m[t])
    return s
