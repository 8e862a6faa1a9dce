# SPDX-License-Identifier: Apache-2.0
"""Malformed requests get venue-style errors; connections and the server survive."""
from __future__ import annotations


import aiohttp
import pytest

from engine.sim import SimConfig, SimExchange

BAD_FRAMES = ["", "null", "[]", "42", '{"op": 5}', '{"method": ["x"]}', '{"op":"subscribe","args":["x", 1, null]}',
              '{"op":"subscribe","args":[{"channel":5}]}', '{"id":1,"method":"order.place","params":[]}',
              '{"id":1,"method":"order.place","params":{"symbol":["BTCUSDT"],"quantity":{"a":1}}}',
              '{"op":"login","args":[5]}', '{"op":"order","args":["x"]}', "\u0000\u00ff", "x" * 5000]


@pytest.fixture
async def sim():
    async with SimExchange(SimConfig(venues=["binance_usdm", "bybit", "okx", "bitget"], market=False)) as ex:
        yield ex


async def test_ws_endpoints_survive_garbage(sim):
    async with aiohttp.ClientSession() as s:
        for venue in sim.venues:
            for name, url in sim.endpoints(venue).items():
                if name == "rest":
                    continue
                if venue == "binance_usdm" and name == "ws_public":
                    url += "/ws"
                if venue == "binance_usdm" and name == "ws_private":
                    continue   # needs a listenKey in the path
                async with s.ws_connect(url) as ws:
                    for f in BAD_FRAMES:
                        await ws.send_str(f)
                    # still alive and answering
                    ping = {"okx": "ping", "bitget": "ping"}.get(venue)
                    if ping:
                        await ws.send_str(ping)
                    elif venue == "bybit":
                        await ws.send_json({"req_id": "alive", "op": "ping"})
                    else:
                        await ws.send_json({"id": "alive", "method": "time"} if name == "ws_trade"
                                           else {"method": "LIST_SUBSCRIPTIONS", "id": 99})
                    seen_alive = False
                    for _ in range(len(BAD_FRAMES) + 5):
                        msg = await ws.receive(timeout=3)
                        assert msg.type == aiohttp.WSMsgType.TEXT, (venue, name, msg)
                        if msg.data == "pong" or '"alive"' in msg.data or '"id":99' in msg.data or \
                                '"pong"' in msg.data:
                            seen_alive = True
                            break
                    assert seen_alive, (venue, name)
    for venue in sim.venues:
        assert sim.venue(venue).loop_errors == 0


async def test_rest_endpoints_answer_bad_input_with_4xx(sim):
    async with aiohttp.ClientSession() as s:
        cases = [("binance_usdm", "GET", "/fapi/v1/depth?symbol=BTCUSDT&limit=abc"),
                 ("bybit", "GET", "/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=x"),
                 ("okx", "GET", "/api/v5/market/books?instId=BTC-USDT-SWAP&sz=zz"),
                 ("bitget", "GET", "/api/v2/mix/market/merge-depth?productType=USDT-FUTURES&symbol=BTCUSDT&limit=q")]
        for venue, method, path in cases:
            async with s.request(method, sim.endpoints(venue)["rest"] + path) as r:
                assert r.status < 500, (venue, r.status)
                body = await r.json()
                assert body, venue
