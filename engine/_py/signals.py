# SPDX-License-Identifier: Apache-2.0
"""Pure-Python twin of engine.signals: the readable specification of each streaming kernel and the
oracle of the parity tests (compiled results must agree to ~1e-9 relative). Same API and the same
policy: ValueError for a non-finite / out-of-domain input, None while a value is undefined."""
from __future__ import annotations

import math
from collections import deque

ROLL_MAX = 1024


def _finite(x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"non-finite sample {x!r}")
    return x


def _alpha(alpha, half_life) -> float:
    if (alpha is None) == (half_life is None):
        raise ValueError("give exactly one of alpha or half_life")
    if half_life is not None:
        return alpha_from_half_life(half_life)
    a = float(alpha)
    if not 0.0 < a <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    return a


def _window(window: int, allow_zero: bool = False) -> int:
    if (window == 0 and allow_zero) or 1 <= window <= ROLL_MAX:
        return window
    raise ValueError(f"window must be in {0 if allow_zero else 1}..{ROLL_MAX}, got {window}")


def alpha_from_half_life(half_life: float) -> float:
    """Weight whose influence halves after half_life samples: 1 - 2**(-1/half_life)."""
    h = float(half_life)
    if not math.isfinite(h) or h <= 0:
        raise ValueError(f"half_life must be a finite number > 0, got {half_life!r}")
    return 1.0 - 2.0 ** (-1.0 / h)


def book_imbalance(bid_sz: int, ask_sz: int):
    if bid_sz < 0 or ask_sz < 0 or bid_sz + ask_sz == 0:
        return None
    return (bid_sz - ask_sz) / (bid_sz + ask_sz)


def microprice(bid_px: int, bid_sz: int, ask_px: int, ask_sz: int):
    if bid_sz < 0 or ask_sz < 0 or bid_sz + ask_sz == 0 or bid_px <= 0 or ask_px <= 0:
        return None
    return (bid_px * ask_sz + ask_px * bid_sz) / (bid_sz + ask_sz)


class Ema:
    """value <- value + alpha * (x - value); the first sample initialises it."""

    def __init__(self, alpha=None, half_life=None) -> None:
        self.alpha = _alpha(alpha, half_life)
        self.reset()

    def reset(self) -> None:
        self.value = None
        self.count = 0

    def update(self, x: float) -> float:
        x = _finite(x)
        self.value = x if self.value is None else self.value + self.alpha * (x - self.value)
        self.count += 1
        return self.value


class TimeEma:
    """EMA for irregular samples: weight of the old average is 2**(-dt / half_life_ns)."""

    def __init__(self, half_life_ns: float) -> None:
        h = float(half_life_ns)
        if not math.isfinite(h) or h <= 0:
            raise ValueError(f"half_life_ns must be a finite number > 0, got {half_life_ns!r}")
        self.half_life_ns = h
        self.reset()

    def reset(self) -> None:
        self.value = None
        self.count = 0
        self._last_ns = 0

    def update(self, x: float, t_ns: int) -> float:
        x = _finite(x)
        if self.count and t_ns < self._last_ns:
            raise ValueError("time going backwards")
        if self.value is None:
            self.value = x
        else:
            w = 1.0 - 2.0 ** (-(t_ns - self._last_ns) / self.half_life_ns)
            self.value += w * (x - self.value)
        self._last_ns = t_ns
        self.count += 1
        return self.value


class EwVar:
    """Exponentially weighted mean and biased variance (West 1979)."""

    def __init__(self, alpha=None, half_life=None) -> None:
        self.alpha = _alpha(alpha, half_life)
        self.reset()

    def reset(self) -> None:
        self.mean = None
        self.var = None
        self.count = 0

    def update(self, x: float):
        x = _finite(x)
        if self.mean is None:
            self.mean, self.var = x, 0.0
        else:
            d = x - self.mean
            inc = self.alpha * d
            self.mean += inc
            self.var = (1.0 - self.alpha) * (self.var + d * inc)
        self.count += 1
        return self.mean, self.var

    @property
    def std(self):
        return None if self.var is None else math.sqrt(self.var)


class Rolling:
    """Mean, sample std (ddof=1) and z-score of the newest sample over the last `window` samples."""

    def __init__(self, window: int) -> None:
        self.window = _window(window)
        self.reset()

    def reset(self) -> None:
        self._buf: deque[float] = deque(maxlen=self.window)

    @property
    def count(self) -> int:
        return len(self._buf)

    def update(self, x: float) -> float:
        self._buf.append(_finite(x))
        return self.mean

    @property
    def mean(self):
        return math.fsum(self._buf) / len(self._buf) if self._buf else None

    @property
    def var(self):
        n = len(self._buf)
        if n < 2:
            return None
        m = self.mean
        return math.fsum((v - m) ** 2 for v in self._buf) / (n - 1)

    @property
    def std(self):
        v = self.var
        return None if v is None else math.sqrt(v)

    def zscore_of(self, x: float):
        sd = self.std
        if sd is None or not sd > 0 or not math.isfinite(x):
            return None
        return (x - self.mean) / sd

    @property
    def zscore(self):
        return self.zscore_of(self._buf[-1]) if self._buf else None


class Vwap:
    """sum(px * sz) / sum(sz): cumulative (window=0) or over the last `window` trades."""

    def __init__(self, window: int = 0) -> None:
        self.window = _window(window, allow_zero=True)
        self.reset()

    def reset(self) -> None:
        self._trades: deque[tuple[float, float]] = deque(maxlen=self.window or None)

    def update(self, px: float, sz: float):
        px, sz = float(px), float(sz)
        if not (math.isfinite(px) and math.isfinite(sz)) or px <= 0 or sz < 0:
            raise ValueError(f"bad trade px={px!r} sz={sz!r}")
        self._trades.append((px, sz))
        return self.value

    @property
    def value(self):
        v = math.fsum(sz for _, sz in self._trades)
        if not v > 0:
            return None
        return math.fsum(px * sz for px, sz in self._trades) / v


class TradeFlow:
    """(buy volume - sell volume) / (buy + sell) over the last `window` trades."""

    def __init__(self, window: int) -> None:
        self.window = _window(window)
        self.reset()

    def reset(self) -> None:
        self._trades: deque[tuple[float, int]] = deque(maxlen=self.window)

    def update(self, sz: float, side):
        side = {1: 1, "buy": 1, -1: -1, "sell": -1}.get(side)
        if side is None:
            raise ValueError("side must be 1/'buy' or -1/'sell'")
        sz = float(sz)
        if not math.isfinite(sz) or sz < 0:
            raise ValueError(f"bad trade size {sz!r}")
        self._trades.append((sz, side))
        return self.imbalance

    @property
    def buy_volume(self) -> float:
        return math.fsum(sz for sz, side in self._trades if side == 1)

    @property
    def sell_volume(self) -> float:
        return math.fsum(sz for sz, side in self._trades if side == -1)

    @property
    def imbalance(self):
        b, s = self.buy_volume, self.sell_volume
        return (b - s) / (b + s) if b + s > 0 else None


class RealisedVol:
    """sqrt(sum of squared log returns) over the last `window` returns."""

    def __init__(self, window: int) -> None:
        self.window = _window(window)
        self.reset()

    def reset(self) -> None:
        self._r2: deque[float] = deque(maxlen=self.window)
        self._last = None

    def update(self, px: float):
        px = float(px)
        if not math.isfinite(px) or px <= 0:
            raise ValueError(f"bad price {px!r}")
        if self._last is not None:
            self._r2.append(math.log(px / self._last) ** 2)
        self._last = px
        return self.value

    @property
    def variance(self):
        return math.fsum(self._r2) if self._r2 else None

    @property
    def value(self):
        v = self.variance
        return None if v is None else math.sqrt(v)
