# SPDX-License-Identifier: Apache-2.0
"""Timing helpers for the signing / latency / orders benchmarks (helper module, not a test)."""
from __future__ import annotations

import time
from typing import Callable


def per_call_ns(fn: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Best-of-``repeats`` ns per call of a Python callable looped ``n`` times."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def kernel_ns(kernel: Callable[[int], int], n: int, repeats: int = 5) -> float:
    """Best-of-``repeats`` ns per operation of a compiled batch kernel returning elapsed ns for n ops."""
    return min(kernel(n) / n for _ in range(repeats))


def report(benchmark, label: str, **info: float) -> None:
    for k, v in info.items():
        benchmark.extra_info[k] = round(v, 2) if isinstance(v, float) else v
    print(f"\n[{label}] " + "  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in info.items()))
