# SPDX-License-Identifier: Apache-2.0
# The classic signal bot, compiled: external score (ENG_SIG_EXTERNAL, -1..1, written by the webhook or a
# signal WebSocket) filtered by the funding rate; market entries, reduce-only market exits. Same logic as
# bots/signal_py/strategy.py, as a nogil hook.
from libc.stdint cimport int64_t
from engine.types cimport *
from engine.strategy cimport Strategy


cdef class SignalStrategy(Strategy):
    cdef public double entry            # |score| needed to open
    cdef public double exit             # close when the score falls back inside +-exit (or flips)
    cdef public double max_funding      # do not open a long when funding > this, nor a short when < -this
    cdef public double size             # order size in real units (e.g. 0.01 BTC)
    cdef public int64_t cooldown_ns     # no new order this long after the last one (fills arrive async)
    cdef int64_t _next_ok_ns

    def __init__(self, ctx=None, entry=0.5, exit=0.1, max_funding=0.0005, size="0.01", cooldown_ms=250):
        super().__init__(ctx)
        self.entry = float(entry)
        self.exit = float(exit)
        self.max_funding = float(max_funding)
        self.size = float(size)
        self.cooldown_ns = int(cooldown_ms) * 1_000_000
        if not (0 <= self.exit < self.entry <= 1) or self.size <= 0 or self.max_funding < 0:
            raise ValueError("need 0 <= exit < entry <= 1, size > 0, max_funding >= 0")
        self._next_ok_ns = 0

    cdef int on_quote(self, const eng_quote* q) noexcept nogil:
        return self._decide(q.inst)

    cdef int on_book(self, int inst) noexcept nogil:
        return self._decide(inst)

    cdef int _decide(self, int inst) noexcept nogil:
        cdef int64_t now = self.now_ns()
        if now < self._next_ok_ns or self.slow_ts(inst, ENG_SIG_EXTERNAL) == 0:
            return 0
        cdef const eng_position* p = self.position(inst)
        if p.open_orders > 0:
            return 0
        cdef const eng_instrument* ins = self.instrument(inst)
        cdef double score = self.slow(inst, ENG_SIG_EXTERNAL)
        cdef double funding = self.slow(inst, ENG_SIG_FUNDING_RATE)
        cdef int64_t lots = <int64_t>(self.size / ins.sz_scale / ins.lot_sz)
        cdef int64_t sz = (lots if lots > 0 else 1) * ins.lot_sz
        cdef int64_t rc = 0
        if p.sz == 0:
            if score >= self.entry and funding <= self.max_funding:
                rc = self.market(inst, ENG_SIDE_BUY, sz)
            elif score <= -self.entry and funding >= -self.max_funding:
                rc = self.market(inst, ENG_SIDE_SELL, sz)
        elif p.sz > 0 and score < self.exit:
            rc = self.market(inst, ENG_SIDE_SELL, p.sz, ENG_FLAG_REDUCE_ONLY)
        elif p.sz < 0 and score > -self.exit:
            rc = self.market(inst, ENG_SIDE_BUY, -p.sz, ENG_FLAG_REDUCE_ONLY)
        if rc < 0:
            return <int>rc
        if rc > 0:
            self._next_ok_ns = now + self.cooldown_ns
        return 0
