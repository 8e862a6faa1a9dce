# SPDX-License-Identifier: Apache-2.0
"""Binance spot user data over the WebSocket API (``userDataStream.subscribe`` on a logged-on
session, ``userDataStream.subscribe.signature`` otherwise), against the sim: fills reach the
router exactly once, a refused subscription stops start-up with the venue's reason, fills missed
while the subscription was gone come from the trade list once, and the listenKey stream stays
available as a configured fallback. Plus the sim's side of the protocol (codes, wrapping,
unsubscribe, ``eventStreamTerminated``)."""
from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
import pytest

from engine.config import parse_config
from engine.errors import ConfigError
from engine.instruments import Venue
from engine.router import Router, RouterError, VenueConfig
from engine.sim.server import SimExchange
from engine.state import NEW

from _router_util import (assert_matches_exchange, close_router, instruments_for, open_router, settle, sim_config,
                          sim_trade_id)
from _sim_util import PlainBinance, drain

V = "binance_spot"
SYM = "BTCUSDT"
BUY, SELL = 1, -1
Q = 1000                       # 0.01 BTC (lot 0.00001)


@pytest.fixture
async def ex():
    async with SimExchange(sim_config(V)) as ex:
        yield ex


async def _router(ex, tmp_path, user_data="", secret=None, start=True):
    return await open_router(ex, V, tmp_path, start=start, user_data=user_data, secret=secret)


_close = close_router


def _touch(ex):
    bids, asks = ex.true_book(V, SYM, 1)
    return int(round(float(bids[0][0]) * 100)), int(round(float(asks[0][0]) * 100))


def _missed(r):
    return sorted(e["trade_id"] for e in r.events if e["type"] == "missed_fill")


def _sim_fills(ex):
    return sorted(sim_trade_id(V, f) for f in ex.fills(V) if f.order.client_id.startswith("hp"))


def _stored_fills(tmp_path):
    return sorted(t for (t,) in sqlite3.connect(f"{tmp_path}/r.db").execute("SELECT trade_id FROM fills"))


# ---- router / client ----------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["logon", "signature"])
async def test_fills_arrive_over_the_ws_api_subscription_once(ex, tmp_path, how):
    """``logon``: the sim accepts our HMAC logon -> userDataStream.subscribe. ``signature``: the
    sim refuses it like the real venue (Ed25519 only) -> userDataStream.subscribe.signature."""
    venue = ex.venue(V)
    if how == "signature":
        venue.hmac_logon = False
    r, store = await _router(ex, tmp_path)
    assert [h for _sid, h in venue.api_subs.values()] == [how]
    assert not venue.listen_keys                              # no listenKey was ever made
    ad = r.venues[Venue.BINANCE_SPOT].adapter
    assert ad.user_sub_id is not None and ad.user_logged_on is (how == "logon")
    bid, ask = _touch(ex)
    orders = [await r.place(0, BUY, Q, bid), await r.place(0, SELL, Q, ask)]
    await settle(r, lambda: all(o.status == NEW for o in orders))
    ex.market_trade(V, SYM, "SELL", "5")
    ex.market_trade(V, SYM, "BUY", "5")
    want = _sim_fills(ex)
    assert len(want) >= 2
    await settle(r, lambda: all(o.fill_sum == o.filled_sz == Q for o in orders))
    await settle(r)
    local = sorted(tid for (v, tid) in r.state.fill_ids if v == int(Venue.BINANCE_SPOT))
    assert local == want
    assert _missed(r) == []                                   # all of them came on the stream
    assert r.state.duplicate_fills == 0
    assert r.status()["venues"][V]["user_reconnects"] == 0
    again = await r.reconcile(Venue.BINANCE_SPOT)             # the trade list adds nothing
    assert again["fills"] == 0
    assert_matches_exchange(ex, V, r)
    await _close(r, store)
    assert _stored_fills(tmp_path) == want


async def test_bad_signature_on_subscribe_refuses_to_start(ex, tmp_path):
    """Wrong secret: logon is refused, subscribe.signature is refused with -1022; start-up stops
    on the user-data stream and the event says why."""
    r, store = await _router(ex, tmp_path, secret="0" * 64, start=False)
    with pytest.raises(RouterError, match="user-data stream did not come up"):
        await r.start()
    reasons = [e["reason"] for e in r.events if e["type"] == "user_stream_error"]
    assert reasons and all("userDataStream.subscribe.signature refused: -1022 Signature for this "
                           "request is not valid." in x for x in reasons), reasons
    assert not ex.venue(V).api_subs
    await store.close()


async def test_fill_while_connection_down_recovered_once(ex, tmp_path):
    r, store = await _router(ex, tmp_path)
    bid, ask = _touch(ex)
    orders = [await r.place(0, BUY, Q, bid), await r.place(0, SELL, Q, ask)]
    await settle(r, lambda: all(o.status == NEW for o in orders))
    ex.inject(V, "silent", target="user")       # the subscribed WS API socket goes quiet
    ex.market_trade(V, SYM, "SELL", "5")
    ex.market_trade(V, SYM, "BUY", "5")
    want = _sim_fills(ex)
    assert len(want) >= 2
    await asyncio.sleep(0.2)
    assert all(o.fill_sum == 0 for o in orders)                # nothing heard yet
    ex.clear_faults(V, "silent")
    ex.inject(V, "drop", target="user")                        # -> resubscribe -> reconcile
    await settle(r, lambda: all(o.fill_sum == o.filled_sz == Q for o in orders), timeout=8.0)
    await settle(r)
    st = r.status()["venues"][V]
    assert st["user_reconnects"] >= 1 and st["user_up"]
    assert len(ex.venue(V).api_subs) == 1                      # subscribed again
    assert _missed(r) == want                                  # each from the trade list, once
    assert r.state.duplicate_fills == 0
    assert (await r.reconcile(Venue.BINANCE_SPOT))["fills"] == 0
    # the new subscription carries fills again
    o = await r.place(0, BUY, Q, _touch(ex)[0])
    await settle(r, lambda: o.status == NEW)
    ex.market_trade(V, SYM, "SELL", "5")
    await settle(r, lambda: o.fill_sum == o.filled_sz == Q)
    assert _missed(r) == want
    assert_matches_exchange(ex, V, r)
    await _close(r, store)
    assert _stored_fills(tmp_path) == _sim_fills(ex)


async def test_event_stream_terminated_resubscribes_and_recovers(ex, tmp_path):
    r, store = await _router(ex, tmp_path)
    o = await r.place(0, BUY, Q, _touch(ex)[0])
    await settle(r, lambda: o.status == NEW)
    assert ex.venue(V).terminate_user_subscriptions() == 1
    ex.market_trade(V, SYM, "SELL", "5")        # no subscription: the event goes nowhere
    want = _sim_fills(ex)
    assert want
    await settle(r, lambda: o.fill_sum == o.filled_sz == Q and r.status()["venues"][V]["user_up"],
                 timeout=8.0)
    await settle(r)
    assert any(e["type"] == "user_stream_error" and "eventStreamTerminated" in e["reason"]
               for e in r.events)
    assert r.status()["venues"][V]["user_reconnects"] >= 1
    assert len(ex.venue(V).api_subs) == 1
    assert _missed(r) == want and r.state.duplicate_fills == 0
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_listen_key_fallback_when_configured(ex, tmp_path):
    r, store = await _router(ex, tmp_path, user_data="listen_key")
    venue = ex.venue(V)
    assert venue.listen_keys and not venue.api_subs
    o = await r.place(0, BUY, Q, _touch(ex)[0])
    await settle(r, lambda: o.status == NEW)
    ex.market_trade(V, SYM, "SELL", "5")
    await settle(r, lambda: o.fill_sum == o.filled_sz == Q)
    assert _missed(r) == [] and r.state.duplicate_fills == 0  # over the listenKey stream
    # a drop on the listenKey stream recovers the same way
    o2 = await r.place(0, BUY, Q, _touch(ex)[0])
    await settle(r, lambda: o2.status == NEW)
    ex.inject(V, "silent", target="user")
    ex.market_trade(V, SYM, "SELL", "5")
    await asyncio.sleep(0.1)
    ex.clear_faults(V, "silent")
    ex.inject(V, "drop", target="user")
    await settle(r, lambda: o2.fill_sum == o2.filled_sz == Q, timeout=8.0)
    await settle(r)
    assert _missed(r) == sorted(sim_trade_id(V, f) for f in ex.fills(V) if f.order.client_id == o2.client_oid)
    assert not venue.api_subs
    assert_matches_exchange(ex, V, r)
    await _close(r, store)


async def test_user_data_choice_is_checked(ex, tmp_path):
    key, sec, pp = ex.credentials(V)
    with pytest.raises(RouterError, match="user_data 'sse' is not offered"):
        Router(instruments_for(ex, V), None, {V: VenueConfig(ex.endpoints(V), key, sec, pp, user_data="sse")})
    with pytest.raises(RouterError, match="binance_usdm: user_data"):
        Router([], None, {"binance_usdm": VenueConfig(ex.endpoints(V), key, sec, pp, user_data="ws_api")})
    base = ('[bot]\nname = "t"\nstrategy = "s.py:S"\n[[instruments]]\nvenue = "{v}"\nsymbol = "BTCUSDT"\n'
            'tick_size = "0.01"\nlot_size = "0.00001"\n[venues.{v}]\n')
    cfg = parse_config(base.format(v=V) + 'user_data = "listen_key"\n')
    assert cfg.venues[V].user_data == "listen_key"
    assert parse_config(base.format(v=V)).venues[V].user_data == ""
    with pytest.raises(ConfigError, match="user_data must be one of ws_api, listen_key"):
        parse_config(base.format(v=V) + 'user_data = "rest"\n')
    with pytest.raises(ConfigError, match="only binance_spot"):
        parse_config(base.format(v="binance_usdm") + 'user_data = "listen_key"\n')


def test_handshake_steps_without_a_venue():
    """The subscription handshake as a state machine: logon accepted but subscribe refused falls
    back to the signed subscription; frames that are not its answer are waited past."""
    import orjson

    from engine.clock_sync import ClockSync
    from engine.exchanges.base import Endpoints
    from engine.exchanges.binance.trading import BinanceSpotTrading
    from engine.sim.auth import verify_binance_ws

    ad = BinanceSpotTrading(Endpoints("http://x", "ws://x", "ws://x/ws", "ws://x/ws-api/v3"), "K", "S", "",
                            [], ClockSync())
    assert ad.user_url("") == "ws://x/ws-api/v3" and ad.user_token_request() is None

    def ans(rid, status, result=None):
        return orjson.dumps({"id": rid, "status": status, "result": result or {},
                             "error": {"code": -2015, "msg": "no"}})

    [f] = ad.user_handshake(None)
    assert orjson.loads(f)["method"] == "session.logon"
    [f] = ad.user_handshake(ans("uds-session.logon", 200))
    assert orjson.loads(f) == {"id": "uds-userDataStream.subscribe", "method": "userDataStream.subscribe"}
    assert ad.user_handshake(b"not json") == [] and ad.user_handshake(ans("r7", 400)) == []
    assert ad.user_handshake(orjson.dumps({"subscriptionId": 0, "event": {"e": "x"}})) == []
    [f] = ad.user_handshake(ans("uds-userDataStream.subscribe", 400))
    req = orjson.loads(f)
    assert req["method"] == "userDataStream.subscribe.signature"
    assert set(req["params"]) == {"apiKey", "timestamp", "recvWindow", "signature"}
    assert verify_binance_ws("S", req["params"])
    with pytest.raises(ConnectionError, match="subscribe.signature refused: -2015 no"):
        ad.user_handshake(ans("uds-userDataStream.subscribe.signature", 400))
    ad.user_handshake(None)
    ad.try_logon = False                                   # e.g. the venue refused it before
    [f] = ad.user_handshake(None)
    assert orjson.loads(f)["method"] == "userDataStream.subscribe.signature"
    assert ad.user_handshake(ans("uds-userDataStream.subscribe.signature", 200, {"subscriptionId": 3})) is None
    assert ad.user_sub_id == 3
    with pytest.raises(ConnectionError, match="eventStreamTerminated"):
        ad.parse_user(orjson.dumps({"subscriptionId": 3, "event": {"e": "eventStreamTerminated", "E": 1}}))
    ad.user_data = "listen_key"
    assert ad.user_handshake(None) is None and ad.user_token_request() is not None
    assert ad.user_url("LK") == "ws://x/ws/LK"
    ad.endpoints = Endpoints("http://x", "ws://m", "ws://x/ws-api/v3", "ws://x/ws-api/v3")   # the presets
    assert ad.user_url("LK") == "ws://m/ws/LK"


# ---- the sim's side of the protocol ---------------------------------------------------------------

async def test_sim_subscribe_signature_codes_wrapping_and_termination(ex):
    key, secret, _ = ex.credentials(V)
    venue = ex.venue(V)
    async with aiohttp.ClientSession() as s:
        c = PlainBinance(s, ex.endpoints(V), key, secret, False)
        async with s.ws_connect(c.ep["ws_trade"]) as ws:
            async def call(req):
                await ws.send_json(req)
                return await ws.receive_json(timeout=3)

            bad = c.ws_request("b", "userDataStream.subscribe.signature")
            bad["params"]["signature"] = "0" * 64
            r = await call(bad)
            assert (r["status"], r["error"]["code"], r["error"]["msg"]) == (
                400, -1022, "Signature for this request is not valid.")
            r = await call({"id": "n", "method": "userDataStream.subscribe.signature",
                            "params": {"apiKey": key, "timestamp": 1}})
            assert r["error"]["code"] == -1102 and "signature" in r["error"]["msg"]
            r = await call(c.ws_request("k", "userDataStream.subscribe.signature", apiKey="wrong"))
            assert r["error"]["code"] == -2015
            r = await call(c.ws_request("o", "userDataStream.subscribe.signature", timestamp=1))
            assert r["error"]["code"] == -1021                   # stale timestamp
            assert not venue.api_subs
            r = await call(c.ws_request("s", "userDataStream.subscribe.signature"))
            assert r["status"] == 200 and r["result"] == {"subscriptionId": 0}, r
            r = await call(c.ws_request("s2", "userDataStream.subscribe.signature"))
            assert r["error"]["code"] == -2035                   # one per account and connection
            r = await call({"id": "l", "method": "session.subscriptions"})
            assert r["result"] == [{"subscriptionId": 0}]
            # an order on another connection: wrapped executionReport + outboundAccountPosition
            st, body, _ = await c.signed("POST", "/api/v3/order", symbol=SYM, side="BUY", type="MARKET",
                                         quantity="0.00100", newClientOrderId="m1")
            assert st == 200, body
            events = [m for m in await drain(ws, 0.3) if "subscriptionId" in m]
            assert events and all(m["subscriptionId"] == 0 and set(m) == {"subscriptionId", "event"}
                                  for m in events)
            kinds = [(m["event"]["e"], m["event"].get("x")) for m in events]
            assert ("executionReport", "TRADE") in kinds and ("outboundAccountPosition", None) in kinds
            # logon + logout leave a .signature subscription alone
            await call(c.ws_request("li", "session.logon"))
            r = await call({"id": "lo", "method": "session.logout"})
            assert r["status"] == 200 and r["result"]["userDataStream"] is True
            r = await call({"id": "u", "method": "userDataStream.unsubscribe", "params": {"subscriptionId": 5}})
            assert r["error"]["code"] == -2036
            await ws.send_json({"id": "u", "method": "userDataStream.unsubscribe",
                                "params": {"subscriptionId": 0}})
            msgs = await drain(ws, 0.3)
            assert msgs[0]["subscriptionId"] == 0 and msgs[0]["event"]["e"] == "eventStreamTerminated"
            assert msgs[1]["id"] == "u" and msgs[1]["status"] == 200
            r = await call({"id": "u2", "method": "userDataStream.unsubscribe"})
            assert r["error"]["code"] == -2036
            # ids are per connection and never reused on it
            r = await call(c.ws_request("s3", "userDataStream.subscribe.signature"))
            assert r["result"] == {"subscriptionId": 1}
        for _ in range(100):                                     # the server sees the close
            if not venue.api_subs:
                break
            await asyncio.sleep(0.02)
        assert not venue.api_subs                                # ended with the connection
        async with s.ws_connect(c.ep["ws_trade"]) as ws:
            # a subscription made by a logged-on session ends with session.logout
            await ws.send_json(c.ws_request("li", "session.logon"))
            assert (await ws.receive_json(timeout=3))["status"] == 200
            await ws.send_json({"id": "s", "method": "userDataStream.subscribe"})
            assert (await ws.receive_json(timeout=3))["result"] == {"subscriptionId": 0}
            await ws.send_json({"id": "lo", "method": "session.logout"})
            msgs = await drain(ws, 0.3)
            assert msgs[0]["event"]["e"] == "eventStreamTerminated"
            assert msgs[1]["id"] == "lo" and msgs[1]["result"]["userDataStream"] is False
            # the real venue takes Ed25519 keys only for logon; the sim can behave so too
            venue.hmac_logon = False
            await ws.send_json(c.ws_request("li2", "session.logon"))
            r = await ws.receive_json(timeout=3)
            assert r["status"] == 400 and r["error"]["code"] == -2015
