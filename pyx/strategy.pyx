# SPDX-License-Identifier: Apache-2.0
"""engine.strategy: the shared engine state (``Context``) and the ``Strategy`` base class.

Compiled strategies subclass ``Strategy`` in Cython and override the ``noexcept nogil`` hooks
declared in ``engine/strategy.pxd``; pure-Python strategies subclass ``PyStrategy`` and define
``on_quote_py`` & co (the slow path: one GIL round trip and a dict per event). Hooks emit order
intents into a fixed ring owned by the base class; the dispatcher (``engine.pipeline``) drains it
after every event, runs the risk gate and sends.
"""
cimport cython
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset
from libc.math cimport isfinite, fabs
from libc.stdint cimport int32_t, int64_t, uint64_t

from engine.types cimport *

import weakref

from engine.errors import StrategyError
from engine.instruments import Instrument

# id(strategy) -> the Pipeline it is attached to (set by engine.pipeline.Pipeline): intents a
# shell-driven hook (deliver_fill / deliver_timer) emits are sent at once, not at the next frame.
# The Pipeline holds the strategy, so the id cannot be reused while the entry lives.
_flushers = weakref.WeakValueDictionary()

HOOKS = ("on_quote", "on_trade", "on_book", "on_fill", "on_timer")
PY_HOOKS = ("on_quote_py", "on_trade_py", "on_book_py", "on_fill_py", "on_timer_py")

SIDE_BUY = ENG_SIDE_BUY
SIDE_SELL = ENG_SIDE_SELL
ORD_LIMIT = ENG_ORD_LIMIT
ORD_MARKET = ENG_ORD_MARKET
TIF_GTC = ENG_TIF_GTC
TIF_IOC = ENG_TIF_IOC
TIF_FOK = ENG_TIF_FOK
TIF_POST_ONLY = ENG_TIF_POST_ONLY
FLAG_REDUCE_ONLY = ENG_FLAG_REDUCE_ONLY
INTENT_NEW = ENG_INTENT_NEW
INTENT_CANCEL = ENG_INTENT_CANCEL
INTENT_AMEND = ENG_INTENT_AMEND
INTENT_CANCEL_ALL = ENG_INTENT_CANCEL_ALL
RING_CAP = ENG_RING_CAP
MAX_INSTRUMENTS = ENG_MAX_INSTRUMENTS
MAX_SLOW_SIGNALS = ENG_MAX_SLOW_SIGNALS

_INTENT_FIELDS = ("px", "sz", "client_id", "target_id", "ts_ns", "kind", "venue", "inst", "side",
                  "ord_type", "tif", "flags", "tag")


cdef dict intent_to_dict(const eng_intent* it):
    return {
        "kind": it.kind, "venue": it.venue, "inst": it.inst, "side": it.side,
        "ord_type": it.ord_type, "tif": it.tif, "flags": it.flags, "tag": it.tag,
        "px": it.px, "sz": it.sz, "client_id": it.client_id, "target_id": it.target_id,
        "ts_ns": it.ts_ns,
    }


cdef int intent_from_dict(object d, eng_intent* out) except -1:
    """Fill ``out`` from a dict with the keys of :func:`intent_to_dict` (missing keys are 0)."""
    unknown = set(d) - set(_INTENT_FIELDS)
    if unknown:
        raise ValueError(f"unknown intent fields: {sorted(unknown)}")
    memset(out, 0, sizeof(eng_intent))
    out.px = d.get("px", 0)
    out.sz = d.get("sz", 0)
    out.client_id = d.get("client_id", 0)
    out.target_id = d.get("target_id", 0)
    out.ts_ns = d.get("ts_ns", 0)
    out.kind = d.get("kind", 0)
    out.venue = d.get("venue", 0)
    out.inst = d.get("inst", 0)
    out.side = d.get("side", 0)
    out.ord_type = d.get("ord_type", 0)
    out.tif = d.get("tif", 0)
    out.flags = d.get("flags", 0)
    out.tag = d.get("tag", 0)
    return 0


@cython.final
@cython.no_gc_clear
cdef class Context:
    """The process-wide shared state (one ``eng_ctx``) read by hooks and the risk gate.

    The shell writes it between batches: books keep ``top[inst]`` current, the router/state
    apply fills and open orders, background tasks write slow signals. Hooks only read it.
    """

    def __cinit__(self):
        self.c = <eng_ctx*>calloc(1, sizeof(eng_ctx))
        if self.c == NULL:
            raise MemoryError("eng_ctx")
        cdef int i
        for i in range(ENG_MAX_INSTRUMENTS):
            self.c.top[i].inst = i
        self._instruments = {}
        self._keep = {}

    def __dealloc__(self):
        # books bound to ctx.top[] must stop writing into it before it is freed
        if self._keep:
            for obj in self._keep.values():
                obj.bind_top_address(0)
        free(self.c)
        self.c = NULL

    cdef int check_inst(self, int inst) except -1:
        if inst < 0 or inst >= ENG_MAX_INSTRUMENTS or inst not in self._instruments:
            raise KeyError(f"instrument id {inst} is not registered with this Context")
        return 0

    def add_instrument(self, inst not None):
        """Register an :class:`engine.instruments.Instrument` (fills ``ins[inst.id]``)."""
        if not isinstance(inst, Instrument):
            raise TypeError(f"expected engine.instruments.Instrument, got {type(inst).__name__}")
        cdef int i = inst.id
        if i in self._instruments and self._instruments[i] != inst:
            raise ValueError(f"instrument id {i} already registered as {self._instruments[i].symbol}")
        cdef eng_instrument* e = &self.c.ins[i]
        e.id = i
        e.venue = int(inst.venue)
        e.px_exp = inst.px_exp
        e.sz_exp = inst.sz_exp
        e.tick_px = max(1, inst.tick_units)
        e.lot_sz = max(1, inst.lot_units)
        e.min_sz = inst.min_qty_units
        e.px_scale = 10.0 ** -inst.px_exp
        e.sz_scale = 10.0 ** -inst.sz_exp
        e.contract_mult = float(inst.contract_mult)
        if not (isfinite(e.contract_mult) and e.contract_mult > 0):
            raise ValueError(f"{inst.symbol}: contract_mult must be a positive finite number")
        self._instruments[i] = inst
        if i + 1 > self.c.n_instruments:
            self.c.n_instruments = i + 1
        return inst

    def instrument(self, int inst):
        """The registered :class:`Instrument` with this id."""
        self.check_inst(inst)
        return self._instruments[inst]

    @property
    def instruments(self):
        return dict(self._instruments)

    @property
    def n_instruments(self):
        return self.c.n_instruments

    @property
    def kill(self):
        """Kill switch: while true the risk gate rejects every new order (cancels still pass)."""
        return bool(self.c.kill)

    @kill.setter
    def kill(self, value):
        self.c.kill = 1 if value else 0

    @property
    def daily_pnl(self):
        """Realised (+ unrealised, if the state layer writes it) PnL of the trading day, quote ccy."""
        return self.c.daily_pnl

    @daily_pnl.setter
    def daily_pnl(self, double value):
        if not isfinite(value):
            raise ValueError("daily_pnl must be finite")
        self.c.daily_pnl = value

    def set_slow(self, int inst, int slot, double value, ts_ns=None):
        """Write slow signal ``slot`` (``ENG_SIG_*``) of ``inst``; ``ts_ns`` defaults to now (monotonic)."""
        self.check_inst(inst)
        if slot < 0 or slot >= ENG_MAX_SLOW_SIGNALS:
            raise IndexError(f"slow signal slot {slot} outside 0..{ENG_MAX_SLOW_SIGNALS - 1}")
        if not isfinite(value):
            raise ValueError(f"slow signal value must be finite, got {value!r}")
        self.c.slow[inst][slot] = value
        self.c.slow_ts_ns[inst][slot] = eng_now_ns() if ts_ns is None else int(ts_ns)

    def slow(self, int inst, int slot):
        """``(value, ts_ns)`` of a slow signal (ts 0 = never written)."""
        self.check_inst(inst)
        if slot < 0 or slot >= ENG_MAX_SLOW_SIGNALS:
            raise IndexError(f"slow signal slot {slot} outside 0..{ENG_MAX_SLOW_SIGNALS - 1}")
        return self.c.slow[inst][slot], self.c.slow_ts_ns[inst][slot]

    def set_top(self, int inst, int64_t bid_px, int64_t bid_sz, int64_t ask_px, int64_t ask_sz,
                bint valid=True, update_ns=None, int64_t last_id=0):
        """Write the top of book of a top-only instrument (no L2 book bound) from the shell or a test."""
        self.check_inst(inst)
        if bid_px < 0 or bid_sz < 0 or ask_px < 0 or ask_sz < 0:
            raise ValueError("top of book prices/sizes must be >= 0")
        cdef eng_book_top* t = &self.c.top[inst]
        t.bid_px = bid_px
        t.bid_sz = bid_sz
        t.ask_px = ask_px
        t.ask_sz = ask_sz
        t.last_id = last_id
        t.update_ns = eng_now_ns() if update_ns is None else int(update_ns)
        t.valid = 1 if valid else 0

    def invalidate(self, int inst):
        """Mark the top of ``inst`` invalid (e.g. feed disconnected): the risk gate stops new orders."""
        self.check_inst(inst)
        self.c.top[inst].valid = 0

    def top(self, int inst):
        """Top of book of ``inst`` as a dict of units (``valid`` false when unsynced)."""
        self.check_inst(inst)
        cdef eng_book_top* t = &self.c.top[inst]
        return {"inst": inst, "bid_px": t.bid_px, "bid_sz": t.bid_sz, "ask_px": t.ask_px,
                "ask_sz": t.ask_sz, "last_id": t.last_id, "update_ns": t.update_ns,
                "valid": bool(t.valid)}

    def position(self, int inst):
        """Position of ``inst``: net size units, open orders, average price, PnL (quote ccy)."""
        self.check_inst(inst)
        cdef eng_position* p = &self.c.pos[inst]
        return {"inst": inst, "sz": p.sz, "open_orders": p.open_orders, "open_buy_sz": p.open_buy_sz,
                "open_sell_sz": p.open_sell_sz, "avg_px": p.avg_px, "realised_pnl": p.realised_pnl,
                "fees": p.fees, "funding": p.funding}

    def set_position(self, int inst, int64_t sz, double avg_px=0.0, double realised_pnl=0.0,
                     double fees=0.0, double funding=0.0):
        """Overwrite a position (restart reconciliation from the venue's truth)."""
        self.check_inst(inst)
        if not (isfinite(avg_px) and isfinite(realised_pnl) and isfinite(fees) and isfinite(funding)):
            raise ValueError("position values must be finite")
        if avg_px < 0:
            raise ValueError("avg_px must be >= 0")
        cdef eng_position* p = &self.c.pos[inst]
        p.sz = sz
        p.avg_px = avg_px if sz != 0 else 0.0
        p.realised_pnl = realised_pnl
        p.fees = fees
        p.funding = funding

    def set_open_orders(self, int inst, int64_t n, int64_t buy_sz=0, int64_t sell_sz=0):
        """Live orders of ``inst`` on the venue (the router's truth; the risk gate counts them)."""
        self.check_inst(inst)
        if n < 0 or buy_sz < 0 or sell_sz < 0:
            raise ValueError("open order counts/sizes must be >= 0")
        cdef eng_position* p = &self.c.pos[inst]
        p.open_orders = n
        p.open_buy_sz = buy_sz
        p.open_sell_sz = sell_sz

    def apply_fill(self, int inst, int side, int64_t px_units, int64_t sz_units, double fee=0.0):
        """Apply one of our fills to the position of ``inst``.

        Parameters
        ----------
        side : ``ENG_SIDE_BUY`` (1) or ``ENG_SIDE_SELL`` (-1)
        px_units, sz_units : fill price / size in the instrument's units (size > 0)
        fee : quote currency paid (negative = rebate); subtracted from realised PnL

        Returns
        -------
        float
            The realised PnL of this fill (after its fee); also added to ``daily_pnl``.
        """
        self.check_inst(inst)
        if side != ENG_SIDE_BUY and side != ENG_SIDE_SELL:
            raise ValueError(f"side must be 1 (buy) or -1 (sell), got {side}")
        if px_units <= 0 or sz_units <= 0:
            raise ValueError("fill price and size must be > 0")
        if not isfinite(fee):
            raise ValueError("fee must be finite")
        return _apply_fill(self.c, inst, side, px_units, sz_units, fee)


cdef double _apply_fill(eng_ctx* c, int inst, int side, int64_t px_units, int64_t sz_units,
                        double fee) noexcept nogil:
    cdef eng_position* p = &c.pos[inst]
    cdef eng_instrument* ins = &c.ins[inst]
    cdef double px = <double>px_units * ins.px_scale
    cdef double mult = ins.sz_scale * ins.contract_mult
    cdef int64_t q = sz_units if side == ENG_SIDE_BUY else -sz_units
    cdef int64_t old = p.sz
    cdef int64_t closing, absold, absq
    cdef double realised = 0.0
    if old == 0 or (old > 0) == (q > 0):
        absold = old if old > 0 else -old
        absq = q if q > 0 else -q
        p.avg_px = (p.avg_px * <double>absold + px * <double>absq) / <double>(absold + absq)
        p.sz = old + q
    else:
        absold = old if old > 0 else -old
        absq = q if q > 0 else -q
        closing = absq if absq < absold else absold
        # long closed by a sell gains (px - avg); short closed by a buy gains (avg - px)
        realised = (px - p.avg_px) * <double>closing * mult * (1.0 if old > 0 else -1.0)
        p.sz = old + q
        if p.sz == 0:
            p.avg_px = 0.0
        elif absq > absold:                       # flipped: the remainder opens at the fill price
            p.avg_px = px
    realised -= fee
    p.realised_pnl += realised
    p.fees += fee
    c.daily_pnl += realised
    return realised


cdef set _checked_types = set()


cdef _reject_python_hooks(type cls):
    """A Python-level ``on_quote`` on a Strategy subclass would never be called: refuse the class."""
    if cls in _checked_types:
        return
    for klass in cls.__mro__:
        if klass is Strategy or klass is PyStrategy or klass is object:
            continue
        d = klass.__dict__
        for name in HOOKS:
            if name in d:
                hint = (f"rename it to {name}_py and subclass engine.strategy.PyStrategy"
                        if not issubclass(cls, PyStrategy) else f"rename it to {name}_py")
                raise TypeError(
                    f"{klass.__module__}.{klass.__qualname__} defines a Python method {name!r}, which the "
                    f"compiled dispatcher would never call (hooks are cdef noexcept nogil methods); {hint}, "
                    f"or override it as a cdef hook in a compiled .pyx")
    _checked_types.add(cls)


cdef inline void _intent(eng_intent* it, int kind, int inst, int side, int ord_type, int tif,
                         int flags, int64_t px, int64_t sz, int64_t target_id) noexcept nogil:
    """Zero ``it`` and set the fields the emit helpers choose (the rest is stamped by ``emit``).
    Inlined with constant arguments, so each helper compiles to the same stores as before."""
    memset(it, 0, sizeof(eng_intent))
    it.kind = kind
    it.inst = inst
    it.side = side
    it.ord_type = ord_type
    it.tif = tif
    it.flags = flags
    it.px = px
    it.sz = sz
    it.target_id = target_id


# Shared steps of the Python-facing deliver_* methods. Module functions, not cdef methods: the
# Strategy vtable is ABI (engine/strategy.pxd).
cdef int _deliver_venue(Strategy s, int inst) except -1:
    """Bound-context and instrument-range checks; returns the venue of ``inst``."""
    s._require_ctx()
    if inst < 0 or inst >= ENG_MAX_INSTRUMENTS:
        raise IndexError(f"instrument id {inst} out of range")
    return s._eng.ctx.ins[inst].venue


cdef int _delivered(Strategy s, int rc, bint flush) except? -1:
    """Raise StrategyError for rc < 0; with ``flush`` send what the hook emitted either way."""
    if flush:
        try:
            s._check_rc(rc)
        finally:
            s._flush_to_pipeline()
    else:
        s._check_rc(rc)
    return rc


cdef class Strategy:
    """Base class of trading strategies.

    Compiled strategies (``cdef class MyStrat(Strategy)`` in a .pyx built with
    :func:`engine.build.compile_strategy`) override the ``cdef ... noexcept nogil`` hooks::

        cdef int on_quote(self, const eng_quote* q) noexcept nogil:
            if q.bid_px > ...:
                if self.buy(q.inst, q.bid_px, 1000) < 0:
                    return ENG_ERR_RING_FULL
            return 0

    Hook arguments point into decoder/feed buffers and are valid only for that call. A hook
    returns 0 or an ``ENG_ERR_*`` code; a negative code stops the batch, the shell engages the
    kill switch and raises :class:`engine.errors.StrategyError`. A full intent ring is a hard
    error even if the hook ignores the helper's return value.
    """

    def __cinit__(self, *args, **kwargs):
        _reject_python_hooks(type(self))
        eng_ring_clear(&self._eng.ring)
        self._eng.ctx = NULL
        self._eng.next_client_id = 1
        self._eng.now_ns = 0
        self._eng.n_events = 0
        self._eng.n_intents = 0
        self._eng.err = 0
        self._eng.last_rc = 0
        self._eng_context = None

    def __init__(self, Context ctx=None):
        if ctx is not None:
            self.bind_ctx(ctx)

    cdef int bind_ctx(self, Context ctx) except -1:
        if ctx is None:
            raise TypeError("ctx must be an engine.strategy.Context")
        if self._eng_context is not None and self._eng_context is not ctx:
            raise ValueError("strategy is already bound to another Context")
        self._eng_context = ctx
        self._eng.ctx = ctx.c
        return 0

    def bind(self, Context ctx not None):
        """Bind to the shared :class:`Context` (the Pipeline does this); hooks read it."""
        self.bind_ctx(ctx)

    @property
    def context(self):
        return self._eng_context

    @property
    def next_client_id(self):
        """Next client order id this strategy hands out (ids are > 0 and increase by 1)."""
        return self._eng.next_client_id

    @next_client_id.setter
    def next_client_id(self, int64_t value):
        if value <= 0:
            raise ValueError("client ids must be > 0")
        self._eng.next_client_id = value

    @property
    def n_events(self):
        return self._eng.n_events

    @property
    def n_intents(self):
        return self._eng.n_intents

    @property
    def pending_intents(self):
        """Intents in the ring not yet drained."""
        return eng_ring_len(&self._eng.ring)

    @property
    def last_rc(self):
        """rc of the last failing hook (0: none)."""
        return self._eng.last_rc

    # ---- default hooks: do nothing ----
    cdef int on_quote(self, const eng_quote* q) noexcept nogil:
        return 0

    cdef int on_trade(self, const eng_trade* t) noexcept nogil:
        return 0

    cdef int on_book(self, int inst) noexcept nogil:
        return 0

    cdef int on_fill(self, const eng_fill* f) noexcept nogil:
        return 0

    cdef int on_timer(self, int64_t now_ns) noexcept nogil:
        return 0

    # ---- emit helpers ----
    cdef int64_t emit(self, eng_intent* it) noexcept nogil:
        """Stamp ``it`` (client id, venue, ts) and push it; returns the client id or rc < 0."""
        cdef eng_ctx* c = self._eng.ctx
        if c == NULL or it.inst < 0 or it.inst >= ENG_MAX_INSTRUMENTS:
            return ENG_ERR_DOMAIN
        it.client_id = self._eng.next_client_id
        it.venue = c.ins[it.inst].venue
        it.ts_ns = eng_now_ns()
        if eng_ring_push(&self._eng.ring, it) != ENG_OK:
            self._eng.err = ENG_ERR_RING_FULL      # hard error even if the hook drops the rc
            return ENG_ERR_RING_FULL
        self._eng.next_client_id += 1
        self._eng.n_intents += 1
        return it.client_id

    cdef int64_t buy(self, int inst, int64_t px, int64_t sz, int tif=ENG_TIF_GTC,
                     int flags=0) noexcept nogil:
        cdef eng_intent it
        _intent(&it, ENG_INTENT_NEW, inst, ENG_SIDE_BUY, ENG_ORD_LIMIT, tif, flags, px, sz, 0)
        return self.emit(&it)

    cdef int64_t sell(self, int inst, int64_t px, int64_t sz, int tif=ENG_TIF_GTC,
                      int flags=0) noexcept nogil:
        cdef eng_intent it
        _intent(&it, ENG_INTENT_NEW, inst, ENG_SIDE_SELL, ENG_ORD_LIMIT, tif, flags, px, sz, 0)
        return self.emit(&it)

    cdef int64_t market(self, int inst, int side, int64_t sz, int flags=0) noexcept nogil:
        cdef eng_intent it
        _intent(&it, ENG_INTENT_NEW, inst, side, ENG_ORD_MARKET, ENG_TIF_IOC, flags, 0, sz, 0)
        return self.emit(&it)

    cdef int64_t cancel(self, int inst, int64_t client_id) noexcept nogil:
        cdef eng_intent it
        _intent(&it, ENG_INTENT_CANCEL, inst, 0, 0, 0, 0, 0, 0, client_id)
        return self.emit(&it)

    cdef int64_t cancel_all(self, int inst) noexcept nogil:
        cdef eng_intent it
        _intent(&it, ENG_INTENT_CANCEL_ALL, inst, 0, 0, 0, 0, 0, 0, 0)
        return self.emit(&it)

    cdef int64_t amend(self, int inst, int64_t client_id, int64_t px, int64_t sz) noexcept nogil:
        cdef eng_intent it
        _intent(&it, ENG_INTENT_AMEND, inst, 0, ENG_ORD_LIMIT, ENG_TIF_GTC, 0, px, sz, client_id)
        return self.emit(&it)

    # ---- dispatch ----
    cdef int dispatch_quote(self, const eng_quote* q) noexcept nogil:
        if self._eng.ctx == NULL:
            return ENG_ERR_DOMAIN
        self._eng.now_ns = q.recv_ts_ns
        self._eng.n_events += 1
        return self._finish(self.on_quote(q))

    cdef int dispatch_quotes(self, const eng_quote* qs, int n) noexcept:
        """Dispatch ``n`` quotes in ONE nogil section; stops at the first rc < 0 and returns it,
        else the number of events dispatched. Intents accumulate in the ring (drain after)."""
        cdef int i, rc = 0
        if self._eng.ctx == NULL:
            return ENG_ERR_DOMAIN
        with nogil:
            for i in range(n):
                self._eng.now_ns = qs[i].recv_ts_ns
                self._eng.n_events += 1
                rc = self._finish(self.on_quote(&qs[i]))
                if rc < 0:
                    break
        return rc if rc < 0 else n

    cdef int dispatch_trade(self, const eng_trade* t) noexcept nogil:
        if self._eng.ctx == NULL:
            return ENG_ERR_DOMAIN
        self._eng.now_ns = t.recv_ts_ns
        self._eng.n_events += 1
        return self._finish(self.on_trade(t))

    cdef int dispatch_book(self, int inst) noexcept nogil:
        if self._eng.ctx == NULL:
            return ENG_ERR_DOMAIN
        self._eng.now_ns = self._eng.ctx.top[inst].update_ns
        self._eng.n_events += 1
        return self._finish(self.on_book(inst))

    cdef int dispatch_fill(self, const eng_fill* f) noexcept nogil:
        if self._eng.ctx == NULL:
            return ENG_ERR_DOMAIN
        self._eng.now_ns = f.recv_ts_ns
        self._eng.n_events += 1
        return self._finish(self.on_fill(f))

    cdef int dispatch_timer(self, int64_t now_ns) noexcept nogil:
        if self._eng.ctx == NULL:
            return ENG_ERR_DOMAIN
        self._eng.now_ns = now_ns
        self._eng.n_events += 1
        return self._finish(self.on_timer(now_ns))

    cdef int pop_intent(self, eng_intent* out) noexcept nogil:
        return eng_ring_pop(&self._eng.ring, out)

    # ---- Python side (shell, router, tests) ----
    cdef int _check_rc(self, int rc) except -1:
        if rc < 0:
            if self._eng.ctx != NULL:
                self._eng.ctx.kill = 1
            exc = StrategyError(rc, self)
            cause = (<PyStrategy>self)._eng_exc if isinstance(self, PyStrategy) else None
            if cause is not None:
                (<PyStrategy>self)._eng_exc = None
                raise exc from cause
            raise exc
        return 0

    def _flush_to_pipeline(self):
        """When attached to a Pipeline, send what the hook just emitted (risk -> encode -> write)."""
        p = _flushers.get(id(self))
        if p is not None and eng_ring_len(&self._eng.ring):
            p.flush()

    def raise_for_rc(self, int rc):
        """rc < 0: engage the kill switch and raise :class:`StrategyError` (chained to the
        Python exception of a failing PyStrategy hook). The pipeline calls this."""
        self._check_rc(rc)

    def _require_ctx(self):
        if self._eng.ctx == NULL:
            raise RuntimeError("strategy is not bound to a Context (Strategy(ctx) or Pipeline(...))")

    def drain_intents(self):
        """Pop every pending intent as a list of dicts (tests, the pure-Python router path)."""
        cdef eng_intent it
        out = []
        while eng_ring_pop(&self._eng.ring, &it):
            out.append(intent_to_dict(&it))
        return out

    def deliver_quote(self, int inst, int64_t bid_px, int64_t bid_sz, int64_t ask_px, int64_t ask_sz,
                      int64_t recv_ns=0, int64_t update_id=0, int64_t exch_ts_ns=0):
        """Dispatch one quote to ``on_quote`` (no book/ctx update). Raises StrategyError on rc < 0."""
        cdef int venue = _deliver_venue(self, inst)
        cdef eng_quote q
        q.bid_px = bid_px
        q.bid_sz = bid_sz
        q.ask_px = ask_px
        q.ask_sz = ask_sz
        q.update_id = update_id
        q.exch_ts_ns = exch_ts_ns
        q.recv_ts_ns = recv_ns if recv_ns else eng_now_ns()
        q.inst = inst
        q.venue = venue
        cdef int rc
        with nogil:
            rc = self.dispatch_quote(&q)
        return _delivered(self, rc, False)

    def deliver_quotes(self, quotes):
        """Dispatch a batch of quotes ``(inst, bid_px, bid_sz, ask_px, ask_sz[, recv_ns])`` through
        ``dispatch_quotes`` (ONE nogil section). Returns the number dispatched; raises StrategyError
        at the first rc < 0 (later quotes are not dispatched). Intents stay in the ring."""
        self._require_ctx()
        cdef Py_ssize_t n = len(quotes), i
        if n == 0:
            return 0
        if n > 1_000_000:
            raise ValueError("batch too large")
        cdef eng_quote* qs = <eng_quote*>calloc(n, sizeof(eng_quote))
        if qs == NULL:
            raise MemoryError()
        cdef int rc
        cdef int64_t now = eng_now_ns()
        try:
            for i in range(n):
                t = quotes[i]
                if len(t) not in (5, 6):
                    raise ValueError("quote tuples are (inst, bid_px, bid_sz, ask_px, ask_sz[, recv_ns])")
                if not 0 <= t[0] < ENG_MAX_INSTRUMENTS:
                    raise IndexError(f"instrument id {t[0]} out of range")
                qs[i].inst = t[0]
                qs[i].venue = self._eng.ctx.ins[qs[i].inst].venue
                qs[i].bid_px = t[1]
                qs[i].bid_sz = t[2]
                qs[i].ask_px = t[3]
                qs[i].ask_sz = t[4]
                qs[i].recv_ts_ns = t[5] if len(t) == 6 else now
            rc = self.dispatch_quotes(qs, <int>n)
        finally:
            free(qs)
        self._check_rc(rc)
        return rc

    def deliver_trade(self, int inst, int64_t px, int64_t sz, int side=0, int64_t trade_id=0,
                      int64_t recv_ns=0, int64_t exch_ts_ns=0):
        """Dispatch one public trade to ``on_trade``. Raises StrategyError on rc < 0."""
        cdef int venue = _deliver_venue(self, inst)
        cdef eng_trade t
        memset(&t, 0, sizeof(eng_trade))
        t.px = px
        t.sz = sz
        t.side = side
        t.trade_id = trade_id
        t.exch_ts_ns = exch_ts_ns
        t.recv_ts_ns = recv_ns if recv_ns else eng_now_ns()
        t.inst = inst
        t.venue = venue
        cdef int rc
        with nogil:
            rc = self.dispatch_trade(&t)
        return _delivered(self, rc, False)

    def deliver_book(self, int inst):
        """Dispatch ``on_book(inst)`` (after the shell applied a book update)."""
        _deliver_venue(self, inst)
        cdef int rc
        with nogil:
            rc = self.dispatch_book(inst)
        return _delivered(self, rc, False)

    def deliver_fill(self, int inst, int side, int64_t px, int64_t sz, double fee=0.0,
                     int64_t client_id=0, bint is_maker=False, bint apply=True,
                     int64_t recv_ns=0, int64_t exch_ts_ns=0):
        """One of our fills: update the Context position (``apply``), then call ``on_fill``.

        The router calls this for every execution report. Raises StrategyError on rc < 0.
        """
        cdef int venue = _deliver_venue(self, inst)
        if apply:
            self._eng_context.apply_fill(inst, side, px, sz, fee)
        cdef eng_fill f
        memset(&f, 0, sizeof(eng_fill))
        f.client_id = client_id
        f.px = px
        f.sz = sz
        f.fee = fee
        f.side = side
        f.is_maker = is_maker
        f.inst = inst
        f.venue = venue
        f.exch_ts_ns = exch_ts_ns
        f.recv_ts_ns = recv_ns if recv_ns else eng_now_ns()
        cdef int rc
        with nogil:
            rc = self.dispatch_fill(&f)
        return _delivered(self, rc, True)

    def deliver_timer(self, now_ns=None):
        """Call ``on_timer(now_ns)`` (monotonic ns, default now). Raises StrategyError on rc < 0."""
        self._require_ctx()
        cdef int64_t t = eng_now_ns() if now_ns is None else int(now_ns)
        cdef int rc
        with nogil:
            rc = self.dispatch_timer(t)
        return _delivered(self, rc, True)

    def bench_dispatch_quotes(self, int inst, int n, int64_t base_px=6500000, int drain=1):
        """Benchmark helper: dispatch ``n`` synthetic quotes (a deterministic random walk around
        ``base_px``) in ONE nogil loop, draining the ring after every event when ``drain``.

        Returns ``(elapsed_ns, intents_drained, rc)``. The quotes are built before timing.
        """
        self._require_ctx()
        if n <= 0:
            raise ValueError("n must be > 0")
        if inst < 0 or inst >= ENG_MAX_INSTRUMENTS:
            raise IndexError(f"instrument id {inst} out of range")
        cdef eng_quote* qs = <eng_quote*>calloc(n, sizeof(eng_quote))
        if qs == NULL:
            raise MemoryError()
        cdef uint64_t x = 88172645463325252ULL
        cdef int64_t px = base_px
        cdef int i, rc = 0
        cdef int64_t t0, t1, drained = 0
        cdef eng_intent it
        cdef int venue = self._eng.ctx.ins[inst].venue
        try:
            for i in range(n):
                x ^= x << 13
                x ^= x >> 7
                x ^= x << 17
                px += <int64_t>(x % 5) - 2
                qs[i].bid_px = px
                qs[i].ask_px = px + 1
                qs[i].bid_sz = 1000 + <int64_t>(x % 100)
                qs[i].ask_sz = 1000 + <int64_t>((x >> 8) % 100)
                qs[i].inst = inst
                qs[i].venue = venue
                qs[i].update_id = i + 1
            with nogil:
                t0 = eng_now_ns()
                for i in range(n):
                    self._eng.now_ns = qs[i].recv_ts_ns
                    self._eng.n_events += 1
                    rc = self._finish(self.on_quote(&qs[i]))
                    if rc < 0:
                        break
                    if drain:
                        while eng_ring_pop(&self._eng.ring, &it):
                            drained += 1
                t1 = eng_now_ns()
        finally:
            free(qs)
        return t1 - t0, drained, rc


cdef enum:
    _PY_QUOTE = 1
    _PY_TRADE = 2
    _PY_BOOK = 4
    _PY_FILL = 8
    _PY_TIMER = 16


cdef object _py_call(PyStrategy s, int hook, const void* ev, int64_t arg):
    """Call the ``*_py`` method of ``hook`` with its argument (an event dict, the inst or now_ns)."""
    cdef const eng_quote* q
    cdef const eng_trade* t
    cdef const eng_fill* f
    if hook == _PY_QUOTE:
        q = <const eng_quote*>ev
        return s.on_quote_py({
            "inst": q.inst, "venue": q.venue, "bid_px": q.bid_px, "bid_sz": q.bid_sz,
            "ask_px": q.ask_px, "ask_sz": q.ask_sz, "update_id": q.update_id,
            "exch_ts_ns": q.exch_ts_ns, "recv_ts_ns": q.recv_ts_ns})
    if hook == _PY_TRADE:
        t = <const eng_trade*>ev
        return s.on_trade_py({
            "inst": t.inst, "venue": t.venue, "px": t.px, "sz": t.sz, "side": t.side,
            "trade_id": t.trade_id, "exch_ts_ns": t.exch_ts_ns, "recv_ts_ns": t.recv_ts_ns})
    if hook == _PY_BOOK:
        return s.on_book_py(<int>arg)
    if hook == _PY_FILL:
        f = <const eng_fill*>ev
        return s.on_fill_py({
            "inst": f.inst, "venue": f.venue, "client_id": f.client_id, "px": f.px,
            "sz": f.sz, "side": f.side, "fee": f.fee, "is_maker": bool(f.is_maker),
            "exch_ts_ns": f.exch_ts_ns, "recv_ts_ns": f.recv_ts_ns})
    return s.on_timer_py(arg)


cdef int _py_hook(PyStrategy s, int hook, const void* ev, int64_t arg) noexcept nogil:
    """The GIL round trip of every PyStrategy hook: any exception (the dict build included) is kept
    as ``_eng_exc`` and becomes ENG_ERR_STRATEGY, like a negative rc."""
    with gil:
        try:
            return s._py_result(_py_call(s, hook, ev, arg))
        except BaseException as e:
            s._eng_exc = e
            return ENG_ERR_STRATEGY


cdef class PyStrategy(Strategy):
    """Pure-Python strategies: define ``on_quote_py(self, q: dict)``, ``on_trade_py(t)``,
    ``on_book_py(inst)``, ``on_fill_py(f)``, ``on_timer_py(now_ns)`` and call ``self.buy`` /
    ``self.sell`` / ``self.market`` / ``self.cancel`` / ``self.cancel_all`` / ``self.amend``.

    The slow path: each event takes the GIL and builds a dict (~0.5-1 µs instead of ~5 ns).
    A ``*_py`` method returns None/0 or a negative rc; an exception stops the batch like a
    negative rc and becomes the ``__cause__`` of the StrategyError. Accessors for Python:
    ``self.context.top(inst)``, ``.position(inst)``, ``.slow(inst, slot)``.
    """

    def __cinit__(self, *args, **kwargs):
        cls = type(self)
        cdef int mask = 0
        if getattr(cls, "on_quote_py", None) is not None:
            mask |= _PY_QUOTE
        if getattr(cls, "on_trade_py", None) is not None:
            mask |= _PY_TRADE
        if getattr(cls, "on_book_py", None) is not None:
            mask |= _PY_BOOK
        if getattr(cls, "on_fill_py", None) is not None:
            mask |= _PY_FILL
        if getattr(cls, "on_timer_py", None) is not None:
            mask |= _PY_TIMER
        self._eng_py_mask = mask
        self._eng_exc = None

    cdef int _py_result(self, object r) noexcept:
        if r is None:
            return 0
        try:
            return <int>r
        except BaseException as e:       # a non-int return is a strategy bug
            self._eng_exc = TypeError(f"{type(self).__name__} hook returned {r!r}, expected None or an int rc")
            return ENG_ERR_STRATEGY

    cdef int on_quote(self, const eng_quote* q) noexcept nogil:
        if not (self._eng_py_mask & _PY_QUOTE):
            return 0
        return _py_hook(self, _PY_QUOTE, q, 0)

    cdef int on_trade(self, const eng_trade* t) noexcept nogil:
        if not (self._eng_py_mask & _PY_TRADE):
            return 0
        return _py_hook(self, _PY_TRADE, t, 0)

    cdef int on_book(self, int inst) noexcept nogil:
        if not (self._eng_py_mask & _PY_BOOK):
            return 0
        return _py_hook(self, _PY_BOOK, NULL, inst)

    cdef int on_fill(self, const eng_fill* f) noexcept nogil:
        if not (self._eng_py_mask & _PY_FILL):
            return 0
        return _py_hook(self, _PY_FILL, f, 0)

    cdef int on_timer(self, int64_t now_ns) noexcept nogil:
        if not (self._eng_py_mask & _PY_TIMER):
            return 0
        return _py_hook(self, _PY_TIMER, NULL, now_ns)

    # Python emit helpers (the cdef helpers of Strategy are not reachable from Python). Each returns
    # the client id; a full ring raises StrategyError (and is reported by the dispatcher as well).
    cdef int64_t _py_emit(self, int64_t rc) except -1:
        if rc < 0:
            self._require_ctx()
            raise StrategyError(<int>rc, self)
        return rc

    def buy(self, int inst, int64_t px, int64_t sz, int tif=ENG_TIF_GTC, int flags=0):
        """Limit buy of ``sz`` size units at ``px`` price units; returns the client id."""
        return self._py_emit(Strategy.buy(self, inst, px, sz, tif, flags))

    def sell(self, int inst, int64_t px, int64_t sz, int tif=ENG_TIF_GTC, int flags=0):
        """Limit sell of ``sz`` size units at ``px`` price units; returns the client id."""
        return self._py_emit(Strategy.sell(self, inst, px, sz, tif, flags))

    def market(self, int inst, int side, int64_t sz, int flags=0):
        """Market order (side 1 buy / -1 sell); returns the client id."""
        return self._py_emit(Strategy.market(self, inst, side, sz, flags))

    def cancel(self, int inst, int64_t client_id):
        """Cancel our order ``client_id`` on ``inst``; returns the cancel intent's client id."""
        return self._py_emit(Strategy.cancel(self, inst, client_id))

    def cancel_all(self, int inst):
        return self._py_emit(Strategy.cancel_all(self, inst))

    def amend(self, int inst, int64_t client_id, int64_t px, int64_t sz):
        return self._py_emit(Strategy.amend(self, inst, client_id, px, sz))
