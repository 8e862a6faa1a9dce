# SPDX-License-Identifier: Apache-2.0
"""Every relevant frame of the shared real-data fixtures through engine.codec, cross-checked value by
value against an independent orjson + Decimal reference decoder (tests/_codec_util.py)."""
from __future__ import annotations

import zlib
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import orjson
import pytest

from engine.codec import Decoder
from engine.instruments import Instrument, Venue

from _codec_util import (EV_DEPTH, EV_MARK, EV_QUOTE, EV_TICKER, EV_TRADE, ENG_ERR_UNSUPPORTED,
                         fixture_instrument, jkorf_frames, recording_frames, ref_decode)


def _json_file(path: Path) -> Iterator[bytes]:
    yield path.read_bytes()


def _doc_examples(path: Path) -> Iterator[bytes]:
    """Transcribed doc examples: every top-level object value is one frame (requests included:
    they must come back ENG_ERR_UNSUPPORTED like any other non-hot shape)."""
    for value in orjson.loads(path.read_bytes()).values():
        if isinstance(value, dict):
            yield orjson.dumps(value)


def _sources(fx: Path) -> dict[Venue, list[tuple[Path, object]]]:
    def glob(pattern: str, loader) -> list[tuple[Path, object]]:
        found = sorted(fx.glob(pattern))
        assert found, pattern
        return [(p, loader) for p in found]

    return {
        Venue.BINANCE_SPOT: glob("binance/spot/ws_combined_*.jsonl", recording_frames)
        + glob("binance/nautilus/ws_messages/ws_spot_*.json", _json_file)
        + glob("binance/nautilus/spot/user_data_json/*.json", _json_file)
        + glob("binance/docs/ws_streams_control.json", _doc_examples),
        Venue.BINANCE_USDM: glob("binance/usdm_futures/ws_combined_*.jsonl", recording_frames)
        + glob("binance/nautilus/futures/market_data_json/*.json", _json_file)
        + glob("binance/nautilus/futures/user_data_json/*.json", _json_file)
        + glob("binance/nautilus/ws_messages/ws_futures_*.json", _json_file),
        Venue.BYBIT: glob("bybit/recorded_2024/*.jsonl", recording_frames)
        + glob("bybit/nautilus/ws_*.json", _json_file)
        + glob("bybit/docs/ws_*.json", _doc_examples),
        Venue.OKX: glob("okx/recorded_2022/ws_*.jsonl", recording_frames)
        + glob("okx/nautilus/ws_*.json", _json_file)
        + glob("okx/docs/ws_control_and_errors.json", _doc_examples),
        Venue.BITGET: glob("bitget/recorded_2022_v1_*/ws_*.jsonl", recording_frames)
        + glob("bitget/jkorf_v2/Subscriptions__*.txt", jkorf_frames),
    }


def _symbols(obj, out: set[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("s", "symbol", "instId") and isinstance(v, str):
                out.add(v)
            else:
                _symbols(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _symbols(v, out)


# Expected number of hot events per recording (from fixtures/README.md and the files themselves).
EXPECTED_KINDS = {
    "ws_combined_NKNUSDT.jsonl": {EV_DEPTH: 150, EV_QUOTE: 74, EV_TRADE: 1},
    "ws_combined_AKROUSDT.jsonl": {EV_DEPTH: 189, EV_QUOTE: 88, EV_TRADE: 8},
    "ws_combined_SUSHIUSDT.jsonl": {EV_DEPTH: 255, EV_QUOTE: 305, EV_TRADE: 40},
    "orderbook_500_XRPUSDT_2024-12-01.jsonl": {EV_DEPTH: 50},
    "ws_books_BTC-USDT.jsonl": {EV_DEPTH: 98},
    "ws_tickers_BTC-USDT.jsonl": {EV_TICKER: 25},
    "ws_trades_BTC-USDT.jsonl": {EV_TRADE: 69},
    "ws_ticker_DASHUSDT.jsonl": {EV_TICKER: 108},
    "ws_trade_DASHUSDT.jsonl": {EV_TRADE: 10},
    "ws_books_EOSUSDT.jsonl": {EV_DEPTH: 56},
    "ws_books_SUNUSDT.jsonl": {EV_DEPTH: 56},
    "ws_books_CULTUSDT.jsonl": {EV_DEPTH: 52},
    "ws_books_DASHUSDT.jsonl": {EV_DEPTH: 98},
}


@pytest.mark.parametrize("venue", list(Venue), ids=lambda v: v.key)
def test_fixture_frames_match_reference(venue: Venue, fixtures_dir: Path) -> None:
    sources = _sources(Path(fixtures_dir))[venue]
    frames: list[tuple[Path, bytes]] = [(p, f) for p, loader in sources for f in loader(p)]
    syms: set[str] = set()
    for _, f in frames:
        _symbols(orjson.loads(f), syms)
    insts = {s: fixture_instrument(i, venue, s) for i, s in enumerate(sorted(syms))}
    dec = Decoder(int(venue))
    for inst in insts.values():
        dec.add_instrument(inst)
    per_file: dict[str, Counter] = {}
    hot = 0
    for path, frame in frames:
        want = ref_decode(venue, frame, insts)
        got = dec.decode_py(frame)
        assert got == want, f"{path.name}: {frame[:200]!r} -> {dec.last_error}"
        per_file.setdefault(path.name, Counter())[got[0]] += 1
        hot += got[0] > 0
    assert hot > 0
    for name, kinds in EXPECTED_KINDS.items():
        if name in per_file:
            for kind, n in kinds.items():
                assert per_file[name][kind] == n, (name, kind, per_file[name])
    # every venue decodes at least one frame of each of its hot kinds present in the fixtures
    seen = Counter()
    for c in per_file.values():
        seen.update(c)
    need = {
        Venue.BINANCE_SPOT: (EV_QUOTE, EV_DEPTH, EV_TRADE),
        Venue.BINANCE_USDM: (EV_QUOTE, EV_DEPTH, EV_TRADE, EV_MARK),
        Venue.BYBIT: (EV_DEPTH, EV_TRADE, EV_TICKER),
        Venue.OKX: (EV_DEPTH, EV_TRADE, EV_TICKER, EV_MARK),
        Venue.BITGET: (EV_DEPTH, EV_TRADE, EV_TICKER),
    }[venue]
    for kind in need:
        assert seen[kind] > 0, (venue, kind, seen)
    assert seen[ENG_ERR_UNSUPPORTED] > 0  # acks / private frames are handed to the JSON path


def _fmt(units: int, exp: int, dec: int) -> str:
    q = Decimal(units).scaleb(-exp)
    return f"{q:.{dec}f}"


def _crc(bids: list, asks: list, inst: Instrument) -> int:
    parts: list[str] = []
    for i in range(max(len(bids[:25]), len(asks[:25]))):
        for side in (bids, asks):
            if i < len(side) and i < 25:
                px, sz, pd, sd = side[i]
                parts += [_fmt(px, inst.px_exp, pd), _fmt(sz, inst.sz_exp, sd)]
    v = zlib.crc32(":".join(parts).encode())
    return v - (1 << 32) if v >= 1 << 31 else v


@pytest.mark.parametrize("venue,rel,symbol,tick,lot,n_snap", [
    (Venue.OKX, "okx/recorded_2022/ws_books_BTC-USDT.jsonl", "BTC-USDT", "0.1", "0.00000001", 1),
    (Venue.BITGET, "bitget/recorded_2022_v1_spot/ws_books_EOSUSDT.jsonl", "EOSUSDT", "0.0001", "0.0001", 1),
    (Venue.BITGET, "bitget/recorded_2022_v1_mix/ws_books_DASHUSDT.jsonl", "DASHUSDT", "0.01", "0.01", 1),
])
def test_levels_reprint_exactly_and_snapshot_checksums_verify(venue, rel, symbol, tick, lot, n_snap,
                                                              fixtures_dir: Path) -> None:
    """With the venue's real tick/lot exponents, units + px_dec/sz_dec print every level back byte for
    byte, so the book can compute OKX/Bitget CRC32s; snapshot frames verify on their own."""
    inst = Instrument(0, venue, symbol, tick, lot)
    dec = Decoder(int(venue))
    dec.add_instrument(inst)
    snaps = levels = 0
    for frame in recording_frames(Path(fixtures_dir) / rel):
        kind, ev = dec.decode_py(frame)
        if kind != EV_DEPTH:
            continue
        raw = orjson.loads(frame)["data"][0]
        for side, key in ((ev["bids"], "bids"), (ev["asks"], "asks")):
            assert [(_fmt(p, inst.px_exp, pd), _fmt(s, inst.sz_exp, sd)) for p, s, pd, sd in side] == \
                [(lv[0], lv[1]) for lv in raw[key]]
            levels += len(side)
        if ev["is_snapshot"]:
            assert ev["has_checksum"] == 1
            assert _crc(ev["bids"], ev["asks"], inst) == ev["checksum"]
            snaps += 1
    assert snaps == n_snap and levels > 1000
