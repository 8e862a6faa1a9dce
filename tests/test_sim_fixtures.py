# SPDX-License-Identifier: Apache-2.0
"""Real/fixture messages validate against what the simulator emits: every fixture key is
present, with the same JSON type and the same string format (decimal string, integer string)."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.sim import SimConfig, SimExchange
from tests._sim_util import PlainBinance, drain

DEC = re.compile(r"^-?\d+(\.\d+)?$")
FUT, SPOT = "binance_usdm", "binance_spot"


def kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "int" if isinstance(v, int) else "float"
    if isinstance(v, str):
        if DEC.match(v):
            return "decstr"
        return "str"
    return type(v).__name__


def same_shape(fixture: Any, sim: Any, path: str = "$", nullable: frozenset = frozenset()) -> list[str]:
    """Differences of ``sim`` from the shape of ``fixture`` (keys, types, string formats)."""
    errs: list[str] = []
    if isinstance(fixture, dict):
        if not isinstance(sim, dict):
            return [f"{path}: expected object, got {kind(sim)}"]
        for k, v in fixture.items():
            if k not in sim:
                errs.append(f"{path}.{k}: missing")
                continue
            errs += same_shape(v, sim[k], f"{path}.{k}", nullable)
        return errs
    if isinstance(fixture, list):
        if not isinstance(sim, list):
            return [f"{path}: expected array, got {kind(sim)}"]
        if fixture and sim:
            errs += same_shape(fixture[0], sim[0], path + "[0]", nullable)
        return errs
    kf, ks = kind(fixture), kind(sim)
    if kf == ks or path in nullable and "null" in (kf, ks):
        return []
    if {kf, ks} == {"decstr", "str"} and path in nullable:
        return []
    return [f"{path}: fixture {kf} ({fixture!r}) vs sim {ks} ({sim!r})"]


def load(fixtures_dir: Path, rel: str) -> Any:
    return json.loads((fixtures_dir / rel).read_text())


def first_jsonl(fixtures_dir: Path, rel: str, pred) -> Any:
    for line in (fixtures_dir / rel).read_text().splitlines():
        rec = json.loads(line)
        msg = rec["msg"]
        if pred(msg):
            return msg
    raise AssertionError(f"no matching record in {rel}")


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


async def collect_market(ex: SimExchange, s: aiohttp.ClientSession, venue: str, streams: list[str],
                         want: set[str], seconds: float = 4.0) -> dict[str, Any]:
    url = ex.endpoints(venue)["ws_public"] + "/stream?streams=" + "/".join(streams)
    got: dict[str, Any] = {}
    async with s.ws_connect(url) as ws:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not want <= set(got):
            m = await ws.receive_json(timeout=seconds)
            got.setdefault(m["stream"], m)
    return got


async def test_binance_usdm_market_streams_match_fixtures(fixtures_dir, session):
    async with SimExchange(SimConfig(venues=[FUT], quote_rate=500, funding_interval_s=0.2)) as ex:
        streams = ["btcusdt@bookTicker", "btcusdt@depth@100ms", "btcusdt@trade", "btcusdt@aggTrade",
                   "btcusdt@markPrice@1s"]
        got = await collect_market(ex, session, FUT, streams, set(streams))
        assert set(got) == set(streams)
        rec = "binance/usdm_futures/ws_combined_SUSHIUSDT.jsonl"
        real_bt = first_jsonl(fixtures_dir, rec, lambda m: m.get("stream", "").endswith("@bookTicker"))
        real_dd = first_jsonl(fixtures_dir, rec, lambda m: "@depth" in m.get("stream", ""))
        # real recordings: exactly the same key set and formats
        for real, sim in ((real_bt, got["btcusdt@bookTicker"]), (real_dd, got["btcusdt@depth@100ms"])):
            assert set(real["data"]) == set(sim["data"])
            assert same_shape(real, sim) == []
        nd = "binance/nautilus/futures/market_data_json/"
        assert same_shape(load(fixtures_dir, nd + "trade_stream.json"), got["btcusdt@trade"]["data"]) == []
        # "st" (nautilus sample only) is not part of the documented aggTrade payload
        agg = {k: v for k, v in load(fixtures_dir, nd + "agg_trade_stream.json").items() if k != "st"}
        assert same_shape(agg, got["btcusdt@aggTrade"]["data"]) == []
        mp = {k: v for k, v in load(fixtures_dir, nd + "mark_price_stream.json").items() if k != "st"}
        assert same_shape(mp, got["btcusdt@markPrice@1s"]["data"]) == []
        # REST snapshot vs the recorded snapshot
        c = PlainBinance(session, ex.endpoints(FUT), *ex.credentials(FUT)[:2], True)
        _, snap = await c.public("/fapi/v1/depth", symbol="BTCUSDT", limit=50)
        real = load(fixtures_dir, "binance/usdm_futures/rest_depth_snapshot_SUSHIUSDT.json")
        assert set(real) == set(snap) and same_shape(real, snap) == []
        _, prem = await c.public("/fapi/v1/premiumIndex", symbol="BTCUSDT")
        assert same_shape(load(fixtures_dir, "binance/nautilus/http_responses/http_futures_market_premium_index.json"),
                          prem) == []


async def test_binance_spot_market_streams_match_fixtures(fixtures_dir, session):
    async with SimExchange(SimConfig(venues=[SPOT], quote_rate=500)) as ex:
        streams = ["btcusdt@bookTicker", "btcusdt@depth@100ms", "btcusdt@trade"]
        got = await collect_market(ex, session, SPOT, streams, set(streams))
        rec = "binance/spot/ws_combined_NKNUSDT.jsonl"
        for suffix, s in (("@bookTicker", "btcusdt@bookTicker"), ("@depth@100ms", "btcusdt@depth@100ms"),
                          ("@trade", "btcusdt@trade")):
            if suffix == "@trade":
                continue   # not in the recording; checked against the doc example below
            real = first_jsonl(fixtures_dir, rec, lambda m, suffix=suffix: m.get("stream", "").endswith(suffix))
            assert set(real["data"]) == set(got[s]["data"]), s
            assert same_shape(real, got[s]) == [], s
        doc = load(fixtures_dir, "binance/docs/ws_streams_control.json")
        assert same_shape(doc["trade_example"], got["btcusdt@trade"]["data"]) == []
        assert same_shape(doc["book_ticker_example"], got["btcusdt@bookTicker"]["data"]) == []
        c = PlainBinance(session, ex.endpoints(SPOT), *ex.credentials(SPOT)[:2], False)
        _, snap = await c.public("/api/v3/depth", symbol="BTCUSDT", limit=5)
        real = load(fixtures_dir, "binance/spot/rest_depth_snapshot_NKNUSDT.json")
        assert set(real) == set(snap) and same_shape(real, snap) == []


async def test_binance_usdm_orders_and_user_data_match_fixtures(fixtures_dir, session):
    async with SimExchange(SimConfig(venues=[FUT], market=False)) as ex:
        key, secret, _ = ex.credentials(FUT)
        c = PlainBinance(session, ex.endpoints(FUT), key, secret, True)
        async with session.post(c.ep["rest"] + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": key}) as r:
            lk = (await r.json())["listenKey"]
        async with session.ws_connect(c.ep["ws_private"] + "/" + lk) as uws:
            bids, asks = ex.true_book(FUT, "BTCUSDT")
            st, o, _ = await c.signed("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                      timeInForce="GTC", quantity="0.010", price=bids[0][0])
            ex.market_trade(FUT, "BTCUSDT", "SELL", "1000")
            events = await drain(uws, 0.3)
        nd = "binance/nautilus/futures/"
        assert same_shape(load(fixtures_dir, nd + "http_json/order_response.json"), o) == []
        by = {}
        for e in events:
            by.setdefault((e["e"], e.get("o", {}).get("x")), e)
        assert same_shape(load(fixtures_dir, nd + "user_data_json/order_update_new.json"),
                          by[("ORDER_TRADE_UPDATE", "NEW")]) == []
        assert same_shape(load(fixtures_dir, nd + "user_data_json/order_update_trade.json"),
                          by[("ORDER_TRADE_UPDATE", "TRADE")]) == []
        assert same_shape(load(fixtures_dir, nd + "user_data_json/trade_lite.json"),
                          by[("TRADE_LITE", None)]) == []
        assert same_shape(load(fixtures_dir, nd + "user_data_json/account_update.json"),
                          by[("ACCOUNT_UPDATE", None)]) == []
        _, pr, _ = await c.signed("GET", "/fapi/v2/positionRisk", symbol="BTCUSDT")
        assert same_shape(load(fixtures_dir, nd + "http_json/position_risk.json"), pr) == []
        _, bal, _ = await c.signed("GET", "/fapi/v2/balance")
        assert same_shape(load(fixtures_dir, nd + "http_json/balance.json"), bal) == []


async def test_binance_spot_orders_and_user_data_match_fixtures(fixtures_dir, session):
    async with SimExchange(SimConfig(venues=[SPOT], market=False)) as ex:
        key, secret, _ = ex.credentials(SPOT)
        c = PlainBinance(session, ex.endpoints(SPOT), key, secret, False)
        async with session.ws_connect(c.ep["ws_trade"]) as ws:
            await ws.send_json(c.ws_request("l", "session.logon"))
            await ws.receive_json(timeout=3)
            await ws.send_json({"id": "s", "method": "userDataStream.subscribe"})
            await ws.receive_json(timeout=3)
            bids, asks = ex.true_book(SPOT, "BTCUSDT")
            await ws.send_json(c.ws_request("p", "order.place", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                            timeInForce="GTC", quantity="0.01000", price=bids[2][0],
                                            newOrderRespType="RESULT"))
            await ws.send_json(c.ws_request("m", "order.place", symbol="BTCUSDT", side="SELL",
                                            type="MARKET", quantity="0.01000"))
            await ws.send_json(c.ws_request("c", "order.cancel", symbol="BTCUSDT", orderId=0))
            msgs = await drain(ws, 0.3)
        resp = {m["id"]: m for m in msgs if "id" in m}
        doc = load(fixtures_dir, "binance/docs/ws_api_order_place.json")
        assert same_shape(doc["response_ok"], resp["p"]) == []
        full = load(fixtures_dir, "binance/nautilus/spot/http_json/new_order_full_response.json")
        assert same_shape(full, resp["m"]["result"]) == []
        assert resp["c"]["error"]["code"] == -2011
        events = [m for m in msgs if "subscriptionId" in m]
        by = {}
        for e in events:
            by.setdefault((e["event"]["e"], e["event"].get("x")), e)
        wrapped = load(fixtures_dir, "binance/nautilus/spot/user_data_json/execution_report_wrapped.json")
        assert same_shape(wrapped, by[("executionReport", "NEW")]) == []
        sd = "binance/nautilus/spot/user_data_json/"
        assert same_shape(load(fixtures_dir, sd + "execution_report_trade.json"),
                          by[("executionReport", "TRADE")]["event"]) == []
        assert same_shape(load(fixtures_dir, sd + "account_position.json"),
                          by[("outboundAccountPosition", None)]["event"]) == []
        _, q, _ = await c.signed("GET", "/api/v3/order", symbol="BTCUSDT",
                                 orderId=resp["p"]["result"]["orderId"])
        assert same_shape(load(fixtures_dir, "binance/nautilus/spot/http_json/order_response.json"), q) == []
        _, acct, _ = await c.signed("GET", "/api/v3/account")
        assert same_shape(load(fixtures_dir, "binance/nautilus/spot/http_json/account_response.json"), acct) == []
        _, cx, _ = await c.signed("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=q["orderId"])
        assert cx["status"] == "CANCELED"
        assert same_shape(load(fixtures_dir, "binance/nautilus/spot/http_json/cancel_order_response.json"),
                          cx) == []


# ------------------------------------------------------------------ Bybit / OKX / Bitget -------
def jkorf(fixtures_dir: Path, name: str) -> tuple[Any, Any]:
    """JKorf sample files: '> request', '< ack', '=' then the pushed JSON."""
    text = (fixtures_dir / "bitget" / "jkorf_v2" / name).read_text()
    ack = None
    for line in text.splitlines():
        if line.startswith("< "):
            ack = json.loads(line[2:])
    body = text.split("\n=", 1)[1].strip()
    return ack, json.loads(body)


async def _ws_collect(s, url: str, frames: list[Any], n: int, pred=lambda m: True, seconds: float = 3.0):
    async with s.ws_connect(url) as ws:
        for f in frames:
            await ws.send_str(f if isinstance(f, str) else json.dumps(f))
        out = []
        deadline = time.monotonic() + seconds
        while len(out) < n and time.monotonic() < deadline:
            msg = await ws.receive(timeout=seconds)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            m = json.loads(msg.data)
            if pred(m):
                out.append(m)
        return out


async def test_bybit_streams_match_fixtures(fixtures_dir, session):
    async with SimExchange(SimConfig(venues=["bybit"], quote_rate=400)) as ex:
        url = ex.endpoints("bybit")["ws_public"]
        got = await _ws_collect(session, url, [{"req_id": "x", "op": "subscribe", "args": [
            "orderbook.500.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT"]}], 60)
        ack = got[0]
        ctrl = load(fixtures_dir, "bybit/docs/ws_control_messages.json")
        assert set(ack) == set(ctrl["subscribe_ack_public_linear"]) and same_shape(ctrl["subscribe_ack_public_linear"], ack) == []
        by = {}
        for m in got[1:]:
            by.setdefault((m.get("topic", "").split(".")[0], m.get("type")), m)
        rec = (fixtures_dir / "bybit/recorded_2024/orderbook_500_XRPUSDT_2024-12-01.jsonl").read_text().splitlines()
        snap, delta = json.loads(rec[0]), json.loads(rec[1])
        for real, key in ((snap, ("orderbook", "snapshot")), (delta, ("orderbook", "delta"))):
            assert set(real) == set(by[key]) and set(real["data"]) == set(by[key]["data"])
            assert same_shape(real, by[key]) == []
        trade = load(fixtures_dir, "bybit/nautilus/ws_public_trade.json")
        assert same_shape({k: v for k, v in trade.items() if k != "topic"}, by[("publicTrade", "snapshot")]) == []
        tick = load(fixtures_dir, "bybit/nautilus/ws_ticker_linear.json")
        assert same_shape(tick, by[("tickers", "snapshot")]) == []
        key, secret, _ = ex.credentials("bybit")
        import hashlib
        import hmac as _h
        exp = int(time.time() * 1000) + 5000
        sig = _h.new(secret.encode(), f"GET/realtime{exp}".encode(), hashlib.sha256).hexdigest()
        got = await _ws_collect(session, ex.endpoints("bybit")["ws_private"],
                                [{"op": "auth", "args": [key, exp, sig]}], 1)
        assert same_shape(ctrl["auth_success"], got[0]) == []
        bad = await _ws_collect(session, ex.endpoints("bybit")["ws_private"],
                                [{"op": "auth", "args": ["nokey", exp, sig]}], 1)
        fail = load(fixtures_dir, "bybit/nautilus/ws_auth_failure.json")
        assert bad[0]["success"] is False and bad[0]["retCode"] == fail["retCode"] == 10003


async def test_bybit_order_events_match_fixtures(fixtures_dir, session):
    from engine.sim.venues.bybit import Bybit
    async with SimExchange(SimConfig(venues=["bybit"], market=False)) as ex:
        v: Bybit = ex.venue("bybit")   # type: ignore[assignment]
        bids, asks = ex.true_book("bybit", "BTCUSDT")
        v.create({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                  "qty": "0.010", "price": asks[0][0], "timeInForce": "GTC", "orderLinkId": "f1"})
        o = ex.orders("bybit")[0]
        fill = ex.fills("bybit")[0]
        nd = "bybit/nautilus/"
        assert same_shape(load(fixtures_dir, nd + "ws_account_order_filled.json")["data"][0], v.order_json(o)) == []
        assert same_shape(load(fixtures_dir, nd + "http_get_orders_realtime.json")["result"]["list"][0],
                          v.order_json(o), nullable=frozenset({"$.blockTradeId", "$.avgPrice", "$.orderIv",
                                                               "$.smpOrderId"})) == []
        pos = load(fixtures_dir, nd + "ws_account_position.json")["data"][0]
        assert same_shape(pos, v.position_json("BTCUSDT"), nullable=frozenset({"$.liqPrice"})) == []
        assert same_shape(load(fixtures_dir, nd + "http_get_positions.json")["result"]["list"][0],
                          v.position_json("BTCUSDT"), nullable=frozenset({"$.liqPrice", "$.bustPrice"})) == []
        assert fill.qty == 10


async def test_okx_streams_and_orders_match_fixtures(fixtures_dir, session):
    from engine.sim.venues.okx import Okx
    async with SimExchange(SimConfig(venues=["okx"], quote_rate=400)) as ex:
        url = ex.endpoints("okx")["ws_public"]
        inst = "BTC-USDT-SWAP"
        got = await _ws_collect(session, url, [{"op": "subscribe", "args": [
            {"channel": "books", "instId": inst}, {"channel": "tickers", "instId": inst},
            {"channel": "trades", "instId": inst}, {"channel": "bbo-tbt", "instId": inst}]}], 80)
        by = {}
        for m in got:
            ch = m.get("arg", {}).get("channel")
            by.setdefault((ch, m.get("action") or m.get("event")), m)
        rec = [json.loads(x)["msg"] for x in
               (fixtures_dir / "okx/recorded_2022/ws_books_BTC-USDT.jsonl").read_text().splitlines()]
        real_ack = rec[0]
        assert set(real_ack) <= set(by[("books", "subscribe")])
        real_snap = next(m for m in rec if m.get("action") == "snapshot")
        real_upd = next(m for m in rec if m.get("action") == "update")
        # 2022 recordings predate seqId/prevSeqId: the sim has them in addition
        assert same_shape(real_snap, by[("books", "snapshot")]) == []
        assert same_shape(real_upd, by[("books", "update")]) == []
        assert same_shape(load(fixtures_dir, "okx/nautilus/ws_books_update.json"), by[("books", "update")]) == []
        assert same_shape(load(fixtures_dir, "okx/nautilus/ws_tickers.json")["data"][0],
                          by[("tickers", None)]["data"][0]) == []
        assert same_shape(load(fixtures_dir, "okx/nautilus/ws_trades.json")["data"][0],
                          by[("trades", None)]["data"][0]) == []
        assert same_shape(load(fixtures_dir, "okx/nautilus/ws_bbo_tbt.json")["data"][0],
                          by[("bbo-tbt", None)]["data"][0]) == []
        v: Okx = ex.venue("okx")   # type: ignore[assignment]
        bids, asks = ex.true_book("okx", inst)
        r = v.place({"instId": inst, "tdMode": "cross", "side": "buy", "ordType": "limit", "px": asks[0][0],
                     "sz": "1", "clOrdId": "f1"})
        assert same_shape(load(fixtures_dir, "okx/nautilus/http_place_order_response.json"), r) == []
        o = ex.orders("okx")[0]
        assert same_shape(load(fixtures_dir, "okx/nautilus/ws_orders.json")["data"][0],
                          v.order_json(o, ex.fills("okx")[0]), nullable=frozenset({"$.px"})) == []  # fixture: market
        assert same_shape(load(fixtures_dir, "okx/nautilus/http_get_positions.json")["data"][0],
                          v.position_json(inst)) == []
        ctrl = load(fixtures_dir, "okx/docs/ws_control_and_errors.json")
        c = v.cancel({"instId": inst, "ordId": "2510789768709120"})
        # the doc's failure sample prints a placeholder sCode "5XXXX": compare keys only there
        assert set(ctrl["cancel_order_fail"]["data"][0]) == set(c) and c["sCode"] == "51400"


async def test_bitget_streams_match_fixtures(fixtures_dir, session):
    async with SimExchange(SimConfig(venues=["bitget"], quote_rate=400)) as ex:
        url = ex.endpoints("bitget")["ws_public"]
        for name, ch in (("Subscriptions__Futures__OrderBook.txt", "books5"),
                         ("Subscriptions__Futures__Ticker.txt", "ticker"),
                         ("Subscriptions__Futures__Trade.txt", "trade")):
            ack, push = jkorf(fixtures_dir, name)
            got = await _ws_collect(session, url, [{"op": "subscribe", "args": [
                {"instType": "USDT-FUTURES", "channel": ch, "instId": "BTCUSDT"}]}], 2)
            assert got[0] == ack
            assert same_shape(push, got[1]) == [], name
        key, secret, pp = ex.credentials("bitget")
        import base64
        import hashlib
        import hmac as _h
        ts = str(int(time.time()))
        sign = base64.b64encode(_h.new(secret.encode(), f"{ts}GET/user/verify".encode(),
                                       hashlib.sha256).digest()).decode()
        ack, push = jkorf(fixtures_dir, "Subscriptions__Futures__Order.txt")
        from engine.sim.venues.bitget import Bitget
        v: Bitget = ex.venue("bitget")   # type: ignore[assignment]
        async with session.ws_connect(ex.endpoints("bitget")["ws_private"]) as ws:
            await ws.send_json({"op": "login", "args": [{"apiKey": key, "passphrase": pp, "timestamp": ts,
                                                         "sign": sign}]})
            assert await ws.receive_json(timeout=3) == {"event": "login", "code": 0, "msg": ""}
            await ws.send_json({"op": "subscribe", "args": [ack["arg"]]})
            assert await ws.receive_json(timeout=3) == ack
            ex.pause_market("bitget")
            bids, asks = ex.true_book("bitget", "BTCUSDT")
            r = v.place({"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginMode": "crossed",
                         "marginCoin": "USDT", "size": "0.010", "price": asks[0][0], "side": "buy",
                         "orderType": "limit", "force": "gtc", "clientOid": "1001"})
            _, place = (None, json.loads((fixtures_dir / "bitget/jkorf_v2/Endpoints__Futures__Trading__PlaceOrder.txt")
                                         .read_text().split("\n", 3)[3]))
            assert same_shape(place["data"], r) == []
            ev = await ws.receive_json(timeout=3)
            assert same_shape(push, ev) == []
