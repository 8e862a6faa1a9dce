# SPDX-License-Identifier: Apache-2.0
"""Helpers for the example-bot tests: compiled bot modules (engine.build cache) and a small Context."""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from engine.instruments import InstrumentTable, Venue

ROOT = Path(__file__).resolve().parent.parent
BOTS = ROOT / "bots"


@functools.lru_cache(maxsize=None)
def bot_module(name: str):
    """The strategy module of bots/<name>: compiled .pyx (engine.build) or imported .py."""
    d = BOTS / name
    if (d / "strategy.pyx").exists():
        from engine.build import compile_strategy

        return compile_strategy(d / "strategy.pyx")
    spec = importlib.util.spec_from_file_location(f"bots_{name}_strategy", d / "strategy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def child_env() -> dict[str, str]:
    """Environment for ``python -m engine.cli`` subprocesses: the same import path as this test process
    (works for a source checkout and for an installed wheel alike)."""
    import os
    import sys

    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), HOTPATH_PROJECT_DIR=str(ROOT))


def two_venue_ctx():
    """Context with Binance USD-M BTCUSDT (id 0) and OKX BTC-USDT-SWAP (id 1, 0.01 BTC contracts)."""
    from engine.strategy import Context

    t = InstrumentTable()
    t.add(Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001", min_qty="0.001")
    t.add(Venue.OKX, "BTC-USDT-SWAP", "0.1", "0.01", min_qty="0.01", contract_mult=0.01)
    ctx = Context()
    for inst in t:
        ctx.add_instrument(inst)
    return ctx, t
