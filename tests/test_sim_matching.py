# SPDX-License-Identifier: Apache-2.0
"""Matching engine of the simulator: price-time priority, queue position, order types, fees,
positions and balances."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.sim.config import SymbolSpec, VenueSpec
from engine.sim.matching import Engine, Reject, fmt_units, to_units


class Rec:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int]] = []

    def order_event(self, o, x, fill) -> None:
        self.events.append((o.client_id, x, fill.qty if fill else 0))

    def account_event(self, reason, symbols) -> None:
        pass


def make(futures: bool = True, **kw) -> tuple[Engine, Rec]:
    sym = SymbolSpec("BTCUSDT", "0.10", "0.001", "0.001", "10", "100")
    spec = VenueSpec("binance_usdm" if futures else "binance_spot", symbols=[sym],
                     maker_fee="0.0002", taker_fee="0.0005",
                     balances=kw.get("balances", {"USDT": "10000", "BTC": "1"}), leverage=10)
    e = Engine(spec, futures)
    r = Rec()
    e.listeners.append(r)
    m = e.markets["BTCUSDT"]
    # synthetic book: bids 99.9 (1.000), 99.8 (2.000); asks 100.0 (1.000), 100.1 (2.000)
    m.set_level(0, 999, 1000)
    m.set_level(0, 998, 2000)
    m.set_level(1, 1000, 1000)
    m.set_level(1, 1001, 2000)
    return e, r


def test_units_roundtrip_and_precision():
    assert to_units("100.10", 2) == 10010
    assert fmt_units(10010, 2) == "100.10" and fmt_units(-5, 3) == "-0.005"
    with pytest.raises(Reject) as ei:
        to_units("1.001", 2)
    assert ei.value.reason == "PRECISION"
    for bad in ("nan", "inf", "abc", ""):
        with pytest.raises(Reject):
            to_units(bad, 2)


def test_taker_sweeps_levels_with_fees_and_position():
    e, r = make()
    o = e.place("BTCUSDT", "BUY", "LIMIT", 1500, 1001, "IOC", "a")
    assert o.status == "FILLED" and o.filled == 1500
    fills = e.fills
    assert [(f.px, f.qty, f.maker) for f in fills] == [(1000, 1000, False), (1001, 500, False)]
    notional = Decimal("100.0") * 1 + Decimal("100.1") * Decimal("0.5")
    assert sum(f.fee for f in fills) == notional * Decimal("0.0005")
    m = e.markets["BTCUSDT"]
    assert m.levels(1) == [(1001, 1500)]
    p = e.positions["BTCUSDT"]
    assert p.amt == 1500 and p.entry == notional / Decimal("1.5")
    # close half at 99.9 -> realised pnl
    e.place("BTCUSDT", "SELL", "MARKET", 750, client_id="b")
    assert e.positions["BTCUSDT"].amt == 750
    f = e.fills[-1]
    assert f.realized_pnl == (Decimal("99.9") - p.entry) * Decimal("0.75")


def test_ioc_partial_then_expired_and_fok_all_or_nothing():
    e, r = make()
    o = e.place("BTCUSDT", "BUY", "LIMIT", 1200, 1000, "IOC", "ioc")
    assert (o.status, o.filled) == ("EXPIRED", 1000)
    assert [x for c, x, _ in r.events if c == "ioc"] == ["NEW", "TRADE", "EXPIRED"]
    o = e.place("BTCUSDT", "BUY", "LIMIT", 2500, 1001, "FOK", "fok")
    assert (o.status, o.filled) == ("EXPIRED", 0)
    assert e.markets["BTCUSDT"].levels(1) == [(1001, 2000)]
    o = e.place("BTCUSDT", "BUY", "LIMIT", 2000, 1001, "FOK", "fok2")
    assert (o.status, o.filled) == ("FILLED", 2000)


def test_post_only_rejects_when_crossing_and_rests_otherwise():
    e, _ = make()
    with pytest.raises(Reject) as ei:
        e.place("BTCUSDT", "BUY", "LIMIT", 100, 1000, "GTX", "p")
    assert ei.value.reason == "POST_ONLY"
    o = e.place("BTCUSDT", "BUY", "LIMIT", 200, 999, "GTX", "p2")
    assert o.status == "NEW" and o.ahead == 1000


def test_queue_position_and_price_time_priority():
    e, r = make()
    m = e.markets["BTCUSDT"]
    a = e.place("BTCUSDT", "BUY", "LIMIT", 300, 999, "GTC", "first")
    b = e.place("BTCUSDT", "BUY", "LIMIT", 300, 999, "GTC", "second")
    assert m.displayed(0, 999) == 1600
    e.market_trade(m, False, 800)          # 800 of the 1000 synthetic ahead
    assert a.filled == 0 and a.ahead == 200
    m.set_level(0, 999, 100)               # synthetic cancel: queue ahead shrinks to what is left
    assert a.ahead == 100
    e.market_trade(m, False, 250)          # 100 ahead, then 150 of 'first'
    assert (a.filled, b.filled) == (150, 0)
    e.market_trade(m, False, 300)          # 150 first, 150 second
    assert (a.status, b.filled) == ("FILLED", 150)
    assert all(f.maker for f in e.fills)
    assert e.fills[0].fee == Decimal("99.9") * Decimal("0.15") * Decimal("0.0002")
    # sweep through the price fills the rest at our price, then continues to 99.8
    printed = e.market_trade(m, False, 1000)
    assert b.status == "FILLED" and printed[0] == (999, 150) and printed[1][0] == 998


def test_self_trade_prevention_expires_taker():
    e, _ = make()
    e.place("BTCUSDT", "SELL", "LIMIT", 100, 1000, "GTC", "rest")      # joins ask 100.0
    o = e.place("BTCUSDT", "BUY", "LIMIT", 100, 1001, "GTC", "taker")
    assert o.status == "EXPIRED" and o.expire_reason == "EXPIRE_TAKER" and o.filled == 0


def test_reduce_only_and_margin_rejects():
    e, _ = make()
    with pytest.raises(Reject) as ei:
        e.place("BTCUSDT", "SELL", "LIMIT", 100, 1000, "GTC", "ro", reduce_only=True)
    assert ei.value.reason == "REDUCE_ONLY"
    with pytest.raises(Reject) as ei:
        e.place("BTCUSDT", "BUY", "LIMIT", 2_000_000, 900, "GTC", "big")   # 180k notional / 10x
    assert ei.value.reason == "MARGIN"
    e.place("BTCUSDT", "BUY", "LIMIT", 500, 1000, "IOC", "open")
    o = e.place("BTCUSDT", "SELL", "LIMIT", 900, 998, "IOC", "close", reduce_only=True)
    assert o.filled == 500 and e.positions["BTCUSDT"].amt == 0


def test_filters_reject_tick_lot_min_notional_and_duplicates():
    e, _ = make()
    m = e.markets["BTCUSDT"]
    assert (m.tick, m.lot) == (1, 1)
    e2 = Engine(VenueSpec("binance_usdm", symbols=[SymbolSpec("X", "0.5", "0.01", "0.02", "10", "100")]),
                True)
    for qty, px, reason in [(4, 201, "TICK_SIZE"), (0, 200, "QTY_ZERO"), (1, 200, "MIN_QTY"),
                            (4, 200, "MIN_NOTIONAL")]:
        with pytest.raises(Reject) as ei:
            e2.place("X", "BUY", "LIMIT", qty, px, "GTC", "x")
        assert ei.value.reason == reason
    with pytest.raises(Reject) as ei:
        e.place("NOPE", "BUY", "LIMIT", 100, 999, "GTC", "x")
    assert ei.value.reason == "UNKNOWN_SYMBOL"
    e.place("BTCUSDT", "BUY", "LIMIT", 200, 990, "GTC", "dup")
    with pytest.raises(Reject) as ei:
        e.place("BTCUSDT", "BUY", "LIMIT", 200, 990, "GTC", "dup")
    assert ei.value.reason == "DUPLICATE"


def test_cancel_amend_keep_or_lose_priority():
    e, r = make()
    m = e.markets["BTCUSDT"]
    a = e.place("BTCUSDT", "BUY", "LIMIT", 300, 999, "GTC", "a")
    b = e.place("BTCUSDT", "BUY", "LIMIT", 300, 999, "GTC", "b")
    e.amend("BTCUSDT", None, "a", qty=200)             # decrease keeps priority
    assert m.own[0][999] == [a, b] and m.displayed(0, 999) == 1500
    e.amend("BTCUSDT", None, "a", qty=400)             # increase goes to the back
    assert m.own[0][999] == [b, a]
    e.amend("BTCUSDT", None, "b", px=997)
    assert m.own[0][997] == [b] and b.ahead == 0
    c = e.cancel("BTCUSDT", client_id="b")
    assert c.status == "CANCELED" and 997 not in m.own[0]
    with pytest.raises(Reject):
        e.cancel("BTCUSDT", client_id="b")
    # amend through the spread trades as taker
    e.amend("BTCUSDT", None, "a", px=1000)
    assert a.filled == 400 and a.status == "FILLED"


def test_spot_balances_lock_and_settle():
    e, _ = make(futures=False, balances={"USDT": "1000", "BTC": "1"})
    with pytest.raises(Reject) as ei:
        e.place("BTCUSDT", "BUY", "LIMIT", 20_000, 999, "GTC", "toolarge")
    assert ei.value.reason == "BALANCE"
    o = e.place("BTCUSDT", "BUY", "LIMIT", 2000, 999, "GTC", "bid")
    assert e.locked["USDT"] == Decimal("199.8")
    m = e.markets["BTCUSDT"]
    e.market_trade(m, False, 3000)
    assert o.status == "FILLED" and e.locked["USDT"] == 0
    assert e.balances["USDT"] == Decimal("1000") - Decimal("199.8")
    assert e.balances["BTC"] == Decimal("1") + Decimal("2") - Decimal("2") * Decimal("0.0002")
    s = e.place("BTCUSDT", "SELL", "MARKET", 1000, client_id="sell")
    assert s.status == "FILLED"
    assert e.balances["BTC"] == Decimal("1") + Decimal("2") * Decimal("0.9998") - 1


def test_running_open_notional_matches_recomputation():
    e, _ = make()
    m = e.markets["BTCUSDT"]
    e.place("BTCUSDT", "BUY", "LIMIT", 300, 999, "GTC", "a")
    e.place("BTCUSDT", "BUY", "LIMIT", 400, 998, "GTC", "b")
    e.place("BTCUSDT", "SELL", "LIMIT", 200, 1001, "GTC", "c")
    e.amend("BTCUSDT", None, "b", qty=350)
    e.amend("BTCUSDT", None, "a", px=997)
    e.market_trade(m, False, 3100)          # partially fills b, then a
    e.cancel("BTCUSDT", client_id="c")

    def recompute(side: str) -> Decimal:
        return sum((m.px_dec(o.px) * m.sz_dec(o.leaves) for o in e.open_orders() if o.side == side), Decimal(0))
    assert e.open_notional.get(("BTCUSDT", "BUY"), 0) == recompute("BUY")
    assert e.open_notional.get(("BTCUSDT", "SELL"), 0) == recompute("SELL") == 0
    assert e.margin_notional == recompute("BUY")


def test_history_is_bounded_but_open_orders_are_kept(monkeypatch):
    e, _ = make()
    monkeypatch.setattr(Engine, "MAX_ORDERS", 10)
    keep = e.place("BTCUSDT", "BUY", "LIMIT", 200, 990, "GTC", "keep")
    for i in range(30):
        e.place("BTCUSDT", "BUY", "LIMIT", 200, 990, "GTC", f"c{i}")
        e.cancel("BTCUSDT", client_id=f"c{i}")
    assert len(e.orders) <= 12 and keep.order_id in e.orders
    assert e.find("BTCUSDT", client_id="keep") is keep


def test_synthetic_market_is_seeded_and_consistent():
    from engine.sim.market import SyntheticMarket

    def run(seed: int) -> tuple:
        e = Engine(VenueSpec("binance_usdm"), True)
        mk = SyntheticMarket(e, seed, 20)
        m = e.markets["BTCUSDT"]
        for _ in range(3000):
            mk.step(m)
            b, a = m.best(0), m.best(1)
            assert b is not None and a is not None and b < a          # never crossed
            assert len(m.mkt[0]) == len(m.mkt[1]) == 20
            assert all(sz > 0 and sz % m.lot == 0 for sz in m.mkt[0]._d.values())
        return tuple(m.levels(0)), tuple(m.levels(1)), m.update_id
    assert run(11) == run(11)
    assert run(11) != run(12)
