# SPDX-License-Identifier: Apache-2.0
"""Ingest throughput per core: loopback WebSocket sender (separate process) -> transport -> decode ->
book -> empty strategy, for Binance USD-M bookTicker frames and 20-level depth diffs.

Pipelines compared in the same run:
  * ``websockets_json``: websockets client, json.loads, float prices, SortedDict book, Python callback
  * ``picows_orjson``: picows listener, orjson.loads, float prices, SortedDict book, Python callback
  * ``hotpath``: picows + the compiled Pipeline listener (Decoder -> Book -> Strategy, no Python objects)

The figure that matters is client CPU per frame (``time.process_time`` of this process; the sender
runs in its own process), reported as ns/frame and frames/s per core in ``extra_info`` and printed.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from typing import Any, Callable

import orjson
import pytest
from sortedcontainers import SortedDict

N_QUOTES = int(os.environ.get("HOTPATH_BENCH_QUOTES", "1000000"))
N_DIFFS = int(os.environ.get("HOTPATH_BENCH_DIFFS", "100000"))
SYMBOL = "BTCUSDT"

# The sender builds every frame before it accepts the connection, then writes them as fast as the
# socket takes them. Server frames are unmasked; FIN+TEXT (0x81).
SENDER = textwrap.dedent(r'''
    import base64, hashlib, socket, struct, sys
    kind, n = sys.argv[1], int(sys.argv[2])
    def frame(p):
        n = len(p)
        if n < 126: h = bytes([0x81, n])
        elif n < 65536: h = bytes([0x81, 126]) + struct.pack(">H", n)
        else: h = bytes([0x81, 127]) + struct.pack(">Q", n)
        return h + p
    chunks = []
    if kind == "quote":
        block = []
        for i in range(1000):
            bid = 5000000 + (i % 50)
            p = ('{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":%d,"s":"BTCUSDT","b":"%d.%d",'
                 '"B":"%d.%03d","a":"%d.%d","A":"%d.%03d","T":1700000000000,"E":1700000000001}}'
                 % (1000 + i, bid // 100, bid % 100 // 10, 1 + i % 7, i % 1000, (bid + 1) // 100,
                    (bid + 1) % 100 // 10, 2 + i % 5, (i * 7) % 1000)).encode()
            block.append(frame(p))
        blk = b"".join(block)
        data = [blk] * (n // 1000)
    else:
        # 20-level diffs (10 bids below 50000.0, 10 asks above), pu chained after the snapshot id 1000
        data, last = [], 1000
        for k in range(n):
            U, u = last + 1, last + 3
            b = ",".join('["%d.%d","%d.%03d"]' % ((499900 - j * 3 - (k % 5)) // 10, (499900 - j * 3 - (k % 5)) % 10,
                                                  (k + j) % 9, (k * j) % 1000) for j in range(10))
            a = ",".join('["%d.%d","%d.%03d"]' % ((500100 + j * 3 + (k % 5)) // 10, (500100 + j * 3 + (k % 5)) % 10,
                                                  (k + 2 * j) % 9, (k * j + 1) % 1000) for j in range(10))
            p = ('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1700000000001,"T":1700000000000,'
                 '"s":"BTCUSDT","U":%d,"u":%d,"pu":%d,"b":[%s],"a":[%s]}}' % (U, u, last, b, a)).encode()
            data.append(frame(p))
            last = u
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    print(srv.getsockname()[1], flush=True)
    c, _ = srv.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        req += c.recv(4096)
    key = [l.split(b":", 1)[1].strip() for l in req.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key")][0]
    acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
    for d in data:
        c.sendall(d)
    c.sendall(b"\x88\x02\x03\xe8")
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
''')


def start_sender(kind: str, n: int) -> tuple[subprocess.Popen[bytes], str]:
    p = subprocess.Popen([sys.executable, "-c", SENDER, kind, str(n)], stdout=subprocess.PIPE)
    assert p.stdout is not None
    port = int(p.stdout.readline())
    return p, f"ws://127.0.0.1:{port}/stream"


def snapshot_levels() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    bids = [(f"{(499900 - j) // 10}.{(499900 - j) % 10}", "1.000") for j in range(200)]
    asks = [(f"{(500100 + j) // 10}.{(500100 + j) % 10}", "1.000") for j in range(200)]
    return bids, asks


# ---- baselines: plain-Python handling shared by websockets and picows --------------------------

class PyBook:
    """The usual Python book: SortedDict keyed by float price."""

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        bids, asks = snapshot_levels()
        for p, q in bids:
            self.bids[float(p)] = float(q)
        for p, q in asks:
            self.asks[float(p)] = float(q)
        self.last = 1000

    def apply(self, d: dict[str, Any]) -> None:
        if d["pu"] != self.last:
            raise RuntimeError("gap")
        for side, rows in ((self.bids, d["b"]), (self.asks, d["a"])):
            for p, q in rows:
                px, sz = float(p), float(q)
                if sz == 0.0:
                    side.pop(px, None)
                else:
                    side[px] = sz
        self.last = d["u"]


class PyHandler:
    def __init__(self, n: int, done: asyncio.Future[int]) -> None:
        self.n, self.done, self.count = n, done, 0
        self.book = PyBook()
        self.quote: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self.strategy: Callable[[Any], None] = lambda ev: None

    def handle(self, msg: dict[str, Any]) -> None:
        d = msg["data"]
        if d["e"] == "bookTicker":
            self.quote = (float(d["b"]), float(d["B"]), float(d["a"]), float(d["A"]))
            self.strategy(self.quote)
        else:
            self.book.apply(d)
            self.strategy(self.book)
        self.count += 1
        if self.count == self.n and not self.done.done():
            self.done.set_result(self.count)


async def run_websockets_json(kind: str, n: int) -> float:
    import websockets
    p, url = start_sender(kind, n)
    loop = asyncio.get_running_loop()
    h = PyHandler(n, loop.create_future())
    t0 = 0.0
    async with websockets.connect(url, max_size=None, compression=None, ping_interval=None) as ws:
        async for m in ws:
            if h.count == 0:
                t0 = time.process_time()
            h.handle(json.loads(m))
            if h.count == n:
                break
        cpu = time.process_time() - t0
        p.kill()
    p.wait(10)
    return cpu


async def run_picows(kind: str, n: int, factory: Callable[[asyncio.Future[int]], Any]) -> float:
    from picows import ws_connect
    p, url = start_sender(kind, n)
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    transport, listener = await ws_connect(lambda: factory(done), url, max_frame_size=1 << 20)
    got = await asyncio.wait_for(done, 120)
    cpu = time.process_time() - listener.t0
    p.kill()
    transport.disconnect()
    p.wait(10)
    assert got == n
    return cpu


def picows_orjson_factory(n: int) -> Callable[[asyncio.Future[int]], Any]:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport

    class L(WSListener):  # type: ignore[misc]
        def __init__(self, done: asyncio.Future[int]) -> None:
            self.h = PyHandler(n, done)
            self.t0 = 0.0

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type != WSMsgType.TEXT:
                return
            if self.h.count == 0:
                self.t0 = time.process_time()
            self.h.handle(orjson.loads(frame.get_payload_as_bytes()))

    return L


def hotpath_pipeline(kind: str) -> tuple[Any, Any]:
    from engine.book import Book
    from engine.codec import Decoder
    from engine.instruments import Instrument, Venue
    from engine.pipeline import Pipeline
    from engine.risk import RiskGate
    from engine.strategy import Context, Strategy

    inst = Instrument(0, Venue.BINANCE_USDM, SYMBOL, "0.1", "0.001")
    ctx = Context()
    ctx.add_instrument(inst)
    pipe = Pipeline(ctx, Strategy(), RiskGate())          # base Strategy: empty hooks
    dec = Decoder(int(Venue.BINANCE_USDM))
    dec.add_instrument(inst)
    pipe.add_feed(int(Venue.BINANCE_USDM), dec)
    book = None
    if kind == "depth":
        book = Book(inst, "binance_usdm", capacity=1000)
        pipe.add_book(book)
        bids, asks = snapshot_levels()
        # usdm first-event rule U <= L <= u: the first diff is U=1001, u=1003
        assert book.apply_snapshot(bids, asks, 1001) == 0
    return pipe, book


class _Done:
    def __init__(self, fut: asyncio.Future[int]) -> None:
        self.fut, self.cold = fut, 0

    def on_cold_frame(self, conn_id: int, payload: bytes, rc: int, inst: int, recv_ns: int) -> None:
        self.cold += 1

    def on_ws_disconnected(self, conn_id: int) -> None:
        if not self.fut.done():
            self.fut.set_result(0)


async def run_hotpath(kind: str, n: int) -> float:
    from picows import ws_connect
    pipe, book = hotpath_pipeline(kind)
    p, url = start_sender(kind, n)
    done = _Done(asyncio.get_running_loop().create_future())
    t0 = time.process_time()
    transport, _ = await ws_connect(lambda: pipe.listener(0, 2, done), url, max_frame_size=1 << 20)
    await asyncio.wait_for(done.fut, 120)      # the sender closes after the last frame
    cpu = time.process_time() - t0
    p.kill()
    p.wait(10)
    st = pipe.stats
    assert st["hot"] == n and done.cold == 0, (st, done.cold)
    if book is not None:
        assert book.valid and book.last_id == 1000 + 3 * n, book
    return cpu


def report(benchmark: Any, name: str, kind: str, n: int, cpu: float, base: dict[str, float]) -> None:
    ns = cpu / n * 1e9
    base[name] = ns
    benchmark.extra_info.update({"ns_per_frame_cpu": round(ns, 1), "frames_per_s_per_core": round(1e9 / ns),
                                 "frames": n})
    ref = base.get("websockets_json")
    if ref and name != "websockets_json":
        benchmark.extra_info["speedup_vs_websockets_json"] = round(ref / ns, 2)
    if base.get("picows_orjson") and name == "hotpath":
        benchmark.extra_info["speedup_vs_picows_orjson"] = round(base["picows_orjson"] / ns, 2)
    print(f"\n[ingest {kind}] {name:16s} {ns:8.1f} ns/frame CPU  {1e9 / ns / 1e6:6.2f} M frames/s/core "
          f"({n} frames)")


RESULTS: dict[str, dict[str, float]] = {"quote": {}, "depth": {}}


def _n(kind: str, name: str) -> int:
    n = N_QUOTES if kind == "quote" else N_DIFFS
    return n // 10 if name == "websockets_json" else n      # the slow baseline needs fewer frames


@pytest.mark.parametrize("kind", ["quote", "depth"])
@pytest.mark.parametrize("name", ["websockets_json", "picows_orjson", "hotpath"])
def test_ingest(benchmark: Any, kind: str, name: str) -> None:
    benchmark.group = f"ingest-{kind}"
    n = _n(kind, name)

    def run() -> float:
        if name == "websockets_json":
            return asyncio.run(run_websockets_json(kind, n))
        if name == "picows_orjson":
            return asyncio.run(run_picows(kind, n, picows_orjson_factory(n)))
        return asyncio.run(run_hotpath(kind, n))

    cpu = benchmark.pedantic(run, rounds=1, iterations=1)
    report(benchmark, name, kind, n, cpu, RESULTS[kind])


@pytest.mark.parametrize("kind", ["quote", "depth"])
def test_ingest_no_transport(benchmark: Any, kind: str) -> None:
    """Decode + book + empty strategy only, looped in C over pre-built frames (no socket)."""
    benchmark.group = f"ingest-{kind}-no-transport"
    n = 1000
    frames = []
    if kind == "quote":
        for i in range(n):
            frames.append(('{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":%d,"s":"BTCUSDT",'
                           '"b":"50000.%d","B":"1.%03d","a":"50001.%d","A":"2.%03d","T":1700000000000,'
                           '"E":1700000000001}}' % (i, i % 10, i % 1000, i % 10, i % 997)).encode())
        loops = 200
    else:
        last = 1000
        for k in range(n):
            b = ",".join('["%d.%d","%d.%03d"]' % ((499900 - j * 3 - k % 5) // 10, (499900 - j * 3 - k % 5) % 10,
                                                  (k + j) % 9, (k * j) % 1000) for j in range(10))
            a = ",".join('["%d.%d","%d.%03d"]' % ((500100 + j * 3 + k % 5) // 10, (500100 + j * 3 + k % 5) % 10,
                                                  (k + 2 * j) % 9, (k * j + 1) % 1000) for j in range(10))
            frames.append(('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1700000000001,'
                           '"T":1700000000000,"s":"BTCUSDT","U":%d,"u":%d,"pu":%d,"b":[%s],"a":[%s]}}'
                           % (last + 1, last + 3, last, b, a)).encode())
            last += 3
        loops = 1                       # ids must keep increasing: one pass per round
    state: dict[str, Any] = {}

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        pipe, book = hotpath_pipeline(kind)
        state["pipe"], state["book"] = pipe, book
        return (pipe,), {}

    cpu: list[float] = []

    def run(pipe: Any) -> None:
        t0 = time.process_time()
        pipe.bench_feed(0, 2, frames, loops)
        cpu.append(time.process_time() - t0)

    benchmark.pedantic(run, setup=setup, rounds=20 if kind == "depth" else 5)
    st = state["pipe"].stats
    assert st["hot"] == n * loops and st["cold"] == 0
    ns = min(cpu) / (n * loops) * 1e9
    # baseline in the same run: orjson + float + SortedDict book + Python callback, same frames
    loop = asyncio.new_event_loop()
    h = PyHandler(n * loops + 1, loop.create_future())
    t0 = time.process_time()
    if kind == "quote":
        for _ in range(loops):
            for f in frames:
                h.handle(orjson.loads(f))
    else:
        for f in frames:
            h.handle(orjson.loads(f))
    base = (time.process_time() - t0) / (n * loops) * 1e9
    loop.close()
    benchmark.extra_info.update({"ns_per_frame_cpu": round(ns, 1), "frames_per_s": round(1e9 / ns),
                                 "orjson_py_ns_per_frame": round(base, 1), "speedup": round(base / ns, 1)})
    print(f"\n[ingest {kind}] no transport: hotpath {ns:8.1f} ns/frame CPU, orjson+Python {base:8.1f} ns/frame "
          f"({base / ns:.1f}x)")
