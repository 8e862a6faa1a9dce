# SPDX-License-Identifier: Apache-2.0
"""engine.strategy: Context state, Python-override rejection, intent ring, PyStrategy, compiled hooks."""
from __future__ import annotations

import math

import pytest

from engine.errors import StrategyError, rc_name
from engine.instruments import Instrument, Venue
from engine.strategy import Context, PyStrategy, Strategy
import engine.strategy as S

from _hotpath_util import BTC, ETH_PERP, build_test_strategy


@pytest.fixture(scope="module")
def probe_mod(tmp_path_factory):
    return build_test_strategy("probe", tmp_path_factory.mktemp("hp-cache"))


@pytest.fixture
def ctx():
    c = Context()
    c.add_instrument(BTC)
    c.add_instrument(ETH_PERP)
    return c


# ---- Context ----

def test_context_instruments_and_top(ctx):
    assert ctx.n_instruments == 2
    assert ctx.instrument(1) is ETH_PERP
    t = ctx.top(0)
    assert t["valid"] is False and t["bid_px"] == 0
    ctx.set_top(0, 100, 2, 101, 3, update_ns=5)
    assert ctx.top(0) == {"inst": 0, "bid_px": 100, "bid_sz": 2, "ask_px": 101, "ask_sz": 3,
                          "last_id": 0, "update_ns": 5, "valid": True}
    ctx.invalidate(0)
    assert ctx.top(0)["valid"] is False
    with pytest.raises(KeyError):
        ctx.top(5)
    with pytest.raises(ValueError):
        ctx.add_instrument(Instrument(0, Venue.OKX, "BTC-USDT", "0.1", "0.01"))
    with pytest.raises(TypeError):
        ctx.add_instrument("BTCUSDT")


def test_context_slow_signals(ctx):
    ctx.set_slow(0, S.MAX_SLOW_SIGNALS - 1, 0.5, ts_ns=7)
    assert ctx.slow(0, S.MAX_SLOW_SIGNALS - 1) == (0.5, 7)
    ctx.set_slow(0, 6, -0.25)
    v, ts = ctx.slow(0, 6)
    assert v == -0.25 and ts > 0
    with pytest.raises(IndexError):
        ctx.set_slow(0, S.MAX_SLOW_SIGNALS, 1.0)
    with pytest.raises(ValueError):
        ctx.set_slow(0, 1, math.nan)


def test_kill_and_daily_pnl(ctx):
    assert ctx.kill is False
    ctx.kill = True
    assert ctx.kill is True
    ctx.daily_pnl = -12.5
    assert ctx.daily_pnl == -12.5
    with pytest.raises(ValueError):
        ctx.daily_pnl = math.inf


def test_apply_fill_position_avg_and_realised(ctx):
    # BTC: px units 0.01, sz units 0.00001
    ctx.apply_fill(0, S.SIDE_BUY, 6_500_000, 100_000, fee=0.65)      # buy 1 @ 65000
    ctx.apply_fill(0, S.SIDE_BUY, 6_600_000, 100_000, fee=0.66)      # buy 1 @ 66000
    p = ctx.position(0)
    assert p["sz"] == 200_000 and p["avg_px"] == pytest.approx(65_500.0)
    r = ctx.apply_fill(0, S.SIDE_SELL, 6_700_000, 50_000, fee=0.0)   # sell 0.5 @ 67000
    assert r == pytest.approx(750.0)
    p = ctx.position(0)
    assert p["sz"] == 150_000 and p["avg_px"] == pytest.approx(65_500.0)
    # flip: sell 2 @ 65000 closes 1.5 (loss 750) and opens 0.5 short @ 65000
    r = ctx.apply_fill(0, S.SIDE_SELL, 6_500_000, 200_000, fee=1.0)
    assert r == pytest.approx(-750.0 - 1.0)
    p = ctx.position(0)
    assert p["sz"] == -50_000 and p["avg_px"] == pytest.approx(65_000.0)
    assert p["fees"] == pytest.approx(2.31)
    assert p["realised_pnl"] == pytest.approx(750.0 - 751.0 - 1.31)
    assert ctx.daily_pnl == pytest.approx(p["realised_pnl"])
    # buy back the short at 64000: +500
    assert ctx.apply_fill(0, S.SIDE_BUY, 6_400_000, 50_000) == pytest.approx(500.0)
    assert ctx.position(0)["sz"] == 0 and ctx.position(0)["avg_px"] == 0.0
    with pytest.raises(ValueError):
        ctx.apply_fill(0, 0, 1, 1)
    with pytest.raises(ValueError):
        ctx.apply_fill(0, 1, 1, 0)
    with pytest.raises(ValueError):
        ctx.apply_fill(0, 1, 1, 1, fee=math.nan)


def test_open_orders_and_set_position(ctx):
    ctx.set_open_orders(1, 3, buy_sz=10, sell_sz=20)
    ctx.set_position(1, -5, avg_px=3500.0)
    p = ctx.position(1)
    assert (p["open_orders"], p["open_buy_sz"], p["open_sell_sz"], p["sz"]) == (3, 10, 20, -5)
    with pytest.raises(ValueError):
        ctx.set_open_orders(1, -1)


# ---- Python override rejection ----

@pytest.mark.parametrize("hook", ["on_quote", "on_trade", "on_book", "on_fill", "on_timer"])
def test_python_hook_override_rejected(hook, ctx):
    cls = type("BadStrat", (Strategy,), {hook: lambda self, *a: 0})
    with pytest.raises(TypeError, match=f"'{hook}'.*never call"):
        cls(ctx)
    pcls = type("BadPyStrat", (PyStrategy,), {hook: lambda self, *a: 0})
    with pytest.raises(TypeError, match=f"rename it to {hook}_py"):
        pcls(ctx)


def test_override_in_grandchild_rejected(ctx):
    class A(PyStrategy):
        def on_quote_py(self, q):
            return 0

    class B(A):
        def on_quote(self, q):
            return 0

    A(ctx)
    with pytest.raises(TypeError):
        B(ctx)


# ---- PyStrategy ----

class Echo(PyStrategy):
    def __init__(self, ctx, **kw):
        super().__init__(ctx)
        self.seen = []
        self.kw = kw

    def on_quote_py(self, q):
        self.seen.append(("q", q))
        cid = self.buy(q["inst"], q["bid_px"], 5, tif=S.TIF_POST_ONLY)
        self.cancel(q["inst"], cid)

    def on_trade_py(self, t):
        self.seen.append(("t", t))
        self.market(t["inst"], S.SIDE_SELL, 3, flags=S.FLAG_REDUCE_ONLY)

    def on_fill_py(self, f):
        self.seen.append(("f", f))

    def on_timer_py(self, now_ns):
        self.seen.append(("timer", now_ns))
        self.cancel_all(1)
        self.amend(0, 1, 99, 4)

    def on_book_py(self, inst):
        self.seen.append(("b", inst))


def test_pystrategy_hooks_and_intents(ctx):
    s = Echo(ctx)
    s.deliver_quote(0, 100, 1, 101, 2, recv_ns=42, update_id=9)
    kind, q = s.seen[0]
    assert q == {"inst": 0, "venue": 1, "bid_px": 100, "bid_sz": 1, "ask_px": 101, "ask_sz": 2,
                 "update_id": 9, "exch_ts_ns": 0, "recv_ts_ns": 42}
    intents = s.drain_intents()
    assert [i["kind"] for i in intents] == [S.INTENT_NEW, S.INTENT_CANCEL]
    new, cancel = intents
    assert (new["side"], new["px"], new["sz"], new["tif"], new["venue"], new["client_id"]) == (1, 100, 5, S.TIF_POST_ONLY, 1, 1)
    assert cancel["target_id"] == 1 and cancel["client_id"] == 2
    s.deliver_trade(1, 350_000, 7, side=S.SIDE_BUY)
    m = s.drain_intents()[0]
    assert (m["ord_type"], m["side"], m["sz"], m["flags"], m["venue"], m["inst"]) == (S.ORD_MARKET, -1, 3, 1, 2, 1)
    s.deliver_timer(123)
    ca, am = s.drain_intents()
    assert ca["kind"] == S.INTENT_CANCEL_ALL and ca["inst"] == 1
    assert (am["kind"], am["target_id"], am["px"], am["sz"]) == (S.INTENT_AMEND, 1, 99, 4)
    s.deliver_book(0)
    s.deliver_fill(0, S.SIDE_BUY, 6_500_000, 100, fee=0.01, client_id=1, is_maker=True)
    assert s.seen[-2] == ("b", 0)
    f = s.seen[-1][1]
    assert (f["client_id"], f["sz"], f["is_maker"], f["fee"]) == (1, 100, True, 0.01)
    assert ctx.position(0)["sz"] == 100       # deliver_fill applied it to the Context
    assert s.n_events == 5 and s.n_intents == 5


def test_pystrategy_exception_is_strategy_error_and_kills(ctx):
    class Boom(PyStrategy):
        def on_quote_py(self, q):
            raise ZeroDivisionError("bad math")

    s = Boom(ctx)
    with pytest.raises(StrategyError) as ei:
        s.deliver_quote(0, 1, 1, 2, 1)
    assert rc_name(ei.value.rc) == "ENG_ERR_STRATEGY"
    assert isinstance(ei.value.__cause__, ZeroDivisionError)
    assert ctx.kill is True
    assert s.last_rc == -5


def test_pystrategy_negative_return_and_bad_return(ctx):
    class Neg(PyStrategy):
        def on_quote_py(self, q):
            return -1

    with pytest.raises(StrategyError) as ei:
        Neg(ctx).deliver_quote(0, 1, 1, 2, 1)
    assert ei.value.rc == -1 and rc_name(ei.value.rc) == "ENG_ERR_DOMAIN"

    class Weird(PyStrategy):
        def on_quote_py(self, q):
            return "yes"

    with pytest.raises(StrategyError) as ei:
        Weird(ctx).deliver_quote(0, 1, 1, 2, 1)
    assert isinstance(ei.value.__cause__, TypeError)


def test_ring_full_is_hard_error_from_python(ctx):
    class Flood(PyStrategy):
        def on_quote_py(self, q):
            for _ in range(S.RING_CAP + 1):
                self.buy(0, 100, 1)

    s = Flood(ctx)
    with pytest.raises(StrategyError) as ei:
        s.deliver_quote(0, 100, 1, 101, 1)
    assert rc_name(ei.value.rc) == "ENG_ERR_STRATEGY"
    assert rc_name(ei.value.__cause__.rc) == "ENG_ERR_RING_FULL"
    assert len(s.drain_intents()) == S.RING_CAP


def test_unbound_strategy_refuses(ctx):
    s = Echo.__new__(Echo)
    with pytest.raises(RuntimeError, match="not bound"):
        s.deliver_quote(0, 1, 1, 2, 1)
    s2 = Echo(ctx)
    with pytest.raises(ValueError):
        s2.bind(Context())


def test_client_id_sequence(ctx):
    s = Echo(ctx)
    s.next_client_id = 1000
    s.deliver_quote(0, 100, 1, 101, 1)
    assert [i["client_id"] for i in s.drain_intents()] == [1000, 1001]
    with pytest.raises(ValueError):
        s.next_client_id = 0


# ---- compiled hooks (tests/strategies/probe.pyx) ----

def test_compiled_hooks_read_context(probe_mod, ctx):
    p = probe_mod.Probe(ctx)
    ctx.set_slow(0, 6, 0.75)
    ctx.set_position(0, 42)
    p.emit_per_quote = 2
    p.deliver_quote(0, 100, 1, 101, 1)
    assert (p.quotes, p.last_bid, p.last_ask, p.last_slow, p.last_pos) == (1, 100, 101, 0.75, 42)
    assert [i["px"] for i in p.drain_intents()] == [100, 100]
    p.deliver_trade(0, 100, 1)
    p.deliver_book(1)
    p.deliver_fill(0, 1, 100, 9, apply=False)
    p.deliver_timer(77)
    assert (p.trades, p.books, p.last_book_inst, p.fills, p.last_fill_sz, p.timers, p.last_timer) == \
        (1, 1, 1, 1, 9, 1, 77)


def test_compiled_hook_rc_stops_and_kills(probe_mod, ctx):
    p = probe_mod.Probe(ctx)
    p.rc_on_quote = -5
    with pytest.raises(StrategyError) as ei:
        p.deliver_quote(0, 1, 1, 2, 1)
    assert ei.value.rc == -5 and ctx.kill


def test_compiled_ring_full_even_if_ignored(probe_mod, ctx):
    p = probe_mod.Probe(ctx)
    p.emit_per_quote = S.RING_CAP + 3
    p.ignore_rc = True
    with pytest.raises(StrategyError) as ei:
        p.deliver_quote(0, 1, 1, 2, 1)
    assert rc_name(ei.value.rc) == "ENG_ERR_RING_FULL"
    assert len(p.drain_intents()) == S.RING_CAP
    # reported once: the next event is clean again
    ctx.kill = False
    p.emit_per_quote = 1
    p.deliver_quote(0, 1, 1, 2, 1)
    assert len(p.drain_intents()) == 1


def test_compiled_ring_full_propagated(probe_mod, ctx):
    p = probe_mod.Probe(ctx)
    p.emit_per_quote = S.RING_CAP + 1
    with pytest.raises(StrategyError) as ei:
        p.deliver_quote(0, 1, 1, 2, 1)
    assert rc_name(ei.value.rc) == "ENG_ERR_RING_FULL"


def test_bench_dispatch_helper_runs_and_drains(probe_mod, ctx):
    p = probe_mod.Probe(ctx)
    p.emit_per_quote = 1
    elapsed, drained, rc = p.bench_dispatch_quotes(0, 1000)
    assert rc == 0 and drained == 1000 and elapsed > 0 and p.quotes == 1000
    p.fail_after = 10
    p.rc_on_quote = -5
    p.quotes = 0
    _, drained, rc = p.bench_dispatch_quotes(0, 1000)
    assert rc == -5 and drained == 10


def test_dispatch_quotes_batch_one_nogil_section(probe_mod, ctx):
    p = probe_mod.Probe(ctx)
    p.emit_per_quote = 1
    assert p.deliver_quotes([(0, 100 + i, 1, 101 + i, 1, 7) for i in range(10)]) == 10
    assert p.quotes == 10 and [i["px"] for i in p.drain_intents()] == list(range(100, 110))
    p.fail_after = 13
    p.rc_on_quote = -5
    with pytest.raises(StrategyError):
        p.deliver_quotes([(0, 1, 1, 2, 1)] * 10)
    assert p.quotes == 14                      # stopped at the first failing event
    assert len(p.drain_intents()) == 4
    with pytest.raises(ValueError):
        p.deliver_quotes([(0, 1, 1)])
    assert p.deliver_quotes([]) == 0


def test_deliver_fill_rejects_an_out_of_range_instrument():
    from engine.strategy import Context, Strategy
    s = Strategy(Context())
    with pytest.raises(IndexError):
        s.deliver_fill(100000, 1, 10, 1, apply=False)
    with pytest.raises(IndexError):
        s.deliver_fill(-1, 1, 10, 1)
