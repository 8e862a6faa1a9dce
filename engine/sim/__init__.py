# SPDX-License-Identifier: Apache-2.0
"""Simulated exchange on loopback speaking the venues' real wire protocols.

``async with SimExchange(SimConfig(venues=["binance_usdm"])) as ex:`` starts one aiohttp server
per venue on 127.0.0.1 (ephemeral ports); ``ex.endpoints(key)`` gives its URLs. See README.md in
this folder for the protocols covered, the fill model and the fault names.

Independence: nothing here imports the engine's adapters, feed, router, bot, pipeline or strategy.
"""
from __future__ import annotations

from engine.sim.config import SimConfig, SymbolSpec, VenueSpec
from engine.sim.server import SimExchange

__all__ = ["SimConfig", "SimExchange", "SymbolSpec", "VenueSpec", "main"]


def main(argv: list[str] | None = None) -> int:
    """Process mode (``python -m engine.sim`` / ``hotpath sim``)."""
    from engine.sim.__main__ import main as _main
    return _main(argv)
