# SPDX-License-Identifier: Apache-2.0
"""Helpers for the feed tests: wiring of the compiled Pipeline for tests and an independent
string-keyed reference book."""
from __future__ import annotations

from decimal import Decimal
from typing import Any


def units_str(units: int, exp: int, dec: int) -> str:
    """Exact decimal string of ``units * 10**-exp`` with ``dec`` decimals (as the venue sent it)."""
    q = Decimal(units).scaleb(-exp)
    return f"{q:.{dec}f}"


def build_pipeline(table: Any, strategy: Any = None, capacity: int = 5000, risk: Any = None,
                   with_books: bool = True) -> tuple[Any, dict[int, Any], Any]:
    """Context + Strategy + RiskGate + Pipeline with one Decoder per venue and one Book per
    instrument (sync rule from the venue adapter). Returns (pipeline, books by id, ctx)."""
    from engine.book import Book
    from engine.codec import Decoder
    from engine.exchanges import make_adapter
    from engine.pipeline import Pipeline
    from engine.risk import RiskGate
    from engine.strategy import Context, Strategy

    ctx = Context()
    for i in table:
        ctx.add_instrument(i)
    pipe = Pipeline(ctx, strategy if strategy is not None else Strategy(), risk if risk is not None else RiskGate())
    decoders: dict[int, Any] = {}
    books: dict[int, Any] = {}
    for i in table:
        dec = decoders.get(int(i.venue))
        if dec is None:
            dec = decoders[int(i.venue)] = Decoder(int(i.venue))
            pipe.add_feed(int(i.venue), dec)
        dec.add_instrument(i)
        if with_books:
            books[i.id] = Book(i, make_adapter(i.venue).sync, capacity=capacity)
            pipe.add_book(books[i.id])
    return pipe, books, ctx


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
                                         for (a, b), (c, d) in zip(got, want, strict=True))

