# SPDX-License-Identifier: Apache-2.0
"""Bounded soak: 4 venues x 5 instruments on one loop, random faults from the simulated exchange
for HOTPATH_SOAK_SECONDS (default 40 s; 600 for the 10-minute run), then every book must equal
the sim's true book with no crash."""
from __future__ import annotations

import asyncio
import os
import random
import time

import pytest

from engine.sim.server import SimExchange
from engine.sim.venues import VENUE_CLASSES

from test_feed_sim import FAST, Harness, sim_cfg

SOAK_S = float(os.environ.get("HOTPATH_SOAK_SECONDS", "40"))
VENUES = ["binance_usdm", "bybit", "okx", "bitget"]


@pytest.mark.slow
async def test_soak_random_faults_books_equal_true_books() -> None:
    missing = [v for v in VENUES if v not in VENUE_CLASSES]
    if missing:
        pytest.fail(f"sim venues not implemented: {missing}")
    cfg = sim_cfg(VENUES, n_symbols=5, rate=30.0)
    rng = random.Random(int(os.environ.get("HOTPATH_SOAK_SEED", "5")))
    injected: list[tuple[str, str]] = []
    async with SimExchange(cfg) as ex:
        h = Harness(ex, cfg, ["bbo", "trades", "depth"], FAST)
        async with h.fm:
            await h.all_match(timeout=20)
            t_end = time.monotonic() + SOAK_S
            while time.monotonic() < t_end:
                key = rng.choice(VENUES)
                sym = rng.choice(cfg.venue(key).symbols).symbol
                faults = ["gap", "drop", "silent", "garbage", "delay", "reorder"]
                if key in ("okx", "bitget"):
                    faults.append("bad_checksum")
                f = rng.choice(faults)
                params = {"gap": {"symbol": sym}, "bad_checksum": {"symbol": sym}, "drop": {"target": "public"},
                          "silent": {"target": "public", "seconds": rng.uniform(0.5, 3.0)},
                          "garbage": {"count": rng.randint(1, 5)}, "delay": {"ms": 30, "count": 10},
                          "reorder": {"count": 1}}[f]
                ex.inject(key, f, **params)
                injected.append((key, f))
                await asyncio.sleep(rng.uniform(0.2, 1.5))
            for key in VENUES:
                ex.clear_faults(key)
            await h.all_match(timeout=30)
            st = h.fm.status()
    resyncs = sum(c["resyncs"] for c in st["instruments"].values())
    reconnects = sum(c["reconnects"] for c in st["conns"])
    print(f"\nsoak {SOAK_S:.0f}s: {len(injected)} faults, {resyncs} resyncs, {reconnects} reconnects, "
          f"{st['cold_frames']} cold frames, {h.pipe.stats['hot']} hot frames")
    assert len(injected) >= SOAK_S / 1.5
    assert resyncs > 0
