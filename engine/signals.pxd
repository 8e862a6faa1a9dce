# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.signals — see docs/cython-api.md; layout changes bump engine.__abi__.
# Streaming kernels (include/engine/signals.h): embed the C structs in a strategy and call the
# static inline functions from nogil hooks; the Python classes below wrap one struct each.
cimport cython
from libc.stdint cimport int32_t, int64_t
from engine.types cimport eng_book_top

cdef extern from "engine/signals.h" nogil:
    enum:
        ENG_ROLL_MAX                # largest rolling window (samples)

    ctypedef struct eng_ema:
        double alpha                # weight of the newest sample, 0 < alpha <= 1
        double value                # current average (valid when n > 0)
        int64_t n                   # samples seen

    ctypedef struct eng_tema:
        double half_life_ns         # > 0
        double value                # current average (valid when n > 0)
        int64_t last_ns             # timestamp of the newest sample
        int64_t n                   # samples seen

    ctypedef struct eng_ewvar:
        double alpha                # 0 < alpha <= 1
        double mean                 # EW mean
        double var                  # EW (biased) variance >= 0
        int64_t n                   # samples seen

    ctypedef struct eng_rsum:
        double buf[1024]            # ring of the last n samples
        double sum                  # running sum (re-summed exactly once per window of evictions)
        int32_t window              # 1..ENG_ROLL_MAX
        int32_t n                   # samples held
        int32_t head                # next write index
        int32_t since               # evictions since the last re-sum

    ctypedef struct eng_roll:
        double buf[1024]            # ring of the last n samples (as given)
        double shift                # reference K (window mean at the last exact recompute)
        double dmean                # window mean - shift
        double m2                   # sum of squared deviations, >= 0
        double last                 # newest sample
        int32_t window              # 1..ENG_ROLL_MAX
        int32_t n                   # samples held
        int32_t head                # next write index
        int32_t since               # evictions since the last exact recompute

    ctypedef struct eng_vwap:
        eng_rsum pv                 # rolling sum of px * sz (window > 0)
        eng_rsum v                  # rolling sum of sz
        double cum_pv               # cumulative px * sz (window == 0)
        double cum_v                # cumulative sz
        int32_t window              # 0 = cumulative, else trades

    ctypedef struct eng_flow:
        eng_rsum buy                # aggressive buy volume per trade
        eng_rsum sell               # aggressive sell volume per trade

    ctypedef struct eng_rvol:
        eng_rsum r2                 # squared log returns
        double last_px              # previous price (0 = none)

    int eng_alpha_from_half_life(double half_life, double* alpha)
    int eng_ema_init(eng_ema* s, double alpha)
    void eng_ema_reset(eng_ema* s)
    int eng_ema_update(eng_ema* s, double x)
    int eng_ema_value(const eng_ema* s, double* out)
    int eng_tema_init(eng_tema* s, double half_life_ns)
    void eng_tema_reset(eng_tema* s)
    int eng_tema_update(eng_tema* s, double x, int64_t t_ns)
    int eng_tema_value(const eng_tema* s, double* out)
    int eng_ewvar_init(eng_ewvar* s, double alpha)
    void eng_ewvar_reset(eng_ewvar* s)
    int eng_ewvar_update(eng_ewvar* s, double x)
    int eng_ewvar_mean(const eng_ewvar* s, double* out)
    int eng_ewvar_var(const eng_ewvar* s, double* out)
    int eng_rsum_init(eng_rsum* s, int32_t window)
    void eng_rsum_reset(eng_rsum* s)
    void eng_rsum_push(eng_rsum* s, double x)
    int eng_roll_init(eng_roll* s, int32_t window)
    void eng_roll_reset(eng_roll* s)
    int eng_roll_update(eng_roll* s, double x)
    int eng_roll_mean(const eng_roll* s, double* out)
    int eng_roll_var(const eng_roll* s, double* out)
    int eng_roll_std(const eng_roll* s, double* out)
    int eng_roll_zscore(const eng_roll* s, double* out)
    int eng_roll_zscore_of(const eng_roll* s, double x, double* out)
    int eng_vwap_init(eng_vwap* s, int32_t window)
    void eng_vwap_reset(eng_vwap* s)
    int eng_vwap_update(eng_vwap* s, double px, double sz)
    int eng_vwap_value(const eng_vwap* s, double* out)
    int eng_flow_init(eng_flow* s, int32_t window)
    void eng_flow_reset(eng_flow* s)
    int eng_flow_update(eng_flow* s, double sz, int32_t side)
    int eng_flow_imbalance(const eng_flow* s, double* out)
    int eng_rvol_init(eng_rvol* s, int32_t window)
    void eng_rvol_reset(eng_rvol* s)
    int eng_rvol_update(eng_rvol* s, double px)
    int eng_rvol_variance(const eng_rvol* s, double* out)
    int eng_rvol_value(const eng_rvol* s, double* out)
    int eng_sig_book_imbalance(int64_t bid_sz, int64_t ask_sz, double* out)
    int eng_sig_microprice(int64_t bid_px, int64_t bid_sz, int64_t ask_px, int64_t ask_sz, double* out)
    int eng_sig_top_imbalance(const eng_book_top* t, double* out)     # ENG_ERR_NOT_SYNCED if !t.valid
    int eng_sig_top_microprice(const eng_book_top* t, double* out)


@cython.final
cdef class Ema:
    cdef eng_ema s                  # C state; nogil code may use &self.s directly

@cython.final
cdef class TimeEma:
    cdef eng_tema s

@cython.final
cdef class EwVar:
    cdef eng_ewvar s

@cython.final
cdef class Rolling:
    cdef eng_roll s

@cython.final
cdef class Vwap:
    cdef eng_vwap s

@cython.final
cdef class TradeFlow:
    cdef eng_flow s

@cython.final
cdef class RealisedVol:
    cdef eng_rvol s
