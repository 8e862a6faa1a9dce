# SPDX-License-Identifier: Apache-2.0
"""A small real trading program for tests/test_crash.py: Router + SQLite store against a sim venue.

Usage: _crash_child.py <endpoints-json> <api_key> <secret> <db path> <seed> [<venue> <passphrase>]
(venue binance_usdm by default; BTCUSDT with tick 0.1 and lot 0.001 on every venue it supports)
Prints READY once ``router.ready()`` returned (store reloaded, venue reconciled), then trades
random limit / market / IOC / post-only orders, cancels and amends until it is killed (-9)."""
from __future__ import annotations

import asyncio
import random
import sys

import orjson

from engine.instruments import InstrumentTable, Venue
from engine.router import Router, VenueConfig
from engine.store import open_store



async def main() -> None:
    endpoints = orjson.loads(sys.argv[1])
    key, secret, db, seed = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    v = sys.argv[6] if len(sys.argv) > 6 else "binance_usdm"
    passphrase = sys.argv[7] if len(sys.argv) > 7 else ""
    t = InstrumentTable()
    t.add(Venue.parse(v), "BTCUSDT", "0.10", "0.001", min_qty="0.001")
    store = await open_store(f"sqlite:///{db}")
    rnd = random.Random(seed)
    r = Router(t, store, {v: VenueConfig(endpoints, key, secret, passphrase)}, use_ws=rnd.random() < 0.6,
               recv_window_ms=1000, order_timeout_s=0.5)
    await r.start()
    await r.ready()
    print("READY", r.session, flush=True)
    mid = 500000                                   # 50000.0 in price units of 0.1
    while True:
        x = rnd.random()
        side = rnd.choice((1, -1))
        if x < 0.35:
            await r.place(0, side, rnd.randint(1, 20), mid - side * rnd.randint(1, 30))
        elif x < 0.5:
            await r.place(0, side, rnd.randint(1, 5), ord_type=2)
        elif x < 0.6:
            await r.place(0, side, rnd.randint(1, 10), mid + side * 5, tif=2)
        elif x < 0.65:
            await r.place(0, side, rnd.randint(1, 10), mid - side * 50, tif=4)
        elif x < 0.85:
            live = r.state.open_orders()
            if live:
                await r.cancel(rnd.choice(live).client_oid)
        elif x < 0.92:
            live = [o for o in r.state.open_orders() if o.status == "new"]
            if live:
                o = rnd.choice(live)
                await r.amend(o.client_oid, o.px - o.side, o.sz)
        elif x < 0.95:
            await r.cancel_all()
        await asyncio.sleep(rnd.uniform(0.0, 0.01))


if __name__ == "__main__":
    asyncio.run(main())
