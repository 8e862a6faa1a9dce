# SPDX-License-Identifier: Apache-2.0
"""Persistence throughput (events/s) of the SQLite and Redis stores, and proof that the async
writer adds nothing measurable to a tick loop: the same loop (fixed work + one ``put`` per tick,
yielding to the event loop every tick like a feed callback) with a no-op sink, with the SQLite
writer committing in the background, and with the Redis writer."""
from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from engine.store.sqlite import SqliteStore

N_EVENTS = 20_000
N_TICKS = 20_000
_results: dict[str, float] = {}


def _fill(i: int) -> dict:
    return {"venue": 2, "trade_id": f"BTCUSDT:{i}", "client_oid": f"hpt1Z{i}", "inst": 0, "side": 1,
            "px": 500000 + i % 100, "sz": 10, "fee": 0.01, "is_maker": True, "ts_ms": i}


def _order(i: int) -> dict:
    return {"client_oid": f"hpt1Z{i}", "client_id": i, "venue": 2, "inst": 0, "side": 1,
            "ord_type": 1, "tif": 1, "flags": 0, "px": 500000, "sz": 10, "status": "filled",
            "filled_sz": 10, "venue_order_id": str(i), "reason": "", "created_ms": i,
            "updated_ms": i, "fill_sum": 10}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    from _store_util import start_redis
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(5)


async def _throughput(store) -> float:
    await store.open()
    t0 = time.perf_counter()
    for i in range(N_EVENTS // 2):
        store.put("order", _order(i))
        store.put("fill", _fill(i))
    await store.flush()
    dt = time.perf_counter() - t0
    await store.close()
    return N_EVENTS / dt


def _report(benchmark, label: str, **kv: float) -> None:
    for k, v in kv.items():
        benchmark.extra_info[k] = round(v, 1)
    print(f"\n[{label}] " + "  ".join(f"{k}={v:,.1f}" for k, v in kv.items()))


@pytest.mark.benchmark(group="store-throughput")
def test_sqlite_events_per_s(benchmark, tmp_path):
    n = iter(range(100))
    eps = benchmark.pedantic(lambda: asyncio.run(_throughput(SqliteStore(tmp_path / f"t{next(n)}.db"))),
                             rounds=3, iterations=1)
    _report(benchmark, "sqlite", events_per_s=eps)


@pytest.mark.benchmark(group="store-throughput")
def test_redis_events_per_s(benchmark, redis_url):
    from engine.store.redis import RedisStore
    n = iter(range(100))
    eps = benchmark.pedantic(lambda: asyncio.run(_throughput(RedisStore(redis_url, prefix=f"b{next(n)}:"))),
                             rounds=3, iterations=1)
    _report(benchmark, "redis", events_per_s=eps)


def _work(x: int) -> int:
    # stand-in for a tick's Python-side work (~ a few us)
    for _ in range(40):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


async def _tick_loop(store) -> list[int]:
    if store is not None:
        await store.open()
        put = store.put
    else:
        def put(kind, data):
            return None
    samples = []
    x = 1
    for i in range(N_TICKS):
        t0 = time.perf_counter_ns()
        x = _work(x)
        put("fill", _fill(i))
        samples.append(time.perf_counter_ns() - t0)
        await asyncio.sleep(0)               # the writer runs between ticks, as in the bot
    if store is not None:
        await store.close()
    return samples


def _tick(benchmark, label: str, make) -> None:
    got: list[list[int]] = []
    benchmark.pedantic(lambda: got.append(asyncio.run(_tick_loop(make()))), rounds=3, iterations=1)
    s = sorted(min(got, key=lambda v: statistics.median(v)))
    p50 = s[len(s) // 2]
    p99 = s[int(len(s) * 0.99)]
    _results[label] = p50
    base = _results.get("none")
    kv = {"tick_p50_ns": float(p50), "tick_p99_ns": float(p99)}
    if base:
        kv["p50_delta_ns"] = float(p50 - base)
    _report(benchmark, f"tick loop, {label}", **kv)


@pytest.mark.benchmark(group="store-tick-loop")
def test_tick_loop_no_store(benchmark):
    _tick(benchmark, "none", lambda: None)


@pytest.mark.benchmark(group="store-tick-loop")
def test_tick_loop_sqlite_writer(benchmark, tmp_path):
    n = iter(range(100))
    _tick(benchmark, "sqlite", lambda: SqliteStore(tmp_path / f"k{next(n)}.db"))


@pytest.mark.benchmark(group="store-tick-loop")
def test_tick_loop_redis_writer(benchmark, redis_url):
    from engine.store.redis import RedisStore
    n = iter(range(100))
    _tick(benchmark, "redis", lambda: RedisStore(redis_url, prefix=f"k{next(n)}:"))
