# SPDX-License-Identifier: Apache-2.0
"""Bitget v2 public market data (``instType`` SPOT / USDT-FUTURES; the legacy v1 ``SP``/``MC`` frames of
the fixture recordings parse the same way): subscribe frames, text ``ping`` every 30 s, 10 messages/s
and 240 subscribe requests/hour per connection. Book sync: CRC32 on every message, resubscribe."""
from __future__ import annotations

from typing import Any, ClassVar, Sequence

import orjson

from engine.exchanges.base import (SIG_FUNDING_RATE, SIG_INDEX_PX, SIG_MARK_PX, SIG_OPEN_INTEREST, Cold,
                                   MarketAdapter, Stream, chunks)
from engine.instruments import Instrument, Venue

_CHANNEL = {"books": "depth", "books1": "bbo", "books5": "depth", "books15": "depth", "trade": "trades",
            "ticker": "mark"}


class BitgetMarket(MarketAdapter):
    venue: ClassVar[Venue] = Venue.BITGET
    sync: ClassVar[str] = "bitget"
    resync: ClassVar[str] = "resubscribe"
    bbo_is_book: ClassVar[bool] = True
    max_streams_per_conn: ClassVar[int] = 50          # venue allows 1000, recommends < 50
    max_args_per_request: ClassVar[int] = 20
    send_windows: ClassVar[tuple[tuple[int, float], ...]] = ((8, 1.0),)
    sub_windows: ClassVar[tuple[tuple[int, float], ...]] = ((240, 3600.0),)
    heartbeat_s: ClassVar[float | None] = 25.0        # venue: every 30 s, disconnect after 2 min
    channels: ClassVar[tuple[str, ...]] = ("bbo", "trades", "depth", "mark", "oi")

    def inst_type(self, inst: Instrument) -> str:
        """v2 instType from ``inst.category``: empty / linear -> USDT-FUTURES (the default product, as
        for the order router and Bybit's linear), spot -> SPOT; v1 SP / MC pass through."""
        c = (inst.category or "USDT-FUTURES").upper()
        return {"SPOT": "SPOT", "LINEAR": "USDT-FUTURES", "SP": "SP", "MC": "MC"}.get(c, c)

    def topics(self, inst: Instrument, channel: str) -> list[Any]:
        it = self.inst_type(inst)
        if channel in ("mark", "oi") and it in ("SPOT", "SP"):
            return []
        name = {"bbo": "books1", "trades": "trade", "depth": "books", "mark": "ticker", "oi": "ticker"}[channel]
        return [(("instType", it), ("channel", name), ("instId", inst.symbol))]

    def _msgs(self, op: str, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        args = list(dict.fromkeys(s.topic for s in streams))
        return [orjson.dumps({"op": op, "args": [dict(a) for a in part]})
                for part in chunks(args, self.max_args_per_request)]

    def subscribe_msgs(self, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        return self._msgs("subscribe", streams, req_id)

    def unsubscribe_msgs(self, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        return self._msgs("unsubscribe", streams, req_id)

    def ping_msg(self, req_id: int) -> bytes | None:
        return b"ping"

    def parse_cold(self, payload: bytes) -> Cold:
        if payload == b"pong":
            return Cold("pong")
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError as e:
            return Cold("error", f"not JSON: {e}")
        if not isinstance(msg, dict):
            return Cold("unknown", "not an object")
        ev = msg.get("event")
        if ev in ("subscribe", "unsubscribe", "login"):
            return Cold("ack", ev)
        if ev == "error":
            return Cold("error", f"{msg.get('code')}: {msg.get('msg')}")
        arg = msg.get("arg")
        if not isinstance(arg, dict):
            return Cold("unknown", "no arg")
        name = arg.get("channel", "")
        sym = arg.get("instId", "")
        cold = Cold("data", name, symbol=sym, channel=_CHANNEL.get(name, ""))
        if name == "ticker":
            for row in msg.get("data") or ():
                if not isinstance(row, dict):
                    continue
                for key, slot in (("markPrice", SIG_MARK_PX), ("indexPrice", SIG_INDEX_PX),
                                  ("fundingRate", SIG_FUNDING_RATE), ("holdingAmount", SIG_OPEN_INTEREST)):
                    v = row.get(key)
                    if v not in (None, ""):
                        cold.signals.append((sym, slot, float(v)))
        return cold
