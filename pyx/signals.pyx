# SPDX-License-Identifier: Apache-2.0
"""engine.signals: streaming signal kernels (include/engine/signals.h) as small final classes, plus
NumPy batch functions that run the same C kernel in a loop (so results are bit-identical).

NaN policy: classes raise ValueError for a non-finite or out-of-domain input (state unchanged) and
return None while a value is undefined (empty window, < 2 samples, zero std or volume). Batch
functions write NaN exactly where the streaming value is undefined or the input was rejected.
"""
cimport cython
from libc.math cimport NAN
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc

from engine.types cimport ENG_OK, eng_book_top

import numpy as np


cdef inline double _alpha(alpha, half_life) except? -1.0:
    cdef double a
    if (alpha is None) == (half_life is None):
        raise ValueError("give exactly one of alpha or half_life")
    if half_life is not None:
        if eng_alpha_from_half_life(float(half_life), &a) != ENG_OK:
            raise ValueError(f"half_life must be a finite number > 0, got {half_life!r}")
        return a
    a = float(alpha)
    if not (0.0 < a <= 1.0):
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    return a


cdef inline int32_t _window(int window, bint allow_zero=False) except -1:
    if (window == 0 and allow_zero) or 1 <= window <= ENG_ROLL_MAX:
        return window
    raise ValueError(f"window must be in {0 if allow_zero else 1}..{ENG_ROLL_MAX}, got {window}")


cdef inline object _opt(int rc, double v):
    return v if rc == ENG_OK else None


cdef inline int32_t _side(object side) except 0:
    if side == 1 or side == "buy":
        return 1
    if side == -1 or side == "sell":
        return -1
    raise ValueError(f"side must be 1/'buy' or -1/'sell', got {side!r}")


def alpha_from_half_life(double half_life):
    """EMA weight whose influence halves after ``half_life`` samples: 1 - 2**(-1/half_life)."""
    cdef double a
    if eng_alpha_from_half_life(half_life, &a) != ENG_OK:
        raise ValueError(f"half_life must be a finite number > 0, got {half_life!r}")
    return a


def book_imbalance(int64_t bid_sz, int64_t ask_sz):
    """(bid_sz - ask_sz) / (bid_sz + ask_sz) from top-of-book sizes (units); None if undefined."""
    cdef double v = 0.0
    cdef int rc = eng_sig_book_imbalance(bid_sz, ask_sz, &v)
    return _opt(rc, v)


def microprice(int64_t bid_px, int64_t bid_sz, int64_t ask_px, int64_t ask_sz):
    """Size-weighted mid in price units; None if undefined (no size, non-positive price)."""
    cdef double v = 0.0
    cdef int rc = eng_sig_microprice(bid_px, bid_sz, ask_px, ask_sz, &v)
    return _opt(rc, v)


def top_signals(size_t top_address):
    """(imbalance, microprice in price units) of the eng_book_top at ``top_address`` (e.g.
    ``Book.top_address``); None for a value that is undefined or when the top is not valid."""
    cdef const eng_book_top* t = <const eng_book_top*>top_address
    cdef double imb = 0.0, mp = 0.0
    if top_address == 0:
        raise ValueError("null eng_book_top address")
    cdef int rc1 = eng_sig_top_imbalance(t, &imb)
    cdef int rc2 = eng_sig_top_microprice(t, &mp)
    return _opt(rc1, imb), _opt(rc2, mp)


@cython.final
cdef class Ema:
    """Exponential moving average; the first sample initialises it.

    Parameters
    ----------
    alpha : float, optional
        Weight of the newest sample, 0 < alpha <= 1.
    half_life : float, optional
        Samples after which a sample's weight halves (alternative to alpha).
    """

    def __cinit__(self, alpha=None, half_life=None):
        eng_ema_init(&self.s, _alpha(alpha, half_life))

    def update(self, double x):
        """Add a sample; returns the new average. Raises ValueError for NaN/Inf."""
        if eng_ema_update(&self.s, x) != ENG_OK:
            raise ValueError(f"non-finite sample {x!r}")
        return self.s.value

    @property
    def value(self):
        cdef double v = 0.0
        cdef int rc = eng_ema_value(&self.s, &v)
        return _opt(rc, v)

    @property
    def alpha(self):
        return self.s.alpha

    @property
    def count(self):
        return self.s.n

    def reset(self):
        eng_ema_reset(&self.s)


@cython.final
cdef class TimeEma:
    """EMA for irregular samples: a sample's weight halves every ``half_life_ns`` of elapsed time."""

    def __cinit__(self, double half_life_ns):
        if eng_tema_init(&self.s, half_life_ns) != ENG_OK:
            raise ValueError(f"half_life_ns must be a finite number > 0, got {half_life_ns!r}")

    def update(self, double x, int64_t t_ns):
        """Add a sample taken at ``t_ns`` (non-decreasing); returns the new average."""
        if eng_tema_update(&self.s, x, t_ns) != ENG_OK:
            raise ValueError(f"non-finite sample {x!r} or time going backwards ({t_ns} < {self.s.last_ns})")
        return self.s.value

    @property
    def value(self):
        cdef double v = 0.0
        cdef int rc = eng_tema_value(&self.s, &v)
        return _opt(rc, v)

    @property
    def count(self):
        return self.s.n

    def reset(self):
        eng_tema_reset(&self.s)


@cython.final
cdef class EwVar:
    """Exponentially weighted mean and (biased) variance, West's incremental form."""

    def __cinit__(self, alpha=None, half_life=None):
        eng_ewvar_init(&self.s, _alpha(alpha, half_life))

    def update(self, double x):
        """Add a sample; returns (mean, variance)."""
        if eng_ewvar_update(&self.s, x) != ENG_OK:
            raise ValueError(f"non-finite sample {x!r}")
        return self.s.mean, self.s.var

    @property
    def mean(self):
        cdef double v = 0.0
        cdef int rc = eng_ewvar_mean(&self.s, &v)
        return _opt(rc, v)

    @property
    def var(self):
        cdef double v = 0.0
        cdef int rc = eng_ewvar_var(&self.s, &v)
        return _opt(rc, v)

    @property
    def std(self):
        cdef double v = 0.0
        if eng_ewvar_var(&self.s, &v) != ENG_OK:
            return None
        return v ** 0.5

    @property
    def count(self):
        return self.s.n

    def reset(self):
        eng_ewvar_reset(&self.s)


@cython.final
cdef class Rolling:
    """Mean, sample std (ddof=1) and z-score over the last ``window`` samples (1..ENG_ROLL_MAX)."""

    def __cinit__(self, int window):
        eng_roll_init(&self.s, _window(window))

    def update(self, double x):
        """Add a sample; returns the window mean."""
        if eng_roll_update(&self.s, x) != ENG_OK:
            raise ValueError(f"non-finite sample {x!r}")
        return self.s.shift + self.s.dmean

    @property
    def mean(self):
        cdef double v = 0.0
        cdef int rc = eng_roll_mean(&self.s, &v)
        return _opt(rc, v)

    @property
    def var(self):
        cdef double v = 0.0
        cdef int rc = eng_roll_var(&self.s, &v)
        return _opt(rc, v)

    @property
    def std(self):
        cdef double v = 0.0
        cdef int rc = eng_roll_std(&self.s, &v)
        return _opt(rc, v)

    @property
    def zscore(self):
        """z-score of the newest sample against the window (None if std is 0 or undefined)."""
        cdef double v = 0.0
        cdef int rc = eng_roll_zscore(&self.s, &v)
        return _opt(rc, v)

    def zscore_of(self, double x):
        cdef double v = 0.0
        cdef int rc = eng_roll_zscore_of(&self.s, x, &v)
        return _opt(rc, v)

    @property
    def count(self):
        return self.s.n

    @property
    def window(self):
        return self.s.window

    def reset(self):
        eng_roll_reset(&self.s)


@cython.final
cdef class Vwap:
    """Volume-weighted average price: cumulative (window=0) or over the last ``window`` trades."""

    def __cinit__(self, int window=0):
        eng_vwap_init(&self.s, _window(window, True))

    def update(self, double px, double sz):
        """Add a trade (px > 0, sz >= 0, any consistent units); returns the VWAP or None."""
        cdef double v = 0.0
        if eng_vwap_update(&self.s, px, sz) != ENG_OK:
            raise ValueError(f"bad trade px={px!r} sz={sz!r}")
        cdef int rc = eng_vwap_value(&self.s, &v)
        return _opt(rc, v)

    @property
    def value(self):
        cdef double v = 0.0
        cdef int rc = eng_vwap_value(&self.s, &v)
        return _opt(rc, v)

    def reset(self):
        eng_vwap_reset(&self.s)


@cython.final
cdef class TradeFlow:
    """Aggressor imbalance (buy - sell) / (buy + sell) over the last ``window`` trades."""

    def __cinit__(self, int window):
        eng_flow_init(&self.s, _window(window))

    def update(self, double sz, side):
        """Add a trade of size sz (>= 0) with aggressor side 1/'buy' or -1/'sell'."""
        cdef double v = 0.0
        if eng_flow_update(&self.s, sz, _side(side)) != ENG_OK:
            raise ValueError(f"bad trade size {sz!r}")
        cdef int rc = eng_flow_imbalance(&self.s, &v)
        return _opt(rc, v)

    @property
    def imbalance(self):
        cdef double v = 0.0
        cdef int rc = eng_flow_imbalance(&self.s, &v)
        return _opt(rc, v)

    @property
    def buy_volume(self):
        return self.s.buy.sum

    @property
    def sell_volume(self):
        return self.s.sell.sum

    def reset(self):
        eng_flow_reset(&self.s)


@cython.final
cdef class RealisedVol:
    """sqrt of the sum of squared log returns over the last ``window`` returns."""

    def __cinit__(self, int window):
        eng_rvol_init(&self.s, _window(window))

    def update(self, double px):
        """Add a price (> 0); returns the realised vol or None before the first return."""
        cdef double v = 0.0
        if eng_rvol_update(&self.s, px) != ENG_OK:
            raise ValueError(f"bad price {px!r}")
        cdef int rc = eng_rvol_value(&self.s, &v)
        return _opt(rc, v)

    @property
    def value(self):
        cdef double v = 0.0
        cdef int rc = eng_rvol_value(&self.s, &v)
        return _opt(rc, v)

    @property
    def variance(self):
        cdef double v = 0.0
        cdef int rc = eng_rvol_variance(&self.s, &v)
        return _opt(rc, v)

    def reset(self):
        eng_rvol_reset(&self.s)


# ---- NumPy batch versions (same kernels, one C loop, NaN where undefined) ---------------------------
cdef inline double[::1] _f64(x):
    return np.ascontiguousarray(x, dtype=np.float64)


def ema_batch(x, alpha=None, half_life=None):
    """EMA after each sample of ``x`` (NaN for a rejected NaN/Inf input, state unchanged)."""
    cdef const double[::1] xs = _f64(x)
    cdef eng_ema s = eng_ema(alpha=1.0, value=0.0, n=0)
    eng_ema_init(&s, _alpha(alpha, half_life))
    out = np.empty(xs.shape[0], dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(xs.shape[0]):
            o[i] = s.value if eng_ema_update(&s, xs[i]) == ENG_OK else NAN
    return out


def time_ema_batch(x, t_ns, double half_life_ns):
    """Time-decayed EMA after each sample; NaN where a sample was rejected (NaN/Inf or time going
    backwards; state unchanged)."""
    cdef const double[::1] xs = _f64(x)
    cdef const int64_t[::1] ts = np.ascontiguousarray(t_ns, dtype=np.int64)
    if xs.shape[0] != ts.shape[0]:
        raise ValueError("x and t_ns must have the same length")
    cdef eng_tema s = eng_tema(half_life_ns=1.0, value=0.0, last_ns=0, n=0)
    if eng_tema_init(&s, half_life_ns) != ENG_OK:
        raise ValueError(f"half_life_ns must be a finite number > 0, got {half_life_ns!r}")
    out = np.empty(xs.shape[0], dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(xs.shape[0]):
            o[i] = s.value if eng_tema_update(&s, xs[i], ts[i]) == ENG_OK else NAN
    return out


def ewvar_batch(x, alpha=None, half_life=None):
    """(EW mean, EW variance) arrays after each sample."""
    cdef const double[::1] xs = _f64(x)
    cdef eng_ewvar s = eng_ewvar(alpha=1.0, mean=0.0, var=0.0, n=0)
    eng_ewvar_init(&s, _alpha(alpha, half_life))
    mean = np.empty(xs.shape[0], dtype=np.float64)
    var = np.empty(xs.shape[0], dtype=np.float64)
    cdef double[::1] m = mean, v = var
    cdef Py_ssize_t i
    with nogil:
        for i in range(xs.shape[0]):
            if eng_ewvar_update(&s, xs[i]) == ENG_OK:
                m[i] = s.mean
                v[i] = s.var
            else:
                m[i] = NAN
                v[i] = NAN
    return mean, var


# The windowed kernels share one skeleton: validate the window, allocate the state (too large for
# the stack at ENG_ROLL_MAX), run the kernel over the inputs in one nogil loop, NaN where undefined.
# ``wstate`` is a fused type, so each batch function gets its own specialised loop with direct
# kernel calls (no per-sample dispatch).
ctypedef fused wstate:
    eng_roll
    eng_vwap
    eng_flow
    eng_rvol


cdef object _window_batch(wstate* kind, const double[::1] a, const double[::1] b,
                          const int64_t[::1] sd, int32_t window, int what):
    """``kind`` is only there to carry the fused type (callers pass NULL and pick the kernel with
    ``_window_batch[eng_roll](...)``); ``a`` is the main input (x, px or sz), ``b``
    the VWAP sizes, ``sd`` the trade-flow sides (None where unused); ``what`` the rolling value
    (0 mean, 1 std, 2 z-score); ``window`` already validated."""
    cdef wstate* s = <wstate*>malloc(sizeof(wstate))
    if s == NULL:
        raise MemoryError()
    if wstate is eng_roll:
        eng_roll_init(s, window)
    elif wstate is eng_vwap:
        eng_vwap_init(s, window)
    elif wstate is eng_flow:
        eng_flow_init(s, window)
    else:
        eng_rvol_init(s, window)
    out = np.empty(a.shape[0], dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i
    cdef double v = 0.0
    cdef int rc
    with nogil:
        for i in range(a.shape[0]):
            if wstate is eng_roll:
                rc = eng_roll_update(s, a[i])
                if rc == ENG_OK:
                    if what == 0:
                        rc = eng_roll_mean(s, &v)
                    elif what == 1:
                        rc = eng_roll_std(s, &v)
                    else:
                        rc = eng_roll_zscore(s, &v)
            elif wstate is eng_vwap:
                rc = eng_vwap_update(s, a[i], b[i])
                if rc == ENG_OK:
                    rc = eng_vwap_value(s, &v)
            elif wstate is eng_flow:
                rc = eng_flow_update(s, a[i], <int32_t>sd[i])
                if rc == ENG_OK:
                    rc = eng_flow_imbalance(s, &v)
            else:
                rc = eng_rvol_update(s, a[i])
                if rc == ENG_OK:
                    rc = eng_rvol_value(s, &v)
            o[i] = v if rc == ENG_OK else NAN
    free(s)
    return out


def rolling_mean_batch(x, int window):
    """Rolling mean over the last ``window`` samples, after each sample."""
    return _window_batch[eng_roll](NULL, _f64(x), None, None, _window(window), 0)


def rolling_std_batch(x, int window):
    """Rolling sample std (ddof=1); NaN while fewer than 2 samples."""
    return _window_batch[eng_roll](NULL, _f64(x), None, None, _window(window), 1)


def rolling_zscore_batch(x, int window):
    """z-score of each sample against its window (itself included); NaN if std is 0 or undefined."""
    return _window_batch[eng_roll](NULL, _f64(x), None, None, _window(window), 2)


def vwap_batch(px, sz, int window=0):
    """VWAP after each trade: cumulative (window=0) or over the last ``window`` trades."""
    cdef const double[::1] p = _f64(px)
    cdef const double[::1] q = _f64(sz)
    if p.shape[0] != q.shape[0]:
        raise ValueError("px and sz must have the same length")
    return _window_batch[eng_vwap](NULL, p, q, None, _window(window, True), 0)


def trade_flow_batch(sz, side, int window):
    """Trade-flow imbalance after each trade; ``side`` holds 1 (buy) / -1 (sell) per trade."""
    cdef const double[::1] q = _f64(sz)
    cdef const int64_t[::1] sd = np.ascontiguousarray(side, dtype=np.int64)
    if q.shape[0] != sd.shape[0]:
        raise ValueError("sz and side must have the same length")
    return _window_batch[eng_flow](NULL, q, None, sd, _window(window), 0)


def realised_vol_batch(px, int window):
    """Realised vol (sqrt of summed squared log returns over ``window`` returns) after each price."""
    return _window_batch[eng_rvol](NULL, _f64(px), None, None, _window(window), 0)
