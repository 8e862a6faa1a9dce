# SPDX-License-Identifier: Apache-2.0
"""Shared machinery of the JSON-envelope venues (Bybit v5, OKX v5, Bitget v2): published book
state per (symbol, depth) with sequence numbers and OKX-style checksums, ticker diffs, client
heartbeat timeouts and the REST plumbing that maps order faults."""
from __future__ import annotations

import asyncio
import time
import zlib
from decimal import Decimal
from typing import Any, Callable

import orjson
from aiohttp import web

from engine.sim.matching import Market, Reject, fmt_units
from engine.sim.server import Conn, VenueServer


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def strip_zeros(s: str) -> str:
    """"30244.0" -> "30244", "0.500" -> "0.5" (OKX prints decimals without trailing zeros)."""
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def signed_crc32(text: str) -> int:
    v = zlib.crc32(text.encode())
    return v - (1 << 32) if v >= 1 << 31 else v


def book_checksum(bids: list[list[str]], asks: list[list[str]], n: int = 25) -> int:
    """OKX/Bitget: top ``n`` bids and asks interleaved ``bp:bs:ap:as:...`` (missing side skipped),
    signed CRC32 over the exact strings."""
    parts: list[str] = []
    for i in range(n):
        if i < len(bids):
            parts.append(bids[i][0] + ":" + bids[i][1])
        if i < len(asks):
            parts.append(asks[i][0] + ":" + asks[i][1])
    return signed_crc32(":".join(parts))


class TopicBook:
    """The book as published on one depth-limited channel of one symbol."""

    def __init__(self, m: Market, depth: int, fmt_px: Callable[[int], str],
                 fmt_sz: Callable[[int], str], seq0: int) -> None:
        self.m = m
        self.depth = depth
        self.fmt_px = fmt_px
        self.fmt_sz = fmt_sz
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.seq = seq0
        self.prev_seq = -1
        self.subs: set[Conn] = set()
        self.diff()          # start from the current book

    def diff(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Changes of the top ``depth`` since the last call (absolute sizes, 0 = delete)."""
        out = []
        for side, pub in ((0, self.bids), (1, self.asks)):
            cur = dict(self.m.levels(side, self.depth))
            ch = [(p, s) for p, s in cur.items() if pub.get(p) != s]
            ch += [(p, 0) for p in pub if p not in cur]
            pub.clear()
            pub.update(cur)
            ch.sort(reverse=(side == 0))
            out.append(ch)
        return out[0], out[1]

    def levels(self, side: int) -> list[list[str]]:
        pub = self.bids if side == 0 else self.asks
        keys = sorted(pub, reverse=(side == 0))
        return [[self.fmt_px(p), self.fmt_sz(pub[p])] for p in keys]

    def checksum(self) -> int:
        return book_checksum(self.levels(0), self.levels(1))


class JsonVenue(VenueServer):
    """Base for Bybit / OKX / Bitget: book channels, idle timeout, REST wrapper."""

    book_interval_ms = 100
    client_idle_timeout: float = 600.0     # no client message for this long -> disconnect
    idle_counts_tx = True                  # data we send also keeps the connection alive
    strip = False                          # print decimals without trailing zeros (OKX)

    def __init__(self, sim: Any, spec: Any) -> None:
        self.books: dict[tuple[str, str, int], TopicBook] = {}   # (symbol, channel, depth)
        self.tickers: dict[tuple[str, str], dict[str, Any]] = {}
        self.hangs: list[asyncio.Future] = []
        self.seq0 = 1_000_000
        super().__init__(sim, spec)
        self.engine.new_event_when_crossing = False
        for m in self.engine.markets.values():
            m.tracker(self.book_interval_ms)

    # ---- formatting ----------------------------------------------------------------------
    def px(self, m: Market, px: int) -> str:
        s = m.px_str(px)
        return strip_zeros(s) if self.strip else s

    def sz(self, m: Market, sz: int) -> str:
        s = m.sz_str(sz)
        return strip_zeros(s) if self.strip else s

    def dec(self, d: Decimal, places: int = 8) -> str:
        s = f"{d.quantize(Decimal(1).scaleb(-places)):f}"
        return strip_zeros(s) if self.strip else s

    def topic_book(self, m: Market, channel: str, depth: int) -> TopicBook:
        key = (m.symbol, channel, depth)
        tb = self.books.get(key)
        if tb is None:
            self.seq0 += 1000
            tb = TopicBook(m, depth, lambda p, m=m: self.px(m, p), lambda s, m=m: self.sz(m, s),
                           self.seq0)
            self.books[key] = tb
        return tb

    def subscribe_channel(self, conn: Conn, m: Market, ch: str, inst: str, op: str,
                          book_depth: dict[str, int]) -> bool:
        """(Un)subscribe ``conn`` to channel ``ch`` of ``inst`` (OKX / Bitget style, whose
        ``send_book`` takes the channel). Book channels get their snapshot here. Returns True when a
        plain topic was newly subscribed, so the caller sends that channel's first push."""
        topic = f"{ch}:{inst}"
        if op == "unsubscribe":
            self.unsubscribe(conn, topic)
            tb = self.books.get((m.symbol, ch, book_depth.get(ch, 0)))
            if tb:
                tb.subs.discard(conn)
            return False
        if ch in book_depth:
            tb = self.topic_book(m, ch, book_depth[ch])
            tb.subs.add(conn)
            self.send_book(conn, m, ch, tb, snapshot=True)
            return False
        self.subscribe(conn, topic)
        return True

    # ---- market loop hooks ---------------------------------------------------------------
    def flush_depth(self, m: Market, interval_ms: int) -> None:
        m.tracker(interval_ms).dirty.clear()
        if interval_ms != self.book_interval_ms:
            return
        for (sym, channel, depth), tb in list(self.books.items()):
            if sym != m.symbol:
                continue
            if not tb.subs:
                del self.books[(sym, channel, depth)]
                continue
            self.push_book(m, channel, tb)
        self.push_tickers(m)

    def push_book(self, m: Market, channel: str, tb: TopicBook) -> None:
        raise NotImplementedError

    def push_tickers(self, m: Market) -> None:
        pass

    def unsub_book(self, conn: Conn) -> None:
        for tb in self.books.values():
            tb.subs.discard(conn)

    def on_conn_closed(self, conn: Conn) -> None:
        self.unsub_book(conn)

    async def _maintenance_loop(self) -> None:
        # the venue expects client heartbeats: close connections that stay quiet too long
        base = asyncio.get_running_loop().create_task(super()._maintenance_loop())
        try:
            while True:
                await asyncio.sleep(0.05)
                timeout = self.spec.pong_timeout_s or self.client_idle_timeout
                now = time.monotonic()
                for c in list(self.conns):
                    last = c.state.get("last_rx", c.created)
                    if self.idle_counts_tx:
                        last = max(last, c.last_tx)
                    if now - last > timeout:
                        self.faults.fired("idle_timeout", kind=c.kind)
                        await c.close(1000, b"no ping")
                        self.drop_conn(c)
        finally:
            base.cancel()

    async def ws_public(self, request: web.Request) -> web.StreamResponse:
        return await self.ws_session(request, "public", self.on_public)

    async def ws_private(self, request: web.Request) -> web.StreamResponse:
        return await self.ws_session(request, "user", self.on_private)

    def on_public(self, conn: Conn, text: str) -> Any:
        raise NotImplementedError

    def on_private(self, conn: Conn, text: str) -> Any:
        raise NotImplementedError

    def touch_rx(self, conn: Conn) -> None:
        conn.state["last_rx"] = time.monotonic()

    # ---- faults on order requests --------------------------------------------------------
    async def order_fault(self, execute: Callable[[], Any]) -> tuple[str, dict] | None:
        """Apply an armed order fault. Returns (name, params) when the caller must answer with
        the fault instead of a normal result; blocks forever for no_answer."""
        f = self.faults.take_order_fault()
        if f is None:
            return None
        name, p = f
        if name in ("server_error", "no_answer") and p.get("placed", True):
            try:
                execute()
            except (Reject, VenueError):
                pass
        if name == "no_answer":
            fut = asyncio.get_running_loop().create_future()
            self.hangs.append(fut)
            await fut
        return f

    async def stop(self) -> None:
        for fut in self.hangs:
            if not fut.done():
                fut.cancel()
        await super().stop()

    @staticmethod
    def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(status=status, body=orjson.dumps(obj), content_type="application/json",
                            headers=headers)


class VenueError(Exception):
    """A venue error answer: ``code`` and ``msg`` in the venue's own format, HTTP ``status``."""

    def __init__(self, code: Any, msg: str, status: int = 200) -> None:
        self.code, self.msg, self.status = code, msg, status
        super().__init__(f"{code} {msg}")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def fmt_ms(ms: int) -> str:
    return str(ms)


__all__ = ["JsonVenue", "TopicBook", "VenueError", "book_checksum", "dumps", "fmt_units",
           "now_ms", "signed_crc32", "strip_zeros"]
