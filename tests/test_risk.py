# SPDX-License-Identifier: Apache-2.0
"""engine.risk: every reject reason, the fail-closed default, cancels, reservation side effects."""
from __future__ import annotations

import math

import pytest

from engine import risk
from engine.risk import RiskGate, reason_name
from engine.strategy import Context

from _hotpath_util import BTC, ETH_PERP, new_intent

NOW = 10_000_000_000
MID = 6_500_000  # 65000.00 in 0.01 units


@pytest.fixture
def ctx():
    c = Context()
    c.add_instrument(BTC)
    c.add_instrument(ETH_PERP)
    c.set_top(0, MID - 50, 100_000, MID + 50, 100_000, update_ns=NOW)
    c.set_top(1, 350_000, 1_000, 350_001, 1_000, update_ns=NOW)
    return c


@pytest.fixture
def gate():
    g = RiskGate()
    g.set_limits(0, max_order_sz=1_000_000, max_notional=1_000.0, max_position=2_000_000,
                 band_bps=50.0, max_book_age_ns=1_000_000_000)
    return g


def check(gate, ctx, **kw):
    now = kw.pop("now", NOW)
    return gate.check_py(ctx, new_intent(**kw), now_ns=now)


def test_reason_names_cover_every_code():
    assert reason_name(0) == "OK"
    names = [reason_name(c) for c in range(1, 12)]
    assert names == ["SIZE", "NOTIONAL", "POSITION", "BAND", "OPEN_ORDERS", "RATE", "LOSS",
                     "STALE_BOOK", "KILL", "BAD_INTENT", "NO_LIMITS"]
    assert reason_name(99) == "reason=99"
    assert risk.RISK_BAND == 4 and risk.REASON_CODES["KILL"] == 9


def test_pass_and_reservation(gate, ctx):
    assert check(gate, ctx, sz=100) == 0
    pos = ctx.position(0)
    assert (pos["open_orders"], pos["open_buy_sz"], pos["open_sell_sz"]) == (1, 100, 0)
    assert check(gate, ctx, side=-1, px=MID + 100, sz=300) == 0
    assert ctx.position(0)["open_sell_sz"] == 300
    assert gate.open_orders == 2 and gate.passed == 2 and gate.rejects() == {}


def test_no_limits_fails_closed(gate, ctx):
    assert check(gate, ctx, inst=1, px=350_000, sz=1) == risk.RISK_NO_LIMITS
    gate.clear_limits(0)
    assert check(gate, ctx) == risk.RISK_NO_LIMITS
    assert gate.limits(0) is None


def test_size(gate, ctx):
    assert check(gate, ctx, sz=1_000_000, px=MID) == risk.RISK_NOTIONAL  # 650k quote > 1000
    gate.set_limits(0, max_order_sz=500)
    assert check(gate, ctx, sz=501) == risk.RISK_SIZE
    assert check(gate, ctx, sz=500) == 0
    assert gate.rejects() == {"NOTIONAL": 1, "SIZE": 1}


def test_notional(gate, ctx):
    # 65000 * 0.01538 = 999.7 passes, 0.01539 -> 1000.35 fails
    assert check(gate, ctx, sz=1538) == 0
    assert check(gate, ctx, sz=1539) == risk.RISK_NOTIONAL


def test_notional_uses_contract_multiplier():
    from engine.instruments import Instrument, Venue
    c = Context()
    c.add_instrument(Instrument(2, Venue.OKX, "BTC-USDT-SWAP", "0.1", "0.01", contract_mult=0.01))
    c.set_top(2, 650_000, 100, 650_001, 100, update_ns=NOW)
    g = RiskGate()
    g.set_limits(2, max_notional=650.0)
    # 1 contract (100 units of 0.01) * 0.01 BTC * 65000 = 650 quote
    assert g.check_py(c, new_intent(inst=2, px=650_000, sz=100), now_ns=NOW) == 0
    assert g.check_py(c, new_intent(inst=2, px=650_000, sz=101), now_ns=NOW) == risk.RISK_NOTIONAL


def test_market_order_notional_uses_far_side(gate, ctx):
    gate.set_limits(0, max_notional=650.0)
    # ask is MID+50 -> 65000.50 * 0.01 = 650.005 > 650
    assert check(gate, ctx, ord_type=2, px=0, sz=1000, tif=2) == risk.RISK_NOTIONAL
    assert check(gate, ctx, ord_type=2, px=0, sz=1000, tif=2, side=-1) == 0  # bid 64999.50


def test_position_includes_open_same_side_orders(gate, ctx):
    gate.set_limits(0, max_position=1000)
    ctx.set_position(0, 600, avg_px=65000.0)
    ctx.set_open_orders(0, 1, buy_sz=300)
    assert check(gate, ctx, sz=101) == risk.RISK_POSITION      # 600+300+101
    assert check(gate, ctx, sz=100) == 0                       # 1000 exactly
    # sells reduce a long: |600 - 0 - 1600| = 1000 passes, 1601 fails
    assert check(gate, ctx, side=-1, px=MID, sz=1601) == risk.RISK_POSITION
    assert check(gate, ctx, side=-1, px=MID, sz=1600) == 0


def test_band(gate, ctx):
    # 50 bps of 65000 = 325.00 = 32500 units
    assert check(gate, ctx, px=MID + 32_500) == 0
    assert check(gate, ctx, px=MID + 32_501) == risk.RISK_BAND
    assert check(gate, ctx, side=-1, px=MID - 32_501) == risk.RISK_BAND


def test_open_orders_global(gate, ctx):
    gate.set_global(max_open_orders=2)
    assert check(gate, ctx) == 0
    assert check(gate, ctx) == 0
    assert check(gate, ctx) == risk.RISK_OPEN_ORDERS
    # cancels still pass; the router lowers the count when orders close
    assert check(gate, ctx, kind=2, target_id=1) == 0
    gate.open_orders = 1
    assert check(gate, ctx) == 0


def test_rate_token_bucket(gate, ctx):
    gate.set_global(rate_per_s=10.0, burst=2.0)
    assert check(gate, ctx, now=NOW) == 0
    assert check(gate, ctx, now=NOW) == 0
    assert check(gate, ctx, now=NOW) == risk.RISK_RATE
    assert check(gate, ctx, now=NOW + 50_000_000) == risk.RISK_RATE   # 0.5 token
    assert check(gate, ctx, now=NOW + 100_000_000) == 0               # 1 token after 100 ms
    assert check(gate, ctx, now=NOW + 100_000_000) == risk.RISK_RATE
    with pytest.raises(ValueError):
        gate.set_global(rate_per_s=None)  # burst still set
    with pytest.raises(ValueError):
        gate.set_global(burst=0.5)
    gate.set_global(rate_per_s=None, burst=None)
    assert all(check(gate, ctx, now=NOW) == 0 for _ in range(5))


def test_daily_loss_blocks_new_but_not_reducing_orders(gate, ctx):
    gate.set_global(max_daily_loss=100.0)
    ctx.daily_pnl = -99.0
    assert check(gate, ctx) == 0
    ctx.daily_pnl = -100.0
    assert check(gate, ctx) == risk.RISK_LOSS
    ctx.set_position(0, 500, avg_px=65000.0)
    assert check(gate, ctx, side=-1, sz=500, flags=1) == 0              # reduce-only, reduces
    assert check(gate, ctx, side=-1, sz=501, flags=1) == risk.RISK_LOSS  # would flip
    assert check(gate, ctx, side=-1, sz=100) == risk.RISK_LOSS           # not reduce-only


def test_stale_book(gate, ctx):
    ctx.invalidate(0)
    assert check(gate, ctx) == risk.RISK_STALE_BOOK
    ctx.set_top(0, MID - 50, 1, MID + 50, 1, update_ns=NOW)
    assert check(gate, ctx, now=NOW + 1_000_000_000) == 0
    assert check(gate, ctx, now=NOW + 1_000_000_001) == risk.RISK_STALE_BOOK
    # an empty side cannot price a market order or the band
    ctx.set_top(0, 0, 0, MID + 50, 1, update_ns=NOW)
    assert check(gate, ctx, side=-1, ord_type=2, px=0, tif=2) == risk.RISK_STALE_BOOK
    assert check(gate, ctx) == risk.RISK_STALE_BOOK


def test_kill_switch_blocks_new_orders_not_cancels(gate, ctx):
    ctx.kill = True
    assert check(gate, ctx) == risk.RISK_KILL
    assert check(gate, ctx, kind=2, target_id=7) == 0
    assert check(gate, ctx, kind=4) == 0
    ctx.kill = False
    gate.kill = True
    assert check(gate, ctx) == risk.RISK_KILL
    gate.kill = False
    assert check(gate, ctx) == 0


@pytest.mark.parametrize("kw", [
    dict(kind=9), dict(side=0), dict(ord_type=7), dict(tif=0), dict(sz=0), dict(sz=-5),
    dict(px=0), dict(px=-1), dict(inst=7), dict(inst=-1), dict(inst=300),
    dict(kind=2, target_id=0), dict(kind=3, target_id=0),
])
def test_bad_intent(gate, ctx, kw):
    assert check(gate, ctx, **kw) == risk.RISK_BAD_INTENT, kw
    assert gate.open_orders == 0


def test_lot_and_tick_steps(ctx):
    g = RiskGate()
    # px_exp/sz_exp finer than tick/lot: tick 0.10 = 10 units, lot 0.001 = 10 units
    from engine.instruments import Instrument, Venue
    c = Context()
    c.add_instrument(Instrument(3, Venue.BYBIT, "BTCUSDT", "0.10", "0.001", px_exp=2, sz_exp=4))
    c.set_top(3, 6_500_000, 1, 6_500_010, 1, update_ns=NOW)
    g.set_limits(3)
    assert g.check_py(c, new_intent(inst=3, px=6_500_010, sz=20), now_ns=NOW) == 0
    assert g.check_py(c, new_intent(inst=3, px=6_500_011, sz=20), now_ns=NOW) == risk.RISK_BAD_INTENT
    assert g.check_py(c, new_intent(inst=3, px=6_500_010, sz=25), now_ns=NOW) == risk.RISK_BAD_INTENT
    g.set_limits(3, check_steps=False)
    assert g.check_py(c, new_intent(inst=3, px=6_500_011, sz=25), now_ns=NOW) == 0


def test_amend_checked_like_new_but_not_counted_open(gate, ctx):
    assert check(gate, ctx, kind=3, target_id=5, sz=100) == 0
    assert gate.open_orders == 0
    assert check(gate, ctx, kind=3, target_id=5, sz=100, px=MID + 40_000) == risk.RISK_BAND


def test_limit_validation(gate):
    with pytest.raises(ValueError):
        gate.set_limits(0, max_order_sz=0)
    with pytest.raises(TypeError):
        gate.set_limits(0, max_order_sz=1.5)
    with pytest.raises(ValueError):
        gate.set_limits(0, max_notional=math.nan)
    with pytest.raises(ValueError):
        gate.set_limits(0, band_bps=-1)
    with pytest.raises(IndexError):
        gate.set_limits(256)
    with pytest.raises(TypeError):
        gate.set_global(max_orders=3)
    with pytest.raises(ValueError):
        gate.check_py(Context(), {"bogus": 1})
    assert gate.limits(0)["band_bps"] == 50.0 and gate.limits(0)["max_position"] == 2_000_000


def test_counters_and_reset(gate, ctx):
    ctx.kill = True
    check(gate, ctx)
    check(gate, ctx)
    assert gate.rejects() == {"KILL": 2}
    gate.reset_counters()
    assert gate.rejects() == {} and gate.passed == 0
