# SPDX-License-Identifier: Apache-2.0
"""Per-venue REST rate-limit accounting: throttle before the venue would ban us.

Local sliding windows count what we send (documented weights); venue headers override the local
count when they report more (Binance ``X-MBX-USED-WEIGHT-1M`` / ``X-MBX-ORDER-COUNT-10S|1M``,
Bybit ``X-Bapi-Limit-Status`` + reset timestamp). 429/418 and ``Retry-After`` block the venue until
the given time (418 = IP ban: never earlier than Retry-After, default 2 minutes). OKX and Bitget
report no remaining quota, so their documented per-endpoint limits are enforced locally."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Mapping

_UNIT_S = {"S": 1.0, "M": 60.0, "H": 3600.0, "D": 86400.0}


@dataclass
class Window:
    name: str                  # "weight" or "orders" (+ span), e.g. weight:60
    limit: int
    span_s: float
    sent: deque = field(default_factory=deque)   # (t, cost)
    used: int = 0              # local sum inside the window
    reported: int = 0          # last value the venue reported
    reported_at: float = 0.0

    def expire(self, now: float) -> None:
        q = self.sent
        while q and q[0][0] <= now - self.span_s:
            self.used -= q.popleft()[1]
        if self.reported and now - self.reported_at >= self.span_s:
            self.reported = 0

    def level(self) -> int:
        return max(self.used, self.reported)


# documented limits (per account/IP; conservative defaults)
VENUE_WINDOWS: dict[str, list[tuple[str, int, float]]] = {
    "binance_usdm": [("weight", 2400, 60.0), ("orders", 300, 10.0), ("orders", 1200, 60.0)],
    "binance_spot": [("weight", 6000, 60.0), ("orders", 100, 10.0), ("orders", 200000, 86400.0)],
    "bybit": [("weight", 600, 5.0), ("orders", 10, 1.0)],                  # per-endpoint 10/s (UID)
    "okx": [("weight", 20, 2.0), ("orders", 60, 2.0)],                     # place order 60 / 2 s
    "bitget": [("weight", 20, 1.0), ("orders", 10, 1.0)],                  # place-order 10/s
}


class RateLimiter:
    def __init__(self, venue_key: str, safety: float = 0.8, clock=time.monotonic,
                 windows: list[tuple[str, int, float]] | None = None) -> None:
        if not 0 < safety <= 1:
            raise ValueError("safety must be in (0, 1]")
        self.venue_key = venue_key
        self.safety = safety
        self._clock = clock
        spec = windows if windows is not None else VENUE_WINDOWS[venue_key]
        self.windows = [Window(n, lim, span) for n, lim, span in spec]
        self.blocked_until = 0.0
        self.banned = False
        self.throttled = 0
        self.hits_429 = 0
        self.hits_418 = 0

    def delay(self, weight: int = 1, order: bool = False) -> float:
        """Seconds to wait before a request of ``weight`` (and one order if ``order``) fits."""
        now = self._clock()
        wait = max(0.0, self.blocked_until - now)
        for w in self.windows:
            if w.name == "orders" and not order:
                continue
            w.expire(now)
            cost = 1 if w.name == "orders" else weight
            cap = int(w.limit * self.safety)
            if w.level() + cost > cap:
                if w.sent and w.used + cost > cap:
                    # wait until enough local sends leave the window
                    need, acc = w.level() + cost - cap, 0
                    t_free = w.sent[-1][0] + w.span_s
                    for t, c in w.sent:
                        acc += c
                        if acc >= need:
                            t_free = t + w.span_s
                            break
                    wait = max(wait, t_free - now)
                else:            # the venue says we are near the cap: wait for its window to roll
                    wait = max(wait, w.reported_at + w.span_s - now)
        return wait

    def record(self, weight: int = 1, order: bool = False) -> None:
        now = self._clock()
        for w in self.windows:
            if w.name == "orders" and not order:
                continue
            cost = 1 if w.name == "orders" else weight
            w.sent.append((now, cost))
            w.used += cost

    def try_acquire(self, weight: int = 1, order: bool = False) -> float:
        """Record and return 0.0 if the request may go now, else the seconds to wait (nothing recorded)."""
        d = self.delay(weight, order)
        if d <= 0.0:
            self.record(weight, order)
            return 0.0
        self.throttled += 1
        return d

    def on_response(self, status: int, headers: Mapping[str, str]) -> None:
        now = self._clock()
        h = {k.lower(): v for k, v in headers.items()}
        for k, v in h.items():
            if k.startswith("x-mbx-used-weight-") or k.startswith("x-mbx-order-count-"):
                kind = "weight" if "weight" in k else "orders"
                suffix = k.rsplit("-", 1)[1].upper()
                try:
                    span = float(suffix[:-1]) * _UNIT_S[suffix[-1]]
                    val = int(v)
                except (ValueError, KeyError, IndexError):
                    continue
                for w in self.windows:
                    if w.name == kind and w.span_s == span:
                        w.reported, w.reported_at = val, now
        if "x-bapi-limit-status" in h and "x-bapi-limit" in h:
            try:
                remaining = int(h["x-bapi-limit-status"])
                reset_ms = int(h.get("x-bapi-limit-reset-timestamp", "0"))
            except ValueError:
                remaining, reset_ms = 1, 0
            if remaining <= 0 and reset_ms:
                self.blocked_until = max(self.blocked_until,
                                         now + max(0.0, reset_ms / 1000.0 - time.time()))
        if status in (429, 418):
            retry = h.get("retry-after")
            try:
                secs = float(retry) if retry is not None else (120.0 if status == 418 else 1.0)
            except ValueError:
                secs = 120.0 if status == 418 else 1.0
            self.blocked_until = max(self.blocked_until, now + secs)
            if status == 418:
                self.banned = True
                self.hits_418 += 1
            else:
                self.hits_429 += 1

    def status(self) -> dict[str, object]:
        now = self._clock()
        for w in self.windows:
            w.expire(now)
        return {"blocked_s": max(0.0, self.blocked_until - now), "banned": self.banned,
                "throttled": self.throttled, "429": self.hits_429, "418": self.hits_418,
                "windows": {f"{w.name}:{int(w.span_s)}s": (w.level(), w.limit) for w in self.windows}}
