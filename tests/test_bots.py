# SPDX-License-Identifier: Apache-2.0
"""Example bots: decision logic of each strategy on a Context (compiled and Python side by side), and each
bot trading against the simulated exchange through the whole engine (hotpath demo --no-live)."""
from __future__ import annotations

import pytest

from tests._bots_util import bot_module, child_env, two_venue_ctx

SIG_FUNDING, SIG_EXTERNAL = 0, 6
BUY, SELL, MARKET, LIMIT, IOC, POST_ONLY, REDUCE_ONLY, NEW, CANCEL = 1, -1, 2, 1, 2, 4, 1, 1, 2


@pytest.mark.parametrize("bot", ["signal_py", "signal_cy"])
def test_signal_bot_entries_filter_and_reduce_only_exit(bot):
    mod = bot_module(bot)
    ctx, _ = two_venue_ctx()
    s = mod.SignalStrategy(ctx, entry=0.5, exit=0.1, max_funding=0.0005, size="0.01", cooldown_ms=0)
    ctx.set_top(0, 500000, 1000, 500010, 3000)
    # no score yet: nothing
    s.deliver_quote(0, 500000, 1000, 500010, 3000)
    assert s.drain_intents() == []
    # strong long score but funding too expensive for longs: filtered
    ctx.set_slow(0, SIG_EXTERNAL, 0.8)
    ctx.set_slow(0, SIG_FUNDING, 0.001)
    s.deliver_quote(0, 500000, 1000, 500010, 3000)
    assert s.drain_intents() == []
    # funding fine: market buy of 0.01 BTC = 10 units
    ctx.set_slow(0, SIG_FUNDING, 0.0001)
    s.deliver_quote(0, 500000, 1000, 500010, 3000)
    (it,) = s.drain_intents()
    assert (it["kind"], it["side"], it["ord_type"], it["sz"], it["flags"]) == (NEW, BUY, MARKET, 10, 0)
    # an open order blocks further entries
    ctx.set_open_orders(0, 1, 10, 0)
    s.deliver_quote(0, 500000, 1000, 500010, 3000)
    assert s.drain_intents() == []
    # filled: long 10 units; score still strong -> hold
    ctx.set_open_orders(0, 0)
    ctx.set_position(0, 10, 50000.0)
    s.deliver_quote(0, 500000, 1000, 500010, 3000)
    assert s.drain_intents() == []
    # score fades inside exit -> reduce-only market sell of the whole position
    ctx.set_slow(0, SIG_EXTERNAL, 0.05)
    s.deliver_quote(0, 500000, 1000, 500010, 3000)
    (it,) = s.drain_intents()
    assert (it["side"], it["ord_type"], it["sz"], it["flags"]) == (SELL, MARKET, 10, REDUCE_ONLY)
    # short side: negative score with funding paying shorts
    ctx.set_position(0, 0)
    ctx.set_slow(0, SIG_EXTERNAL, -0.9)
    ctx.set_slow(0, SIG_FUNDING, -0.0001)
    s.deliver_quote(0, 500000, 1000, 500010, 3000)
    (it,) = s.drain_intents()
    assert (it["side"], it["ord_type"]) == (SELL, MARKET)
    # expired score (ts 0) -> nothing
    ctx.set_slow(0, SIG_EXTERNAL, 0.0, ts_ns=0)
    ctx.set_position(0, -10, 50000.0)
    s.deliver_quote(0, 500000, 1000, 500010, 3000)
    assert s.drain_intents() == []


def test_signal_bot_python_and_compiled_agree():
    """Same event sequence, same intents (client ids aside)."""
    out = []
    for bot in ("signal_py", "signal_cy"):
        mod = bot_module(bot)
        ctx, _ = two_venue_ctx()
        s = mod.SignalStrategy(ctx, entry=0.3, exit=0.05, size="0.02", cooldown_ms=0)
        seq = []
        for k, (score, pos) in enumerate([(0.1, 0), (0.4, 0), (0.4, 20), (0.0, 20), (-0.6, 0), (-0.01, -20)]):
            ctx.set_slow(0, SIG_EXTERNAL, score)
            ctx.set_position(0, pos, 50000.0 if pos else 0.0)
            s.deliver_quote(0, 500000 + k, 1000, 500010 + k, 3000)
            seq.append([(i["side"], i["ord_type"], i["sz"], i["flags"]) for i in s.drain_intents()])
        out.append(seq)
    assert out[0] == out[1]
    assert out[0] == [[], [(BUY, MARKET, 20, 0)], [], [(SELL, MARKET, 20, REDUCE_ONLY)], [(SELL, MARKET, 20, 0)],
                      [(BUY, MARKET, 20, REDUCE_ONLY)]]


def test_market_maker_quotes_around_microprice_with_inventory_skew():
    mod = bot_module("market_maker")
    ctx, _ = two_venue_ctx()
    mm = mod.MarketMaker(ctx, inst=0, half_spread_ticks=2.0, skew_ticks=4.0, size="0.01", max_position="0.05",
                         requote_ticks=1, min_requote_ms=0)
    # bid 50000.0 x 1.0, ask 50001.0 x 3.0: microprice 50000.25 (leans to the thin bid)
    ctx.set_top(0, 500000, 1000, 500010, 3000)
    mm.deliver_book(0)
    bid, ask = mm.drain_intents()
    assert (bid["side"], bid["tif"], bid["sz"]) == (BUY, POST_ONLY, 10)
    assert (ask["side"], ask["tif"], ask["sz"]) == (SELL, POST_ONLY, 10)
    assert bid["px"] == 500000 and ask["px"] == 500005      # floor(micro - 2 ticks) / ceil(micro + 2 ticks)
    # unchanged book: no requote
    mm.deliver_book(0)
    assert mm.drain_intents() == []
    # long 0.025 (half the max): centre shifts down by 2 ticks -> cancel + requote both sides lower
    ctx.set_position(0, 25, 50000.0)
    mm.deliver_book(0)
    its = mm.drain_intents()
    cancels = [i for i in its if i["kind"] == CANCEL]
    assert sorted(c["target_id"] for c in cancels) == [bid["client_id"], ask["client_id"]]
    new = {i["side"]: i["px"] for i in its if i["kind"] == NEW}
    assert new[BUY] == 499998 and new[SELL] == 500003
    # at the long limit only the ask is quoted
    ctx.set_position(0, 50, 50000.0)
    mm.deliver_book(0)
    new = [i for i in mm.drain_intents() if i["kind"] == NEW]
    assert [i["side"] for i in new] == [SELL]


def test_spread_bot_trades_both_legs_in_one_hook():
    mod = bot_module("spread")
    ctx, _ = two_venue_ctx()
    sp = mod.SpreadStrategy(ctx, leg_a=0, leg_b=1, entry_bps=3.0, exit_bps=0.5, size="0.01", cooldown_ms=0)
    ctx.set_top(0, 500000, 1000, 500010, 1000)   # Binance 50000.0 / 50001.0
    ctx.set_top(1, 500020, 500, 500030, 500)     # OKX 50002.0 / 50003.0: 0.2 bps, nothing
    sp.deliver_book(1)
    assert sp.drain_intents() == []
    ctx.set_top(1, 500040, 500, 500050, 500)     # OKX bid 50004.0 > Binance ask by 0.6 bps... still < 3
    sp.deliver_book(1)
    assert sp.drain_intents() == []
    ctx.set_top(1, 500300, 500, 500310, 500)     # OKX bid 50030.0: +5.8 bps over Binance ask
    sp.deliver_book(1)
    a, b = sp.drain_intents()
    assert (a["inst"], a["side"], a["px"], a["sz"], a["tif"]) == (0, BUY, 500010, 10, IOC)     # 0.01 BTC
    assert (b["inst"], b["side"], b["px"], b["sz"], b["tif"]) == (1, SELL, 500300, 100, IOC)   # 1 contract
    # positions on; spread collapses -> unwind both legs reduce-only
    ctx.set_position(0, 10, 50001.0)
    ctx.set_position(1, -100, 50030.0)
    ctx.set_top(1, 500005, 500, 500015, 500)
    sp.deliver_book(1)
    a, b = sp.drain_intents()
    assert (a["inst"], a["side"], a["sz"], a["flags"]) == (0, SELL, 10, REDUCE_ONLY)
    assert (b["inst"], b["side"], b["sz"], b["flags"]) == (1, BUY, 100, REDUCE_ONLY)
    # an invalid book on either leg stops everything
    ctx.set_position(0, 0)
    ctx.set_position(1, 0)
    ctx.set_top(1, 500300, 500, 500310, 500, valid=False)
    sp.deliver_book(1)
    assert sp.drain_intents() == []


def test_bench_strategy_orders_every_nth():
    mod = bot_module("bench")
    ctx, _ = two_venue_ctx()
    s = mod.BenchStrategy(ctx, every=10)
    for u in range(1, 31):
        s.deliver_quote(0, 500000 + u, 1000, 500100, 1000, update_id=u)
    its = s.drain_intents()
    assert [i["px"] for i in its] == [500010, 500020, 500030]
    assert all(i["tif"] == IOC and i["sz"] == 1 for i in its)


# ---- each bot trading against the simulated exchange through the whole engine --------------------------


def _run_cli(argv: list[str], timeout: float = 120):
    import subprocess
    import sys

    from tests._bots_util import ROOT

    env = child_env()
    return subprocess.run([sys.executable, "-m", "engine.cli", *argv], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def _final(stdout: str) -> dict[str, float]:
    from tests.test_bot import parse_final

    return parse_final(stdout)


@pytest.mark.slow
def test_market_maker_runs_from_its_config_against_the_sim(tmp_path):
    from tests._bots_util import BOTS

    cfg = (BOTS / "market_maker" / "config.toml").read_text().replace(
        'path = "hotpath-data/market_maker.sqlite"', f'path = "{tmp_path / "mm.sqlite"}"')
    (tmp_path / "config.toml").write_text(cfg)
    r = _run_cli(["run", str(BOTS / "market_maker"), "--config", str(tmp_path / "config.toml"), "--seconds", "8",
                  "--report-dir", str(tmp_path)])
    assert r.returncode == 0, r.stderr[-2000:]
    f = _final(r.stdout)
    assert f["ticks"] > 0 and f["orders"] > 0, r.stdout[-1500:]
    assert f["fills"] > 0, r.stdout[-1500:]            # quotes at the touch get swept within seconds
    assert (tmp_path / "mm.sqlite").exists()            # persistence went where the config said


@pytest.mark.slow
def test_signal_py_demo_trades_against_the_sim(tmp_path):
    r = _run_cli(["demo", "--bot", "signal_py", "--seconds", "6", "--no-live", "--report-dir", str(tmp_path)])
    assert r.returncode == 0, r.stderr[-2000:]
    f = _final(r.stdout)
    assert f["orders"] > 0 and f["fills"] > 0, r.stdout[-1500:]


@pytest.mark.slow
def test_spread_demo_trades_both_venues_against_the_sim(tmp_path):
    r = _run_cli(["demo", "--bot", "spread", "--seconds", "6", "--no-live", "--report-dir", str(tmp_path)])
    assert r.returncode == 0, r.stderr[-2000:]
    f = _final(r.stdout)
    assert f["orders"] >= 2 and f["fills"] >= 2, r.stdout[-1500:]
    status = [ln for ln in r.stdout.splitlines() if ln.startswith("[")]
    assert "BTCUSDT@binance_usdm" in status[-1] and "BTC-USDT-SWAP@okx" in status[-1]


def test_docs_strategy_examples_compile_and_agree(tmp_path):
    """The Python and Cython examples in docs/strategies.md build, run and emit the same order."""
    import importlib.util
    import re

    from engine.build import compile_strategy
    from tests._bots_util import ROOT

    text = (ROOT / "docs" / "strategies.md").read_text()
    blocks = dict((lang, code) for lang, code in re.findall(r"```(cython|python)\n(.*?)```", text, re.S))
    (tmp_path / "doc_momentum.pyx").write_text(blocks["cython"])
    (tmp_path / "doc_momentum_py.py").write_text(blocks["python"])
    spec = importlib.util.spec_from_file_location("doc_momentum_py", tmp_path / "doc_momentum_py.py")
    pymod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pymod)
    out = []
    for cls in (compile_strategy(tmp_path / "doc_momentum.pyx").Momentum, pymod.Momentum):
        ctx, _ = two_venue_ctx()
        s = cls(ctx, size="0.01")
        s.deliver_quote(0, 500000, 1, 500010, 1)
        s.deliver_quote(0, 500010, 1, 500020, 1)
        out.append([(i["side"], i["px"], i["sz"], i["tif"]) for i in s.drain_intents()])
    assert out[0] == out[1] == [(BUY, 500020, 10, IOC)]


async def test_spread_one_hook_reads_binance_and_okx_books_through_the_real_feeds():
    """The spread bot in-process against the sim: both books are built by FeedManager from the sim's real
    Binance USD-M and OKX streams (adapters, picows, decoder, book sync), and one nogil hook call emits both
    legs: each pair of orders written carries the same trigger receive stamp, one on each venue."""
    import asyncio

    from engine.bot import Bot, BotOptions, demo_config
    from engine.feed import FeedManager

    cfg = demo_config("spread")
    bot = Bot(cfg, options=BotOptions(report=False, print_fn=lambda s: None))
    sent: list[dict] = []
    await bot.start()
    orig = bot._register_sent
    bot._register_sent = lambda recs: (sent.extend(recs), orig(recs))
    try:
        assert isinstance(bot.feeds, FeedManager)
        for _ in range(300):
            by_t: dict[int, set] = {}
            for d in sent:
                if d["kind"] == 1:
                    by_t.setdefault(d["t_recv"], set()).add((d["venue"], d["inst"], d["side"]))
            pairs = [v for v in by_t.values() if {x[0] for x in v} == {2, 4}]
            if pairs and bot.sim.fills("binance_usdm") and bot.sim.fills("okx"):
                break
            await asyncio.sleep(0.05)
        assert bot.ctx.top(0)["valid"] and bot.ctx.top(1)["valid"]
        assert pairs, sent[:6]
        (a, b) = sorted(pairs[0])
        assert (a[1], b[1]) == (0, 1) and a[2] == -b[2]                 # opposite sides on the two venues
        assert bot.sim.fills("binance_usdm") and bot.sim.fills("okx")    # both legs traded at the sim
    finally:
        await bot.stop()


async def test_multi_venue_config_four_venues_one_loop(tmp_path):
    """bots/multi_venue: Binance USD-M, Bybit, OKX and Bitget against endpoints = "sim" in one process and one
    event loop; every book becomes valid and the one strategy receives updates from all four."""
    import asyncio

    from engine.bot import Bot, BotOptions, _load_bot_config
    from engine.instruments import Venue
    from tests._bots_util import BOTS

    cfg = _load_bot_config(str(BOTS / "multi_venue"), str(BOTS / "multi_venue" / "config.toml"))
    cfg.persistence.path = str(tmp_path / "mv.sqlite")
    assert {ic.venue for ic in cfg.instruments} == {"binance_usdm", "bybit", "okx", "bitget"}
    bot = Bot(cfg, options=BotOptions(report=False, print_fn=lambda s: None))
    await bot.start()
    try:
        s = bot.strategy
        ids = [i.id for i in bot.table]
        for _ in range(300):
            if all(bot.ctx.top(i)["valid"] for i in ids) and all(s.updates.get(i, 0) >= 3 for i in ids):
                break
            await asyncio.sleep(0.05)
        assert {bot.table.by_id[i].venue for i in ids} == {Venue.BINANCE_USDM, Venue.BYBIT, Venue.OKX, Venue.BITGET}
        assert all(bot.ctx.top(i)["valid"] for i in ids), [bot.ctx.top(i) for i in ids]
        assert all(s.updates.get(i, 0) >= 3 for i in ids), s.updates
        assert s.best_edge_bps > float("-inf")            # read all books together on an update
        for inst in bot.table:                             # each book equals the venue's (sim's) top of book
            book = bot.books[inst.id]
            bids, asks = book.top(1)
            assert bids and asks and float(bids[0][0]) < float(asks[0][0])
        # the order-path warm-up cycles through every instrument; Bitget (no WS order entry) is skipped, not fatal
        await asyncio.sleep(0.6)
        assert not bot.stop_event.is_set(), bot.stop_reason
        assert bot.counters.warmups > 0
    finally:
        await bot.stop()


@pytest.mark.slow
def test_multi_venue_hotpath_run(tmp_path):
    """hotpath run bots/multi_venue: one process, four venues, ticks from all of them, clean stop."""
    from tests._bots_util import BOTS

    cfg = (BOTS / "multi_venue" / "config.toml").read_text().replace(
        'path = "hotpath-data/multi_venue.sqlite"', f'path = "{tmp_path / "mv.sqlite"}"')
    (tmp_path / "config.toml").write_text(cfg)
    r = _run_cli(["run", str(BOTS / "multi_venue"), "--config", str(tmp_path / "config.toml"), "--seconds", "4",
                  "--no-report"])
    assert r.returncode == 0, r.stderr[-2000:]
    f = _final(r.stdout)
    assert f["ticks"] > 20 and f["orders"] == 0, r.stdout[-1500:]
    status = [ln for ln in r.stdout.splitlines() if ln.startswith("[")]
    for name in ("BTCUSDT@binance_usdm", "BTCUSDT@bybit", "BTC-USDT-SWAP@okx", "BTCUSDT@bitget"):
        assert name in status[-1], status[-1:]
    assert "Traceback" not in r.stderr
