# SPDX-License-Identifier: Apache-2.0
"""Trade-list endpoints of the simulator, checked by plain clients (aiohttp + stdlib hmac):
Binance USD-M /fapi/v1/userTrades, spot /api/v3/myTrades, Bybit /v5/execution/list, OKX
/api/v5/trade/fills, Bitget /api/v2/mix/order/fills. The trade id of every fill equals the id
the private stream reported for it; paging and bad signatures behave as documented."""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import aiohttp
import pytest

from engine.sim import SimConfig, SimExchange
from tests._sim_util import PlainBinance, drain
from tests.test_sim_venues import b64sig, bitget_headers, bybit_rest, hexsig, okx_headers


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def sim():
    cfg = SimConfig(venues=["binance_usdm", "binance_spot", "bybit", "okx", "bitget"], seed=3,
                    quote_rate=50)
    async with SimExchange(cfg) as ex:
        for v in ("binance_usdm", "binance_spot", "bybit", "okx", "bitget"):
            ex.pause_market(v)
        yield ex


@pytest.mark.parametrize("venue", ["binance_usdm", "binance_spot"])
async def test_binance_trade_list_ids_equal_stream_ids(sim, session, venue):
    fut = venue == "binance_usdm"
    key, secret, _ = sim.credentials(venue)
    ep = sim.endpoints(venue)
    c = PlainBinance(session, ep, key, secret, fut)
    lk_path = "/fapi/v1/listenKey" if fut else "/api/v3/userDataStream"
    async with session.post(ep["rest"] + lk_path, headers={"X-MBX-APIKEY": key}) as r:
        lk = (await r.json())["listenKey"]
    async with session.ws_connect(ep["ws_private"] + "/" + lk) as ws:
        for i in range(4):
            st, body, _ = await c.signed("POST", c.v + "/order", symbol="BTCUSDT",
                                         side="BUY" if i % 2 == 0 else "SELL", type="MARKET",
                                         quantity="0.002", newClientOrderId=f"tl{i}")
            assert st == 200, body
        events = await drain(ws, 0.3)
    stream = []
    for e in events:
        o = e["o"] if e.get("e") == "ORDER_TRADE_UPDATE" else e
        if o.get("x") == "TRADE":
            stream.append((o["t"], o["i"], o["L"], o["l"]))
    assert len(stream) >= 4
    path = c.v + ("/userTrades" if fut else "/myTrades")
    st, rows, h = await c.signed("GET", path, symbol="BTCUSDT", recvWindow=5000)
    assert st == 200, rows
    assert [(r["id"], r["orderId"], r["price"], r["qty"]) for r in rows] == stream
    want = ({"symbol", "id", "orderId", "side", "price", "qty", "realizedPnl", "quoteQty", "commission",
             "commissionAsset", "time", "positionSide", "buyer", "maker"} if fut else
            {"symbol", "id", "orderId", "orderListId", "price", "qty", "quoteQty", "commission",
             "commissionAsset", "time", "isBuyer", "isMaker", "isBestMatch"})
    assert set(rows[0]) == want
    assert rows == sorted(rows, key=lambda r: r["id"])
    assert "X-MBX-USED-WEIGHT-1M" in h
    # fromId pages forward, inclusive
    ids = [r["id"] for r in rows]
    st, page, _ = await c.signed("GET", path, symbol="BTCUSDT", fromId=ids[1], limit=2)
    assert [r["id"] for r in page] == ids[1:3]
    st, page, _ = await c.signed("GET", path, symbol="BTCUSDT", limit=2)
    assert [r["id"] for r in page] == ids[-2:]                      # most recent without fromId
    st, page, _ = await c.signed("GET", path, symbol="BTCUSDT", orderId=rows[0]["orderId"])
    assert {r["orderId"] for r in page} == {rows[0]["orderId"]}
    st, err, _ = await c.signed("GET", path, symbol="BTCUSDT", limit=1001)
    assert st == 400 and err["code"] == -1130
    st, err, _ = await c.signed("GET", path, symbol="BTCUSDT", fromId=1, startTime=1)
    assert st == 400 and err["code"] == -1128
    st, err, _ = await c.signed("GET", path, bad_sig=True, symbol="BTCUSDT")
    assert st == 400 and err["code"] == -1022
    st, err, _ = await c.signed("GET", path)
    assert st == 400 and err["code"] == -1102


async def test_bybit_execution_list_exec_ids_equal_stream(sim, session):
    key, secret, _ = sim.credentials("bybit")
    ep = sim.endpoints("bybit")
    async with session.ws_connect(ep["ws_private"]) as priv:
        exp = int(time.time() * 1000) + 5000
        await priv.send_json({"op": "auth", "args": [key, exp, hexsig(secret, f"GET/realtime{exp}")]})
        assert (await priv.receive_json(timeout=3))["success"] is True
        await priv.send_json({"op": "subscribe", "args": ["execution"]})
        await priv.receive_json(timeout=3)
        for i in range(5):
            r = await bybit_rest(session, sim, "POST", "/v5/order/create", {
                "category": "linear", "symbol": "BTCUSDT", "side": "Buy" if i % 2 == 0 else "Sell",
                "orderType": "Market", "qty": "0.010", "orderLinkId": f"bx{i}"})
            assert r["retCode"] == 0, r
        events = await drain(priv, 0.3)
    stream = [d["execId"] for e in events if e["topic"] == "execution" for d in e["data"]]
    assert len(stream) >= 5 and len(set(stream)) == len(stream)
    r = await bybit_rest(session, sim, "GET", "/v5/execution/list", {"category": "linear", "symbol": "BTCUSDT"})
    assert r["retCode"] == 0, r
    lst = r["result"]["list"]
    assert [x["execId"] for x in lst] == stream[::-1]                 # newest first
    fx = {"symbol", "orderId", "orderLinkId", "side", "orderPrice", "orderQty", "leavesQty", "createType",
          "orderType", "stopOrderType", "execFee", "execId", "execPrice", "execQty", "execType",
          "execValue", "execTime", "feeCurrency", "isMaker", "feeRate", "tradeIv", "markIv", "markPrice",
          "indexPrice", "underlyingPrice", "blockTradeId", "closedSize", "seq"}
    assert set(lst[0]) == fx and r["result"]["category"] == "linear"
    # cursor paging: 2 + 2 + rest, no overlap, same order
    got, cur = [], ""
    for _ in range(10):
        p = {"category": "linear", "symbol": "BTCUSDT", "limit": "2"}
        if cur:
            p["cursor"] = cur
        r = await bybit_rest(session, sim, "GET", "/v5/execution/list", p)
        got += [x["execId"] for x in r["result"]["list"]]
        cur = r["result"]["nextPageCursor"]
        if not cur:
            break
    assert got == stream[::-1]
    r = await bybit_rest(session, sim, "GET", "/v5/execution/list",
                         {"category": "linear", "orderLinkId": "bx2"})
    assert {x["orderLinkId"] for x in r["result"]["list"]} == {"bx2"}
    r = await bybit_rest(session, sim, "GET", "/v5/execution/list",
                         {"category": "linear", "startTime": str(int(time.time() * 1000) + 60_000)})
    assert r["result"]["list"] == []
    bad = await bybit_rest(session, sim, "GET", "/v5/execution/list", {"category": "linear"}, secret="nope")
    assert bad["retCode"] == 10004


async def okx_get(session, sim, path):
    async with session.get(sim.endpoints("okx")["rest"] + path, headers=okx_headers(sim, "GET", path)) as r:
        return r.status, await r.json()


async def test_okx_fills_trade_ids_equal_orders_channel(sim, session):
    key, secret, pp = sim.credentials("okx")
    ep = sim.endpoints("okx")
    async with session.ws_connect(ep["ws_private"]) as ws:
        ts = str(int(time.time()))
        await ws.send_json({"op": "login", "args": [{"apiKey": key, "passphrase": pp, "timestamp": ts,
                                                     "sign": b64sig(secret, ts + "GET/users/self/verify")}]})
        assert (await ws.receive_json(timeout=3))["event"] == "login"
        await ws.send_json({"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]})
        await drain(ws, 0.1)
        for i in range(5):
            body = json.dumps({"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy" if i % 2 == 0 else "sell",
                               "ordType": "market", "sz": "1", "clOrdId": f"of{i}"})
            async with session.post(ep["rest"] + "/api/v5/trade/order", data=body,
                                    headers=okx_headers(sim, "POST", "/api/v5/trade/order", body)) as r:
                assert (await r.json())["code"] == "0"
        msgs = await drain(ws, 0.3)
    stream = [d["tradeId"] for m in msgs if m.get("arg", {}).get("channel") == "orders"
              for d in m["data"] if d.get("tradeId")]
    assert len(stream) >= 5
    st, res = await okx_get(session, sim, "/api/v5/trade/fills?instType=SWAP&instId=BTC-USDT-SWAP")
    assert st == 200 and res["code"] == "0", res
    rows = res["data"]
    assert [r["tradeId"] for r in rows] == stream[::-1]
    assert {"instType", "instId", "tradeId", "fillPx", "fillSz", "side", "ordId", "clOrdId", "billId",
            "fee", "feeCcy", "ts", "execType"} <= set(rows[0])
    assert rows[0]["clOrdId"] == "of4" and rows[0]["execType"] == "T" and rows[0]["fee"].startswith("-")
    bills = [int(r["billId"]) for r in rows]
    assert bills == sorted(bills, reverse=True)
    # after = older than, before = newer than (both exclusive), newest first
    st, res = await okx_get(session, sim, f"/api/v5/trade/fills?instId=BTC-USDT-SWAP&after={bills[1]}&limit=2")
    assert [r["billId"] for r in res["data"]] == [str(b) for b in bills[2:4]]
    st, res = await okx_get(session, sim, f"/api/v5/trade/fills?instId=BTC-USDT-SWAP&before={bills[-1]}&limit=2")
    assert [r["billId"] for r in res["data"]] == [str(b) for b in bills[-3:-1]]
    st, res = await okx_get(session, sim, "/api/v5/trade/fills?limit=101")
    assert res["code"] == "51000"
    path = "/api/v5/trade/fills"
    h = okx_headers(sim, "GET", path)
    h["OK-ACCESS-SIGN"] = b64sig("wrong", "x")
    async with session.get(ep["rest"] + path, headers=h) as r:
        assert r.status == 401 and (await r.json())["code"] == "50113"


async def test_bitget_fills_trade_ids_equal_orders_channel(sim, session):
    key, secret, pp = sim.credentials("bitget")
    ep = sim.endpoints("bitget")
    async with session.ws_connect(ep["ws_private"]) as ws:
        ts = str(int(time.time()))
        await ws.send_json({"op": "login", "args": [{"apiKey": key, "passphrase": pp, "timestamp": ts,
                                                     "sign": b64sig(secret, ts + "GET/user/verify")}]})
        assert (await ws.receive_json(timeout=3))["code"] == 0
        await ws.send_json({"op": "subscribe", "args": [{"instType": "USDT-FUTURES", "channel": "orders",
                                                         "instId": "default"}]})
        await drain(ws, 0.1)
        for i in range(5):
            body = json.dumps({"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginMode": "crossed",
                               "marginCoin": "USDT", "size": "0.010", "side": "buy" if i % 2 == 0 else "sell",
                               "orderType": "market", "clientOid": f"bf{i}"})
            p = "/api/v2/mix/order/place-order"
            async with session.post(ep["rest"] + p, data=body, headers=bitget_headers(sim, "POST", p, body)) as r:
                assert (await r.json())["code"] == "00000"
        msgs = await drain(ws, 0.3)
    stream = [d["tradeId"] for m in msgs for d in m.get("data", []) if d.get("tradeId")]
    assert len(stream) >= 5

    async def get(q):
        async with session.get(ep["rest"] + q, headers=bitget_headers(sim, "GET", q)) as r:
            return await r.json()
    base = "/api/v2/mix/order/fills?" + urlencode({"productType": "USDT-FUTURES", "symbol": "BTCUSDT"})
    res = await get(base)
    assert res["code"] == "00000", res
    rows = res["data"]["fillList"]
    assert [r["tradeId"] for r in rows] == stream[::-1]
    assert {"tradeId", "orderId", "price", "baseVolume", "side", "feeDetail", "cTime", "tradeScope"} <= set(rows[0])
    assert res["data"]["endId"] == rows[-1]["tradeId"]
    got, end = [], None
    for _ in range(10):
        page = await get(base + "&limit=2" + (f"&idLessThan={end}" if end else ""))
        lst = page["data"]["fillList"] or []
        got += [r["tradeId"] for r in lst]
        end = page["data"]["endId"]
        if len(lst) < 2:
            break
    assert got == stream[::-1]
    assert (await get("/api/v2/mix/order/fills?productType=USDT-FUTURES&symbol=NOPE"))["code"] == "40034"
    h = bitget_headers(sim, "GET", base)
    h["ACCESS-SIGN"] = "AAAA"
    async with session.get(ep["rest"] + base, headers=h) as r:
        assert (await r.json())["code"] == "40009"
