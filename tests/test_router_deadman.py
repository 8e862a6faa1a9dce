# SPDX-License-Identifier: Apache-2.0
"""Exchange-side dead-man switches: the router keeps OKX cancel-all-after armed while it runs;
once it goes silent the simulated venue cancels every pending order by itself."""
from __future__ import annotations

import asyncio

import pytest

from engine.instruments import Venue
from engine.router import OK, REJECT
from engine.sim.server import SimExchange
from engine.state import NEW
from engine.store import open_store

from _router_util import make_router, settle, sim_config

BUY = 1


async def _wait(cond, timeout: float) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < end, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_okx_cancel_all_after_refreshed_then_fires_when_silent(tmp_path):
    async with SimExchange(sim_config("okx")) as ex:
        store = await open_store(f"sqlite:///{tmp_path}/okx.db")
        r = make_router(ex, "okx", store, deadman_ms=10_000, deadman_every_s=0.5,
                        recv_window_ms=1000, order_timeout_s=0.5)
        await r.start()
        await r.ready()
        rv = r.venues[Venue.OKX]
        v = ex.venue("okx")
        # the sim checks the parameter like the venue (10..120 s, 0 disarms)
        rep = await r._http(rv, rv.adapter._req("POST", "/api/v5/trade/cancel-all-after",
                                                body={"timeOut": "5"}))
        assert rep.outcome == REJECT and rep.reason == "51000"
        bids, _ = ex.true_book("okx", "BTC-USDT-SWAP", 1)
        o = await r.place(0, BUY, 10, int(round(float(bids[0][0]) * 10)) - 100)
        await settle(r, lambda: o.status == NEW)
        await _wait(lambda: r.status()["venues"]["okx"]["deadman_ok"] >= 2 and v.cancel_after is not None, 3.0)
        first = v.cancel_after.when()
        await asyncio.sleep(1.2)
        assert v.cancel_after.when() > first + 0.5          # every refresh restarts the countdown
        assert v.cancel_after.when() - asyncio.get_running_loop().time() > 8.5   # 10 s countdown
        assert r.status()["venues"]["okx"]["deadman_err"] == ""
        await r.stop()                                      # the bot goes silent, orders stay
        await store.close()
        venue_o = next(x for x in ex.orders("okx") if x.client_id == o.client_oid)
        assert venue_o.is_open
        await _wait(lambda: venue_o.status == "CANCELED", 12.0)
        assert v.cancel_after_fired == 1 and v.cancel_after is None
        # disarm: timeOut 0
        store = await open_store(f"sqlite:///{tmp_path}/okx.db")
        r2 = make_router(ex, "okx", store, recv_window_ms=1000, order_timeout_s=0.5)
        await r2.start()
        await r2.ready()
        assert r2.state.get(o.client_oid).status == "canceled"     # learned on restart
        rv2 = r2.venues[Venue.OKX]
        rep = await r2._http(rv2, rv2.adapter.deadman(10_000)[0])
        assert rep.outcome == OK and v.cancel_after is not None
        rep = await r2._http(rv2, rv2.adapter._req("POST", "/api/v5/trade/cancel-all-after",
                                                   body={"timeOut": "0"}))
        assert rep.outcome == OK and rep.data[0]["triggerTime"] == "0" and v.cancel_after is None
        await r2.stop()
        await store.close()


@pytest.mark.slow
async def test_bybit_disconnect_cancel_survives_reconnect_fires_when_gone(tmp_path):
    async with SimExchange(sim_config("bybit")) as ex:
        store = await open_store(f"sqlite:///{tmp_path}/bybit.db")
        r = make_router(ex, "bybit", store, deadman_ms=10_000, deadman_every_s=0.5,
                        recv_window_ms=1000, order_timeout_s=0.5)
        await r.start()
        await r.ready()
        rv = r.venues[Venue.BYBIT]
        v = ex.venue("bybit")
        await _wait(lambda: v.dcp_window == 10, 3.0)                 # armed once, 10 s window
        assert r.status()["venues"]["bybit"]["deadman_ok"] == 1      # a setting, not a heartbeat
        bad = rv.adapter._post("/v5/order/disconnected-cancel-all",
                               {"product": "DERIVATIVES", "timeWindow": 5}, is_order=False)
        rep = await r._http(rv, bad)
        assert rep.outcome == REJECT and v.dcp_window == 10
        bids, _ = ex.true_book("bybit", "BTCUSDT", 1)
        o = await r.place(0, BUY, 10, int(round(float(bids[0][0]) * 10)) - 100)
        await settle(r, lambda: o.status == NEW)
        assert v.dcp_timer is None                                   # private stream is up
        # a short drop: the router reconnects within the window, nothing is cancelled
        ex.inject("bybit", "drop", target="user")
        await _wait(lambda: v.dcp_timer is not None or r.status()["venues"]["bybit"]["user_reconnects"] >= 1, 3.0)
        await _wait(lambda: r.status()["venues"]["bybit"]["user_up"] and v.dcp_timer is None, 5.0)
        venue_o = next(x for x in ex.orders("bybit") if x.client_id == o.client_oid)
        assert venue_o.is_open and v.dcp_fired == 0
        await r.stop()                                               # the bot is gone
        await store.close()
        assert v.dcp_timer is not None and venue_o.is_open
        await _wait(lambda: venue_o.status == "CANCELED", 12.0)
        assert v.dcp_fired == 1
