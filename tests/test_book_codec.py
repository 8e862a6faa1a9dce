# SPDX-License-Identifier: Apache-2.0
"""Integration: recorded frames decoded by the compiled codec (engine.codec, levels as units plus the
decimals as sent) and applied through the nogil Book.apply_depth path reproduce every OKX/Bitget
checksum and the same book as the string path."""
from __future__ import annotations

import orjson
import pytest

from engine import book as cbook
from engine import codec
from engine.book import Book
from engine.instruments import Instrument, Venue

DEPTH = 2   # ENG_EV_DEPTH


def _frames(path):
    with open(path, "rb") as f:
        for line in f:
            rec = orjson.loads(line)
            yield orjson.dumps(rec.get("msg", rec) if "dir" in rec else rec)


def _apply(book: Book, d: dict) -> int:
    return cbook._test_apply_raw(book, bool(d["is_snapshot"]), d["bids"], d["asks"], last_id=d["last_id"],
                                 prev_id=d["prev_id"], first_id=d["first_id"],
                                 checksum=d["checksum"] if d["has_checksum"] else None)


@pytest.mark.parametrize("venue,symbol,path,sync,count", [
    (Venue.OKX, "BTC-USDT", "okx/recorded_2022/ws_books_BTC-USDT.jsonl", "okx", 98),
    (Venue.BITGET, "EOSUSDT", "bitget/recorded_2022_v1_spot/ws_books_EOSUSDT.jsonl", "bitget", 56),
    (Venue.BITGET, "SUNUSDT", "bitget/recorded_2022_v1_spot/ws_books_SUNUSDT.jsonl", "bitget", 56),
    (Venue.BITGET, "CULTUSDT", "bitget/recorded_2022_v1_spot/ws_books_CULTUSDT.jsonl", "bitget", 52),
    (Venue.BITGET, "DASHUSDT", "bitget/recorded_2022_v1_mix/ws_books_DASHUSDT.jsonl", "bitget", 98),
    (Venue.BYBIT, "XRPUSDT", "bybit/recorded_2024/orderbook_500_XRPUSDT_2024-12-01.jsonl", "bybit", 50),
])
def test_decoded_frames_through_apply_depth(fixtures_dir, venue, symbol, path, sync, count):
    inst = Instrument(0, venue, symbol, "0.00000001", "0.00000001")
    dec = codec.Decoder(int(venue))
    dec.add_instrument(inst)
    book = Book(inst, sync, capacity=1000)
    rcs = []
    checked = 0
    for frame in _frames(fixtures_dir / path):
        kind, d = dec.decode_py(frame)
        if kind != DEPTH:
            continue
        rcs.append(_apply(book, d))
        checked += bool(d["has_checksum"])
    assert len(rcs) == count and rcs == [0] * count
    assert checked == (count if sync != "bybit" else 0)
    assert book.valid


@pytest.mark.parametrize("venue,market,symbol,sync,dropped,applied", [
    (Venue.BINANCE_SPOT, "spot", "NKNUSDT", "binance_spot", 1, 149),
    (Venue.BINANCE_USDM, "usdm_futures", "SUSHIUSDT", "binance_usdm", 3, 252),
    (Venue.BINANCE_USDM, "usdm_futures", "AKROUSDT", "binance_usdm", 1, 188),
])
def test_binance_decoded_diffs_after_rest_snapshot(fixtures_dir, venue, market, symbol, sync, dropped, applied):
    inst = Instrument(0, venue, symbol, "0.00000001", "0.00000001")
    dec = codec.Decoder(int(venue))
    dec.add_instrument(inst)
    folder = fixtures_dir / "binance" / market
    snap = orjson.loads((folder / f"rest_depth_snapshot_{symbol}.json").read_bytes())
    book = Book(inst, sync, capacity=2000)
    assert book.apply_snapshot(snap["bids"], snap["asks"], snap["lastUpdateId"]) == 0
    rcs = []
    for frame in _frames(folder / f"ws_combined_{symbol}.jsonl"):
        kind, d = dec.decode_py(frame)
        if kind == DEPTH:
            rcs.append(_apply(book, d))
    assert rcs == [-33] * dropped + [0] * applied
    assert book.valid
