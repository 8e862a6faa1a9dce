# SPDX-License-Identifier: Apache-2.0
"""Missed-fill recovery on every venue: a fill that happens while the user-data stream is down,
or while the bot is stopped, is taken from the venue's trade list by trade id on reconnect /
restart, applied exactly once (state, position, store), and never again on later reconciles or
restarts."""
from __future__ import annotations

import asyncio
import sqlite3

import pytest

from engine.instruments import Venue
from engine.sim.server import SimExchange
from engine.state import NEW
from engine.store import open_store

from _router_util import assert_matches_exchange, make_router, settle, sim_config, sim_trade_id

BUY, SELL = 1, -1
# venue -> (symbol, price units per 1.0, size units of the resting order, market trade size that
#           sweeps through the touch)
VENUES = {
    "binance_usdm": ("BTCUSDT", 10, 100, "5"),
    "binance_spot": ("BTCUSDT", 100, 1000, "5"),
    "bybit": ("BTCUSDT", 10, 10, "5"),
    "okx": ("BTC-USDT-SWAP", 10, 10, "500"),
    "bitget": ("BTCUSDT", 10, 10, "5"),
}


async def _router(ex, key, tmp_path, **kw):
    store = await open_store(f"sqlite:///{tmp_path}/{key}.db")
    r = make_router(ex, key, store, recv_window_ms=1000, order_timeout_s=0.5, **kw)
    await r.start()
    await r.ready()
    return r, store


def _touch(ex, key):
    sym, scale = VENUES[key][:2]
    bids, asks = ex.true_book(key, sym, 1)
    return int(round(float(bids[0][0]) * scale)), int(round(float(asks[0][0]) * scale))


def _bid(ex, key):
    return _touch(ex, key)[0]


def _missed(r):
    return [e["trade_id"] for e in r.events if e["type"] == "missed_fill"]


def _sim_fill_ids(ex, key, client_oid):
    return sorted(sim_trade_id(key, f) for f in ex.fills(key) if f.order.client_id == client_oid)


@pytest.mark.parametrize("key", list(VENUES))
async def test_fills_while_user_stream_down_recovered_once(key, tmp_path):
    """Buys and sells on two levels fill while the stream is silent; the trade list is read in
    pages of 2 rows so the venue's paging is exercised too."""
    sym, _, q, tq = VENUES[key]
    async with SimExchange(sim_config(key)) as ex:
        r, store = await _router(ex, key, tmp_path, use_ws=True)
        r.venues[Venue.parse(key)].adapter.trades_limit = 2
        bid, ask = _touch(ex, key)
        tick = 1                                          # one price unit = one tick
        orders = [await r.place(0, BUY, q, bid), await r.place(0, BUY, q, bid - tick),
                  await r.place(0, SELL, q, ask), await r.place(0, SELL, q, ask + tick)]
        await settle(r, lambda: all(o.status == NEW for o in orders))
        ex.inject(key, "silent", target="user")           # the stream stays open but says nothing
        ex.market_trade(key, sym, "SELL", tq)
        ex.market_trade(key, sym, "BUY", tq)
        want = sorted(t for o in orders for t in _sim_fill_ids(ex, key, o.client_oid))
        assert len(want) >= 3, "the sweeps should have filled the resting orders"
        await asyncio.sleep(0.2)
        assert all(o.fill_sum == 0 for o in orders) and not _missed(r)   # we heard nothing
        ex.clear_faults(key, "silent")
        ex.inject(key, "drop", target="user")             # reconnect -> reconcile
        await settle(r, lambda: all(o.fill_sum == o.filled_sz for o in orders)
                     and sum(o.fill_sum for o in orders) == sum(
                         f.qty for f in ex.fills(key) if f.order.client_id.startswith("hp")),
                     timeout=8.0)
        await settle(r)
        assert sorted(_missed(r)) == want                  # each from the trade list, once
        assert r.state.duplicate_fills == 0
        again = await r.reconcile(Venue.parse(key))        # nothing new the second time
        assert again["fills"] == 0 and sorted(_missed(r)) == want
        assert_matches_exchange(ex, key, r)
        await r.stop()
        rows = sqlite3.connect(f"{tmp_path}/{key}.db").execute("SELECT trade_id FROM fills").fetchall()
        assert sorted(t for (t,) in rows) == want
        await store.close()


@pytest.mark.parametrize("key", list(VENUES))
async def test_fill_while_bot_stopped_recovered_on_restart(key, tmp_path):
    sym, _, q, tq = VENUES[key]
    async with SimExchange(sim_config(key)) as ex:
        r, store = await _router(ex, key, tmp_path, use_ws=True)
        o = await r.place(0, BUY, q, _bid(ex, key))
        await settle(r, lambda: o.status == NEW)
        await r.stop()
        await store.close()
        ex.market_trade(key, sym, "SELL", tq)             # fills while no bot runs
        want = _sim_fill_ids(ex, key, o.client_oid)
        assert want
        r2, store2 = await _router(ex, key, tmp_path, use_ws=True)
        o2 = r2.state.get(o.client_oid)
        assert o2 is not None and o2.fill_sum == q and o2.filled_sz == q
        assert sorted(_missed(r2)) == want
        await settle(r2)
        assert_matches_exchange(ex, key, r2)
        pos = r2.state.positions[0].sz
        await r2.stop()
        await store2.close()
        # a further restart holds the fills from the store and applies nothing twice
        r3, store3 = await _router(ex, key, tmp_path, use_ws=True)
        assert _missed(r3) == [] and r3.state.duplicate_fills == 0
        assert r3.state.get(o.client_oid).fill_sum == q and r3.state.positions[0].sz == pos
        assert_matches_exchange(ex, key, r3)
        await r3.stop()
        await store3.close()
