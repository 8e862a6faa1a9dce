# SPDX-License-Identifier: Apache-2.0
"""Order, fill and position state of one trading process.

The venue's user-data stream is the source of truth; acks and REST answers feed the same
transitions. ``State`` is plain Python on the cold path: it runs after the order bytes are on the
wire, emits events for the store (``sink(kind, data)``, non-blocking) and pushes positions and
open-order counts into the compiled ``Context`` so strategies and the risk gate read them nogil.

Order lifecycle::

    pending_new -> new -> partially_filled -> filled
                                           -> canceled | rejected | expired
    unknown: a timeout, 5xx or disconnect left the outcome open; the router queries the venue
             by client order id and the answer moves the order on (never a blind resend).

Terminal states never change again (a late ``new`` after ``canceled`` is ignored); fills are facts
and always count towards the position, deduplicated by (venue, venue trade id).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Protocol

from engine.instruments import Instrument

PENDING_NEW = "pending_new"
NEW = "new"
PARTIALLY_FILLED = "partially_filled"
FILLED = "filled"
CANCELED = "canceled"
REJECTED = "rejected"
EXPIRED = "expired"
UNKNOWN = "unknown"

STATUSES = (PENDING_NEW, NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED, UNKNOWN)
TERMINAL = frozenset((FILLED, CANCELED, REJECTED, EXPIRED))
LIVE = frozenset((PENDING_NEW, NEW, PARTIALLY_FILLED, UNKNOWN))
# progress rank of the live states: an update may only move forward
_RANK = {UNKNOWN: 0, PENDING_NEW: 1, NEW: 2, PARTIALLY_FILLED: 3}

Sink = Callable[[str, dict[str, Any]], None]


class ContextLike(Protocol):
    """What State needs from engine.strategy.Context (positions and open orders for nogil readers)."""

    def set_position(self, inst: int, sz: int, avg_px: float, realised_pnl: float, fees: float,
                     funding: float) -> None: ...

    def set_open_orders(self, inst: int, count: int, buy_sz: int, sell_sz: int) -> None: ...


class StateError(ValueError):
    """An update that cannot be applied (unknown instrument, bad number, illegal transition)."""


@dataclass(slots=True)
class Order:
    client_oid: str                  # venue-facing client order id (unique across restarts)
    client_id: int                   # engine client id (eng_intent.client_id)
    venue: int
    inst: int
    side: int                        # +1 buy / -1 sell
    ord_type: int                    # ENG_ORD_*
    tif: int                         # ENG_TIF_*
    flags: int                       # ENG_FLAG_*
    px: int                          # price units (0 for market)
    sz: int                          # size units
    status: str = PENDING_NEW
    filled_sz: int = 0
    venue_order_id: str = ""
    reason: str = ""
    created_ms: int = 0
    updated_ms: int = 0
    fill_sum: int = 0                # sum of the fills seen for this order (size units)

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def remaining(self) -> int:
        return max(0, self.sz - self.filled_sz)


@dataclass(slots=True, frozen=True)
class Fill:
    venue: int
    trade_id: str                    # venue trade/execution id (dedupe key with venue)
    client_oid: str
    inst: int
    side: int
    px: int                          # units
    sz: int                          # units
    fee: float                       # quote currency, negative = rebate
    is_maker: bool = False
    ts_ms: int = 0


@dataclass(slots=True)
class Position:
    venue: int
    inst: int
    sz: int = 0                      # signed size units
    avg_px: float = 0.0              # real price of the open position
    realised_pnl: float = 0.0        # quote currency, after fees and funding
    fees: float = 0.0
    funding: float = 0.0
    last_trade_ms: int = 0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class RejectCounter:
    by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str) -> None:
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())


class State:
    """Orders, fills, positions and PnL of one process, keyed by dense instrument id."""

    def __init__(self, instruments: Iterable[Instrument], sink: Sink | None = None,
                 ctx: ContextLike | None = None) -> None:
        self.instruments: dict[int, Instrument] = {i.id: i for i in instruments}
        self.orders: dict[str, Order] = {}
        self.by_client_id: dict[int, Order] = {}
        self.positions: dict[int, Position] = {
            i.id: Position(int(i.venue), i.id) for i in self.instruments.values()}
        self.fill_ids: set[tuple[int, str]] = set()
        self.rejects = RejectCounter()
        self.duplicate_fills = 0
        self.sink: Sink = sink or (lambda kind, data: None)
        self.ctx = ctx

    # ---- orders -------------------------------------------------------------------------
    def _inst(self, inst: int) -> Instrument:
        try:
            return self.instruments[inst]
        except KeyError:
            raise StateError(f"instrument id {inst} is not configured") from None

    def new_order(self, client_oid: str, client_id: int, venue: int, inst: int, side: int,
                  ord_type: int, tif: int, flags: int, px: int, sz: int) -> Order:
        """Record an order that was just written to the wire (status pending_new)."""
        if client_oid in self.orders:
            raise StateError(f"client order id {client_oid} already used")
        ins = self._inst(inst)
        if int(ins.venue) != venue:
            raise StateError(f"instrument {inst} is on venue {int(ins.venue)}, not {venue}")
        if side not in (1, -1) or sz <= 0 or px < 0:
            raise StateError(f"bad order side={side} sz={sz} px={px}")
        now = _now_ms()
        o = Order(client_oid, client_id, venue, inst, side, ord_type, tif, flags, px, sz,
                  PENDING_NEW, 0, "", "", now, now, 0)
        self.orders[client_oid] = o
        self.by_client_id[client_id] = o
        self.sink("order", asdict(o))
        self._push_open(inst)
        return o

    def get(self, client_oid: str) -> Order | None:
        return self.orders.get(client_oid)

    def open_orders(self, venue: int | None = None, inst: int | None = None) -> list[Order]:
        return [o for o in self.orders.values() if o.live
                and (venue is None or o.venue == venue) and (inst is None or o.inst == inst)]

    def update_order(self, client_oid: str, status: str, filled_sz: int | None = None,
                     venue_order_id: str = "", reason: str = "", px: int | None = None,
                     sz: int | None = None) -> bool:
        """Apply a venue report. Returns True when the order changed (and an event was emitted).

        ``filled_sz`` is the venue's cumulative filled size; it never decreases here.
        Terminal orders ignore status changes (only their filled size may still grow)."""
        o = self.orders.get(client_oid)
        if o is None:
            raise StateError(f"unknown client order id {client_oid}")
        if status not in STATUSES:
            raise StateError(f"unknown order status {status!r}")
        changed = False
        if filled_sz is not None:
            if filled_sz < 0:
                raise StateError(f"negative filled size {filled_sz}")
            if filled_sz > o.filled_sz:
                o.filled_sz = filled_sz
                changed = True
        if venue_order_id and venue_order_id != o.venue_order_id:
            o.venue_order_id = venue_order_id
            changed = True
        if o.status not in TERMINAL:
            if px is not None and px != o.px:      # amend accepted
                o.px = px
                changed = True
            if sz is not None and sz != o.sz and sz > 0:
                o.sz = sz
                changed = True
            new = status
            if new == UNKNOWN:
                # only the router marks unknown, and only while we have no answer
                if o.status != UNKNOWN:
                    o.status = UNKNOWN
                    changed = True
            elif new in TERMINAL:
                o.status = new
                changed = True
                if reason:
                    o.reason = reason
                if new == REJECTED:
                    self.rejects.add(reason or "venue_reject")
            else:
                if new == NEW and o.filled_sz > 0:
                    new = PARTIALLY_FILLED
                if o.status == UNKNOWN or _RANK[new] > _RANK[o.status]:
                    o.status = new
                    changed = True
        if changed:
            o.updated_ms = _now_ms()
            self.sink("order", asdict(o))
            self._push_open(o.inst)
        return changed

    def reject_local(self, reason: str) -> None:
        """Count a pre-trade reject (risk gate, kill switch) that never reached the venue."""
        self.rejects.add(reason)
        self.sink("event", {"type": "reject", "reason": reason, "ts_ms": _now_ms()})

    # ---- fills and positions -------------------------------------------------------------
    def apply_fill(self, f: Fill) -> bool:
        """Apply one execution; returns False for a duplicate (same venue trade id)."""
        key = (f.venue, f.trade_id)
        if key in self.fill_ids:
            self.duplicate_fills += 1
            return False
        if f.sz <= 0 or f.px <= 0 or f.side not in (1, -1):
            raise StateError(f"bad fill {f.trade_id}: side={f.side} px={f.px} sz={f.sz}")
        if f.fee != f.fee:
            raise StateError(f"fill {f.trade_id}: NaN fee")
        ins = self._inst(f.inst)
        self.fill_ids.add(key)
        p = self.positions[f.inst]
        px = f.px / 10 ** ins.px_exp
        szf = ins.sz_exp
        signed = f.sz * f.side
        mult = ins.contract_mult
        old = p.sz
        if old == 0 or (old > 0) == (signed > 0):
            tot = abs(old) + f.sz
            p.avg_px = (abs(old) * p.avg_px + f.sz * px) / tot
            p.sz = old + signed
        else:
            closed = min(abs(old), f.sz)
            direction = 1 if old > 0 else -1
            p.realised_pnl += closed / 10 ** szf * (px - p.avg_px) * direction * mult
            p.sz = old + signed
            if p.sz == 0:
                p.avg_px = 0.0
            elif (p.sz > 0) != (old > 0):       # flipped through zero: remainder opens at px
                p.avg_px = px
        p.fees += f.fee
        p.realised_pnl -= f.fee
        p.last_trade_ms = max(p.last_trade_ms, f.ts_ms)
        o = self.orders.get(f.client_oid)
        self.sink("fill", asdict(f))
        self.sink("position", asdict(p))
        self._push_pos(p)
        if o is not None:
            self._order_fill_progress(o, f.sz)
        return True

    def _order_fill_progress(self, o: Order, sz: int) -> None:
        # Fills arrive before or after the order report that carries the cumulative size:
        # the order's filled size is the larger of the reported cumulative and the sum of fills.
        o.fill_sum += sz
        if o.fill_sum <= o.filled_sz:
            return
        o.filled_sz = o.fill_sum
        if o.status not in TERMINAL:
            if o.filled_sz >= o.sz:
                o.status = FILLED
            elif o.status == UNKNOWN or _RANK[o.status] < _RANK[PARTIALLY_FILLED]:
                o.status = PARTIALLY_FILLED
        o.updated_ms = _now_ms()
        self.sink("order", asdict(o))
        self._push_open(o.inst)

    def apply_funding(self, inst: int, amount: float, ts_ms: int) -> None:
        """A funding payment in quote currency (+ received, - paid)."""
        if amount != amount:
            raise StateError("NaN funding amount")
        p = self.positions[self._inst(inst).id]
        p.funding += amount
        p.realised_pnl += amount
        self.sink("funding", {"venue": p.venue, "inst": inst, "amount": amount, "ts_ms": ts_ms})
        self.sink("position", asdict(p))
        self._push_pos(p)

    def set_position(self, inst: int, sz: int, avg_px: float) -> Position:
        """Overwrite a position with the venue's view (reconciliation); emits an event."""
        p = self.positions[self._inst(inst).id]
        if p.sz != sz:
            self.sink("event", {"type": "position_diff", "inst": inst, "local": p.sz, "venue": sz,
                                "ts_ms": _now_ms()})
        p.sz = sz
        p.avg_px = avg_px if sz else 0.0
        self.sink("position", asdict(p))
        self._push_pos(p)
        return p

    def unrealised(self, inst: int, mark_px: float) -> float:
        p = self.positions[inst]
        ins = self.instruments[inst]
        if p.sz == 0 or mark_px <= 0:
            return 0.0
        return p.sz / 10 ** ins.sz_exp * (mark_px - p.avg_px) * ins.contract_mult

    def pnl(self, marks: dict[int, float] | None = None) -> dict[str, float]:
        """Realised (after fees and funding), unrealised at ``marks`` (real prices) and fees."""
        marks = marks or {}
        realised = sum(p.realised_pnl for p in self.positions.values())
        unreal = sum(self.unrealised(i, m) for i, m in marks.items() if i in self.positions)
        fees = sum(p.fees for p in self.positions.values())
        funding = sum(p.funding for p in self.positions.values())
        return {"realised": realised, "unrealised": unreal, "fees": fees, "funding": funding,
                "total": realised + unreal}

    # ---- context (nogil readers) -----------------------------------------------------------
    def _push_pos(self, p: Position) -> None:
        if self.ctx is not None:
            self.ctx.set_position(p.inst, p.sz, p.avg_px, p.realised_pnl, p.fees, p.funding)

    def _push_open(self, inst: int) -> None:
        if self.ctx is None:
            return
        n = buy = sell = 0
        for o in self.orders.values():
            if o.inst == inst and o.status in LIVE:
                n += 1
                if o.side > 0:
                    buy += o.remaining
                else:
                    sell += o.remaining
        self.ctx.set_open_orders(inst, n, buy, sell)

    def push_all(self) -> None:
        for p in self.positions.values():
            self._push_pos(p)
            self._push_open(p.inst)

    # ---- restore from a store snapshot ----------------------------------------------------
    def restore(self, orders: Iterable[dict[str, Any]], fills: Iterable[Any],
                positions: Iterable[dict[str, Any]]) -> None:
        """Load persisted state (no events are emitted).

        ``fills`` are fill dicts (as stored) or ``(venue, trade_id)`` keys; with dicts the per-order
        fill sums are recomputed from the fills themselves (the source of truth on disk)."""
        for d in orders:
            o = Order(**{k: d[k] for k in Order.__slots__ if k in d})
            o.fill_sum = 0
            self.orders[o.client_oid] = o
            self.by_client_id[o.client_id] = o
        for f in fills:
            if isinstance(f, dict):
                self.fill_ids.add((int(f["venue"]), str(f["trade_id"])))
                o = self.orders.get(f.get("client_oid", ""))
                if o is not None:
                    o.fill_sum += int(f["sz"])
            else:
                v, t = f
                self.fill_ids.add((int(v), str(t)))
        for d in positions:
            inst = int(d["inst"])
            if inst not in self.positions:
                continue
            p = self.positions[inst]
            for k in ("sz", "avg_px", "realised_pnl", "fees", "funding", "last_trade_ms"):
                if k in d:
                    setattr(p, k, type(getattr(p, k))(d[k]))
        self.push_all()

    def snapshot(self) -> dict[str, Any]:
        """Plain data for the live view / reports."""
        return {
            "orders": [asdict(o) for o in self.orders.values() if o.live],
            "positions": [asdict(p) for p in self.positions.values()],
            "rejects": dict(self.rejects.by_reason),
            "fills": len(self.fill_ids),
        }
