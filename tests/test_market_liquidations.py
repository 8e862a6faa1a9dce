# SPDX-License-Identifier: Apache-2.0
"""Liquidations and open interest into the shared context.

* decode: Binance USD-M ``forceOrder`` (real fixture), Bybit ``allLiquidation`` and OKX
  ``liquidation-orders`` (documented shapes) give signed liquidations; bad ones are errors, not data.
* end to end against the sim: an injected forced order lands in ctx slow[inst][ENG_SIG_LIQUIDATION]
  as signed quote notional (+ shorts liquidated, - longs liquidated, OKX contracts x ctVal) with a
  timestamp, and is counted in FeedManager.status(); OKX ``open-interest`` and Bybit ``tickers``
  openInterest reach ENG_SIG_OPEN_INTEREST / ENG_SIG_OI_CHANGE through the feeds, Binance USD-M
  open interest through the REST poll of engine.signals_bg."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import orjson
import pytest

from engine.exchanges import make_adapter, sim_endpoints
from engine.exchanges.base import SIG_LIQUIDATION, SIG_OI_CHANGE, SIG_OPEN_INTEREST, Liquidation
from engine.feed import FeedConfig, FeedManager
from engine.instruments import InstrumentTable, Venue
from engine.sim.config import SimConfig, VenueSpec
from engine.sim.server import SimExchange

from _feed_util import build_pipeline

FAST = FeedConfig(backoff_base_s=0.05, backoff_cap_s=0.5, conn_stale_ms=3000, book_stale_ms=20_000,
                  resync_timeout_s=1.5, watchdog_interval_s=0.02, seed=3)


# ---------------------------------------------------------------------------------------- decode
def test_slot_matches_header() -> None:
    from engine import signals_bg
    h = open(__file__.rsplit("/tests/", 1)[0] + "/include/engine/types.h").read()
    assert "ENG_SIG_LIQUIDATION = 7," in h and "ENG_SIG_USER0 = 8," in h
    assert SIG_LIQUIDATION == signals_bg.SIG_LIQUIDATION == 7


def test_binance_force_order_fixture(fixtures_dir: Any) -> None:
    ad = make_adapter("binance_usdm")
    raw = (fixtures_dir / "binance/nautilus/futures/market_data_json/liquidation_stream.json").read_bytes()
    c = ad.parse_cold(raw)
    assert (c.kind, c.channel, c.symbol) == ("data", "liquidations", "BTCUSDT")
    # SELL order = a long was liquidated; the filled quantity at the average price counts
    assert c.liquidations == [Liquidation("BTCUSDT", -0.014, 9910.12345678, 1568014460893)]
    # same frame on the combined stream, not yet filled: order quantity at the order price
    d = orjson.loads(raw)
    d["o"].update(S="BUY", z="0", ap="0", l="0", X="NEW")
    c = ad.parse_cold(orjson.dumps({"stream": "btcusdt@forceOrder", "data": d}))
    assert c.liquidations == [Liquidation("BTCUSDT", 0.014, 9910.0, 1568014460893)]


@pytest.mark.parametrize("patch", [{"S": "HOLD"}, {"q": "NaN", "z": "0"}, {"q": "-1", "z": "0"},
                                   {"s": ""}, {"p": "abc", "z": "0"}])
def test_binance_force_order_malformed(fixtures_dir: Any, patch: dict[str, str]) -> None:
    d = orjson.loads((fixtures_dir / "binance/nautilus/futures/market_data_json/liquidation_stream.json")
                     .read_bytes())
    d["o"].update(patch)
    c = make_adapter("binance_usdm").parse_cold(orjson.dumps(d))
    assert c.kind == "error" and not c.liquidations
    assert make_adapter("binance_usdm").parse_cold(b'{"e":"forceOrder","E":1,"o":[1]}').kind == "error"


BYBIT_ALL_LIQ = {"topic": "allLiquidation.ROSEUSDT", "type": "snapshot", "ts": 1739502303204,
                 "data": [{"T": 1739502302929, "s": "ROSEUSDT", "S": "Sell", "v": "20000", "p": "0.04499"},
                          {"T": 1739502302930, "s": "ROSEUSDT", "S": "Buy", "v": "10", "p": "0.045"}]}


def test_bybit_all_liquidation() -> None:
    c = make_adapter("bybit").parse_cold(orjson.dumps(BYBIT_ALL_LIQ))
    assert (c.kind, c.channel, c.symbol) == ("data", "liquidations", "ROSEUSDT")
    # S is the liquidated POSITION's side: Sell = a short was liquidated (forced buy, +)
    assert c.liquidations == [Liquidation("ROSEUSDT", 20000.0, 0.04499, 1739502302929),
                              Liquidation("ROSEUSDT", -10.0, 0.045, 1739502302930)]
    bad = dict(BYBIT_ALL_LIQ, data=[{"T": 1, "s": "ROSEUSDT", "S": "Sell", "v": "inf", "p": "1"}])
    assert make_adapter("bybit").parse_cold(orjson.dumps(bad)).kind == "error"
    bad = dict(BYBIT_ALL_LIQ, data=[{"T": 1, "s": "ROSEUSDT", "S": "Long", "v": "1", "p": "1"}])
    assert make_adapter("bybit").parse_cold(orjson.dumps(bad)).kind == "error"


OKX_LIQ = {"arg": {"channel": "liquidation-orders", "instType": "SWAP"},
           "data": [{"details": [{"bkLoss": "0", "bkPx": "0.007831", "ccy": "", "posSide": "short", "side": "buy",
                                  "sz": "13", "ts": "1692266434010"},
                                 {"bkLoss": "0", "bkPx": "0.0078", "ccy": "", "posSide": "long", "side": "sell",
                                  "sz": "2", "ts": "1692266434011"}],
                     "instFamily": "IOST-USDT", "instId": "IOST-USDT-SWAP", "instType": "SWAP", "uly": "IOST-USDT"}]}


def test_okx_liquidation_orders_and_open_interest() -> None:
    ad = make_adapter("okx")
    c = ad.parse_cold(orjson.dumps(OKX_LIQ))
    assert (c.kind, c.channel, c.symbol) == ("data", "liquidations", "")
    assert c.liquidations == [Liquidation("IOST-USDT-SWAP", 13.0, 0.007831, 1692266434010),
                              Liquidation("IOST-USDT-SWAP", -2.0, 0.0078, 1692266434011)]
    bad = orjson.loads(orjson.dumps(OKX_LIQ))
    bad["data"][0]["details"][0]["sz"] = "0"
    assert ad.parse_cold(orjson.dumps(bad)).kind == "error"
    oi = {"arg": {"channel": "open-interest", "instId": "LTC-USD-SWAP"},
          "data": [{"instId": "LTC-USD-SWAP", "instType": "SWAP", "oi": "5000", "oiCcy": "555.55",
                    "oiUsd": "50000", "ts": "1597026383085"}]}
    c = ad.parse_cold(orjson.dumps(oi))
    assert c.channel == "oi" and c.signals == [("LTC-USD-SWAP", SIG_OPEN_INTEREST, 5000.0)]


# ---------------------------------------------------------------------------------- end to end
async def until(cond: Callable[[], Any], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Rig:
    """The sim with binance_usdm, bybit and okx; the first symbol of each is followed."""

    KEYS = ("binance_usdm", "bybit", "okx")
    CHANNELS = {"binance_usdm": ["trades", "liquidations"], "bybit": ["trades", "oi", "liquidations"],
                "okx": ["trades", "oi", "liquidations"]}

    def __init__(self, ex: SimExchange, cfg: SimConfig) -> None:
        self.ex = ex
        self.table = InstrumentTable()
        for spec in cfg.venues:
            s = spec.symbols[0]
            self.table.add(Venue.parse(spec.key), s.symbol, s.tick_size, s.lot_size,
                           category="linear" if spec.key == "bybit" else "",
                           contract_mult=float(s.contract_mult))
        self.pipe, _books, self.ctx = build_pipeline(self.table, with_books=False)
        adapters = {Venue.parse(k): make_adapter(k, endpoints=sim_endpoints(ex, k)) for k in self.KEYS}
        self.fm = FeedManager(self.pipe, [(i, self.CHANNELS[i.venue.key]) for i in self.table], adapters,
                              ctx=self.ctx, config=FAST)

    def inst(self, key: str) -> Any:
        return next(i for i in self.table if i.venue.key == key)

    async def subscribed(self, key: str, topic: str) -> None:
        await until(lambda: self.ex.venue(key).subs.get(topic), what=f"{key} subscription {topic}")


def sim_cfg() -> SimConfig:
    return SimConfig(venues=[VenueSpec(k) for k in Rig.KEYS], seed=5, quote_rate=20.0, depth_levels=10)


async def test_liquidations_reach_ctx_end_to_end() -> None:
    cfg = sim_cfg()
    async with SimExchange(cfg) as ex:
        r = Rig(ex, cfg)
        async with r.fm:
            b, y, o = r.inst("binance_usdm"), r.inst("bybit"), r.inst("okx")
            await r.subscribed("binance_usdm", b.symbol.lower() + "@forceOrder")
            await r.subscribed("bybit", "allLiquidation." + y.symbol)
            await r.subscribed("okx", "liquidation-orders:SWAP")
            t0 = time.monotonic_ns()
            for i in (b, y, o):
                assert r.ctx.slow(i.id, SIG_LIQUIDATION) == (0.0, 0)

            # a forced SELL = a long was liquidated: negative notional
            ex.liquidation("binance_usdm", b.symbol, "SELL", "0.5", "50000")
            await until(lambda: r.ctx.slow(b.id, SIG_LIQUIDATION)[1], what="binance liquidation")
            v, ts = r.ctx.slow(b.id, SIG_LIQUIDATION)
            assert v == pytest.approx(-25_000.0) and ts >= t0

            # Bybit: a forced BUY (short liquidated; the frame says S=Sell): positive
            ex.liquidation("bybit", y.symbol, "BUY", "0.2", "51000")
            await until(lambda: r.ctx.slow(y.id, SIG_LIQUIDATION)[1], what="bybit liquidation")
            assert r.ctx.slow(y.id, SIG_LIQUIDATION)[0] == pytest.approx(10_200.0)

            # OKX: 3 contracts x ctVal 0.01 x 50000 = 1500, longs liquidated
            ex.liquidation("okx", o.symbol, "SELL", "3", "50000")
            await until(lambda: r.ctx.slow(o.id, SIG_LIQUIDATION)[1], what="okx liquidation")
            assert r.ctx.slow(o.id, SIG_LIQUIDATION)[0] == pytest.approx(-1500.0)
            # the channel carries every SWAP: an instrument we do not follow is counted, not written
            other = cfg.venues[2].symbols[1].symbol
            ex.liquidation("okx", other, "BUY", "1")
            await until(lambda: r.fm.status()["liquidations_other"] == 1, what="okx other liquidation")

            # a later one overwrites the slot (last liquidation), with a newer timestamp
            ts_before = r.ctx.slow(b.id, SIG_LIQUIDATION)[1]
            ex.liquidation("binance_usdm", b.symbol, "BUY", "0.1", "49000")
            await until(lambda: r.ctx.slow(b.id, SIG_LIQUIDATION)[1] > ts_before, what="second liquidation")
            assert r.ctx.slow(b.id, SIG_LIQUIDATION)[0] == pytest.approx(4_900.0)

            st = r.fm.status()
            assert st["liquidations"] == 4
            ins = st["instruments"]
            assert ins[f"binance_usdm:{b.symbol}"]["liquidations"] == 2
            assert ins[f"bybit:{y.symbol}"]["liquidations"] == 1
            assert ins[f"okx:{o.symbol}"]["liquidations"] == 1
            assert not any(c["errors"] for c in st["conns"])


async def test_open_interest_reaches_ctx_from_streams() -> None:
    cfg = sim_cfg()
    async with SimExchange(cfg) as ex:
        r = Rig(ex, cfg)
        async with r.fm:
            y, o = r.inst("bybit"), r.inst("okx")
            await r.subscribed("bybit", "tickers." + y.symbol)
            await r.subscribed("okx", "open-interest:" + o.symbol)
            # the lambdas below read the loop variables, but each is awaited within its own iteration
            for key, i, first, second in (("bybit", y, "1000", "1100"), ("okx", o, "250", "200")):
                ex.set_open_interest(key, i.symbol, first)
                await until(lambda: r.ctx.slow(i.id, SIG_OPEN_INTEREST)[0] == float(first),  # noqa: B023
                            what=f"{key} OI")
                await until(lambda: r.ctx.slow(i.id, SIG_OI_CHANGE)[1], what=f"{key} OI change")  # noqa: B023
                assert r.ctx.slow(i.id, SIG_OI_CHANGE)[0] == 0.0
                ex.set_open_interest(key, i.symbol, second)
                want = (float(second) - float(first)) / float(first)
                await until(lambda: r.ctx.slow(i.id, SIG_OI_CHANGE)[0] == pytest.approx(want),  # noqa: B023
                            what=f"{key} OI change {want}")
                assert r.ctx.slow(i.id, SIG_OPEN_INTEREST)[0] == float(second)
                assert r.fm.status()["instruments"][f"{key}:{i.symbol}"]["oi_updates"] >= 2


async def test_binance_usdm_open_interest_from_rest_poll() -> None:
    import aiohttp

    from engine.signals_bg import SignalHub
    from engine.strategy import Context

    cfg = SimConfig(venues=[VenueSpec("binance_usdm")], seed=5, quote_rate=5.0, depth_levels=5)
    async with SimExchange(cfg) as ex:
        t = InstrumentTable()
        s = cfg.venues[0].symbols[0]
        inst = t.add(Venue.BINANCE_USDM, s.symbol, s.tick_size, s.lot_size)
        ctx = Context()
        ctx.add_instrument(inst)
        hub = SignalHub(ctx, t)
        ex.set_open_interest("binance_usdm", s.symbol, "1234.5")
        async with aiohttp.ClientSession() as session:
            task = asyncio.create_task(hub.poll_open_interest(
                session, {"binance_usdm": ex.endpoints("binance_usdm")["rest"]}, 0.02))
            try:
                await until(lambda: ctx.slow(inst.id, SIG_OPEN_INTEREST)[0] == 1234.5, what="REST OI")
                ex.set_open_interest("binance_usdm", s.symbol, "1300")
                await until(lambda: ctx.slow(inst.id, SIG_OPEN_INTEREST)[0] == 1300.0, what="REST OI 2")
                assert ctx.slow(inst.id, SIG_OI_CHANGE)[0] == pytest.approx((1300 - 1234.5) / 1234.5)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


async def test_sim_liquidation_rejects_bad_input() -> None:
    cfg = SimConfig(venues=[VenueSpec("okx")], seed=5, quote_rate=5.0, depth_levels=5)
    async with SimExchange(cfg) as ex:
        sym = cfg.venues[0].symbols[0].symbol
        with pytest.raises(ValueError):
            ex.liquidation("okx", sym, "LONG", "1")
        with pytest.raises(ValueError):
            ex.liquidation("okx", sym, "BUY", "0")
        with pytest.raises(ValueError):
            ex.set_open_interest("okx", sym, "-1")


def test_oi_change_window() -> None:
    """ENG_SIG_OI_CHANGE compares with the OI one window ago (the last change at or before it)."""
    from engine.strategy import Context

    t = InstrumentTable()
    inst = t.add(Venue.OKX, "BTC-USDT-SWAP", "0.1", "0.01", contract_mult=0.01)
    ctx = Context()
    ctx.add_instrument(inst)
    fm = FeedManager(None, [(inst, ["oi"])], {Venue.OKX: make_adapter("okx")}, ctx=ctx,
                     config=FeedConfig(oi_change_window_s=1.0))
    f = fm.insts[inst.id]
    base, s = 10**12, 10**9
    fm._on_open_interest(f, 0.0, base)                 # unknown: no reference, nothing written
    assert ctx.slow(inst.id, SIG_OI_CHANGE) == (0.0, 0)
    fm._on_open_interest(f, 100.0, base + 1)
    fm._on_open_interest(f, 110.0, base + s // 2)
    assert ctx.slow(inst.id, SIG_OI_CHANGE) == (pytest.approx(0.1), base + s // 2)
    fm._on_open_interest(f, 120.0, base + 12 * s // 10)  # 1.2 s: OI at 0.2 s was still 100
    assert ctx.slow(inst.id, SIG_OI_CHANGE)[0] == pytest.approx(0.2)
    fm._on_open_interest(f, 120.0, base + 16 * s // 10)  # 1.6 s: OI at 0.6 s was 110
    assert ctx.slow(inst.id, SIG_OI_CHANGE)[0] == pytest.approx(120 / 110 - 1)
    assert len(f.oi_hist) == 2 and f.oi_updates == 5
