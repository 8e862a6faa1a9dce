# SPDX-License-Identifier: Apache-2.0
"""engine.bot: runtime helpers and the whole engine against the in-process simulator (hotpath demo --no-live)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.bot import BusyPoller, load_strategy_class, pin_cpu
from engine.errors import ConfigError
from tests._bots_util import child_env

ROOT = Path(__file__).resolve().parent.parent


async def test_busy_poller_keeps_the_loop_spinning_and_stops():
    loop = asyncio.get_running_loop()
    p = BusyPoller(loop)
    p.start()
    await asyncio.sleep(0.02)
    p.stop()
    n = p.spins
    assert n > 100                    # thousands of loop iterations in 20 ms instead of one wake-up
    await asyncio.sleep(0.01)
    assert p.spins <= n + 1


def test_pin_cpu_validates_and_restores():
    assert pin_cpu(None) is None
    with pytest.raises(ConfigError, match="not available"):
        pin_cpu(10_000)
    mask = os.sched_getaffinity(0)
    cpu = min(mask)
    before = pin_cpu(cpu)
    try:
        assert os.sched_getaffinity(0) == {cpu}
    finally:
        os.sched_setaffinity(0, before)


def test_load_strategy_class_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_strategy_class(str(tmp_path / "nope.py"), "X")
    f = tmp_path / "s.py"
    f.write_text("class NotAStrategy:\n    pass\n")
    with pytest.raises(ConfigError, match="has no class Missing"):
        load_strategy_class(str(f), "Missing")
    with pytest.raises(ConfigError, match="is not an engine.strategy.Strategy subclass"):
        load_strategy_class(str(f), "NotAStrategy")
    with pytest.raises(ConfigError, match="not found"):
        load_strategy_class("no_such_pkg.mod", "X")
    cls = load_strategy_class(str(ROOT / "bots" / "signal_py" / "strategy.py"), "SignalStrategy")
    assert cls.__name__ == "SignalStrategy"


def _demo(bot: str, seconds: float, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = child_env()
    return subprocess.run([sys.executable, "-m", "engine.cli", "demo", "--bot", bot, "--seconds", str(seconds),
                           "--no-live", *extra], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def parse_final(stdout: str) -> dict[str, float]:
    """The final summary line: '<bot>: stopped (...) after N s: ticks=.. orders=.. fills=.. rejects=.. pnl=..'."""
    line = next(ln for ln in stdout.splitlines() if ": stopped (" in ln)
    out = {}
    for part in line.split(": ", 2)[-1].split():
        if "=" in part:
            k, v = part.split("=")
            out[k] = float(v)
    return out


@pytest.mark.slow
def test_demo_no_live_trades_against_the_sim_and_reports(tmp_path):
    r = _demo("signal_cy", 6, "--report-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    final = parse_final(r.stdout)
    assert final["ticks"] > 0 and final["orders"] > 0 and final["fills"] > 0, r.stdout[-2000:]
    assert "per-stage latency" in r.stdout and "tick_to_trade" in r.stdout
    assert any(ln.startswith("ack ") for ln in r.stdout.splitlines())   # venue replies timed per order
    assert list(tmp_path.glob("*.html")) and list(tmp_path.glob("*.png"))
    assert "Traceback" not in r.stderr


REPLAY_CONFIG = """
[bot]
name = "replay_mm"
strategy = "{root}/bots/market_maker/strategy.pyx:MarketMaker"
params = {{ half_spread_ticks = 1.0, size = "100", max_position = "1000", min_requote_ms = 0 }}

[[instruments]]
venue = "binance_spot"
symbol = "NKNUSDT"
tick_size = "{tick}"
lot_size = "0.1"

[risk]
max_order_notional = 1000.0
max_quote_age_ms = 0
"""


def test_replay_recording_through_the_engine(tmp_path, fixtures_dir, capsys):
    """hotpath replay: a real Binance recording (buffer-then-sync) through decoder, book, compiled strategy, risk."""
    from engine.cli import main
    from engine.instruments import Venue
    from engine.recorder import convert_fixture

    spot = fixtures_dir / "binance" / "spot"
    rec = tmp_path / "nkn.hprec"
    convert_fixture([spot / "ws_combined_NKNUSDT.jsonl"], rec, Venue.BINANCE_SPOT,
                    [("NKNUSDT", spot / "rest_depth_snapshot_NKNUSDT.json", None)])
    cfg = tmp_path / "config.toml"
    cfg.write_text(REPLAY_CONFIG.format(root=ROOT, tick="0.00001"))
    assert main(["replay", str(rec), "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("replayed "))
    hot = int(line.split("(")[1].split()[0])
    orders = int(line.split("strategy orders ")[1].split(",")[0])
    assert hot > 100 and orders > 0, line
    assert "errors {}" in line                      # the recording syncs cleanly (no gap, no checksum issue)
    assert "decode" in out and "signal" in out
    # a tick coarser than the data is a one-line user error, not a traceback
    cfg.write_text(REPLAY_CONFIG.format(root=ROOT, tick="0.0001"))
    assert main(["replay", str(rec), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hotpath: error: replay of") and "ENG_ERR_PRECISION" in err and "\n" not in err


@pytest.mark.slow
def test_record_from_the_sim_then_replay(tmp_path):
    """hotpath record against the in-process sim, then hotpath replay of that file through the engine."""
    env = child_env()
    cfg = str(ROOT / "bots" / "market_maker" / "config.toml")
    out = tmp_path / "mm.hprec"
    r = subprocess.run([sys.executable, "-m", "engine.cli", "record", "--config", cfg, "--out", str(out), "--seconds",
                        "2", "--channels", "depth"], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    n = int(r.stdout.split("recorded ")[1].split()[0])
    assert n > 5 and out.stat().st_size > 0
    r = subprocess.run([sys.executable, "-m", "engine.cli", "replay", str(out), "--config", cfg],
                       capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("replayed "))
    assert "errors {}" in line and int(line.split("(")[1].split()[0]) > 0, line
    assert "order latency fixed 100 us" in r.stdout


@pytest.mark.slow
def test_sigterm_graceful_shutdown_cancels_and_flushes(tmp_path):
    """SIGTERM: no new orders, open quotes cancelled at the venue, every order persisted in a final state."""
    import signal
    import sqlite3
    import time

    db = tmp_path / "mm.sqlite"
    cfg = (ROOT / "bots" / "market_maker" / "config.toml").read_text().replace(
        'path = "hotpath-data/market_maker.sqlite"', f'path = "{db}"')
    (tmp_path / "config.toml").write_text(cfg)
    env = child_env()
    p = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", str(ROOT / "bots" / "market_maker"), "--config",
                          str(tmp_path / "config.toml"), "--report-dir", str(tmp_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        for line in p.stdout:
            if "orders=" in line and int(line.split("orders=")[1].split()[0]) >= 4:
                break
            assert time.monotonic() < deadline, "bot did not start quoting"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err[-2000:]
    assert "stopped (SIGTERM)" in out
    rows = sqlite3.connect(db).execute("SELECT status, COUNT(*) FROM orders GROUP BY status").fetchall()
    by_status = dict(rows)
    assert sum(by_status.values()) >= 4
    live = {s: n for s, n in by_status.items() if s in ("pending_new", "new", "partially_filled", "unknown")}
    assert not live, by_status                     # quotes were cancelled and the store flushed
    assert by_status.get("canceled", 0) >= 1


def test_offline_build_applies_risk_limits_from_config():
    """Bot._build_core: instruments into the Context, limits from [risk]/[[instruments]] into the RiskGate."""
    from engine.bot import Bot, _NoSim
    from engine.config import load_config

    cfg = load_config(ROOT / "bots" / "spread" / "config.toml")
    bot = Bot(cfg, sim=_NoSim())
    bot._build_core()
    assert [i.symbol for i in bot.table] == ["BTCUSDT", "BTC-USDT-SWAP"]
    assert bot.ctx.instrument(1).contract_mult == 0.01
    a, b = bot.risk.limits(0), bot.risk.limits(1)
    assert a["max_position"] == 50 and b["max_position"] == 500          # "0.05" BTC and "5" contracts in units
    assert a["max_notional"] == 5000.0 and a["max_book_age_ns"] == 2_000_000_000
    g = bot.risk.global_limits()
    assert g["rate_per_s"] == 50.0 and g["max_daily_loss"] == 500.0 and g["max_open_orders"] == 20
    assert set(bot.books) == {0, 1}                                       # both legs keep a full L2 book
    assert type(bot.strategy).__name__ == "SpreadStrategy" and bot.strategy.leg_b == 1


async def test_order_connection_drop_falls_back_to_router_and_reconnects(tmp_path):
    """The venue drops the compiled path's order WebSocket: orders keep flowing through the router, and the
    connection comes back (logged in) and is handed to the pipeline again."""
    from engine.bot import Bot, BotOptions, demo_config

    cfg = demo_config("market_maker")
    bot = Bot(cfg, options=BotOptions(report=False, print_fn=lambda s: None))
    await bot.start()
    try:
        venue = 2  # binance_usdm
        first = bot.order_conns[venue]
        for _ in range(100):
            if bot.counters.orders_sent >= 2:
                break
            await asyncio.sleep(0.05)
        assert bot.counters.orders_sent >= 2
        bot.sim.inject("binance_usdm", "drop", target="trade")
        for _ in range(200):
            await asyncio.sleep(0.05)
            if bot.order_conns.get(venue) not in (None, first):
                break
        again = bot.order_conns.get(venue)
        assert again is not None and again is not first
        assert bot.pipeline.order_transport(venue) is again
        sent = bot.counters.orders_sent
        for _ in range(100):
            if bot.counters.orders_sent > sent:
                break
            await asyncio.sleep(0.05)
        assert bot.counters.orders_sent > sent          # the compiled path writes on the new connection
    finally:
        await bot.stop()


async def test_large_trade_alerts_from_the_sim_reach_the_context():
    """signals.large_trade_notional > 0: public trades of the sim raise ENG_SIG_LARGE_TRADE (signed notional)."""
    from engine.bot import Bot, BotOptions, demo_config

    cfg = demo_config("market_maker")
    cfg.signals.large_trade_notional = 100.0      # 0.002 BTC at 50k: every synthetic print qualifies
    bot = Bot(cfg, options=BotOptions(report=False, print_fn=lambda s: None))
    await bot.start()
    try:
        for _ in range(100):
            value, ts = bot.ctx.slow(0, 5)          # ENG_SIG_LARGE_TRADE
            if ts:
                break
            await asyncio.sleep(0.05)
        assert ts > 0 and abs(value) >= 100.0
    finally:
        await bot.stop()


async def test_bot_calls_on_timer_which_cancels_stale_quotes():
    """runtime.timer_ms: the bot calls the strategy's on_timer periodically through the pipeline; the hook's
    intents go out like any other (here a stale resting quote is cancelled at the sim)."""
    import time as _time

    from engine.bot import Bot, BotOptions, demo_config
    from engine.strategy import PyStrategy

    class StaleCanceller(PyStrategy):
        """Posts one passive bid far below the touch, then cancels it from on_timer once older than 150 ms."""

        def __init__(self, ctx=None):
            super().__init__(ctx)
            self.placed: dict[int, int] = {}
            self.timer_calls = 0
            self.cancelled: list[int] = []

        def on_book_py(self, inst):
            t = self.context.top(inst)
            if not self.placed and not self.cancelled and t["valid"] and t["bid_px"] > 0:
                cid = self.buy(inst, t["bid_px"] - 200, 10)      # 20.0 below the bid: rests
                self.placed[cid] = _time.monotonic_ns()

        def on_timer_py(self, now_ns):
            self.timer_calls += 1
            for cid, t in list(self.placed.items()):
                if now_ns - t > 150_000_000:
                    self.cancel(0, cid)
                    self.cancelled.append(cid)
                    del self.placed[cid]

    cfg = demo_config("market_maker")
    cfg.runtime.timer_ms = 20
    strat = StaleCanceller()
    bot = Bot(cfg, strategy=strat, options=BotOptions(report=False, print_fn=lambda s: None))
    await bot.start()
    try:
        for _ in range(200):
            orders = bot.sim.orders("binance_usdm")
            if strat.cancelled and orders and all(o.status == "CANCELED" for o in orders):
                break
            await asyncio.sleep(0.025)
        assert strat.timer_calls >= 5 and bot.counters.timers == strat.timer_calls
        assert len(strat.cancelled) == 1
        orders = bot.sim.orders("binance_usdm")
        assert len(orders) == 1 and orders[0].status == "CANCELED", orders
    finally:
        await bot.stop()


async def test_timer_off_when_timer_ms_is_zero():
    from engine.bot import Bot, BotOptions, demo_config
    from engine.strategy import PyStrategy

    class Counting(PyStrategy):
        calls = 0

        def on_timer_py(self, now_ns):
            type(self).calls += 1

    cfg = demo_config("market_maker")
    cfg.runtime.timer_ms = 0
    bot = Bot(cfg, strategy=Counting(), options=BotOptions(report=False, print_fn=lambda s: None))
    await bot.start()
    try:
        await asyncio.sleep(0.3)
        assert Counting.calls == 0 and bot.counters.timers == 0
    finally:
        await bot.stop()


async def test_busy_poll_bot_spins_compiled_over_its_connections_and_trades():
    """runtime.busy_poll: the bot polls its market and order sockets with the compiled BusySpin (re-pointed
    after reconnects) and still trades; stop() ends the spin. Pins this process, so the mask is restored."""
    from engine.bot import Bot, BotOptions, demo_config
    from engine.pipeline import BusySpin

    mask = os.sched_getaffinity(0)
    cfg = demo_config("market_maker")
    bot = Bot(cfg, options=BotOptions(report=False, print_fn=lambda s: None, busy_poll=True, cpu=min(mask)))
    try:
        await bot.start()
        spin = bot._poller
        assert isinstance(spin, BusySpin) and spin.running
        for _ in range(200):
            if bot.counters.orders_sent >= 2:
                break
            await asyncio.sleep(0.05)
        assert bot.counters.orders_sent >= 2
        assert len(bot._spin_ids) >= 2                  # market-data and order connections are polled
        assert spin.stats["rounds"] > 10 and spin.stats["polls"] > spin.stats["rounds"]
    finally:
        await bot.stop()
        os.sched_setaffinity(0, mask)
    assert not spin.running
