# SPDX-License-Identifier: Apache-2.0
"""The headline tick-to-trade benchmark runs end to end (tiny: 300 quotes). No timing assertions: it checks
that every configuration connects, orders exactly on every 10th quote with valid signatures, and reports."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests._bots_util import child_env

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"name", "orders", "p50_us", "p90_us", "p99_us", "p999_us", "cpu_us_per_quote"}


@pytest.mark.slow
def test_tick_to_trade_tiny_run_all_bots():
    env = child_env()
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tick_to_trade.py"), "--quotes", "300", "--warmup",
                        "50", "--rate", "2000", "--busy-poll", "off", "--json"],
                       capture_output=True, text=True, timeout=240, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [row["name"] for row in rows] == ["engine-cy", "engine-py", "plain", "fast-py", "echo", "c-floor"]
    for row in rows:
        assert FIELDS <= set(row), row
        assert row["orders"] == 30 and row["unmatched"] == 0, row     # every 10th of 300 quotes, each matched
        assert row["p50_us"] > 0 and row["p50_us"] <= row["p99_us"] <= row["p999_us"]
        assert row["cpu_us_per_quote"] > 0 and row["rss_mb"] > 0


@pytest.mark.slow
def test_c_floor_bot_counts_coalesced_frames():
    """The C floor bot orders on exactly every 10th frame even when quotes arrive faster than it wakes (several
    frames per read, frames split across reads), sleeping in recv() or in epoll_wait, or spinning."""
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tick_to_trade.py"), "--bots", "c-floor-recv,c-floor",
                        "--quotes", "3000", "--warmup", "100", "--rate", "30000", "--busy-poll", "both", "--json"],
                       capture_output=True, text=True, timeout=240, cwd=ROOT, env=child_env())
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [row["name"] for row in rows] == ["c-floor-recv", "c-floor", "c-floor+bp"]
    for row in rows:
        assert row["orders"] == 300 and row["unmatched"] == 0, row
        assert 0 < row["rss_mb"] < 20, row            # its own peak RSS, not the harness's inherited pages


def test_tick_to_trade_rejects_unknown_bot():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tick_to_trade.py"), "--bots", "nope"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2 and "unknown bot 'nope'" in r.stderr


@pytest.mark.slow
def test_tick_to_trade_against_engine_sim():
    """--exchange sim: the same bots against engine.sim's latency probe; orders reach the sim and are timed."""
    env = child_env()
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tick_to_trade.py"), "--exchange", "sim",
                        "--bots", "engine-cy,fast-py", "--quotes", "400", "--warmup", "100", "--busy-poll", "off",
                        "--json"], capture_output=True, text=True, timeout=240, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [row["name"] for row in rows] == ["engine-cy", "fast-py"]
    for row in rows:
        assert FIELDS <= set(row) and row["exchange"] == "sim", row
        assert row["orders"] >= 20, row           # ~1 in 10 of ~400 sim quotes
        assert 0 < row["p50_us"] <= row["p99_us"] <= row["p999_us"]


def test_tick_to_trade_sim_refuses_echo():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tick_to_trade.py"), "--exchange", "sim",
                        "--bots", "echo", "--busy-poll", "off", "--quotes", "10"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT, env=child_env())
    assert r.returncode == 1 and "the sim stamps orders only" in r.stderr


def test_bench_bots_accept_uniform_endpoint_flags():
    for script in ("bots/bench/run.py", "benchmarks/baselines/plain_bot.py", "benchmarks/baselines/fast_py_bot.py",
                   "benchmarks/baselines/echo_bot.py"):
        r = subprocess.run([sys.executable, str(ROOT / script), "--help"], capture_output=True, text=True,
                           timeout=60, cwd=ROOT, env=child_env())
        assert r.returncode == 0, (script, r.stderr)
        for flag in ("--ws-url", "--ws-api-url", "--rest-url", "--every", "--busy-poll"):
            assert flag in r.stdout, (script, flag)
