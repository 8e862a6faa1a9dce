# SPDX-License-Identifier: Apache-2.0
"""Simulator benchmarks: how many messages per second it sustains per core, and how much latency
its send path adds, each next to a baseline measured in the same run.

* ``event``: one synthetic market event (book change + Binance JSON for bookTicker/trade/depth +
  queueing to one subscriber), in-process, vs the baseline ``orjson.dumps`` of one bookTicker.
* ``rate``: the simulator as a separate process (``python -m engine.sim``) pushing to a loopback
  client; frames received per CPU-second of the simulator process (``/proc/<pid>/stat``), vs a
  bare aiohttp server process that only writes pre-serialised frames.
* ``rtt``: request -> reply round trip over loopback WebSocket (LIST_SUBSCRIPTIONS on the market
  stream) vs a bare aiohttp echo handler; the difference is the send-path cost the sim adds.
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time

import aiohttp
import orjson
import pytest

from engine.sim import SimConfig, SimExchange

N_EVENTS = int(os.environ.get("HOTPATH_BENCH_SIM_EVENTS", "20000"))
RATE_SECONDS = float(os.environ.get("HOTPATH_BENCH_SIM_SECONDS", "2.0"))
N_RTT = int(os.environ.get("HOTPATH_BENCH_SIM_RTT", "2000"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Stands in for a subscriber connection (collects frames)."""

    def __init__(self) -> None:
        self.n = 0
        self.state = {"combined": True, "names": {}}
        self.closed = False

    def send(self, text: str, quote: bool = False) -> None:
        self.n += 1


@pytest.mark.benchmark(group="sim-event")
def test_bench_sim_event(benchmark):
    async def build():
        from engine.sim.venues.binance import BinanceUsdm
        ex = SimExchange(SimConfig(venues=["binance_usdm"], market=False))
        v = BinanceUsdm(ex, ex.config.venues[0])
        sink = Sink()
        for t in ("btcusdt@bookTicker", "btcusdt@trade", "btcusdt@depth@0ms"):
            v._sub(sink, [t])   # type: ignore[arg-type]
        return v, sink
    v, sink = asyncio.run(build())
    m = v.engine.markets["BTCUSDT"]

    def run() -> None:
        for _ in range(N_EVENTS):
            v.publish_event(m, v.market.step(m))
    benchmark.pedantic(run, rounds=3, iterations=1)
    ns = benchmark.stats.stats.min / N_EVENTS * 1e9
    frames = sink.n / (3 * N_EVENTS)
    doc = {"e": "bookTicker", "u": 400900217, "s": "BTCUSDT", "b": "25.35190000", "B": "31.21000000",
           "a": "25.36520000", "A": "40.66000000", "T": 1568014460891, "E": 1568014460893}
    t0 = time.perf_counter_ns()
    for _ in range(N_EVENTS):
        orjson.dumps(doc)
    base = (time.perf_counter_ns() - t0) / N_EVENTS
    benchmark.extra_info.update(ns_per_event=round(ns), frames_per_event=round(frames, 2),
                                baseline_orjson_ns=round(base), ratio_vs_orjson=round(ns / base, 1),
                                events_per_s_per_core=round(1e9 / ns))
    print(f"\nsim event: {ns:.0f} ns/event ({frames:.2f} frames/event, {1e9 / ns:,.0f} events/s/core); "
          f"orjson bookTicker baseline {base:.0f} ns (x{ns / base:.1f})")


BARE_SERVER = textwrap.dedent(r'''
    import asyncio, sys
    from aiohttp import web
    port = int(sys.argv[1])
    frame = '{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":400900217,"s":"BTCUSDT","b":"50000.1","B":"1.210","a":"50000.2","A":"0.660","T":1568014460891,"E":1568014460893}}'
    async def handler(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        try:
            while not ws.closed:
                for _ in range(64):
                    await ws.send_str(frame)
                await asyncio.sleep(0)
        except Exception:
            pass
        return ws
    app = web.Application()
    app.router.add_get("/stream", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=lambda *a: print("ready", flush=True))
''')


async def _count_frames(url: str, seconds: float, pid: int) -> tuple[int, float]:
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url, max_msg_size=0) as ws:
            await ws.receive(timeout=10)
            c0 = cpu_s(pid)
            t_end = time.monotonic() + seconds
            n = 0
            while time.monotonic() < t_end:
                msg = await ws.receive(timeout=5)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                n += 1
            cpu = cpu_s(pid) - c0
            try:   # the sender keeps flooding: do not wait for a clean close handshake
                await asyncio.wait_for(ws.close(), 0.5)
            except (asyncio.TimeoutError, ConnectionError):
                pass
            return n, cpu


def _start(cmd: list[str]) -> subprocess.Popen:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env=dict(os.environ, PYTHONPATH=os.getcwd()))
    line = p.stdout.readline() if p.stdout else ""
    if not line:
        p.kill()
        raise RuntimeError(f"{cmd[:4]} did not start")
    return p


@pytest.mark.benchmark(group="sim-rate")
def test_bench_sim_rate_per_core(benchmark):
    port = free_port()
    sim = _start([sys.executable, "-m", "engine.sim", "--port", str(port), "--venues", "binance_usdm",
                  "--rate", "40000", "--depth", "20"])
    bport = free_port()
    bare = _start([sys.executable, "-c", BARE_SERVER, str(bport)])
    try:
        streams = "btcusdt@bookTicker/btcusdt@trade/ethusdt@bookTicker/ethusdt@trade"
        res = {}

        def run() -> None:
            res["sim"] = asyncio.run(_count_frames(f"ws://127.0.0.1:{port}/stream?streams={streams}",
                                                   RATE_SECONDS, sim.pid))
            res["bare"] = asyncio.run(_count_frames(f"ws://127.0.0.1:{bport}/stream", RATE_SECONDS, bare.pid))
        benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        for p in (sim, bare):
            p.terminate()
            p.wait(5)
    (n, cpu), (bn, bcpu) = res["sim"], res["bare"]
    per_core = n / max(cpu, 1e-9)
    bare_core = bn / max(bcpu, 1e-9)
    benchmark.extra_info.update(sim_frames=n, sim_frames_per_s=round(n / RATE_SECONDS),
                                sim_frames_per_cpu_s=round(per_core), bare_frames_per_cpu_s=round(bare_core),
                                ratio=round(bare_core / per_core, 2))
    print(f"\nsim: {n / RATE_SECONDS:,.0f} frames/s delivered, {per_core:,.0f} frames per sim CPU-second; "
          f"bare aiohttp sender {bare_core:,.0f} frames/CPU-s (x{bare_core / per_core:.2f})")


async def _rtt(url: str, n: int, make: callable) -> list[int]:
    out = []
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url) as ws:
            for i in range(n):
                t0 = time.perf_counter_ns()
                await ws.send_str(make(i))
                await ws.receive(timeout=5)
                out.append(time.perf_counter_ns() - t0)
    out.sort()
    return out


@pytest.mark.benchmark(group="sim-rtt")
def test_bench_sim_send_path_rtt(benchmark):
    from aiohttp import web

    async def echo(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            req = orjson.loads(msg.data)
            await ws.send_str(orjson.dumps({"result": [], "id": req["id"]}).decode())
        return ws

    async def main() -> tuple[list[int], list[int]]:
        app = web.Application()
        app.router.add_get("/ws", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        bport = site._server.sockets[0].getsockname()[1]
        try:
            async with SimExchange(SimConfig(venues=["binance_usdm"], market=False)) as ex:
                mk = lambda i: '{"method":"LIST_SUBSCRIPTIONS","id":%d}' % i
                sim_r = await _rtt(ex.endpoints("binance_usdm")["ws_public"] + "/ws", N_RTT, mk)
                bare_r = await _rtt(f"ws://127.0.0.1:{bport}/ws", N_RTT, mk)
        finally:
            await runner.cleanup()
        return sim_r, bare_r
    res = {}
    benchmark.pedantic(lambda: res.update(r=asyncio.run(main())), rounds=1, iterations=1)
    sim_r, bare_r = res["r"]
    p = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))]
    added = p(sim_r, 0.5) - p(bare_r, 0.5)
    benchmark.extra_info.update(sim_p50_ns=p(sim_r, 0.5), sim_p99_ns=p(sim_r, 0.99),
                                bare_p50_ns=p(bare_r, 0.5), bare_p99_ns=p(bare_r, 0.99),
                                added_p50_ns=added)
    print(f"\nrtt p50 sim {p(sim_r, .5) / 1e3:.1f} us vs bare aiohttp {p(bare_r, .5) / 1e3:.1f} us "
          f"(added {added / 1e3:.1f} us); p99 {p(sim_r, .99) / 1e3:.1f} vs {p(bare_r, .99) / 1e3:.1f} us")
