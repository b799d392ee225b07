"""Benchmark: DE extraction, both forms, against the loops people usually write.

Input: 4-minute, 62-channel, 200 Hz clips (SEED-VII's size), 4-s windows, 5 bands. Rates count channel-samples
(62 x 48,000 per clip) per second; each timing is the best of 3 passes, as neighbours on a shared machine are noisy.

Gaussian form (band-pass, then 0.5 log(2 pi e var)):
  - ``e2llm_lab``: zero-phase Butterworth in the frequency domain (one rFFT per channel, one inverse per band);
  - previous: ``sosfiltfilt`` per band over all channels (this package before the frequency-domain form);
  - TorchEEG-style loop: ``butter`` + ``lfilter`` per channel and band (as ``BandDifferentialEntropy`` does).
  Target: e2llm_lab >= 10x the previous form, and agreement to 1e-4 relative away from the first/last window.

FFT form (SEED's formula):
  - ``e2llm_lab`` vectorised, at nfft 256 (= ``method="fft_seed"``), 512, 1024;
  - the official extractor's loop (per window, channel, band and bin) at the same nfft;
  - that loop with its inner loops vectorised (one FFT of all channels per window), the faster reference.
  Target: e2llm_lab at least as fast as the official loop at every nfft, and identical values.

    python bench/de_features.py                   # 8 clips for the fast forms, 2 for the loops
    python bench/de_features.py --clips 80        # SEED-VII's 80 clips of one subject
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from scipy.signal import butter, lfilter, sosfiltfilt

from e2llm_lab.config import DEFAULT_BANDS
from e2llm_lab.preprocess import differential_entropy, window_view

SF, N_CHANS, WINDOW_S = 200.0, 62, 4.0
N_WIN = int(WINDOW_S * SF)


def clips(n: int, minutes: float, seed: int = 0):
    """Stream of 1/f-like clips in microvolts, shape (62, n_times) each."""
    n_times = int(minutes * 60 * SF)
    f = np.fft.rfftfreq(n_times, 1 / SF)
    shape = 1 / np.sqrt(f + 1.0)
    for k in range(n):
        rng = np.random.default_rng([seed, k])
        z = rng.normal(size=(N_CHANS, f.size)) + 1j * rng.normal(size=(N_CHANS, f.size))
        yield np.fft.irfft(z * shape, n=n_times) * 20.0


def previous_gaussian(data: np.ndarray, padlen: int | None = None) -> np.ndarray:
    """The time-domain form this package used before: sosfiltfilt per band over all channels at once."""
    power = []
    for _, lo, hi in DEFAULT_BANDS:
        sos = butter(4, [lo, hi], btype="bandpass", fs=SF, output="sos")
        y = sosfiltfilt(sos, data, axis=-1, padlen=padlen)
        power.append(window_view(y, SF, WINDOW_S, WINDOW_S).var(axis=-1))
    return 0.5 * np.log(2 * np.pi * np.e * np.stack(power, axis=-1))


def torcheeg_style(data: np.ndarray) -> np.ndarray:
    """Per channel and band: butter + lfilter (causal, order 5), then DE per window, as TorchEEG's loop does."""
    out = np.zeros((data.shape[1] // N_WIN, data.shape[0], len(DEFAULT_BANDS)))
    for j, (_, lo, hi) in enumerate(DEFAULT_BANDS):
        b, a = butter(5, [lo / (SF / 2), hi / (SF / 2)], btype="band")
        for c in range(data.shape[0]):
            y = lfilter(b, a, data[c])
            for w in range(out.shape[0]):
                out[w, c, j] = 0.5 * np.log2(2 * np.pi * np.e * np.var(y[w * N_WIN:(w + 1) * N_WIN]))
    return out


def official_loop(data: np.ndarray, nfft: int) -> np.ndarray:
    """SEED's official extractor loop: per window, channel, band and bin (``fft(x, nfft)`` crops x to nfft)."""
    hann = np.array([0.5 - 0.5 * np.cos(2 * np.pi * k / (N_WIN + 1)) for k in range(1, N_WIN + 1)])
    starts = [int(lo / SF * nfft) for _, lo, _ in DEFAULT_BANDS]
    ends = [int(hi / SF * nfft) for _, _, hi in DEFAULT_BANDS]
    out = np.zeros((data.shape[1] // N_WIN, data.shape[0], len(DEFAULT_BANDS)))
    for w in range(out.shape[0]):
        seg = data[:, w * N_WIN:(w + 1) * N_WIN]
        for c in range(seg.shape[0]):
            mag = np.abs(np.fft.fft(seg[c] * hann, nfft)[: nfft // 2])
            for p in range(len(DEFAULT_BANDS)):
                e = 0.0
                for p0 in range(starts[p] - 1, ends[p]):
                    e += mag[p0] * mag[p0]
                out[w, c, p] = np.log2(100 * e / (ends[p] - starts[p] + 1))
    return out


def window_loop(data: np.ndarray, nfft: int) -> np.ndarray:
    """The official loop with its inner loops vectorised: per window one FFT of all channels, band means by slices."""
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1, N_WIN + 1) / (N_WIN + 1))
    bins = [(int(lo / SF * nfft) - 1, int(hi / SF * nfft)) for _, lo, hi in DEFAULT_BANDS]
    out = np.zeros((data.shape[1] // N_WIN, data.shape[0], len(DEFAULT_BANDS)))
    for w in range(out.shape[0]):
        mag2 = np.abs(np.fft.fft(data[:, w * N_WIN:(w + 1) * N_WIN] * hann, nfft, axis=-1)[:, : nfft // 2]) ** 2
        out[w] = np.stack([np.log2(100 * mag2[:, a:b].mean(-1)) for a, b in bins], axis=-1)
    return out


def timed(fn, datas, repeat: int = 3) -> tuple[float, list]:
    """Seconds ``fn`` takes over ``datas`` (best of ``repeat`` passes: this machine's neighbours are noisy), and
    the results."""
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        results = [fn(d) for d in datas]
        best = min(best, time.perf_counter() - t)
    return best, results


def peak_memory_mb(n_clips: int, minutes: float) -> float:
    tracemalloc.start()
    for data in clips(n_clips, minutes):
        differential_entropy(data, SF, window_s=WINDOW_S)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=8, help="clips the fast forms run on")
    p.add_argument("--minutes", type=float, default=4.0)
    p.add_argument("--ref-clips", type=int, default=2, help="clips the slow loops run on")
    args = p.parse_args()
    n_times = int(args.minutes * 60 * SF)
    rate = lambda n_clips, s: n_clips * n_times * N_CHANS / s   # noqa: E731
    print(f"input: {args.minutes} min x {N_CHANS} ch at {SF:.0f} Hz per clip, {WINDOW_S:.0f}-s windows, 5 bands; "
          f"rates in channel-samples/s")
    fast = list(clips(args.clips, args.minutes))
    slow = fast[:args.ref_clips]
    differential_entropy(fast[0], SF)                          # warm the filter-response cache

    print("\nGaussian form")
    t_new, de_new = timed(lambda d: differential_entropy(d, SF, window_s=WINDOW_S), fast)
    t_prev, de_prev = timed(previous_gaussian, fast)
    t_tee, _ = timed(torcheeg_style, slow, repeat=1)
    # agreement with the same computation in the time domain (sosfiltfilt with the same 2-s odd extension), and
    # with the previous form (its short default extension perturbs the first and last 8 s)
    same = [previous_gaussian(d, padlen=int(2 * SF)) for d in slow]
    inner = max(float(np.max(np.abs(a[1:-1] - b[1:-1]) / np.abs(b[1:-1]))) for a, b in zip(de_new, same))
    inner_prev = max(float(np.max(np.abs(a[2:-2] - b[2:-2]) / np.abs(b[2:-2]))) for a, b in zip(de_new, de_prev))
    r_new, r_prev, r_tee = rate(len(fast), t_new), rate(len(fast), t_prev), rate(len(slow), t_tee)
    print(f"  e2llm_lab (frequency domain) : {r_new / 1e6:8.1f} M samples/s")
    print(f"  previous sosfiltfilt form    : {r_prev / 1e6:8.1f} M samples/s")
    print(f"  TorchEEG-style lfilter loop  : {r_tee / 1e6:8.1f} M samples/s")
    print(f"  speed-up vs previous {r_new / r_prev:.1f}x (target >= 10x: {verdict(r_new >= 10 * r_prev)}); "
          f"vs TorchEEG-style {r_new / r_tee:.1f}x")
    print(f"  max relative difference vs sosfiltfilt with the same 2-s extension, first/last window excluded: "
          f"{inner:.1e} (target <= 1e-4: {verdict(inner <= 1e-4)}); vs the previous form, first/last 8 s "
          f"excluded: {inner_prev:.1e}")

    print("\nFFT form (SEED's formula)")
    for nfft in (256, 512, 1024):
        method = {"method": "fft_seed"} if nfft == 256 else {"method": "fft", "nfft": nfft}
        t_vec, de_vec = timed(lambda d: differential_entropy(d, SF, window_s=WINDOW_S, **method), fast)
        t_off, de_off = timed(lambda d: official_loop(d, nfft), slow, repeat=1)
        t_win, _ = timed(lambda d: window_loop(d, nfft), fast)
        diff = max(float(np.max(np.abs(a - b) / np.abs(b))) for a, b in zip(de_vec, de_off))
        r_vec, r_off, r_win = rate(len(fast), t_vec), rate(len(slow), t_off), rate(len(fast), t_win)
        print(f"  nfft {nfft:4d}{' (fft_seed)' if nfft == 256 else '           '}: e2llm_lab "
              f"{r_vec / 1e6:6.1f} M samples/s; official loop {r_off / 1e6:5.1f} ({r_vec / r_off:.0f}x, "
              f"{verdict(r_vec >= r_off)}); its per-window form with channels vectorised {r_win / 1e6:5.1f} "
              f"({r_vec / r_win:.1f}x, {verdict(r_vec >= r_win)}); max relative difference {diff:.1e}")

    few, many = max(args.clips // 4, 2), args.clips
    m_few, m_many = peak_memory_mb(few, args.minutes), peak_memory_mb(many, args.minutes)
    print(f"\npeak traced memory (Gaussian form, clips streamed): {m_few:.0f} MB for {few} clips, {m_many:.0f} MB for "
          f"{many} clips ({'flat' if m_many < 1.1 * m_few else 'GROWS'} with the number of clips)")


if __name__ == "__main__":
    main()
