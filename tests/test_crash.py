# SPDX-License-Identifier: Apache-2.0
"""Crash test: kill -9 a real trading process (tests/_crash_child.py) at random points, restart it,
and check that the store and the venue agree: every fill the sim reports is in the store exactly
once (fills made while the bot was dead are recovered from the venue's trade list by trade id),
positions match (spot: the position is the net filled base quantity of the venue's fills, and the
venue's base balance moved by exactly that minus its base-asset fees), and no client order id was
used twice on the venue. Runs on every venue kind the router supports, each on its own BTC
instrument from the sim's config (tick, lot, min qty, contract size)."""
from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from engine.sim.config import SymbolSpec
from engine.sim.server import SimExchange
from engine.store import open_store

from _crash_child import size_unit
from _router_util import make_router, settle, sim_config, sim_trade_id

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
KILLS = 22
# every venue kind the router supports; each one recovers missed fills differently (Binance
# fromId/startTime on futures and spot, Bybit execId + cursor, OKX billId paging with client ids,
# Bitget idLessThan without client ids). The child trades the venue's first (BTC) instrument.
CRASH_VENUES = ["binance_usdm", "bybit", "bitget", "okx", "binance_spot"]


def _instrument(ex, V: str) -> SymbolSpec:
    return ex.config.venue(V).symbols[0]


def _spec_json(s: SymbolSpec) -> str:
    return orjson.dumps({"symbol": s.symbol, "tick_size": s.tick_size, "lot_size": s.lot_size,
                         "min_qty": s.min_qty, "contract_mult": s.contract_mult,
                         "start_price": s.start_price}).decode()


async def _spawn(ex, V: str, db: Path, seed: int) -> asyncio.subprocess.Process:
    key, secret, pp = ex.credentials(V)
    return await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests" / "_crash_child.py"), orjson.dumps(ex.endpoints(V)).decode(),
        key, secret, str(db), str(seed), V, pp, _spec_json(_instrument(ex, V)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)})


def _sweep_through(ex, V: str, sym: str, o) -> None:
    """A market trade that takes the book up to and including the price of our resting ``o``
    (the published book includes our orders), so ``o`` fills while no bot is running."""
    m = ex.venue(V).engine.markets[sym]
    px = Decimal(m.px_str(o.px))
    bids, asks = ex.true_book(V, sym, 1000)
    if o.side == "BUY":
        qty = sum(Decimal(q) for p, q in bids if Decimal(p) >= px)
    else:
        qty = sum(Decimal(q) for p, q in asks if Decimal(p) <= px)
    ex.market_trade(V, sym, "SELL" if o.side == "BUY" else "BUY", str(qty))


@pytest.mark.parametrize("V", CRASH_VENUES)
async def test_kill9_loop_store_equals_exchange(tmp_path, V):
    cfg = sim_config(V, weight_limit_1m=10_000_000, order_limit_10s=1_000_000,
                     order_limit_1m=10_000_000)
    rnd = random.Random(7)
    db = tmp_path / "crash.db"
    async with SimExchange(cfg) as ex:
        spec = _instrument(ex, V)
        sym = spec.symbol
        # the market's own trades: 10 of the child's size units (0.01 BTC on every venue)
        tq = str(Decimal(spec.lot_size) * size_unit(vars(spec)) * 10)
        sessions = []
        for i in range(KILLS):
            p = await _spawn(ex, V, db, i)
            line = await asyncio.wait_for(p.stdout.readline(), 30)
            if not line.startswith(b"READY"):
                err = await p.stderr.read()
                pytest.fail(f"child {i} did not start: {line!r} {err.decode()[-2000:]}")
            sessions.append(int(line.split()[1]))
            # trade for a random time while the market fills resting orders now and then
            end = asyncio.get_running_loop().time() + rnd.uniform(0.05, 0.6)
            while asyncio.get_running_loop().time() < end:
                if rnd.random() < 0.3:
                    ex.market_trade(V, sym, rnd.choice(("BUY", "SELL")), tq)
                await asyncio.sleep(0.02)
            p.kill()                                     # SIGKILL at a random point
            await p.wait()
            resting = [o for o in ex.orders(V) if o.is_open and o.client_id.startswith("hp")]
            if resting and rnd.random() < 0.7:           # fills while we are dead
                _sweep_through(ex, V, sym, rnd.choice(resting))
        assert sessions == sorted(set(sessions)), "session counter must grow at every start"
        # final restart in-process: reload + reconcile, then compare with the exchange
        store = await open_store(f"sqlite:///{db}")
        r = make_router(ex, V, store, recv_window_ms=1000, order_timeout_s=0.5)
        await r.start()
        await r.ready()
        await settle(r, timeout=10)
        venue_orders = [o for o in ex.orders(V) if o.client_id.startswith("hp")]
        ids = [o.client_id for o in venue_orders]
        assert len(ids) > 50, "the children should have traded"
        assert len(ids) == len(set(ids)), "duplicate client order id on the venue"
        sim_fills = {sim_trade_id(V, f): f for f in ex.fills(V)
                     if f.order.symbol == sym and f.order.client_id.startswith("hp")}
        assert len(sim_fills) > 10
        db_rows = sqlite3.connect(db).execute("SELECT venue, trade_id, sz FROM fills").fetchall()
        stored = [t for _, t, _ in db_rows]
        assert len(stored) == len(set(stored))                      # exactly once (also a PK)
        assert set(stored) <= set(sim_fills), "a stored fill the venue never reported"
        missing = set(sim_fills) - set(stored)
        st = r.status()["venues"][V]
        assert st["trade_list"], "the venue's trade list must be used to recover missed fills"
        assert not missing, f"{len(missing)} fills missing: {sorted(missing)[:10]}"
        assert st["fills_missing"] == 0
        recovered = sum(1 for e in r.events if e["type"] == "missed_fill")
        # every start of a child logged the fills it took from the trade list (persisted events)
        recovered_all = sqlite3.connect(db).execute(
            "SELECT COUNT(*) FROM events WHERE type='missed_fill'").fetchone()[0]
        assert recovered_all > 0, "no fill was recovered from the trade list: the path did not run"
        # the position is the net of the venue's fills (size units) on every venue ...
        net = sum(f.qty if f.order.side == "BUY" else -f.qty for f in sim_fills.values())
        assert r.state.positions[0].sz == net, (r.state.positions[0].sz, net)
        # ... and equals the venue's own position (position_diff = overwritten from the venue's
        # position list, reported); spot has none: the venue's base balance moved by exactly the
        # net filled quantity minus the fees it charged in the base asset
        pos_diffs = sum(1 for e in r.events if e["type"] == "position_diff")
        want = net
        if V == "binance_spot":
            m = ex.venue(V).engine.markets[sym]
            base_fees = sum(f.fee for f in sim_fills.values() if f.fee_asset == spec.base)
            start = Decimal(ex.config.venue(V).balances[spec.base])
            assert ex.balances(V)[spec.base]["total"] == start + m.sz_dec(net) - base_fees
        else:
            pos = ex.positions(V)
            want = pos[sym].amt if sym in pos else 0
            assert r.state.positions[0].sz == want
        # every order the venue knows and we know has the venue's state
        for o in venue_orders:
            lo = r.state.get(o.client_id)
            if lo is None:
                assert not o.is_open, f"open venue order {o.client_id} unknown after reconcile"
                continue
            assert lo.filled_sz == o.filled, o.client_id
            ok = {o.status.lower()}
            if not V.startswith("binance") and ok & {"expired", "canceled"}:
                ok = {"expired", "canceled"}        # these venues report both as cancelled
            assert lo.status in ok, (o.client_id, lo.status, o.status)
        assert not [o for o in r.state.orders.values() if o.status == "unknown"]
        await r.stop()                                   # flushes the store
        row = sqlite3.connect(db).execute("SELECT sz FROM positions WHERE inst=0").fetchone()
        assert row is not None and row[0] == want        # the persisted position too
        print(f"{V}: kills={KILLS} venue_orders={len(ids)} fills={len(sim_fills)} stored={len(stored)} "
              f"missing={len(missing)} recovered={recovered_all} (final start {recovered}) position_diffs={pos_diffs}")
        await store.close()
