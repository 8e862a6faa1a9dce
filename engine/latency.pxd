# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.latency: log-linear latency histograms (include/engine/hist.h) and the
# per-stage recorder the pipeline stamps. Layout changes bump engine.__abi__.
cimport cython
from libc.stdint cimport int64_t, uint64_t

cdef extern from "engine/hist.h" nogil:
    enum:
        ENG_STAGE_RECV
        ENG_STAGE_DECODE
        ENG_STAGE_BOOK
        ENG_STAGE_SIGNAL
        ENG_STAGE_RISK
        ENG_STAGE_ENCODE
        ENG_STAGE_SEND
        ENG_STAGE_ACK
        ENG_STAGE_TICK_TO_TRADE
        ENG_STAGE_COUNT
        ENG_HIST_SUB
        ENG_HIST_BUCKETS

    ctypedef struct eng_hist:
        uint64_t counts[2048]     # per bucket
        uint64_t count            # samples recorded
        uint64_t clamped          # samples < 0 or beyond ~137 s
        int64_t min               # ns, INT64_MAX when empty
        int64_t max               # ns, 0 when empty
        double sum                # ns, for the mean

    ctypedef struct eng_latency:
        eng_hist stage[9]

    void eng_hist_reset(eng_hist* h)
    int eng_hist_index(uint64_t v)
    int64_t eng_hist_lo(int i)
    int64_t eng_hist_hi(int i)
    void eng_hist_record(eng_hist* h, int64_t ns)
    int64_t eng_hist_percentile(const eng_hist* h, double p)
    double eng_hist_mean(const eng_hist* h)
    void eng_hist_merge(eng_hist* into, const eng_hist* src)
    void eng_latency_reset(eng_latency* l)
    int eng_latency_record(eng_latency* l, int stage, int64_t ns)


@cython.final
cdef class Histogram:
    cdef eng_hist* h              # owned, calloc'ed once

    cpdef void record(self, int64_t ns) noexcept nogil


@cython.final
cdef class LatencyRecorder:
    cdef eng_latency* lat         # owned, one eng_hist per ENG_STAGE_*

    cpdef void record(self, int stage, int64_t ns) noexcept nogil
    cdef eng_hist* hist(self, int stage) noexcept nogil
