# SPDX-License-Identifier: Apache-2.0
"""Fault injection state of one simulated venue.

Faults are set for a whole run (``VenueSpec.faults``) or per test (``SimExchange.inject``).
Connection faults act on the outgoing frames of WebSocket connections; order faults act on the
next order requests (REST or WS). Every fault that fires is appended to ``log`` so tests can
observe it.

Names and parameters
--------------------
drop         target=all|public|user|trade   abort matching connections now
silent       target, seconds=None            stop sending and answering (socket stays open)
delay        ms, count=None                  delay each outgoing frame by ms (count frames)
reorder      count=1                         swap the next frame with the one after it
gap          symbol, count=1                 skip one depth sequence id (drop a depth event)
bad_checksum symbol, count=1                 next depth event carries a wrong checksum (OKX/Bitget)
garbage      count=1, mode=garbage|truncated replace outgoing frames with garbage / truncated JSON
rate_limit   count=1, code=-1003|-1015 (venue code), retry_after=1   answer orders with 429
server_error count=1, placed=True            answer orders with 5xx; order placed or not
no_answer    count=1, placed=True            never answer the next order requests
ping         interval, timeout               server pings; disconnect when no pong in timeout
shutdown     grace=1.0                       serverShutdown event, then disconnect after grace
max_age      seconds                         force-disconnect connections older than seconds
"""
from __future__ import annotations

import time
from typing import Any

FAULTS = ("drop", "silent", "delay", "reorder", "gap", "bad_checksum", "garbage", "rate_limit",
          "server_error", "no_answer", "ping", "shutdown", "max_age")
ORDER_FAULTS = ("rate_limit", "server_error", "no_answer")


class Faults:
    """Pending/active faults of one venue; counted faults disarm themselves."""

    def __init__(self) -> None:
        self.active: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[float, str, dict[str, Any]]] = []

    def arm(self, name: str, params: dict[str, Any]) -> None:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; expected one of {', '.join(FAULTS)}")
        self.active[name] = dict(params)

    def clear(self, name: str | None = None) -> None:
        if name is None:
            self.active.clear()
        else:
            self.active.pop(name, None)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.active.get(name)

    def fired(self, name: str, **detail: Any) -> None:
        self.log.append((time.time(), name, detail))

    def take(self, name: str, symbol: str | None = None) -> dict[str, Any] | None:
        """Consume one count of a counted fault (optionally only for ``symbol``)."""
        p = self.active.get(name)
        if p is None:
            return None
        if symbol is not None and p.get("symbol") not in (None, symbol):
            return None
        n = p.get("count", 1)
        if n is not None:
            n -= 1
            if n <= 0:
                del self.active[name]
            else:
                p["count"] = n
        detail = {k: v for k, v in p.items() if k != "count"}
        if symbol:
            detail["symbol"] = symbol
        self.fired(name, **detail)
        return p

    def take_order_fault(self) -> tuple[str, dict[str, Any]] | None:
        for name in ORDER_FAULTS:
            if name in self.active:
                p = self.take(name)
                if p is not None:
                    return name, p
        return None
