# SPDX-License-Identifier: Apache-2.0
# Test strategy for the dispatcher: counts hook calls, emits N intents per quote, returns a chosen rc,
# and can ignore a full ring (the base class must still report ENG_ERR_RING_FULL).
from libc.stdint cimport int64_t
from engine.strategy cimport Strategy
from engine.types cimport *


cdef class Probe(Strategy):
    cdef public int quotes, trades, books, fills, timers
    cdef public int emit_per_quote       # buys emitted per quote
    cdef public int rc_on_quote          # returned by on_quote (after emitting)
    cdef public int fail_after           # on_quote returns rc_on_quote only after this many quotes
    cdef public bint ignore_rc           # drop the helpers' rc (ring full must still surface)
    cdef public int64_t last_bid, last_ask, last_fill_sz, last_timer
    cdef public int last_book_inst
    cdef public double last_slow         # slow(inst, ENG_SIG_EXTERNAL) read in on_quote
    cdef public int64_t last_pos         # position(inst).sz read in on_quote

    cdef int on_quote(self, const eng_quote* q) noexcept nogil:
        cdef int k
        cdef int64_t rc
        self.quotes += 1
        self.last_bid = q.bid_px
        self.last_ask = q.ask_px
        self.last_slow = self.slow(q.inst, ENG_SIG_EXTERNAL)
        self.last_pos = self.position(q.inst).sz
        for k in range(self.emit_per_quote):
            rc = self.buy(q.inst, q.bid_px, 1)
            if rc < 0 and not self.ignore_rc:
                return <int>rc
        if self.quotes > self.fail_after:
            return self.rc_on_quote
        return 0

    cdef int on_trade(self, const eng_trade* t) noexcept nogil:
        self.trades += 1
        return 0

    cdef int on_book(self, int inst) noexcept nogil:
        self.books += 1
        self.last_book_inst = inst
        if self.book(inst) != NULL and self.emit_per_quote:
            if self.sell(inst, self.top(inst).ask_px, 1) < 0:
                return ENG_ERR_RING_FULL
        return 0

    cdef int on_fill(self, const eng_fill* f) noexcept nogil:
        self.fills += 1
        self.last_fill_sz = f.sz
        return 0

    cdef int on_timer(self, int64_t now_ns) noexcept nogil:
        self.timers += 1
        self.last_timer = now_ns
        return 0
