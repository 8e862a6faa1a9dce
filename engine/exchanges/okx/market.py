# SPDX-License-Identifier: Apache-2.0
"""OKX v5 public market data: ``{"op":"subscribe","args":[{channel,instId}]}`` frames, text ``ping``
when idle (< 30 s), acks/errors, slow signals (mark-price, funding-rate, open-interest). Book sync:
seqId/prevSeqId continuity and CRC32 on every message; a mismatch resubscribes that instrument."""
from __future__ import annotations

from typing import Any, ClassVar, Sequence

import orjson

from engine.exchanges.base import (SIG_FUNDING_RATE, SIG_MARK_PX, SIG_OPEN_INTEREST, Cold, Liquidation,
                                   MarketAdapter, Stream, chunks)
from engine.instruments import Instrument, Venue

_CHANNEL = {"books": "depth", "books5": "depth", "books-l2-tbt": "depth", "books50-l2-tbt": "depth",
            "bbo-tbt": "bbo", "tickers": "bbo", "trades": "trades", "mark-price": "mark",
            "funding-rate": "mark", "open-interest": "oi", "liquidation-orders": "liquidations"}


class OkxMarket(MarketAdapter):
    venue: ClassVar[Venue] = Venue.OKX
    sync: ClassVar[str] = "okx"
    resync: ClassVar[str] = "resubscribe"
    bbo_is_book: ClassVar[bool] = True
    max_streams_per_conn: ClassVar[int] = 240
    max_args_per_request: ClassVar[int] = 20
    # 3 requests/s; subscribe/unsubscribe/login requests: 480 per hour per connection
    send_windows: ClassVar[tuple[tuple[int, float], ...]] = ((3, 1.0),)
    sub_windows: ClassVar[tuple[tuple[int, float], ...]] = ((480, 3600.0),)
    heartbeat_s: ClassVar[float | None] = 20.0
    channels: ClassVar[tuple[str, ...]] = ("bbo", "trades", "depth", "mark", "oi", "liquidations")

    def topics(self, inst: Instrument, channel: str) -> list[Any]:
        i = inst.symbol
        deriv = i.endswith("-SWAP") or i.count("-") >= 2
        if channel in ("mark", "oi", "liquidations") and not deriv:
            return []
        if channel == "mark":
            return [(("channel", "mark-price"), ("instId", i)), (("channel", "funding-rate"), ("instId", i))]
        if channel == "liquidations":
            return [(("channel", "liquidation-orders"), ("instType", "SWAP"))]
        name = {"bbo": "bbo-tbt", "trades": "trades", "depth": "books", "oi": "open-interest"}[channel]
        return [(("channel", name), ("instId", i))]

    def _msgs(self, op: str, streams: Sequence[Stream], req_id: int) -> list[bytes]:
        args = list(dict.fromkeys(s.topic for s in streams))
        return [orjson.dumps({"id": f"{op[0]}{req_id + n}", "op": op, "args": [dict(a) for a in part]})
                for n, part in enumerate(chunks(args, self.max_args_per_request))]

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
        if ev in ("subscribe", "unsubscribe"):
            return Cold("ack", ev)
        if ev == "error":
            return Cold("error", f"{msg.get('code')}: {msg.get('msg')}")
        if ev == "notice":       # e.g. code 64008: service upgrade, reconnect within 30 s
            return Cold("shutdown", f"{msg.get('code')}: {msg.get('msg')}")
        if ev:
            return Cold("ack", str(ev))
        arg = msg.get("arg")
        if not isinstance(arg, dict):
            return Cold("unknown", "no arg")
        name = arg.get("channel", "")
        sym = arg.get("instId", "")
        cold = Cold("data", name, symbol=sym, channel=_CHANNEL.get(name, ""))
        if name == "liquidation-orders":
            return self._liquidations(msg, cold)
        for row in msg.get("data") or ():
            if not isinstance(row, dict):
                continue
            s = row.get("instId", sym)
            for key, slot in (("markPx", SIG_MARK_PX), ("fundingRate", SIG_FUNDING_RATE), ("oi", SIG_OPEN_INTEREST)):
                v = row.get(key)
                if v not in (None, "") and (name != "tickers"):
                    cold.signals.append((s, slot, float(v)))
        return cold

    @staticmethod
    def _liquidations(msg: dict[str, Any], cold: Cold) -> Cold:
        """``liquidation-orders`` (instType SWAP, every instrument of the type on one channel): rows
        ``{instId, details: [{side, posSide, sz, bkPx, ts}]}``; ``side`` is the liquidation order's side
        (buy = a short was liquidated), ``sz`` in contracts. ``cold.symbol`` stays empty: one frame
        may name several instruments, the feed routes each liquidation by its own instId."""
        try:
            for row in msg.get("data") or ():
                if not isinstance(row, dict):
                    raise ValueError("row is not an object")
                for d in row.get("details") or ():
                    side = d.get("side") if isinstance(d, dict) else None
                    if side not in ("buy", "sell"):
                        raise ValueError(f"bad side {side!r}")
                    cold.liquidations.append(Liquidation.parse(row.get("instId"), side == "buy", d.get("sz"),
                                                               d.get("bkPx"), d.get("ts")))
        except (TypeError, ValueError) as e:
            return Cold("error", f"liquidation-orders: {e}")
        return cold
