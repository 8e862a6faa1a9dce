# SPDX-License-Identifier: Apache-2.0
# Cross-venue spread bot, compiled: reads the Binance USD-M and the OKX swap books in one nogil hook. When
# OKX's bid exceeds Binance's ask by more than `entry_bps` it buys Binance and sells OKX (IOC at the touch),
# and the mirror trade the other way; positions are closed when the spread comes back inside `exit_bps`.
# Sizes are converted between venues through each instrument's contract multiplier (OKX swaps trade contracts).
from libc.stdint cimport int64_t
from libc.math cimport floor
from engine.types cimport *
from engine.strategy cimport Strategy


cdef class SpreadStrategy(Strategy):
    cdef public int leg_a                # Binance instrument id
    cdef public int leg_b                # OKX instrument id
    cdef public double entry_bps
    cdef public double exit_bps
    cdef public double size              # base units per trade (e.g. 0.01 BTC)
    cdef public int64_t cooldown_ns
    cdef int64_t _next_ok_ns
    cdef public int64_t trades

    def __init__(self, ctx=None, leg_a=0, leg_b=1, entry_bps=3.0, exit_bps=0.5, size="0.01", cooldown_ms=200):
        super().__init__(ctx)
        self.leg_a, self.leg_b = int(leg_a), int(leg_b)
        self.entry_bps, self.exit_bps = float(entry_bps), float(exit_bps)
        self.size = float(size)
        self.cooldown_ns = int(cooldown_ms) * 1_000_000
        if self.leg_a == self.leg_b or self.exit_bps >= self.entry_bps or self.size <= 0:
            raise ValueError("need two different legs, exit_bps < entry_bps and size > 0")

    cdef int on_book(self, int inst) noexcept nogil:
        return self._check()

    cdef int on_quote(self, const eng_quote* q) noexcept nogil:
        return self._check()

    cdef inline int64_t _units(self, int inst, double base) noexcept nogil:
        # base quantity -> size units of `inst`, rounded down to its lot (0 if below one lot)
        cdef const eng_instrument* ins = self.instrument(inst)
        cdef double per_unit = ins.sz_scale * ins.contract_mult
        cdef int64_t lots = <int64_t>floor(base / per_unit / <double>ins.lot_sz + 1e-9)
        return lots * ins.lot_sz

    cdef int _check(self) noexcept nogil:
        cdef int a = self.leg_a, b = self.leg_b
        cdef const eng_book_top* ta = self.top(a)
        cdef const eng_book_top* tb = self.top(b)
        if not (ta.valid and tb.valid) or ta.bid_px <= 0 or tb.bid_px <= 0 or ta.ask_px <= 0 or tb.ask_px <= 0:
            return 0
        cdef int64_t now = self.now_ns()
        if now < self._next_ok_ns:
            return 0
        if self.position(a).open_orders > 0 or self.position(b).open_orders > 0:
            return 0
        cdef double sa = self.instrument(a).px_scale, sb = self.instrument(b).px_scale
        cdef double a_bid = ta.bid_px * sa, a_ask = ta.ask_px * sa
        cdef double b_bid = tb.bid_px * sb, b_ask = tb.ask_px * sb
        cdef double mid = (a_bid + a_ask) * 0.5
        cdef double b_over_a = (b_bid - a_ask) / mid * 1e4      # sell B, buy A
        cdef double a_over_b = (a_bid - b_ask) / mid * 1e4      # sell A, buy B
        cdef int64_t pos_a = self.position(a).sz
        cdef int64_t qa = self._units(a, self.size), qb = self._units(b, self.size)
        cdef int64_t rc = 0
        if qa <= 0 or qb <= 0:
            return 0
        if pos_a == 0:
            if b_over_a > self.entry_bps:
                rc = self.buy(a, ta.ask_px, qa, ENG_TIF_IOC)
                if rc > 0:
                    rc = self.sell(b, tb.bid_px, qb, ENG_TIF_IOC)
            elif a_over_b > self.entry_bps:
                rc = self.sell(a, ta.bid_px, qa, ENG_TIF_IOC)
                if rc > 0:
                    rc = self.buy(b, tb.ask_px, qb, ENG_TIF_IOC)
        elif pos_a > 0 and (b_bid - a_ask) / mid * 1e4 < self.exit_bps:
            # long A / short B: unwind when B no longer trades rich
            rc = self.sell(a, ta.bid_px, pos_a, ENG_TIF_IOC, ENG_FLAG_REDUCE_ONLY)
            if rc > 0 and self.position(b).sz < 0:
                rc = self.buy(b, tb.ask_px, -self.position(b).sz, ENG_TIF_IOC, ENG_FLAG_REDUCE_ONLY)
        elif pos_a < 0 and (a_bid - b_ask) / mid * 1e4 < self.exit_bps:
            rc = self.buy(a, ta.ask_px, -pos_a, ENG_TIF_IOC, ENG_FLAG_REDUCE_ONLY)
            if rc > 0 and self.position(b).sz > 0:
                rc = self.sell(b, tb.bid_px, self.position(b).sz, ENG_TIF_IOC, ENG_FLAG_REDUCE_ONLY)
        if rc < 0:
            return <int>rc
        if rc > 0:
            self._next_ok_ns = now + self.cooldown_ns
            self.trades += 1
        return 0
