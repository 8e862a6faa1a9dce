# SPDX-License-Identifier: Apache-2.0
"""A small real trading program for tests/test_crash.py: Router + SQLite store against a sim venue.

Usage: _crash_child.py <endpoints-json> <api_key> <secret> <db path> <seed> <venue> <passphrase>
                       <instrument-json>
``<instrument-json>`` is the venue's instrument as the sim configures it (``SymbolSpec`` fields:
symbol, tick_size, lot_size, min_qty, contract_mult, start_price). Prints READY once
``router.ready()`` returned (store reloaded, venue reconciled), then trades random limit / market /
IOC / post-only orders, cancels and amends (on spot, which has no amend: cancel + new order) until
it is killed (-9). Prices are whole ticks around the start price, sizes multiples of ``size_unit``."""
from __future__ import annotations

import asyncio
import random
import sys
from decimal import Decimal
from typing import Any

import orjson

from engine.instruments import InstrumentTable, Venue
from engine.router import Router, VenueConfig
from engine.store import open_store

UNIT_NOTIONAL = Decimal(50)        # quote value of one size unit at the start price


def size_unit(spec: dict[str, Any]) -> int:
    """Lots per size unit: about UNIT_NOTIONAL of quote at the start price (1 lot of 0.001 BTC on
    the linear BTCUSDT venues, 10 lots of 0.01 contracts on OKX, 100 lots of 0.00001 on spot)."""
    lot_value = Decimal(spec["start_price"]) * Decimal(spec["lot_size"]) * Decimal(spec["contract_mult"])
    return max(1, int(UNIT_NOTIONAL / lot_value))


async def main() -> None:
    endpoints = orjson.loads(sys.argv[1])
    key, secret, db, seed = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    v, passphrase, spec = sys.argv[6], sys.argv[7], orjson.loads(sys.argv[8])
    t = InstrumentTable()
    ins = t.add(Venue.parse(v), spec["symbol"], spec["tick_size"], spec["lot_size"],
                min_qty=spec["min_qty"], contract_mult=float(Decimal(spec["contract_mult"])))
    tick = ins.tick_units
    q = ins.lot_units * size_unit(spec)
    mid = ins.px_to_units(spec["start_price"]) // tick * tick
    can_amend = ins.venue != Venue.BINANCE_SPOT
    store = await open_store(f"sqlite:///{db}")
    rnd = random.Random(seed)
    r = Router(t, store, {v: VenueConfig(endpoints, key, secret, passphrase)}, use_ws=rnd.random() < 0.6,
               recv_window_ms=1000, order_timeout_s=0.5)
    await r.start()
    await r.ready()
    print("READY", r.session, flush=True)
    while True:
        x = rnd.random()
        side = rnd.choice((1, -1))
        if x < 0.35:
            await r.place(ins.id, side, rnd.randint(1, 20) * q, mid - side * rnd.randint(1, 30) * tick)
        elif x < 0.5:
            await r.place(ins.id, side, rnd.randint(1, 5) * q, ord_type=2)
        elif x < 0.6:
            await r.place(ins.id, side, rnd.randint(1, 10) * q, mid + side * 5 * tick, tif=2)
        elif x < 0.65:
            await r.place(ins.id, side, rnd.randint(1, 10) * q, mid - side * 50 * tick, tif=4)
        elif x < 0.85:
            live = r.state.open_orders()
            if live:
                await r.cancel(rnd.choice(live).client_oid)
        elif x < 0.92:
            live = [o for o in r.state.open_orders() if o.status == "new"]
            if live:
                o = rnd.choice(live)
                if can_amend:
                    await r.amend(o.client_oid, o.px - o.side * tick, o.sz)
                else:
                    await r.cancel(o.client_oid)
                    await r.place(ins.id, o.side, o.sz, o.px - o.side * tick)
        elif x < 0.95:
            await r.cancel_all()
        await asyncio.sleep(rnd.uniform(0.0, 0.01))


if __name__ == "__main__":
    asyncio.run(main())
