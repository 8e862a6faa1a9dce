# SPDX-License-Identifier: Apache-2.0
"""Matching engine of the simulated exchange.

One ``Market`` per instrument holds the synthetic liquidity (price -> size, int units) and our
resting orders (price-time priority). One ``Engine`` per venue holds the account (futures
positions + wallet, or spot balances) and all orders. Venue modules translate requests into
``Engine.place/cancel/amend`` and engine events into their wire formats; the market generator
drives the synthetic side through ``Market.set_level`` and ``Engine.market_trade``.

Fill model (see README.md): a resting order of ours joins the queue behind the synthetic size
displayed at its price when it arrives (``ahead``). Synthetic trades at that price consume the
queue ahead first, then our orders in time order; a synthetic sweep through the price fills the
order completely at its own price. Synthetic cancels at that price shrink ``ahead`` to at most
the remaining synthetic size. Our aggressive orders take synthetic liquidity level by level;
if they would trade with one of our own resting orders they expire (STP EXPIRE_TAKER).
"""
from __future__ import annotations

import time
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Protocol

from engine.sim.config import SymbolSpec, VenueSpec, _dec

BUY, SELL = "BUY", "SELL"


class Reject(Exception):
    """An order request refused by the engine; ``reason`` is venue-neutral, the venue maps it."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_units(text: str | int | float, exp: int) -> int:
    """Decimal string -> integer units at ``exp`` decimals; raises Reject("PRECISION") if the
    value has more decimals, Reject("BAD_NUMBER") if it is not a finite number."""
    try:
        d = Decimal(str(text))
    except Exception:
        raise Reject("BAD_NUMBER", f"{text!r}") from None
    if not d.is_finite():
        raise Reject("BAD_NUMBER", f"{text!r}")
    scaled = d.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise Reject("PRECISION", f"{text!r}")
    return int(scaled)


def fmt_units(units: int, exp: int) -> str:
    """Integer units -> decimal string with exactly ``exp`` decimals."""
    if exp == 0:
        return str(units)
    if units < 0:
        return "-" + fmt_units(-units, exp)
    s = str(units).rjust(exp + 1, "0")
    return s[:-exp] + "." + s[-exp:]


def fmt_dec(d: Decimal, places: int = 8) -> str:
    return f"{d.quantize(Decimal(1).scaleb(-places)):f}"


@dataclass(eq=False, slots=True)
class Order:
    order_id: int
    client_id: str
    symbol: str
    side: str                 # BUY / SELL
    type: str                 # LIMIT / MARKET
    tif: str                  # GTC / IOC / FOK / GTX
    px: int                   # price units (0 for market)
    qty: int                  # size units
    reduce_only: bool = False
    filled: int = 0
    quote_cum: Decimal = Decimal(0)   # sum(px * qty) of fills in quote currency
    fee_cum: Decimal = Decimal(0)
    status: str = "NEW"       # NEW PARTIALLY_FILLED FILLED CANCELED EXPIRED REJECTED
    created_ms: int = 0
    updated_ms: int = 0
    ahead: int = 0            # synthetic size ahead of us in the queue at px
    expire_reason: str = ""   # EXPIRE_TAKER (STP) / INSUFFICIENT_LIQUIDITY / ...
    locked: Decimal = Decimal(0)      # spot: balance locked for this order (quote for buys)
    extra: dict = field(default_factory=dict)   # venue-specific echo fields

    @property
    def leaves(self) -> int:
        return self.qty - self.filled

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")


@dataclass(slots=True)
class Fill:
    trade_id: int
    order: Order
    px: int
    qty: int
    fee: Decimal
    fee_asset: str
    maker: bool
    realized_pnl: Decimal
    ts_ms: int
    seq: int = 0                # account-wide fill sequence (OKX billId, trade-list paging)


@dataclass(slots=True)
class Position:
    amt: int = 0                    # signed size units
    entry: Decimal = Decimal(0)     # average entry price
    realized: Decimal = Decimal(0)


class LevelMap:
    """Price -> value map kept in ascending price order (bisect over a plain list).

    Books here hold tens to a few thousand levels, where list insertion is a memmove; this keeps
    the simulator free of third-party containers."""

    __slots__ = ("_d", "_k")

    def __init__(self) -> None:
        self._d: dict[int, Any] = {}
        self._k: list[int] = []

    def __len__(self) -> int:
        return len(self._k)

    def __bool__(self) -> bool:
        return bool(self._k)

    def __contains__(self, px: object) -> bool:
        return px in self._d

    def __getitem__(self, px: int) -> Any:
        return self._d[px]

    def get(self, px: int, default: Any = None) -> Any:
        return self._d.get(px, default)

    def __setitem__(self, px: int, v: Any) -> None:
        if px not in self._d:
            insort(self._k, px)
        self._d[px] = v

    def __delitem__(self, px: int) -> None:
        del self._d[px]
        del self._k[bisect_left(self._k, px)]

    def pop(self, px: int, default: Any = None) -> Any:
        if px in self._d:
            v = self._d[px]
            del self[px]
            return v
        return default

    def peekitem(self, i: int = -1) -> tuple[int, Any]:
        k = self._k[i]
        return k, self._d[k]

    def keys(self) -> list[int]:
        """Ascending prices (a view: do not mutate while iterating)."""
        return self._k


class Listener(Protocol):
    def order_event(self, order: Order, exec_type: str, fill: Fill | None) -> None: ...
    def account_event(self, reason: str, symbols: list[str]) -> None: ...


class DepthTracker:
    """Levels changed since the last publication of one depth stream cadence."""

    __slots__ = ("interval_ms", "dirty", "first_id", "last_u")

    def __init__(self, interval_ms: int, update_id: int) -> None:
        self.interval_ms = interval_ms
        self.dirty: dict[tuple[int, int], None] = {}
        self.first_id = 0
        self.last_u = update_id


class Market:
    """Book of one instrument: synthetic sizes + our resting orders, update ids, trackers."""

    def __init__(self, spec: SymbolSpec) -> None:
        self.spec = spec
        self.symbol = spec.symbol
        self.px_exp = _dec(spec.tick_size)
        self.sz_exp = _dec(spec.lot_size)
        self.px_out = spec.px_decimals if spec.px_decimals >= 0 else self.px_exp
        self.sz_out = spec.sz_decimals if spec.sz_decimals >= 0 else self.sz_exp
        self._px_mul = 10 ** (self.px_out - self.px_exp)
        self._sz_mul = 10 ** (self.sz_out - self.sz_exp)
        self.tick = to_units(spec.tick_size, self.px_exp)
        self.lot = to_units(spec.lot_size, self.sz_exp)
        self.min_qty = to_units(spec.min_qty, self.sz_exp)
        self.min_notional = Decimal(spec.min_notional)
        self.mult = Decimal(spec.contract_mult)
        self.px_scale = Decimal(1).scaleb(-self.px_exp)
        self.sz_scale = Decimal(1).scaleb(-self.sz_exp)
        # side 0 = bids, 1 = asks
        self.mkt: tuple[LevelMap, LevelMap] = (LevelMap(), LevelMap())
        self.own: tuple[LevelMap, LevelMap] = (LevelMap(), LevelMap())
        self.own_qty: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.update_id = 1000
        self.trade_id = 0
        self.trackers: list[DepthTracker] = []
        self.mark_px: int = to_units(spec.start_price, self.px_exp)
        self.funding_rate = Decimal("0.0001")
        self.last_trade_px = self.mark_px
        self.on_trade: list[Callable[["Market", int, int, bool, int, int], None]] = []

    # ---- formatting -----------------------------------------------------------------------
    def px_str(self, px: int) -> str:
        return fmt_units(px * self._px_mul, self.px_out)

    def sz_str(self, sz: int) -> str:
        return fmt_units(sz * self._sz_mul, self.sz_out)

    def px_dec(self, px: int) -> Decimal:
        return Decimal(px) * self.px_scale

    def sz_dec(self, sz: int) -> Decimal:
        return Decimal(sz) * self.sz_scale

    # ---- depth ----------------------------------------------------------------------------
    def tracker(self, interval_ms: int) -> DepthTracker:
        for t in self.trackers:
            if t.interval_ms == interval_ms:
                return t
        t = DepthTracker(interval_ms, self.update_id)
        self.trackers.append(t)
        return t

    def touch(self, side: int, px: int) -> None:
        self.update_id += 1
        uid = self.update_id
        key = (side, px)
        for t in self.trackers:
            if not t.dirty:
                t.first_id = uid
            t.dirty[key] = None

    def displayed(self, side: int, px: int) -> int:
        return self.mkt[side].get(px, 0) + self.own_qty[side].get(px, 0)

    def best(self, side: int) -> int | None:
        """Best displayed price of a side (synthetic or ours), None when empty."""
        mk = self.mkt[side]._k
        ok = self.own[side]._k
        if side == 0:
            if not mk:
                return ok[-1] if ok else None
            a = mk[-1]
            return a if not ok or a >= ok[-1] else ok[-1]
        if not mk:
            return ok[0] if ok else None
        a = mk[0]
        return a if not ok or a <= ok[0] else ok[0]

    def levels(self, side: int, n: int | None = None) -> list[tuple[int, int]]:
        """Displayed levels (price, size) best first."""
        keys = set(self.mkt[side].keys()) | set(self.own_qty[side].keys())
        ordered = sorted(keys, reverse=(side == 0))
        out = []
        for px in ordered:
            sz = self.displayed(side, px)
            if sz > 0:
                out.append((px, sz))
                if n is not None and len(out) >= n:
                    break
        return out

    def set_level(self, side: int, px: int, size: int) -> None:
        """Synthetic liquidity at px becomes ``size`` (0 removes); keeps queue positions sane."""
        book = self.mkt[side]
        old = book.get(px, 0)
        if size == old:
            return
        if size <= 0:
            if old:
                del book[px]
        else:
            book[px] = size
        if size < old:
            orders = self.own[side].get(px)
            if orders:
                for o in orders:
                    if o.ahead > size:
                        o.ahead = size
        self.touch(side, px)

    def snapshot(self, n: int | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        return ([(self.px_str(p), self.sz_str(s)) for p, s in self.levels(0, n)],
                [(self.px_str(p), self.sz_str(s)) for p, s in self.levels(1, n)])

    def mid(self) -> int:
        b, a = self.best(0), self.best(1)
        if b is None and a is None:
            return self.mark_px
        if b is None:
            return a  # type: ignore[return-value]
        if a is None:
            return b
        return (a + b) // 2

    def next_trade_id(self) -> int:
        self.trade_id += 1
        return self.trade_id


class Engine:
    """Orders, fills and the account of one venue."""

    def __init__(self, spec: VenueSpec, futures: bool) -> None:
        self.spec = spec
        self.futures = futures
        self.maker_fee = Decimal(spec.maker_fee)
        self.taker_fee = Decimal(spec.taker_fee)
        self.leverage = spec.leverage
        self.markets: dict[str, Market] = {s.symbol: Market(s) for s in spec.symbols}
        self.balances: dict[str, Decimal] = {a: Decimal(v) for a, v in spec.balances.items()}
        self.locked: dict[str, Decimal] = {a: Decimal(0) for a in self.balances}
        self.positions: dict[str, Position] = {s: Position() for s in self.markets}
        self.orders: dict[int, Order] = {}
        self.open_by_client: dict[str, Order] = {}
        # running notional of open orders: (symbol, side) -> sum(px * leaves * mult), kept
        # incrementally so margin checks and user events stay O(1) with many open orders
        self.open_notional: dict[tuple[str, str], Decimal] = {}
        self.margin_notional = Decimal(0)        # same, without reduce-only orders
        self.fills: list[Fill] = []
        self.fill_seq = 0
        self.listeners: list[Listener] = []
        self._next_order_id = 8_000_000_000
        #: Binance reports NEW before the fills of a crossing order; Bybit/OKX/Bitget push the
        #: resulting state only
        self.new_event_when_crossing = True

    # ---- helpers --------------------------------------------------------------------------
    def market(self, symbol: str) -> Market:
        m = self.markets.get(symbol)
        if m is None:
            raise Reject("UNKNOWN_SYMBOL", symbol)
        return m

    def _emit(self, order: Order, exec_type: str, fill: Fill | None = None) -> None:
        for lst in self.listeners:
            lst.order_event(order, exec_type, fill)

    def _emit_account(self, reason: str, symbols: list[str]) -> None:
        for lst in self.listeners:
            lst.account_event(reason, symbols)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.open_by_client.values() if symbol is None or o.symbol == symbol]

    def find(self, symbol: str, order_id: int | None = None, client_id: str | None = None) -> Order:
        o = None
        if order_id is not None:
            o = self.orders.get(order_id)
        elif client_id:
            o = self.open_by_client.get(client_id)
            if o is None:
                for cand in reversed(list(self.orders.values())):
                    if cand.client_id == client_id:
                        o = cand
                        break
        if o is None or o.symbol != symbol:
            raise Reject("UNKNOWN_ORDER")
        return o

    def unrealized(self, symbol: str) -> Decimal:
        p = self.positions[symbol]
        if not p.amt:
            return Decimal(0)
        m = self.markets[symbol]
        return (m.px_dec(m.mark_px) - p.entry) * m.sz_dec(p.amt) * m.mult

    def wallet(self) -> Decimal:
        return self.balances.get("USDT", Decimal(0))

    def _track(self, o: Order, sign: int) -> None:
        """Add (+1) or remove (-1) an open order's notional from the running sums."""
        m = self.markets[o.symbol]
        v = m.px_dec(o.px) * m.sz_dec(o.leaves) * m.mult
        key = (o.symbol, o.side)
        self.open_notional[key] = self.open_notional.get(key, Decimal(0)) + sign * v
        if not o.reduce_only:
            self.margin_notional += sign * v

    def _order_margin(self) -> Decimal:
        return self.margin_notional / self.leverage

    def position_margin(self) -> Decimal:
        total = Decimal(0)
        for sym, p in self.positions.items():
            if p.amt:
                m = self.markets[sym]
                total += abs(m.sz_dec(p.amt)) * m.px_dec(m.mark_px) * m.mult / self.leverage
        return total

    def available(self) -> Decimal:
        upnl = sum((self.unrealized(s) for s in self.positions), Decimal(0))
        return self.wallet() + upnl - self.position_margin() - self._order_margin()

    # ---- order entry ----------------------------------------------------------------------
    def validate(self, m: Market, side: str, type_: str, px: int, qty: int, reduce_only: bool) -> None:
        if side not in (BUY, SELL):
            raise Reject("BAD_SIDE", side)
        if qty <= 0:
            raise Reject("QTY_ZERO")
        if qty % m.lot:
            raise Reject("LOT_SIZE")
        if qty < m.min_qty:
            raise Reject("MIN_QTY")
        if type_ == "LIMIT":
            if px <= 0:
                raise Reject("PRICE_ZERO")
            if px % m.tick:
                raise Reject("TICK_SIZE")
        ref = px if type_ == "LIMIT" else m.mid()
        notional = m.px_dec(ref) * m.sz_dec(qty) * m.mult
        if not reduce_only and notional < m.min_notional:
            raise Reject("MIN_NOTIONAL", str(m.min_notional))

    def place(self, symbol: str, side: str, type_: str, qty: int, px: int = 0, tif: str = "GTC",
              client_id: str = "", reduce_only: bool = False, post_only: bool = False,
              extra: dict | None = None, post_only_reject: bool = True) -> Order:
        """Validate, accept and match one order. Raises Reject before anything is emitted."""
        self._trim()
        m = self.market(symbol)
        if type_ not in ("LIMIT", "MARKET"):
            raise Reject("BAD_TYPE", type_)
        if post_only:
            tif = "GTX"
        if tif not in ("GTC", "IOC", "FOK", "GTX"):
            raise Reject("BAD_TIF", tif)
        if type_ == "MARKET":
            px = 0
            tif = "IOC" if tif == "GTC" else tif
        self.validate(m, side, type_, px, qty, reduce_only)
        if client_id and client_id in self.open_by_client:
            raise Reject("DUPLICATE")
        sd = 0 if side == BUY else 1
        opp = 1 - sd
        best_opp = m.best(opp)
        crosses = best_opp is not None and (type_ == "MARKET" or
                                            (px >= best_opp if sd == 0 else px <= best_opp))
        if tif == "GTX" and crosses and post_only_reject:
            raise Reject("POST_ONLY")
        pos = self.positions[symbol]
        if reduce_only:
            if not self.futures:
                raise Reject("REDUCE_ONLY_SPOT")
            if pos.amt == 0 or (pos.amt > 0) == (sd == 0):
                raise Reject("REDUCE_ONLY")
        ref_px = px if type_ == "LIMIT" else (best_opp if best_opp is not None else m.mid())
        notional = m.px_dec(ref_px) * m.sz_dec(qty) * m.mult
        lock = Decimal(0)
        if self.futures:
            if not reduce_only:
                increases = pos.amt == 0 or (pos.amt > 0) == (sd == 0) or qty > abs(pos.amt)
                if increases and notional / self.leverage > self.available():
                    raise Reject("MARGIN")
        else:
            if sd == 0:
                lock = notional * (1 + self.taker_fee) if type_ == "MARKET" else notional
                if lock > self.balances.get(m.spec.quote, Decimal(0)) - self.locked.get(m.spec.quote, Decimal(0)):
                    raise Reject("BALANCE")
            else:
                lock = m.sz_dec(qty)
                if lock > self.balances.get(m.spec.base, Decimal(0)) - self.locked.get(m.spec.base, Decimal(0)):
                    raise Reject("BALANCE")
        if tif == "GTX" and crosses:
            # venues that accept the request and cancel the order (Bybit/OKX/Bitget)
            o = self._new_order(m, side, type_, tif, px, qty, client_id, reduce_only, extra)
            o.status = "CANCELED"
            o.expire_reason = "POST_ONLY"
            self._emit(o, "CANCELED")
            return o
        if tif == "FOK":
            if self._fillable(m, sd, px if type_ == "LIMIT" else None, qty) < qty:
                o = self._new_order(m, side, type_, tif, px, qty, client_id, reduce_only, extra)
                o.status = "EXPIRED"
                o.expire_reason = "INSUFFICIENT_LIQUIDITY"
                self._emit(o, "NEW")
                self._emit(o, "EXPIRED")
                return o
        o = self._new_order(m, side, type_, tif, px, qty, client_id, reduce_only, extra)
        self.open_by_client[o.client_id] = o
        self._track(o, 1)
        if not self.futures:
            asset = m.spec.quote if sd == 0 else m.spec.base
            o.locked = lock
            self.locked[asset] = self.locked.get(asset, Decimal(0)) + lock
        if not crosses or self.new_event_when_crossing:
            self._emit(o, "NEW")
        if crosses:
            self._take(m, o)
        if o.is_open:
            if o.tif in ("IOC", "FOK") or o.type == "MARKET":
                self._finish(o, "EXPIRED", o.expire_reason or "INSUFFICIENT_LIQUIDITY")
            else:
                self._rest(m, o)
        return o

    MAX_ORDERS = 200_000     # terminal orders beyond this are forgotten (oldest first)
    MAX_FILLS = 1_000_000

    def _trim(self) -> None:
        """Bound memory in long runs: keep open orders and the most recent history."""
        if len(self.orders) > self.MAX_ORDERS:
            drop = len(self.orders) - self.MAX_ORDERS // 2
            for oid in list(self.orders)[:drop]:
                if not self.orders[oid].is_open:
                    del self.orders[oid]
        if len(self.fills) > self.MAX_FILLS:
            del self.fills[: len(self.fills) - self.MAX_FILLS // 2]

    def _new_order(self, m: Market, side: str, type_: str, tif: str, px: int, qty: int,
                   client_id: str, reduce_only: bool, extra: dict | None) -> Order:
        self._next_order_id += 1
        oid = self._next_order_id
        ts = now_ms()
        o = Order(oid, client_id or f"sim{oid}", m.symbol, side, type_, tif, px, qty,
                  reduce_only, created_ms=ts, updated_ms=ts, extra=extra or {})
        self.orders[oid] = o
        return o

    def _fillable(self, m: Market, sd: int, limit: int | None, qty: int) -> int:
        opp = 1 - sd
        total = 0
        book = m.mkt[opp]
        own_best = m.own[opp].peekitem(0 if opp == 1 else -1)[0] if m.own[opp] else None
        keys = book.keys() if opp == 1 else reversed(book.keys())
        for px in keys:
            if limit is not None and (px > limit if opp == 1 else px < limit):
                break
            if own_best is not None and (px >= own_best if opp == 1 else px <= own_best):
                break
            total += book[px]
            if total >= qty:
                break
        return total

    def _take(self, m: Market, o: Order) -> None:
        """Match an aggressive order against synthetic liquidity (STP against our own)."""
        sd = 0 if o.side == BUY else 1
        opp = 1 - sd
        book = m.mkt[opp]
        own = m.own[opp]
        printed: list[tuple[int, int, int]] = []
        while o.leaves > 0:
            if self.futures and o.reduce_only:
                pos = self.positions[o.symbol].amt
                if pos == 0 or (pos > 0) == (sd == 0):
                    break
            if not book:
                break
            px = book.peekitem(0)[0] if opp == 1 else book.peekitem(-1)[0]
            if o.type == "LIMIT" and (px > o.px if opp == 1 else px < o.px):
                break
            own_best = (own.peekitem(0)[0] if opp == 1 else own.peekitem(-1)[0]) if own else None
            if own_best is not None and (own_best <= px if opp == 1 else own_best >= px):
                o.expire_reason = "EXPIRE_TAKER"
                self._finish(o, "EXPIRED", "EXPIRE_TAKER")
                break
            avail = book[px]
            q = min(avail, o.leaves)
            if self.futures and o.reduce_only:
                q = min(q, abs(self.positions[o.symbol].amt))
            m.set_level(opp, px, avail - q)
            f = self._fill(m, o, px, q, maker=False)
            printed.append((px, q, f.trade_id))
        for px, q, tid in printed:
            m.last_trade_px = px
            for cb in m.on_trade:
                cb(m, px, q, sd == 0, tid, now_ms())

    def _rest(self, m: Market, o: Order) -> None:
        sd = 0 if o.side == BUY else 1
        o.ahead = m.mkt[sd].get(o.px, 0)
        lst = m.own[sd].get(o.px)
        if lst is None:
            m.own[sd][o.px] = [o]
        else:
            lst.append(o)
        m.own_qty[sd][o.px] = m.own_qty[sd].get(o.px, 0) + o.leaves
        m.touch(sd, o.px)

    def _unrest(self, m: Market, o: Order) -> None:
        sd = 0 if o.side == BUY else 1
        lst = m.own[sd].get(o.px)
        if lst and o in lst:
            lst.remove(o)
            if not lst:
                del m.own[sd][o.px]
            left = m.own_qty[sd].get(o.px, 0) - o.leaves
            if left > 0:
                m.own_qty[sd][o.px] = left
            else:
                m.own_qty[sd].pop(o.px, None)
            m.touch(sd, o.px)

    def _finish(self, o: Order, status: str, reason: str = "") -> None:
        o.status = status
        o.updated_ms = now_ms()
        if reason:
            o.expire_reason = reason
        if self.open_by_client.pop(o.client_id, None) is not None:
            self._track(o, -1)
        self._release(o)
        self._emit(o, status if status != "CANCELED" else "CANCELED")

    def _release(self, o: Order) -> None:
        if not self.futures and o.locked:
            m = self.markets[o.symbol]
            asset = m.spec.quote if o.side == BUY else m.spec.base
            self.locked[asset] = self.locked.get(asset, Decimal(0)) - o.locked
            o.locked = Decimal(0)

    def _fill(self, m: Market, o: Order, px: int, q: int, maker: bool) -> Fill:
        ts = now_ms()
        pxd, qd = m.px_dec(px), m.sz_dec(q)
        notional = pxd * qd * m.mult
        rate = self.maker_fee if maker else self.taker_fee
        realized = Decimal(0)
        if self.futures:
            fee = notional * rate
            fee_asset = m.spec.quote
            pos = self.positions[o.symbol]
            signed = q if o.side == BUY else -q
            if pos.amt == 0 or (pos.amt > 0) == (signed > 0):
                tot = abs(pos.amt) + q
                pos.entry = (pos.entry * abs(pos.amt) + pxd * q) / tot
                pos.amt += signed
            else:
                close = min(q, abs(pos.amt))
                direction = 1 if pos.amt > 0 else -1
                realized = (pxd - pos.entry) * m.sz_dec(close) * m.mult * direction
                pos.amt += signed
                if pos.amt == 0:
                    pos.entry = Decimal(0)
                elif (pos.amt > 0) == (signed > 0):   # flipped
                    pos.entry = pxd
            pos.realized += realized
            self.balances[fee_asset] = self.balances.get(fee_asset, Decimal(0)) + realized - fee
        else:
            base, quote = m.spec.base, m.spec.quote
            if o.side == BUY:
                fee = qd * rate
                fee_asset = base
                if o.type == "LIMIT":
                    unlock = min(o.locked, m.px_dec(o.px) * qd)
                elif o.leaves == q:
                    unlock = o.locked
                else:
                    unlock = min(o.locked, notional * (1 + self.taker_fee))
                o.locked -= unlock
                self.locked[quote] -= unlock
                self.balances[quote] = self.balances.get(quote, Decimal(0)) - notional
                self.balances[base] = self.balances.get(base, Decimal(0)) + qd - fee
            else:
                fee = notional * rate
                fee_asset = quote
                unlock = min(o.locked, qd)
                o.locked -= unlock
                self.locked[base] -= unlock
                self.balances[base] = self.balances.get(base, Decimal(0)) - qd
                self.balances[quote] = self.balances.get(quote, Decimal(0)) + notional - fee
        is_open = self.open_by_client.get(o.client_id) is o
        if is_open:
            self._track(o, -1)
        o.filled += q
        if is_open and o.leaves:
            self._track(o, 1)
        o.quote_cum += notional
        o.fee_cum += fee
        o.updated_ms = ts
        o.status = "FILLED" if o.leaves == 0 else "PARTIALLY_FILLED"
        self.fill_seq += 1
        f = Fill(m.next_trade_id(), o, px, q, fee, fee_asset, maker, realized, ts, self.fill_seq)
        self.fills.append(f)
        if o.status == "FILLED":
            self.open_by_client.pop(o.client_id, None)
            self._release(o)
        self._emit(o, "TRADE", f)
        self._emit_account("ORDER", [o.symbol])
        return f

    def cancel(self, symbol: str, order_id: int | None = None, client_id: str | None = None) -> Order:
        o = self.find(symbol, order_id, client_id)
        if not o.is_open:
            raise Reject("UNKNOWN_ORDER")
        m = self.markets[symbol]
        self._unrest(m, o)
        self._finish(o, "CANCELED")
        return o

    def cancel_all(self, symbol: str) -> list[Order]:
        self.market(symbol)
        out = []
        for o in self.open_orders(symbol):
            out.append(self.cancel(symbol, o.order_id))
        return out

    def amend(self, symbol: str, order_id: int | None, client_id: str | None,
              qty: int | None = None, px: int | None = None) -> Order:
        """Change price and/or quantity of a resting order in place (venue 'modify' semantics:
        a price change or a size increase loses queue priority; a decrease keeps it)."""
        o = self.find(symbol, order_id, client_id)
        if not o.is_open:
            raise Reject("UNKNOWN_ORDER")
        m = self.markets[symbol]
        new_px = o.px if px is None else px
        new_qty = o.qty if qty is None else qty
        self.validate(m, o.side, o.type, new_px, new_qty, o.reduce_only)
        if new_qty <= o.filled:
            raise Reject("AMEND_QTY")
        sd = 0 if o.side == BUY else 1
        best_opp = m.best(1 - sd)
        if best_opp is not None and (new_px >= best_opp if sd == 0 else new_px <= best_opp):
            if o.tif == "GTX":
                raise Reject("POST_ONLY")
        if new_px == o.px and new_qty <= o.qty:
            # size decrease at the same price keeps the queue position
            diff = o.qty - new_qty
            if not self.futures and diff:
                m_lock = (m.px_dec(o.px) if o.side == BUY else 1) * m.sz_dec(diff)
                m_lock = min(m_lock, o.locked)
                asset = m.spec.quote if o.side == BUY else m.spec.base
                o.locked -= m_lock
                self.locked[asset] -= m_lock
            self._track(o, -1)
            o.qty = new_qty
            self._track(o, 1)
            left = m.own_qty[sd].get(o.px, 0) - diff
            if left > 0:
                m.own_qty[sd][o.px] = left
            else:
                m.own_qty[sd].pop(o.px, None)
            if diff:
                m.touch(sd, o.px)
            o.updated_ms = now_ms()
            self._emit(o, "AMENDMENT")
            return o
        self._unrest(m, o)
        if not self.futures:
            self._release(o)
            if o.side == BUY:
                lock = m.px_dec(new_px) * m.sz_dec(new_qty - o.filled)
                asset = m.spec.quote
            else:
                lock = m.sz_dec(new_qty - o.filled)
                asset = m.spec.base
            if lock > self.balances.get(asset, Decimal(0)) - self.locked.get(asset, Decimal(0)):
                # restore the old lock and queue entry (at the back: it was taken out)
                old_lock = (m.px_dec(o.px) * m.sz_dec(o.leaves)) if o.side == BUY else m.sz_dec(o.leaves)
                o.locked = old_lock
                self.locked[asset] = self.locked.get(asset, Decimal(0)) + old_lock
                self._rest(m, o)
                raise Reject("BALANCE")
            o.locked = lock
            self.locked[asset] = self.locked.get(asset, Decimal(0)) + lock
        self._track(o, -1)
        o.px, o.qty = new_px, new_qty
        self._track(o, 1)
        o.updated_ms = now_ms()
        self._emit(o, "AMENDMENT")
        if best_opp is not None and (new_px >= best_opp if sd == 0 else new_px <= best_opp):
            self._take(m, o)
        if o.is_open:
            self._rest(m, o)
        return o

    # ---- synthetic market interaction ------------------------------------------------------
    def market_trade(self, m: Market, aggressor_buy: bool, qty: int) -> list[tuple[int, int]]:
        """A synthetic aggressor sweeps the displayed book on the opposite side for ``qty``.
        Our resting orders fill by queue position; returns the printed (price, size) list."""
        side = 1 if aggressor_buy else 0
        book = m.mkt[side]
        own = m.own[side]
        printed = []
        rem = qty
        while rem > 0:
            px = m.best(side)
            if px is None:
                break
            synth = book.get(px, 0)
            orders = own.get(px)
            traded = 0
            consumed_synth = 0
            if orders:
                for o in list(orders):
                    need = o.ahead - consumed_synth
                    if need > 0:
                        take = min(rem, need, synth - consumed_synth)
                        consumed_synth += take
                        rem -= take
                        traded += take
                        if rem == 0:
                            break
                    f = min(rem, o.leaves)
                    if f > 0:
                        rem -= f
                        traded += f
                        self._maker_fill(m, o, px, f)
                    if rem == 0:
                        break
            take = min(rem, synth - consumed_synth)
            consumed_synth += take
            rem -= take
            traded += take
            if orders:
                for o in own.get(px, ()):
                    o.ahead = max(0, o.ahead - consumed_synth)
            if consumed_synth:
                m.set_level(side, px, synth - consumed_synth)
            if traded:
                printed.append((px, traded))
            if m.displayed(side, px) > 0:
                break   # level not exhausted: aggressor done
        return printed

    def _maker_fill(self, m: Market, o: Order, px: int, q: int) -> None:
        sd = 0 if o.side == BUY else 1
        if self.futures and o.reduce_only:
            pos = self.positions[o.symbol].amt
            if pos == 0 or (pos > 0) == (sd == 0):
                self._unrest(m, o)
                self._finish(o, "EXPIRED", "REDUCE_ONLY")
                return
            q = min(q, abs(pos))
        left = m.own_qty[sd].get(px, 0) - q
        if left > 0:
            m.own_qty[sd][px] = left
        else:
            m.own_qty[sd].pop(px, None)
        m.touch(sd, px)
        self._fill(m, o, px, q, maker=True)
        if not o.is_open:
            lst = m.own[sd].get(px)
            if lst and o in lst:
                lst.remove(o)
                if not lst:
                    del m.own[sd][px]
