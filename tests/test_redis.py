# SPDX-License-Identifier: Apache-2.0
"""Redis store and global risk budget against a real redis-server on loopback."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from engine.instruments import InstrumentTable, Venue
from engine.state import NEW, Fill, State
from engine.store import open_store
from engine.store.redis import RiskBudget

from _store_util import start_redis

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def redis_url(tmp_path):
    proc, url = start_redis(tmp_path)
    yield url
    proc.terminate()
    proc.wait(5)


async def test_store_roundtrip_idempotent(redis_url):
    t = InstrumentTable()
    btc = t.add(Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
    store = await open_store(redis_url + "?prefix=hp:a:")
    st = State(t, sink=store)
    o = st.new_order("hp1x1", 1, 2, btc.id, 1, 1, 1, 0, 500000, 1000)
    st.update_order(o.client_oid, NEW, venue_order_id="9")
    st.apply_fill(Fill(2, "T1", o.client_oid, btc.id, 1, 500000, 1000, 0.5))
    fill = {"venue": 2, "trade_id": "T1", "client_oid": "hp1x1", "inst": btc.id, "side": 1,
            "px": 500000, "sz": 1000, "fee": 0.5, "is_maker": False, "ts_ms": 0}
    store.put("fill", fill)
    store.put("fill", fill)
    store.put("event", {"type": "x"})
    await store.flush()
    assert await store.count("fills") == 1
    snap = await store.load()
    assert snap.orders[0]["status"] == "filled" and snap.positions[0]["sz"] == 1000
    assert await store.next_session() == 1 and await store.next_session() == 2
    await store.set_meta("a", "b")
    assert await store.get_meta("a") == "b"
    await store.close()
    # a second namespace does not see the first one
    other = await open_store(redis_url + "?prefix=hp:b:")
    assert (await other.load()).orders == []
    await other.close()


async def test_budget_lease_and_expiry(redis_url):
    a = RiskBudget(redis_url, "g", "A", limit=1000, slice_=600, ttl_ms=300, renew_s=10)
    b = RiskBudget(redis_url, "g", "B", limit=1000, slice_=600, ttl_ms=300, renew_s=10)
    await a.start()
    await b.start()
    assert a.granted == 600 and b.granted == 400           # B gets only what A left
    assert a.try_spend(600) and not a.try_spend(1)
    assert b.try_spend(400) and not b.try_spend(1)
    a.release(600)
    await a.renew()                                        # A shrinks to used + slice capped by limit-B
    assert a.granted == 600
    # a holder that stops renewing (frozen process) loses its lease locally and on the server
    for x in (a, b):
        x._task.cancel()
    await asyncio.sleep(0.35)
    assert not b.try_spend(1)                              # expired locally (even though granted)
    c = RiskBudget(redis_url, "g", "C", limit=1000, slice_=1000, ttl_ms=300, renew_s=10)
    await c.start()
    assert c.granted == 1000, (await c.r.hgetall(c.k_leases), a.renewals, b.renewals, b._task)  # A and B leases expired on the server
    for x in (a, b, c):
        await x.stop()
    with pytest.raises(ValueError):
        RiskBudget(redis_url, "g", "D", limit=0, slice_=1)


async def test_two_processes_never_exceed_limit(redis_url):
    limit = 10_000
    # the children need nothing from this loop: blocking it while they run is fine
    procs = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "_budget_child.py"), redis_url,  # noqa: ASYNC220
                               name, str(limit), "2.0"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
             for name in ("bot1", "bot2")]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    r = aioredis.Redis.from_url(redis_url)
    peak = int(await r.get("hp:test:max"))
    final = int(await r.get("hp:test:actual"))
    await r.aclose()
    spent = [int(o.split("spent=")[1].split()[0]) for o in outs]
    assert final == 0
    assert 0 < peak <= limit, (peak, outs)
    assert all(s > limit for s in spent), outs              # both really traded through the budget


async def test_router_on_redis_store_survives_restart(redis_url, tmp_path):
    """The Router persists into Redis and a restarted Router reloads and reconciles from it."""
    from engine.sim.server import SimExchange

    from _router_util import assert_matches_exchange, make_router, settle, sim_config
    url = redis_url + "?prefix=hp:bot:"
    async with SimExchange(sim_config("binance_usdm")) as ex:
        store = await open_store(url)
        r = make_router(ex, "binance_usdm", store, recv_window_ms=1000)
        await r.start()
        bids, _ = ex.true_book("binance_usdm", "BTCUSDT", 1)
        bid = int(round(float(bids[0][0]) * 10))
        o = await r.place(0, 1, 100, bid - 10)
        m = await r.place(0, 1, 10, ord_type=2)
        await settle(r, lambda: o.status == NEW and m.status == "filled")
        await settle(r)
        s1 = r.session
        await r.stop()
        await store.close()
        ex.venue("binance_usdm").engine.cancel("BTCUSDT", client_id=o.client_oid)
        store = await open_store(url)
        r2 = make_router(ex, "binance_usdm", store, recv_window_ms=1000)
        await r2.start()
        assert r2.session == s1 + 1
        assert r2.state.get(o.client_oid).status == "canceled"
        assert r2.state.positions[0].sz == 10 and len(r2.state.fill_ids) >= 1
        await settle(r2)
        assert_matches_exchange(ex, "binance_usdm", r2)
        await r2.stop()
        assert await store.count("fills") == len(r2.state.fill_ids)
        await store.close()


async def test_two_routers_share_a_global_exposure_budget(redis_url, tmp_path):
    """Two routers (two bots) lease one global exposure limit from Redis: together their open
    orders never exceed it; what one gives back the other can use."""
    from engine.sim.server import SimExchange

    from _router_util import make_router, settle, sim_config
    limit = 150_000                              # 1500.00 USDT in cents
    async with SimExchange(sim_config("binance_usdm")) as ex:
        bids, _ = ex.true_book("binance_usdm", "BTCUSDT", 1)
        px = int(round(float(bids[0][0]) * 10)) - 100          # resting, ~499.9 USDT per 0.01 BTC
        routers, budgets, stores = [], [], []
        for name in ("A", "B"):
            b = RiskBudget(redis_url, "gross", name, limit=limit, slice_=limit // 10, ttl_ms=1000,
                           renew_s=0.05)
            await b.start()
            store = await open_store(f"sqlite:///{tmp_path}/{name}.db")
            r = make_router(ex, "binance_usdm", store, budget=b, recv_window_ms=1000)
            await r.start()
            routers.append(r)
            budgets.append(b)
            stores.append(store)
        placed = {0: [], 1: []}
        for _ in range(12):                      # both keep asking; the budget decides
            for i, r in enumerate(routers):
                o = await r.place(0, 1, 10, px)
                if o is not None:
                    placed[i].append(o)
                await asyncio.sleep(0.03)
        for r in routers:
            await settle(r)
        open_notional = sum(o.px / 10 * o.qty / 1000 for o in ex.orders("binance_usdm") if o.is_open)
        assert open_notional * 100 <= limit, open_notional
        assert len(placed[0]) >= 1 and len(placed[1]) >= 1
        assert sum(r.local_rejects.get("global_budget", 0) for r in routers) > 0
        # A cancels everything: its budget returns and B can use it after the next renewals
        await routers[0].cancel_all()
        await settle(routers[0], lambda: not routers[0].state.open_orders())
        assert budgets[0].used == 0
        got = 0
        for _ in range(40):
            o = await routers[1].place(0, 1, 10, px)
            got += o is not None
            if got >= 2:
                break
            await asyncio.sleep(0.05)
        assert got >= 2
        await settle(routers[1])
        open_notional = sum(o.px / 10 * o.qty / 1000 for o in ex.orders("binance_usdm") if o.is_open)
        assert open_notional * 100 <= limit
        for r, b, s in zip(routers, budgets, stores, strict=True):
            await r.stop()
            await b.stop()
            await s.close()
