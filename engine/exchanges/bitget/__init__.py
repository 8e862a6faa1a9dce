# SPDX-License-Identifier: Apache-2.0
"""Bitget v2 adapters."""
from engine.exchanges.bitget.market import BitgetMarket

__all__ = ["BitgetMarket"]
