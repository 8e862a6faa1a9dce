# SPDX-License-Identifier: Apache-2.0
"""Venue registry: venue -> market-data adapter class, plus endpoint presets per environment.

``make_adapter("okx", env="mainnet")`` or ``make_adapter("bybit", endpoints=Endpoints(...))``; the ``sim``
environment takes its endpoints from a running ``engine.sim.SimExchange`` (``sim_endpoints(ex)``)."""
from __future__ import annotations

import dataclasses
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

#: Endpoints per venue and environment: the one table of where each venue lives. ``engine.config``
#: derives its ``ENDPOINT_PRESETS`` (TOML presets mainnet / testnet) from it; edit URLs here only.
#: Bybit's ``{category}`` is spot / linear / inverse. ``ws_private`` is the user-data connection:
#: Binance spot's user data comes over the WS API (ws_private == ws_trade); Binance USD-M's is the
#: listenKey stream ``<stream host>/ws/<listenKey>`` (ws_private is the ``/ws`` base). ``ws_trade`` is
#: where WS orders go, set exactly for venues with a WS order API: OKX places orders on its private
#: socket; Bitget trades over REST; Bybit demo has no WS Trade. Demo trading on Bybit and Bitget uses
#: the mainnet public streams; OKX demo has its own WS host (REST: same host plus the header
#: ``x-simulated-trading: 1``); Bitget demo uses production hosts with S-prefixed product types.
PRESETS: dict[Venue, dict[str, Endpoints]] = {
    Venue.BINANCE_SPOT: {
        "mainnet": Endpoints(rest="https://api.binance.com", ws_public="wss://stream.binance.com:9443",
                             ws_private="wss://ws-api.binance.com:443/ws-api/v3",
                             ws_trade="wss://ws-api.binance.com:443/ws-api/v3"),
        "testnet": Endpoints(rest="https://testnet.binance.vision", ws_public="wss://stream.testnet.binance.vision",
                             ws_private="wss://ws-api.testnet.binance.vision/ws-api/v3",
                             ws_trade="wss://ws-api.testnet.binance.vision/ws-api/v3"),
    },
    Venue.BINANCE_USDM: {
        "mainnet": Endpoints(rest="https://fapi.binance.com", ws_public="wss://fstream.binance.com",
                             ws_private="wss://fstream.binance.com/ws",
                             ws_trade="wss://ws-fapi.binance.com/ws-fapi/v1"),
        "testnet": Endpoints(rest="https://testnet.binancefuture.com", ws_public="wss://stream.binancefuture.com",
                             ws_private="wss://stream.binancefuture.com/ws",
                             ws_trade="wss://testnet.binancefuture.com/ws-fapi/v1"),
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
                             ws_private="wss://ws.okx.com:8443/ws/v5/private",
                             ws_trade="wss://ws.okx.com:8443/ws/v5/private"),
        "demo": Endpoints(rest="https://www.okx.com", ws_public="wss://wspap.okx.com:8443/ws/v5/public",
                          ws_private="wss://wspap.okx.com:8443/ws/v5/private",
                          ws_trade="wss://wspap.okx.com:8443/ws/v5/private"),
    },
    Venue.BITGET: {
        "mainnet": Endpoints(rest="https://api.bitget.com", ws_public="wss://ws.bitget.com/v2/ws/public",
                             ws_private="wss://ws.bitget.com/v2/ws/private"),
        "demo": Endpoints(rest="https://api.bitget.com", ws_public="wss://ws.bitget.com/v2/ws/public",
                          ws_private="wss://ws.bitget.com/v2/ws/private"),
    },
}

#: Which environment of :data:`PRESETS` each TOML config preset means, first one a venue has:
#: the config's ``testnet`` is the demo environment on venues without a testnet (OKX, Bitget).
CONFIG_ENVS: dict[str, tuple[str, ...]] = {"mainnet": ("mainnet",), "testnet": ("testnet", "demo")}


def config_presets() -> dict[str, dict[str, dict[str, str]]]:
    """The config view of :data:`PRESETS`: ``{preset: {venue key: {rest, ws_public, ws_private,
    ws_trade}}}`` for every preset in :data:`CONFIG_ENVS` (``engine.config.ENDPOINT_PRESETS``)."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for preset, envs in CONFIG_ENVS.items():
        out[preset] = {}
        for v, by_env in PRESETS.items():
            env = next((e for e in envs if e in by_env), None)
            if env is None:
                raise ConfigError(f"{v.key} has none of the environments {', '.join(envs)} "
                                  f"for the {preset!r} config preset")
            out[preset][v.key] = dataclasses.asdict(by_env[env])
    return out


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
           "MARKET_ADAPTERS", "PRESETS", "CONFIG_ENVS", "config_presets", "endpoints_for", "sim_endpoints", "make_adapter",
           "BinanceSpotMarket", "BinanceUsdmMarket", "BybitMarket", "OkxMarket", "BitgetMarket"]
