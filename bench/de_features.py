"""Benchmark: vectorised DE extraction vs a per-window, per-band loop in the style of SEED's official extractor.

SEED-VII-sized input: 80 clips x 4 min x 62 channels at 200 Hz, 4-s windows, 5 bands. Clips are streamed
(made, processed, dropped one at a time), so peak memory must not grow with the number of clips.

    python bench/de_features.py                 # full size; the loop reference runs on --ref-clips clips
    python bench/de_features.py --clips 8 --ref-clips 2 --minutes 1    # a quick look
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from e2llm_lab.config import DEFAULT_BANDS
from e2llm_lab.preprocess import differential_entropy

SF, N_CHANS, WINDOW_S = 200.0, 62, 4.0


def clips(n: int, minutes: float, seed: int = 0):
    """Stream of 1/f-like clips in microvolts, shape (62, n_times) each."""
    n_times = int(minutes * 60 * SF)
    f = np.fft.rfftfreq(n_times, 1 / SF)
    shape = 1 / np.sqrt(f + 1.0)
    for k in range(n):
        rng = np.random.default_rng([seed, k])
        z = rng.normal(size=(N_CHANS, f.size)) + 1j * rng.normal(size=(N_CHANS, f.size))
        yield np.fft.irfft(z * shape, n=n_times) * 20.0


def reference_de(data: np.ndarray) -> np.ndarray:
    """Straightforward loops as in the official extractor: per window, per channel, per band, per bin."""
    n = int(WINDOW_S * SF)
    nfft = 1024
    hann = [0.5 - 0.5 * np.cos(2 * np.pi * k / (n + 1)) for k in range(1, n + 1)]
    n_windows = data.shape[1] // n
    out = np.zeros((n_windows, data.shape[0], len(DEFAULT_BANDS)))
    for w in range(n_windows):
        for c in range(data.shape[0]):
            mag = np.abs(np.fft.fft(data[c, w * n:(w + 1) * n] * hann, nfft))[: nfft // 2]
            for j, (_, lo, hi) in enumerate(DEFAULT_BANDS):
                first, last = int(lo / SF * nfft), int(hi / SF * nfft)
                e = 0.0
                for b in range(first - 1, last):
                    e += mag[b] * mag[b]
                out[w, c, j] = np.log2(100 * e / (last - first + 1))
    return out


def fast_de(data: np.ndarray, method: str = "fft") -> np.ndarray:
    return differential_entropy(data, SF, window_s=WINDOW_S, method=method)


def peak_memory_mb(n_clips: int, minutes: float) -> float:
    tracemalloc.start()
    for data in clips(n_clips, minutes):
        fast_de(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=80)
    p.add_argument("--minutes", type=float, default=4.0)
    p.add_argument("--ref-clips", type=int, default=8, help="clips the slow reference runs on")
    args = p.parse_args()
    n_times = int(args.minutes * 60 * SF)
    print(f"input: {args.clips} clips x {args.minutes} min x {N_CHANS} ch at {SF:.0f} Hz, {WINDOW_S:.0f}-s windows")

    t_ref, max_rel = 0.0, 0.0
    for data in clips(args.ref_clips, args.minutes):
        t = time.perf_counter()
        ref = reference_de(data)
        t_ref += time.perf_counter() - t
        fast = fast_de(data)
        max_rel = max(max_rel, float(np.max(np.abs(fast - ref) / np.abs(ref))))
    t_fast = {}
    for method in ("fft", "gaussian"):
        t = time.perf_counter()
        for data in clips(args.clips, args.minutes):
            fast_de(data, method)
        t_fast[method] = time.perf_counter() - t
    # the generator's own cost, to subtract
    t = time.perf_counter()
    for _ in clips(args.clips, args.minutes):
        pass
    t_gen = time.perf_counter() - t
    fast_fft = max(t_fast["fft"] - t_gen, 1e-9)
    fast_gauss = max(t_fast["gaussian"] - t_gen, 1e-9)

    rate_ref = args.ref_clips * n_times / t_ref
    rate_fft = args.clips * n_times / fast_fft
    rate_gauss = args.clips * n_times / fast_gauss
    print(f"max relative difference, vectorised vs reference (fft form, {args.ref_clips} clips): {max_rel:.2e} "
          f"({'OK' if max_rel < 1e-4 else 'MISMATCH'} at 1e-4)")
    print(f"reference loop   : {rate_ref:12,.0f} samples/s (62-channel time points), {args.ref_clips} clips in {t_ref:.1f} s")
    print(f"vectorised fft   : {rate_fft:12,.0f} samples/s, {args.clips} clips in {fast_fft:.1f} s")
    print(f"vectorised gauss : {rate_gauss:12,.0f} samples/s, {args.clips} clips in {fast_gauss:.1f} s")
    print(f"speed-up (fft form, same computation): {rate_fft / rate_ref:.0f}x (target >= 10x)")
    few, many = max(args.clips // 4, 2), args.clips
    m_few, m_many = peak_memory_mb(few, args.minutes), peak_memory_mb(many, args.minutes)
    print(f"peak traced memory: {m_few:.0f} MB for {few} clips, {m_many:.0f} MB for {many} clips "
          f"({'flat' if m_many < 1.1 * m_few else 'GROWS'} with the number of clips)")


if __name__ == "__main__":
    main()
