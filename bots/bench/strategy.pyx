# SPDX-License-Identifier: Apache-2.0
# Benchmark strategy (benchmarks/tick_to_trade.py): on every quote whose update id is a multiple of
# `every`, buy one lot LIMIT IOC at the quoted bid. The decision is trivial on purpose: the benchmark
# measures the engine around it (decode, dispatch, risk, encode+sign, send).
from libc.stdint cimport int64_t
from engine.types cimport *
from engine.strategy cimport Strategy


cdef class BenchStrategy(Strategy):
    cdef public int64_t every
    cdef public int64_t orders

    def __init__(self, ctx=None, every=10):
        super().__init__(ctx)
        self.every = int(every)
        if self.every <= 0:
            raise ValueError("every must be > 0")

    cdef int on_quote(self, const eng_quote* q) noexcept nogil:
        cdef int64_t rc
        if q.update_id % self.every == 0:
            rc = self.buy(q.inst, q.bid_px, self.instrument(q.inst).lot_sz, ENG_TIF_IOC)
            if rc < 0:
                return <int>rc
            self.orders += 1
        return 0
