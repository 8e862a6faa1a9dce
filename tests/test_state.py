# SPDX-License-Identifier: Apache-2.0
"""Order state machine, fill dedupe, positions and PnL of engine.state."""
from __future__ import annotations

import pytest

from engine.instruments import InstrumentTable, Venue
from engine.state import (CANCELED, FILLED, NEW, PARTIALLY_FILLED, PENDING_NEW, REJECTED, UNKNOWN,
                          Fill, State, StateError)


class FakeCtx:
    """Records what State pushes into the compiled Context."""

    def __init__(self) -> None:
        self.pos: dict[int, tuple] = {}
        self.open: dict[int, tuple] = {}

    def set_position(self, inst, sz, avg_px, realised_pnl, fees, funding):
        self.pos[inst] = (sz, avg_px, realised_pnl, fees, funding)

    def set_open_orders(self, inst, count, buy_sz, sell_sz):
        self.open[inst] = (count, buy_sz, sell_sz)


@pytest.fixture
def env():
    t = InstrumentTable()
    btc = t.add(Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
    eth = t.add(Venue.OKX, "ETH-USDT-SWAP", "0.01", "1", contract_mult=0.1)
    events: list[tuple[str, dict]] = []
    ctx = FakeCtx()
    st = State(t, sink=lambda k, d: events.append((k, d)), ctx=ctx)
    return st, btc, eth, events, ctx


def _order(st, btc, oid="hp1x1", cid=1, side=1, px=500000, sz=1000):
    return st.new_order(oid, cid, int(btc.venue), btc.id, side, 1, 1, 0, px, sz)


def test_lifecycle_forward_only(env):
    st, btc, _, events, ctx = env
    o = _order(st, btc)
    assert o.status == PENDING_NEW and ctx.open[btc.id] == (1, 1000, 0)
    assert st.update_order("hp1x1", NEW, venue_order_id="77")
    assert o.status == NEW and o.venue_order_id == "77"
    assert not st.update_order("hp1x1", PENDING_NEW)         # never backwards
    assert st.update_order("hp1x1", PARTIALLY_FILLED, filled_sz=400)
    assert ctx.open[btc.id] == (1, 600, 0)
    assert not st.update_order("hp1x1", NEW, filled_sz=300)    # stale report
    assert o.filled_sz == 400 and o.status == PARTIALLY_FILLED
    assert st.update_order("hp1x1", CANCELED)
    assert ctx.open[btc.id] == (0, 0, 0)
    assert not st.update_order("hp1x1", NEW)                  # terminal is final
    assert o.status == CANCELED
    assert [k for k, _ in events].count("order") == 4


def test_unknown_then_resolved(env):
    st, btc, _, _, _ = env
    o = _order(st, btc)
    st.update_order(o.client_oid, UNKNOWN)
    assert o.status == UNKNOWN and o.live
    st.update_order(o.client_oid, NEW)
    assert o.status == NEW
    st.update_order(o.client_oid, UNKNOWN)
    st.update_order(o.client_oid, REJECTED, reason="-2010")
    assert o.status == REJECTED and st.rejects.by_reason == {"-2010": 1}


def test_bad_input(env):
    st, btc, _, _, _ = env
    with pytest.raises(StateError):
        st.new_order("x", 1, int(btc.venue), 99, 1, 1, 1, 0, 1, 1)
    with pytest.raises(StateError):
        st.new_order("x", 1, int(Venue.OKX), btc.id, 1, 1, 1, 0, 1, 1)   # wrong venue
    with pytest.raises(StateError):
        st.new_order("x", 1, int(btc.venue), btc.id, 1, 1, 1, 0, 1, 0)
    _order(st, btc)
    with pytest.raises(StateError):
        _order(st, btc)                                       # duplicate client id
    with pytest.raises(StateError):
        st.update_order("nope", NEW)
    with pytest.raises(StateError):
        st.update_order("hp1x1", "weird")
    with pytest.raises(StateError):
        st.apply_fill(Fill(2, "t", "hp1x1", btc.id, 1, 0, 1, 0.0))
    with pytest.raises(StateError):
        st.apply_fill(Fill(2, "t", "hp1x1", btc.id, 1, 1, 1, float("nan")))


def test_fills_dedupe_positions_pnl(env):
    st, btc, _, _, ctx = env
    o = _order(st, btc, sz=2000)
    v = int(btc.venue)
    # buy 1.0 @ 50000 and 1.0 @ 50100 (fees 1 each)
    assert st.apply_fill(Fill(v, "1", o.client_oid, btc.id, 1, 500000, 1000, 1.0))
    assert not st.apply_fill(Fill(v, "1", o.client_oid, btc.id, 1, 500000, 1000, 1.0))
    assert st.duplicate_fills == 1
    assert o.status == PARTIALLY_FILLED and o.filled_sz == 1000
    st.update_order(o.client_oid, PARTIALLY_FILLED, filled_sz=1000)   # report after fill: no double count
    assert st.apply_fill(Fill(v, "2", o.client_oid, btc.id, 1, 501000, 1000, 1.0))
    assert o.status == FILLED and o.filled_sz == 2000
    p = st.positions[btc.id]
    assert p.sz == 2000 and p.avg_px == pytest.approx(50050.0)
    # sell 3.0 @ 50200: closes 2.0 (+300 pnl) and opens 1.0 short @ 50200
    s = _order(st, btc, oid="hp1x2", cid=2, side=-1, px=502000, sz=3000)
    st.apply_fill(Fill(v, "3", s.client_oid, btc.id, -1, 502000, 3000, 2.0))
    assert p.sz == -1000 and p.avg_px == pytest.approx(50200.0)
    assert p.realised_pnl == pytest.approx(300.0 - 4.0)
    assert p.fees == pytest.approx(4.0)
    assert st.unrealised(btc.id, 50100.0) == pytest.approx(100.0)
    st.apply_funding(btc.id, -1.5, 0)
    assert p.funding == -1.5 and p.realised_pnl == pytest.approx(294.5)
    pnl = st.pnl({btc.id: 50100.0})
    assert pnl["total"] == pytest.approx(394.5)
    assert ctx.pos[btc.id][0] == -1000


def test_contract_multiplier(env):
    st, _, eth, _, _ = env
    o = st.new_order("a", 1, int(eth.venue), eth.id, 1, 1, 1, 0, 300000, 10)
    st.apply_fill(Fill(int(eth.venue), "t1", o.client_oid, eth.id, 1, 300000, 10, 0.0))
    st.apply_fill(Fill(int(eth.venue), "t2", "", eth.id, -1, 301000, 10, 0.0))   # foreign fill
    # 10 contracts * 0.1 ETH * 10 USDT
    assert st.positions[eth.id].realised_pnl == pytest.approx(10.0)
    assert st.positions[eth.id].sz == 0 and st.positions[eth.id].avg_px == 0.0


def test_restore_roundtrip(env):
    st, btc, eth, events, _ = env
    o = _order(st, btc)
    st.apply_fill(Fill(int(btc.venue), "9", o.client_oid, btc.id, 1, 500000, 400, 0.1))
    orders = [d for k, d in events if k == "order"]
    positions = [d for k, d in events if k == "position"]
    st2 = State([btc, eth])
    st2.restore([orders[-1]], [(int(btc.venue), "9")], [positions[-1]])
    assert st2.orders[o.client_oid].filled_sz == 400
    assert st2.positions[btc.id].sz == 400
    assert not st2.apply_fill(Fill(int(btc.venue), "9", o.client_oid, btc.id, 1, 500000, 400, 0.1))
