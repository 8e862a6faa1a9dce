# SPDX-License-Identifier: Apache-2.0
"""Configuration of the simulated exchange: venues, instruments, market process, fees, balances,
credentials and faults. Plain dataclasses; ``SimConfig.default()`` gives a ready-to-run setup."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

VENUE_KEYS = ("binance_spot", "binance_usdm", "bybit", "okx", "bitget")
DEFAULT_API_KEY = "hotpath-demo-key"
DEFAULT_SECRET = "hotpath-demo-secret"
DEFAULT_PASSPHRASE = "hotpath-demo"


@dataclass
class SymbolSpec:
    """One instrument as the venue spells it, with its filters and the synthetic start price."""

    symbol: str
    tick_size: str = "0.10"
    lot_size: str = "0.001"
    min_qty: str = "0.001"
    min_notional: str = "5"
    start_price: str = "50000"
    base: str = "BTC"
    quote: str = "USDT"
    contract_mult: str = "1"      # base units per 1.0 of size (OKX swaps: ctVal)
    level_size: str = "1"         # typical synthetic size per level (decimal string)
    px_decimals: int = -1         # decimals printed for prices (default: decimals of tick)
    sz_decimals: int = -1         # decimals printed for sizes (default: decimals of lot)

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size", "min_qty", "min_notional", "start_price",
                     "contract_mult", "level_size"):
            v = Decimal(getattr(self, name))
            if not v.is_finite() or v < 0:
                raise ValueError(f"{self.symbol}: {name} must be a finite non-negative decimal")
        if Decimal(self.tick_size) <= 0 or Decimal(self.lot_size) <= 0:
            raise ValueError(f"{self.symbol}: tick_size and lot_size must be > 0")


def _dec(step: str) -> int:
    exp = Decimal(step).normalize().as_tuple().exponent
    return max(0, -int(exp))


DEFAULT_SYMBOLS: dict[str, list[SymbolSpec]] = {
    "binance_usdm": [
        SymbolSpec("BTCUSDT", "0.10", "0.001", "0.001", "100", "50000", level_size="2"),
        SymbolSpec("ETHUSDT", "0.01", "0.001", "0.001", "20", "3000", base="ETH", level_size="20"),
    ],
    "binance_spot": [
        SymbolSpec("BTCUSDT", "0.01", "0.00001", "0.00001", "5", "50000", level_size="2",
                   px_decimals=8, sz_decimals=8),
        SymbolSpec("ETHUSDT", "0.01", "0.0001", "0.0001", "5", "3000", base="ETH", level_size="20",
                   px_decimals=8, sz_decimals=8),
    ],
    "bybit": [
        SymbolSpec("BTCUSDT", "0.10", "0.001", "0.001", "5", "50000", level_size="2"),
        SymbolSpec("ETHUSDT", "0.01", "0.01", "0.01", "5", "3000", base="ETH", level_size="20"),
    ],
    "okx": [
        SymbolSpec("BTC-USDT-SWAP", "0.1", "0.01", "0.01", "0", "50000", contract_mult="0.01",
                   level_size="200"),
        SymbolSpec("ETH-USDT-SWAP", "0.01", "0.01", "0.01", "0", "3000", base="ETH",
                   contract_mult="0.1", level_size="200"),
    ],
    "bitget": [
        SymbolSpec("BTCUSDT", "0.1", "0.001", "0.001", "5", "50000", level_size="2"),
        SymbolSpec("ETHUSDT", "0.01", "0.01", "0.01", "5", "3000", base="ETH", level_size="20"),
    ],
}


@dataclass
class VenueSpec:
    """One simulated venue (one loopback port)."""

    key: str
    symbols: list[SymbolSpec] = field(default_factory=list)
    maker_fee: str = "0.0002"
    taker_fee: str = "0.0005"
    balances: dict[str, str] = field(default_factory=lambda: {"USDT": "100000", "BTC": "2",
                                                              "ETH": "20"})
    leverage: int = 20
    api_key: str = DEFAULT_API_KEY
    secret: str = DEFAULT_SECRET
    passphrase: str = DEFAULT_PASSPHRASE
    #: fault name -> params applied for the whole run, e.g. {"max_age": {"seconds": 5}}
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: server ping interval / pong timeout in seconds (None = venue default)
    ping_interval_s: float | None = None
    pong_timeout_s: float | None = None
    #: request weight / order limits (venue defaults when None)
    weight_limit_1m: int | None = None
    order_limit_10s: int | None = None
    order_limit_1m: int | None = None

    def __post_init__(self) -> None:
        if self.key not in VENUE_KEYS:
            raise ValueError(f"unknown venue {self.key!r}; expected one of {', '.join(VENUE_KEYS)}")
        if not self.symbols:
            self.symbols = [SymbolSpec(**vars(s)) for s in DEFAULT_SYMBOLS[self.key]]
        if self.leverage < 1:
            raise ValueError("leverage must be >= 1")

    def __repr__(self) -> str:  # never print the secret
        return f"VenueSpec(key={self.key!r}, symbols={[s.symbol for s in self.symbols]})"


@dataclass
class SimConfig:
    """Whole simulator configuration.

    ``quote_rate`` is the number of synthetic market events per second per symbol (each event
    changes the book and may print trades); ``depth_levels`` the synthetic levels per side.
    ``latency_probe`` switches the market to the benchmark mode: one best-price change per event
    at exactly ``quote_rate`` events/s, each bookTicker stamped at send time.
    ``replay`` replaces the synthetic process by a recording (see engine.sim.replay).
    """

    venues: list[VenueSpec] = field(default_factory=list)
    seed: int = 1
    quote_rate: float = 20.0
    depth_levels: int = 20
    host: str = "127.0.0.1"
    latency_probe: bool = False
    funding_interval_s: float = 1.0       # markPrice / funding push interval
    replay: str | None = None             # path of a recording to replay instead of synthetic
    replay_speed: float = 1.0             # 0 = as fast as possible
    replay_venue: str | None = None       # venue of a fixture JSONL (default: first venue)
    market: bool = True                   # False: no synthetic updates (static book; tests)

    def __post_init__(self) -> None:
        if not self.venues:
            self.venues = [VenueSpec("binance_usdm")]
        self.venues = [VenueSpec(v) if isinstance(v, str) else v for v in self.venues]
        keys = [v.key for v in self.venues]
        if len(set(keys)) != len(keys):
            raise ValueError("each venue may appear once")
        if not 0 < self.quote_rate <= 1_000_000:
            raise ValueError("quote_rate must be within (0, 1e6] events/s")
        if not 1 <= self.depth_levels <= 1000:
            raise ValueError("depth_levels must be within 1..1000")

    def venue(self, key: str) -> VenueSpec:
        for v in self.venues:
            if v.key == key:
                return v
        raise KeyError(f"venue {key!r} is not configured")
