# SPDX-License-Identifier: Apache-2.0
"""Bybit v5 adapters."""
from engine.exchanges.bybit.market import BybitMarket

__all__ = ["BybitMarket"]
