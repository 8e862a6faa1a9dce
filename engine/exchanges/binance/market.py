# SPDX-License-Identifier: Apache-2.0
"""Binance spot and USD-M futures market data: combined-stream URLs, SUBSCRIBE frames, cold frames
and the REST depth snapshot used by the buffer-then-sync procedure (the Book applies the U/u resp.
pu rules; see docs: web-socket-streams.md "How to manage a local order book correctly")."""
from __future__ import annotations

from typing import Any, ClassVar, Sequence

import orjson

from engine.exchanges.base import (SIG_FUNDING_RATE, SIG_INDEX_PX, SIG_MARK_PX, Cold, Liquidation,
                                   MarketAdapter, Snapshot, Stream, chunks)
from engine.instruments import Instrument, Venue

_CHANNEL_OF_EVENT = {"depthUpdate": "depth", "bookTicker": "bbo", "trade": "trades", "aggTrade": "trades",
                     "markPriceUpdate": "mark", "forceOrder": "liquidations"}


class _BinanceMarket(MarketAdapter):
    resync: ClassVar[str] = "snapshot"
    max_streams_per_conn: ClassVar[int] = 1024
    #: streams per SUBSCRIBE frame; the URL also carries at most this many (keeps it < 8 kB)
    max_args_per_request: ClassVar[int] = 200
    heartbeat_s: ClassVar[float | None] = None      # server pings; picows answers (enable_auto_pong)
    depth_path: ClassVar[str]
    depth_stream: ClassVar[str] = "@depth@100ms"
    snapshot_limit: ClassVar[int] = 1000

    def topics(self, inst: Instrument, channel: str) -> list[Any]:
        s = inst.symbol.lower()
        return [s + self.stream_suffix[channel]]

    stream_suffix: ClassVar[dict[str, str]]

    def url_carries_streams(self) -> bool:
        return True

    def ws_url(self, streams: Sequence[Stream], group: str = "") -> str:
        base = self.endpoints.ws_public.rstrip("/")
        if not streams:
            return base + "/stream"
        if len(streams) > self.max_args_per_request:
            raise ValueError(f"at most {self.max_args_per_request} streams in one URL")
        return base + "/stream?streams=" + "/".join(s.topic for s in streams)

    def subscribe_msgs(self, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        return [orjson.dumps({"method": "SUBSCRIBE", "params": [s.topic for s in part], "id": req_id + i})
                for i, part in enumerate(chunks(list(streams), self.max_args_per_request))]

    def unsubscribe_msgs(self, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        return [orjson.dumps({"method": "UNSUBSCRIBE", "params": [s.topic for s in part], "id": req_id + i})
                for i, part in enumerate(chunks(list(streams), self.max_args_per_request))]

    def parse_cold(self, payload: bytes) -> Cold:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError as e:
            return Cold("error", f"not JSON: {e}")
        if not isinstance(msg, dict):
            return Cold("unknown", "not an object")
        if "result" in msg and "id" in msg:
            return Cold("ack", f"id={msg['id']}")
        if "error" in msg or ("code" in msg and "msg" in msg):
            err = msg.get("error", msg)
            return Cold("error", f"{err.get('code')}: {err.get('msg')}")
        data = msg.get("data", msg)
        stream = msg.get("stream", "")
        if not isinstance(data, dict):
            return Cold("unknown", "data is not an object")
        ev = data.get("e", "")
        if ev == "serverShutdown":
            return Cold("shutdown", "serverShutdown")
        if ev == "forceOrder":
            return self._force_order(data)
        sym = data.get("s", "")
        if not ev and "u" in data and "b" in data and "a" in data and "B" in data:
            ev = "bookTicker"            # spot bookTicker has no "e"
        ch = _CHANNEL_OF_EVENT.get(ev, "")
        if not ch and "@" in stream:
            ch = "depth" if "@depth" in stream else ""
        cold = Cold("data" if ch else "unknown", ev or "no event type", symbol=sym, channel=ch)
        if ev == "markPriceUpdate":
            for key, slot in (("p", SIG_MARK_PX), ("i", SIG_INDEX_PX), ("r", SIG_FUNDING_RATE)):
                v = data.get(key)
                if v not in (None, ""):
                    cold.signals.append((sym, slot, float(v)))
        return cold

    @staticmethod
    def _force_order(data: dict[str, Any]) -> Cold:
        """USD-M ``<symbol>@forceOrder``: ``o.S`` is the side of the liquidation order (SELL = a long
        was liquidated). The filled part (``z`` at average ``ap``) counts; before any fill the order
        quantity ``q`` at its price ``p``."""
        o = data.get("o")
        if not isinstance(o, dict):
            return Cold("error", "forceOrder without order object")
        sym = o.get("s", "")
        side = o.get("S")
        if side not in ("BUY", "SELL"):
            return Cold("error", f"forceOrder {sym}: bad side {side!r}")
        try:
            filled = float(o.get("z") or 0)
            qty, px = (o.get("z"), o.get("ap")) if filled > 0 and float(o.get("ap") or 0) > 0 \
                else (o.get("q"), o.get("p"))
            liq = Liquidation.parse(sym, side == "BUY", qty, px, o.get("T") or data.get("E"))
        except (TypeError, ValueError) as e:
            return Cold("error", f"forceOrder: {e}")
        cold = Cold("data", "forceOrder", symbol=sym, channel="liquidations")
        cold.liquidations.append(liq)
        return cold

    def snapshot_url(self, inst: Instrument, limit: int = 0) -> str:
        return (f"{self.endpoints.rest.rstrip('/')}{self.depth_path}?symbol={inst.symbol}"
                f"&limit={limit or self.snapshot_limit}")

    def parse_snapshot(self, body: bytes) -> Snapshot:
        d = orjson.loads(body)
        if not isinstance(d, dict) or "lastUpdateId" not in d:
            raise ValueError(f"not a depth snapshot: {body[:200]!r}")
        return Snapshot([(p, q) for p, q in d["bids"]], [(p, q) for p, q in d["asks"]], int(d["lastUpdateId"]))


class BinanceSpotMarket(_BinanceMarket):
    venue: ClassVar[Venue] = Venue.BINANCE_SPOT
    sync: ClassVar[str] = "binance_spot"
    # 5 incoming messages/s per connection incl. pongs: we use 4 so auto-pongs always fit.
    send_windows: ClassVar[tuple[tuple[int, float], ...]] = ((4, 1.0),)
    depth_path: ClassVar[str] = "/api/v3/depth"
    channels: ClassVar[tuple[str, ...]] = ("bbo", "trades", "depth")
    stream_suffix: ClassVar[dict[str, str]] = {"bbo": "@bookTicker", "trades": "@trade", "depth": "@depth@100ms"}


class BinanceUsdmMarket(_BinanceMarket):
    venue: ClassVar[Venue] = Venue.BINANCE_USDM
    sync: ClassVar[str] = "binance_usdm"
    send_windows: ClassVar[tuple[tuple[int, float], ...]] = ((8, 1.0),)   # venue: 10/s
    depth_path: ClassVar[str] = "/fapi/v1/depth"
    channels: ClassVar[tuple[str, ...]] = ("bbo", "trades", "depth", "mark", "liquidations")
    stream_suffix: ClassVar[dict[str, str]] = {"bbo": "@bookTicker", "trades": "@aggTrade",
                                               "depth": "@depth@100ms", "mark": "@markPrice@1s",
                                               "liquidations": "@forceOrder"}
