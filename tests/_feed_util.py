# SPDX-License-Identifier: Apache-2.0
"""Helpers for the feed tests: a Python stand-in for ``Pipeline.feed`` (Decoder -> Book) and an
independent string-keyed reference book."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.instruments import Instrument

EV_DEPTH = 2


def units_str(units: int, exp: int, dec: int) -> str:
    """Exact decimal string of ``units * 10**-exp`` with ``dec`` decimals (as the venue sent it)."""
    q = Decimal(units).scaleb(-exp)
    return f"{q:.{dec}f}"


class DirectPipeline:
    """``feed(conn, venue, frame, recv_ns) -> rc`` through the compiled Decoder and Book, with the
    decoded levels re-formatted to the venue's strings (so checksums are recomputed by the Book)."""

    def __init__(self, decoders: dict[int, Any], books: dict[int, Any], insts: dict[int, Instrument]) -> None:
        self.decoders, self.books, self.insts = decoders, books, insts
        self.kinds: dict[int, int] = {}

    def feed(self, conn_id: int, venue: int, frame: bytes, recv_ns: int = 0) -> int:
        kind, d = self.decoders[venue].decode_py(frame, recv_ns)
        if kind < 0:
            return kind
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if kind != EV_DEPTH:
            return kind
        book = self.books.get(d["inst"])
        if book is None:
            return kind
        i = self.insts[d["inst"]]
        bids = [(units_str(p, i.px_exp, pd), units_str(s, i.sz_exp, sd)) for p, s, pd, sd in d["bids"]]
        asks = [(units_str(p, i.px_exp, pd), units_str(s, i.sz_exp, sd)) for p, s, pd, sd in d["asks"]]
        rc = book.apply(bool(d["is_snapshot"]), bids, asks, d["first_id"], d["last_id"], d["prev_id"],
                        d["checksum"] if d["has_checksum"] else None)
        return rc if rc < 0 else kind


class RefBook:
    """Reference L2 book keyed by Decimal price holding the venue's strings."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, tuple[str, str]] = {}
        self.asks: dict[Decimal, tuple[str, str]] = {}

    def snapshot(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        self.bids, self.asks = {}, {}
        self.update(bids, asks)

    def update(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        for side, rows in ((self.bids, bids), (self.asks, asks)):
            for row in rows:
                p, q = row[0], row[1]
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = (p, q)

    def top(self, n: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        b = [self.bids[k] for k in sorted(self.bids, reverse=True)[:n]]
        a = [self.asks[k] for k in sorted(self.asks)[:n]]
        return b, a


def same_levels(got: list[tuple[str, str]], want: list[tuple[str, str]]) -> bool:
    """Compare level lists by value (the Book prints the venue's decimals; compare numerically too)."""
    return len(got) == len(want) and all(Decimal(a) == Decimal(c) and Decimal(b) == Decimal(d)
                                         for (a, b), (c, d) in zip(got, want))
