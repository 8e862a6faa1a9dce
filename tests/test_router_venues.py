# SPDX-License-Identifier: Apache-2.0
"""Router against the simulated Bybit, OKX and Bitget venues over real sockets: order flows on
each venue's order paths and the order faults, ending with state equal to the exchange's."""
from __future__ import annotations

import asyncio

import pytest

from engine.sim.server import SimExchange
from engine.state import CANCELED, EXPIRED, FILLED, NEW, PARTIALLY_FILLED, REJECTED
from engine.store import open_store

from _router_util import assert_matches_exchange, make_router, settle, sim_config

BUY, SELL = 1, -1
MARKET = 2
IOC, FOK, POST = 2, 3, 4
# venue -> (symbol, price units per 1.0, size units for a small order, fill ids comparable,
#           market trade size that reaches a resting order at the touch)
VENUES = {
    "bybit": ("BTCUSDT", 10, 10, True, "5"),
    "okx": ("BTC-USDT-SWAP", 10, 10, True, "500"),
    "bitget": ("BTCUSDT", 10, 10, True, "5"),
    "binance_spot": ("BTCUSDT", 100, 1000, True, "5"),
}
WS_ORDERS = {"bybit": True, "okx": True, "bitget": False, "binance_spot": True}   # Bitget: REST only
SPOT = {"binance_spot"}          # no amend, no reduce-only, no positions (balances)


def _avail(key: str) -> bool:
    from engine.sim.venues import VENUE_CLASSES
    return key in VENUE_CLASSES


def _params():
    return [pytest.param(k, marks=pytest.mark.skipif(not _avail(k), reason=f"sim has no {k} yet"))
            for k in VENUES]


async def _router(ex, key, tmp_path, **kw):
    store = await open_store(f"sqlite:///{tmp_path}/{key}.db")
    kw.setdefault("recv_window_ms", 1000)
    kw.setdefault("order_timeout_s", 0.5)
    r = make_router(ex, key, store, **kw)
    await r.start()
    await r.ready()
    return r, store


def _best(ex, key):
    sym, scale = VENUES[key][:2]
    bids, asks = ex.true_book(key, sym, 1)
    return int(round(float(bids[0][0]) * scale)), int(round(float(asks[0][0]) * scale))


@pytest.mark.parametrize("use_ws", [True, False], ids=["ws", "rest"])
@pytest.mark.parametrize("key", _params())
async def test_flows(key, use_ws, tmp_path):
    sym, _, q, ids, tq = VENUES[key]
    async with SimExchange(sim_config(key)) as ex:
        r, store = await _router(ex, key, tmp_path, use_ws=use_ws)
        assert r.status()["venues"][key]["ws_up"] is (use_ws and WS_ORDERS[key])
        bid, ask = _best(ex, key)
        o = await r.place(0, BUY, q, bid - 100)
        await settle(r, lambda: o.status == NEW)
        if key not in SPOT:
            await r.amend(o.client_oid, bid - 200, 2 * q)
            await settle(r, lambda: o.px == bid - 200 and o.sz == 2 * q)
        await r.cancel(o.client_oid)
        await settle(r, lambda: o.status == CANCELED)
        m = await r.place(0, BUY, q, ord_type=MARKET)
        await settle(r, lambda: m.status == FILLED and r.state.positions[0].sz == q)
        ioc = await r.place(0, SELL, q // 2, bid, tif=IOC)
        await settle(r, lambda: ioc.status in (FILLED, EXPIRED, CANCELED))
        fok = await r.place(0, BUY, 1_000_000 * q, ask, tif=FOK)
        await settle(r, lambda: fok.status in (EXPIRED, CANCELED, REJECTED))
        assert fok.filled_sz == 0
        po = await r.place(0, BUY, q, ask + 10, tif=POST)
        await settle(r, lambda: po.status in (REJECTED, EXPIRED, CANCELED))
        assert po.filled_sz == 0
        if key not in SPOT:
            ro = await r.place(0, SELL, q // 2, ord_type=MARKET, reduce_only=True)
            await settle(r, lambda: ro.status == FILLED)
        rest = await r.place(0, BUY, q, bid)
        assert rest is not None, (r.local_rejects, r.status()["venues"][key]["limits"])
        await settle(r, lambda: rest.status == NEW)
        ex.market_trade(key, sym, "SELL", tq)
        await settle(r, lambda: rest.status in (PARTIALLY_FILLED, FILLED) and rest.fill_sum == rest.filled_sz
                     and rest.filled_sz > 0)
        await r.cancel_all()
        await settle(r, lambda: not r.state.open_orders())
        await settle(r)
        assert_matches_exchange(ex, key, r, fill_ids=ids)
        await r.stop()
        await store.close()


@pytest.mark.parametrize("use_ws", [True, False], ids=["ws", "rest"])
@pytest.mark.parametrize("placed", [True, False], ids=["placed", "not_placed"])
@pytest.mark.parametrize("fault", ["server_error", "no_answer"])
@pytest.mark.parametrize("key", _params())
async def test_unknown_outcome(key, fault, placed, use_ws, tmp_path):
    _, _, q, ids, _tq = VENUES[key]
    if use_ws and not WS_ORDERS[key]:
        pytest.skip(f"{key} has no WS order path")
    async with SimExchange(sim_config(key)) as ex:
        r, store = await _router(ex, key, tmp_path, use_ws=use_ws)
        bid, _ = _best(ex, key)
        ex.inject(key, fault, placed=placed)
        o = await r.place(0, BUY, q, bid - 100)
        await settle(r, timeout=8.0)
        on_venue = [x for x in ex.orders(key) if x.client_id == o.client_oid]
        if placed:
            assert o.status == NEW and len(on_venue) == 1
        else:
            assert o.status == REJECTED and o.reason == "not_placed" and not on_venue
        assert_matches_exchange(ex, key, r, fill_ids=ids)
        await r.stop()
        await store.close()


@pytest.mark.parametrize("key", _params())
async def test_rate_limited_order_is_rejected(key, tmp_path):
    _, _, q, ids, _tq = VENUES[key]
    async with SimExchange(sim_config(key)) as ex:
        r, store = await _router(ex, key, tmp_path, use_ws=False)
        bid, _ = _best(ex, key)
        ex.inject(key, "rate_limit")
        o = await r.place(0, BUY, q, bid - 100)
        assert o.status == REJECTED
        await asyncio.sleep(0.05)
        assert not [x for x in ex.orders(key) if x.client_id == o.client_oid]
        assert_matches_exchange(ex, key, r, fill_ids=ids)
        await r.stop()
        await store.close()


@pytest.mark.parametrize("key", _params())
async def test_bad_signature_and_stale_timestamp(key, tmp_path):
    from engine.signing import Signer
    _, _, q, ids, _tq = VENUES[key]
    async with SimExchange(sim_config(key)) as ex:
        r, store = await _router(ex, key, tmp_path, use_ws=False)
        rv = next(iter(r.venues.values()))
        bid, _ = _best(ex, key)
        good = rv.adapter.signer_secret
        rv.adapter.signer_secret = "not-the-secret"
        rv.adapter.attach_encoders(r.session_tag)
        o = await r.place(0, BUY, q, bid - 100)
        assert o.status == REJECTED and o.reason
        rv.adapter.signer_secret = good
        rv.adapter.attach_encoders(r.session_tag)
        rv.clock.offset_ns -= 40_000_000_000
        o2 = await r.place(0, BUY, q, bid - 100)
        assert o2.status == REJECTED and o2.reason
        # the venue's "timestamp outside the window" reject makes the router re-measure the offset
        await settle(r, lambda: any(e["type"] == "clock_resynced" for e in r.events))
        assert abs(rv.clock.offset_ms) < 1000
        o3 = await r.place(0, BUY, q, bid - 100)
        await settle(r, lambda: o3.status == NEW)
        rv.adapter.signer = Signer(b"not-the-secret")
        await r.cancel(o3.client_oid)                   # refused cancel: order stays live
        await asyncio.sleep(0.05)
        assert o3.status == NEW
        assert not [x for x in ex.orders(key) if x.client_id in (o.client_oid, o2.client_oid)]
        await settle(r)
        assert_matches_exchange(ex, key, r, fill_ids=ids)
        await r.stop()
        await store.close()
