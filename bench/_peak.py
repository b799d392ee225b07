"""The CPU's matrix-multiply peak, measured in the calling process: every speed figure of bench/ is printed beside
it, so a figure taken on a busy or a different machine shows itself as such."""
from __future__ import annotations

import time


def matmul_gflops(dtype: str = "bfloat16", *, m: int = 2048, k: int = 576, n: int = 1536,
                  seconds: float = 1.0) -> float:
    """GFLOPS of a (m x k) @ (k x n) matmul in ``dtype`` on this process's torch threads (best of ~1 s of runs)."""
    import torch

    a = torch.randn(m, k).to(getattr(torch, dtype))
    b = torch.randn(k, n).to(getattr(torch, dtype))
    for _ in range(3):
        a @ b                                                                  # warm the kernels
    best, t_end = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * m * k * n / best / 1e9


def peak_line() -> str:
    """One line: the process's threads and its bf16 and fp32 matmul peaks."""
    import torch

    return (f"matmul peak in this process ({torch.get_num_threads()} threads): bf16 {matmul_gflops('bfloat16'):.0f} "
            f"GFLOPS, fp32 {matmul_gflops('float32'):.0f} GFLOPS")
