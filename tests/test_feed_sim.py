# SPDX-License-Identifier: Apache-2.0
"""FeedManager against the simulated exchange: every venue streams into verified books, and every
injected fault (gap, bad checksum, silence, disconnect, garbage, planned shutdown) heals on its own
into a valid book equal to the sim's true book, resyncing only what the fault touched."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from engine.exchanges import make_adapter, sim_endpoints
from engine.feed import FeedConfig, FeedManager
from engine.instruments import InstrumentTable, Venue
from engine.sim.config import SimConfig, SymbolSpec, VenueSpec
from engine.sim.server import SimExchange
from engine.sim.venues import VENUE_CLASSES

from _feed_util import build_pipeline, same_levels

ALL = ("binance_spot", "binance_usdm", "bybit", "okx", "bitget")
CATEGORY = {"bybit": "linear", "bitget": "USDT-FUTURES", "okx": ""}
FAST = FeedConfig(backoff_base_s=0.05, backoff_cap_s=0.5, conn_stale_ms=1500, book_stale_ms=20_000,
                  resync_timeout_s=1.5, watchdog_interval_s=0.02, seed=7)


def venues_available() -> list[str]:
    missing = [v for v in ALL if v not in VENUE_CLASSES]
    assert len(missing) < len(ALL)
    return [v for v in ALL if v in VENUE_CLASSES]


def table_for(cfg: SimConfig) -> InstrumentTable:
    t = InstrumentTable()
    for spec in cfg.venues:
        for s in spec.symbols:
            t.add(Venue.parse(spec.key), s.symbol, s.tick_size, s.lot_size, category=CATEGORY.get(spec.key, ""))
    return t


class Harness:
    def __init__(self, ex: SimExchange, cfg: SimConfig, channels: list[str], fcfg: FeedConfig,
                 strategy: Any = None, risk: Any = None, **fm_kw: Any) -> None:
        self.ex, self.cfg = ex, cfg
        self.table = table_for(cfg)
        self.pipe, self.books, self.ctx = build_pipeline(self.table, strategy=strategy, risk=risk, capacity=2000)
        adapters = {Venue.parse(v.key): make_adapter(v.key, endpoints=sim_endpoints(ex, v.key)) for v in cfg.venues}
        self.fm = FeedManager(self.pipe, [(i, channels) for i in self.table], adapters, books=self.books,
                              ctx=self.ctx, config=fcfg, **fm_kw)

    def inst(self, key: str, sym: str) -> Any:
        return self.table.get(Venue.parse(key), sym)

    def matches(self, key: str, sym: str) -> bool:
        i = self.inst(key, sym)
        b = self.books[i.id]
        if not b.valid:
            return False
        tb, ta = self.ex.true_book(key, sym)
        gb, ga = b.top(max(len(tb), len(ta)) + 5)
        return same_levels(gb, tb) and same_levels(ga, ta)

    async def all_match(self, timeout: float = 10.0) -> None:
        """Every book valid and equal to the sim's book at one instant (the market keeps moving:
        poll until a moment after a depth flush)."""
        deadline = time.monotonic() + timeout
        pending = {(v.key, s.symbol) for v in self.cfg.venues for s in v.symbols}
        while pending and time.monotonic() < deadline:
            pending = {p for p in pending if not self.matches(*p)}
            await asyncio.sleep(0.005)
        assert not pending, f"books not equal to the sim: {sorted(pending)}; {self.fm.status()['instruments']}"

    def counters(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self.fm.status()["instruments"].items()}


def sim_cfg(keys: list[str], n_symbols: int = 2, rate: float = 40.0) -> SimConfig:
    venues = []
    for k in keys:
        spec = VenueSpec(k)
        while len(spec.symbols) < n_symbols:
            n = len(spec.symbols)
            base = spec.symbols[n % 2]
            sym = (f"C{n}-USDT-SWAP" if k == "okx" else f"C{n}USDT")
            spec.symbols.append(SymbolSpec(sym, base.tick_size, base.lot_size, base.min_qty, base.min_notional,
                                           str(100 + n), base=f"C{n}", contract_mult=base.contract_mult,
                                           level_size=base.level_size, px_decimals=base.px_decimals,
                                           sz_decimals=base.sz_decimals))
        spec.symbols = spec.symbols[:n_symbols]
        venues.append(spec)
    return SimConfig(venues=venues, seed=11, quote_rate=rate, depth_levels=20, funding_interval_s=0.5)


async def test_all_venues_stream_into_verified_books() -> None:
    keys = venues_available()
    cfg = sim_cfg(keys)
    async with SimExchange(cfg) as ex:
        h = Harness(ex, cfg, ["bbo", "trades", "depth"], FAST)
        async with h.fm:
            await h.all_match()
            st = h.fm.status()
            assert all(c["up"] for c in st["conns"])
            assert {c["venue"] for c in st["conns"]} == set(keys)
            for name, c in st["instruments"].items():
                assert c["valid"] and c["gaps"] == 0 and c["checksum_failures"] == 0, (name, c)
            await asyncio.sleep(0.5)
            await h.all_match()
            assert h.pipe.stats["hot"] > 0


FAULTS = ["gap", "bad_checksum", "silent", "drop", "garbage"]
CHECKSUM_VENUES = ("okx", "bitget")   # only these venues put a checksum on their books


@pytest.mark.parametrize("key,fault", [(k, f) for f in FAULTS for k in ALL
                                       if f != "bad_checksum" or k in CHECKSUM_VENUES])
async def test_fault_heals(key: str, fault: str) -> None:
    if key not in VENUE_CLASSES:
        pytest.fail(f"sim venue {key} is not implemented")
    cfg = sim_cfg([key])
    syms = [s.symbol for s in cfg.venues[0].symbols]
    sym, other = syms[0], syms[-1]
    async with SimExchange(cfg) as ex:
        h = Harness(ex, cfg, ["bbo", "trades", "depth"], FAST)
        async with h.fm:
            await h.all_match()
            before = h.counters()
            conns_before = sum(c["reconnects"] for c in h.fm.status()["conns"])
            name, oname = f"{key}:{sym}", f"{key}:{other}"
            if fault in ("gap", "bad_checksum"):
                ex.inject(key, fault, symbol=sym)
            elif fault == "silent":
                ex.inject(key, "silent", target="public")
            elif fault == "drop":
                ex.inject(key, "drop", target="public")
            else:
                ex.inject(key, "garbage", count=5)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                c = h.counters()
                if fault == "gap" and c[name]["gaps"] > before[name]["gaps"]:
                    break
                # Bitget books carry no sequence: a lost update shows up as a checksum mismatch
                if fault == "gap" and key == "bitget" and \
                        c[name]["checksum_failures"] > before[name]["checksum_failures"]:
                    break
                if fault == "bad_checksum" and c[name]["checksum_failures"] > before[name]["checksum_failures"]:
                    break
                if fault in ("silent", "drop") and \
                        sum(x["reconnects"] for x in h.fm.status()["conns"]) > conns_before:
                    break
                if fault == "garbage" and not ex.venue(key).faults.get("garbage"):
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail(f"{fault} was not detected: {h.counters()}")
            await h.all_match(timeout=15)
            after = h.counters()
            if fault in ("gap", "bad_checksum"):
                assert after[name]["resyncs"] > before[name]["resyncs"]
                # only that instrument: the other book on the same connection was not touched
                if other != sym:
                    assert after[oname]["resyncs"] == before[oname]["resyncs"]
                    assert after[oname]["gaps"] == before[oname]["gaps"]
                assert sum(c["reconnects"] for c in h.fm.status()["conns"]) == conns_before
            if fault == "garbage":
                st = h.fm.status()
                assert sum(c["errors"] for c in st["conns"]) + sum(
                    c["decode_errors"] for c in st["instruments"].values()) > 0
            fired = [f for _, f, _ in ex.fault_log(key)]
            assert fault in fired


@pytest.mark.parametrize("key", ["binance_usdm", "bybit", "okx", "bitget"])
async def test_planned_reconnect_keeps_books_valid(key: str) -> None:
    """Binance: serverShutdown notice. Others: the connection-age limit (the 24 h cut, shortened
    here). A second connection takes over before the first is closed: the books never go invalid."""
    if key not in VENUE_CLASSES:
        pytest.fail(f"sim venue {key} is not implemented")
    cfg = sim_cfg([key])
    fcfg = FeedConfig(**{**FAST.__dict__, "planned_reconnect_margin_s": 1.0})
    async with SimExchange(cfg) as ex:
        h = Harness(ex, cfg, ["bbo", "trades", "depth"], fcfg)
        if not key.startswith("binance"):
            h.fm.adapters[Venue.parse(key)].max_conn_age_s = 3.0    # replaced at age 2 s
        async with h.fm:
            await h.all_match()
            before = h.counters()
            old = set(h.fm.conns)
            if key.startswith("binance"):
                # the sim closes every connection alive when the grace ends (also our new one), so
                # give the switch room: we replace the announced connection well before that
                ex.inject(key, "shutdown", grace=5.0)
            invalid_samples = 0
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (set(h.fm.conns) & old):
                invalid_samples += sum(not b.valid for b in h.books.values())
                await asyncio.sleep(0.002)
            assert not (set(h.fm.conns) & old), "old connection was not replaced"
            for _ in range(100):        # and right after the switch
                invalid_samples += sum(not b.valid for b in h.books.values())
                await asyncio.sleep(0.002)
            assert invalid_samples == 0
            await h.all_match()
            for name, c in h.counters().items():
                assert c["gaps"] == 0 and c["checksum_failures"] == 0, (name, c)
                assert c["resyncs"] == before[name]["resyncs"], (name, c)
            assert all(c["reconnects"] == 0 for c in h.fm.status()["conns"])


async def test_no_order_on_invalid_book() -> None:
    """A strategy that buys on every quote: while a book is invalid (after a disconnect, until the
    resync completes) the risk gate rejects every intent with STALE_BOOK; nothing passes."""
    from engine.risk import RiskGate
    from engine.strategy import PyStrategy

    key = "binance_usdm"
    cfg = sim_cfg([key], n_symbols=1, rate=200.0)
    emitted: dict[int, bool] = {}

    class Buyer(PyStrategy):
        def on_quote_py(self, q: dict) -> None:
            valid = bool(self.context.top(q["inst"])["valid"])
            cid = self.buy(q["inst"], q["bid_px"], 1000)
            emitted[cid] = valid

    risk = RiskGate()
    async with SimExchange(cfg) as ex:
        t = table_for(cfg)
        for i in t:
            risk.set_limits(i.id, max_order_sz=10**9)
        h = Harness(ex, cfg, ["bbo", "depth"], FAST, strategy=Buyer(), risk=risk)
        async with h.fm:
            await h.all_match()
            for _ in range(3):
                ex.inject(key, "drop", target="public")
                await asyncio.sleep(0.05)
                await h.all_match()
            await asyncio.sleep(0.2)
    passed = h.pipe.drain_pending()
    rejects = h.pipe.drain_rejects()
    assert passed and emitted
    assert all(emitted[p["client_id"]] for p in passed), "an order passed risk on an invalid book"
    stale = [r for r in rejects if r["reason_name"].endswith("STALE_BOOK")]
    assert stale, f"the invalid-book window was never exercised: {len(rejects)} rejects"
    assert all(not emitted[r["client_id"]] for r in stale)


async def test_bbo_only_instruments_follow_best_prices() -> None:
    """``bbo`` without ``depth``: Binance bookTicker updates ctx.top directly; the one-level book
    topics of Bybit/OKX/Bitget get a small Book from the FeedManager. Either way ctx.top follows
    the sim's best bid/ask and is valid."""
    keys = venues_available()
    cfg = sim_cfg(keys, n_symbols=1)
    async with SimExchange(cfg) as ex:
        t = table_for(cfg)
        pipe, books, ctx = build_pipeline(t, with_books=False)
        adapters = {Venue.parse(k): make_adapter(k, endpoints=sim_endpoints(ex, k)) for k in keys}
        fm = FeedManager(pipe, [(i, ["bbo"]) for i in t], adapters, books=books, ctx=ctx, config=FAST)
        assert {t.by_id[i].venue.key for i in books} == {k for k in keys if not k.startswith("binance")}
        async with fm:
            pending = {i.id for i in t}
            deadline = time.monotonic() + 10
            while pending and time.monotonic() < deadline:
                for iid in list(pending):
                    i = t.by_id[iid]
                    top = ctx.top(iid)
                    tb, ta = ex.true_book(i.venue.key, i.symbol)
                    if top["valid"] and (top["bid_px"], top["ask_px"]) == (i.px_to_units(tb[0][0]),
                                                                           i.px_to_units(ta[0][0])):
                        pending.discard(iid)
                await asyncio.sleep(0.005)
            assert not pending, [t.by_id[i].symbol for i in pending]


async def test_strategy_error_keeps_feed_up_and_reports() -> None:
    from engine.strategy import PyStrategy

    key = "binance_usdm"
    cfg = sim_cfg([key], n_symbols=1, rate=100.0)

    class Boom(PyStrategy):
        n = 0

        def on_quote_py(self, q: dict) -> None:
            Boom.n += 1
            if Boom.n == 5:
                raise RuntimeError("strategy bug")

    seen: list[BaseException] = []
    async with SimExchange(cfg) as ex:
        h = Harness(ex, cfg, ["bbo", "depth"], FAST, strategy=Boom(), on_strategy_error=seen.append)
        async with h.fm:
            deadline = time.monotonic() + 10
            while not seen and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert seen and h.ctx.kill
            await h.all_match()                    # books keep following the market
            st = h.fm.status()
            assert st["strategy_errors"] == 1 and all(c["reconnects"] == 0 for c in st["conns"])


async def test_mark_and_funding_reach_the_context() -> None:
    from engine.exchanges.base import SIG_FUNDING_RATE, SIG_MARK_PX

    keys = [k for k in ("binance_usdm", "bybit", "okx", "bitget") if k in VENUE_CLASSES]
    cfg = sim_cfg(keys, n_symbols=1)
    async with SimExchange(cfg) as ex:
        h = Harness(ex, cfg, ["depth", "mark"], FAST)
        async with h.fm:
            deadline = time.monotonic() + 10
            missing = {i.id for i in h.table}
            while missing and time.monotonic() < deadline:
                missing = {i for i in missing if not h.ctx.slow(i, SIG_MARK_PX)[1] > 0}
                await asyncio.sleep(0.02)
            assert not missing, [h.table.by_id[i].symbol for i in missing]
            for i in h.table:
                mark = h.ctx.slow(i.id, SIG_MARK_PX)[0]
                tb, ta = ex.true_book(i.venue.key, i.symbol)
                assert float(tb[-1][0]) * 0.9 < mark < float(ta[-1][0]) * 1.1, (i.symbol, mark)
            assert all(h.ctx.slow(i.id, SIG_FUNDING_RATE)[1] > 0 for i in h.table)


async def test_server_pings_are_answered() -> None:
    """Binance pings every connection and drops it when no pong comes back in time."""
    key = "binance_usdm"
    cfg = sim_cfg([key], n_symbols=1)
    async with SimExchange(cfg) as ex:
        h = Harness(ex, cfg, ["bbo", "depth"], FAST)
        async with h.fm:
            await h.all_match()
            ex.inject(key, "ping", interval=0.1, timeout=0.3)
            await asyncio.sleep(1.5)
            assert any(f == "ping" for _, f, _ in ex.fault_log(key)) or ex.venue(key).faults.get("ping")
            assert all(c["reconnects"] == 0 and c["up"] for c in h.fm.status()["conns"])
            await h.all_match()


async def test_quiet_market_is_not_a_dead_connection() -> None:
    """No market events at all for several staleness windows: heartbeats keep every connection up."""
    keys = venues_available()
    cfg = sim_cfg(keys, n_symbols=1)
    cfg.market = False
    async with SimExchange(cfg) as ex:
        h = Harness(ex, cfg, ["bbo", "depth"], FAST)
        async with h.fm:
            await asyncio.sleep(FAST.conn_stale_ms / 1000 * 2.5)
            st = h.fm.status()
            assert all(c["up"] and c["reconnects"] == 0 for c in st["conns"]), st["conns"]
