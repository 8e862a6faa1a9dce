# SPDX-License-Identifier: Apache-2.0
"""Venue protocol servers of the simulated exchange, by venue key."""
from __future__ import annotations

from engine.sim.venues.binance import BinanceSpot, BinanceUsdm
from engine.sim.venues.bitget import Bitget
from engine.sim.venues.bybit import Bybit
from engine.sim.venues.okx import Okx

VENUE_CLASSES: dict[str, type] = {
    "binance_spot": BinanceSpot,
    "binance_usdm": BinanceUsdm,
    "bybit": Bybit,
    "okx": Okx,
    "bitget": Bitget,
}
