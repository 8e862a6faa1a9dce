# SPDX-License-Identifier: Apache-2.0
"""OKX v5 adapters."""
from engine.exchanges.okx.market import OkxMarket

__all__ = ["OkxMarket"]
