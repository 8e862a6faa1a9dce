# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the market-data adapters: stream descriptors, endpoints, cold-frame results and
the subscription rate limiter. Venue specifics live in engine/exchanges/<venue>/market.py."""
from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Sequence

from engine.errors import ConfigError
from engine.instruments import Instrument, Venue

#: Channel names accepted in configs (``channels: [bbo, trades, depth]``).
CHANNELS: tuple[str, ...] = ("bbo", "trades", "depth", "mark", "oi", "liquidations")

# Slow-signal slots (mirror ENG_SIG_* in include/engine/types.h).
SIG_FUNDING_RATE = 0
SIG_MARK_PX = 1
SIG_INDEX_PX = 2
SIG_OPEN_INTEREST = 3
SIG_OI_CHANGE = 4
SIG_LIQUIDATION = 7


@dataclass(frozen=True)
class Endpoints:
    """Where one venue lives. ``ws_public`` may hold ``{category}`` (Bybit: spot/linear)."""

    rest: str
    ws_public: str
    ws_private: str = ""
    ws_trade: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, str]) -> "Endpoints":
        return cls(rest=d["rest"], ws_public=d["ws_public"], ws_private=d.get("ws_private", ""),
                   ws_trade=d.get("ws_trade", ""))


@dataclass(frozen=True)
class Stream:
    """One subscription: instrument ``inst`` (dense id), engine ``channel`` and the venue topic.

    ``topic`` is the venue's name for it: a Binance stream name, a Bybit topic, or for OKX/Bitget
    the JSON ``arg`` object as a sorted tuple of items (hashable)."""

    inst: int
    channel: str
    topic: Any

    def arg(self) -> Any:
        return dict(self.topic) if isinstance(self.topic, tuple) else self.topic


@dataclass
class Cold:
    """What a frame the compiled decoder did not take means to the feed manager.

    kind: ``pong`` | ``ack`` | ``error`` | ``shutdown`` | ``data`` | ``ping`` | ``unknown``.
    ``signals`` holds ``(symbol, ENG_SIG_* slot, value)`` for slow signals (mark, funding, OI).
    ``symbol``/``channel`` name the stream a data frame belongs to when the adapter can tell.
    ``liquidations`` holds one :class:`Liquidation` per forced order in the frame (the feed turns
    them into the signed notional of ENG_SIG_LIQUIDATION; it knows the contract multiplier)."""

    kind: str
    reason: str = ""
    symbol: str = ""
    channel: str = ""
    signals: list[tuple[str, int, float]] = field(default_factory=list)
    liquidations: list["Liquidation"] = field(default_factory=list)
    reply: bytes | None = None      # text frame to send back (application-level ping -> pong)


@dataclass(frozen=True)
class Liquidation:
    """One forced order: ``qty`` in the venue's size unit (contracts on OKX), signed: + a forced buy
    (shorts liquidated), - a forced sell (longs liquidated); ``px`` its price; ``ts_ms`` venue time."""

    symbol: str
    qty: float
    px: float
    ts_ms: int

    @classmethod
    def parse(cls, symbol: Any, forced_buy: bool, qty: Any, px: Any, ts_ms: Any) -> "Liquidation":
        """Validate the venue's strings; ValueError on a missing symbol, non-finite or non-positive numbers."""
        if not isinstance(symbol, str) or not symbol:
            raise ValueError("liquidation without symbol")
        q, p = float(qty), float(px)
        if not (math.isfinite(q) and math.isfinite(p)) or q <= 0.0 or p <= 0.0:
            raise ValueError(f"liquidation {symbol}: bad qty/price {qty!r}/{px!r}")
        return cls(symbol, q if forced_buy else -q, p, int(ts_ms or 0))


@dataclass
class Snapshot:
    """A REST depth snapshot as decimal strings, exactly as the venue sent them."""

    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    last_id: int


class RateLimiter:
    """Sliding-window limiter over several windows, e.g. ``[(5, 1.0)]`` or ``[(10, 1.0), (240, 3600.0)]``.

    ``await acquire()`` waits until one more message fits in every window, then records it.
    Exchanges count messages per connection, so each connection owns one limiter."""

    def __init__(self, windows: Sequence[tuple[int, float]], clock=time.monotonic) -> None:
        if not windows or any(n <= 0 or s <= 0 for n, s in windows):
            raise ValueError(f"bad rate-limit windows {windows!r}")
        self.windows = [(int(n), float(s)) for n, s in windows]
        self._clock = clock
        self._sent: list[deque[float]] = [deque() for _ in self.windows]

    def delay(self) -> float:
        """Seconds until the next message may be sent (0.0 = now)."""
        now = self._clock()
        wait = 0.0
        for (n, span), q in zip(self.windows, self._sent, strict=True):
            while q and q[0] <= now - span:
                q.popleft()
            if len(q) >= n:
                wait = max(wait, q[0] + span - now)
        return wait

    def record(self) -> None:
        now = self._clock()
        for q in self._sent:
            q.append(now)

    async def acquire(self) -> None:
        while True:
            d = self.delay()
            if d <= 0.0:
                self.record()
                return
            await asyncio.sleep(d)


class MarketAdapter:
    """Base of the per-venue market-data adapters (stateless apart from endpoints and symbols).

    Subclasses define the class attributes and the topic / message builders. All frames are bytes."""

    venue: ClassVar[Venue]
    sync: ClassVar[str]                 # Book sync rule name
    resync: ClassVar[str]               # "snapshot" (REST + buffer) or "resubscribe"
    max_streams_per_conn: ClassVar[int]
    max_args_per_request: ClassVar[int]
    #: windows for every message the client sends on one connection (subscribe, unsubscribe, ping)
    send_windows: ClassVar[tuple[tuple[int, float], ...]]
    #: extra windows for subscribe/unsubscribe requests only (e.g. Bitget 240 per hour per connection)
    sub_windows: ClassVar[tuple[tuple[int, float], ...]] = ()
    #: application heartbeat period in seconds (None: the server pings us, picows auto-pongs)
    heartbeat_s: ClassVar[float | None]
    #: the venue cuts every connection after this long; we reconnect earlier with an overlap
    #: (an instance may lower it)
    max_conn_age_s: float = 24 * 3600.0
    channels: ClassVar[tuple[str, ...]]
    #: the ``bbo`` topic is a one-level book pushed as snapshots (Bybit orderbook.1, OKX bbo-tbt,
    #: Bitget books1): the decoder yields depth events, so it needs a Book and is redundant with depth
    bbo_is_book: ClassVar[bool] = False

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints

    # ---- streams --------------------------------------------------------------------
    def streams(self, inst: Instrument, channels: Iterable[str]) -> list[Stream]:
        """Streams for ``channels`` of ``inst``. With ``bbo_is_book`` and ``depth`` both requested the
        one-level topic is left out: it would overwrite the L2 book, whose top already is the bbo."""
        out = []
        channels = list(dict.fromkeys(channels))
        if self.bbo_is_book and "depth" in channels and "bbo" in channels:
            channels.remove("bbo")
        for ch in channels:
            if ch not in CHANNELS:
                raise ConfigError(f"unknown channel {ch!r}; expected one of {', '.join(CHANNELS)}")
            if ch not in self.channels:
                raise ConfigError(f"{self.venue.key} has no public {ch!r} stream "
                                  f"(available: {', '.join(self.channels)})")
            out.extend(Stream(inst.id, ch, t) for t in self.topics(inst, ch))
        return out

    def topics(self, inst: Instrument, channel: str) -> list[Any]:
        raise NotImplementedError

    def is_book_stream(self, s: Stream) -> bool:
        """True for streams whose frames update the instrument's Book."""
        return s.channel == "depth" or (s.channel == "bbo" and self.bbo_is_book)

    def ws_url(self, streams: Sequence[Stream], group: str = "") -> str:
        """URL of one public connection carrying ``streams`` (all in one ``conn_group``)."""
        return self.endpoints.ws_public

    def conn_group(self, inst: Instrument) -> str:
        """Streams of instruments in different groups need different connections (Bybit category)."""
        return ""

    def subscribe_msgs(self, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        raise NotImplementedError

    def unsubscribe_msgs(self, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        raise NotImplementedError

    def url_carries_streams(self) -> bool:
        """True when ws_url() already subscribes (Binance combined streams)."""
        return False

    def ping_msg(self, req_id: int) -> bytes | None:
        return None

    # ---- frames ------------------------------------------------------------------------
    def parse_cold(self, payload: bytes) -> Cold:
        raise NotImplementedError

    # ---- resync ------------------------------------------------------------------------
    def snapshot_url(self, inst: Instrument, limit: int) -> str:
        raise NotImplementedError(f"{self.venue.key} resyncs by resubscribing, not by REST snapshot")

    def parse_snapshot(self, body: bytes) -> Snapshot:
        raise NotImplementedError(f"{self.venue.key} resyncs by resubscribing, not by REST snapshot")


def chunks(seq: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [seq[i:i + n] for i in range(0, len(seq), n)]
