# SPDX-License-Identifier: Apache-2.0
"""Latency-probe mode and process mode of the simulator."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import aiohttp

from engine.sim import SimConfig, SimExchange
from tests._sim_util import PlainBinance


async def test_probe_mode_quotes_at_fixed_rate_and_records_tick_to_trade():
    cfg = SimConfig(venues=["binance_usdm"], latency_probe=True, quote_rate=200)
    async with SimExchange(cfg) as ex, aiohttp.ClientSession() as s:
        key, secret, _ = ex.credentials("binance_usdm")
        c = PlainBinance(s, ex.endpoints("binance_usdm"), key, secret, True)
        url = ex.endpoints("binance_usdm")["ws_public"] + "/ws/btcusdt@bookTicker"
        async with s.ws_connect(url) as md, s.ws_connect(c.ep["ws_trade"]) as tr:
            await tr.send_json(c.ws_request("logon", "session.logon"))
            assert (await tr.receive_json(timeout=3))["status"] == 200
            t0 = time.monotonic()
            n = 0
            while n < 40:
                await md.receive_json(timeout=3)
                n += 1
                if n % 4 == 0:       # react to every 4th quote with a far-away post-only order
                    await tr.send_json({"id": str(n), "method": "order.place", "params": {
                        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX",
                        "quantity": "0.010", "price": "30000.0", "timestamp": int(time.time() * 1000)}})
            rate = n / (time.monotonic() - t0)
            await asyncio.sleep(0.1)
        samples = ex.tick_to_trade_ns("binance_usdm")
    # every event changes the touch once: quotes arrive near the configured rate (2 symbols,
    # one subscribed)
    assert 100 < rate < 400, rate
    assert len(samples) == 10
    assert all(0 < x < 1_000_000_000 for x in samples)


def test_process_mode_serves_and_stops():
    p = subprocess.Popen([sys.executable, "-m", "engine.sim", "--port", "0", "--venues", "binance_usdm,okx",
                          "--duration", "3"], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(p.stdout.readline())
        assert set(info) == {"binance_usdm", "okx"}
        assert info["okx"]["ws_public"].startswith("ws://127.0.0.1:")

        async def check() -> int:
            async with aiohttp.ClientSession() as s:
                async with s.get(info["binance_usdm"]["rest"] + "/fapi/v1/time") as r:
                    return r.status
        assert asyncio.run(check()) == 200
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
    bad = subprocess.run([sys.executable, "-m", "engine.sim", "--venues", "nope", "--port", "0"],
                         capture_output=True, text=True, timeout=20)
    assert bad.returncode == 2 and "unknown venue" in bad.stderr


async def test_stats_count_events_and_overload():
    async with SimExchange(SimConfig(venues=["binance_usdm"], quote_rate=100)) as ex:
        await asyncio.sleep(0.3)
        st = ex.stats("binance_usdm")
        assert st["events"] >= 2 * 20 and st["loop_errors"] == 0   # two symbols, ~30 events each
        v = ex.venue("binance_usdm")
        time.sleep(0.8)  # noqa: ASYNC251  block the loop on purpose: > 0.5 s of backlog
        await asyncio.sleep(0.05)
        assert ex.stats("binance_usdm")["overload_skipped"] > 0
        assert v.loop_errors == 0
