"""Benchmark: DE extraction, every form, at the sampling rates public emotion datasets bring, against plain loops.

Input: 62-channel clips of 1/f-like noise in microvolts, 4-s windows, 5 bands, at 128 Hz (DEAP, DREAMER), 200 Hz
(SEED family), 250 Hz (FACED) and 1000 Hz (SEED-V raw). Each method is timed beside a reference that computes the
same quantity the way people usually write it, with channels vectorised:

- ``"fft"`` (nfft = next power of two >= window) and ``"fft_seed"`` (nfft = 256, where every band has bins):
  a per-window loop, ``np.fft.fft(window * hann, nfft)`` over all channels at once, then the same band means;
- ``"gaussian"``: ``sosfiltfilt`` per band over all channels at once (the same 2-s odd extension), variance per
  window; its time against the FFT loop is printed beside it for context.

Targets: every method >= 2x its reference at every rate; values equal to the reference to 1e-6 relative for the
FFT forms, to 1e-4 for the Gaussian form (first and last window excluded, where the edge treatments differ).
Ratios are measured in one process, ours and the reference taking turns in each of ``--repeat`` passes; the ratio is
the median over passes of the reference's time over ours in the same pass, so load from other jobs on the machine
falls on both sides alike; times are medians per clip.

    python bench/de_features.py                        # 2 clips of 4 min per rate, 7 passes
    python bench/de_features.py --clips 4 --repeat 9
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from scipy.signal import butter, sosfiltfilt

from e2llm_lab.config import DEFAULT_BANDS
from e2llm_lab.data.de import SEED_NFFT, differential_entropy, window_view

RATES = (128.0, 200.0, 250.0, 1000.0)
N_CHANS, WINDOW_S = 62, 4.0


def clips(sfreq: float, n: int, minutes: float, seed: int = 0):
    """Stream of 1/f-like clips in microvolts, shape (62, n_times) each."""
    n_times = int(minutes * 60 * sfreq)
    f = np.fft.rfftfreq(n_times, 1 / sfreq)
    shape = 1 / np.sqrt(f + 1.0)
    for k in range(n):
        rng = np.random.default_rng([seed, k, int(sfreq)])
        z = rng.normal(size=(N_CHANS, f.size)) + 1j * rng.normal(size=(N_CHANS, f.size))
        yield np.fft.irfft(z * shape, n=n_times) * 20.0


def default_nfft(sfreq: float) -> int:
    return int(2 ** np.ceil(np.log2(round(WINDOW_S * sfreq))))


def seed_nfft_applies(sfreq: float) -> bool:
    """SEED's nfft = 256 gives every band at least one bin (at 1000 Hz the delta band has none)."""
    return all(int(lo / sfreq * SEED_NFFT) >= 1 and int(hi / sfreq * SEED_NFFT) <= SEED_NFFT // 2
               for _, lo, hi in DEFAULT_BANDS)


def window_loop(data: np.ndarray, sfreq: float, nfft: int) -> np.ndarray:
    """SEED's formula as a per-window loop with channels vectorised: one FFT of all channels per window.

    ``fft(x, nfft)`` crops a window longer than ``nfft`` to its first ``nfft`` samples, as the official extractor
    does. Returns DE, shape (n_windows, n_chans, n_bands).
    """
    n_win = int(round(WINDOW_S * sfreq))
    k = np.arange(1, n_win + 1)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * k / (n_win + 1))
    bins = [(int(lo / sfreq * nfft) - 1, int(hi / sfreq * nfft)) for _, lo, hi in DEFAULT_BANDS]
    out = np.zeros((data.shape[1] // n_win, data.shape[0], len(DEFAULT_BANDS)))
    for w in range(out.shape[0]):
        seg = data[:, w * n_win:(w + 1) * n_win] * hann                     # (C, n_win)
        mag2 = np.abs(np.fft.fft(seg, nfft, axis=-1)[:, : nfft // 2]) ** 2   # (C, nfft // 2)
        out[w] = np.stack([np.log2(100 * mag2[:, a:b].mean(-1)) for a, b in bins], axis=-1)
    return out


def sosfiltfilt_reference(data: np.ndarray, sfreq: float) -> np.ndarray:
    """Gaussian DE in the time domain: ``sosfiltfilt`` per band over all channels at once, the same 2-s odd
    extension as the frequency-domain form, variance per window."""
    power = []
    for _, lo, hi in DEFAULT_BANDS:
        sos = butter(4, [lo, hi], btype="bandpass", fs=sfreq, output="sos")
        y = sosfiltfilt(sos, data, axis=-1, padlen=int(2 * sfreq))
        power.append(window_view(y, sfreq, WINDOW_S, WINDOW_S).var(axis=-1))
    return 0.5 * np.log(2 * np.pi * np.e * np.stack(power, axis=-1))


def interleaved(fns, datas, repeat: int) -> tuple[np.ndarray, list[list]]:
    """Seconds each function takes over ``datas`` in each of ``repeat`` passes, shape (repeat, n_fns), and each
    function's results from the first pass. The functions take turns within a pass, so load from other jobs on the
    machine falls on neighbouring runs alike and the per-pass ratios cancel it."""
    times, results = np.empty((repeat, len(fns))), [None] * len(fns)
    for r in range(repeat):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            res = [fn(d) for d in datas]
            times[r, i] = time.perf_counter() - t
            if r == 0:
                results[i] = res
    return times, results


def paired(times: np.ndarray, i: int, j: int) -> float:
    """Median over passes of how many times longer function ``j`` took than function ``i`` in the same pass."""
    return float(np.median(times[:, j] / times[:, i]))


def max_rel(a_list, b_list, inner: bool = False) -> float:
    sl = slice(1, -1) if inner else slice(None)
    return max(float(np.max(np.abs(a[sl] - b[sl]) / np.abs(b[sl]))) for a, b in zip(a_list, b_list))


def peak_memory_mb(sfreq: float, n_clips: int, minutes: float) -> float:
    tracemalloc.start()
    for data in clips(sfreq, n_clips, minutes, seed=1):
        differential_entropy(data, sfreq, window_s=WINDOW_S)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=2, help="clips per rate")
    p.add_argument("--minutes", type=float, default=4.0)
    p.add_argument("--repeat", type=int, default=7, help="interleaved passes (medians over them)")
    args = p.parse_args()
    print(f"input: {args.clips} clip(s) x {args.minutes} min x {N_CHANS} ch per rate, {WINDOW_S:.0f}-s windows, "
          f"5 bands; {args.repeat} interleaved passes; median ms per clip, median of paired ratios")
    head = (f"{'rate':>6} {'method':9} {'nfft':>5} {'ours ms':>8} {'ref ms':>8} {'ratio':>6} {'>=2x':>7}  "
            f"{'max rel diff':>12} {'bar':>5} {'values':>7}  reference")
    print(head)
    print("-" * len(head))
    all_met = True
    for sfreq in RATES:
        datas = list(clips(sfreq, args.clips, args.minutes))
        n = len(datas)
        differential_entropy(datas[0][:, : int(8 * sfreq)], sfreq)             # warm the cached filter responses
        rows = [("fft", default_nfft(sfreq))]
        if seed_nfft_applies(sfreq):
            rows.append(("fft_seed", SEED_NFFT))
        for method, nfft in rows:
            kw = {"method": "fft", "nfft": nfft} if method == "fft" else {"method": "fft_seed"}
            times, (de, ref) = interleaved(
                [lambda d, sfreq=sfreq, kw=kw: differential_entropy(d, sfreq, window_s=WINDOW_S, **kw),
                 lambda d, sfreq=sfreq, nfft=nfft: window_loop(d, sfreq, nfft)], datas, args.repeat)
            (t_ours, t_ref), diff, ratio = np.median(times, axis=0), max_rel(de, ref), paired(times, 0, 1)
            ok = ratio >= 2 and diff <= 1e-6
            all_met &= ok
            print(f"{sfreq:6.0f} {method:9} {nfft:5d} {1e3 * t_ours / n:8.1f} {1e3 * t_ref / n:8.1f} {ratio:5.1f}x "
                  f"{verdict(ratio >= 2):>7}  {diff:12.1e} {'1e-6':>5} {verdict(diff <= 1e-6):>7}  "
                  f"per-window loop, channels vectorised")
        nfft = default_nfft(sfreq)
        times, (de, ref, _) = interleaved(
            [lambda d, sfreq=sfreq: differential_entropy(d, sfreq, window_s=WINDOW_S, method="gaussian"),
             lambda d, sfreq=sfreq: sosfiltfilt_reference(d, sfreq),
             lambda d, sfreq=sfreq, nfft=nfft: window_loop(d, sfreq, nfft)], datas, args.repeat)
        (t_ours, t_ref, _), diff, ratio = np.median(times, axis=0), max_rel(de, ref, inner=True), paired(times, 0, 1)
        ok = ratio >= 2 and diff <= 1e-4
        all_met &= ok
        print(f"{sfreq:6.0f} {'gaussian':9} {'':5} {1e3 * t_ours / n:8.1f} {1e3 * t_ref / n:8.1f} {ratio:5.1f}x "
              f"{verdict(ratio >= 2):>7}  {diff:12.1e} {'1e-4':>5} {verdict(diff <= 1e-4):>7}  "
              f"sosfiltfilt, channels vectorised (first/last window excluded); "
              f"{paired(times, 0, 2):.1f}x the FFT loop at nfft {nfft}")
    print(f"\nevery method >= 2x its reference at every rate, values within the bar: {verdict(all_met)}")

    few, many = 2, 6                 # both >= 2: the stream holds one clip while it makes the next
    m_few, m_many = peak_memory_mb(200.0, few, args.minutes), peak_memory_mb(200.0, many, args.minutes)
    print(f"peak traced memory (Gaussian form at 200 Hz, clips streamed): {m_few:.0f} MB for {few} clips, "
          f"{m_many:.0f} MB for {many} ({'flat' if m_many < 1.1 * m_few else 'GROWS'} with the number of clips)")


if __name__ == "__main__":
    main()
