# SPDX-License-Identifier: Apache-2.0
"""Differential property tests: random snapshot/delta streams (with gaps, duplicates, crossed updates,
capacity overflows and checksums) applied to the compiled book and to the pure-Python twin must
give the same rc, top-N, sequence state and derived values after every step."""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import engine._py.book as pybook
from engine.book import Book

from _book_util import inst

PX_EXP, SZ_EXP = 2, 3
SYNCS = ["none", "binance_spot", "binance_usdm", "bybit", "okx", "bitget"]


def fmt(units: int, exp: int, extra: int) -> str:
    """Canonical decimal string with the significant decimals plus `extra` trailing zeros."""
    ip, fp = divmod(units, 10**exp)
    frac = str(fp).rjust(exp, "0").rstrip("0") if exp else ""
    frac += "0" * extra
    return f"{ip}.{frac}" if frac else str(ip)


@st.composite
def levels(draw, lo, hi, max_n):
    n = draw(st.integers(0, max_n))
    out = []
    for _ in range(n):
        px = draw(st.integers(lo, hi))
        sz = draw(st.sampled_from([0, 0, 1, 5, 250, 1000, 123456]))
        out.append((fmt(px, PX_EXP, draw(st.integers(0, 2))), fmt(sz, SZ_EXP, draw(st.integers(0, 1)))))
    return out


@st.composite
def message(draw):
    kind = draw(st.sampled_from(["delta"] * 6 + ["snapshot"]))
    bids = draw(levels(9000, 10030, 6 if kind == "delta" else 20))
    asks = draw(levels(10020, 11000, 6 if kind == "delta" else 20))
    return dict(
        is_snapshot=kind == "snapshot", bids=bids, asks=asks,
        du=draw(st.sampled_from([1] * 10 + [2, 0, -1, 3])),
        dU=draw(st.sampled_from([1] * 10 + [0, 2, -2])),
        dpu=draw(st.sampled_from([0] * 10 + [1, -1])),
        checksum=draw(st.sampled_from(["none", "none", "none", "right", "right", "wrong"])),
    )


def same_state(c: Book, p: pybook.Book) -> None:
    assert c.valid == p.valid
    assert c.last_id == p.last_id
    assert c.depth() == p.depth()
    assert c.top(10) == p.top(10)
    assert c.top_units(100) == p.top_units(100)
    assert c.best_bid() == p.best_bid() and c.best_ask() == p.best_ask()
    assert c.checksum_string() == p.checksum_string() and c.checksum() == p.checksum()
    assert c.mid() == p.mid() and c.spread_units() == p.spread_units()
    for px in ("90", "100.1", "100.3", "105"):
        for side in ("buy", "sell"):
            assert c.size_at(side, px) == p.size_at(side, px)
            assert c.depth_to(side, px) == p.depth_to(side, px)
    for a, b in ((c.microprice(), p.microprice()), (c.imbalance(3), p.imbalance(3))):
        assert (a is None) == (b is None) and (a is None or a == pytest.approx(b, rel=1e-12, abs=1e-15))
    for side in ("buy", "sell"):
        a, b = c.cost_to_trade(side, "1.5"), p.cost_to_trade(side, "1.5")
        assert (a is None) == (b is None)
        if a is not None:
            assert a[1] == b[1] and a[0] == pytest.approx(b[0], rel=1e-12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sync=st.sampled_from(SYNCS), capacity=st.sampled_from([8, 30, 500]),
       msgs=st.lists(message(), min_size=1, max_size=40))
def test_compiled_matches_twin_on_random_streams(sync, capacity, msgs):
    msgs[0]["is_snapshot"] = True
    i = inst(px_exp=PX_EXP, sz_exp=SZ_EXP)
    c = Book(i, sync, capacity=capacity)
    p = pybook.Book(i, sync, capacity=capacity)
    u = 100
    for m in msgs:
        prev_u = u
        u = max(1, prev_u + m["du"]) if not m["is_snapshot"] else prev_u + 1
        first = max(1, prev_u + m["dU"])
        pu = prev_u + m["dpu"]
        checksum = None
        if m["checksum"] == "right":
            shadow = copy.deepcopy(p)
            shadow.sync_name = "none"
            shadow.state = "live"
            if shadow.apply(m["is_snapshot"], m["bids"], m["asks"], first, u, pu) == 0:
                checksum = shadow.checksum()
        elif m["checksum"] == "wrong":
            checksum = 12345
        args = (m["is_snapshot"], m["bids"], m["asks"], first, u, pu, checksum)
        rc_c = c.apply(*args)
        rc_p = p.apply(*args)
        assert rc_c == rc_p, (args, c, p.state)
        event(f"{sync}: rc={rc_c}")
        same_state(c, p)
        if rc_c == 0 and checksum is not None:
            assert c.checksum() == checksum


@settings(max_examples=60, deadline=None)
@given(text=st.one_of(st.text(max_size=12), st.from_regex(r"-?[0-9]{0,21}(\.[0-9]{0,6})?", fullmatch=True),
                      st.sampled_from(["NaN", "Infinity", "1e3", "0x10", "1_000", "٣"])))
def test_parser_agrees_with_twin(text):
    """Any size string: both accept with the same value or both reject (and invalidate)."""
    i = inst(px_exp=PX_EXP, sz_exp=SZ_EXP)
    c = Book(i, "none", capacity=8)
    p = pybook.Book(i, "none", capacity=8)
    outcomes = []
    for b in (c, p):
        b.apply(True, [("100", "1")], [("101", "1")])
        try:
            outcomes.append(("rc", b.apply(False, [("99", text)], [])))
        except ValueError:
            outcomes.append(("error", None))
        outcomes.append(("valid", b.valid))
    assert outcomes[:2] == outcomes[2:]
    if outcomes[0][0] == "rc" and outcomes[0][1] == 0:
        assert c.top_units(5) == p.top_units(5)


INT64_MAX = 2**63 - 1
raw_px = st.one_of(st.integers(-5, 5), st.integers(1, 10**6), st.integers(INT64_MAX - 10, INT64_MAX),
                   st.just(-INT64_MAX))
raw_sz = st.one_of(st.integers(-2, 3), st.integers(0, 10**9), st.integers(INT64_MAX - 10, INT64_MAX))
raw_level = st.tuples(raw_px, raw_sz, st.integers(0, 40), st.integers(0, 40))


@settings(max_examples=150, deadline=None)
@given(msgs=st.lists(st.tuples(st.booleans(), st.lists(raw_level, max_size=10), st.lists(raw_level, max_size=10)),
                     min_size=1, max_size=15),
       exps=st.tuples(st.integers(0, 18), st.integers(0, 18)))
def test_extreme_raw_levels_never_crash_and_keep_invariants(msgs, exps):
    """Raw units at the int64 edges, negative values, oversize decimals: every apply returns an rc,
    an accepted book is sorted, uncrossed and its derived values stay finite."""
    from engine import book as cbook
    b = Book(inst(px_exp=exps[0], sz_exp=exps[1]), "okx", capacity=12)
    for is_snap, bids, asks in msgs:
        rc = cbook._test_apply_raw(b, is_snap, bids, asks)
        assert rc in (0, -1, -2, -15, -16, -18, -31, -32, -34)
        bu, au = b.top_units(100)
        assert all(p > 0 and s > 0 for p, s in bu + au)
        assert [p for p, _ in bu] == sorted({p for p, _ in bu}, reverse=True)
        assert [p for p, _ in au] == sorted({p for p, _ in au})
        if b.valid and bu and au:
            assert bu[0][0] < au[0][0]
            assert b.spread_units() == au[0][0] - bu[0][0]
            for v in (b.mid(), b.microprice(), b.imbalance(5)):
                assert v is not None and v == v and abs(v) != float("inf")
            vwap, filled = b.cost_to_trade("buy", "1" if exps[1] == 0 else "0." + "0" * (exps[1] - 1) + "1")
            assert filled == 1 and vwap == pytest.approx(au[0][0] / 10 ** exps[0], rel=1e-15)
        b.checksum_string()       # prints every stored decimal form, never overruns
