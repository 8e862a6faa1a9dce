# SPDX-License-Identifier: Apache-2.0
"""Binance spot + USD-M futures adapters."""
from engine.exchanges.binance.market import BinanceSpotMarket, BinanceUsdmMarket

__all__ = ["BinanceSpotMarket", "BinanceUsdmMarket"]
