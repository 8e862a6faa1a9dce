# SPDX-License-Identifier: Apache-2.0
"""The classic signal bot in pure Python (PyStrategy): external score + funding-rate filter, market entries,
reduce-only market exits. Same logic as bots/signal_cy/strategy.pyx; each event costs a GIL round trip and a
dict (~1 µs) instead of a few ns."""
from __future__ import annotations

from engine.strategy import FLAG_REDUCE_ONLY, SIDE_BUY, SIDE_SELL, PyStrategy

SIG_FUNDING_RATE = 0
SIG_EXTERNAL = 6


class SignalStrategy(PyStrategy):
    def __init__(self, ctx=None, entry=0.5, exit=0.1, max_funding=0.0005, size="0.01", cooldown_ms=250):
        super().__init__(ctx)
        self.entry, self.exit, self.max_funding = float(entry), float(exit), float(max_funding)
        self.size = float(size)
        self.cooldown_ns = int(cooldown_ms) * 1_000_000
        if not (0 <= self.exit < self.entry <= 1) or self.size <= 0 or self.max_funding < 0:
            raise ValueError("need 0 <= exit < entry <= 1, size > 0, max_funding >= 0")
        self._next_ok_ns = 0
        self._lots: dict[int, int] = {}

    def on_quote_py(self, q):
        return self._decide(q["inst"], q["recv_ts_ns"])

    def on_book_py(self, inst):
        return self._decide(inst, 0)

    def _decide(self, inst: int, now: int):
        ctx = self.context
        score, score_ts = ctx.slow(inst, SIG_EXTERNAL)
        if score_ts == 0 or (now and now < self._next_ok_ns):
            return None
        p = ctx.position(inst)
        if p["open_orders"] > 0:
            return None
        sz = self._lots.get(inst)
        if sz is None:
            ins = ctx.instrument(inst)
            lot = ins.lot_units
            sz = self._lots[inst] = max(1, int(self.size * 10 ** ins.sz_exp) // lot) * lot
        funding, _ = ctx.slow(inst, SIG_FUNDING_RATE)
        pos = p["sz"]
        cid = 0
        if pos == 0:
            if score >= self.entry and funding <= self.max_funding:
                cid = self.market(inst, SIDE_BUY, sz)
            elif score <= -self.entry and funding >= -self.max_funding:
                cid = self.market(inst, SIDE_SELL, sz)
        elif pos > 0 and score < self.exit:
            cid = self.market(inst, SIDE_SELL, pos, FLAG_REDUCE_ONLY)
        elif pos < 0 and score > -self.exit:
            cid = self.market(inst, SIDE_BUY, -pos, FLAG_REDUCE_ONLY)
        if cid and now:
            self._next_ok_ns = now + self.cooldown_ns
        return None
