# SPDX-License-Identifier: Apache-2.0
"""Benchmark strategy in pure Python (PyStrategy): same decision as bots/bench/strategy.pyx."""
from __future__ import annotations

from engine.strategy import TIF_IOC, PyStrategy


class BenchStrategy(PyStrategy):
    def __init__(self, ctx=None, every=10):
        super().__init__(ctx)
        self.every = int(every)
        self.orders = 0
        self._lot: dict[int, int] = {}

    def on_quote_py(self, q):
        if q["update_id"] % self.every == 0:
            inst = q["inst"]
            lot = self._lot.get(inst)
            if lot is None:
                lot = self._lot[inst] = self.context.instrument(inst).lot_units
            self.buy(inst, q["bid_px"], lot, TIF_IOC)
            self.orders += 1
