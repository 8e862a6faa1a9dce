# SPDX-License-Identifier: Apache-2.0
"""hotpath replay: a real fixture recording through adapters + Pipeline + strategy, orders filled by the sim's
matching engine (engine.sim.matching) on the recorded book, with a fixed or histogram-drawn order latency."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.latency import STAGES

ACK, T2T = STAGES.index("ack"), STAGES.index("tick_to_trade")

STRATEGY = '''
from engine.strategy import PyStrategy


class Joiner(PyStrategy):
    """Joins the best bid and ask with one order each; re-joins after a fill; counts timer calls."""

    def __init__(self, ctx=None, size=10, taker_first=0):
        super().__init__(ctx)
        self.size, self.taker_first = int(size), int(taker_first)
        self.bid = self.ask = 0
        self.timer_ns = []

    def on_book_py(self, inst):
        t = self.context.top(inst)
        if not t["valid"]:
            return
        if self.taker_first:
            self.taker_first = 0
            self.buy(inst, t["ask_px"] + 50, self.size * 100, 2)      # IOC through several ask levels
        if not self.bid:
            self.bid = self.buy(inst, t["bid_px"], self.size)
        if not self.ask:
            self.ask = self.sell(inst, t["ask_px"], self.size)

    def on_fill_py(self, f):
        if f["client_id"] == self.bid:
            self.bid = 0
        if f["client_id"] == self.ask:
            self.ask = 0

    def on_timer_py(self, now_ns):
        self.timer_ns.append(now_ns)
'''

CONFIG = '''
[bot]
name = "replay_test"
strategy = "{strategy}:Joiner"
params = {{ size = 10, taker_first = {taker_first} }}

[[instruments]]
venue = "binance_usdm"
symbol = "SUSHIUSDT"
tick_size = "0.001"
lot_size = "1"

[risk]
max_order_notional = 100000.0
max_quote_age_ms = 0

[runtime]
timer_ms = {timer_ms}
'''


@pytest.fixture
def sushi(tmp_path, fixtures_dir):
    """The SUSHIUSDT USD-M recording (bookTicker, depth@100ms, aggTrade) + its REST snapshot, converted."""
    from engine.instruments import Venue
    from engine.recorder import convert_fixture

    d = fixtures_dir / "binance" / "usdm_futures"
    rec = tmp_path / "sushi.hprec"
    convert_fixture([d / "ws_combined_SUSHIUSDT.jsonl"], rec, Venue.BINANCE_USDM,
                    [("SUSHIUSDT", d / "rest_depth_snapshot_SUSHIUSDT.json", None)])
    (tmp_path / "strategy.py").write_text(STRATEGY)
    return rec


def _config(tmp_path: Path, taker_first: int = 0, timer_ms: int = 0) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(CONFIG.format(strategy=tmp_path / "strategy.py", taker_first=taker_first, timer_ms=timer_ms))
    return p


def _offline_bot(cfg_path: Path):
    from engine.bot import Bot, _NoSim, _load_bot_config

    cfg = _load_bot_config(str(cfg_path.parent), str(cfg_path))
    bot = Bot(cfg, sim=_NoSim())
    bot._build_core()
    return bot


def _run(capsys, *argv) -> str:
    from engine.cli import main

    assert main(["replay", *map(str, argv)]) == 0
    return capsys.readouterr().out


def _fills(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith("fill ")]


def test_replay_fixture_through_sim_matching(tmp_path, sushi, capsys):
    """Every order of the strategy goes to the matching engine; resting quotes fill as maker at their own price
    (recorded trades and trade-throughs), the strategy's position follows the fills."""
    cfg = _config(tmp_path)
    out = _run(capsys, sushi, "--config", cfg, "--latency-us", "100", "--fills")
    line = next(ln for ln in out.splitlines() if ln.startswith("replayed "))
    assert "errors {}" in line and int(line.split("(")[1].split()[0]) > 500, line
    fills = _fills(out)
    assert len(fills) >= 5, out
    assert all(" maker " in f for f in fills)           # only passive quotes: every fill is a maker fill
    net = sum((1 if " buy " in f else -1) * int(f.split(" @ ")[0].split()[-1]) for f in fills)
    pos = next(ln for ln in out.splitlines() if ln.startswith("position binance_usdm:SUSHIUSDT:"))
    assert int(pos.split(": ")[1].split()[0]) == net    # Context position == the sum of the sim's fills
    assert "order latency fixed 100 us: n=" in out and "PnL " in out and "per-stage latency" in out


def test_replay_taker_order_walks_recorded_levels(tmp_path, sushi, capsys):
    """An IOC buy larger than the best ask takes the recorded ask levels one by one, as taker."""
    out = _run(capsys, sushi, "--config", _config(tmp_path, taker_first=1), "--latency-us", "0", "--fills")
    takers = [f for f in _fills(out) if " taker " in f]
    assert len(takers) >= 2, out                         # more than one recorded level was taken
    pxs = [float(f.split(" @ ")[1].split()[0]) for f in takers]
    assert pxs == sorted(pxs) and pxs[0] < pxs[-1]      # best ask first, then the next levels up


def test_replay_is_deterministic_for_a_seed_and_latency_shifts_fills(tmp_path, sushi, capsys):
    from engine.latency import LatencyRecorder
    from engine.report import write_histograms_json

    cfg = _config(tmp_path)
    # a measured-looking histogram: order latency around 0.3-1.2 s of recorded time
    rec = LatencyRecorder()
    for i in range(1000):
        rec.record(ACK, 300_000_000 + (i * 7919 % 900) * 1_000_000)
    report = write_histograms_json(rec, tmp_path / "bot-report.json", {"bot": "x"})
    a = _run(capsys, sushi, "--config", cfg, "--latency-from", report, "--seed", "3", "--fills")
    b = _run(capsys, sushi, "--config", cfg, "--latency-from", report, "--seed", "3", "--fills")
    assert _fills(a) == _fills(b) and _fills(a)
    assert "order latency bot-report.json [ack]: n=" in a
    fast = _run(capsys, sushi, "--config", cfg, "--latency-us", "0", "--fills")
    assert _fills(fast) != _fills(a)                     # the latency model moves when (and whether) orders fill
    slow = _run(capsys, sushi, "--config", cfg, "--latency-us", "2000000", "--fills")
    assert len(_fills(slow)) < len(_fills(fast))


def test_queue_position_behind_displayed_size(tmp_path):
    """The sim's rule on the recorded book: a bid joining a level of 30 fills only after 30 traded ahead of it;
    a recorded ask reaching its price fills the rest completely at its own price."""
    from engine.replay import LatencyModel, SimReplay

    (tmp_path / "strategy.py").write_text(STRATEGY)
    bot = _offline_bot(_config(tmp_path))
    inst = next(iter(bot.table))
    book = bot.books[inst.id]
    book.apply_snapshot([("7.610", "30"), ("7.609", "50")], [("7.612", "40"), ("7.613", "60")], 100)
    sim = SimReplay(bot, LatencyModel.fixed(1000))
    sim.mirror(inst)
    cid = bot.strategy.buy(inst.id, inst.px_to_units("7.610"), 20)
    bot.pipeline.flush()                                         # risk gate -> pending (no order transport)
    sim.collect(0)
    sim.before_frame(999)
    assert not sim.engines[int(inst.venue)].open_orders()        # not arrived yet (1 µs latency)
    sim.before_frame(1000)
    (o,) = sim.engines[int(inst.venue)].open_orders()
    assert o.ahead == 30 and bot.ctx.position(inst.id)["open_orders"] == 1
    px = inst.px_to_units("7.610")
    sim.trade(inst.id, px, 25, False)                            # 25 sold into the bid: all ahead of us
    assert not sim.stats.fills and o.ahead == 5
    sim.trade(inst.id, px, 12, False)                            # 5 ahead, then 7 of ours
    assert [(f.sz, f.maker, f.client_id) for f in sim.stats.fills] == [("7", True, cid)]
    assert bot.ctx.position(inst.id)["sz"] == 7
    book.apply_snapshot([("7.608", "10")], [("7.610", "5"), ("7.612", "40")], 101)   # the ask reaches our bid
    sim.mirror(inst)
    assert [f.sz for f in sim.stats.fills] == ["7", "13"] and sim.stats.fills[1].px == "7.610"
    assert bot.ctx.position(inst.id)["sz"] == 20 and not sim.engines[int(inst.venue)].open_orders()
    assert bot.ctx.position(inst.id)["open_orders"] == 0


def test_replay_calls_on_timer_in_recorded_time(tmp_path, sushi):
    from engine.replay import LatencyModel, replay

    bot = _offline_bot(_config(tmp_path, timer_ms=500))
    res = replay(bot, sushi, LatencyModel.fixed(0))
    ts = bot.strategy.timer_ns
    assert len(ts) > 10 and all(b - a == 500_000_000 for a, b in zip(ts, ts[1:], strict=False))
    assert ts[0] > 1_600_000_000 * 10**9                          # recorded (2021) time, not the wall clock
    assert res.stats.frames > 500


def test_latency_model_draws_inside_buckets_and_rejects_bad_input(tmp_path):
    from engine.latency import LatencyRecorder
    from engine.replay import LatencyModel
    from engine.report import write_histograms_json

    rec = LatencyRecorder()
    for v in (10_000, 10_050, 2_000_000):
        rec.record(ACK, v)
    rec.record(T2T, 5_000)
    p = write_histograms_json(rec, tmp_path / "r.json")
    m = LatencyModel.from_report(p, ["ack"], seed=1)
    draws = [m.sample() for _ in range(300)]
    assert all(9_900 <= d <= 10_200 or 1_960_000 <= d <= 2_040_000 for d in draws)
    assert 150 < sum(d < 100_000 for d in draws) < 260               # two thirds of the mass near 10 µs
    again = LatencyModel.from_report(p, ["ack"], seed=1)
    assert draws == [again.sample() for _ in range(300)]             # same seed, same draws
    both = LatencyModel.from_report(p, ["tick_to_trade", "ack"], seed=1).sample()
    assert both >= 5_000 + 9_900
    with pytest.raises(ValueError, match="stage 'risk' has no samples"):
        LatencyModel.from_report(p, ["risk"])
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a latency histogram file"):
        LatencyModel.from_report(tmp_path / "bad.json")


def test_cli_latency_errors_are_one_line(tmp_path, sushi, capsys):
    from engine.cli import main

    cfg = _config(tmp_path)
    assert main(["replay", str(sushi), "--config", str(cfg), "--latency-from", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hotpath: error: --latency-from:") and "\n" not in err
    assert main(["replay", str(sushi), "--config", str(cfg), "--latency-us", "5",
                 "--latency-from", str(tmp_path / "x.json")]) == 2
    assert "either --latency-us or --latency-from" in capsys.readouterr().err


def test_bot_report_writes_histogram_json_next_to_html(tmp_path):
    from engine.latency import LatencyRecorder
    from engine.replay import LatencyModel
    from engine.report import write_report

    rec = LatencyRecorder()
    rec.record(ACK, 40_000)
    html, png = write_report(rec, tmp_path, None, {"bot": "t"})
    j = html.with_suffix(".json")
    assert j.exists() and png.exists()
    assert 39_000 <= LatencyModel.from_report(j).sample() <= 41_000


def test_recorded_trade_never_sweeps_beyond_its_price(tmp_path):
    """A print of 100 at 7.612 when only 40 shows there must not reach our ask one tick higher."""
    from engine.replay import LatencyModel, SimReplay

    (tmp_path / "strategy.py").write_text(STRATEGY)
    bot = _offline_bot(_config(tmp_path))
    inst = next(iter(bot.table))
    bot.books[inst.id].apply_snapshot([("7.610", "30")], [("7.612", "40"), ("7.613", "60")], 100)
    sim = SimReplay(bot, LatencyModel.fixed(0))
    sim.mirror(inst)
    bot.strategy.sell(inst.id, inst.px_to_units("7.613"), 10)
    bot.pipeline.flush()
    sim.collect(0)
    sim.before_frame(0)
    (o,) = sim.engines[int(inst.venue)].open_orders()
    assert o.ahead == 60
    sim.trade(inst.id, inst.px_to_units("7.612"), 100, True)
    assert not sim.stats.fills and o.ahead == 60
    sim.trade(inst.id, inst.px_to_units("7.613"), 65, True)          # 60 ahead, then 5 of ours
    assert [(f.sz, f.px, f.side) for f in sim.stats.fills] == [("5", "7.613", -1)]
    assert bot.ctx.position(inst.id)["sz"] == -5


def test_replay_fixture_jsonl_directly_equals_converted(tmp_path, sushi, fixtures_dir, capsys):
    """A fixture .jsonl with --snapshot SYMBOL=FILE gives the same replay as the converted recording."""
    d = fixtures_dir / "binance" / "usdm_futures"
    cfg = _config(tmp_path)
    a = _run(capsys, sushi, "--config", cfg, "--fills")
    b = _run(capsys, d / "ws_combined_SUSHIUSDT.jsonl", "--config", cfg, "--fills",
             "--snapshot", f"SUSHIUSDT={d / 'rest_depth_snapshot_SUSHIUSDT.json'}")
    assert _fills(a) == _fills(b) and _fills(a)
