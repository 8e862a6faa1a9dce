# SPDX-License-Identifier: Apache-2.0
"""Strategy dispatch: a compiled nogil on_quote (tests/strategies/mean_cross.pyx built with
engine.build.compile_strategy) called per event in ONE nogil loop, against the same logic as a plain
Python method, the PyStrategy slow path and the per-event Python call of the compiled hook, in the
same run. Also the whole compiled frame path (bookTicker bytes -> decode -> ctx top -> hook -> intent
ring drain) per frame against orjson + a Python strategy, and tracemalloc proof of zero allocations
per event."""
from __future__ import annotations

import gc
import os
import time
import tracemalloc
from pathlib import Path

import orjson
import pytest

from engine.build import compile_strategy
from engine.codec import Decoder
from engine.instruments import Instrument, Venue
from engine.pipeline import Pipeline
from engine.risk import RiskGate
from engine.strategy import Context, PyStrategy

ROOT = Path(__file__).resolve().parents[1]
INST = Instrument(0, Venue.BINANCE_SPOT, "BTCUSDT", "0.01", "0.00001")
N = 1_000_000


@pytest.fixture(scope="module")
def mc(tmp_path_factory):
    old = os.environ.get("HOTPATH_CACHE_DIR")
    os.environ["HOTPATH_CACHE_DIR"] = str(tmp_path_factory.mktemp("hp-bench-cache"))
    try:
        return compile_strategy(ROOT / "tests" / "strategies" / "mean_cross.pyx")
    finally:
        if old is None:
            os.environ.pop("HOTPATH_CACHE_DIR", None)
        else:
            os.environ["HOTPATH_CACHE_DIR"] = old


def new_ctx() -> Context:
    c = Context()
    c.add_instrument(INST)
    return c


class PyMeanCross:
    """mean_cross.pyx's on_quote as a plain Python method (the baseline a Python bot pays)."""

    def __init__(self, fast_alpha=0.3, slow_alpha=0.05, order_sz=100, warmup=20):
        self.a_fast, self.a_slow, self.order_sz, self.warmup = fast_alpha, slow_alpha, order_sz, warmup
        self.fast = self.slow = 0.0
        self.state = self.seen = 0
        self.intents: list[tuple] = []

    def on_quote(self, q):
        inst, bid, ask = q[0], q[1], q[3]
        mid = 0.5 * (bid + ask)
        if self.seen == 0:
            self.fast = self.slow = mid
        else:
            self.fast += self.a_fast * (mid - self.fast)
            self.slow += self.a_slow * (mid - self.slow)
        if self.seen < self.warmup:
            self.seen += 1
            return 0
        new_state = 1 if self.fast > self.slow else -1
        if self.state != 0 and new_state != self.state:
            self.intents.append((inst, 1 if new_state > 0 else -1, ask if new_state > 0 else bid, self.order_sz))
        self.state = new_state
        return 0


def quotes_py(n: int):
    """The same deterministic xorshift walk as Strategy.bench_dispatch_quotes, as tuples."""
    x, px, out = 88172645463325252, 6_500_000, []
    mask = (1 << 64) - 1
    for _ in range(n):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        px += x % 5 - 2
        out.append((0, px, 1000 + x % 100, px + 1, 1000 + (x >> 8) % 100))
    return out


def py_method_ns(n: int = 200_000) -> float:
    qs = quotes_py(n)
    best = float("inf")
    for _ in range(3):
        s = PyMeanCross()
        f = s.on_quote
        t0 = time.perf_counter_ns()
        for q in qs:
            f(q)
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def compiled_ns(mc, n: int = N) -> tuple[float, int]:
    best, drained = float("inf"), 0
    for _ in range(3):
        s = mc.MeanCross(new_ctx())
        elapsed, drained, rc = s.bench_dispatch_quotes(0, n)
        assert rc == 0 and drained == s.signals > 0
        best = min(best, elapsed / n)
    return best, drained


class PyStratMeanCross(PyStrategy):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.logic = PyMeanCross()

    def on_quote_py(self, q):
        n = len(self.logic.intents)
        self.logic.on_quote((q["inst"], q["bid_px"], q["bid_sz"], q["ask_px"], q["ask_sz"]))
        if len(self.logic.intents) != n:
            inst, side, px, sz = self.logic.intents[-1]
            (self.buy if side > 0 else self.sell)(inst, px, sz)


def pystrategy_ns(n: int = 100_000) -> float:
    best = float("inf")
    for _ in range(2):
        s = PyStratMeanCross(new_ctx())
        elapsed, drained, rc = s.bench_dispatch_quotes(0, n)
        assert rc == 0
        best = min(best, elapsed / n)
    return best


def report(benchmark, label, **info):
    benchmark.extra_info.update({k: (round(v, 2) if isinstance(v, float) else v) for k, v in info.items()})
    print(f"\n[dispatch] {label}: " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                                               for k, v in info.items()))


@pytest.mark.benchmark(group="strategy-dispatch")
def test_compiled_hook_batched_nogil(benchmark, mc):
    benchmark.pedantic(lambda s: s.bench_dispatch_quotes(0, N), setup=lambda: ((mc.MeanCross(new_ctx()),), {}),
                       rounds=5, iterations=1)
    ns, orders = compiled_ns(mc)
    py = py_method_ns()
    pys = pystrategy_ns()
    report(benchmark, "compiled on_quote, one nogil section per batch, ring drained per event",
           ns_per_event=ns, python_method_ns=py, pystrategy_ns=pys, ratio_vs_python_method=py / ns,
           ratio_vs_pystrategy=pys / ns, target_ns=10.0, orders=orders)


@pytest.mark.benchmark(group="strategy-dispatch")
def test_python_method_baseline(benchmark):
    qs = quotes_py(100_000)

    def run():
        s = PyMeanCross()
        f = s.on_quote
        for q in qs:
            f(q)

    benchmark.pedantic(run, rounds=3, iterations=1)
    report(benchmark, "same logic as a Python method (baseline)", ns_per_event=py_method_ns())


@pytest.mark.benchmark(group="strategy-dispatch")
def test_pystrategy_slow_path(benchmark):
    benchmark.pedantic(lambda s: s.bench_dispatch_quotes(0, 50_000),
                       setup=lambda: ((PyStratMeanCross(new_ctx()),), {}), rounds=3, iterations=1)
    report(benchmark, "PyStrategy (with gil + dict per event)", ns_per_event=pystrategy_ns())


@pytest.mark.benchmark(group="strategy-dispatch")
def test_compiled_hook_called_per_event_from_python(benchmark, mc):
    """deliver_quote: one Python call + one GIL release per event (what batching avoids)."""
    s = mc.MeanCross(new_ctx())
    qs = quotes_py(50_000)

    def run():
        d = s.deliver_quote
        drain = s.drain_intents
        for k, (inst, b, bs, a, as_) in enumerate(qs):
            d(inst, b, bs, a, as_, 1)
            if k & 31 == 0:               # the ring holds 64 intents: drain like a dispatcher would
                drain()
        drain()

    benchmark.pedantic(run, rounds=3, iterations=1)
    report(benchmark, "compiled hook, Python call + nogil per event",
           ns_per_event=benchmark.stats.stats.median * 1e9 / len(qs))


def test_zero_allocations_per_event(mc):
    """tracemalloc: 1M compiled dispatches allocate nothing beyond the call's 3-tuple result."""
    s = mc.MeanCross(new_ctx())
    s.bench_dispatch_quotes(0, 1000)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        cur0 = tracemalloc.get_traced_memory()[0]
        elapsed, drained, rc = s.bench_dispatch_quotes(0, N)
        cur1, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rc == 0 and drained > 0
    print(f"\n[dispatch] tracemalloc over {N} events: peak +{peak - cur0} B, retained +{cur1 - cur0} B")
    assert peak - cur0 < 1024


# ---- whole frame: bytes -> decode -> top -> hook -> drain ------------------------------------------

def frames(n: int = 2000):
    out = []
    for i, (_, b, bs, a, as_) in enumerate(quotes_py(n)):
        out.append(b'{"u":%d,"s":"BTCUSDT","b":"%d.%02d","B":"0.%05d","a":"%d.%02d","A":"0.%05d"}'
                   % (i + 1, b // 100, b % 100, bs, a // 100, a % 100, as_))
    return out


def make_pipeline(mc):
    ctx = new_ctx()
    s = mc.MeanCross(ctx)
    risk = RiskGate()
    risk.set_limits(0)
    p = Pipeline(ctx, s, risk)
    dec = Decoder(int(Venue.BINANCE_SPOT))
    dec.add_instrument(INST)
    p.add_feed(int(Venue.BINANCE_SPOT), dec)
    return p


def orjson_py_ns(fs) -> float:
    best = float("inf")
    for _ in range(3):
        s = PyMeanCross()
        f = s.on_quote
        loads = orjson.loads
        t0 = time.perf_counter_ns()
        for raw in fs:
            d = loads(raw)
            f((0, round(float(d["b"]) * 100), float(d["B"]), round(float(d["a"]) * 100), float(d["A"])))
        best = min(best, (time.perf_counter_ns() - t0) / len(fs))
    return best


@pytest.mark.benchmark(group="frame-to-decision")
def test_pipeline_frame_path(benchmark, mc):
    fs = frames()
    loops = 50
    benchmark.pedantic(lambda p: p.bench_feed(0, int(Venue.BINANCE_SPOT), fs, loops),
                       setup=lambda: ((make_pipeline(mc),), {}), rounds=3, iterations=1)
    best = min(make_pipeline(mc).bench_feed(0, int(Venue.BINANCE_SPOT), fs, loops) for _ in range(3))
    ns = best / (len(fs) * loops)
    py = orjson_py_ns(fs)
    report(benchmark, "bookTicker bytes -> decode -> ctx top -> compiled hook -> drain (pending)",
           ns_per_frame=ns, orjson_python_ns=py, ratio=py / ns)


@pytest.mark.benchmark(group="frame-to-decision")
def test_orjson_python_baseline(benchmark):
    fs = frames()
    benchmark.pedantic(orjson_py_ns, args=(fs,), rounds=2, iterations=1)
    report(benchmark, "orjson.loads + float() + Python method (baseline)", ns_per_frame=orjson_py_ns(fs))
