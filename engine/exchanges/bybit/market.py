# SPDX-License-Identifier: Apache-2.0
"""Bybit v5 public market data: topics per category (spot/linear), subscribe frames of <= 10 args
(the spot limit, used everywhere), the JSON ping every 20 s and its four pong shapes, slow signals
from ``tickers``. Book sync: snapshot/delta with ``u`` continuity; a gap resubscribes the topic."""
from __future__ import annotations

from typing import Any, ClassVar, Sequence

import orjson

from engine.exchanges.base import (SIG_FUNDING_RATE, SIG_INDEX_PX, SIG_MARK_PX, SIG_OPEN_INTEREST, Cold,
                                   Liquidation, MarketAdapter, Stream, chunks)
from engine.instruments import Instrument, Venue

_TOPIC_CHANNEL = {"orderbook": "depth", "publicTrade": "trades", "tickers": "mark",
                  "allLiquidation": "liquidations", "liquidation": "liquidations"}


class BybitMarket(MarketAdapter):
    venue: ClassVar[Venue] = Venue.BYBIT
    sync: ClassVar[str] = "bybit"
    resync: ClassVar[str] = "resubscribe"
    bbo_is_book: ClassVar[bool] = True
    max_streams_per_conn: ClassVar[int] = 200
    max_args_per_request: ClassVar[int] = 10
    send_windows: ClassVar[tuple[tuple[int, float], ...]] = ((10, 1.0),)
    heartbeat_s: ClassVar[float | None] = 20.0
    channels: ClassVar[tuple[str, ...]] = ("bbo", "trades", "depth", "mark", "oi", "liquidations")
    #: L2 depth for the ``depth`` channel (1, 50, 200 or 1000 on linear; 1, 50, 200 on spot)
    depth_levels: int = 50

    def category(self, inst: Instrument) -> str:
        return (inst.category or "linear").lower()

    def conn_group(self, inst: Instrument) -> str:
        return self.category(inst)

    def topics(self, inst: Instrument, channel: str) -> list[Any]:
        s = inst.symbol
        if channel in ("mark", "oi", "liquidations") and self.category(inst) == "spot":
            return []        # spot has no mark price, open interest or liquidations
        return [{"bbo": f"orderbook.1.{s}", "trades": f"publicTrade.{s}",
                 "depth": f"orderbook.{self.depth_levels}.{s}", "mark": f"tickers.{s}", "oi": f"tickers.{s}",
                 "liquidations": f"allLiquidation.{s}"}[channel]]

    def ws_url(self, streams: Sequence[Stream], group: str = "") -> str:
        return self.endpoints.ws_public.replace("{category}", group or "linear")

    def subscribe_msgs(self, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        topics = list(dict.fromkeys(s.topic for s in streams))
        return [orjson.dumps({"req_id": f"s{req_id + i}", "op": "subscribe", "args": part})
                for i, part in enumerate(chunks(topics, self.max_args_per_request))]

    def unsubscribe_msgs(self, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        topics = list(dict.fromkeys(s.topic for s in streams))
        return [orjson.dumps({"req_id": f"u{req_id + i}", "op": "unsubscribe", "args": part})
                for i, part in enumerate(chunks(topics, self.max_args_per_request))]

    def ping_msg(self, req_id: int) -> bytes | None:
        return orjson.dumps({"req_id": f"p{req_id}", "op": "ping"})

    def parse_cold(self, payload: bytes) -> Cold:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError as e:
            return Cold("error", f"not JSON: {e}")
        if not isinstance(msg, dict):
            return Cold("unknown", "not an object")
        op = msg.get("op")
        if op == "pong" or (op == "ping" and msg.get("ret_msg") == "pong"):
            return Cold("pong")
        if op in ("subscribe", "unsubscribe"):
            if msg.get("success", False):
                return Cold("ack", op)
            return Cold("error", f"{op} failed: {msg.get('ret_msg', '')}")
        if msg.get("type") == "COMMAND_RESP":
            fail = (msg.get("data") or {}).get("failTopics") or []
            return Cold("error", f"failed topics {fail}") if fail else Cold("ack", "COMMAND_RESP")
        topic = msg.get("topic")
        if not isinstance(topic, str):
            return Cold("unknown", "no topic")
        head, _, sym = topic.rpartition(".") if topic.count(".") >= 1 else (topic, "", "")
        head = head.split(".")[0]
        ch = _TOPIC_CHANNEL.get(head, "")
        if head == "orderbook" and topic.split(".")[1] == "1":
            ch = "bbo"
        cold = Cold("data", head, symbol=sym, channel=ch)
        data = msg.get("data")
        if head == "tickers" and isinstance(data, dict):
            # linear deltas carry only changed fields: absent = unchanged, so only present ones are written
            for key, slot in (("markPrice", SIG_MARK_PX), ("indexPrice", SIG_INDEX_PX),
                              ("fundingRate", SIG_FUNDING_RATE), ("openInterest", SIG_OPEN_INTEREST)):
                v = data.get(key)
                if v not in (None, ""):
                    cold.signals.append((sym, slot, float(v)))
        elif head in ("allLiquidation", "liquidation"):
            # allLiquidation: list of {T, s, S, v, p}; S is the side of the liquidated POSITION
            # (Buy = a long was liquidated by a forced sell). Legacy ``liquidation``: one
            # {updatedTime, symbol, side, size, price} object with the same side meaning.
            rows = data if isinstance(data, list) else [data]
            try:
                for r in rows:
                    if not isinstance(r, dict):
                        raise ValueError("row is not an object")
                    side = r.get("S", r.get("side"))
                    if side not in ("Buy", "Sell"):
                        raise ValueError(f"bad side {side!r}")
                    cold.liquidations.append(Liquidation.parse(
                        r.get("s", r.get("symbol", sym)), side == "Sell", r.get("v", r.get("size")),
                        r.get("p", r.get("price")), r.get("T", r.get("updatedTime", msg.get("ts")))))
            except (TypeError, ValueError) as e:
                return Cold("error", f"{topic}: {e}")
        return cold
