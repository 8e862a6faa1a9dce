# SPDX-License-Identifier: Apache-2.0
"""engine.signals: known values, NumPy references, batch == streaming (bit-identical), the NaN /
domain policy, and parity with the pure-Python twin."""
from __future__ import annotations

import math

import numpy as np
import pytest

import engine._py.signals as pysig
from engine import signals as sig

RNG = np.random.default_rng(20240501)


def opt(v):
    return np.nan if v is None else v


def test_compiled_loaded():
    assert sig.__file__.endswith((".so", ".pyd")) and sig.Ema.__module__ == "engine.signals"


def test_ema_known_values_and_half_life():
    e = sig.Ema(alpha=0.5)
    assert e.value is None and e.count == 0
    assert [e.update(x) for x in (1.0, 2.0, 3.0)] == [1.0, 1.5, 2.25]
    assert sig.alpha_from_half_life(1.0) == 0.5
    h = sig.Ema(half_life=10)
    assert h.alpha == pytest.approx(1 - 2 ** (-1 / 10))
    h.update(1.0)
    for _ in range(10):
        h.update(0.0)
    assert h.value == pytest.approx(0.5)          # a sample's weight halves after half_life samples
    e.reset()
    assert e.value is None


@pytest.mark.parametrize("kw", [{}, {"alpha": 0.0}, {"alpha": 1.5}, {"alpha": float("nan")},
                                {"half_life": 0}, {"half_life": -1}, {"alpha": 0.1, "half_life": 3}])
def test_bad_parameters(kw):
    with pytest.raises(ValueError):
        sig.Ema(**kw)
    with pytest.raises(ValueError):
        pysig.Ema(**kw)


@pytest.mark.parametrize("cls", [sig.Rolling, sig.TradeFlow, sig.RealisedVol, pysig.Rolling])
@pytest.mark.parametrize("window", [0, -1, 1025])
def test_bad_windows(cls, window):
    with pytest.raises(ValueError):
        cls(window)
    with pytest.raises(ValueError):
        sig.rolling_mean_batch([1.0], window)


def test_ewvar_matches_weighted_definition():
    x = RNG.normal(size=200)
    a = 0.1
    ew = sig.EwVar(alpha=a)
    for v in x:
        ew.update(v)
    # the recursion equals the explicitly weighted sums (with the first sample's weight (1-a)^(n-1))
    n = len(x)
    w = np.array([(1 - a) ** (n - 1)] + [a * (1 - a) ** (n - 1 - i) for i in range(1, n)])
    mean = np.sum(w * x)
    assert ew.mean == pytest.approx(mean, rel=1e-12)
    assert ew.var == pytest.approx(np.sum(w * (x - mean) ** 2), rel=1e-9)
    assert ew.std == pytest.approx(math.sqrt(ew.var))


@pytest.mark.parametrize("window", [1, 2, 7, 100, 1024])
def test_rolling_against_numpy(window):
    x = RNG.normal(size=3000) * 3 + 10
    r = sig.Rolling(window)
    for i, v in enumerate(x):
        r.update(v)
        w = x[max(0, i + 1 - window): i + 1]
        assert r.mean == pytest.approx(w.mean(), rel=1e-12, abs=1e-12)
        if len(w) >= 2:
            assert r.std == pytest.approx(w.std(ddof=1), rel=1e-9, abs=1e-10)
            sd = w.std(ddof=1)
            if sd > 1e-9:
                assert r.zscore == pytest.approx((v - w.mean()) / sd, rel=1e-7, abs=1e-9)
        else:
            assert r.std is None and r.var is None and r.zscore is None


@pytest.mark.parametrize("offset,scale,rtol", [(1e9, 1e-3, 1e-4), (1e5, 1e-2, 1e-8), (0.0, 1.0, 1e-12)])
def test_rolling_numerically_stable_on_large_offsets(offset, scale, rtol):
    """offset + tiny noise over 200k samples: a sum / sum-of-squares form loses every digit at 1e9."""
    x = offset + RNG.normal(size=200_000) * scale
    windows = np.lib.stride_tricks.sliding_window_view(x, 500)
    out = sig.rolling_std_batch(x, 500)
    assert np.allclose(out[499:], windows.std(axis=1, ddof=1), rtol=rtol, atol=0)
    means = sig.rolling_mean_batch(x, 500)
    assert np.allclose(means[499:], windows.mean(axis=1), rtol=1e-15, atol=scale * 1e-6)


def test_rolling_constant_series_zscore_undefined():
    r = sig.Rolling(5)
    for _ in range(10):
        r.update(3.0)
    assert r.std == 0.0 and r.zscore is None and r.zscore_of(4.0) is None
    assert np.isnan(sig.rolling_zscore_batch(np.full(10, 3.0), 5)).all()


def test_vwap_cumulative_and_rolling():
    px = RNG.uniform(99, 101, size=500)
    sz = RNG.uniform(0, 5, size=500)
    v = sig.Vwap()
    r = sig.Vwap(window=20)
    assert v.value is None
    for i in range(500):
        v.update(px[i], sz[i])
        r.update(px[i], sz[i])
        assert v.value == pytest.approx(np.sum(px[: i + 1] * sz[: i + 1]) / np.sum(sz[: i + 1]), rel=1e-12)
        lo = max(0, i - 19)
        assert r.value == pytest.approx(np.sum(px[lo: i + 1] * sz[lo: i + 1]) / np.sum(sz[lo: i + 1]), rel=1e-10)
    z = sig.Vwap()
    assert z.update(100.0, 0.0) is None          # no volume yet: undefined, not NaN
    for bad in ((0.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (float("nan"), 1.0), (1.0, float("inf"))):
        with pytest.raises(ValueError):
            z.update(*bad)


def test_trade_flow():
    f = sig.TradeFlow(3)
    assert f.imbalance is None
    assert f.update(1.0, "buy") == 1.0
    assert f.update(3.0, -1) == pytest.approx((1 - 3) / 4)
    assert f.update(2.0, 1) == pytest.approx((3 - 3) / 6)
    assert f.update(2.0, "sell") == pytest.approx((2 - 5) / 7)    # the first buy left the window
    assert (f.buy_volume, f.sell_volume) == (2.0, 5.0)
    with pytest.raises(ValueError):
        f.update(1.0, 0)
    with pytest.raises(ValueError):
        f.update(-1.0, 1)


def test_realised_vol():
    px = 100 * np.exp(np.cumsum(RNG.normal(size=300) * 1e-3))
    rv = sig.RealisedVol(50)
    assert rv.update(px[0]) is None
    for i in range(1, 300):
        rv.update(px[i])
        r = np.diff(np.log(px[max(0, i - 50): i + 1]))
        assert rv.variance == pytest.approx(np.sum(r**2), rel=1e-9)
        assert rv.value == pytest.approx(math.sqrt(np.sum(r**2)), rel=1e-9)
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(ValueError):
            rv.update(bad)


def test_book_signals():
    assert sig.book_imbalance(3, 1) == 0.5 and sig.book_imbalance(0, 0) is None
    assert sig.book_imbalance(-1, 2) is None
    assert sig.microprice(100, 1, 102, 3) == pytest.approx((100 * 3 + 102 * 1) / 4)
    assert sig.microprice(100, 0, 102, 0) is None and sig.microprice(0, 1, 1, 1) is None
    assert pysig.book_imbalance(3, 1) == 0.5 and pysig.microprice(100, 1, 102, 3) == sig.microprice(100, 1, 102, 3)


def _stream(cls_args, update, x):
    obj, getter = cls_args
    out = []
    for row in x:
        update(obj, row)
        out.append(opt(getter(obj)))
    return np.array(out)


def test_batch_is_bit_identical_to_streaming():
    x = np.abs(RNG.normal(size=2000).cumsum()) + 50
    sz = RNG.uniform(0, 2, size=2000)
    side = RNG.choice([1, -1], size=2000)
    e = sig.Ema(alpha=0.05)
    assert np.array_equal(sig.ema_batch(x, alpha=0.05), np.array([e.update(v) for v in x]))
    ew = sig.EwVar(half_life=20)
    pairs = np.array([ew.update(v) for v in x])
    m, v = sig.ewvar_batch(x, half_life=20)
    assert np.array_equal(m, pairs[:, 0]) and np.array_equal(v, pairs[:, 1])
    for fn, attr in ((sig.rolling_mean_batch, "mean"), (sig.rolling_std_batch, "std"),
                     (sig.rolling_zscore_batch, "zscore")):
        r = sig.Rolling(64)
        ref = []
        for val in x:
            r.update(val)
            ref.append(opt(getattr(r, attr)))
        assert np.array_equal(fn(x, 64), np.array(ref), equal_nan=True), attr
    for window in (0, 30):
        vw = sig.Vwap(window)
        assert np.array_equal(sig.vwap_batch(x, sz, window), np.array([opt(vw.update(p, q)) for p, q in zip(x, sz, strict=True)]),
                              equal_nan=True)
    tf = sig.TradeFlow(40)
    assert np.array_equal(sig.trade_flow_batch(sz, side, 40),
                          np.array([opt(tf.update(q, int(s))) for q, s in zip(sz, side, strict=True)]), equal_nan=True)
    rv = sig.RealisedVol(25)
    assert np.array_equal(sig.realised_vol_batch(x, 25), np.array([opt(rv.update(p)) for p in x]), equal_nan=True)


def test_batch_nan_policy():
    """A rejected input gives NaN at its index and leaves the state unchanged."""
    x = np.array([1.0, 2.0, np.nan, 3.0, np.inf, 4.0])
    clean = np.array([1.0, 2.0, 3.0, 4.0])
    out = sig.ema_batch(x, alpha=0.3)
    assert np.isnan(out[[2, 4]]).all()
    assert np.array_equal(out[[0, 1, 3, 5]], sig.ema_batch(clean, alpha=0.3))
    out = sig.rolling_mean_batch(x, 2)
    assert np.array_equal(out[[0, 1, 3, 5]], sig.rolling_mean_batch(clean, 2))
    e = sig.Ema(alpha=0.3)
    e.update(1.0)
    with pytest.raises(ValueError):
        e.update(float("nan"))
    assert e.value == 1.0 and e.count == 1
    with pytest.raises(ValueError):
        sig.vwap_batch([1.0, 2.0], [1.0])


@pytest.mark.parametrize("name,make,update,getter", [
    ("ema", lambda m: m.Ema(alpha=0.07), lambda o, v: o.update(v), lambda o: o.value),
    ("ewvar", lambda m: m.EwVar(alpha=0.07), lambda o, v: o.update(v), lambda o: o.var),
    ("rolling_std", lambda m: m.Rolling(33), lambda o, v: o.update(v), lambda o: o.std),
    ("rolling_z", lambda m: m.Rolling(33), lambda o, v: o.update(v), lambda o: o.zscore),
    ("vwap", lambda m: m.Vwap(17), lambda o, v: o.update(abs(v) + 1, abs(v)), lambda o: o.value),
    ("flow", lambda m: m.TradeFlow(9), lambda o, v: o.update(abs(v), 1 if v > 0 else -1), lambda o: o.imbalance),
    ("rvol", lambda m: m.RealisedVol(21), lambda o, v: o.update(abs(v) + 1), lambda o: o.value),
])
def test_parity_with_twin(name, make, update, getter):
    x = RNG.normal(size=3000) * 5
    c, p = make(sig), make(pysig)
    for v in x:
        update(c, v)
        update(p, v)
        a, b = getter(c), getter(p)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9), name


def test_time_ema_half_life_and_irregular_steps():
    t = sig.TimeEma(half_life_ns=1_000_000)
    assert t.value is None
    assert t.update(1.0, 5_000) == 1.0
    assert t.update(0.0, 1_005_000) == pytest.approx(0.5)          # one half-life later
    assert t.update(0.0, 1_005_000) == pytest.approx(0.5)          # dt = 0: no weight
    assert t.update(0.0, 3_005_000) == pytest.approx(0.125)        # two half-lives in one step
    with pytest.raises(ValueError):
        t.update(1.0, 1_000)                                       # time going backwards
    with pytest.raises(ValueError):
        t.update(float("nan"), 4_000_000)
    assert t.count == 4 and t.value == pytest.approx(0.125)
    with pytest.raises(ValueError):
        sig.TimeEma(0)
    # equal spacing reduces to the per-sample EMA with alpha from the half-life in samples
    x = RNG.normal(size=500)
    ts = np.arange(500, dtype=np.int64) * 250
    assert np.allclose(sig.time_ema_batch(x, ts, 1000.0), sig.ema_batch(x, half_life=4.0), rtol=1e-12, atol=1e-12)
    te = sig.TimeEma(1000.0)
    assert np.array_equal(sig.time_ema_batch(x, ts, 1000.0), np.array([te.update(v, int(s)) for v, s in zip(x, ts, strict=True)]))
    p = pysig.TimeEma(1000.0)
    te.reset()
    for v, s in zip(x, ts, strict=True):
        assert te.update(v, int(s)) == pytest.approx(p.update(v, int(s)), rel=1e-12, abs=1e-12)
    out = sig.time_ema_batch([1.0, 2.0, 3.0], [10, 5, 20], 10.0)
    assert np.isnan(out[1]) and out[2] == pytest.approx(1.0 + (1 - 2 ** -1) * 2.0)


def test_top_signals_follow_a_book_top():
    from engine.book import Book
    from engine.instruments import Instrument, Venue
    b = Book(Instrument(0, Venue.BYBIT, "T", "1", "1"), "bybit", capacity=8)
    assert sig.top_signals(b.top_address) == (None, None)          # not synced yet
    b.apply(True, [("100", "3")], [("102", "1")], 1, 1)
    imb, mp = sig.top_signals(b.top_address)
    assert imb == sig.book_imbalance(3, 1) and mp == sig.microprice(100, 3, 102, 1)
    b.apply(False, [], [], 5, 5)                                    # gap: top invalid
    assert sig.top_signals(b.top_address) == (None, None)
    with pytest.raises(ValueError):
        sig.top_signals(0)
