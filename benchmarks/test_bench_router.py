# SPDX-License-Identifier: Apache-2.0
"""Intent -> order bytes on the socket (encode + sign + write) for the WS and REST order paths,
against the plain-Python baseline of a typical bot (aiohttp + dict + stdlib hmac + json), in the
same run, over real loopback sockets to a discard server running in another process.

Groups:
* router-ws-send: per order, encode+sign a Binance USD-M ``order.place`` and write it on an open
  WebSocket. baseline (aiohttp ws, json, hmac) / router path (compiled encoder + aiohttp ws, what
  Router._send does) / compiled encoder + picows transport (what the pipeline does).
* router-rest-encode: the CPU part alone (query string + HMAC), no socket.
* router-rest-order: per order, a full keep-alive REST round trip (the answer is a fixed small
  JSON), baseline aiohttp + urlencode + hmac vs Router._http with the compiled REST encoder.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time
from decimal import Decimal
from itertools import count
from urllib.parse import urlencode

import aiohttp
import picows
import pytest

from engine.clock_sync import ClockSync
from engine.exchanges.base import Endpoints
from engine.exchanges.binance.trading import BinanceUsdmTrading
from engine.instruments import Instrument, Venue
from engine.router import Router, _Venue
from engine.state import Order

KEY = "benchkey"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
INST = Instrument(0, Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
N_WS = 2000
N_REST = 300
ROUNDS = 5

_SERVER = r"""
import asyncio, sys
from aiohttp import web, WSMsgType
async def ws(request):
    w = web.WebSocketResponse(max_msg_size=1 << 20)
    await w.prepare(request)
    async for m in w:
        if m.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            break
    return w
ANS = b'{"orderId":1,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"x","executedQty":"0","origQty":"0.010","price":"52000.1","side":"BUY","type":"LIMIT","timeInForce":"GTC"}'
async def order(request):
    await request.read()
    return web.Response(body=ANS, content_type="application/json")
async def main():
    app = web.Application()
    app.router.add_get("/ws", ws)
    app.router.add_post("/fapi/v1/order", order)
    r = web.AppRunner(app, access_log=None)
    await r.setup()
    s = web.TCPSite(r, "127.0.0.1", 0)
    await s.start()
    print(s._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

_results: dict[str, float] = {}


@pytest.fixture(scope="module")
def server():
    p = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline())
    yield port
    p.kill()
    p.wait()


@pytest.fixture(scope="module")
def loop():
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def _baseline_ws_frame(cid: int, secret=SECRET.encode()) -> str:  # noqa: B008  key encoded once, a fast local
    params = {"apiKey": KEY, "newClientOrderId": f"hpt1Z{cid}", "price": str(Decimal(520001).scaleb(-1)),
              "quantity": f"{Decimal(10).scaleb(-3):.3f}", "recvWindow": 5000, "side": "BUY",
              "symbol": "BTCUSDT", "timeInForce": "GTC", "timestamp": int(time.time() * 1000),
              "type": "LIMIT"}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"id": f"n{cid}", "method": "order.place", "params": params})


def _baseline_rest_query(cid: int, secret=SECRET.encode()) -> str:  # noqa: B008  key encoded once, a fast local
    q = urlencode({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                   "quantity": f"{Decimal(10).scaleb(-3):.3f}", "price": str(Decimal(520001).scaleb(-1)),
                   "newClientOrderId": f"hpt1Z{cid}", "recvWindow": 5000,
                   "timestamp": int(time.time() * 1000)})
    return q + "&signature=" + hmac.new(secret, q.encode(), hashlib.sha256).hexdigest()


def _adapter(port: int) -> BinanceUsdmTrading:
    ad = BinanceUsdmTrading(Endpoints(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws",
                                      ws_trade=f"ws://127.0.0.1:{port}/ws"),
                            KEY, SECRET, "", [INST], ClockSync())
    ad.attach_encoders("t1")
    return ad


def _order(cid: int) -> Order:
    return Order(f"hpt1Z{cid}", cid, 2, 0, 1, 1, 1, 0, 520001, 10)


def _run(benchmark, loop, coro_fn, n: int, label: str) -> None:
    ids = count(1)

    def once():
        return loop.run_until_complete(coro_fn(ids, n))

    benchmark.pedantic(once, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    ns = benchmark.stats.stats.min * 1e9 / n
    _results[label] = ns
    benchmark.extra_info["ns_per_order"] = round(ns, 1)
    base = _results.get(label.split(":")[0] + ":baseline")
    if base:
        benchmark.extra_info["speedup_vs_baseline"] = round(base / ns, 2)
    print(f"\n[{label}] {ns:.0f} ns/order" + (f"  baseline/this = {base / ns:.2f}x" if base else ""))


@pytest.mark.benchmark(group="router-ws-send")
def test_ws_baseline_aiohttp_json_hmac(benchmark, server, loop):
    async def setup():
        s = aiohttp.ClientSession()
        return s, await s.ws_connect(f"http://127.0.0.1:{server}/ws")
    sess, ws = loop.run_until_complete(setup())

    async def batch(ids, n):
        for _ in range(n):
            await ws.send_str(_baseline_ws_frame(next(ids)))
    _run(benchmark, loop, batch, N_WS, "ws:baseline")
    loop.run_until_complete(ws.close())
    loop.run_until_complete(sess.close())


@pytest.mark.benchmark(group="router-ws-send")
def test_ws_router_path_compiled_encoder_aiohttp(benchmark, server, loop):
    ad = _adapter(server)

    async def setup():
        s = aiohttp.ClientSession()
        return s, await s.ws_connect(f"http://127.0.0.1:{server}/ws")
    sess, ws = loop.run_until_complete(setup())
    json.loads(ad.ws_place("r", _order(1))[1])          # it is a valid request

    async def batch(ids, n):
        for _ in range(n):
            _rid, frame, _ts = ad.ws_place("r", _order(next(ids)))
            await ws.send_str(frame.decode())
    _run(benchmark, loop, batch, N_WS, "ws:router")
    loop.run_until_complete(ws.close())
    loop.run_until_complete(sess.close())


@pytest.mark.benchmark(group="router-ws-send")
def test_ws_compiled_encoder_picows(benchmark, server, loop):
    ad = _adapter(server)
    enc = ad.enc_ws
    ts = int(time.time() * 1000)

    class L(picows.WSListener):
        def on_ws_frame(self, transport, frame):
            pass

    transport, _ = loop.run_until_complete(picows.ws_connect(L, f"ws://127.0.0.1:{server}/ws"))
    send = transport.send
    text = picows.WSMsgType.TEXT

    async def batch(ids, n):
        for i in range(n):
            send(text, enc.encode_py({"kind": 1, "inst": 0, "side": 1, "ord_type": 1, "tif": 1,
                                      "px": 520001, "sz": 10, "client_id": next(ids)}, ts))
            if i % 256 == 255:
                await asyncio.sleep(0)                   # let the loop flush like a real tick would
    _run(benchmark, loop, batch, N_WS, "ws:compiled+picows")
    transport.disconnect()


@pytest.mark.benchmark(group="router-rest-order")
def test_rest_baseline_aiohttp_hmac(benchmark, server, loop):
    async def mk():
        return aiohttp.ClientSession(base_url=f"http://127.0.0.1:{server}")
    sess = loop.run_until_complete(mk())

    async def batch(ids, n):
        for _ in range(n):
            async with sess.post("/fapi/v1/order?" + _baseline_rest_query(next(ids)),
                                 headers={"X-MBX-APIKEY": KEY}) as r:
                json.loads(await r.read())
    _run(benchmark, loop, batch, N_REST, "rest:baseline")
    loop.run_until_complete(sess.close())


@pytest.mark.benchmark(group="router-rest-order")
def test_rest_router_http(benchmark, server, loop):
    ad = _adapter(server)
    router = Router([INST], None, {})
    rv = _Venue(Venue.BINANCE_USDM, ad, ad.clock)
    rv.limiter.windows = []                              # measure the path, not our throttle
    async def mk():
        return aiohttp.ClientSession(base_url=f"http://127.0.0.1:{server}",
                                     connector=aiohttp.TCPConnector(keepalive_timeout=60))
    rv.http = loop.run_until_complete(mk())

    async def batch(ids, n):
        for _ in range(n):
            rep = await router._http(rv, ad.place(_order(next(ids))))
            assert rep.outcome == "ok"
    _run(benchmark, loop, batch, N_REST, "rest:router")
    loop.run_until_complete(rv.http.close())


def _cpu(benchmark, fn, n: int, label: str) -> None:
    def once():
        for i in range(n):
            fn(i)
    benchmark.pedantic(once, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    ns = benchmark.stats.stats.min * 1e9 / n
    _results[label] = ns
    base = _results.get(label.split(":")[0] + ":baseline")
    benchmark.extra_info["ns_per_order"] = round(ns, 1)
    if base:
        benchmark.extra_info["speedup_vs_baseline"] = round(base / ns, 2)
    print(f"\n[{label}] {ns:.0f} ns/order" + (f"  baseline/this = {base / ns:.2f}x" if base else ""))


@pytest.mark.benchmark(group="router-rest-encode")
def test_rest_encode_baseline_urlencode_hmac(benchmark):
    _cpu(benchmark, _baseline_rest_query, 20_000, "rest-encode:baseline")


@pytest.mark.benchmark(group="router-rest-encode")
def test_rest_encode_router_compiled(benchmark, server):
    ad = _adapter(server)
    orders = [_order(i + 1) for i in range(20_000)]
    assert "signature=" in ad.place(orders[0]).query
    _cpu(benchmark, lambda i: ad.place(orders[i]), 20_000, "rest-encode:router")


def test_zz_print_summary():
    """Print the table of this run (ns per order and ratios to the baseline of each group)."""
    for k, v in sorted(_results.items()):
        base = _results.get(k.split(":")[0] + ":baseline", v)
        print(f"{k:24s} {v:10.0f} ns/order   {base / v:5.2f}x")
