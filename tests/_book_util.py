# SPDX-License-Identifier: Apache-2.0
"""Helpers for the book tests: fixture loaders that turn recorded venue frames into book messages
(parsed here with orjson; the compiled codec is tested separately), and instrument factories."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from engine.instruments import Instrument, Venue


def inst(venue: Venue = Venue.BINANCE_SPOT, symbol: str = "TEST", px_exp: int = 8, sz_exp: int = 8,
         id: int = 0) -> Instrument:
    return Instrument(id, venue, symbol, "1", "1", px_exp=px_exp, sz_exp=sz_exp)


@dataclass
class Msg:
    is_snapshot: bool
    bids: list
    asks: list
    first_id: int = 0
    last_id: int = 0
    prev_id: int = -1
    checksum: int | None = None

    def apply(self, book) -> int:
        return book.apply(self.is_snapshot, self.bids, self.asks, self.first_id, self.last_id,
                          self.prev_id, self.checksum)


def _jsonl(path: Path):
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                yield orjson.loads(line)


def binance_chain(fixtures: Path, market: str, symbol: str) -> tuple[Msg, list[Msg]]:
    """(REST snapshot, depthUpdate diffs in arrival order) of a Binance recording."""
    folder = fixtures / "binance" / market
    snap = orjson.loads((folder / f"rest_depth_snapshot_{symbol}.json").read_bytes())
    snapshot = Msg(True, snap["bids"], snap["asks"], snap["lastUpdateId"], snap["lastUpdateId"])
    diffs = []
    for rec in _jsonl(folder / f"ws_combined_{symbol}.jsonl"):
        data = rec["msg"].get("data", {})
        if data.get("e") != "depthUpdate":
            continue
        diffs.append(Msg(False, data["b"], data["a"], data["U"], data["u"], data.get("pu", -1)))
    return snapshot, diffs


def okx_books(path: Path) -> list[Msg]:
    out = []
    for rec in _jsonl(path):
        m = rec["msg"]
        if m.get("arg", {}).get("channel") != "books" or "data" not in m:
            continue
        for d in m["data"]:
            out.append(Msg(m["action"] == "snapshot", d["bids"], d["asks"], d.get("seqId", 0),
                           d.get("seqId", 0), d.get("prevSeqId", -1), d.get("checksum")))
    return out


def bitget_books(path: Path) -> list[Msg]:
    out = []
    for rec in _jsonl(path):
        m = rec["msg"]
        if m.get("arg", {}).get("channel") != "books" or "data" not in m:
            continue
        for d in m["data"]:
            out.append(Msg(m["action"] == "snapshot", d["bids"], d["asks"], checksum=d.get("checksum")))
    return out


def bybit_books(path: Path) -> list[Msg]:
    out = []
    with open(path, "rb") as f:
        for line in f:
            m = orjson.loads(line)
            d = m["data"]
            out.append(Msg(m["type"] == "snapshot", d["b"], d["a"], d["u"], d["u"]))
    return out
