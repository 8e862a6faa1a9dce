# SPDX-License-Identifier: Apache-2.0
"""engine.risk: the pre-trade gate (include/engine/risk.h), nogil and O(1).

``RiskGate.check(ctx, intent, now_ns)`` returns 0 or an ``ENG_RISK_*`` reason > 0 that
:func:`reason_name` names. Instruments without limits are rejected (fail closed); cancels
always pass unless malformed.
"""
cimport cython
from libc.stdlib cimport calloc, free
from libc.math cimport isfinite, INFINITY
from libc.stdint cimport int64_t

from engine.types cimport *
from engine.strategy cimport Context, intent_from_dict

REASONS = {
    ENG_RISK_OK: "OK",
    ENG_RISK_SIZE: "SIZE",
    ENG_RISK_NOTIONAL: "NOTIONAL",
    ENG_RISK_POSITION: "POSITION",
    ENG_RISK_BAND: "BAND",
    ENG_RISK_OPEN_ORDERS: "OPEN_ORDERS",
    ENG_RISK_RATE: "RATE",
    ENG_RISK_LOSS: "LOSS",
    ENG_RISK_STALE_BOOK: "STALE_BOOK",
    ENG_RISK_KILL: "KILL",
    ENG_RISK_BAD_INTENT: "BAD_INTENT",
    ENG_RISK_NO_LIMITS: "NO_LIMITS",
}
REASON_CODES = {name: code for code, name in REASONS.items()}
globals().update({f"RISK_{name}": code for code, name in REASONS.items()})
assert len(REASONS) == ENG_RISK_COUNT

_LIMIT_KEYS = ("max_order_sz", "max_notional", "max_position", "band_bps", "max_book_age_ns",
               "check_steps")
_GLOBAL_KEYS = ("max_open_orders", "rate_per_s", "burst", "max_daily_loss")


def reason_name(int code):
    """``3`` -> ``"POSITION"``; unknown codes -> ``"reason=<n>"``."""
    return REASONS.get(code, f"reason={code}")


cdef int64_t _units(object v, str name) except? -1:
    if v is None:
        return ENG_RISK_UNLIMITED
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be an int (units) or None, got {v!r}")
    if v <= 0:
        raise ValueError(f"{name} must be > 0 (or None for no limit), got {v}")
    return v


cdef double _positive(object v, str name) except? -1.0:
    if v is None:
        return INFINITY
    cdef double d = float(v)
    if not isfinite(d) or d <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (or None for no limit), got {v!r}")
    return d


@cython.final
cdef class RiskGate:
    """Per-instrument and global pre-trade limits; see include/engine/risk.h for the exact rules."""

    def __cinit__(self):
        self.r = <eng_risk*>calloc(1, sizeof(eng_risk))
        if self.r == NULL:
            raise MemoryError("eng_risk")
        eng_risk_init(self.r)

    def __dealloc__(self):
        free(self.r)
        self.r = NULL

    cdef int check(self, eng_ctx* ctx, const eng_intent* it, int64_t now_ns) noexcept nogil:
        return eng_risk_check(self.r, ctx, it, now_ns)

    cdef void release(self, eng_ctx* ctx, const eng_intent* it) noexcept nogil:
        eng_risk_release(self.r, ctx, it)

    def set_limits(self, int inst, *, max_order_sz=None, max_notional=None, max_position=None,
                   band_bps=None, max_book_age_ns=None, check_steps=True):
        """Configure (replace) the limits of instrument ``inst``; None = no limit for that check.

        Parameters
        ----------
        max_order_sz : int, size units per order
        max_notional : float, quote currency per order (price * size * contract_mult)
        max_position : int, size units, |position + open same-side orders + order|
        band_bps : float, max distance of a limit price from mid, basis points
        max_book_age_ns : int, reject when the book top was last updated longer ago
        check_steps : bool, size must be a multiple of the lot and price of the tick
        """
        if inst < 0 or inst >= ENG_MAX_INSTRUMENTS:
            raise IndexError(f"instrument id {inst} outside 0..{ENG_MAX_INSTRUMENTS - 1}")
        cdef eng_risk_limits l
        eng_risk_limits_unlimited(&l)
        l.max_order_sz = _units(max_order_sz, "max_order_sz")
        l.max_position = _units(max_position, "max_position")
        l.max_book_age_ns = _units(max_book_age_ns, "max_book_age_ns")
        l.max_notional = _positive(max_notional, "max_notional")
        l.band_bps = _positive(band_bps, "band_bps")
        l.check_steps = 1 if check_steps else 0
        l.configured = 1
        self.r.lim[inst] = l

    def clear_limits(self, int inst):
        """Remove the limits of ``inst``: its orders are rejected with NO_LIMITS again."""
        if inst < 0 or inst >= ENG_MAX_INSTRUMENTS:
            raise IndexError(f"instrument id {inst} outside 0..{ENG_MAX_INSTRUMENTS - 1}")
        eng_risk_limits_unlimited(&self.r.lim[inst])

    def limits(self, int inst):
        """The limits of ``inst`` as a dict (None = no limit), or None when not configured."""
        if inst < 0 or inst >= ENG_MAX_INSTRUMENTS:
            raise IndexError(f"instrument id {inst} outside 0..{ENG_MAX_INSTRUMENTS - 1}")
        cdef eng_risk_limits* l = &self.r.lim[inst]
        if not l.configured:
            return None
        u = lambda v: None if v == ENG_RISK_UNLIMITED else v
        f = lambda v: None if v == INFINITY else v
        return {"max_order_sz": u(l.max_order_sz), "max_notional": f(l.max_notional),
                "max_position": u(l.max_position), "band_bps": f(l.band_bps),
                "max_book_age_ns": u(l.max_book_age_ns), "check_steps": bool(l.check_steps)}

    def set_global(self, **limits):
        """Global limits: ``max_open_orders`` (int), ``rate_per_s`` + ``burst`` (token bucket, the
        bucket starts full), ``max_daily_loss`` (quote ccy > 0: reject while daily_pnl <= -value).
        Only the keys given change; pass None to remove a limit."""
        unknown = set(limits) - set(_GLOBAL_KEYS)
        if unknown:
            raise TypeError(f"unknown global limits {sorted(unknown)}; expected {_GLOBAL_KEYS}")
        if "max_open_orders" in limits:
            self.r.max_open_orders = _units(limits["max_open_orders"], "max_open_orders")
        if "max_daily_loss" in limits:
            self.r.max_daily_loss = _positive(limits["max_daily_loss"], "max_daily_loss")
        if "rate_per_s" in limits or "burst" in limits:
            rate = limits.get("rate_per_s", None if self.r.rate_per_s == INFINITY else self.r.rate_per_s)
            burst = limits.get("burst", None if self.r.burst == INFINITY else self.r.burst)
            if (rate is None) != (burst is None):
                raise ValueError("rate_per_s and burst must be set together (or both None)")
            self.r.rate_per_s = _positive(rate, "rate_per_s")
            self.r.burst = _positive(burst, "burst")
            if rate is not None and self.r.burst < 1.0:
                raise ValueError("burst must be >= 1 token")
            self.r.tokens = self.r.burst
            self.r.last_refill_ns = 0

    def global_limits(self):
        f = lambda v: None if v == INFINITY else v
        return {"max_open_orders": None if self.r.max_open_orders == ENG_RISK_UNLIMITED else self.r.max_open_orders,
                "rate_per_s": f(self.r.rate_per_s), "burst": f(self.r.burst),
                "max_daily_loss": f(self.r.max_daily_loss)}

    @property
    def open_orders(self):
        """Global open-order count (incremented on every accepted NEW; the router sets the truth)."""
        return self.r.open_orders

    @open_orders.setter
    def open_orders(self, int64_t n):
        if n < 0:
            raise ValueError("open_orders must be >= 0")
        self.r.open_orders = n

    @property
    def tokens(self):
        """Tokens left in the order-rate bucket (inf when no rate limit)."""
        return self.r.tokens

    @property
    def kill(self):
        """The gate's own kill switch (the shared one is Context.kill)."""
        return bool(self.r.kill)

    @kill.setter
    def kill(self, value):
        self.r.kill = 1 if value else 0

    @property
    def passed(self):
        return self.r.passed

    def rejects(self):
        """``{reason_name: count}`` for every reason with at least one reject."""
        return {REASONS[i]: self.r.rejects[i] for i in range(1, ENG_RISK_COUNT) if self.r.rejects[i]}

    def reset_counters(self):
        cdef int i
        self.r.passed = 0
        for i in range(ENG_RISK_COUNT):
            self.r.rejects[i] = 0

    def check_py(self, Context ctx not None, intent, now_ns=None):
        """Check one intent given as a dict (keys of engine.strategy intents); returns the reason
        code (0 = pass). Same side effects as the compiled check (tokens, open-order reservation)."""
        cdef eng_intent it
        intent_from_dict(intent, &it)
        cdef int64_t t = eng_now_ns() if now_ns is None else int(now_ns)
        return eng_risk_check(self.r, ctx.c, &it, t)


def _bench_check(RiskGate gate not None, Context ctx not None, intent, int64_t n, int64_t now_ns=0):
    """Benchmark helper: ``n`` checks of one intent in a C loop. Returns ``(elapsed_ns, n_passed)``.
    Passing NEW intents reserve open size as in production (set limits accordingly)."""
    cdef eng_intent it
    intent_from_dict(intent, &it)
    cdef int64_t i, passed = 0, t0, t1
    cdef int64_t t = eng_now_ns() if now_ns == 0 else now_ns
    with nogil:
        t0 = eng_now_ns()
        for i in range(n):
            if eng_risk_check(gate.r, ctx.c, &it, t) == 0:
                passed += 1
        t1 = eng_now_ns()
    return t1 - t0, passed
