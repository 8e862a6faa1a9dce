# SPDX-License-Identifier: Apache-2.0
"""``hotpath record`` backend against the simulated exchange, then replay of the recording through
the compiled Pipeline into books equal to what the sim published."""
from __future__ import annotations

import orjson

from engine.exchanges import make_adapter, sim_endpoints
from engine.instruments import InstrumentTable, Venue
from engine.recorder import KIND_SENT, KIND_SNAPSHOT, KIND_TEXT, read, read_header, record, replay_into
from engine.sim.config import SimConfig, VenueSpec
from engine.sim.server import SimExchange

from _feed_util import RefBook, build_pipeline, same_levels


async def test_record_then_replay(tmp_path) -> None:
    cfg = SimConfig(venues=[VenueSpec("binance_usdm")], quote_rate=50.0, depth_levels=20)
    t = InstrumentTable()
    for s in cfg.venue("binance_usdm").symbols[:1]:
        t.add(Venue.BINANCE_USDM, s.symbol, s.tick_size, s.lot_size)
    out = tmp_path / "sim.hprec"
    async with SimExchange(cfg) as ex:
        adapters = {Venue.BINANCE_USDM: make_adapter("binance_usdm", endpoints=sim_endpoints(ex, "binance_usdm"))}
        n = await record(adapters, list(t), ["bbo", "depth"], out, seconds=1.0)
        true_bids, true_asks = ex.true_book("binance_usdm", "BTCUSDT")
    recs = list(read(out))
    assert n == len(recs) > 20
    assert read_header(out)["instruments"] == [["binance_usdm", "BTCUSDT"]]
    kinds = [r.kind for r in recs]
    assert kinds.count(KIND_SNAPSHOT) == 1 and KIND_TEXT in kinds
    assert all(r.recv_ns > 0 for r in recs)
    assert KIND_SENT not in kinds               # Binance subscribes through the URL
    pipe, books, ctx = build_pipeline(t)
    stats = replay_into(pipe, out, {(2, "BTCUSDT"): books[0]})
    assert stats.snapshots == 1 and not stats.errors and stats.hot > 0
    book = books[0]
    assert book.valid and ctx.top(0)["valid"]
    # reference: the documented USD-M procedure applied to the recorded strings
    ref = RefBook()
    last = None
    for r in recs:
        if r.kind == KIND_SNAPSHOT:
            snap = orjson.loads(r.payload.split(b"\n", 1)[1])
            ref.snapshot(snap["bids"], snap["asks"])
            last = snap["lastUpdateId"]
        elif r.kind == KIND_TEXT and last is not None:
            d = orjson.loads(r.payload)["data"]
            if d.get("e") == "depthUpdate" and d["u"] >= last:
                ref.update(d["b"], d["a"])
    gb, ga = book.top(1000)
    rb, ra = ref.top(1000)
    assert gb and same_levels(gb, rb) and same_levels(ga, ra)
    assert len(true_bids) == len(gb)            # same depth as the sim publishes
