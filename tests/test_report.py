# SPDX-License-Identifier: Apache-2.0
"""engine.report: periodic lines, window percentiles from bucket diffs, HTML/PNG report, Prometheus text."""
from __future__ import annotations

import logging

import aiohttp

from engine.latency import LatencyRecorder
from engine.report import LatencyReporter, format_table, percentile_of_buckets, prometheus_text, start_prometheus, write_report


def _rec() -> LatencyRecorder:
    r = LatencyRecorder()
    for i in range(1, 1001):
        r.record(1, 1000 + i)         # decode ~1-2 µs
        r.record(8, 20_000 + 10 * i)  # tick_to_trade 20-30 µs
    return r


def test_percentile_of_buckets():
    assert percentile_of_buckets([(0, 9, 50), (10, 19, 50)], 50) == 9
    assert percentile_of_buckets([(0, 9, 50), (10, 19, 50)], 51) == 19
    assert percentile_of_buckets([], 50) != percentile_of_buckets([], 50)  # nan


def test_reporter_windows_and_log_line(caplog):
    r = _rec()
    rep = LatencyReporter(r, every=100)
    with caplog.at_level(logging.INFO, logger="hotpath.latency"):
        assert rep.on_ticks(50) is False
        assert rep.on_ticks(100) is True
        assert rep.window() is not None
        for _ in range(10):
            r.record(8, 5_000_000)  # a slow window: 5 ms
        assert rep.on_ticks(150) is False
        assert rep.on_ticks(230) is True
        rep.window()
        assert rep.window() is None  # nothing new recorded
    assert caplog.text.count("latency p50/p99") == 2
    assert len(rep.timeline) == 2
    first, second = rep.timeline
    assert first.count == 1000 and 20_000 <= first.p50_ns <= 26_000
    assert second.count == 10 and 4_900_000 <= second.p50_ns <= 5_200_000
    assert "tick_to_trade=" in caplog.text and "decode=" in caplog.text
    t = rep.table()
    assert "tick_to_trade" in t and "p99.9" in t


def test_format_table_orders_stages():
    t = format_table({"tick_to_trade": {"count": 1, "p50": 1000, "p90": 1000, "p99": 1000, "p999": 1000, "max": 1000},
                      "decode": {"count": 2, "p50": 500, "p90": 500, "p99": 500, "p999": 500, "max": 500}})
    lines = t.splitlines()
    assert lines[1].startswith("decode") and lines[2].startswith("tick_to_trade")
    assert "0.50" in lines[1] and "1.00" in lines[2]


def test_write_report(tmp_path):
    r = _rec()
    rep = LatencyReporter(r, every=1)
    rep.window()
    html_path, png = write_report(r, tmp_path, rep.timeline, {"bot": "test"})
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = html_path.read_text()
    assert "tick_to_trade" in text and "data:image/png;base64," in text and "<td>test</td>" in text


async def test_prometheus_endpoint():
    r = _rec()
    text = prometheus_text(r, {"orders_sent": 3})
    assert 'hotpath_stage_latency_seconds{stage="decode",quantile="0.5"}' in text
    assert "hotpath_orders_sent 3.0" in text
    runner = await start_prometheus(r, 0, lambda: {"fills": 2})
    try:
        port = runner.addresses[0][1]
        assert runner.addresses[0][0] == "127.0.0.1"
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as resp:
            body = await resp.text()
        assert resp.status == 200
        assert 'stage="tick_to_trade",quantile="0.99"' in body and "hotpath_fills 2.0" in body
    finally:
        await runner.cleanup()
