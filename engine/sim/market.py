# SPDX-License-Identifier: Apache-2.0
"""Seeded synthetic market process: a consistent L2 book per instrument that moves by trades,
size changes, cancels at the touch and new levels inside the spread.

Every change goes through ``Market.set_level`` (so update ids, depth trackers and the queue
position of our resting orders stay consistent) and every synthetic trade through
``Engine.market_trade`` (so our resting orders fill by the documented fill model). The same seed
gives the same sequence of events for the same sequence of our orders.
"""
from __future__ import annotations

import random

from engine.sim.matching import Engine, Market, to_units


class SyntheticMarket:
    """Drives the books of one venue's engine.

    Parameters
    ----------
    engine: the venue's matching engine (its ``markets`` are driven).
    seed: base seed; each instrument gets its own ``random.Random(f"{seed}:{venue}:{symbol}")``.
    depth_levels: synthetic levels kept per side.
    probe: latency-probe mode, every event changes the best bid or ask (one bookTicker each).
    """

    P_TRADE = 0.22
    P_SIZE = 0.50

    def __init__(self, engine: Engine, seed: int, depth_levels: int, probe: bool = False) -> None:
        self.engine = engine
        self.depth = depth_levels
        self.probe = probe
        self.rng: dict[str, random.Random] = {}
        self.lvl: dict[str, int] = {}
        self.events = 0
        for sym, m in engine.markets.items():
            self.rng[sym] = random.Random(f"{seed}:{engine.spec.key}:{sym}")
            lvl = max(m.lot, to_units(m.spec.level_size, m.sz_exp) // m.lot * m.lot)
            self.lvl[sym] = lvl
            self._init_book(m)

    def _size(self, m: Market) -> int:
        r = self.rng[m.symbol]
        lvl = self.lvl[m.symbol]
        n = r.randint(1, 2 * lvl // m.lot) if lvl >= m.lot else 1
        return n * m.lot

    def _init_book(self, m: Market) -> None:
        mid = m.mark_px // m.tick * m.tick
        for i in range(self.depth):
            m.set_level(0, mid - (i + 1) * m.tick, self._size(m))
            m.set_level(1, mid + i * m.tick + m.tick, self._size(m))

    def step(self, m: Market) -> list[tuple[int, int, bool]]:
        """One market event; returns the synthetic trades printed as (px, qty, aggressor_buy)."""
        self.events += 1
        r = self.rng[m.symbol]
        trades: list[tuple[int, int, bool]] = []
        if self.probe:
            side = self.events & 1
            best = m.mkt[side].peekitem(-1 if side == 0 else 0)[0] if m.mkt[side] else None
            if best is not None:
                m.set_level(side, best, self._size(m))
            if self.events % 16 == 0:
                self._shift(m, r)
            self._maintain(m)
            return trades
        x = r.random()
        if x < self.P_TRADE:
            buy = r.random() < 0.5
            side = 1 if buy else 0
            best = m.best(side)
            if best is not None:
                shown = m.displayed(side, best)
                qty = max(m.lot, int(shown * r.uniform(0.1, 1.3)) // m.lot * m.lot)
                for px, q in self.engine.market_trade(m, buy, qty):
                    trades.append((px, q, buy))
        elif x < self.P_TRADE + self.P_SIZE:
            side = r.randint(0, 1)
            book = m.mkt[side]
            if book:
                i = min(len(book) - 1, int(r.expovariate(0.25)))
                px = book.peekitem(-1 - i if side == 0 else i)[0]
                m.set_level(side, px, self._size(m))
        else:
            self._shift(m, r)
        self._maintain(m)
        return trades

    def _shift(self, m: Market, r: random.Random) -> None:
        side = r.randint(0, 1)
        bb, ba = m.best(0), m.best(1)
        if bb is None or ba is None:
            return
        if ba - bb > m.tick and r.random() < min(0.97, 0.55 + 0.15 * ((ba - bb) // m.tick)):
            # a new level inside the spread
            px = bb + m.tick if side == 0 else ba - m.tick
            m.set_level(side, px, self._size(m))
        else:
            book = m.mkt[side]
            if len(book) > 2:
                px = book.peekitem(-1 if side == 0 else 0)[0]
                m.set_level(side, px, 0)

    def _maintain(self, m: Market) -> None:
        for side in (0, 1):
            book = m.mkt[side]
            while len(book) > self.depth:
                px = book.peekitem(0 if side == 0 else -1)[0]
                m.set_level(side, px, 0)
            while len(book) < self.depth:
                if book:
                    far = book.peekitem(0 if side == 0 else -1)[0]
                else:
                    other = m.best(1 - side)
                    far = (other if other is not None else m.mark_px)
                px = far - m.tick if side == 0 else far + m.tick
                if px <= 0:
                    break
                m.set_level(side, px, self._size(m))
        # keep the mark price near the market
        m.mark_px = m.mid()
