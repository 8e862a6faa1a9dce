# SPDX-License-Identifier: Apache-2.0
# engine.latency: monotonic ns clock, per-stage latency histograms (HDR-style log-linear, see
# include/engine/hist.h). Recording is O(1) and allocation-free; reading is for the shell.
cimport cython
from libc.stdint cimport int64_t, uint64_t, INT64_MAX
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

from engine.types cimport eng_now_ns, eng_wall_ns
from engine.latency cimport *

#: Stage names in ENG_STAGE_* order (include/engine/hist.h).
STAGES = ("recv", "decode", "book", "signal", "risk", "encode", "send", "ack", "tick_to_trade")
STAGE_RECV = ENG_STAGE_RECV
STAGE_DECODE = ENG_STAGE_DECODE
STAGE_BOOK = ENG_STAGE_BOOK
STAGE_SIGNAL = ENG_STAGE_SIGNAL
STAGE_RISK = ENG_STAGE_RISK
STAGE_ENCODE = ENG_STAGE_ENCODE
STAGE_SEND = ENG_STAGE_SEND
STAGE_ACK = ENG_STAGE_ACK
STAGE_TICK_TO_TRADE = ENG_STAGE_TICK_TO_TRADE
STAGE_COUNT = ENG_STAGE_COUNT
#: Relative resolution of a bucket (upper bound): 1/64.
RESOLUTION = 1.0 / ENG_HIST_SUB


def now_ns() -> int:
    """CLOCK_MONOTONIC in nanoseconds (the clock every stamp uses)."""
    return eng_now_ns()


def wall_ns() -> int:
    """CLOCK_REALTIME in nanoseconds since the Unix epoch."""
    return eng_wall_ns()


def stage_id(name) -> int:
    """``"decode"`` -> ``ENG_STAGE_DECODE``; an int is range-checked and returned."""
    if isinstance(name, int):
        if not 0 <= name < ENG_STAGE_COUNT:
            raise ValueError(f"stage {name} outside 0..{ENG_STAGE_COUNT - 1}")
        return name
    try:
        return STAGES.index(name)
    except ValueError:
        raise ValueError(f"unknown stage {name!r}; expected one of {', '.join(STAGES)}") from None


def bucket_bounds(int64_t ns):
    """(lo, hi) of the bucket that holds ``ns`` (inclusive, ns)."""
    if ns < 0:
        ns = 0
    cdef int i = eng_hist_index(<uint64_t>ns)
    return eng_hist_lo(i), eng_hist_hi(i)


cdef dict _summary(const eng_hist* h):
    return {
        "count": h.count,
        "min": h.min if h.count else 0,
        "mean": eng_hist_mean(h),
        "p50": eng_hist_percentile(h, 50.0),
        "p90": eng_hist_percentile(h, 90.0),
        "p99": eng_hist_percentile(h, 99.0),
        "p999": eng_hist_percentile(h, 99.9),
        "max": h.max,
    }


cdef list _buckets(const eng_hist* h):
    cdef list out = []
    cdef int i
    for i in range(ENG_HIST_BUCKETS):
        if h.counts[i]:
            out.append((eng_hist_lo(i), eng_hist_hi(i), h.counts[i]))
    return out


@cython.final
cdef class Histogram:
    """Log-linear latency histogram in ns (1 ns .. ~137 s, buckets <= 1/64 of their value wide).

    ``record`` is O(1) and allocates nothing; ``percentile`` walks the 2048 buckets.
    Negative samples are recorded as 0 and counted in ``clamped`` (as are values past the range).
    """

    def __cinit__(self):
        self.h = <eng_hist*>calloc(1, sizeof(eng_hist))
        if self.h == NULL:
            raise MemoryError()
        eng_hist_reset(self.h)

    def __dealloc__(self):
        free(self.h)

    cpdef void record(self, int64_t ns) noexcept nogil:
        """Add one sample (ns)."""
        eng_hist_record(self.h, ns)

    def record_many(self, values) -> None:
        """Record every int of an iterable (tests, replay)."""
        cdef int64_t v
        for v in values:
            eng_hist_record(self.h, v)

    @property
    def count(self) -> int:
        return self.h.count

    @property
    def clamped(self) -> int:
        return self.h.clamped

    @property
    def min(self) -> int:
        return self.h.min if self.h.count else 0

    @property
    def max(self) -> int:
        return self.h.max

    @property
    def mean(self) -> float:
        return eng_hist_mean(self.h)

    def percentile(self, double p) -> int:
        """Nearest-rank percentile (``p`` in 0..100) as the bucket's highest value, clamped to [min, max]."""
        if not (0.0 <= p <= 100.0):
            raise ValueError(f"percentile {p} outside 0..100")
        return eng_hist_percentile(self.h, p)

    def merge(self, Histogram other not None) -> None:
        """Add ``other``'s samples to this histogram."""
        eng_hist_merge(self.h, other.h)

    def reset(self) -> None:
        eng_hist_reset(self.h)

    def copy(self) -> Histogram:
        cdef Histogram c = Histogram()
        memcpy(c.h, self.h, sizeof(eng_hist))
        return c

    def buckets(self) -> list:
        """Non-empty buckets as ``[(lo_ns, hi_ns, count), ...]`` in increasing order (for plots)."""
        return _buckets(self.h)

    def summary(self) -> dict:
        """``{count, min, mean, p50, p90, p99, p999, max}`` in ns."""
        return _summary(self.h)

    def __len__(self) -> int:
        return self.h.count

    def __repr__(self) -> str:
        return (f"Histogram(count={self.h.count}, p50={eng_hist_percentile(self.h, 50.0)}, "
                f"p99={eng_hist_percentile(self.h, 99.0)}, max={self.h.max})")


@cython.final
cdef class LatencyRecorder:
    """One :class:`Histogram` per pipeline stage (``STAGES``); ``record(stage, ns)`` is nogil and O(1)."""

    def __cinit__(self):
        self.lat = <eng_latency*>calloc(1, sizeof(eng_latency))
        if self.lat == NULL:
            raise MemoryError()
        eng_latency_reset(self.lat)

    def __dealloc__(self):
        free(self.lat)

    cpdef void record(self, int stage, int64_t ns) noexcept nogil:
        """Add one sample (ns) to ``stage`` (an ENG_STAGE_* id; out-of-range ids are ignored)."""
        eng_latency_record(self.lat, stage, ns)

    cdef eng_hist* hist(self, int stage) noexcept nogil:
        if stage < 0 or stage >= ENG_STAGE_COUNT:
            return NULL
        return &self.lat.stage[stage]

    def histogram(self, stage) -> Histogram:
        """A copy of one stage's histogram (by id or name)."""
        cdef int s = stage_id(stage)
        cdef Histogram c = Histogram()
        memcpy(c.h, &self.lat.stage[s], sizeof(eng_hist))
        return c

    def count(self, stage) -> int:
        return self.lat.stage[stage_id(stage)].count

    def merge(self, LatencyRecorder other not None) -> None:
        cdef int s
        for s in range(ENG_STAGE_COUNT):
            eng_hist_merge(&self.lat.stage[s], &other.lat.stage[s])

    def reset(self) -> None:
        eng_latency_reset(self.lat)

    def summary(self, bint include_empty=False) -> dict:
        """``{stage_name: {count, min, mean, p50, p90, p99, p999, max}}`` in ns (empty stages omitted
        unless ``include_empty``)."""
        cdef dict out = {}
        cdef int s
        for s in range(ENG_STAGE_COUNT):
            if include_empty or self.lat.stage[s].count:
                out[STAGES[s]] = _summary(&self.lat.stage[s])
        return out

    def table(self, bint include_empty=False) -> str:
        """Fixed-width text table of ``summary()`` in microseconds."""
        rows = [f"{'stage':<14}{'count':>10}{'p50 us':>10}{'p90 us':>10}{'p99 us':>10}{'p99.9 us':>10}{'max us':>10}"]
        for name, d in self.summary(include_empty).items():
            rows.append(f"{name:<14}{d['count']:>10}" + "".join(
                f"{d[k] / 1000.0:>10.2f}" for k in ("p50", "p90", "p99", "p999", "max")))
        return "\n".join(rows)

    def __repr__(self) -> str:
        return f"LatencyRecorder({', '.join(f'{k}={v['count']}' for k, v in self.summary().items())})"


def _bench_record(Histogram h, int64_t n, int64_t start=100, int64_t step=37) -> int:
    """Benchmark kernel: record ``n`` synthetic samples in a C loop; returns elapsed ns."""
    cdef int64_t i, v = start, t0, t1
    with nogil:
        t0 = eng_now_ns()
        for i in range(n):
            h.record(v)
            v += step
            if v > 10000000:
                v = start
        t1 = eng_now_ns()
    return t1 - t0


def _bench_recorder(LatencyRecorder r, int64_t n) -> int:
    """Benchmark kernel: record ``n`` samples round-robin over the stages in a C loop; elapsed ns."""
    cdef int64_t i, t0, t1
    with nogil:
        t0 = eng_now_ns()
        for i in range(n):
            r.record(<int>(i % ENG_STAGE_COUNT), 100 + (i & 4095))
        t1 = eng_now_ns()
    return t1 - t0
