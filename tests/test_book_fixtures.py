# SPDX-License-Identifier: Apache-2.0
"""Replay real venue recordings (../shared/fixtures) through the compiled book and its Python twin:
Binance diff chains from their REST snapshots, every OKX/Bitget checksum, the Bybit delta chain."""
from __future__ import annotations

import orjson
import pytest

import engine._py.book as pybook
from engine.book import Book
from engine.errors import rc_name
from engine.instruments import Venue

from _book_util import Msg, binance_chain, bitget_books, bybit_books, inst, okx_books

OK, STALE, GAP, CHECKSUM, NOT_SYNCED = 0, -33, -30, -31, -34
IMPLS = pytest.mark.parametrize("impl", [Book, pybook.Book], ids=["compiled", "py"])


def _replay_binance(impl, fixtures_dir, market, symbol, sync):
    snapshot, diffs = binance_chain(fixtures_dir, market, symbol)
    book = impl(inst(symbol=symbol), sync, capacity=2000)
    assert snapshot.apply(book) == OK
    rcs = [(d, d.apply(book)) for d in diffs]
    return book, snapshot, rcs


@IMPLS
def test_binance_spot_nknusdt_chain(impl, fixtures_dir):
    book, snap, rcs = _replay_binance(impl, fixtures_dir, "spot", "NKNUSDT", "binance_spot")
    assert snap.last_id == 499869752
    codes = [rc for _, rc in rcs]
    assert codes.count(STALE) == 1 and codes[0] == STALE          # arrived before the snapshot
    applied = [d for d, rc in rcs if rc == OK]
    assert len(applied) == 149 and codes.count(OK) == 149 == len(codes) - 1
    assert (applied[0].first_id, applied[0].last_id) == (499869753, 499869754)
    assert all(b.first_id == a.last_id + 1 for a, b in zip(applied, applied[1:], strict=False))
    assert book.valid and book.last_id == applied[-1].last_id


@IMPLS
@pytest.mark.parametrize("symbol,dropped,first", [
    ("SUSHIUSDT", 3, (600859605926, 600859607423, 600859604824)),
    ("AKROUSDT", 1, (600859603597, 600859605486, None)),
])
def test_binance_usdm_pu_chain(impl, fixtures_dir, symbol, dropped, first):
    book, snap, rcs = _replay_binance(impl, fixtures_dir, "usdm_futures", symbol, "binance_usdm")
    codes = [rc for _, rc in rcs]
    assert codes[:dropped] == [STALE] * dropped
    assert codes[dropped:] == [OK] * (len(codes) - dropped), [rc_name(c) for c in set(codes)]
    d0 = rcs[dropped][0]
    assert (d0.first_id, d0.last_id) == first[:2]
    if first[2] is not None:
        assert d0.prev_id == first[2]
    if symbol == "AKROUSDT":
        assert d0.last_id == snap.last_id        # the u == L boundary is kept by the futures rule
        assert len(codes) == 189
    else:
        assert len(codes) - dropped == 252       # first applied + 251 chained by pu
    assert book.valid


def test_binance_akro_with_spot_rule_sees_false_gap(fixtures_dir):
    """The spot rule drops the u == L diff and then cannot bridge: proves the rules differ."""
    _, _, rcs = _replay_binance(Book, fixtures_dir, "usdm_futures", "AKROUSDT", "binance_spot")
    codes = [rc for _, rc in rcs]
    assert GAP in codes and codes[:2] == [STALE, STALE]


@pytest.mark.parametrize("market,symbol,sync", [
    ("spot", "NKNUSDT", "binance_spot"), ("usdm_futures", "SUSHIUSDT", "binance_usdm"),
    ("usdm_futures", "AKROUSDT", "binance_usdm")])
def test_binance_compiled_matches_twin_every_step(fixtures_dir, market, symbol, sync):
    snapshot, diffs = binance_chain(fixtures_dir, market, symbol)
    c = Book(inst(symbol=symbol), sync, capacity=2000)
    p = pybook.Book(inst(symbol=symbol), sync, capacity=2000)
    for m in [snapshot, *diffs]:
        assert m.apply(c) == m.apply(p)
        assert c.top(20) == p.top(20)
        assert c.top_units(1000) == p.top_units(1000) or c.depth() != p.depth()
    assert c.depth() == p.depth()
    assert c.top_units(2000) == p.top_units(2000)
    ts = c.top_state()
    (bp, bs), (ap, as_) = c.top_units(1)[0][0], c.top_units(1)[1][0]
    assert (ts["bid_px"], ts["bid_sz"], ts["ask_px"], ts["ask_sz"], ts["valid"]) == (bp, bs, ap, as_, 1)


def test_binance_gap_detected_and_recovery(fixtures_dir):
    snapshot, diffs = binance_chain(fixtures_dir, "spot", "NKNUSDT")
    book = Book(inst(), "binance_spot", capacity=2000)
    assert snapshot.apply(book) == OK
    assert diffs[0].apply(book) == STALE and diffs[1].apply(book) == OK
    assert diffs[3].apply(book) == GAP                    # diffs[2] lost
    assert not book.valid and book.top_state()["valid"] == 0
    assert diffs[4].apply(book) == NOT_SYNCED             # stays invalid until a snapshot
    assert snapshot.apply(book) == OK and book.valid


@IMPLS
def test_okx_recorded_all_checksums_verify(impl, fixtures_dir):
    msgs = okx_books(fixtures_dir / "okx" / "recorded_2022" / "ws_books_BTC-USDT.jsonl")
    book = impl(inst(Venue.OKX, "BTC-USDT"), "okx", capacity=1000)
    assert msgs[0].is_snapshot and msgs[0].checksum == 47640993
    rcs = [m.apply(book) for m in msgs]
    assert len(rcs) == 98 and rcs.count(OK) == 98
    assert book.checksum() == msgs[-1].checksum and book.valid


def test_okx_recorded_compiled_matches_twin(fixtures_dir):
    msgs = okx_books(fixtures_dir / "okx" / "recorded_2022" / "ws_books_BTC-USDT.jsonl")
    c = Book(inst(Venue.OKX), "okx", capacity=1000)
    p = pybook.Book(inst(Venue.OKX), "okx", capacity=1000)
    for m in msgs:
        assert m.apply(c) == m.apply(p) == OK
        assert c.checksum_string() == p.checksum_string()
        assert c.top(400) == p.top(400)
        assert c.mid() == p.mid() and c.spread() == p.spread()
        assert c.microprice() == pytest.approx(p.microprice(), rel=1e-12)
        assert c.imbalance(10) == pytest.approx(p.imbalance(10), rel=1e-12)
        for side in ("buy", "sell"):
            cv, cf = c.cost_to_trade(side, "2.5")
            pv, pf = p.cost_to_trade(side, "2.5")
            assert cf == pf and cv == pytest.approx(pv, rel=1e-12)


def test_okx_corrupted_update_is_a_checksum_error(fixtures_dir):
    msgs = okx_books(fixtures_dir / "okx" / "recorded_2022" / "ws_books_BTC-USDT.jsonl")
    book = Book(inst(Venue.OKX), "okx", capacity=1000)
    assert msgs[0].apply(book) == OK
    bad = msgs[1]
    bids = [list(x) for x in bad.bids]
    bids[0][1] = bids[0][1] + "1" if "." in bids[0][1] else bids[0][1] + ".1"
    assert Msg(False, bids, bad.asks, checksum=bad.checksum).apply(book) == CHECKSUM
    assert not book.valid
    assert msgs[2].apply(book) == NOT_SYNCED


@IMPLS
@pytest.mark.parametrize("path,count", [
    ("recorded_2022_v1_spot/ws_books_EOSUSDT.jsonl", 56),
    ("recorded_2022_v1_spot/ws_books_SUNUSDT.jsonl", 56),
    ("recorded_2022_v1_spot/ws_books_CULTUSDT.jsonl", 52),
    ("recorded_2022_v1_mix/ws_books_DASHUSDT.jsonl", 98),
])
def test_bitget_recorded_all_checksums_verify(impl, fixtures_dir, path, count):
    msgs = bitget_books(fixtures_dir / "bitget" / path)
    book = impl(inst(Venue.BITGET), "bitget", capacity=1000)
    rcs = [m.apply(book) for m in msgs]
    assert all(m.checksum is not None for m in msgs)
    assert len(rcs) == count and rcs.count(OK) == count, [rc_name(r) for r in rcs if r]


def test_bitget_trailing_zeros_matter(fixtures_dir):
    """SUNUSDT prices like "0.01500": normalising the strings breaks the CRC."""
    msgs = bitget_books(fixtures_dir / "bitget" / "recorded_2022_v1_spot" / "ws_books_SUNUSDT.jsonl")
    snap = msgs[0]
    norm = lambda side: [[str(float(px)), sz] for px, sz, *_ in side]
    book = Book(inst(Venue.BITGET), "bitget")
    assert Msg(True, norm(snap.bids), norm(snap.asks), checksum=snap.checksum).apply(book) == CHECKSUM
    assert snap.apply(book) == OK


@IMPLS
def test_okx_docs_checksum_examples(impl, fixtures_dir):
    doc = orjson.loads((fixtures_dir / "okx" / "docs" / "checksum_examples.json").read_bytes())
    for ex in doc["examples"]:
        for cs in (ex["crc32_signed"], ex["crc32_unsigned"]):
            book = impl(inst(Venue.OKX), "okx")
            assert book.apply(True, ex["bids"], ex["asks"], checksum=cs) == OK
            assert book.checksum_string() == ex["check_string"]
            assert book.checksum() == ex["crc32_signed"]
    neg = doc["negative_example"]
    snap = orjson.loads((fixtures_dir / "okx" / "nautilus" / "ws_books_snapshot.json").read_bytes())["data"][0]
    book = impl(inst(Venue.OKX), "okx")
    assert book.apply(True, snap["bids"], snap["asks"], snap["seqId"], snap["seqId"], -1,
                      neg["published_checksum"]) == CHECKSUM
    assert book.checksum_string() == neg["computed_check_string"]
    assert book.checksum() == neg["computed_crc32_signed"]


@IMPLS
def test_okx_nautilus_snapshot_and_update_are_mismatches(impl, fixtures_dir):
    folder = fixtures_dir / "okx" / "nautilus"
    snap = orjson.loads((folder / "ws_books_snapshot.json").read_bytes())["data"][0]
    upd = orjson.loads((folder / "ws_books_update.json").read_bytes())["data"][0]
    book = impl(inst(Venue.OKX), "okx")
    assert book.apply(True, snap["bids"], snap["asks"], snap["seqId"], snap["seqId"],
                      snap["prevSeqId"], snap["checksum"]) == CHECKSUM
    assert not book.valid
    # the update carries the same levels on top of an (empty) snapshot with the matching seqId
    assert book.apply(True, [], [], upd["prevSeqId"], upd["prevSeqId"], -1) == OK
    assert book.apply(False, upd["bids"], upd["asks"], upd["seqId"], upd["seqId"], upd["prevSeqId"],
                      upd["checksum"]) == CHECKSUM
    assert book.checksum() == -2102840145 and not book.valid


def _bybit(fixtures_dir):
    return bybit_books(fixtures_dir / "bybit" / "recorded_2024" / "orderbook_500_XRPUSDT_2024-12-01.jsonl")


def test_bybit_chain_ends_at_twin_top(fixtures_dir):
    msgs = _bybit(fixtures_dir)
    assert msgs[0].is_snapshot and msgs[0].last_id == 20254869 and msgs[-1].last_id == 20254918
    c = Book(inst(Venue.BYBIT, "XRPUSDT"), "bybit", capacity=1000)
    p = pybook.Book(inst(Venue.BYBIT, "XRPUSDT"), "bybit", capacity=1000)
    for m in msgs:
        assert m.apply(c) == OK and m.apply(p) == OK
        assert c.top(25) == p.top(25)
    assert c.top_units(1000) == p.top_units(1000)
    assert c.best_bid() == p.best_bid() and c.best_ask() == p.best_ask()
    assert c.last_id == 20254918 and c.valid
    # independent of both implementations: fold the raw deltas with plain dicts
    bids: dict = {}
    asks: dict = {}
    for m in msgs:
        if m.is_snapshot:
            bids, asks = {}, {}
        for side, levels in ((bids, m.bids), (asks, m.asks)):
            for px, sz in levels:
                if float(sz) == 0:
                    side.pop(px, None)
                else:
                    side[px] = sz
    best_bid = max(bids, key=float)
    best_ask = min(asks, key=float)
    assert c.best_bid() == (best_bid, bids[best_bid]) and c.best_ask() == (best_ask, asks[best_ask])


def test_bybit_injected_gap_detected(fixtures_dir):
    msgs = _bybit(fixtures_dir)
    book = Book(inst(Venue.BYBIT), "bybit", capacity=1000)
    for m in msgs[:10]:
        assert m.apply(book) == OK
    assert msgs[11].apply(book) == GAP           # msgs[10] lost
    assert not book.valid and book.top_state()["valid"] == 0
    assert msgs[12].apply(book) == NOT_SYNCED
    assert msgs[0].apply(book) == OK and book.valid and book.last_id == msgs[0].last_id
    assert msgs[5].apply(book) == GAP                # still strict after the resync
    assert msgs[0].apply(book) == OK
    assert [m.apply(book) for m in msgs[1:]] == [OK] * (len(msgs) - 1)
    assert msgs[3].apply(book) == STALE and book.valid   # a replayed old delta is dropped, harmless
