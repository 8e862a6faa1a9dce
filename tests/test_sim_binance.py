# SPDX-License-Identifier: Apache-2.0
"""Binance spot / USD-M simulator checked by a plain client written from the Binance docs."""
from __future__ import annotations

import json
import time

import aiohttp
import pytest

from engine.sim import SimConfig, SimExchange, VenueSpec
from engine.sim.auth import verify_binance_rest, verify_binance_ws
from tests._sim_util import LocalBook, PlainBinance, drain

FUT = "binance_usdm"
SPOT = "binance_spot"


@pytest.fixture
async def sim():
    cfg = SimConfig(venues=[FUT, SPOT], quote_rate=400, seed=7)
    async with SimExchange(cfg) as ex:
        yield ex


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


def client(ex: SimExchange, s: aiohttp.ClientSession, venue: str) -> PlainBinance:
    key, secret, _ = ex.credentials(venue)
    return PlainBinance(s, ex.endpoints(venue), key, secret, venue == FUT)


@pytest.mark.parametrize("venue", [FUT, SPOT])
async def test_book_sync_by_official_procedure_matches_true_book(sim, session, venue):
    c = client(sim, session, venue)
    url = sim.endpoints(venue)["ws_public"] + "/stream?streams=btcusdt@depth@100ms"
    async with session.ws_connect(url) as ws:
        first = await ws.receive_json(timeout=5)          # buffer before the snapshot
        assert first["stream"] == "btcusdt@depth@100ms"
        st, snap = await c.public(c.v + "/depth", symbol="BTCUSDT", limit=1000)
        assert st == 200 and snap["lastUpdateId"] > 0
        book = LocalBook(futures=venue == FUT)
        book.load(snap)
        applied = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            ev = (await ws.receive_json(timeout=5))["data"]
            assert ev["e"] == "depthUpdate" and ev["s"] == "BTCUSDT"
            assert book.apply(ev), "sequence break in a fault-free run"
            applied += 1 if book.last_u is not None else 0
        assert applied >= 5
        sim.pause_market(venue)
        for ev in await drain(ws, 0.4):
            assert book.apply(ev["data"])
        bids, asks = sim.true_book(venue, "BTCUSDT")
        assert book.levels() == (bids, asks)
        assert bids[0][0] < asks[0][0]


async def test_combined_and_raw_streams_and_control_frames(sim, session):
    base = sim.endpoints(FUT)["ws_public"]
    async with session.ws_connect(base + "/ws/btcusdt@bookTicker") as ws:
        msg = await ws.receive_json(timeout=5)
        assert msg["e"] == "bookTicker" and msg["s"] == "BTCUSDT"
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "ethusdt@markPrice@1s"],
                            "id": 1})
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 3})
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 312})
        got = {}
        deadline = time.monotonic() + 3
        while len(got) < 3 and time.monotonic() < deadline:
            m = await ws.receive_json(timeout=3)
            if "id" in m:
                got[m["id"]] = m
        assert got[1] == {"result": None, "id": 1}
        assert got[3] == {"result": sorted(["btcusdt@bookTicker", "btcusdt@aggTrade",
                                            "ethusdt@markPrice@1s"]), "id": 3}
        assert got[312] == {"result": None, "id": 312}
        await ws.send_str("not json")
        kinds = set()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not {"err", "markPriceUpdate"} <= kinds:
            m = await ws.receive_json(timeout=3)
            kinds.add("err" if "code" in m else m.get("e"))
        assert "err" in kinds and "markPriceUpdate" in kinds


async def test_rest_place_fill_cancel_with_user_data_stream(sim, session):
    c = client(sim, session, FUT)
    sim.pause_market(FUT)
    async with session.post(c.ep["rest"] + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.key}) as r:
        lk = (await r.json())["listenKey"]
    async with session.ws_connect(c.ep["ws_private"] + "/" + lk) as uws:
        bids, asks = sim.true_book(FUT, "BTCUSDT")
        px = bids[0][0]
        st, o, h = await c.signed("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                  timeInForce="GTC", quantity="0.010", price=px,
                                  newClientOrderId="t1", newOrderRespType="RESULT")
        assert st == 200, o
        assert o["status"] == "NEW" and o["clientOrderId"] == "t1"
        assert "X-MBX-ORDER-COUNT-10S" in h and "X-MBX-USED-WEIGHT-1M" in h
        # our order joins the queue behind the displayed size at px
        ahead = bids[0][1]
        st, dup, _ = await c.signed("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                    timeInForce="GTC", quantity="0.010", price=px, newClientOrderId="t1")
        assert st == 400 and dup["code"] == -4116
        sim.market_trade(FUT, "BTCUSDT", "SELL", ahead)          # eats the queue ahead only
        st, q, _ = await c.signed("GET", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="t1")
        assert q["status"] == "NEW"
        sim.market_trade(FUT, "BTCUSDT", "SELL", "0.004")
        st, q, _ = await c.signed("GET", "/fapi/v1/order", symbol="BTCUSDT", orderId=o["orderId"])
        assert q.get("status") == "PARTIALLY_FILLED" and q["executedQty"] == "0.004", q
        st, cxl, _ = await c.signed("DELETE", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="t1")
        assert st == 200 and cxl["status"] == "CANCELED"
        st, err, _ = await c.signed("DELETE", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="t1")
        assert st == 400 and err["code"] == -2011
        events = await drain(uws, 0.3)
        otu = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"]
        assert [(x["x"], x["X"]) for x in otu] == [("NEW", "NEW"), ("TRADE", "PARTIALLY_FILLED"),
                                                    ("CANCELED", "CANCELED")]
        assert otu[1]["l"] == "0.004" and otu[1]["L"] == px and otu[1]["m"] is True
        acct = [e for e in events if e["e"] == "ACCOUNT_UPDATE"]
        assert acct and acct[0]["a"]["P"][0]["pa"] == "0.004"
    st, pr, _ = await c.signed("GET", "/fapi/v2/positionRisk", symbol="BTCUSDT")
    assert pr[0]["positionAmt"] == "0.004"
    assert sim.positions(FUT)["BTCUSDT"].amt == 4


async def test_ws_api_logon_place_fill_cancel_user_events(sim, session):
    c = client(sim, session, FUT)
    sim.pause_market(FUT)
    async with session.ws_connect(c.ep["ws_trade"]) as ws:
        await ws.send_json(c.ws_request("a", "session.logon"))
        r = await ws.receive_json(timeout=5)
        assert r["status"] == 200 and r["result"]["apiKey"] == c.key, r
        await ws.send_json({"id": "b", "method": "userDataStream.subscribe"})
        r = await ws.receive_json(timeout=5)
        assert r["status"] == 200 and "subscriptionId" in r["result"], r
        sid = r["result"]["subscriptionId"]
        bids, asks = sim.true_book(FUT, "BTCUSDT")
        # IOC buy through the best ask: taker fill at the ask
        await ws.send_json(c.ws_request("c", "order.place", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                        timeInForce="IOC", quantity="0.002", price=asks[0][0],
                                        newOrderRespType="RESULT"))
        # a resting order, then cancel it (logged on: no signature needed per request)
        await ws.send_json({"id": "d", "method": "order.place", "params": {
            "symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTX",
            "quantity": "0.002", "price": asks[-1][0], "newClientOrderId": "wsrest",
            "timestamp": int(time.time() * 1000)}})
        await ws.send_json({"id": "e", "method": "order.cancel", "params": {
            "symbol": "BTCUSDT", "origClientOrderId": "wsrest", "timestamp": int(time.time() * 1000)}})
        await ws.send_json({"id": "f", "method": "order.status", "params": {
            "symbol": "BTCUSDT", "origClientOrderId": "wsrest", "timestamp": int(time.time() * 1000)}})
        msgs = await drain(ws, 0.4)
        resp = {m["id"]: m for m in msgs if "id" in m}
        events = [m for m in msgs if "subscriptionId" in m]
        assert resp["c"]["status"] == 200 and resp["c"]["result"]["status"] == "FILLED"
        assert resp["c"]["result"]["avgPrice"] == asks[0][0]
        assert any(r["rateLimitType"] == "ORDERS" for r in resp["c"]["rateLimits"])
        assert resp["d"]["result"]["status"] == "NEW"
        assert resp["e"]["result"]["status"] == "CANCELED"
        assert resp["f"]["result"]["status"] == "CANCELED"
        assert all(e["subscriptionId"] == sid for e in events)
        kinds = [(e["event"]["e"], e["event"].get("o", {}).get("x")) for e in events]
        assert ("ORDER_TRADE_UPDATE", "TRADE") in kinds and ("ACCOUNT_UPDATE", None) in kinds
        assert ("ORDER_TRADE_UPDATE", "CANCELED") in kinds
        fill = [f for f in sim.fills(FUT) if not f.maker]
        assert len(fill) == 1 and fill[0].qty == 2


async def test_ws_api_spot_cancel_replace_and_cancel_all(sim, session):
    c = client(sim, session, SPOT)
    sim.pause_market(SPOT)
    async with session.ws_connect(c.ep["ws_trade"]) as ws:
        bids, _ = sim.true_book(SPOT, "BTCUSDT")
        low = f"{float(bids[-1][0]) - 10:.2f}"
        await ws.send_json(c.ws_request("1", "order.place", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                        timeInForce="GTC", quantity="0.01000", price=low,
                                        newClientOrderId="s1"))
        r = await ws.receive_json(timeout=5)
        assert r["status"] == 200 and r["result"]["status"] == "NEW" and r["result"]["fills"] == []
        await ws.send_json(c.ws_request("2", "order.cancelReplace", symbol="BTCUSDT", side="BUY",
                                        type="LIMIT", timeInForce="GTC", quantity="0.02000", price=low,
                                        cancelReplaceMode="STOP_ON_FAILURE",
                                        cancelOrigClientOrderId="s1", newClientOrderId="s2"))
        r = await ws.receive_json(timeout=5)
        assert r["result"]["cancelResult"] == "SUCCESS" and r["result"]["newOrderResult"] == "SUCCESS"
        bal = sim.balances(SPOT)["USDT"]
        assert bal["locked"] > 0
        await ws.send_json(c.ws_request("3", "openOrders.cancelAll", symbol="BTCUSDT"))
        r = await ws.receive_json(timeout=5)
        assert [o["status"] for o in r["result"]] == ["CANCELED"]
        assert sim.balances(SPOT)["USDT"]["locked"] == 0


@pytest.mark.parametrize("venue", [FUT, SPOT])
async def test_auth_errors_have_real_codes(sim, session, venue):
    c = client(sim, session, venue)
    p = dict(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="1", price="1000")
    st, e, _ = await c.signed("POST", c.v + "/order", bad_sig=True, **p)
    assert (st, e["code"], e["msg"]) == (400, -1022, "Signature for this request is not valid.")
    st, e, _ = await c.signed("POST", c.v + "/order", ts=int(time.time() * 1000) - 70_000, **p)
    assert (st, e["code"]) == (400, -1021)
    st, e, _ = await c.signed("POST", c.v + "/order", ts=int(time.time() * 1000) + 5_000, **p)
    assert e["code"] == -1021
    st, e, _ = await c.signed("POST", c.v + "/order", recvWindow=70000, **p)
    assert e["code"] == -1131
    st, e, _ = await c.signed("POST", c.v + "/order", key=None, **p)
    assert (st, e["code"]) == (401, -2014)
    st, e, _ = await c.signed("POST", c.v + "/order", key="wrong-key", **p)
    assert (st, e["code"], e["msg"]) == (401, -2015, "Invalid API-key, IP, or permissions for action.")
    # body-signed request (query empty) authenticates too
    st, o, _ = await c.signed("GET", c.v + "/openOrders", body=False, symbol="BTCUSDT")
    assert st == 200 and o == []
    async with session.ws_connect(c.ep["ws_trade"]) as ws:
        req = c.ws_request("x", "order.place", **p)
        req["params"]["signature"] = "0" * 64
        await ws.send_json(req)
        r = await ws.receive_json(timeout=5)
        assert r["status"] == 400 and r["error"]["code"] == -1022
        await ws.send_json({"id": "y", "method": "order.place", "params": dict(p, timestamp=1)})
        r = await ws.receive_json(timeout=5)
        assert r["error"]["code"] == -1102
        await ws.send_json({"id": "z", "method": "userDataStream.subscribe"})
        r = await ws.receive_json(timeout=5)
        assert r["error"]["code"] == -2015


async def test_order_rejects_map_to_venue_codes(sim, session):
    c = client(sim, session, FUT)
    sim.pause_market(FUT)
    base = dict(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC")
    bids, asks = sim.true_book(FUT, "BTCUSDT")
    cases = [
        (dict(quantity="0.010", price="49000.05"), -1111),      # more decimals than the tick
        (dict(quantity="0.0101", price="49000.0"), -1111),
        (dict(quantity="0.001", price="49000.0"), -4164),        # 49 USDT < 100 min notional
        (dict(quantity="100", price="49000.0"), -2019),          # margin
        (dict(quantity="0.010", price=asks[0][0], timeInForce="GTX"), -5022),
        (dict(quantity="0.010", price="49000.0", reduceOnly="true"), -2022),
        (dict(quantity="0.010", price="49000.0", symbol="NOPEUSDT"), -1121),
        (dict(quantity="0.010", price="49000.0", type="STOP"), -1116),
    ]
    for extra, code in cases:
        st, e, _ = await c.signed("POST", "/fapi/v1/order", **dict(base, **extra))
        assert st == 400 and e["code"] == code, (extra, e)
    assert sim.orders(FUT) == []
    sc = client(sim, session, SPOT)
    st, e, _ = await sc.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                               timeInForce="GTC", quantity="10", price="50000.00")
    assert e == {"code": -2010, "msg": "Account has insufficient balance for requested action."}
    st, e, _ = await sc.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                               timeInForce="GTC", quantity="0.00001", price="50000.00")
    assert e == {"code": -1013, "msg": "Filter failure: NOTIONAL"}


def test_official_signing_vectors_authenticate(fixtures_dir):
    vec = json.loads((fixtures_dir / "binance" / "signing_vectors.json").read_text())["vectors"]
    for v in vec:
        if "payload" in v and "params" not in v:
            q = v["payload"] + "&signature=" + v["expected_signature_hex"]
            assert verify_binance_rest(v["secretKey"], q, "")
            assert verify_binance_rest(v["secretKey"], v["payload"][:20], v["payload"][20:] +
                                       "&signature=" + v["expected_signature_hex"])
            assert not verify_binance_rest(v["secretKey"], q.replace("BUY", "SELL"), "")
        else:
            assert verify_binance_ws(v["secretKey"], dict(v["params"], signature=v["expected_signature_hex"]))
    ex = json.loads((fixtures_dir / "binance" / "docs" / "ws_api_signed_examples_verified.json").read_text())
    for e in ex["examples"]:
        assert verify_binance_ws(ex["secretKey"], e["request"]["params"]), e["method"]
        bad = dict(e["request"]["params"], timestamp=e["request"]["params"]["timestamp"] + 1)
        assert not verify_binance_ws(ex["secretKey"], bad)


async def test_doc_credentials_accepted_live(fixtures_dir, session):
    v = json.loads((fixtures_dir / "binance" / "signing_vectors.json").read_text())["vectors"][0]
    spec = VenueSpec(FUT, api_key=v["apiKey"], secret=v["secretKey"])
    async with SimExchange(SimConfig(venues=[spec], market=False)) as ex:
        c = client(ex, session, FUT)
        assert c.key == v["apiKey"]
        st, o, _ = await c.signed("GET", "/fapi/v1/openOrders", symbol="BTCUSDT")
        assert st == 200 and o == []
        assert "secret" not in repr(spec).lower() and v["secretKey"] not in repr(spec)


async def test_futures_modify_open_orders_countdown_and_listen_key(sim, session):
    c = client(sim, session, FUT)
    sim.pause_market(FUT)
    bids, _ = sim.true_book(FUT, "BTCUSDT")
    far = f"{float(bids[-1][0]) - 100:.1f}"
    async with session.ws_connect(c.ep["ws_trade"]) as ws:
        await ws.send_json(c.ws_request("p", "order.place", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                        timeInForce="GTC", quantity="0.010", price=far, newClientOrderId="m1"))
        assert (await ws.receive_json(timeout=3))["result"]["status"] == "NEW"
        await ws.send_json(c.ws_request("m", "order.modify", symbol="BTCUSDT", origClientOrderId="m1", side="BUY",
                                        quantity="0.020", price=far))
        r = await ws.receive_json(timeout=3)
        assert r["status"] == 200 and r["result"]["origQty"] == "0.020", r
        await ws.send_json(c.ws_request("o", "openOrders.status", symbol="BTCUSDT"))
        r = await ws.receive_json(timeout=3)
        assert [o["clientOrderId"] for o in r["result"]] == ["m1"]
    async with session.post(c.ep["rest"] + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.key}) as r:
        lk = (await r.json())["listenKey"]
    async with session.ws_connect(c.ep["ws_private"] + "/" + lk) as uws:
        st, cd, _ = await c.signed("POST", "/fapi/v1/countdownCancelAll", symbol="BTCUSDT", countdownTime=200)
        assert st == 200 and cd == {"symbol": "BTCUSDT", "countdownTime": "200"}
        ev = await uws.receive_json(timeout=3)          # the countdown fired: cancel event
        assert ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["X"] == "CANCELED" and ev["o"]["c"] == "m1"
        async with session.put(c.ep["rest"] + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.key}) as r:
            assert r.status == 200 and await r.json() == {}
        async with session.delete(c.ep["rest"] + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.key}) as r:
            assert r.status == 200
        ev = await uws.receive_json(timeout=3)
        assert ev["e"] == "listenKeyExpired"
    async with session.put(c.ep["rest"] + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": c.key}) as r:
        assert (await r.json())["code"] == -1125


async def test_order_count_limit_gives_minus_1015(session):
    cfg = SimConfig(venues=[VenueSpec(FUT, order_limit_10s=2)], market=False)
    async with SimExchange(cfg) as ex:
        c = client(ex, session, FUT)
        codes = []
        for _ in range(3):
            st, r, h = await c.signed("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                      timeInForce="GTC", quantity="0.010", price="40000.0")
            codes.append((st, r.get("code")))
        assert codes[:2] == [(200, None), (200, None)] and codes[2] == (429, -1015)
        assert h["X-MBX-ORDER-COUNT-10S"] == "3" and "Retry-After" in h
