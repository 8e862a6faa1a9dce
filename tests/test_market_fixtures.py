# SPDX-License-Identifier: Apache-2.0
"""Every fixture recording replays through adapter + recorder + Decoder + Book to the right book with
every checksum verified (counts from fixtures/README "Quick self-checks"). Binance runs the
buffer-then-sync procedure with the recorded REST snapshots."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from engine.exchanges import make_adapter
from engine.instruments import InstrumentTable, Venue
from engine.recorder import KIND_TEXT, convert_fixture, read, replay_into

from _feed_util import RefBook, build_pipeline, same_levels

ENG_ERR_CHECKSUM = -31


def make_pipeline(table: InstrumentTable) -> tuple[Any, dict[tuple[int, str], Any]]:
    """The compiled Pipeline (Decoder -> Book -> empty Strategy -> RiskGate)."""
    pipe, books, _ = build_pipeline(table)
    return pipe, {(int(i.venue), i.symbol): books[i.id] for i in table}


def frames_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(r.payload) for r in read(path) if r.kind == KIND_TEXT]


BINANCE = [
    # venue, dir, symbol, snapshot recv ts (README), dropped diffs, applied diffs, first applied (U, u)
    (Venue.BINANCE_SPOT, "binance/spot", "NKNUSDT", 1633998512.320639, 1, 149, (499869753, 499869754)),
    (Venue.BINANCE_USDM, "binance/usdm_futures", "SUSHIUSDT", 1626992741.301402, 3, 252,
     (600859605926, 600859607423)),
    (Venue.BINANCE_USDM, "binance/usdm_futures", "AKROUSDT", None, 1, None, (600859603597, 600859605486)),
]


@pytest.mark.parametrize("venue,sub,symbol,snap_ts,dropped,applied,first", BINANCE,
                         ids=[b[2] for b in BINANCE])
def test_binance_buffer_then_sync(fixtures_dir, tmp_path, venue, sub, symbol, snap_ts, dropped, applied,
                                  first) -> None:
    d = fixtures_dir / sub
    t = InstrumentTable()
    t.add(venue, symbol, "0.00000001", "0.00000001")
    rec = tmp_path / f"{symbol}.hprec"
    convert_fixture([d / f"ws_combined_{symbol}.jsonl"], rec, venue,
                    [(symbol, d / f"rest_depth_snapshot_{symbol}.json", snap_ts)])
    pipe, books = make_pipeline(t)
    book = books[(int(venue), symbol)]
    cold: list[tuple[Any, int]] = []
    stats = replay_into(pipe, rec, books, on_cold=lambda r, rc: cold.append((r, rc)))
    assert stats.snapshots == 1 and not stats.errors
    # only non-hot shapes (klines) leave the hot path; the adapter classifies them without error
    assert cold and all(rc == -20 and b"@kline" in r.payload for r, rc in cold)
    assert all(make_adapter(venue).parse_cold(r.payload).kind in ("data", "unknown") for r, _ in cold)
    assert book.valid and book.state == "live"
    st = book.stats
    assert st["errors"] == 0 and st["dropped"] == dropped
    diffs = [f["data"] for f in frames_of(rec) if f.get("data", {}).get("e") == "depthUpdate"]
    if applied is not None:
        assert st["applied"] == applied + 1          # + the snapshot
    # independent reference: documented procedure on the raw strings
    snap = orjson.loads((d / f"rest_depth_snapshot_{symbol}.json").read_bytes())
    last = snap["lastUpdateId"]
    ref = RefBook()
    ref.snapshot(snap["bids"], snap["asks"])
    kept = [e for e in diffs if (e["u"] > last if venue == Venue.BINANCE_SPOT else e["u"] >= last)]
    assert (kept[0]["U"], kept[0]["u"]) == first
    prev = None
    for e in kept:
        if prev is not None:
            assert (e["pu"] == prev) if venue == Venue.BINANCE_USDM else (e["U"] == prev + 1)
        ref.update(e["b"], e["a"])
        prev = e["u"]
    assert book.last_id == prev == stats_last_u(diffs)
    gb, ga = book.top(5000)
    rb, ra = ref.top(5000)
    assert same_levels(gb, rb) and same_levels(ga, ra)
    assert book.depth() == (len(ref.bids), len(ref.asks))


def stats_last_u(diffs: list[dict[str, Any]]) -> int:
    return diffs[-1]["u"]


def test_binance_snapshot_too_old_is_a_gap(fixtures_dir, tmp_path) -> None:
    """A snapshot older than the first buffered diff cannot bridge: the book reports a gap."""
    d = fixtures_dir / "binance/spot"
    t = InstrumentTable()
    t.add(Venue.BINANCE_SPOT, "NKNUSDT", "0.00000001", "0.00000001")
    pipe, books = make_pipeline(t)
    book = books[(1, "NKNUSDT")]
    snap = orjson.loads((d / "rest_depth_snapshot_NKNUSDT.json").read_bytes())
    book.apply_snapshot(snap["bids"], snap["asks"], snap["lastUpdateId"] - 50)
    rcs = [pipe.feed(0, 1, fr, 0) for _, _, fr in _frames(d / "ws_combined_NKNUSDT.jsonl") if b"depthUpdate" in fr]
    assert rcs[0] == -30 and not book.valid


def _frames(p: Path):
    from engine.recorder import fixture_frames
    return list(fixture_frames(p))


CHECKSUMMED = [
    (Venue.OKX, "okx/recorded_2022/ws_books_BTC-USDT.jsonl", "BTC-USDT", "", 98),
    (Venue.BITGET, "bitget/recorded_2022_v1_spot/ws_books_EOSUSDT.jsonl", "EOSUSDT", "SP", 56),
    (Venue.BITGET, "bitget/recorded_2022_v1_spot/ws_books_SUNUSDT.jsonl", "SUNUSDT", "SP", 56),
    (Venue.BITGET, "bitget/recorded_2022_v1_spot/ws_books_CULTUSDT.jsonl", "CULTUSDT", "SP", 52),
    (Venue.BITGET, "bitget/recorded_2022_v1_mix/ws_books_DASHUSDT.jsonl", "DASHUSDT", "MC", 98),
]


@pytest.mark.parametrize("venue,path,symbol,cat,n", CHECKSUMMED, ids=[c[2] for c in CHECKSUMMED])
def test_checksummed_books_verify_every_message(fixtures_dir, tmp_path, venue, path, symbol, cat, n) -> None:
    t = InstrumentTable()
    t.add(venue, symbol, "0.00000001", "0.00000001", category=cat)
    rec = tmp_path / "r.hprec"
    convert_fixture([fixtures_dir / path], rec, venue)
    pipe, books = make_pipeline(t)
    book = books[(int(venue), symbol)]
    ad = make_adapter(venue)
    cold: list[int] = []

    def on_cold(r: Any, rc: int) -> None:
        cold.append(rc)
        assert ad.parse_cold(r.payload).kind == "ack"     # only the subscribe acks are cold

    stats = replay_into(pipe, rec, books, on_cold=on_cold)
    assert stats.hot == n and not stats.errors and stats.not_synced == 0
    assert book.valid and book.stats == {"applied": n, "dropped": 0, "errors": 0}
    msgs = [f for f in frames_of(rec) if "action" in f]
    assert len(msgs) == n and all(m["data"][0]["checksum"] != 0 for m in msgs)
    ref = RefBook()
    for m in msgs:
        (ref.snapshot if m["action"] == "snapshot" else ref.update)(m["data"][0]["bids"], m["data"][0]["asks"])
    gb, ga = book.top(1000)
    rb, ra = ref.top(1000)
    assert same_levels(gb, rb) and same_levels(ga, ra)
    assert book.checksum() == msgs[-1]["data"][0]["checksum"]


def test_okx_snapshot_checksum_matches_readme(fixtures_dir, tmp_path) -> None:
    t = InstrumentTable()
    t.add(Venue.OKX, "BTC-USDT", "0.1", "0.00000001")
    rec = tmp_path / "r.hprec"
    convert_fixture([fixtures_dir / "okx/recorded_2022/ws_books_BTC-USDT.jsonl"], rec, Venue.OKX)
    pipe, books = make_pipeline(t)
    for r in read(rec):
        if b'"snapshot"' in r.payload:
            assert pipe.feed(0, int(Venue.OKX), r.payload) > 0
            break
    assert books[(4, "BTC-USDT")].checksum() == 47640993


def test_okx_published_mismatch_is_detected(fixtures_dir) -> None:
    """okx/nautilus snapshot+update: the published checksum does not match the levels."""
    t = InstrumentTable()
    snap = orjson.loads((fixtures_dir / "okx/nautilus/ws_books_snapshot.json").read_bytes())
    inst_id = snap["arg"]["instId"]
    t.add(Venue.OKX, inst_id, "0.00000001", "0.00000001")
    pipe, books = make_pipeline(t)
    rcs = [pipe.feed(0, int(Venue.OKX), (fixtures_dir / f"okx/nautilus/ws_books_{n}.json").read_bytes())
           for n in ("snapshot", "update")]
    assert ENG_ERR_CHECKSUM in rcs
    assert not books[(4, inst_id)].valid


def test_bybit_u_continuity(fixtures_dir, tmp_path) -> None:
    t = InstrumentTable()
    t.add(Venue.BYBIT, "XRPUSDT", "0.0001", "1", category="linear")
    rec = tmp_path / "r.hprec"
    convert_fixture([fixtures_dir / "bybit/recorded_2024/orderbook_500_XRPUSDT_2024-12-01.jsonl"], rec, Venue.BYBIT)
    pipe, books = make_pipeline(t)
    book = books[(3, "XRPUSDT")]
    stats = replay_into(pipe, rec, books)
    assert stats.hot == 50 and not stats.errors
    assert book.valid and book.last_id == 20254918 and book.stats["applied"] == 50
    ref = RefBook()
    us = []
    for f in frames_of(rec):
        (ref.snapshot if f["type"] == "snapshot" else ref.update)(f["data"]["b"], f["data"]["a"])
        us.append(f["data"]["u"])
    assert us == list(range(20254869, 20254919))
    gb, ga = book.top(1000)
    rb, ra = ref.top(1000)
    assert same_levels(gb, rb) and same_levels(ga, ra)


def test_bybit_gap_detected_then_snapshot_heals(fixtures_dir) -> None:
    t = InstrumentTable()
    t.add(Venue.BYBIT, "XRPUSDT", "0.0001", "1", category="linear")
    pipe, books = make_pipeline(t)
    book = books[(3, "XRPUSDT")]
    frames = [fr for _, _, fr in _frames(fixtures_dir / "bybit/recorded_2024/orderbook_500_XRPUSDT_2024-12-01.jsonl")]
    assert pipe.feed(0, 3, frames[0]) > 0
    assert pipe.feed(0, 3, frames[2]) == -30          # skipped u: gap, book invalid
    assert not book.valid
    assert pipe.feed(0, 3, frames[3]) == -34          # deltas wait for a snapshot
    assert pipe.feed(0, 3, frames[0]) > 0 and book.valid   # a (re)subscription snapshot resets
