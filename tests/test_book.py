# SPDX-License-Identifier: Apache-2.0
"""engine.book unit tests: venue sync rules on synthetic sequences, derived values, capacity,
malformed input and the maintained eng_book_top; most run against the compiled book and its twin."""
from __future__ import annotations

import ctypes
import zlib

import pytest

import engine._py.book as pybook
from engine import book as cbook
from engine.book import Book

from _book_util import inst

OK, STALE, GAP, CHECKSUM, CROSSED, NOT_SYNCED = 0, -33, -30, -31, -32, -34
CAPACITY, OVERSIZE, NEGATIVE, DOMAIN, PRECISION = -2, -18, -15, -1, -16
IMPLS = pytest.mark.parametrize("impl", [Book, pybook.Book], ids=["compiled", "py"])


def lv(*pairs):
    return [(str(p), str(s)) for p, s in pairs]


SNAP_B = lv(("100.0", "1"), ("99.5", "2"), ("99", "3"))
SNAP_A = lv(("100.5", "1.5"), ("101", "2"), ("102.25", "4"))


def make(impl, sync="none", capacity=100, px_exp=2, sz_exp=3):
    return impl(inst(px_exp=px_exp, sz_exp=sz_exp), sync, capacity=capacity)


def test_compiled_loaded():
    assert cbook.Book is Book and Book.__module__ == "engine.book"
    assert cbook.__file__.endswith((".so", ".pyd"))


@IMPLS
def test_snapshot_top_and_strings_as_sent(impl):
    b = make(impl)
    assert b.apply(True, SNAP_B, SNAP_A, 0, 7) == OK
    assert b.valid and b.last_id == 7
    assert b.best_bid() == ("100.0", "1") and b.best_ask() == ("100.5", "1.5")
    assert b.top(2) == ([("100.0", "1"), ("99.5", "2")], [("100.5", "1.5"), ("101", "2")])
    assert b.top_units(1) == ([(10000, 1000)], [(10050, 1500)])
    assert b.depth() == (3, 3)


@IMPLS
def test_snapshot_any_order_duplicates_and_zeros(impl):
    b = make(impl)
    bids = lv(("99", "3"), ("100", "1"), ("99", "5"), ("98", "0"), ("97", "1"))
    assert b.apply(True, bids, lv(("101", "1"), ("100.5", "2"))) == OK
    assert b.top(5) == ([("100", "1"), ("99", "5"), ("97", "1")], [("100.5", "2"), ("101", "1")])


@IMPLS
def test_snapshot_later_entry_for_same_price_wins(impl):
    b = make(impl)
    assert b.apply(True, lv(("99", "1"), ("99", "0")), lv(("100.2", "0.001"), ("100.2", "0"), ("101", "1"))) == OK
    assert b.top(5) == ([], [("101", "1")])
    # best-first input with zero sizes (the fast path) skips the zeros
    assert b.apply(True, lv(("99", "1"), ("98", "0"), ("97", "2")), lv(("100", "0"), ("101", "1"))) == OK
    assert b.top(5) == ([("99", "1"), ("97", "2")], [("101", "1")])


@IMPLS
def test_delta_insert_update_delete(impl):
    b = make(impl)
    b.apply(True, SNAP_B, SNAP_A)
    assert b.apply(False, lv(("100.25", "7"), ("99.5", "0"), ("98", "0")), lv(("100.5", "3.000"))) == OK
    assert b.top(3) == ([("100.25", "7"), ("100.0", "1"), ("99", "3")],
                        [("100.5", "3.000"), ("101", "2"), ("102.25", "4")])


@IMPLS
def test_derived_values(impl):
    b = make(impl)
    assert b.mid() is None and b.spread() is None and b.microprice() is None
    assert b.imbalance(1) is None and b.cost_to_trade("buy", "1") is None
    b.apply(True, SNAP_B, SNAP_A)
    assert b.mid() == 100.25 and b.spread() == 0.5 and b.spread_units() == 50
    # (100 * 1.5 + 100.5 * 1) / 2.5
    assert b.microprice() == pytest.approx(100.2, rel=1e-12)
    assert b.imbalance(1) == pytest.approx((1 - 1.5) / 2.5)
    assert b.imbalance(3) == pytest.approx((6 - 7.5) / 13.5)
    assert b.imbalance(0) is None
    vwap, filled = b.cost_to_trade("buy", "2.5")           # 1.5 @ 100.5 + 1 @ 101
    assert filled == 2500 and vwap == pytest.approx((1.5 * 100.5 + 101) / 2.5, rel=1e-12)
    vwap, filled = b.cost_to_trade("sell", "100")          # book too thin: partial
    assert filled == 6000 and vwap == pytest.approx((100 + 2 * 99.5 + 3 * 99) / 6, rel=1e-12)


@IMPLS
def test_depth_queries(impl):
    b = make(impl)
    b.apply(True, SNAP_B, SNAP_A)
    assert b.size_at("buy", "99.5") == 2000 and b.size_at("bid", "99.4") == 0
    assert b.size_at("sell", "101") == 2000 and b.size_at("ask", "100") == 0
    assert b.depth_to("buy", "99.5") == (2, 3000)        # 100.0 and 99.5
    assert b.depth_to("buy", "101") == (0, 0)
    assert b.depth_to("buy", "1") == (3, 6000)
    assert b.depth_to("sell", "101.5") == (2, 3500)
    assert b.depth_to("sell", "100.5") == (1, 1500)
    assert b.depth_to("sell", "100") == (0, 0)


@IMPLS
def test_crossed_book_invalidates(impl):
    b = make(impl)
    b.apply(True, SNAP_B, SNAP_A)
    assert b.apply(False, lv(("100.5", "1")), []) == CROSSED
    assert not b.valid
    assert b.apply(False, lv(("99", "1")), []) == NOT_SYNCED
    assert b.apply(True, lv(("101", "1")), lv(("100", "1"))) == CROSSED   # crossed snapshot too
    assert b.apply(True, SNAP_B, SNAP_A) == OK and b.valid


@IMPLS
def test_not_synced_before_snapshot(impl):
    b = make(impl, "bybit")
    assert b.apply(False, SNAP_B, SNAP_A, 0, 5) == NOT_SYNCED and not b.valid


# ---- sync rules -----------------------------------------------------------------------------------
@IMPLS
def test_binance_spot_rules(impl):
    b = make(impl, "binance_spot")
    assert b.apply(True, SNAP_B, SNAP_A, 100, 100) == OK and b.state == "first"
    assert b.apply(False, [], [], 95, 100) == STALE            # u <= L
    assert b.apply(False, [], [], 102, 105) == GAP             # U > L + 1
    b.apply(True, SNAP_B, SNAP_A, 100, 100)
    assert b.apply(False, lv(("99", "9")), [], 99, 103) == OK   # U <= L+1 <= u
    assert b.state == "live" and b.last_id == 103
    assert b.apply(False, [], [], 100, 103) == STALE
    assert b.apply(False, [], [], 104, 110) == OK
    assert b.apply(False, [], [], 112, 115) == GAP and not b.valid


@IMPLS
def test_binance_spot_boundary_u_equals_l_plus_one(impl):
    b = make(impl, "binance_spot")
    b.apply(True, SNAP_B, SNAP_A, 100, 100)
    assert b.apply(False, [], [], 101, 101) == OK


@IMPLS
def test_binance_usdm_rules(impl):
    b = make(impl, "binance_usdm")
    b.apply(True, SNAP_B, SNAP_A, 100, 100)
    assert b.apply(False, [], [], 90, 99, 80) == STALE          # u < L
    assert b.apply(False, [], [], 101, 105, 100) == GAP         # first must have U <= L
    b.apply(True, SNAP_B, SNAP_A, 100, 100)
    assert b.apply(False, [], [], 95, 100, 90) == OK            # u == L kept
    assert b.apply(False, [], [], 101, 108, 100) == OK          # pu == previous u
    assert b.apply(False, [], [], 101, 108, 100) == STALE       # duplicate
    assert b.apply(False, [], [], 115, 120, 109) == GAP


@IMPLS
def test_bybit_rules(impl):
    b = make(impl, "bybit")
    b.apply(True, SNAP_B, SNAP_A, 10, 10)
    assert b.apply(False, lv(("99", "0")), [], 11, 11) == OK
    assert b.apply(False, [], [], 11, 11) == STALE
    assert b.apply(False, [], [], 13, 13) == GAP
    # u == 1 is a venue restart: the delta replaces the book
    assert b.apply(False, lv(("50", "1")), lv(("60", "1")), 1, 1) == OK
    assert b.valid and b.top(5) == ([("50", "1")], [("60", "1")]) and b.last_id == 1
    assert b.apply(False, [], [], 2, 2) == OK


@IMPLS
def test_okx_sequence_rules(impl):
    b = make(impl, "okx")
    b.apply(True, SNAP_B, SNAP_A, 10, 10, -1)
    assert b.apply(False, lv(("99", "4")), [], 15, 15, 10) == OK
    assert b.apply(False, [], [], 15, 15, 15) == OK and b.valid        # keepalive
    assert b.apply(False, [], [], 3, 3, 16) == OK and b.last_id == 3   # seqId < prevSeqId: reset
    assert b.apply(False, [], [], 8, 8, 4) == GAP and not b.valid


@IMPLS
def test_okx_checksum_after_merge_and_unsequenced_data(impl):
    b = make(impl, "okx")
    assert b.apply(True, SNAP_B, SNAP_A) == OK
    cs = b.checksum()
    assert b.checksum_string() == "100.0:1:100.5:1.5:99.5:2:101:2:99:3:102.25:4"
    expect = zlib.crc32(b.checksum_string().encode())
    assert cs == (expect - 2**32 if expect >= 2**31 else expect)
    assert b.apply(False, [], [], checksum=cs) == OK                   # no seqId: sequence unchecked
    assert b.apply(False, [], [], checksum=cs & 0xFFFFFFFF) == OK      # unsigned form accepted
    assert b.apply(False, lv(("99", "2")), [], checksum=cs) == CHECKSUM and not b.valid


@IMPLS
def test_checksum_skips_missing_side(impl):
    b = make(impl, "bitget")
    b.apply(True, lv(("3", "1"), ("2", "1"), ("1", "1")), lv(("4", "2")))
    assert b.checksum_string() == "3:1:4:2:2:1:1:1"


@IMPLS
def test_checksum_uses_top_25_only(impl):
    b = make(impl, "bitget", px_exp=0, sz_exp=0)
    b.apply(True, lv(*[(str(100 - i), "1") for i in range(40)]), lv(*[(str(200 + i), "1") for i in range(30)]))
    assert b.checksum_string().count(":") == 25 * 4 - 1


# ---- capacity and malformed input ---------------------------------------------------------------
@IMPLS
def test_capacity_overflow_is_an_error_not_truncation(impl):
    b = make(impl, capacity=3)
    assert b.apply(True, SNAP_B, SNAP_A) == OK
    assert b.apply(False, lv(("100.25", "1")), []) == CAPACITY and not b.valid
    assert b.apply(True, lv(("1", "1"), ("2", "1"), ("3", "1")), []) == OK
    # a message may not carry more levels per side than the capacity, zero sizes included
    assert b.apply(True, lv(("1", "1"), ("2", "1"), ("3", "1"), ("4", "0")), []) == OVERSIZE
    assert b.apply(True, lv(("1", "1"), ("2", "1"), ("3", "1"), ("4", "1")), []) == OVERSIZE
    b2 = make(impl, capacity=3)
    b2.apply(True, SNAP_B, SNAP_A)
    assert b2.apply(False, lv(("99.5", "0"), ("98", "1")), []) == OK     # delete then insert fits


@IMPLS
@pytest.mark.parametrize("bad", ["NaN", "nan", "inf", "-1", "1e5", "", "1.", ".", "1,5", " 1", "+1",
                                 "99999999999999999999", "1.2345"])
def test_unparsable_strings_raise_and_invalidate(impl, bad):
    b = make(impl)
    b.apply(True, SNAP_B, SNAP_A)
    with pytest.raises(ValueError):
        b.apply(False, [("99", bad)], [])
    assert not b.valid
    b = make(impl)
    b.apply(True, SNAP_B, SNAP_A)
    with pytest.raises(ValueError):
        b.apply(False, [], [(bad, "1")])
    assert not b.valid


@IMPLS
def test_zero_price_rejected(impl):
    b = make(impl)
    assert b.apply(True, [("0", "1")], []) == DOMAIN and not b.valid


def test_raw_levels_negative_oversize_and_precision():
    b = make(Book, capacity=8)
    assert cbook._test_apply_raw(b, True, [(10000, 1000, 0, 0)], [(10100, 1000, 0, 0)]) == OK
    assert cbook._test_apply_raw(b, False, [(-5, 1, 0, 0)], []) == NEGATIVE and not b.valid
    b.apply(True, SNAP_B, SNAP_A)
    assert cbook._test_apply_raw(b, False, [(9900, -1, 0, 0)], []) == NEGATIVE
    b.apply(True, SNAP_B, SNAP_A)
    assert cbook._test_apply_raw(b, False, [], [], n_bids=-1) == OVERSIZE
    b.apply(True, SNAP_B, SNAP_A)
    assert cbook._test_apply_raw(b, False, [], [], n_asks=1 << 30) == OVERSIZE
    b.apply(True, SNAP_B, SNAP_A)
    assert cbook._test_apply_raw(b, False, [(9900, 1, 200, 0)], []) == PRECISION
    assert b.stats["errors"] == 5 and not b.valid
    with pytest.raises(ValueError):
        cbook._test_apply_raw(b, False, [], [], n_bids=3)


def test_too_many_levels_in_python_apply_is_oversize():
    b = make(Book, capacity=4)
    assert b.apply(True, [("1", "1")] * 5, []) == OVERSIZE and not b.valid


def test_bad_construction():
    with pytest.raises(ValueError):
        Book(inst(), "kraken")
    with pytest.raises(ValueError):
        Book(inst(), "none", capacity=0)
    with pytest.raises(ValueError):
        pybook.Book(inst(), "kraken")


# ---- maintained top -----------------------------------------------------------------------------
class Top(ctypes.Structure):
    _fields_ = [("bid_px", ctypes.c_int64), ("bid_sz", ctypes.c_int64), ("ask_px", ctypes.c_int64),
                ("ask_sz", ctypes.c_int64), ("last_id", ctypes.c_int64), ("update_ns", ctypes.c_int64),
                ("valid", ctypes.c_int32), ("inst", ctypes.c_int32)]


def test_external_top_is_maintained():
    top = Top()
    b = Book(inst(px_exp=2, sz_exp=3, id=7), "bybit", capacity=10, top_ptr=ctypes.addressof(top))
    assert b.top_address == ctypes.addressof(top) and top.valid == 0 and top.inst == 7
    assert b.apply(True, SNAP_B, SNAP_A, 5, 5, now_ns=123) == OK
    assert (top.bid_px, top.bid_sz, top.ask_px, top.ask_sz) == (10000, 1000, 10050, 1500)
    assert (top.last_id, top.update_ns, top.valid) == (5, 123, 1)
    assert b.apply(False, [], lv(("100.5", "0")), 6, 6, now_ns=124) == OK
    assert (top.ask_px, top.ask_sz, top.last_id) == (10100, 2000, 6)
    assert b.apply(False, [], [], 9, 9) == GAP and top.valid == 0
    # re-bind to another slot: the state is published there, the old slot is no longer written
    other = Top()
    b.apply(True, SNAP_B, SNAP_A, 20, 20, now_ns=5)
    b.bind_top_address(ctypes.addressof(other))
    assert other.valid == 1 and other.bid_px == 10000 and other.last_id == 20
    b.apply(False, lv(("100.1", "1")), [], 21, 21)
    assert other.bid_px == 10010 and top.bid_px == 10000
    b.bind_top_address(0)
    assert b.top_state()["bid_px"] == 10010 and b.top_state()["valid"] == 1
    del b  # the external slot outlives the book


def test_reset_and_stats():
    b = make(Book, "okx")
    b.apply(True, SNAP_B, SNAP_A, 3, 3)
    assert b.stats == {"applied": 1, "dropped": 0, "errors": 0}
    b.reset()
    assert not b.valid and b.depth() == (0, 0) and b.last_id == 0 and b.state == "empty"
    assert b.apply(False, [], [], 4, 4, 3) == NOT_SYNCED
    assert "Book(" in repr(b)


def test_crc32_matches_zlib():
    for data in (b"", b"a", b"3366.1:7:3366.8:9:3366:6:3368:8", bytes(range(256)) * 3):
        c = zlib.crc32(data)
        assert cbook.crc32(data) == (c - 2**32 if c >= 2**31 else c)


@pytest.mark.parametrize("px_exp,sz_exp", [(0, 0), (4, 8), (8, 3), (18, 18), (10, 0)])
def test_checksum_strings_reproduce_exact_forms(px_exp, sz_exp):
    """Leading "0.", trailing zeros beyond the exponent, fewer decimals than the exponent, many digits."""
    def ok(text, exp):
        try:
            pybook.parse_decimal(text, exp)
            return True
        except ValueError:
            return False

    bids = [p for p in ["5", "4.9", "4.00", "0.0012", "0.001200", "3.999999999999999999", "123456789012"]
            if ok(p, px_exp)]
    sizes = [s for s in ["1", "0.5", "2.000000000000", "0.000000000000000001", "9223372036"] if ok(s, sz_exp)]
    if not bids or not sizes:
        pytest.skip("no representable values")
    levels = [(p, sizes[i % len(sizes)]) for i, p in enumerate(bids)]
    asks = [("999999", sizes[0])] if ok("999999", px_exp) and 999999 * 10**px_exp < 2**63 else []
    c = Book(inst(px_exp=px_exp, sz_exp=sz_exp), "bitget")
    p = pybook.Book(inst(px_exp=px_exp, sz_exp=sz_exp), "bitget")
    rc = c.apply(True, levels, asks)
    assert rc == p.apply(True, levels, asks)
    if rc == OK:
        assert c.checksum_string() == p.checksum_string() and c.checksum() == p.checksum()
        assert c.top(50) == p.top(50)
        for px, sz in c.top(50)[0]:
            assert px in bids and sz in sizes


@pytest.mark.parametrize("sync", ["okx", "bitget", "none"])   # memoised text (okx/bitget) and plain
def test_checksum_text_follows_every_change(sync):
    """Same price re-sent with other decimals, size changed and changed back, 300 levels hashed into
    64 memo slots, snapshots reusing prices: the text always equals the twin's."""
    c = make(Book, sync, capacity=400)
    p = make(pybook.Book, sync, capacity=400)
    steps = [
        (True, lv(*[(f"{1000 - i}.5", "1") for i in range(300)]), lv(*[(f"{1001 + i}", "2") for i in range(300)])),
        (False, lv(("1000.50", "1")), []),                 # same price and size, more decimals
        (False, lv(("1000.5", "1.000")), lv(("1001", "3"))),
        (False, lv(("1000.5", "1")), lv(("1001", "2"))),   # back to the first form
        (False, [], lv(("1001", "0"), ("1001.25", "7"))),
        (True, lv(("1000.5", "9.5"), ("999.50", "1")), lv(("1001.00", "2"))),
        (False, lv(("999.5", "1")), []),
    ]
    for is_snap, bids, asks in steps:
        assert c.apply(is_snap, bids, asks) == p.apply(is_snap, bids, asks) == OK
        assert c.checksum_string() == p.checksum_string()
        assert c.checksum() == p.checksum()
