# SPDX-License-Identifier: Apache-2.0
"""Cross-venue monitor: one strategy fed by Binance USD-M, Bybit, OKX and Bitget books on one event loop.

On every book/quote update of any venue it reads the top of every instrument from the shared Context and
tracks the widest cross-venue edge: the highest bid anywhere against the lowest ask anywhere (bps of mid).
It does not trade; it is the starting point for a multi-venue strategy and the check that all feeds arrive."""
from __future__ import annotations

from engine.strategy import PyStrategy


class CrossVenueMonitor(PyStrategy):
    def __init__(self, ctx=None, alert_bps: float = 5.0):
        super().__init__(ctx)
        self.alert_bps = float(alert_bps)
        self.updates: dict[int, int] = {}          # inst id -> book/quote updates received
        self.best_edge_bps = float("-inf")         # widest (best bid anywhere - best ask anywhere) / mid seen
        self.alerts = 0                            # updates where that edge exceeded alert_bps

    def on_book_py(self, inst):
        self._update(inst)

    def on_quote_py(self, q):
        self._update(q["inst"])

    def _update(self, inst: int) -> None:
        self.updates[inst] = self.updates.get(inst, 0) + 1
        ctx = self.context
        best_bid = best_ask = None
        for i in range(ctx.n_instruments):
            t = ctx.top(i)
            if not t["valid"] or t["bid_px"] <= 0 or t["ask_px"] <= 0:
                continue
            scale = 10.0 ** -ctx.instrument(i).px_exp
            bid, ask = t["bid_px"] * scale, t["ask_px"] * scale
            best_bid = bid if best_bid is None or bid > best_bid else best_bid
            best_ask = ask if best_ask is None or ask < best_ask else best_ask
        if best_bid is None or best_ask is None:
            return
        edge = (best_bid - best_ask) / ((best_bid + best_ask) * 0.5) * 1e4
        if edge > self.best_edge_bps:
            self.best_edge_bps = edge
        if edge > self.alert_bps:
            self.alerts += 1
