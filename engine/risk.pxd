# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.risk: the O(1) nogil pre-trade gate (include/engine/risk.h).
# Layout changes bump engine.__abi__.
cimport cython
from libc.stdint cimport int32_t, int64_t, uint64_t
from engine.types cimport eng_ctx, eng_intent

cdef extern from "engine/risk.h" nogil:
    enum:
        ENG_RISK_OK
        ENG_RISK_SIZE
        ENG_RISK_NOTIONAL
        ENG_RISK_POSITION
        ENG_RISK_BAND
        ENG_RISK_OPEN_ORDERS
        ENG_RISK_RATE
        ENG_RISK_LOSS
        ENG_RISK_STALE_BOOK
        ENG_RISK_KILL
        ENG_RISK_BAD_INTENT
        ENG_RISK_NO_LIMITS
        ENG_RISK_COUNT
    int64_t ENG_RISK_UNLIMITED

    ctypedef struct eng_risk_limits:
        int64_t max_order_sz          # size units per order
        int64_t max_position          # size units, absolute, open same-side orders included
        int64_t max_book_age_ns       # reject when the book top is older than this
        double max_notional           # quote currency per order
        double band_bps               # max |px - mid| / mid, basis points
        int32_t configured            # 0: reject with ENG_RISK_NO_LIMITS (fail closed)
        int32_t check_steps           # 1: size multiple of lot_sz, price multiple of tick_px

    ctypedef struct eng_risk:
        eng_risk_limits lim[256]      # per instrument id
        int64_t max_open_orders       # global
        int64_t open_orders           # global count (+1 on accepted NEW, set by the router)
        double rate_per_s             # token refill per second (INFINITY = off)
        double burst                  # bucket size
        double tokens                 # current tokens
        int64_t last_refill_ns        # CLOCK_MONOTONIC of the last refill
        double max_daily_loss         # quote currency (> 0), INFINITY = off
        int32_t kill                  # gate-local kill switch
        uint64_t passed               # intents accepted
        uint64_t rejects[12]          # per reason

    void eng_risk_init(eng_risk* r)
    void eng_risk_limits_unlimited(eng_risk_limits* l)
    int eng_risk_check(eng_risk* r, eng_ctx* ctx, const eng_intent* it, int64_t now_ns)
    void eng_risk_release(eng_risk* r, eng_ctx* ctx, const eng_intent* it)


@cython.final
cdef class RiskGate:
    cdef eng_risk* r                  # owned, calloc'ed once

    cdef int check(self, eng_ctx* ctx, const eng_intent* it, int64_t now_ns) noexcept nogil
    cdef void release(self, eng_ctx* ctx, const eng_intent* it) noexcept nogil
