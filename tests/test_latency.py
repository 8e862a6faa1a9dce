# SPDX-License-Identifier: Apache-2.0
"""engine.latency: log-linear histogram accuracy against numpy, merge, clamping, per-stage recorder."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine import latency
from engine.latency import Histogram, LatencyRecorder, bucket_bounds


def _assert_close_to_numpy(h: Histogram, values: np.ndarray) -> None:
    for p in (50.0, 90.0, 99.0, 99.9):
        exact = int(np.percentile(values, p, method="inverted_cdf"))  # nearest rank, a real sample
        lo, hi = bucket_bounds(exact)
        got = h.percentile(p)
        # the histogram answers the highest value of the sample's bucket, clamped to [min, max]
        assert lo <= got <= max(hi, exact), (p, exact, got, lo, hi)
        assert abs(got - exact) <= max(1, exact * latency.RESOLUTION), (p, exact, got)


def test_stage_ids_match_header():
    assert latency.STAGES[latency.STAGE_DECODE] == "decode"
    assert latency.STAGES[latency.STAGE_TICK_TO_TRADE] == "tick_to_trade"
    assert latency.STAGE_COUNT == len(latency.STAGES) == 9
    assert latency.stage_id("ack") == latency.STAGE_ACK
    with pytest.raises(ValueError):
        latency.stage_id("nope")
    with pytest.raises(ValueError):
        latency.stage_id(9)


def test_small_values_are_exact():
    h = Histogram()
    h.record_many([5, 1, 63, 2, 2])
    assert h.count == 5 and h.min == 1 and h.max == 63
    assert h.percentile(50) == 2
    assert h.percentile(100) == 63
    assert h.mean == pytest.approx(73 / 5)
    assert h.buckets() == [(1, 1, 1), (2, 2, 2), (5, 5, 1), (63, 63, 1)]


def test_bucket_width_is_bounded():
    for v in [64, 65, 127, 128, 1000, 12345, 10**6, 10**9, 60 * 10**9]:
        lo, hi = bucket_bounds(v)
        assert lo <= v <= hi
        assert hi - lo + 1 <= max(1, v / 64 + 1)


def test_accuracy_against_numpy_lognormal():
    rng = np.random.default_rng(7)
    values = rng.lognormal(mean=9.0, sigma=1.5, size=200_000).astype(np.int64) + 1
    h = Histogram()
    h.record_many(values.tolist())
    assert h.count == len(values)
    assert h.min == values.min() and h.max == values.max()
    assert h.mean == pytest.approx(values.mean(), rel=1e-9)
    _assert_close_to_numpy(h, values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60 * 10**9), min_size=1, max_size=300))
def test_accuracy_property(vals):
    h = Histogram()
    h.record_many(vals)
    _assert_close_to_numpy(h, np.asarray(vals, dtype=np.int64))
    assert sum(c for _, _, c in h.buckets()) == len(vals)


def test_merge_equals_recording_everything():
    rng = np.random.default_rng(1)
    a_vals = rng.integers(1, 10**7, 5000)
    b_vals = rng.integers(10**5, 10**9, 3000)
    a, b, both = Histogram(), Histogram(), Histogram()
    a.record_many(a_vals.tolist())
    b.record_many(b_vals.tolist())
    both.record_many(a_vals.tolist() + b_vals.tolist())
    a.merge(b)
    assert a.summary() == pytest.approx(both.summary())
    assert a.buckets() == both.buckets()


def test_negative_and_huge_values_are_clamped_not_crashing():
    h = Histogram()
    h.record(-5)
    h.record(10**15)  # ~11.6 days, beyond the range
    assert h.count == 2 and h.clamped == 2
    assert h.min == 0 and h.max == 10**15
    assert h.percentile(100) == 10**15
    h.reset()
    assert h.count == 0 and h.percentile(99) == 0 and h.max == 0 and h.min == 0


def test_percentile_argument_checked():
    h = Histogram()
    h.record(10)
    with pytest.raises(ValueError):
        h.percentile(101)
    with pytest.raises(ValueError):
        h.percentile(float("nan"))


def test_recorder_summary_and_table():
    r = LatencyRecorder()
    for i in range(1, 1001):
        r.record(latency.STAGE_DECODE, i)
        r.record(latency.STAGE_TICK_TO_TRADE, 1000 * i)
    r.record(99, 5)  # out-of-range stage: ignored
    r.record(-1, 5)
    s = r.summary()
    assert set(s) == {"decode", "tick_to_trade"}
    assert s["decode"]["count"] == 1000 and s["decode"]["max"] == 1000
    assert abs(s["decode"]["p50"] - 500) <= 500 / 64 + 1
    assert abs(s["tick_to_trade"]["p99"] - 990_000) <= 990_000 / 64
    assert set(s["decode"]) >= {"p50", "p90", "p99", "p999", "max", "count"}
    assert len(r.summary(include_empty=True)) == latency.STAGE_COUNT
    t = r.table()
    assert "decode" in t and "tick_to_trade" in t and "recv" not in t
    h = r.histogram("decode")
    assert h.count == 1000
    other = LatencyRecorder()
    other.record(latency.STAGE_DECODE, 5)
    r.merge(other)
    assert r.count("decode") == 1001
    r.reset()
    assert r.summary() == {}


def test_bench_kernels_record():
    h = Histogram()
    assert latency._bench_record(h, 1000) >= 0
    assert h.count == 1000
    r = LatencyRecorder()
    latency._bench_recorder(r, 900)
    assert all(r.count(s) == 100 for s in range(latency.STAGE_COUNT))


def test_clock_monotonic():
    a = latency.now_ns()
    b = latency.now_ns()
    assert b >= a > 0
    assert latency.wall_ns() > 1_600_000_000 * 10**9
