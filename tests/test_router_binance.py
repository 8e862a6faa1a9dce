# SPDX-License-Identifier: Apache-2.0
"""Router against the simulated Binance USD-M venue over real sockets: order flows on the WS API
and REST paths, and every order fault ending with local state equal to the exchange's and no
duplicate order."""
from __future__ import annotations

import asyncio

import pytest

from engine.router import RouterError
from engine.signing import Signer
from engine.sim.server import SimExchange
from engine.state import CANCELED, EXPIRED, FILLED, NEW, PARTIALLY_FILLED, REJECTED
from engine.store import open_store
from engine.instruments import Venue

from _router_util import assert_matches_exchange, close_router, open_router, settle, sim_config

V = "binance_usdm"
BTC = 0          # BTCUSDT: tick 0.10 (px units of 0.1), lot 0.001; book around 50000
BUY, SELL = 1, -1
LIMIT, MARKET = 1, 2
GTC, IOC, FOK, POST = 1, 2, 3, 4


@pytest.fixture
async def ex():
    async with SimExchange(sim_config(V)) as ex:
        yield ex


async def _router(ex, tmp_path, name="r.db", **kw):
    return await open_router(ex, V, tmp_path, name, **kw)


_close = close_router


def _best(ex):
    bids, asks = ex.true_book(V, "BTCUSDT", 1)
    to = lambda s: int(round(float(s) * 10))          # price units (0.1)
    return to(bids[0][0]), to(asks[0][0])


@pytest.mark.parametrize("use_ws", [True, False], ids=["ws", "rest"])
async def test_order_flows(ex, tmp_path, use_ws):
    r, store = await _router(ex, tmp_path, use_ws=use_ws)
    assert r.status()["venues"][V]["ws_up"] is use_ws
    bid, ask = _best(ex)
    # resting limit, amend, cancel
    o = await r.place(BTC, BUY, 1000, bid - 100)
    await settle(r, lambda: o.status == NEW)
    await r.amend(o.client_oid, bid - 200, 2000)
    await settle(r, lambda: o.px == bid - 200 and o.sz == 2000)
    await r.cancel(o.client_oid)
    await settle(r, lambda: o.status == CANCELED)
    # market buy fills at the ask
    m = await r.place(BTC, BUY, 10, ord_type=MARKET)
    await settle(r, lambda: m.status == FILLED and r.state.positions[BTC].sz == 10)
    # IOC crossing more than the top level: partially filled then expired (or filled by deeper levels)
    ioc = await r.place(BTC, SELL, 5, bid, tif=IOC)
    await settle(r, lambda: ioc.status in (FILLED, EXPIRED))
    # FOK far too large for the book: expires without any fill
    fok = await r.place(BTC, BUY, 10_000_000, ask, tif=FOK)
    await settle(r, lambda: fok.status in (EXPIRED, REJECTED))
    assert fok.filled_sz == 0
    # post-only that would cross: refused by the venue, never a taker
    po = await r.place(BTC, BUY, 10, ask + 10, tif=POST)
    await settle(r, lambda: po.status in (REJECTED, EXPIRED))
    assert po.filled_sz == 0
    # post-only resting is fine
    po2 = await r.place(BTC, SELL, 10, ask + 50, tif=POST)
    await settle(r, lambda: po2.status == NEW)
    # reduce-only larger than the position is refused or reduced by the venue
    ro = await r.place(BTC, BUY, 10, ask, reduce_only=True)        # we are long: buy cannot reduce
    await settle(r, lambda: ro.status in (REJECTED, EXPIRED))
    ro2 = await r.place(BTC, SELL, 5, ord_type=MARKET, reduce_only=True)
    await settle(r, lambda: ro2.status == FILLED)
    # a resting order filled by the market through the user stream
    rest = await r.place(BTC, BUY, 100, bid)
    await settle(r, lambda: rest.status == NEW)
    ex.market_trade(V, "BTCUSDT", "SELL", "50")
    await settle(r, lambda: rest.status in (PARTIALLY_FILLED, FILLED) and rest.fill_sum == rest.filled_sz)
    await r.cancel_all()
    await settle(r, lambda: not r.state.open_orders())
    await settle(r)
    assert_matches_exchange(ex, V, r)
    # everything persisted: fills once, order states final
    snap = await store.load()
    assert len(snap.fills) == len(r.state.fill_ids)
    assert {o["client_oid"]: o["status"] for o in snap.orders} == \
        {o.client_oid: o.status for o in r.state.orders.values()}
    await _close(r, store)


@pytest.mark.parametrize("use_ws", [True, False], ids=["ws", "rest"])
@pytest.mark.parametrize("placed", [True, False], ids=["placed", "not_placed"])
@pytest.mark.parametrize("fault", ["server_error", "no_answer"])
async def test_unknown_outcome_is_queried_never_resent(ex, tmp_path, use_ws, placed, fault):
    r, store = await _router(ex, tmp_path, use_ws=use_ws)
    bid, _ = _best(ex)
    ex.inject(V, fault, placed=placed)
    o = await r.place(BTC, BUY, 1000, bid - 100)
    await settle(r, timeout=8.0)
    n_venue = [x for x in ex.orders(V) if x.client_id == o.client_oid]
    if placed:
        assert o.status == NEW and len(n_venue) == 1
    else:
        assert o.status == REJECTED and o.reason == "not_placed" and not n_venue
    assert any(e["type"] == "unknown" for e in r.events)
    assert len([x for x in ex.orders(V) if x.client_id.startswith("hp")]) == (1 if placed else 0)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


@pytest.mark.parametrize("status,use_ws", [(429, False), (418, False), (429, True)],
                         ids=["429-rest", "418-rest", "429-ws"])
async def test_rate_limit_answer_blocks_sending(ex, tmp_path, status, use_ws):
    r, store = await _router(ex, tmp_path, use_ws=use_ws)
    bid, _ = _best(ex)
    ex.inject(V, "rate_limit", status=status, retry_after=1, code=-1015)
    o = await r.place(BTC, BUY, 1000, bid - 100)
    await settle(r, lambda: o.status == REJECTED)
    assert o.reason == "-1015"
    lim = r.status()["venues"][V]["limits"]
    assert lim["blocked_s"] > 0.5 and lim[str(status)] == 1
    assert lim["banned"] is (status == 418)
    # while blocked nothing reaches the venue
    assert await r.place(BTC, BUY, 1000, bid - 100) is None
    assert r.local_rejects == {"rate_limited": 1}
    await asyncio.sleep(1.1)
    o2 = await r.place(BTC, BUY, 1000, bid - 100)
    await settle(r, lambda: o2.status == NEW)
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_bad_signature_and_stale_timestamp_are_rejected(ex, tmp_path):
    r, store = await _router(ex, tmp_path, use_ws=False)
    bid, _ = _best(ex)
    rv = r.venues[Venue.BINANCE_USDM]
    good = rv.adapter.signer_secret
    rv.adapter.signer_secret = "not-the-secret"          # the compiled encoder signs orders
    rv.adapter.attach_encoders(r.session_tag)
    o = await r.place(BTC, BUY, 1000, bid - 100)
    assert o.status == REJECTED and o.reason == "-1022"
    rv.adapter.signer_secret = good
    rv.adapter.attach_encoders(r.session_tag)
    rv.clock.offset_ns -= 30_000_000_000           # our clock 30 s behind the venue
    o2 = await r.place(BTC, BUY, 1000, bid - 100)
    assert o2.status == REJECTED and o2.reason == "-1021"
    # the reject makes the router measure the offset again: no manual fix needed
    await settle(r, lambda: any(e["type"] == "clock_resynced" for e in r.events))
    assert abs(rv.clock.offset_ms) < 1000
    o3 = await r.place(BTC, BUY, 1000, bid - 100)
    await settle(r, lambda: o3.status == NEW)
    rv.adapter.signer = Signer(b"not-the-secret")       # the Python recipe signs cancels
    await r.cancel(o3.client_oid)
    assert o3.status == NEW                              # a refused cancel changes nothing
    rv.adapter.signer = Signer(good.encode())
    await r.cancel(o3.client_oid)
    await settle(r, lambda: o3.status == CANCELED)
    assert r.state.rejects.by_reason == {"-1022": 1, "-1021": 1, "cancel:-1022": 1}
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_wrong_secret_refuses_to_start(ex, tmp_path):
    from engine.router import Router, VenueConfig
    from _router_util import instruments_for
    store = await open_store(f"sqlite:///{tmp_path}/w.db")
    key, _, _ = ex.credentials(V)
    r = Router(instruments_for(ex, V), store, {V: VenueConfig(ex.endpoints(V), key, "wrong")})
    with pytest.raises(RouterError):
        await r.start()
    assert not r.is_ready
    await store.close()


async def test_disconnect_with_order_in_flight(ex, tmp_path):
    r, store = await _router(ex, tmp_path, use_ws=True, order_timeout_s=5.0)
    bid, _ = _best(ex)
    ex.inject(V, "no_answer", placed=True)
    o = await r.place(BTC, BUY, 1000, bid - 100)
    await asyncio.sleep(0.1)
    assert r.status()["venues"][V]["in_flight"] == 1
    ex.inject(V, "drop", target="trade")
    st = lambda: r.status()["venues"][V]
    await settle(r, lambda: st()["ws_reconnects"] >= 1 and st()["ws_up"] and st()["in_flight"] == 0,
                 timeout=5.0)
    assert any(e["type"] == "unknown" and "in flight" in e["reason"] for e in r.events)
    await settle(r, lambda: o.status == NEW, timeout=5.0)      # resolved by query, not resent
    # the WS path is back: orders go out again
    o2 = await r.place(BTC, BUY, 1000, bid - 200)
    await settle(r, lambda: o2.status == NEW)
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_user_stream_drop_reconciles(ex, tmp_path):
    r, store = await _router(ex, tmp_path, use_ws=True)
    bid, _ = _best(ex)
    o = await r.place(BTC, BUY, 100, bid)
    await settle(r, lambda: o.status == NEW)
    ex.inject(V, "silent", target="user")       # events are lost from now on
    ex.market_trade(V, "BTCUSDT", "SELL", "500")
    await asyncio.sleep(0.2)
    assert o.status == NEW                      # we did not hear about the fill
    ex.clear_faults(V, "silent")
    ex.inject(V, "drop", target="user")
    await settle(r, lambda: o.status == FILLED, timeout=6.0)
    st = r.status()["venues"][V]
    assert st["user_reconnects"] >= 1
    # reconciled from the venue's positions (deferred until no fill event can be in flight)
    await settle(r, lambda: r.state.positions[BTC].sz == 100, timeout=6.0)
    st = r.status()["venues"][V]
    assert st["trade_list"] and st["fills_missing"] == 0
    # the fill itself came from the trade list (by trade id), exactly once
    assert [e["type"] for e in r.events].count("missed_fill") == 1
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_kill_switch_cancels_everything_and_blocks(ex, tmp_path):
    r, store = await _router(ex, tmp_path, use_ws=True)
    bid, ask = _best(ex)
    a = await r.place(BTC, BUY, 100, bid - 10)
    b = await r.place(BTC, SELL, 100, ask + 10)
    await settle(r, lambda: a.status == NEW and b.status == NEW)
    await r.kill("test")
    await settle(r, lambda: a.status == CANCELED and b.status == CANCELED)
    assert await r.place(BTC, BUY, 100, bid - 10) is None
    assert r.local_rejects == {"kill_switch": 1}
    assert not [o for o in ex.orders(V) if o.is_open]
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_restart_reloads_and_keeps_ids_unique(ex, tmp_path):
    r, store = await _router(ex, tmp_path, name="same.db")
    bid, _ = _best(ex)
    o = await r.place(BTC, BUY, 100, bid - 10)
    m = await r.place(BTC, BUY, 10, ord_type=MARKET)
    await settle(r, lambda: o.status == NEW and m.status == FILLED)
    await settle(r)
    s1 = r.session
    await _close(r, store)
    # the order is canceled while we are away
    ex.venue(V).engine.cancel("BTCUSDT", client_id=o.client_oid)
    r2, store2 = await _router(ex, tmp_path, name="same.db")
    assert r2.session == s1 + 1
    assert r2.state.get(o.client_oid).status == CANCELED       # learned during reconcile
    assert r2.state.positions[BTC].sz == 10
    o2 = await r2.place(BTC, BUY, 100, bid - 10)
    assert o2.client_oid != o.client_oid
    await settle(r2, lambda: o2.status == NEW)
    await settle(r2)
    assert_matches_exchange(ex, V, r2)
    await _close(r2, store2)


async def test_deadman_switch_kept_alive(tmp_path):
    async with SimExchange(sim_config(V)) as ex:
        r, store = await _router(ex, tmp_path, deadman_ms=1000, deadman_every_s=0.1)
        await settle(r, lambda: r.status()["venues"][V]["deadman_ok"] >= 2)
        bid, _ = _best(ex)
        o = await r.place(BTC, BUY, 100, bid - 10)
        await settle(r, lambda: o.status == NEW)
        await _close(r, store)                  # we stop refreshing: the venue cancels by itself
        await asyncio.sleep(1.5)
        assert not [x for x in ex.orders(V) if x.is_open]


async def test_risk_gate_and_context_wiring(ex, tmp_path):
    """Router orders pass the compiled risk gate with live position / open orders / book validity,
    and fills and open orders land in the compiled Context that strategies read."""
    from engine.risk import RiskGate
    from engine.strategy import Context
    from _router_util import instruments_for
    t = instruments_for(ex, V)
    ctx = Context()
    for ins in t:
        ctx.add_instrument(ins)
    gate = RiskGate()
    gate.set_limits(BTC, max_order_sz=100, max_position=150)
    bid, ask = _best(ex)
    ctx.set_top(BTC, bid, 1000, ask, 1000)
    r, store = await _router(ex, tmp_path, ctx=ctx, risk=gate)
    assert await r.place(BTC, BUY, 101, bid - 10) is None            # size limit
    o = await r.place(BTC, BUY, 100, ord_type=MARKET)
    await settle(r, lambda: o.status == FILLED)
    assert ctx.position(BTC)["sz"] == 100                            # State -> Context
    assert await r.place(BTC, BUY, 60, bid - 10) is None             # position limit 150
    a = await r.place(BTC, BUY, 40, bid - 10)
    await settle(r, lambda: a.status == NEW)
    assert ctx.position(BTC)["open_orders"] == 1 and ctx.position(BTC)["open_buy_sz"] == 40
    ctx.invalidate(BTC)                                              # feed lost its book
    assert await r.place(BTC, SELL, 10, ask + 10) is None
    assert r.local_rejects == {"risk:SIZE": 1, "risk:POSITION": 1, "risk:STALE_BOOK": 1}
    await r.cancel(a.client_oid)
    await settle(r, lambda: a.status == CANCELED)
    assert ctx.position(BTC)["open_orders"] == 0
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


@pytest.mark.parametrize("route_ack", [True, False], ids=["ack_routed", "ack_lost"])
async def test_orders_written_by_the_compiled_path(ex, tmp_path, route_ack):
    """The pipeline writes orders itself (compiled encoder on its own order WebSocket) and hands
    them over with drain_sent(); acks come back as cold frames. Without an ack the router queries."""
    import aiohttp
    import time as _t
    import engine.orders as eo
    from _router_util import instruments_for
    r, store = await _router(ex, tmp_path, use_ws=False, order_timeout_s=0.3)
    key, secret, _ = ex.credentials(V)
    enc = eo.OrderEncoder(2, "ws", key, secret, "", r.session_tag)
    for ins in instruments_for(ex, V):
        enc.add_instrument(ins)
    bid, _ = _best(ex)
    async with aiohttp.ClientSession() as s, s.ws_connect(ex.endpoints(V)["ws_trade"]) as ws:
        await ws.send_str(enc.encode_py({"kind": 1, "inst": BTC, "side": BUY, "ord_type": 1, "tif": 1,
                                         "px": bid - 10, "sz": 100, "client_id": 7},
                                        int(_t.time() * 1000)).decode())
        r.on_sent([{"client_id": 7, "target_id": 0, "venue": 2, "inst": BTC, "kind": 1, "side": BUY,
                    "ord_type": 1, "tif": 1, "flags": 0, "tag": 0, "px": bid - 10, "sz": 100,
                    "t_recv": 0, "t_send": 0, "conn_id": 5, "nbytes": 0}])
        oid = eo.client_order_id(2, r.session_tag, 7)
        o = r.state.get(oid)
        assert o is not None and r.status()["venues"][V]["in_flight"] == 1
        msg = await ws.receive(timeout=2)
        if route_ack:
            r.on_cold_frame(2, msg.data.encode(), 0, -1, 0)
            assert r.status()["venues"][V]["in_flight"] == 0
        await settle(r, lambda: o.status == NEW and r.status()["venues"][V]["in_flight"] == 0)
        if not route_ack:
            assert any(e["type"] == "unknown" and e["client_oid"] == oid for e in r.events)
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_garbled_user_events_trigger_reconcile(ex, tmp_path):
    r, store = await _router(ex, tmp_path, use_ws=True)
    bid, _ = _best(ex)
    o = await r.place(BTC, BUY, 100, bid)
    await settle(r, lambda: o.status == NEW)
    ex.inject(V, "garbage", count=3)           # the next frames (trade, order, account events) are garbage
    ex.market_trade(V, "BTCUSDT", "SELL", "500")
    await settle(r, lambda: o.status == FILLED, timeout=5.0)
    assert any(e["type"] == "bad_user_frame" for e in r.events)
    await settle(r, lambda: r.state.positions[BTC].sz == 100, timeout=6.0)
    st = r.status()["venues"][V]
    assert st["trade_list"] and st["fills_missing"] == 0
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_reordered_user_events_never_regress(ex, tmp_path):
    r, store = await _router(ex, tmp_path, use_ws=True)
    bid, _ = _best(ex)
    o = await r.place(BTC, BUY, 100, bid)
    await settle(r, lambda: o.status == NEW)
    ex.inject(V, "reorder", count=3)
    ex.market_trade(V, "BTCUSDT", "SELL", "2.02")       # partial fills, events swapped in flight
    ex.market_trade(V, "BTCUSDT", "SELL", "500")
    await settle(r, lambda: o.status == FILLED and o.fill_sum == o.filled_sz, timeout=5.0)
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_rest_fallback_when_ws_order_path_is_down(ex, tmp_path):
    from engine.router import Router, VenueConfig
    from _router_util import free_port_url, instruments_for
    store = await open_store(f"sqlite:///{tmp_path}/fb.db")
    key, secret, _ = ex.credentials(V)
    eps = dict(ex.endpoints(V), ws_trade=free_port_url())       # nothing listens there
    r = Router(instruments_for(ex, V), store, {V: VenueConfig(eps, key, secret)}, use_ws=True,
               recv_window_ms=1000, order_timeout_s=0.5)
    await r.start()
    await r.ready()
    assert r.status()["venues"][V]["ws_up"] is False
    bid, _ = _best(ex)
    o = await r.place(BTC, BUY, 100, bid - 10)
    assert o.status in (NEW, "pending_new")
    await settle(r, lambda: o.status == NEW)
    assert any(e["type"] == "ws_error" for e in r.events)
    await settle(r)
    assert_matches_exchange(ex, V, r)
    await _close(r, store)
