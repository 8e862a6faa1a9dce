# SPDX-License-Identifier: Apache-2.0
"""Pre-trade risk gate: compiled eng_risk_check (C loop) against the same rules written as a plain
Python function over dicts, in the same run. All limits active (size, notional, position incl. open
orders, band vs mid, book age, open orders, daily loss, kill); the intent passes every check, so every
branch is evaluated."""
from __future__ import annotations

import time

import pytest

from engine.instruments import Instrument, Venue
from engine.risk import RiskGate, _bench_check
from engine.strategy import Context

INST = Instrument(0, Venue.BINANCE_SPOT, "BTCUSDT", "0.01", "0.00001")
NOW = 10_000_000_000
INTENT = {"kind": 1, "inst": 0, "side": 1, "ord_type": 1, "tif": 1, "px": 6_500_000, "sz": 100}
N = 2_000_000


def setup_state():
    ctx = Context()
    ctx.add_instrument(INST)
    ctx.set_top(0, 6_499_950, 100_000, 6_500_050, 100_000, update_ns=NOW)
    gate = RiskGate()
    gate.set_limits(0, max_order_sz=1_000_000, max_notional=1e12, max_position=10**17,
                    band_bps=50.0, max_book_age_ns=10**12)
    gate.set_global(max_open_orders=10**15, max_daily_loss=1e9)
    return gate, ctx


def py_check(lim, state, it, now):
    """The same rules as include/engine/risk.h, the way a Python bot would write them."""
    if it["kind"] not in (1, 2, 3, 4) or it["side"] not in (1, -1) or it["sz"] <= 0 or it["px"] <= 0:
        return "BAD_INTENT"
    if state["kill"]:
        return "KILL"
    if state["daily_pnl"] <= -lim["max_daily_loss"]:
        return "LOSS"
    top = state["top"]
    if not top["valid"] or now - top["update_ns"] > lim["max_book_age_ns"]:
        return "STALE_BOOK"
    if it["sz"] > lim["max_order_sz"]:
        return "SIZE"
    if it["px"] * lim["px_scale"] * it["sz"] * lim["sz_scale"] > lim["max_notional"]:
        return "NOTIONAL"
    mid2 = top["bid_px"] + top["ask_px"]
    if abs(2 * it["px"] - mid2) / mid2 * 1e4 > lim["band_bps"]:
        return "BAND"
    pos = state["pos"]
    proj = pos["sz"] + pos["open_buy_sz"] + it["sz"] if it["side"] == 1 else pos["sz"] - pos["open_sell_sz"] - it["sz"]
    if abs(proj) > lim["max_position"]:
        return "POSITION"
    if state["open_orders"] >= lim["max_open_orders"]:
        return "OPEN_ORDERS"
    state["open_orders"] += 1
    pos["open_buy_sz" if it["side"] == 1 else "open_sell_sz"] += it["sz"]
    return None


def py_state():
    lim = {"max_order_sz": 1_000_000, "max_notional": 1e12, "max_position": 10**17, "band_bps": 50.0,
           "max_book_age_ns": 10**12, "max_open_orders": 10**15, "max_daily_loss": 1e9,
           "px_scale": 0.01, "sz_scale": 1e-5}
    state = {"kill": False, "daily_pnl": 0.0, "open_orders": 0,
             "top": {"valid": True, "update_ns": NOW, "bid_px": 6_499_950, "ask_px": 6_500_050},
             "pos": {"sz": 0, "open_buy_sz": 0, "open_sell_sz": 0}}
    return lim, state


def py_run(n: int) -> int:
    lim, state = py_state()
    it = dict(INTENT)
    t0 = time.perf_counter_ns()
    for _ in range(n):
        if py_check(lim, state, it, NOW) is not None:
            raise AssertionError("python check rejected")
    return time.perf_counter_ns() - t0


def compiled_ns(repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        gate, ctx = setup_state()
        elapsed, passed = _bench_check(gate, ctx, INTENT, N, NOW)
        assert passed == N
        best = min(best, elapsed / N)
    return best


def report(benchmark, label, **info):
    benchmark.extra_info.update({k: (round(v, 2) if isinstance(v, float) else v) for k, v in info.items()})
    print(f"\n[risk] {label}: " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                                           for k, v in info.items()))


@pytest.mark.benchmark(group="risk-check")
def test_compiled_risk_check(benchmark):
    benchmark.pedantic(lambda g, c: _bench_check(g, c, INTENT, N, NOW), setup=lambda: (setup_state(), {}),
                       rounds=5, iterations=1)
    ns = compiled_ns()
    py = min(py_run(100_000) for _ in range(3)) / 100_000
    report(benchmark, "eng_risk_check, all limits, C loop", ns_per_check=ns, python_ns_per_check=py,
           ratio_vs_python=py / ns)


@pytest.mark.benchmark(group="risk-check")
def test_python_risk_check_baseline(benchmark):
    benchmark.pedantic(py_run, args=(100_000,), rounds=3, iterations=1)
    report(benchmark, "same rules in plain Python (baseline)",
           ns_per_check=min(py_run(100_000) for _ in range(3)) / 100_000)


@pytest.mark.benchmark(group="risk-check")
def test_check_py_from_python(benchmark):
    """RiskGate.check_py from Python with a dict intent (the shell/test API, not the hot path)."""
    gate, ctx = setup_state()
    benchmark(gate.check_py, ctx, INTENT, NOW)
    report(benchmark, "RiskGate.check_py (dict -> C)", ns_per_check=benchmark.stats.stats.median * 1e9)
