# SPDX-License-Identifier: Apache-2.0
"""Instruments: venue symbols mapped to dense ids and the int64 fixed-point scales the compiled
core uses (value = units * 10**-exp). Built once at start-up by the runtime; every layer (codec,
book, risk, order encoders, router, state) refers to an instrument by its dense ``id``."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum


class Venue(IntEnum):
    """Mirrors ENG_VENUE_* in include/engine/types.h."""

    BINANCE_SPOT = 1
    BINANCE_USDM = 2
    BYBIT = 3
    OKX = 4
    BITGET = 5

    @property
    def key(self) -> str:
        """Config/URL key: ``binance_spot``, ``binance_usdm``, ``bybit``, ``okx``, ``bitget``."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Venue":
        try:
            return cls[text.strip().upper().replace("-", "_")]
        except KeyError:
            raise ValueError(
                f"unknown venue {text!r}; expected one of {', '.join(v.key for v in cls)}"
            ) from None


def decimals_of(step: str) -> int:
    """Decimals needed to represent multiples of ``step`` exactly: "0.0100" -> 2, "1" -> 0."""
    d = Decimal(step).normalize()
    exp = d.as_tuple().exponent
    return max(0, -int(exp))


MAX_INSTRUMENTS = 256  # ENG_MAX_INSTRUMENTS


@dataclass(frozen=True)
class Instrument:
    """One tradable instrument on one venue.

    ``px_exp``/``sz_exp`` default to the decimals of the tick and lot sizes; raise them (never
    lower) when a venue sends more significant decimals than its tick.
    """

    id: int
    venue: Venue
    symbol: str                      # exactly as the venue spells it (BTCUSDT, BTC-USDT-SWAP)
    tick_size: str                   # decimal string, e.g. "0.10"
    lot_size: str                    # decimal string, e.g. "0.001"
    min_qty: str = "0"
    min_notional: str = "0"
    contract_mult: float = 1.0       # quote value of 1.0 size at price 1.0 (1 for spot/linear)
    px_exp: int = -1
    sz_exp: int = -1
    category: str = ""               # venue product: spot / linear / SWAP / USDT-FUTURES ...

    def __post_init__(self) -> None:
        if not 0 <= self.id < MAX_INSTRUMENTS:
            raise ValueError(f"instrument id {self.id} outside 0..{MAX_INSTRUMENTS - 1}")
        if self.px_exp < 0:
            object.__setattr__(self, "px_exp", decimals_of(self.tick_size))
        if self.sz_exp < 0:
            object.__setattr__(self, "sz_exp", decimals_of(self.lot_size))
        if not (0 <= self.px_exp <= 18 and 0 <= self.sz_exp <= 18):
            raise ValueError(f"{self.symbol}: exponents must be within 0..18")

    @property
    def tick_units(self) -> int:
        return int(Decimal(self.tick_size) * (10 ** self.px_exp))

    @property
    def lot_units(self) -> int:
        return int(Decimal(self.lot_size) * (10 ** self.sz_exp))

    @property
    def min_qty_units(self) -> int:
        return int(Decimal(self.min_qty) * (10 ** self.sz_exp))

    def px_to_units(self, px: str | Decimal) -> int:
        """Exact decimal -> price units; raises ValueError if not representable."""
        v = Decimal(px) * (10 ** self.px_exp)
        if v != v.to_integral_value():
            raise ValueError(f"{self.symbol}: price {px} has more than {self.px_exp} decimals")
        return int(v)

    def sz_to_units(self, sz: str | Decimal) -> int:
        v = Decimal(sz) * (10 ** self.sz_exp)
        if v != v.to_integral_value():
            raise ValueError(f"{self.symbol}: size {sz} has more than {self.sz_exp} decimals")
        return int(v)

    def px_str(self, units: int) -> str:
        """Price units -> decimal string with the tick's decimals (what order APIs expect)."""
        return _fmt(units, self.px_exp, decimals_of(self.tick_size))

    def sz_str(self, units: int) -> str:
        return _fmt(units, self.sz_exp, decimals_of(self.lot_size))


def _fmt(units: int, exp: int, dec: int) -> str:
    q = Decimal(units).scaleb(-exp)
    return f"{q:.{dec}f}"


@dataclass
class InstrumentTable:
    """All instruments of one process; ids are dense and unique across venues."""

    by_id: dict[int, Instrument] = field(default_factory=dict)
    by_key: dict[tuple[Venue, str], Instrument] = field(default_factory=dict)

    def add(self, venue: Venue, symbol: str, tick_size: str, lot_size: str, **kw) -> Instrument:
        if (venue, symbol) in self.by_key:
            return self.by_key[(venue, symbol)]
        inst = Instrument(len(self.by_id), venue, symbol, tick_size, lot_size, **kw)
        self.by_id[inst.id] = inst
        self.by_key[(venue, symbol)] = inst
        return inst

    def get(self, venue: Venue, symbol: str) -> Instrument:
        try:
            return self.by_key[(venue, symbol)]
        except KeyError:
            raise KeyError(f"{symbol} on {venue.key} is not configured") from None

    def __iter__(self):
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)
