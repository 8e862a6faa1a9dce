# SPDX-License-Identifier: Apache-2.0
"""Venue registry: venue -> market-data adapter class, plus endpoint presets per environment.

``make_adapter("okx", env="mainnet")`` or ``make_adapter("bybit", endpoints=Endpoints(...))``; the ``sim``
environment takes its endpoints from a running ``engine.sim.SimExchange`` (``sim_endpoints(ex)``)."""
from __future__ import annotations

from typing import Any

from engine.errors import ConfigError
from engine.exchanges.base import (CHANNELS, Cold, Endpoints, MarketAdapter, RateLimiter, Snapshot,
                                   Stream)
from engine.exchanges.binance.market import BinanceSpotMarket, BinanceUsdmMarket
from engine.exchanges.bitget.market import BitgetMarket
from engine.exchanges.bybit.market import BybitMarket
from engine.exchanges.okx.market import OkxMarket
from engine.instruments import Venue

MARKET_ADAPTERS: dict[Venue, type[MarketAdapter]] = {
    Venue.BINANCE_SPOT: BinanceSpotMarket,
    Venue.BINANCE_USDM: BinanceUsdmMarket,
    Venue.BYBIT: BybitMarket,
    Venue.OKX: OkxMarket,
    Venue.BITGET: BitgetMarket,
}

#: Public endpoints per venue and environment. Bybit's ``{category}`` is spot / linear / inverse.
#: Demo trading on Bybit and Bitget uses the mainnet public streams; OKX demo has its own host.
PRESETS: dict[Venue, dict[str, Endpoints]] = {
    Venue.BINANCE_SPOT: {
        "mainnet": Endpoints(rest="https://api.binance.com", ws_public="wss://stream.binance.com:9443",
                             ws_trade="wss://ws-api.binance.com:443/ws-api/v3"),
        "testnet": Endpoints(rest="https://testnet.binance.vision", ws_public="wss://stream.testnet.binance.vision",
                             ws_trade="wss://ws-api.testnet.binance.vision/ws-api/v3"),
    },
    Venue.BINANCE_USDM: {
        "mainnet": Endpoints(rest="https://fapi.binance.com", ws_public="wss://fstream.binance.com"),
        "testnet": Endpoints(rest="https://testnet.binancefuture.com", ws_public="wss://stream.binancefuture.com"),
    },
    Venue.BYBIT: {
        "mainnet": Endpoints(rest="https://api.bybit.com", ws_public="wss://stream.bybit.com/v5/public/{category}",
                             ws_private="wss://stream.bybit.com/v5/private", ws_trade="wss://stream.bybit.com/v5/trade"),
        "testnet": Endpoints(rest="https://api-testnet.bybit.com",
                             ws_public="wss://stream-testnet.bybit.com/v5/public/{category}",
                             ws_private="wss://stream-testnet.bybit.com/v5/private",
                             ws_trade="wss://stream-testnet.bybit.com/v5/trade"),
        "demo": Endpoints(rest="https://api-demo.bybit.com", ws_public="wss://stream.bybit.com/v5/public/{category}",
                          ws_private="wss://stream-demo.bybit.com/v5/private"),
    },
    Venue.OKX: {
        "mainnet": Endpoints(rest="https://www.okx.com", ws_public="wss://ws.okx.com:8443/ws/v5/public",
                             ws_private="wss://ws.okx.com:8443/ws/v5/private"),
        "demo": Endpoints(rest="https://www.okx.com", ws_public="wss://wspap.okx.com:8443/ws/v5/public",
                          ws_private="wss://wspap.okx.com:8443/ws/v5/private"),
    },
    Venue.BITGET: {
        "mainnet": Endpoints(rest="https://api.bitget.com", ws_public="wss://ws.bitget.com/v2/ws/public",
                             ws_private="wss://ws.bitget.com/v2/ws/private"),
        "demo": Endpoints(rest="https://api.bitget.com", ws_public="wss://ws.bitget.com/v2/ws/public",
                          ws_private="wss://ws.bitget.com/v2/ws/private"),
    },
}


def endpoints_for(venue: Venue | str, env: str = "mainnet", sim: Any = None) -> Endpoints:
    """Preset endpoints: ``env`` mainnet / testnet / demo, or ``sim`` with a running SimExchange."""
    v = Venue.parse(venue) if isinstance(venue, str) else venue
    if env == "sim":
        if sim is None:
            raise ConfigError("the sim environment needs a running engine.sim.SimExchange (sim=...)")
        return sim_endpoints(sim, v)
    try:
        return PRESETS[v][env]
    except KeyError:
        raise ConfigError(f"{v.key} has no {env!r} environment; choose one of "
                          f"{', '.join(PRESETS[v])} or give endpoints explicitly") from None


def sim_endpoints(sim: Any, venue: Venue | str) -> Endpoints:
    """Endpoints of a running ``engine.sim.SimExchange`` for ``venue``."""
    v = Venue.parse(venue) if isinstance(venue, str) else venue
    return Endpoints.from_dict(sim.endpoints(v.key))


def make_adapter(venue: Venue | str, env: str = "mainnet", endpoints: Endpoints | None = None,
                 sim: Any = None) -> MarketAdapter:
    """Market-data adapter of ``venue`` on explicit ``endpoints`` or the ``env`` preset."""
    v = Venue.parse(venue) if isinstance(venue, str) else venue
    return MARKET_ADAPTERS[v](endpoints or endpoints_for(v, env, sim))


__all__ = ["CHANNELS", "Cold", "Endpoints", "MarketAdapter", "RateLimiter", "Snapshot", "Stream",
           "MARKET_ADAPTERS", "PRESETS", "endpoints_for", "sim_endpoints", "make_adapter",
           "BinanceSpotMarket", "BinanceUsdmMarket", "BybitMarket", "OkxMarket", "BitgetMarket"]
