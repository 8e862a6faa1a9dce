# SPDX-License-Identifier: Apache-2.0
"""OKX demo trading: it shares the production REST host and is told apart only by the
``x-simulated-trading: 1`` header on every REST request (exchange-protocols.md §OKX). The adapter
recognises the demo by its WebSocket host (wspap.okx.com) and sends the header on compiled order
requests and on every other signed request; production requests never carry it."""
from __future__ import annotations

import pytest

from engine.clock_sync import ClockSync
from engine.exchanges import PRESETS
from engine.instruments import InstrumentTable, Venue
from engine.router import adapter_class
from engine.state import Order


def _adapter(env: str):
    t = InstrumentTable()
    ins = t.add(Venue.OKX, "BTC-USDT-SWAP", "0.1", "1", min_qty="1", contract_mult="0.01")
    ad = adapter_class(Venue.OKX)(PRESETS[Venue.OKX][env], "key", "secret", "phrase", list(t), ClockSync())
    ad.attach_encoders("t1")
    order = Order(client_oid="hpt1Z1", client_id=1, venue=int(Venue.OKX), inst=ins.id, side=1, ord_type=1, tif=1,
                  flags=0, px=500_000, sz=2)
    return ad, order


@pytest.mark.parametrize(("env", "demo"), [("demo", True), ("mainnet", False)])
def test_demo_requests_carry_the_simulated_trading_header(env, demo):
    ad, order = _adapter(env)
    assert ad.simulated is demo
    place, cancel = ad.place(order), ad.cancel(order)
    for req in (place, cancel):
        assert ("x-simulated-trading" in req.headers) is demo, (env, req.path, req.headers)
        if demo:
            assert req.headers["x-simulated-trading"] == "1"
        assert req.headers["OK-ACCESS-KEY"] == "key" and req.headers["OK-ACCESS-SIGN"]
    assert place.path == "/api/v5/trade/order" and cancel.path == "/api/v5/trade/cancel-order"
