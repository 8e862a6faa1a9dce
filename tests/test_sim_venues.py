# SPDX-License-Identifier: Apache-2.0
"""Bybit v5, OKX v5 and Bitget v2 simulators checked by plain clients written from the venue
docs (aiohttp + stdlib hmac/zlib only): book sequence + checksum, signed REST orders, private
streams, WS order entry, auth errors, official signing vectors."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import zlib
from datetime import datetime, timezone
from decimal import Decimal

import aiohttp
import pytest

from engine.sim import SimConfig, SimExchange
from engine.sim.auth import bitget_sign, bybit_sign, okx_sign
from tests._sim_util import drain


def hexsig(secret: str, msg: str) -> str:
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


def b64sig(secret: str, msg: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), msg.encode(), hashlib.sha256).digest()).decode()


def crc(bids, asks) -> int:
    parts = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i][:2]
        if i < len(asks):
            parts += asks[i][:2]
    v = zlib.crc32(":".join(parts).encode())
    return v - (1 << 32) if v >= 1 << 31 else v


class Book:
    def __init__(self) -> None:
        self.b: dict[Decimal, list[str]] = {}
        self.a: dict[Decimal, list[str]] = {}

    def apply(self, bids, asks, reset=False) -> None:
        if reset:
            self.b, self.a = {}, {}
        for side, lv in ((self.b, bids), (self.a, asks)):
            for x in lv:
                if Decimal(x[1]) == 0:
                    side.pop(Decimal(x[0]), None)
                else:
                    side[Decimal(x[0])] = x

    def top(self, n=25):
        return ([self.b[k] for k in sorted(self.b, reverse=True)][:n],
                [self.a[k] for k in sorted(self.a)][:n])

    def norm(self):
        b, a = self.top(10_000)
        return ([(Decimal(p), Decimal(q)) for p, q, *_ in b], [(Decimal(p), Decimal(q)) for p, q, *_ in a])


def norm_true(levels):
    return [(Decimal(p), Decimal(q)) for p, q in levels]


@pytest.fixture
async def sim():
    async with SimExchange(SimConfig(venues=["bybit", "okx", "bitget"], quote_rate=400, seed=5)) as ex:
        yield ex


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


# ------------------------------------------------------------------------------- Bybit ------
async def bybit_rest(s, ex, method, path, params, key=None, secret=None, ts=None):
    k, sec, _ = ex.credentials("bybit")
    key = key or k
    secret = secret or sec
    ts = str(ts or int(time.time() * 1000))
    if method == "GET":
        payload = "&".join(f"{a}={b}" for a, b in params.items())
        url = ex.endpoints("bybit")["rest"] + path + "?" + payload
        body = None
    else:
        payload = json.dumps(params)
        url = ex.endpoints("bybit")["rest"] + path
        body = payload
    h = {"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000",
         "X-BAPI-SIGN": hexsig(secret, ts + key + "5000" + payload), "Content-Type": "application/json"}
    async with s.request(method, url, data=body, headers=h) as r:
        return await r.json()


async def test_bybit_book_u_chain_matches_true_book(sim, session):
    async with session.ws_connect(sim.endpoints("bybit")["ws_public"]) as ws:
        await ws.send_json({"req_id": "s1", "op": "subscribe", "args": ["orderbook.50.BTCUSDT"]})
        ack = await ws.receive_json(timeout=3)
        assert ack["success"] is True and ack["op"] == "subscribe" and ack["req_id"] == "s1"
        book, last_u, n = Book(), None, 0
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            m = await ws.receive_json(timeout=3)
            d = m["data"]
            if m["type"] == "snapshot":
                book.apply(d["b"], d["a"], reset=True)
            else:
                assert d["u"] == last_u + 1
                book.apply(d["b"], d["a"])
                n += 1
            last_u = d["u"]
        assert n > 5
        sim.pause_market("bybit")
        for m in await drain(ws, 0.3):
            assert m["data"]["u"] == last_u + 1
            last_u = m["data"]["u"]
            book.apply(m["data"]["b"], m["data"]["a"])
        tb, ta = sim.true_book("bybit", "BTCUSDT", 50)
        assert book.norm() == (norm_true(tb), norm_true(ta))
        # gap fault: u jumps
        sim.pause_market("bybit", False)
        sim.inject("bybit", "gap", symbol="BTCUSDT")
        jumped = False
        for _ in range(20):
            d = (await ws.receive_json(timeout=3))["data"]
            if d["u"] != last_u + 1:
                jumped = True
                break
            last_u = d["u"]
        assert jumped
        sim.pause_market("bybit")
        await drain(ws, 0.2)
        await ws.send_json({"req_id": "p", "op": "ping"})
        msgs = await drain(ws, 0.2)
        assert any(m.get("op") == "ping" and m.get("ret_msg") == "pong" for m in msgs)


async def test_bybit_rest_private_and_trade_ws(sim, session):
    sim.pause_market("bybit")
    key, secret, _ = sim.credentials("bybit")
    ep = sim.endpoints("bybit")
    async with session.ws_connect(ep["ws_private"]) as priv, session.ws_connect(ep["ws_trade"]) as tr:
        exp = int(time.time() * 1000) + 5000
        await priv.send_json({"req_id": "a", "op": "auth", "args": [key, exp, hexsig(secret, f"GET/realtime{exp}")]})
        r = await priv.receive_json(timeout=3)
        assert r["success"] is True and r["op"] == "auth"
        await priv.send_json({"req_id": "b", "op": "subscribe", "args": ["order", "execution", "position"]})
        assert (await priv.receive_json(timeout=3))["success"] is True
        bids, asks = sim.true_book("bybit", "BTCUSDT")
        r = await bybit_rest(session, sim, "POST", "/v5/order/create", {
            "category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.010",
            "price": bids[-1][0], "timeInForce": "GTC", "orderLinkId": "bb1"})
        assert r["retCode"] == 0 and r["result"]["orderLinkId"] == "bb1", r
        q = await bybit_rest(session, sim, "GET", "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"})
        assert [o["orderStatus"] for o in q["result"]["list"]] == ["New"]
        c = await bybit_rest(session, sim, "POST", "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                                        "orderLinkId": "bb1"})
        assert c["retCode"] == 0
        c = await bybit_rest(session, sim, "POST", "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                                        "orderLinkId": "bb1"})
        assert c["retCode"] == 110001
        bad = await bybit_rest(session, sim, "GET", "/v5/position/list", {"category": "linear"}, secret="nope")
        assert bad["retCode"] == 10004
        bad = await bybit_rest(session, sim, "GET", "/v5/position/list", {"category": "linear"},
                               ts=int(time.time() * 1000) - 60_000)
        assert bad["retCode"] == 10002
        # order entry over /v5/trade
        exp = int(time.time() * 1000) + 5000
        await tr.send_json({"op": "auth", "args": [key, exp, hexsig(secret, f"GET/realtime{exp}")]})
        assert (await tr.receive_json(timeout=3))["retCode"] == 0
        await tr.send_json({"reqId": "t1", "header": {"X-BAPI-TIMESTAMP": str(int(time.time() * 1000)),
                                                       "X-BAPI-RECV-WINDOW": "8000"},
                            "op": "order.create", "args": [{"category": "linear", "symbol": "BTCUSDT",
                                                            "side": "Buy", "orderType": "Limit", "qty": "0.010",
                                                            "price": asks[0][0], "timeInForce": "IOC",
                                                            "orderLinkId": "bb2"}]})
        r = await tr.receive_json(timeout=3)
        assert r["retCode"] == 0 and r["op"] == "order.create" and r["data"]["orderLinkId"] == "bb2"
        assert set(r["header"]) >= {"X-Bapi-Limit", "X-Bapi-Limit-Status", "Traceid", "Timenow"}
        events = await drain(priv, 0.3)
        topics = [e["topic"] for e in events]
        assert "execution" in topics and "position" in topics
        statuses = [d["orderStatus"] for e in events if e["topic"] == "order" for d in e["data"]]
        assert statuses == ["New", "Cancelled", "Filled"]
        pos = await bybit_rest(session, sim, "GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
        assert pos["result"]["list"][0]["size"] == "0.010" and pos["result"]["list"][0]["side"] == "Buy"


def test_bybit_signing_vectors(fixtures_dir):
    v = json.loads((fixtures_dir / "bybit" / "signing_vectors.json").read_text())["vectors"]
    assert bybit_sign(v[0]["secret"], v[0]["timestamp"], v[0]["api_key"], v[0]["recv_window"],
                      v[0]["payload"]) == v[0]["sign_hex"]
    assert hexsig(v[1]["secret"], v[1]["prehash"]) == v[1]["sign_hex"]


# ------------------------------------------------------------------------------- OKX --------
def okx_headers(ex, method, path, body=""):
    key, secret, pp = ex.credentials("okx")
    now = datetime.now(timezone.utc)
    ts = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return {"OK-ACCESS-KEY": key, "OK-ACCESS-TIMESTAMP": ts, "OK-ACCESS-PASSPHRASE": pp,
            "OK-ACCESS-SIGN": b64sig(secret, ts + method + path + body), "Content-Type": "application/json"}


async def test_okx_books_checksum_seq_and_true_book(sim, session):
    async with session.ws_connect(sim.endpoints("okx")["ws_public"]) as ws:
        await ws.send_json({"id": "1", "op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT-SWAP"}]})
        ack = await ws.receive_json(timeout=3)
        assert ack["event"] == "subscribe" and ack["id"] == "1"
        book, seq, n = Book(), None, 0
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            m = await ws.receive_json(timeout=3)
            d = m["data"][0]
            if m["action"] == "snapshot":
                assert d["prevSeqId"] == -1
                book.apply(d["bids"], d["asks"], reset=True)
            else:
                assert d["prevSeqId"] == seq
                book.apply(d["bids"], d["asks"])
                n += 1
            seq = d["seqId"]
            b, a = book.top()
            assert crc(b, a) == d["checksum"]
        assert n > 3
        sim.pause_market("okx")
        for m in await drain(ws, 0.3):
            d = m["data"][0]
            assert d["prevSeqId"] == seq
            seq = d["seqId"]
            book.apply(d["bids"], d["asks"])
        tb, ta = sim.true_book("okx", "BTC-USDT-SWAP")
        assert book.norm() == (norm_true(tb), norm_true(ta))
        sim.pause_market("okx", False)
        sim.inject("okx", "bad_checksum", symbol="BTC-USDT-SWAP")
        mismatch = False
        for _ in range(10):
            d = (await ws.receive_json(timeout=3))["data"][0]
            book.apply(d["bids"], d["asks"])
            if crc(*book.top()) != d["checksum"]:
                mismatch = True
                break
        assert mismatch
        sim.pause_market("okx")
        await drain(ws, 0.2)
        await ws.send_str("ping")
        assert (await ws.receive(timeout=3)).data == "pong"


async def test_okx_rest_login_orders_channel_and_ws_order(sim, session):
    sim.pause_market("okx")
    key, secret, pp = sim.credentials("okx")
    ep = sim.endpoints("okx")
    async with session.ws_connect(ep["ws_private"]) as ws:
        ts = str(int(time.time()))
        await ws.send_json({"op": "login", "args": [{"apiKey": key, "passphrase": pp, "timestamp": ts,
                                                     "sign": b64sig(secret, ts + "GET/users/self/verify")}]})
        assert (await ws.receive_json(timeout=3))["event"] == "login"
        await ws.send_json({"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"},
                                                        {"channel": "positions", "instType": "SWAP"}]})
        await drain(ws, 0.1)
        bids, asks = sim.true_book("okx", "BTC-USDT-SWAP")
        body = json.dumps({"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "limit",
                           "px": bids[-1][0], "sz": "1", "clOrdId": "ok1"})
        async with session.post(ep["rest"] + "/api/v5/trade/order", data=body,
                                headers=okx_headers(sim, "POST", "/api/v5/trade/order", body)) as r:
            res = await r.json()
        assert res["code"] == "0" and res["data"][0]["sCode"] == "0", res
        path = "/api/v5/trade/orders-pending?instId=BTC-USDT-SWAP"
        async with session.get(ep["rest"] + path, headers=okx_headers(sim, "GET", path)) as r:
            pend = await r.json()
        assert [o["clOrdId"] for o in pend["data"]] == ["ok1"] and pend["data"][0]["state"] == "live"
        h = okx_headers(sim, "GET", path)
        h["OK-ACCESS-SIGN"] = b64sig("wrong", "x")
        async with session.get(ep["rest"] + path, headers=h) as r:
            assert r.status == 401 and (await r.json())["code"] == "50113"
        await ws.send_json({"id": "c1", "op": "cancel-order", "args": [{"instId": "BTC-USDT-SWAP", "clOrdId": "ok1"}]})
        await ws.send_json({"id": "o2", "op": "order", "args": [{"instId": "BTC-USDT-SWAP", "tdMode": "cross",
                                                                 "side": "buy", "ordType": "ioc", "px": asks[0][0],
                                                                 "sz": "2", "clOrdId": "ok2"}]})
        msgs = await drain(ws, 0.3)
        replies = {m["id"]: m for m in msgs if "id" in m}
        assert replies["c1"]["code"] == "0" and replies["o2"]["data"][0]["sCode"] == "0"
        states = [d["state"] for m in msgs if m.get("arg", {}).get("channel") == "orders" for d in m["data"]]
        assert states == ["live", "canceled", "filled"]
        assert any(m.get("arg", {}).get("channel") == "positions" for m in msgs)


def test_okx_signing_vectors(fixtures_dir):
    v = json.loads((fixtures_dir / "okx" / "signing_vectors.json").read_text())["vectors"]
    path, _, q = v[0]["requestPath"].partition("?")
    assert okx_sign(v[0]["secret"], v[0]["timestamp"], "GET", v[0]["requestPath"], "") == v[0]["sign_b64"]
    assert b64sig(v[1]["secret"], v[1]["prehash"]) == v[1]["sign_b64"]
    ex = json.loads((fixtures_dir / "okx" / "docs" / "checksum_examples.json").read_text())
    for e in ex["examples"]:
        assert crc(e["bids"], e["asks"]) == e["crc32_signed"]


# ------------------------------------------------------------------------------- Bitget -----
def bitget_headers(ex, method, path_q, body=""):
    key, secret, pp = ex.credentials("bitget")
    ts = str(int(time.time() * 1000))
    return {"ACCESS-KEY": key, "ACCESS-TIMESTAMP": ts, "ACCESS-PASSPHRASE": pp,
            "ACCESS-SIGN": b64sig(secret, ts + method + path_q + body), "Content-Type": "application/json",
            "locale": "en-US"}


async def test_bitget_books_checksum_and_orders(sim, session):
    ep = sim.endpoints("bitget")
    key, secret, pp = sim.credentials("bitget")
    async with session.ws_connect(ep["ws_public"]) as ws:
        arg = {"instType": "USDT-FUTURES", "channel": "books", "instId": "BTCUSDT"}
        await ws.send_json({"op": "subscribe", "args": [arg]})
        assert (await ws.receive_json(timeout=3)) == {"event": "subscribe", "arg": arg}
        book, n = Book(), 0
        t_end = time.monotonic() + 0.8
        while time.monotonic() < t_end:
            m = await ws.receive_json(timeout=3)
            d = m["data"][0]
            book.apply(d["bids"], d["asks"], reset=m["action"] == "snapshot")
            assert crc(*book.top()) == d["checksum"]
            n += 1
        assert n > 3
        sim.pause_market("bitget")
        for m in await drain(ws, 0.3):
            d = m["data"][0]
            book.apply(d["bids"], d["asks"])
            assert crc(*book.top()) == d["checksum"]
        tb, ta = sim.true_book("bitget", "BTCUSDT")
        assert book.norm() == (norm_true(tb), norm_true(ta))
    async with session.ws_connect(ep["ws_private"]) as ws:
        ts = str(int(time.time()))
        await ws.send_json({"op": "login", "args": [{"apiKey": key, "passphrase": pp, "timestamp": ts,
                                                     "sign": b64sig(secret, ts + "GET/user/verify")}]})
        assert (await ws.receive_json(timeout=3)) == {"event": "login", "code": 0, "msg": ""}
        await ws.send_json({"op": "subscribe", "args": [{"instType": "USDT-FUTURES", "channel": "orders",
                                                         "instId": "default"}]})
        await drain(ws, 0.1)
        tb, ta = sim.true_book("bitget", "BTCUSDT")
        body = json.dumps({"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginMode": "crossed",
                           "marginCoin": "USDT", "size": "0.010", "price": tb[-1][0], "side": "buy",
                           "orderType": "limit", "force": "gtc", "clientOid": "bg1"})
        p = "/api/v2/mix/order/place-order"
        async with session.post(ep["rest"] + p, data=body, headers=bitget_headers(sim, "POST", p, body)) as r:
            res = await r.json()
        assert res["code"] == "00000" and res["data"]["clientOid"] == "bg1", res
        q = "/api/v2/mix/order/orders-pending?productType=USDT-FUTURES&symbol=BTCUSDT"
        async with session.get(ep["rest"] + q, headers=bitget_headers(sim, "GET", q)) as r:
            pend = await r.json()
        assert [o["clientOid"] for o in pend["data"]["entrustedList"]] == ["bg1"]
        h = bitget_headers(sim, "GET", q)
        h["ACCESS-SIGN"] = "AAAA"
        async with session.get(ep["rest"] + q, headers=h) as r:
            assert (await r.json())["code"] == "40009"
        body = json.dumps({"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginCoin": "USDT",
                           "clientOid": "bg1"})
        p = "/api/v2/mix/order/cancel-order"
        async with session.post(ep["rest"] + p, data=body, headers=bitget_headers(sim, "POST", p, body)) as r:
            assert (await r.json())["code"] == "00000"
        msgs = await drain(ws, 0.3)
        assert [d["status"] for m in msgs for d in m["data"]] == ["live", "canceled"]


def test_bitget_signing_vectors(fixtures_dir):
    v = json.loads((fixtures_dir / "bitget" / "signing_vectors.json").read_text())["vectors"]
    assert bitget_sign(v[0]["secret"], v[0]["timestamp"], "GET",
                       v[0]["requestPath"] + "?" + v[0]["queryString"], "") == v[0]["sign_b64"]
    assert b64sig(v[1]["secret"], v[1]["prehash"]) == v[1]["sign_b64"]


async def test_client_heartbeat_timeout_disconnects(session):
    from engine.sim import VenueSpec
    cfg = SimConfig(venues=[VenueSpec("okx", pong_timeout_s=0.4)], market=False)
    async with SimExchange(cfg) as ex:
        async with session.ws_connect(ex.endpoints("okx")["ws_public"]) as quiet, \
                session.ws_connect(ex.endpoints("okx")["ws_public"]) as pinger:
            t0 = time.monotonic()
            alive = True
            while time.monotonic() - t0 < 1.0:
                await pinger.send_str("ping")
                await asyncio.sleep(0.1)
            msg = await quiet.receive(timeout=2)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert not pinger.closed and alive
