# SPDX-License-Identifier: Apache-2.0
"""hotpath replay applies the live risk rules on recorded time: the order-rate token bucket and the book-age
check judge the recorded timestamps (Pipeline.set_clock), whatever the speed of the replay; the live pipeline
keeps CLOCK_MONOTONIC."""
from __future__ import annotations

import random
import time
from fractions import Fraction
from pathlib import Path

import orjson
import pytest

from engine.codec import Decoder
from engine.instruments import Instrument, Venue
from engine.pipeline import Pipeline
from engine.risk import RiskGate
from engine.strategy import Context, PyStrategy

BASE_NS = 1_700_000_000 * 10**9          # recorded (wall-clock) time base of the hand-made recordings
MS = 1_000_000

STRATEGY = '''
import time

from engine.strategy import PyStrategy


class Orderer(PyStrategy):
    """One IOC buy at the bid per quote (``on_quote``) and/or per timer (``on_timer``): it never fills, so
    only the risk gate decides what reaches the venue. ``sleep_ms`` slows the replay down (wall time)."""

    def __init__(self, ctx=None, on_quote=1, on_timer=0, sleep_ms=0):
        super().__init__(ctx)
        self.on_quote, self.on_timer, self.sleep_s = int(on_quote), int(on_timer), sleep_ms / 1000.0
        self.emitted = 0

    def _order(self, inst):
        t = self.context.top(inst)
        if t["valid"]:
            self.buy(inst, t["bid_px"], 1, 2)
            self.emitted += 1
        if self.sleep_s:
            time.sleep(self.sleep_s)

    def on_quote_py(self, q):
        if self.on_quote:
            self._order(q["inst"])

    def on_timer_py(self, now_ns):
        if self.on_timer:
            self._order(0)
'''

CONFIG = '''
[bot]
name = "replay_risk_test"
strategy = "{strategy}:Orderer"
params = {{ on_quote = {on_quote}, on_timer = {on_timer}, sleep_ms = {sleep_ms} }}

[[instruments]]
venue = "binance_usdm"
symbol = "SUSHIUSDT"
tick_size = "0.001"
lot_size = "1"
book = "quote"

[risk]
max_order_notional = 0
max_open_orders = 0
price_band_bps = 0
max_orders_per_sec = {rate}
max_quote_age_ms = {age_ms}

[runtime]
timer_ms = {timer_ms}
'''


def _write_recording(path: Path, times: list[int]) -> Path:
    """bookTicker frames of SUSHIUSDT received at ``times`` (recorded ns)."""
    from engine.recorder import KIND_TEXT, Writer

    with Writer(path, {"venues": ["binance_usdm"]}) as w:
        for i, t in enumerate(times):
            bid = 7600 + i % 7
            msg = {"stream": "sushiusdt@bookTicker",
                   "data": {"e": "bookTicker", "u": 1000 + i, "s": "SUSHIUSDT", "b": f"{bid / 1000:.3f}",
                            "B": "5", "a": f"{(bid + 2) / 1000:.3f}", "A": "7", "T": t // MS, "E": t // MS}}
            w.write(int(Venue.BINANCE_USDM), KIND_TEXT, 0, t, orjson.dumps(msg))
    return path


def _bursty_times(n: int = 80, seed: int = 11) -> list[int]:
    """Bursts of quotes a few ms apart, then pauses of 150-700 ms; sub-ms offsets keep clear of exact ties."""
    rng = random.Random(seed)
    t, out = BASE_NS, []
    for _ in range(n):
        out.append(t)
        t += rng.choice((1, 2, 4, 9, 150, 700)) * MS + rng.randrange(1, 999_999)
    return out


def _gap_times() -> list[int]:
    """Quotes ~40 ms apart for 0.5 s, nothing for 1.23 s, quotes again for 0.5 s."""
    first = [BASE_NS + i * 40 * MS + i * 137_000 + 3_000 for i in range(13)]
    second = [first[-1] + 1230 * MS + i * 40 * MS + i * 91_000 for i in range(13)]
    return first + second


def expected_rate_rejects(times: list[int], rate: int) -> int:
    """The token bucket in exact arithmetic: starts full with ``max(1, rate)`` tokens (the bot's burst), refills
    ``rate`` tokens per second of recorded time, one token per order."""
    burst = Fraction(max(1, rate))
    tokens, last, rejects = burst, None, 0
    for t in times:
        if last is not None:
            tokens = min(burst, tokens + Fraction(t - last, 10**9) * rate)
        last = t
        if tokens < 1:
            rejects += 1
        else:
            tokens -= 1
    return rejects


def expected_timer_orders(times: list[int], timer_ms: int, age_ms: int) -> tuple[int, int]:
    """(timers, stale) of a replay of quotes at ``times``: on_timer runs every ``timer_ms`` of recorded time
    from the first frame on, up to the last frame (before a frame of the same time); an order emitted on a timer
    is stale when the last quote received before it is older than ``age_ms``."""
    step, n, stale = timer_ms * MS, 0, 0
    t = times[0] + step
    while t <= times[-1]:
        assert t not in times                             # the recordings keep clear of ties
        last_quote = max(q for q in times if q < t)
        n += 1
        stale += (t - last_quote) > age_ms * MS
        t += step
    return n, stale


def _config(tmp_path: Path, *, rate: int, age_ms: float, on_quote: int = 1, on_timer: int = 0,
            timer_ms: int = 0, sleep_ms: float = 0) -> Path:
    (tmp_path / "strategy.py").write_text(STRATEGY)
    p = tmp_path / "config.toml"
    p.write_text(CONFIG.format(strategy=tmp_path / "strategy.py", on_quote=on_quote, on_timer=on_timer,
                               sleep_ms=sleep_ms, rate=rate, age_ms=age_ms, timer_ms=timer_ms))
    return p


def _replay(cfg_path: Path, recording: Path):
    from engine.bot import Bot, _NoSim, _load_bot_config
    from engine.replay import LatencyModel, replay

    cfg = _load_bot_config(str(cfg_path.parent), str(cfg_path))
    bot = Bot(cfg, sim=_NoSim())
    bot._build_core()
    return bot, replay(bot, recording, LatencyModel.fixed(0))


# ---- replay --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sleep_ms", [0, 3])
def test_rate_limit_rejects_follow_recorded_time(tmp_path, sleep_ms):
    """An order on every quote with max_orders_per_sec = 5: exactly the rejects the bucket implies for the
    recorded timestamps, whether the replay runs flat out or slowed down (3 ms of wall time per quote)."""
    times = _bursty_times()
    rec = _write_recording(tmp_path / "bursty.hprec", times)
    want = expected_rate_rejects(times, 5)
    assert 10 < want < len(times) - 10                     # the recording really exercises the bucket
    bot, res = _replay(_config(tmp_path, rate=5, age_ms=0, sleep_ms=sleep_ms), rec)
    assert bot.strategy.emitted == len(times)
    assert res.risk_rejects == {"RATE": want}
    assert res.sim.stats.orders == len(times) - want        # every accepted order reached the matching engine
    assert bot.pipeline.clock_ns == 0                       # back on the live clock afterwards


def test_timer_orders_in_a_recorded_gap_hit_the_book_age_limit(tmp_path):
    """No quote for 1.23 s with max_quote_age_ms = 300: the orders emitted on the 100 ms timer during the gap
    once the last quote is older than 300 ms of recorded time are rejected as STALE_BOOK, the others pass."""
    times = _gap_times()
    rec = _write_recording(tmp_path / "gap.hprec", times)
    n_timers, stale = expected_timer_orders(times, 100, 300)
    assert stale >= 8 and n_timers - stale >= 10
    bot, res = _replay(_config(tmp_path, rate=0, age_ms=300, on_quote=0, on_timer=1, timer_ms=100), rec)
    assert bot.strategy.emitted == n_timers
    assert res.risk_rejects == {"STALE_BOOK": stale}
    assert res.sim.stats.orders == n_timers - stale
    assert bot.ctx.top(0)["update_ns"] == times[-1]        # the book is stamped with recorded receive times


def test_no_limits_no_rejects(tmp_path):
    times = _bursty_times()
    rec = _write_recording(tmp_path / "bursty.hprec", times)
    bot, res = _replay(_config(tmp_path, rate=0, age_ms=0), rec)
    assert res.risk_rejects == {} and res.sim.stats.orders == len(times)
    gap = _gap_times()
    rec2 = _write_recording(tmp_path / "gap.hprec", gap)
    bot, res = _replay(_config(tmp_path, rate=0, age_ms=0, on_quote=0, on_timer=1, timer_ms=100), rec2)
    n_timers, _ = expected_timer_orders(gap, 100, 300)
    assert res.risk_rejects == {} and res.sim.stats.orders == n_timers


def test_cli_replay_applies_the_limits_and_prints_rejects_by_reason(tmp_path, capsys):
    from engine.cli import main

    times = _bursty_times()
    rec = _write_recording(tmp_path / "bursty.hprec", times)
    want = expected_rate_rejects(times, 5)
    cfg = _config(tmp_path, rate=5, age_ms=2000)
    assert main(["replay", str(rec), "--config", str(cfg), "--latency-us", "0"]) == 0
    out = capsys.readouterr().out
    assert "note:" not in out and "not applied" not in out
    line = next(ln for ln in out.splitlines() if ln.startswith("replayed "))
    assert line.endswith(f"risk rejects {want} (RATE {want})"), line


# ---- the pipeline's clock ------------------------------------------------------------------------------

BTC = Instrument(0, Venue.BINANCE_SPOT, "BTCUSDT", "0.01", "0.00001")
SPOT = int(Venue.BINANCE_SPOT)


def _quote(u: int) -> bytes:
    return f'{{"u":{u},"s":"BTCUSDT","b":"65000.00","B":"1.5","a":"65000.01","A":"2.0"}}'.encode()


def _pipeline(**limits) -> tuple[Pipeline, PyStrategy]:
    ctx = Context()
    ctx.add_instrument(BTC)
    s = PyStrategy(ctx)
    risk = RiskGate()
    risk.set_limits(0, max_book_age_ns=limits.pop("max_book_age_ns", None))
    if limits:
        risk.set_global(**limits)
    p = Pipeline(ctx, s, risk)
    dec = Decoder(SPOT)
    dec.add_instrument(BTC)
    p.add_feed(SPOT, dec)
    return p, s


def _order(p: Pipeline, s: PyStrategy) -> str:
    """One limit buy at the bid: 'ok' or the reject reason."""
    s.buy(0, 6_500_000, 100)
    p.flush()
    rej = p.drain_rejects()
    if rej:
        return rej[0]["reason_name"]
    assert len(p.drain_pending()) == 1
    return "ok"


def test_live_pipeline_stamps_and_checks_on_the_monotonic_clock():
    p, s = _pipeline(max_book_age_ns=40 * MS)
    assert p.clock_ns == 0
    t0 = time.monotonic_ns()
    p.feed(0, SPOT, _quote(1))
    t1 = time.monotonic_ns()
    assert t0 <= p.ctx.top(0)["update_ns"] <= t1          # book stamp: CLOCK_MONOTONIC
    assert _order(p, s) == "ok"
    time.sleep(0.06)                                      # the live book ages in real time
    assert _order(p, s) == "STALE_BOOK"
    p.feed(0, SPOT, _quote(2))
    assert _order(p, s) == "ok"


def test_live_pipeline_rate_bucket_refills_in_real_time():
    p, s = _pipeline(rate_per_s=20.0, burst=1.0)
    p.feed(0, SPOT, _quote(1))
    assert [_order(p, s), _order(p, s)] == ["ok", "RATE"]
    time.sleep(0.08)                                      # > 1/20 s of real time: one token back
    assert _order(p, s) == "ok"


def test_set_clock_drives_book_stamps_and_risk_not_latency():
    p, s = _pipeline(max_book_age_ns=40 * MS, rate_per_s=1.0, burst=1.0)
    T = BASE_NS
    p.set_clock(T)
    assert p.clock_ns == T
    p.feed(0, SPOT, _quote(1), T)
    assert p.ctx.top(0)["update_ns"] == T                 # stamped with the set time
    assert _order(p, s) == "ok"
    assert _order(p, s) == "RATE"                         # no token back: the set clock did not move
    p.set_clock(T + 30 * MS)
    assert _order(p, s) == "RATE"                         # 0.03 tokens of set time
    p.set_clock(T + 1010 * MS)
    assert _order(p, s) == "STALE_BOOK"                   # 1.01 s since the quote, by the set clock
    p.feed(0, SPOT, _quote(2), T + 1010 * MS)
    assert _order(p, s) == "ok"                           # fresh book, and a whole token after 1.01 s
    lat = p.latency.summary()
    assert lat["decode"]["count"] == 2 and lat["risk"]["count"] == 5
    assert 0 <= lat["decode"]["max"] < 10**9 and 0 <= lat["risk"]["max"] < 10**9   # latency: real clock
    p.set_clock(0)
    assert p.clock_ns == 0
    t0 = time.monotonic_ns()
    p.feed(0, SPOT, _quote(3))
    assert p.ctx.top(0)["update_ns"] >= t0                # live again
    with pytest.raises(ValueError):
        p.set_clock(-1)
