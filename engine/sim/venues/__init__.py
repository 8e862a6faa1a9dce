# SPDX-License-Identifier: Apache-2.0
"""Venue protocol servers of the simulated exchange, by venue key."""
from __future__ import annotations

from engine.sim.venues.binance import BinanceSpot, BinanceUsdm

VENUE_CLASSES: dict[str, type] = {
    "binance_spot": BinanceSpot,
    "binance_usdm": BinanceUsdm,
}
