# SPDX-License-Identifier: Apache-2.0
"""Rate-limit accounting and clock offset estimation (no network)."""
from __future__ import annotations

import pytest

from engine.clock_sync import ClockSync
from engine.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_local_window_throttles_before_cap():
    c = Clock()
    rl = RateLimiter("x", safety=0.8, clock=c, windows=[("weight", 10, 1.0), ("orders", 5, 1.0)])
    for _ in range(4):
        assert rl.try_acquire(1, order=True) == 0.0
    d = rl.try_acquire(1, order=True)                  # 5th order > 0.8 * 5
    assert d == pytest.approx(1.0) and rl.throttled == 1
    assert rl.try_acquire(3) == 0.0                    # non-order requests only count weight
    assert rl.try_acquire(2) > 0                       # 7 + 2 > 8
    c.t += 1.0
    assert rl.try_acquire(1, order=True) == 0.0


def test_binance_headers_and_bans():
    c = Clock()
    rl = RateLimiter("binance_usdm", clock=c)
    rl.on_response(200, {"X-MBX-USED-WEIGHT-1M": "2000", "X-MBX-ORDER-COUNT-10S": "3"})
    assert rl.delay(1) == pytest.approx(60.0)           # venue says 2000/2400 > 80%
    c.t += 61
    assert rl.delay(1) == 0.0
    rl.on_response(429, {"Retry-After": "7"})
    assert rl.delay() == pytest.approx(7.0) and rl.hits_429 == 1
    rl.on_response(418, {})
    assert rl.banned and rl.delay() == pytest.approx(120.0)
    rl.on_response(200, {"X-MBX-USED-WEIGHT-1M": "garbage"})   # ignored, no crash


def test_bybit_headers():
    import time
    c = Clock()
    rl = RateLimiter("bybit", clock=c)
    rl.on_response(200, {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "0",
                         "X-Bapi-Limit-Reset-Timestamp": str(int(time.time() * 1000) + 500)})
    assert 0.3 < rl.delay() <= 0.5


def test_clock_min_rtt():
    cs = ClockSync()
    # true offset +250 ms; a slow sample with asymmetric delay would mislead without the filter
    cs.add_sample(0, 5_250, 10_000_000_000)          # rtt 10 s, server read late
    cs.add_sample(1_000_000_000, 1_250 + 1, 1_002_000_000)   # rtt 2 ms
    assert cs.rtt_ns == 2_000_000
    assert cs.offset_ms == pytest.approx(250.0, abs=1.0)
    with pytest.raises(ValueError):
        cs.add_sample(5, 1, 4)
