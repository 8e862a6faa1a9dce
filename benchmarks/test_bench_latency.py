# SPDX-License-Identifier: Apache-2.0
"""Cost of recording one latency sample: compiled log-linear histogram (nogil C loop, and one Python
call per sample) against the plain-Python baseline a typical bot uses (append to a list, numpy
percentiles at report time), measured in the same run."""
from __future__ import annotations

import numpy as np
import pytest

import engine.latency as lat

from _area3_util import kernel_ns, per_call_ns, report

N_KERNEL = 1_000_000
N_PY = 200_000


def _list_append_ns() -> float:
    samples: list[int] = []
    app = samples.append
    ns = per_call_ns(lambda: app(1234), N_PY)
    return ns


@pytest.mark.benchmark(group="latency-record")
def test_python_list_append_baseline(benchmark):
    samples: list[int] = []
    benchmark(samples.append, 1234)
    report(benchmark, "python list.append (baseline)", ns_per_op=_list_append_ns())


@pytest.mark.benchmark(group="latency-record")
def test_histogram_record_python_call(benchmark):
    h = lat.Histogram()
    benchmark(h.record, 1234)
    ns = per_call_ns(lambda: h.record(1234), N_PY)
    report(benchmark, "Histogram.record (one Python call each)", ns_per_op=ns)


@pytest.mark.benchmark(group="latency-record")
def test_histogram_record_compiled(benchmark):
    h = lat.Histogram()
    benchmark.pedantic(lat._bench_record, args=(h, N_KERNEL), rounds=5, iterations=1)
    ns = kernel_ns(lambda n: lat._bench_record(lat.Histogram(), n), N_KERNEL)
    base = _list_append_ns()
    report(benchmark, "eng_hist_record, nogil C loop", ns_per_op=ns, list_append_ns=base,
           ratio_vs_list_append=base / ns)


@pytest.mark.benchmark(group="latency-record")
def test_recorder_record_compiled(benchmark):
    r = lat.LatencyRecorder()
    benchmark.pedantic(lat._bench_recorder, args=(r, N_KERNEL), rounds=5, iterations=1)
    ns = kernel_ns(lambda n: lat._bench_recorder(lat.LatencyRecorder(), n), N_KERNEL)
    report(benchmark, "LatencyRecorder.record(stage, ns), nogil C loop", ns_per_op=ns)


@pytest.mark.benchmark(group="latency-percentiles")
def test_percentiles_numpy_baseline(benchmark):
    values = np.random.default_rng(3).lognormal(9, 1.5, 100_000).astype(np.int64)
    arr = values.tolist()
    benchmark(lambda: np.percentile(arr, [50, 90, 99, 99.9]))


@pytest.mark.benchmark(group="latency-percentiles")
def test_percentiles_histogram(benchmark):
    values = np.random.default_rng(3).lognormal(9, 1.5, 100_000).astype(np.int64)
    h = lat.Histogram()
    h.record_many(values.tolist())
    benchmark(lambda: [h.percentile(p) for p in (50, 90, 99, 99.9)])
