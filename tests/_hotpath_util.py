# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the hotpath (risk/strategy/pipeline/build) tests."""
from __future__ import annotations

from engine.instruments import Instrument, Venue

BTC = Instrument(0, Venue.BINANCE_SPOT, "BTCUSDT", "0.01", "0.00001")
ETH_PERP = Instrument(1, Venue.BINANCE_USDM, "ETHUSDT", "0.01", "0.001")


def new_intent(inst: int = 0, side: int = 1, px: int = 6_500_000, sz: int = 100, *,
               kind: int = 1, ord_type: int = 1, tif: int = 1, flags: int = 0,
               target_id: int = 0) -> dict:
    return {"kind": kind, "inst": inst, "side": side, "ord_type": ord_type, "tif": tif,
            "flags": flags, "px": px, "sz": sz, "target_id": target_id}


def build_test_strategy(name: str, cache_dir):
    """Compile tests/strategies/<name>.pyx into ``cache_dir`` (a pytest tmp dir) and import it."""
    import os
    from pathlib import Path

    from engine.build import compile_strategy

    old = os.environ.get("HOTPATH_CACHE_DIR")
    os.environ["HOTPATH_CACHE_DIR"] = str(cache_dir)
    try:
        return compile_strategy(Path(__file__).parent / "strategies" / f"{name}.pyx")
    finally:
        if old is None:
            del os.environ["HOTPATH_CACHE_DIR"]
        else:
            os.environ["HOTPATH_CACHE_DIR"] = old
