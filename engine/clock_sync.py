# SPDX-License-Identifier: Apache-2.0
"""Server-time offset estimation with a minimum-RTT filter.

Each sample is (local wall time before the request, server time in the answer, local wall time
after). The server read its clock somewhere inside [t0, t1]; the sample with the smallest round
trip bounds the error best, so the offset is taken from the min-RTT sample of the recent window:
offset = server - (t0 + t1) / 2, error <= rtt / 2. Used for signature timestamps and to convert
venue event times for latency metrics."""
from __future__ import annotations

import time
from collections import deque
from typing import Awaitable, Callable


class ClockSync:
    def __init__(self, window: int = 16) -> None:
        self.samples: deque[tuple[int, int]] = deque(maxlen=window)   # (rtt_ns, offset_ns)
        self.offset_ns = 0
        self.rtt_ns = 0
        self.synced = False

    def add_sample(self, t0_ns: int, server_ms: int, t1_ns: int) -> None:
        if t1_ns < t0_ns or server_ms <= 0:
            raise ValueError("bad clock sample")
        rtt = t1_ns - t0_ns
        off = server_ms * 1_000_000 - (t0_ns + t1_ns) // 2
        self.samples.append((rtt, off))
        self.rtt_ns, self.offset_ns = min(self.samples)
        self.synced = True

    def reset(self) -> None:
        """Forget old samples (the local clock jumped or the venue rejected our timestamps)."""
        self.samples.clear()
        self.synced = False

    @property
    def offset_ms(self) -> float:
        return self.offset_ns / 1e6

    def server_ms(self) -> int:
        """Now on the venue's clock in ms (what signatures carry)."""
        return (time.time_ns() + self.offset_ns) // 1_000_000

    def to_local_ns(self, server_ms: int) -> int:
        return server_ms * 1_000_000 - self.offset_ns

    async def sync(self, fetch_server_ms: Callable[[], Awaitable[int]], n: int = 5) -> float:
        for _ in range(n):
            t0 = time.time_ns()
            s = await fetch_server_ms()
            t1 = time.time_ns()
            self.add_sample(t0, s, t1)
        return self.offset_ms
