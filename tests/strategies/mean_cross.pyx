# SPDX-License-Identifier: Apache-2.0
# Example compiled strategy (built by tests/test_build.py with engine.build.compile_strategy):
# EMA crossover on the mid, crosses up -> buy at the ask (IOC), crosses down -> sell at the bid.
from libc.stdint cimport int64_t
from engine.strategy cimport Strategy
from engine.types cimport eng_quote, ENG_TIF_IOC, ENG_MAX_INSTRUMENTS


cdef class MeanCross(Strategy):
    cdef double a_fast, a_slow           # EMA weights of the newest mid
    cdef double fast[256]                # per instrument fast EMA of the mid, price units
    cdef double slow[256]                # per instrument slow EMA of the mid, price units
    cdef int state[256]                  # -1 fast below slow, +1 above, 0 warming up
    cdef int seen[256]                   # quotes seen per instrument (saturates at warmup)
    cdef readonly int warmup             # quotes before the first signal
    cdef readonly int64_t order_sz       # size units per order
    cdef readonly int64_t signals        # crosses that produced an order

    def __init__(self, ctx=None, double fast_alpha=0.3, double slow_alpha=0.05,
                 int64_t order_sz=100, int warmup=20):
        super().__init__(ctx)
        if not (0 < slow_alpha < fast_alpha <= 1):
            raise ValueError("need 0 < slow_alpha < fast_alpha <= 1")
        self.a_fast = fast_alpha
        self.a_slow = slow_alpha
        self.order_sz = order_sz
        self.warmup = warmup

    cdef int on_quote(self, const eng_quote* q) noexcept nogil:
        cdef int i = q.inst
        cdef double mid
        cdef int new_state
        cdef int64_t rc
        if i < 0 or i >= ENG_MAX_INSTRUMENTS or q.bid_px <= 0 or q.ask_px <= 0:
            return 0
        mid = 0.5 * (<double>q.bid_px + <double>q.ask_px)
        if self.seen[i] == 0:
            self.fast[i] = mid
            self.slow[i] = mid
        else:
            self.fast[i] += self.a_fast * (mid - self.fast[i])
            self.slow[i] += self.a_slow * (mid - self.slow[i])
        if self.seen[i] < self.warmup:
            self.seen[i] += 1
            return 0
        new_state = 1 if self.fast[i] > self.slow[i] else -1
        if self.state[i] != 0 and new_state != self.state[i]:
            if new_state > 0:
                rc = self.buy(i, q.ask_px, self.order_sz, ENG_TIF_IOC)
            else:
                rc = self.sell(i, q.bid_px, self.order_sz, ENG_TIF_IOC)
            if rc < 0:
                return <int>rc
            self.signals += 1
        self.state[i] = new_state
        return 0
