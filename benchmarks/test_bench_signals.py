# SPDX-License-Identifier: Apache-2.0
"""Signal kernels: per-sample cost of the compiled kernels (NumPy batch = the C kernel in one nogil
loop; and one Python call per update) against NumPy vectorised equivalents and the pure-Python twin,
measured in the same run on the same seeded data."""
from __future__ import annotations

import time

import numpy as np
import pytest

import engine._py.signals as pysig
from engine import signals as sig

N = 1_000_000
N_PY = 50_000
WINDOW = 100
RNG = np.random.default_rng(11)
X = 100 + np.abs(RNG.normal(size=N).cumsum() * 0.01)
SZ = RNG.uniform(0, 3, size=N)
SIDE = RNG.choice(np.array([1, -1], dtype=np.int64), size=N)


def best_ns(fn, n, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def report(benchmark, label, **info):
    benchmark.extra_info.update({k: round(v, 2) for k, v in info.items()})
    print(f"\n[signals] {label}: " + ", ".join(f"{k}={v:.2f}" for k, v in info.items()))


def np_rolling_std(x, w):
    return np.lib.stride_tricks.sliding_window_view(x, w).std(axis=1, ddof=1)


def np_rolling_vwap(px, sz, w):
    pv = np.cumsum(px * sz)
    v = np.cumsum(sz)
    pv[w:] = pv[w:] - pv[:-w]
    v[w:] = v[w:] - v[:-w]
    return pv / v


def np_realised_vol(px, w):
    r2 = np.diff(np.log(px)) ** 2
    c = np.cumsum(r2)
    c[w:] = c[w:] - c[:-w]
    return np.sqrt(c)


def py_loop(obj, fn, data) -> None:
    for v in data:
        fn(obj, v)


@pytest.mark.benchmark(group="signals-ema")
def test_ema(benchmark):
    benchmark.pedantic(sig.ema_batch, args=(X,), kwargs={"alpha": 0.05}, rounds=5, iterations=1)
    c = best_ns(lambda: sig.ema_batch(X, alpha=0.05), N)
    e = sig.Ema(alpha=0.05)
    upd = e.update
    xs = X[:N_PY].tolist()
    per_call = best_ns(lambda: [upd(v) for v in xs], N_PY)
    p = pysig.Ema(alpha=0.05)
    pupd = p.update
    twin = best_ns(lambda: [pupd(v) for v in xs], N_PY)
    report(benchmark, "EMA", batch_ns_per_sample=c, python_call_ns=per_call, py_twin_ns=twin,
           ratio_batch_vs_twin=twin / c)


@pytest.mark.benchmark(group="signals-rolling")
def test_rolling_std(benchmark):
    benchmark.pedantic(sig.rolling_std_batch, args=(X, WINDOW), rounds=5, iterations=1)
    c = best_ns(lambda: sig.rolling_std_batch(X, WINDOW), N)
    npv = best_ns(lambda: np_rolling_std(X[:200_000], WINDOW), 200_000)
    r = pysig.Rolling(WINDOW)

    def twin():
        for v in X[:5_000].tolist():
            r.update(v)
            r.std  # noqa: B018  the twin's cost includes reading the property

    tw = best_ns(twin, 5_000, repeat=1)
    report(benchmark, f"rolling std (window {WINDOW})", batch_ns_per_sample=c, numpy_window_view_ns=npv,
           py_twin_ns=tw, ratio_vs_numpy=npv / c, ratio_vs_twin=tw / c)


@pytest.mark.benchmark(group="signals-rolling")
def test_rolling_std_numpy_baseline(benchmark):
    benchmark.pedantic(np_rolling_std, args=(X[:200_000], WINDOW), rounds=3, iterations=1)
    report(benchmark, "numpy sliding_window_view std (baseline)",
           ns_per_sample=best_ns(lambda: np_rolling_std(X[:200_000], WINDOW), 200_000))


@pytest.mark.benchmark(group="signals-vwap")
def test_rolling_vwap(benchmark):
    benchmark.pedantic(sig.vwap_batch, args=(X, SZ, WINDOW), rounds=5, iterations=1)
    c = best_ns(lambda: sig.vwap_batch(X, SZ, WINDOW), N)
    npv = best_ns(lambda: np_rolling_vwap(X, SZ, WINDOW), N)
    v = pysig.Vwap(WINDOW)
    pairs = list(zip(X[:20_000].tolist(), SZ[:20_000].tolist(), strict=True))
    tw = best_ns(lambda: [v.update(p, q) for p, q in pairs], 20_000, repeat=1)
    report(benchmark, f"rolling VWAP (window {WINDOW})", batch_ns_per_sample=c, numpy_cumsum_ns=npv,
           py_twin_ns=tw, ratio_vs_numpy=npv / c, ratio_vs_twin=tw / c)


@pytest.mark.benchmark(group="signals-flow")
def test_trade_flow(benchmark):
    benchmark.pedantic(sig.trade_flow_batch, args=(SZ, SIDE, WINDOW), rounds=5, iterations=1)
    c = best_ns(lambda: sig.trade_flow_batch(SZ, SIDE, WINDOW), N)
    f = pysig.TradeFlow(WINDOW)
    pairs = list(zip(SZ[:20_000].tolist(), SIDE[:20_000].tolist(), strict=True))
    tw = best_ns(lambda: [f.update(q, s) for q, s in pairs], 20_000, repeat=1)
    report(benchmark, f"trade-flow imbalance (window {WINDOW})", batch_ns_per_sample=c, py_twin_ns=tw,
           ratio_vs_twin=tw / c)


@pytest.mark.benchmark(group="signals-rvol")
def test_realised_vol(benchmark):
    benchmark.pedantic(sig.realised_vol_batch, args=(X, WINDOW), rounds=5, iterations=1)
    c = best_ns(lambda: sig.realised_vol_batch(X, WINDOW), N)
    npv = best_ns(lambda: np_realised_vol(X, WINDOW), N)
    out = sig.realised_vol_batch(X, WINDOW)
    ref = np_realised_vol(X, WINDOW)
    assert np.allclose(out[WINDOW + 1:], ref[WINDOW:], rtol=1e-6)
    report(benchmark, f"realised vol (window {WINDOW})", batch_ns_per_sample=c, numpy_cumsum_ns=npv,
           ratio_vs_numpy=npv / c)
