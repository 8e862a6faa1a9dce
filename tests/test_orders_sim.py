# SPDX-License-Identifier: Apache-2.0
"""The compiled encoders' bytes against the simulated exchange (which verifies signatures with the
stdlib and parses requests as the venues document them): place and cancel over each venue's WS
order API, Binance after session.logon, and the REST paths with the encoder's headers."""
from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

import engine.signing as sg
from engine.instruments import Instrument, Venue
from engine.orders import OrderEncoder, client_order_id, request_id

import websockets

import engine.sim as sim

TAG = "simt"


def _ms() -> int:
    return time.time_ns() // 1_000_000


async def _rpc(ws, payload: bytes, match) -> dict:
    await ws.send(payload.decode())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        if match(msg):
            return msg
    raise AssertionError("no reply")


@pytest.fixture
async def ex(request):
    """A simulator running the venue(s) given by indirect parametrisation."""
    keys = request.param
    cfg = sim.SimConfig(venues=[sim.VenueSpec(k) for k in keys], seed=3, quote_rate=5)
    async with sim.SimExchange(cfg) as e:
        yield e


def venues(*keys):
    return pytest.mark.parametrize("ex", [keys], indirect=True, ids=["+".join(keys)])


def _enc(ex, key: str, venue: Venue, transport: str, inst: Instrument) -> OrderEncoder:
    api_key, secret, phrase = ex.credentials(key)
    e = OrderEncoder(int(venue), transport, api_key, secret, phrase, TAG)
    e.add_instrument(inst)
    return e


@venues("binance_usdm", "binance_spot")
@pytest.mark.parametrize("key,venue,tick,lot,px", [
    ("binance_usdm", Venue.BINANCE_USDM, "0.10", "0.001", "40000.0"),
    ("binance_spot", Venue.BINANCE_SPOT, "0.01", "0.00001", "40000.00"),
])
async def test_binance_ws_api_place_cancel_and_logon(ex, key, venue, tick, lot, px):
    inst = Instrument(0, venue, "BTCUSDT", tick, lot)
    e = _enc(ex, key, venue, "ws", inst)
    async with websockets.connect(ex.endpoints(key)["ws_trade"]) as ws:
        rid = request_id(1, TAG, 1)
        rep = await _rpc(ws, e.encode_py(dict(kind="new", inst=0, side="buy", px=px, sz="0.003", client_id=1), _ms()),
                         lambda m: m.get("id") == rid)
        assert rep["status"] == 200, rep
        assert rep["result"]["clientOrderId"] == client_order_id(venue, TAG, 1)
        rid = request_id(2, TAG, 2)
        rep = await _rpc(ws, e.encode_py(dict(kind="cancel", inst=0, client_id=2, target_id=1), _ms()),
                         lambda m: m.get("id") == rid)
        assert rep["status"] == 200, rep
        # session.logon, then unsigned requests
        api_key, secret, _ = ex.credentials(key)
        logon = sg.binance_ws_logon(sg.Signer(secret), api_key, _ms(), "logon1")
        rep = await _rpc(ws, json.dumps(logon).encode(), lambda m: m.get("id") == "logon1")
        assert rep["status"] == 200, rep
        e.set_logged_on(True)
        raw = e.encode_py(dict(kind="new", inst=0, side="buy", px=px, sz="0.003", client_id=3), _ms())
        assert b"signature" not in raw
        rid = request_id(1, TAG, 3)
        rep = await _rpc(ws, raw, lambda m: m.get("id") == rid)
        assert rep["status"] == 200, rep
    open_ids = {o.client_id for o in ex.orders(key) if o.is_open}
    assert client_order_id(venue, TAG, 3) in open_ids and client_order_id(venue, TAG, 1) not in open_ids


@venues("binance_usdm")
async def test_binance_rest_place(ex):
    inst = Instrument(0, Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
    e = _enc(ex, "binance_usdm", Venue.BINANCE_USDM, "rest", inst)
    q = e.encode_py(dict(kind="new", inst=0, side="buy", px="40000.0", sz="0.003", client_id=7), _ms()).decode()
    method, path = e.rest_route("new")
    async with aiohttp.ClientSession() as s:
        async with s.request(method, ex.endpoints("binance_usdm")["rest"] + path + "?" + q,
                             headers=e.rest_headers()) as r:
            body = await r.json()
            assert r.status == 200, body
            assert body["clientOrderId"] == client_order_id(Venue.BINANCE_USDM, TAG, 7)


@venues("bybit")
async def test_bybit_trade_ws_and_rest(ex):
    inst = Instrument(0, Venue.BYBIT, "BTCUSDT", "0.10", "0.001", category="linear")
    e = _enc(ex, "bybit", Venue.BYBIT, "ws", inst)
    api_key, secret, _ = ex.credentials("bybit")
    async with websockets.connect(ex.endpoints("bybit")["ws_trade"]) as ws:
        auth = sg.bybit_ws_auth(sg.Signer(secret), api_key, _ms() + 10_000)
        rep = await _rpc(ws, json.dumps(auth).encode(), lambda m: m.get("op") == "auth")
        assert rep["retCode"] == 0, rep
        rid = request_id(1, TAG, 11)
        rep = await _rpc(ws, e.encode_py(dict(kind="new", inst=0, side="buy", px="40000.0", sz="0.002",
                                              client_id=11, tif="post_only"), _ms()),
                         lambda m: m.get("reqId") == rid)
        assert rep["retCode"] == 0, rep
        assert rep["data"]["orderLinkId"] == client_order_id(Venue.BYBIT, TAG, 11)
        rid = request_id(3, TAG, 12)
        rep = await _rpc(ws, e.encode_py(dict(kind="amend", inst=0, side="buy", px="40001.0", sz="0.003",
                                              client_id=12, target_id=11), _ms()),
                         lambda m: m.get("reqId") == rid)
        assert rep["retCode"] == 0, rep
        rid = request_id(2, TAG, 13)
        rep = await _rpc(ws, e.encode_py(dict(kind="cancel", inst=0, client_id=13, target_id=11), _ms()),
                         lambda m: m.get("reqId") == rid)
        assert rep["retCode"] == 0, rep
    r = _enc(ex, "bybit", Venue.BYBIT, "rest", inst)
    body = r.encode_py(dict(kind="new", inst=0, side="sell", px="60000.0", sz="0.002", client_id=14), _ms())
    method, path = r.rest_route("new")
    async with aiohttp.ClientSession() as s:
        async with s.request(method, ex.endpoints("bybit")["rest"] + path, data=body,
                             headers=r.rest_headers()) as resp:
            d = await resp.json()
            assert d["retCode"] == 0, d


@venues("okx")
async def test_okx_ws_order_and_rest(ex):
    inst = Instrument(0, Venue.OKX, "BTC-USDT-SWAP", "0.1", "0.01")
    e = _enc(ex, "okx", Venue.OKX, "ws", inst)
    api_key, secret, phrase = ex.credentials("okx")
    async with websockets.connect(ex.endpoints("okx")["ws_trade"]) as ws:
        login = sg.okx_ws_login(sg.Signer(secret), api_key, phrase, _ms() // 1000)
        rep = await _rpc(ws, json.dumps(login).encode(), lambda m: m.get("event") in ("login", "error"))
        assert rep["event"] == "login" and rep["code"] == "0", rep
        rid = request_id(1, TAG, 21)
        rep = await _rpc(ws, e.encode_py(dict(kind="new", inst=0, side="buy", px="40000.0", sz="1",
                                              client_id=21), _ms()), lambda m: m.get("id") == rid)
        assert rep["code"] == "0", rep
        assert rep["data"][0]["clOrdId"] == client_order_id(Venue.OKX, TAG, 21)
        rid = request_id(2, TAG, 22)
        rep = await _rpc(ws, e.encode_py(dict(kind="cancel", inst=0, client_id=22, target_id=21), _ms()),
                         lambda m: m.get("id") == rid)
        assert rep["code"] == "0", rep
    r = _enc(ex, "okx", Venue.OKX, "rest", inst)
    body = r.encode_py(dict(kind="new", inst=0, side="sell", px="60000.0", sz="1", client_id=23), _ms())
    method, path = r.rest_route("new")
    async with aiohttp.ClientSession() as s:
        async with s.request(method, ex.endpoints("okx")["rest"] + path, data=body,
                             headers=r.rest_headers()) as resp:
            d = await resp.json()
            assert d["code"] == "0", d
