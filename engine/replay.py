# SPDX-License-Identifier: Apache-2.0
"""``hotpath replay``: a recording through the same decoders, books, strategy and risk gate as live trading,
with the simulated exchange's matching engine filling the orders.

* Market data: every recorded frame goes through ``Pipeline.feed`` (decode -> book -> strategy -> risk), in
  recorded order and with its recorded receive time, exactly as live (``engine.recorder.replay_into``).
* The venue: one ``engine.sim.matching.Engine`` per venue (futures account, fees, margin, post-only and
  reduce-only rules as in the sim). Its synthetic liquidity is the *recorded* book, mirrored after every
  frame (``mirror_depth`` levels per side); recorded public trades are synthetic trades
  (``Engine.market_trade``). So the sim's fill model applies unchanged (engine/sim/README.md): a resting order
  joins the queue behind the size displayed at its price when it arrives, recorded trades at that price
  consume the queue ahead first, a recorded size decrease cuts the queue ahead to at most the size left, a
  recorded book that trades through (or onto) the order's price fills it completely at its price as maker,
  and aggressive orders take the recorded levels one by one as taker.
* Latency: an order emitted while handling the frame received at ``t`` reaches the matching engine at
  ``t + latency`` of recorded time, the latency coming from a :class:`LatencyModel` (fixed, or drawn from
  a saved per-stage histogram with a seeded RNG). Frames recorded before that time move the book first.
* Fills go back through ``Pipeline.fill`` (Context position + the strategy's ``on_fill``), so the strategy
  sees them as live; ``on_timer`` runs every ``runtime.timer_ms`` of recorded time.
* Risk: the same gate and limits as live, on recorded time. The pipeline runs on a set clock
  (``Pipeline.set_clock``) that follows the recorded time of every frame, timer and fill, so the order-rate
  bucket (``risk.max_orders_per_sec``) and the book-age check (``risk.max_quote_age_ms``, against books
  stamped with their frames' recorded receive times) judge exactly what the live gate would have judged
  in real time, however fast the replay runs. Rejects are counted by reason (``ReplayResult.risk_rejects``).

Known simplifications: levels deeper than ``mirror_depth`` are not mirrored (an order resting there has
no queue ahead of it); a recorded depth diff that already contains a trade the trade stream reports later
shrinks the queue twice for that trade (Binance sends trades before the 100 ms diff that carries them, so
this is rare); funding and liquidations are not replayed.
"""
from __future__ import annotations

import bisect
import heapq
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from engine.instruments import Venue

# eng_intent fields (engine.strategy): kind, side, ord_type, tif, flags
K_NEW, K_CANCEL, K_AMEND, K_CANCEL_ALL = 1, 2, 3, 4
EV_TRADE = 3


class LatencyModel:
    """Order latency of a replay, in ns.

    ``LatencyModel.fixed(ns)`` always returns ``ns``. ``LatencyModel.from_buckets({stage: [(lo, hi, count)]},
    stages, seed)`` draws, for each order, one value per stage from that stage's histogram (a bucket with
    probability count/total, then uniformly inside it) and returns their sum; the draws come from
    ``random.Random(seed)``, so a replay is deterministic for a seed."""

    def __init__(self, fixed_ns: int | None = None, buckets: dict[str, list[tuple[int, int, int]]] | None = None,
                 stages: Sequence[str] = (), seed: int = 7, source: str = "") -> None:
        if fixed_ns is None and not buckets:
            raise ValueError("a latency model needs a fixed latency or histogram buckets")
        if fixed_ns is not None and fixed_ns < 0:
            raise ValueError("latency must be >= 0")
        self.fixed_ns = fixed_ns
        self.stages = tuple(stages)
        self.source = source
        self.rng = random.Random(seed)
        self._tables: list[tuple[list[int], list[tuple[int, int, int]], int]] = []
        for st in self.stages:
            b = [x for x in (buckets or {}).get(st, []) if x[2] > 0]
            if not b:
                have = ", ".join(sorted(k for k, v in (buckets or {}).items() if v)) or "none"
                raise ValueError(f"stage {st!r} has no samples in {source or 'the histogram'} (stages: {have})")
            cum, total = [], 0
            for _, _, c in b:
                total += c
                cum.append(total)
            self._tables.append((cum, b, total))
        self.drawn: list[int] = []

    @classmethod
    def fixed(cls, ns: int) -> "LatencyModel":
        return cls(fixed_ns=int(ns), source=f"fixed {ns / 1000:g} us")

    @classmethod
    def from_report(cls, path: str | Path, stages: Sequence[str] = ("ack",), seed: int = 7) -> "LatencyModel":
        """From the ``.json`` a bot's report writes next to its HTML/PNG (engine.report.write_histograms_json)."""
        from engine.report import load_histograms_json

        return cls(buckets=load_histograms_json(path), stages=stages, seed=seed,
                   source=f"{Path(path).name} [{'+'.join(stages)}]")

    def sample(self) -> int:
        if self.fixed_ns is not None:
            v = self.fixed_ns
        else:
            v = 0
            for cum, b, total in self._tables:
                i = bisect.bisect_left(cum, self.rng.randrange(total) + 1)
                lo, hi, _ = b[i]
                v += self.rng.randint(lo, hi)
        self.drawn.append(v)
        return v

    def describe(self) -> str:
        if not self.drawn:
            return f"order latency {self.source}: no orders"
        d = sorted(self.drawn)
        pct = lambda p: d[min(len(d) - 1, int(p / 100.0 * len(d)))] / 1000.0
        return (f"order latency {self.source}: n={len(d)} p50 {pct(50):.1f} us, p90 {pct(90):.1f} us, "
                f"p99 {pct(99):.1f} us, max {d[-1] / 1000.0:.1f} us")


@dataclass
class ReplayFill:
    t_ns: int                 # recorded time at which the fill happened
    inst: int
    symbol: str
    client_id: int
    side: int                 # 1 buy / -1 sell
    px: str
    sz: str
    maker: bool
    fee: float


@dataclass
class SimReplayStats:
    orders: int = 0
    cancels: int = 0
    amends: int = 0
    venue_rejects: dict[str, int] = field(default_factory=dict)
    expired: int = 0
    fills: list[ReplayFill] = field(default_factory=list)
    risk_rejects: dict[str, int] = field(default_factory=dict)   # pipeline rejects by reason name


class SimReplay:
    """The sim's matching engines driven by a recorded market; see the module docstring.

    ``bot`` is a :class:`engine.bot.Bot` after ``_build_core()`` (Context, books, pipeline, strategy).
    Call :meth:`before_frame` with a frame's receive time before it is fed (orders due by then arrive, timers
    run; it leaves the pipeline's clock at that time), :meth:`after_frame` after it (mirror, trades, new
    intents) and :meth:`finish` at the end."""

    CASH = 10**12        # balance of every asset of the replay account

    def __init__(self, bot: Any, latency: LatencyModel, mirror_depth: int = 100, timer_ms: int = 0) -> None:
        from engine.codec import Decoder
        from engine.sim.config import SymbolSpec, VenueSpec
        from engine.sim.matching import Engine

        self.bot, self.latency, self.depth = bot, latency, mirror_depth
        self.stats = SimReplayStats()
        self.engines: dict[int, Engine] = {}
        self.markets: dict[int, Any] = {}           # inst id -> sim Market
        self.inst_of: dict[tuple[int, str], Any] = {}
        self._trade_dec: dict[int, Any] = {}
        self._inflight: list[tuple[int, int, dict[str, Any]]] = []   # (arrive_ns, seq, intent)
        self._seq = 0
        self._now = 0
        self._timer_ns = int(timer_ms) * 1_000_000
        self._next_timer = 0
        by_venue: dict[Venue, list[Any]] = {}
        for inst in bot.table:
            by_venue.setdefault(inst.venue, []).append(inst)
        for venue, insts in by_venue.items():
            ics = {(ic.venue, ic.symbol): ic for ic in bot.cfg.instruments}
            syms = []
            balances = {"USDT": str(self.CASH)}
            for inst in insts:
                ic = ics[(venue.key, inst.symbol)]
                base, quote = _base_quote(inst.symbol)
                balances.setdefault(quote, str(self.CASH))
                balances.setdefault(base, str(self.CASH))
                syms.append(SymbolSpec(inst.symbol, ic.tick_size, ic.lot_size,
                                       ic.min_qty if ic.min_qty != "0" else ic.lot_size, min_notional="0",
                                       start_price="1", base=base, quote=quote,
                                       contract_mult=str(ic.contract_mult)))
            # the account never limits a replay (the strategy's risk limits do): large balances, 100x leverage
            eng = Engine(VenueSpec(venue.key, symbols=syms, balances=balances, leverage=100),
                         futures=venue != Venue.BINANCE_SPOT)
            eng.new_event_when_crossing = venue in (Venue.BINANCE_SPOT, Venue.BINANCE_USDM)
            eng.listeners.append(_VenueListener(self, int(venue)))
            self.engines[int(venue)] = eng
            dec = Decoder(int(venue))
            for inst in insts:
                dec.add_instrument(inst)
                self.markets[inst.id] = eng.market(inst.symbol)
                self.inst_of[(int(venue), inst.symbol)] = inst
            self._trade_dec[int(venue)] = dec

    # ---- events of the sim engines ------------------------------------------------------------------
    def on_order_event(self, venue: int, order: Any, exec_type: str, fill: Any) -> None:
        if exec_type == "EXPIRED":
            self.stats.expired += 1
        inst = self.inst_of[(venue, order.symbol)]
        self._publish_open(inst)             # the strategy's on_fill sees the open orders after this event
        if fill is None:
            return
        m = self.markets[inst.id]
        px_s, sz_s = m.px_str(fill.px), m.sz_str(fill.qty)
        fee = fill.fee
        if fill.fee_asset != m.spec.quote:          # spot buy: commission in base -> quote at the fill price
            fee = fee * m.px_dec(fill.px)
        side = 1 if order.side == "BUY" else -1
        cid = int(order.client_id)
        self.stats.fills.append(ReplayFill(self._now, inst.id, inst.symbol, cid, side, px_s, sz_s, fill.maker,
                                           float(fee)))
        self.bot.pipeline.fill(inst.id, side, inst.px_to_units(px_s), inst.sz_to_units(sz_s), float(fee), cid,
                               bool(fill.maker), True, self._now)

    # ---- driving ------------------------------------------------------------------------------------
    def before_frame(self, now_ns: int) -> None:
        """Everything due by ``now_ns`` happens against the book as it was before this frame; then the
        pipeline's clock is the frame's recorded receive time (its book stamp and the risk checks of what it
        triggers)."""
        self._advance(now_ns)
        self._set_clock(max(now_ns, self._now))   # monotonic like the live clock, should frames be out of order

    def after_frame(self, venue: int, frame: bytes, now_ns: int) -> None:
        self._now = max(self._now, now_ns)
        if venue in self._trade_dec and self._might_be_trade(frame):
            kind, d = self._trade_dec[venue].decode_py(frame)
            if kind == EV_TRADE:
                for t in d.get("trades") or [d]:
                    self.trade(t["inst"], t["px"], t["sz"], t["side"] == 1)
        for inst in self.bot.table:
            if int(inst.venue) == venue:
                self.mirror(inst)
        self.collect(now_ns)

    def finish(self) -> None:
        """Orders still in flight arrive (against the last recorded book)."""
        if self._inflight:
            self._advance(max(t for t, _, _ in self._inflight))

    # ---- internals ----------------------------------------------------------------------------------
    @staticmethod
    def _might_be_trade(frame: bytes) -> bool:
        return b"rade" in frame       # aggTrade / trade / publicTrade / trades

    def _advance(self, now_ns: int) -> None:
        while True:
            t_timer = self._next_timer if self._timer_ns and self._next_timer else None
            t_order = self._inflight[0][0] if self._inflight else None
            nxt = min(x for x in (t_timer, t_order, now_ns + 1) if x is not None)
            if nxt > now_ns:
                break
            self._now = max(self._now, nxt)
            self._set_clock(self._now)      # fills (on_fill) and on_timer are risk-checked at this recorded time
            if t_order is not None and t_order == nxt:
                _, _, d = heapq.heappop(self._inflight)
                self._arrive(d)
            else:
                self._next_timer += self._timer_ns
                self.bot.pipeline.timer(nxt)
            self.collect(self._now)
        if self._timer_ns and not self._next_timer:
            self._next_timer = now_ns + self._timer_ns

    def collect(self, now_ns: int) -> None:
        """Intents the strategy emitted are in flight from ``now_ns`` (each with its own latency draw); the
        ones the risk gate rejected are counted by reason (drained here, so the pipeline's reject ring never
        fills up in a long replay)."""
        for d in self.bot.pipeline.drain_pending():
            self._seq += 1
            heapq.heappush(self._inflight, (now_ns + self.latency.sample(), self._seq, d))
        self.count_rejects()
        self._publish_open()

    def count_rejects(self) -> None:
        for r in self.bot.pipeline.drain_rejects():
            name = r["reason_name"]
            self.stats.risk_rejects[name] = self.stats.risk_rejects.get(name, 0) + 1

    def _set_clock(self, now_ns: int) -> None:
        if now_ns > 0:                      # 0: a frame without a receive time is fed at 'now' (live clock)
            self.bot.pipeline.set_clock(now_ns)

    def _arrive(self, d: dict[str, Any]) -> None:
        from engine.sim.matching import Reject

        inst = self.bot.table.by_id[d["inst"]]
        eng = self.engines[int(inst.venue)]
        m = self.markets[inst.id]
        try:
            if d["kind"] == K_NEW:
                self.stats.orders += 1
                px = 0 if d["ord_type"] == 2 else self._px_units(m, inst, d["px"])
                eng.place(inst.symbol, "BUY" if d["side"] == 1 else "SELL",
                          "MARKET" if d["ord_type"] == 2 else "LIMIT", self._sz_units(m, inst, d["sz"]), px,
                          tif={1: "GTC", 2: "IOC", 3: "FOK", 4: "GTX"}.get(d["tif"], "GTC"),
                          client_id=str(d["client_id"]), reduce_only=bool(d["flags"] & 1),
                          post_only_reject=eng.new_event_when_crossing)
            elif d["kind"] == K_CANCEL:
                self.stats.cancels += 1
                eng.cancel(inst.symbol, client_id=str(d["target_id"]))
            elif d["kind"] == K_CANCEL_ALL:
                self.stats.cancels += 1
                eng.cancel_all(inst.symbol)
            elif d["kind"] == K_AMEND:
                self.stats.amends += 1
                eng.amend(inst.symbol, None, str(d["target_id"]),
                          qty=self._sz_units(m, inst, d["sz"]) if d["sz"] else None,
                          px=self._px_units(m, inst, d["px"]) if d["px"] else None)
        except Reject as exc:
            self.stats.venue_rejects[exc.reason] = self.stats.venue_rejects.get(exc.reason, 0) + 1

    @staticmethod
    def _px_units(m: Any, inst: Any, units: int) -> int:
        from engine.sim.matching import to_units

        return to_units(inst.px_str(units), m.px_exp)

    @staticmethod
    def _sz_units(m: Any, inst: Any, units: int) -> int:
        from engine.sim.matching import to_units

        return to_units(inst.sz_str(units), m.sz_exp)

    def trade(self, inst_id: int, px: int, sz: int, aggressor_buy: bool) -> None:
        """A recorded public trade is a synthetic trade: it consumes the displayed queue (ours by position)."""
        inst = self.bot.table.by_id[inst_id]
        m = self.markets[inst_id]
        side = 1 if aggressor_buy else 0
        if not m.own[side]:
            return                        # nothing of ours to fill; the next depth frame sets the book
        eng = self.engines[int(inst.venue)]
        tpx = self._px_units(m, inst, px)
        best = m.best(side)
        if best is None or (best > tpx if aggressor_buy else best < tpx):
            return                        # printed behind a better price we do not show: not our level
        # one print at one price: it sweeps what we show up to that price (our better-priced orders first),
        # never levels beyond it
        keys = set(m.mkt[side].keys()) | set(m.own_qty[side].keys())
        cap = sum(m.displayed(side, p) for p in keys if (p <= tpx if aggressor_buy else p >= tpx))
        qty = min(self._sz_units(m, inst, sz), cap)
        if qty > 0:
            eng.market_trade(m, aggressor_buy, qty)

    def _recorded_levels(self, inst: Any, m: Any) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
        from engine.sim.matching import to_units

        book = self.bot.books.get(inst.id)
        if book is not None:
            if not book.valid:
                return None
            bids, asks = book.top(self.depth)
            return ([(to_units(p, m.px_exp), to_units(s, m.sz_exp)) for p, s in bids],
                    [(to_units(p, m.px_exp), to_units(s, m.sz_exp)) for p, s in asks])
        t = self.bot.ctx.top(inst.id)
        if not t["valid"]:
            return None
        out: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        if t["bid_px"] > 0:
            out[0].append((self._px_units(m, inst, t["bid_px"]), self._sz_units(m, inst, t["bid_sz"])))
        if t["ask_px"] > 0:
            out[1].append((self._px_units(m, inst, t["ask_px"]), self._sz_units(m, inst, t["ask_sz"])))
        return out

    def mirror(self, inst: Any) -> None:
        """Make the sim market's synthetic side equal the recorded book; a recorded side that reaches one of
        our resting prices first trades through it (complete maker fill at our price)."""
        m = self.markets[inst.id]
        rec = self._recorded_levels(inst, m)
        if rec is None:
            return
        eng = self.engines[int(inst.venue)]
        for side in (0, 1):
            opp = rec[1 - side]
            if m.own[side] and opp:
                ob = opp[0][0]
                crossed = [px for px in m.own[side].keys() if (px >= ob if side == 0 else px <= ob)]
                if crossed:
                    lim = min(crossed) if side == 0 else max(crossed)
                    keys = set(m.mkt[side].keys()) | set(m.own_qty[side].keys())
                    qty = sum(m.displayed(side, px) for px in keys if (px >= lim if side == 0 else px <= lim))
                    eng.market_trade(m, aggressor_buy=(side == 1), qty=qty)
        for side in (0, 1):
            want = dict(rec[side])
            for px in [p for p in m.mkt[side].keys() if p not in want]:
                m.set_level(side, px, 0)
            for px, sz in rec[side]:
                m.set_level(side, px, sz)
        b, a = m.best(0), m.best(1)
        if b is not None and a is not None:
            m.mark_px = (a + b) // 2

    def _publish_open(self, only: Any = None) -> None:
        # the risk gate counts accepted NEWs; the matching engine is the truth about what is still open (as the
        # router's State is live)
        self.bot.risk.open_orders = sum(len(e.open_by_client) for e in self.engines.values())
        for inst in (only,) if only is not None else self.bot.table:
            eng = self.engines[int(inst.venue)]
            mine = eng.open_orders(inst.symbol)
            if not mine and not self.bot.ctx.position(inst.id)["open_orders"]:
                continue
            m = self.markets[inst.id]
            buy = sum(o.leaves for o in mine if o.side == "BUY")
            sell = sum(o.leaves for o in mine if o.side == "SELL")
            self.bot.ctx.set_open_orders(inst.id, len(mine), inst.sz_to_units(m.sz_str(buy)),
                                         inst.sz_to_units(m.sz_str(sell)))


def _base_quote(symbol: str) -> tuple[str, str]:
    """BTCUSDT -> (BTC, USDT); BTC-USDT-SWAP -> (BTC, USDT); unknown shapes -> (symbol, USDT)."""
    s = symbol.upper()
    if "-" in s:
        parts = s.split("-")
        return parts[0], parts[1] if len(parts) > 1 else "USDT"
    for q in ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY"):
        if s.endswith(q) and len(s) > len(q):
            return s[: -len(q)], q
    return s, "USDT"


class _VenueListener:
    """engine.sim.matching.Listener of one venue's engine."""

    def __init__(self, sim: SimReplay, venue: int) -> None:
        self.sim, self.venue = sim, venue

    def order_event(self, order: Any, exec_type: str, fill: Any) -> None:
        self.sim.on_order_event(self.venue, order, exec_type, fill)

    def account_event(self, reason: str, symbols: list[str]) -> None:
        pass


class _Feed:
    """Pipeline proxy for recorder.replay_into: the matcher acts before and after every frame."""

    def __init__(self, pipeline: Any, sim: SimReplay) -> None:
        self.pipeline, self.sim = pipeline, sim

    def feed(self, conn_id: int, venue: int, frame: bytes, recv_ns: int = 0) -> int:
        self.sim.before_frame(recv_ns)
        rc = self.pipeline.feed(conn_id, venue, frame, recv_ns)
        self.sim.after_frame(venue, frame, recv_ns)
        return rc


@dataclass
class ReplayResult:
    stats: Any                 # engine.recorder.ReplayStats
    sim: SimReplay
    pnl: float                 # realised + unrealised at the last mid, after fees (Context)
    positions: dict[str, dict[str, Any]]
    risk_rejects: dict[str, int]


def replay(bot: Any, recording: str | Path, latency: LatencyModel, mirror_depth: int = 100) -> ReplayResult:
    """Run ``recording`` through ``bot`` (after ``bot._build_core()``) against the sim's matching engine."""
    from engine.recorder import replay_into

    sim = SimReplay(bot, latency, mirror_depth, timer_ms=bot.cfg.runtime.timer_ms)
    books = {(int(b.inst.venue), b.inst.symbol): b for b in bot.books.values()}
    try:
        stats = replay_into(_Feed(bot.pipeline, sim), recording, books)
        sim.finish()
        sim.count_rejects()
    finally:
        bot.pipeline.set_clock(0)                # the pipeline is back on the live clock
    rejects = dict(sim.stats.risk_rejects)
    pnl = 0.0
    positions = {}
    for inst in bot.table:
        pos = bot.ctx.position(inst.id)
        t = bot.ctx.top(inst.id)
        p = pos["realised_pnl"]                      # quote currency, after fees
        if pos["sz"] and t["bid_px"] and t["ask_px"]:
            mid = (t["bid_px"] + t["ask_px"]) / 2 * 10.0 ** -inst.px_exp
            p += pos["sz"] * 10.0 ** -inst.sz_exp * (mid - pos["avg_px"]) * inst.contract_mult
        pnl += p
        positions[f"{inst.venue.key}:{inst.symbol}"] = {"sz": inst.sz_str(pos["sz"]), "avg_px": pos["avg_px"],
                                                         "realised": pos["realised_pnl"], "fees": pos["fees"],
                                                         "pnl": p, "open_orders": pos["open_orders"]}
    return ReplayResult(stats, sim, pnl, positions, rejects)

