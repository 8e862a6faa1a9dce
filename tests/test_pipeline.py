# SPDX-License-Identifier: Apache-2.0
"""engine.pipeline: frame -> decode -> book -> strategy -> risk -> encode -> send, with real fixture
frames, a loopback picows order transport and a loopback market-data listener."""
from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from collections import Counter

import orjson
import pytest

from engine.book import Book
from engine.codec import Decoder
from engine.errors import StrategyError, rc_name
from engine.instruments import Instrument, Venue
from engine.orders import OrderEncoder
from engine.pipeline import HotListener, Pipeline
from engine.risk import RiskGate
from engine.strategy import Context, PyStrategy

from _codec_util import recording_frames
from _hotpath_util import build_test_strategy

BTC = Instrument(0, Venue.BINANCE_SPOT, "BTCUSDT", "0.01", "0.00001")
NKN = Instrument(1, Venue.BINANCE_SPOT, "NKNUSDT", "0.0001", "0.1", px_exp=8, sz_exp=8)
SPOT = int(Venue.BINANCE_SPOT)
ERR_NOT_SYNCED, ERR_STALE, ERR_UNSUPPORTED = -34, -33, -20


def quote_frame(bid: str = "65000.00", ask: str = "65000.01", u: int = 1, sym: str = "BTCUSDT") -> bytes:
    return (f'{{"u":{u},"s":"{sym}","b":"{bid}","B":"1.50000","a":"{ask}","A":"2.00000"}}').encode()


@pytest.fixture(scope="module")
def probe_mod(tmp_path_factory):
    return build_test_strategy("probe", tmp_path_factory.mktemp("hp-cache"))


class Handler:
    def __init__(self):
        self.cold: list[tuple] = []
        self.events: list[tuple] = []
        self.errors: list = []

    def on_cold_frame(self, conn_id, payload, rc, inst, recv_ns):
        self.cold.append((conn_id, payload, rc, inst))

    def on_ws_connected(self, conn_id, transport):
        self.events.append(("up", conn_id))

    def on_ws_disconnected(self, conn_id):
        self.events.append(("down", conn_id))

    def on_strategy_error(self, conn_id, exc):
        self.errors.append((conn_id, exc))


def make_pipeline(strategy_factory, *, limits=None, book_for_nkn=True):
    ctx = Context()
    ctx.add_instrument(BTC)
    ctx.add_instrument(NKN)
    s = strategy_factory(ctx)
    risk = RiskGate()
    risk.set_limits(0, **(limits or {}))
    risk.set_limits(1, check_steps=False)
    p = Pipeline(ctx, s, risk)
    dec = Decoder(SPOT)
    dec.add_instrument(BTC)
    dec.add_instrument(NKN)
    p.add_feed(SPOT, dec)
    enc = OrderEncoder(SPOT, "ws", "k" * 64, "s" * 64)
    enc.add_instrument(BTC)
    enc.add_instrument(NKN)
    p.set_encoder(SPOT, enc)
    book = None
    if book_for_nkn:
        book = Book(NKN, "binance_spot")
        p.add_book(book)
    return ctx, s, risk, p, book


def test_fixture_replay_binance_spot(probe_mod, fixtures_dir):
    ctx, s, risk, p, book = make_pipeline(lambda c: probe_mod.Probe(c))
    h = Handler()
    p.listener(3, SPOT, h)        # registers the handler for conn 3 (feed() reports cold frames to it)
    d = fixtures_dir / "binance" / "spot"
    frames = list(recording_frames(d / "ws_combined_NKNUSDT.jsonl"))
    # before the snapshot every diff is cold with NOT_SYNCED and the strategy sees no book event
    first_depth = next(f for f in frames if b"depthUpdate" in f)
    assert p.feed(3, SPOT, first_depth) == ERR_NOT_SYNCED
    assert h.cold[-1][2:] == (ERR_NOT_SYNCED, 1) and s.books == 0 and not ctx.top(1)["valid"]
    snap = orjson.loads((d / "rest_depth_snapshot_NKNUSDT.json").read_bytes())
    assert book.apply_snapshot(snap["bids"], snap["asks"], snap["lastUpdateId"]) == 0
    h.cold.clear()
    rcs = Counter(p.feed(3, SPOT, f) for f in frames)
    n_depth = sum(b"depthUpdate" in f for f in frames)
    n_quote = sum(b"@bookTicker" in f for f in frames)
    assert rcs[2] + rcs[ERR_STALE] == n_depth and rcs[1] == n_quote and rcs[3] == 1
    assert s.books == rcs[2] and s.quotes == n_quote and s.trades == 1
    assert {(rc, inst) for _, _, rc, inst in h.cold} == {(ERR_STALE, 1), (ERR_UNSUPPORTED, -1)}
    assert any(b"kline" in payload for _, payload, _, _ in h.cold)
    # ctx.top is the book's top: same values as the book, valid, stamped
    top = ctx.top(1)
    (bpx, bsz), (apx, asz) = book.top_units(1)[0][0], book.top_units(1)[1][0]
    assert top["valid"] and (top["bid_px"], top["bid_sz"], top["ask_px"], top["ask_sz"]) == (bpx, bsz, apx, asz)
    assert p.stats["hot"] == rcs[1] + rcs[2] + rcs[3] and p.stats["cold"] == len(h.cold) + 1


def test_top_only_quote_to_pending_without_transport(probe_mod):
    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c))
    s.emit_per_quote = 1
    assert p.feed(0, SPOT, quote_frame(u=11)) == 1
    t = ctx.top(0)
    assert t["valid"] and (t["bid_px"], t["bid_sz"], t["ask_px"], t["ask_sz"], t["last_id"]) == \
        (6_500_000, 150_000, 6_500_001, 200_000, 11)
    pend = p.drain_pending()
    assert len(pend) == 1 and p.drain_pending() == []
    o = pend[0]
    assert (o["kind"], o["side"], o["px"], o["sz"], o["inst"], o["venue"], o["conn_id"]) == (1, 1, 6_500_000, 1, 0, SPOT, 0)
    assert ctx.position(0)["open_buy_sz"] == 1 and risk.open_orders == 1   # reserved by the gate
    assert p.drain_sent() == [] and p.stats["pending"] == 1


def test_crossed_or_empty_quote_marks_top_invalid(probe_mod):
    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c))
    p.feed(0, SPOT, quote_frame("65000.02", "65000.01"))
    assert ctx.top(0)["valid"] is False


def test_risk_rejects_recorded(probe_mod):
    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c), limits={"max_order_sz": 1})
    s.emit_per_quote = 3
    p.feed(0, SPOT, quote_frame())
    # 3 buys of size 1: all pass the size limit; now lower the band to reject
    assert len(p.drain_pending()) == 3
    risk.set_limits(0, band_bps=0.0001)
    p.feed(0, SPOT, quote_frame("64000.00", "66000.00"))
    rej = p.drain_rejects()
    assert [r["reason_name"] for r in rej] == ["BAND"] * 3
    assert all(r["conn_id"] == 0 and r["px"] == 6_400_000 for r in rej)
    assert risk.rejects() == {"BAND": 3}


def test_depth_without_book_is_cold(probe_mod, fixtures_dir):
    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c), book_for_nkn=False)
    frames = recording_frames(fixtures_dir / "binance" / "spot" / "ws_combined_NKNUSDT.jsonl")
    f = next(f for f in frames if b"depthUpdate" in f)
    assert p.feed(0, SPOT, f) == ERR_NOT_SYNCED and s.books == 0


def test_malformed_frames_are_cold_not_crashes(probe_mod):
    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c))
    h = Handler()
    p.listener(1, SPOT, h)
    bad = [b"", b"{", b'{"u":1,"s":"BTCUSDT","b":"NaN","B":"1","a":"2","A":"1"}',
           b'{"u":1,"s":"BTCUSDT","b":"-1.00","B":"1","a":"2","A":"1"}', b"\xff\xfe" * 10,
           quote_frame(sym="DOGEUSDT")]
    for f in bad:
        assert p.feed(1, SPOT, f) < 0
    assert len(h.cold) == len(bad) and s.quotes == 0 and not ctx.top(0)["valid"]


def test_strategy_error_kills_and_raises(probe_mod):
    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c))
    s.emit_per_quote = 1
    s.rc_on_quote = -5
    with pytest.raises(StrategyError) as ei:
        p.feed(0, SPOT, quote_frame())
    assert rc_name(ei.value.rc) == "ENG_ERR_STRATEGY" and ctx.kill is True
    # the intent emitted before the error went through risk with the kill switch engaged
    assert [r["reason_name"] for r in p.drain_rejects()] == ["KILL"]
    assert p.stats["strategy_errors"] == 1


def test_pystrategy_through_pipeline_and_timer_fill():
    class Py(PyStrategy):
        def on_quote_py(self, q):
            self.sell(q["inst"], q["ask_px"], 2)

        def on_timer_py(self, now_ns):
            self.cancel_all(0)

        def on_fill_py(self, f):
            self.buy(f["inst"], f["px"] - 1, f["sz"])

    ctx, s, risk, p, _ = make_pipeline(Py)
    p.feed(0, SPOT, quote_frame())
    p.timer(123)
    p.fill(0, -1, 6_500_001, 2, fee=0.01)
    kinds = [(i["kind"], i["side"], i["px"]) for i in p.drain_pending()]
    assert kinds == [(1, -1, 6_500_001), (4, 0, 0), (1, 1, 6_500_000)]
    assert ctx.position(0)["sz"] == -2


def test_wiring_validation(probe_mod):
    ctx, s, risk, p, book = make_pipeline(lambda c: probe_mod.Probe(c))
    with pytest.raises(ValueError):
        p.add_feed(int(Venue.OKX), Decoder(SPOT))
    with pytest.raises(ValueError):
        p.set_encoder(int(Venue.OKX), OrderEncoder(SPOT, "ws", "k", "s"))
    with pytest.raises(ValueError):
        p.add_book(Book(NKN, "binance_spot"))
    with pytest.raises(KeyError):
        p.feed(0, int(Venue.OKX), b"{}")
    with pytest.raises(ValueError):
        p.feed(0, 9, b"{}")
    with pytest.raises(TypeError):
        p.listener(0, SPOT, object())
    assert isinstance(p.listener(0, SPOT, Handler()), HotListener)


def _run(feed, frames):
    for f in frames:
        feed(0, SPOT, f)


_RUN_LINES = range(_run.__code__.co_firstlineno, _run.__code__.co_firstlineno + 3)


def _new_blocks(before, after):
    """Blocks allocated by the measured loop (or anything it called) and still alive; the test's
    own bookkeeping lines and tracemalloc's are ignored."""
    flt = [tracemalloc.Filter(False, tracemalloc.__file__)]
    b, a = before.filter_traces(flt), after.filter_traces(flt)
    return [d for d in a.compare_to(b, "traceback") if d.count_diff > 0
            and (d.traceback[0].filename != __file__ or d.traceback[0].lineno in _RUN_LINES)]


def test_zero_python_allocations_per_hot_frame(probe_mod, fixtures_dir):
    """Steady state: quote + depth frames through decode, book, hook, risk (rejecting) allocate nothing."""
    ctx, s, risk, p, book = make_pipeline(lambda c: probe_mod.Probe(c))
    quotes = [quote_frame(f"{65000 + i % 7}.00", f"{65001 + i % 7}.00", u=i) for i in range(50)]
    s.emit_per_quote = 1
    risk.set_limits(0, max_order_sz=None, band_bps=0.0001)     # every intent rejected -> C reject ring
    p.bench_feed(0, SPOT, quotes, 2)                           # warm up
    p.drain_rejects()
    frames = quotes * 20
    feed = p.feed
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
        cur0 = tracemalloc.get_traced_memory()[0]
        _run(feed, frames)
        cur1, peak = tracemalloc.get_traced_memory()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert s.quotes >= 1000 and p.stats["rejected"] >= 1000
    assert _new_blocks(before, after) == []
    # transient allocations too: 1000 frames may not raise the peak by more than the one list
    # iterator of the loop itself (a single object per frame would add >= 16 kB)
    assert peak - cur0 <= 256, (peak - cur0, cur1 - cur0)


def test_allocation_probe_detects_python_objects():
    """The measurement above can fail: a PyStrategy builds a dict per event and is caught."""
    class Py(PyStrategy):
        def on_quote_py(self, q):
            self.last = q

    ctx, s, risk, p, _ = make_pipeline(Py)
    frames = [quote_frame(u=i) for i in range(50)] * 20
    _run(p.feed, frames[:50])
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        cur0 = tracemalloc.get_traced_memory()[0]
        _run(p.feed, frames)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak - cur0 > 256


# ---- loopback picows: order transport + market-data listener ------------------------------------

async def _order_server():
    from picows import WSListener, WSMsgType, ws_create_server

    got: list[bytes] = []

    class Srv(WSListener):
        def on_ws_frame(self, transport, frame):
            if frame.msg_type == WSMsgType.TEXT:
                got.append(frame.get_payload_as_bytes())

    server = await ws_create_server(lambda _req: Srv(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, port, got


async def test_loopback_order_transport_and_listener(probe_mod):
    from picows import WSListener, WSMsgType, ws_connect, ws_create_server

    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c))
    s.emit_per_quote = 1
    osrv, oport, got = await _order_server()
    otr, _ = await ws_connect(WSListener, f"ws://127.0.0.1:{oport}/ws-api")
    p.set_order_transport(SPOT, otr)

    # 1) feed(): order written on the transport, recorded in the sent ring
    assert p.feed(0, SPOT, quote_frame(u=5)) == 1
    sent = p.drain_sent()
    assert len(sent) == 1 and sent[0]["kind"] == 1 and sent[0]["px"] == 6_500_000 and sent[0]["nbytes"] > 100
    assert sent[0]["t_send"] >= sent[0]["t_recv"] > 0
    for _ in range(100):
        if got:
            break
        await asyncio.sleep(0.01)
    req = json.loads(got[0])
    assert req["method"] == "order.place" and req["params"]["symbol"] == "BTCUSDT"
    assert req["params"]["price"] == "65000.00" and req["params"]["side"] == "BUY"

    # 2) market-data server pushes frames to a compiled HotListener; orders go out in the same call
    md_frames = [quote_frame(u=100 + i) for i in range(5)] + [b'{"result":null,"id":1}']

    class MdSrv(WSListener):
        def on_ws_connected(self, transport):
            for f in md_frames:
                transport.send(WSMsgType.TEXT, f)
            transport.send(WSMsgType.PING, b"hb")

    msrv = await ws_create_server(lambda _req: MdSrv(), "127.0.0.1", 0)
    mport = msrv.sockets[0].getsockname()[1]
    h = Handler()
    mtr, lst = await ws_connect(lambda: p.listener(42, SPOT, h), f"ws://127.0.0.1:{mport}/stream")
    assert isinstance(lst, HotListener) and lst.conn_id == 42
    for _ in range(200):
        if len(got) >= 6 and h.cold:
            break
        await asyncio.sleep(0.01)
    assert h.events[0] == ("up", 42)
    assert [c[2] for c in h.cold] == [ERR_UNSUPPORTED] and h.cold[0][1] == b'{"result":null,"id":1}'
    sent = p.drain_sent()
    assert len(sent) == 5 and all(x["conn_id"] == 42 for x in sent)
    assert len(got) == 6
    lat = p.latency
    for stage in ("decode", "signal", "risk", "encode", "send", "tick_to_trade"):
        assert lat.count(stage) >= 6, stage

    # 3) a closed order transport: intents are kept for the router, never written or dropped
    otr.disconnect()
    await otr.wait_disconnected()
    p.feed(0, SPOT, quote_frame(u=999))
    assert p.drain_sent() == [] and len(p.drain_pending()) == 1

    mtr.disconnect()
    await mtr.wait_disconnected()
    await asyncio.sleep(0.05)
    assert ("down", 42) in h.events
    for srv in (osrv, msrv):
        srv.close()
        await srv.wait_closed()


async def test_zero_allocations_with_real_transport(probe_mod):
    from picows import WSListener, ws_connect

    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c))
    risk.set_global(max_open_orders=None)
    osrv, oport, got = await _order_server()
    otr, _ = await ws_connect(WSListener, f"ws://127.0.0.1:{oport}/ws-api")
    p.set_order_transport(SPOT, otr)
    s.emit_per_quote = 1
    frames = [quote_frame(u=i) for i in range(10, 60)]   # update ids vary, frames prebuilt
    for f in frames:
        p.feed(0, SPOT, f)
    p.drain_sent()
    feed = p.feed
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
        cur0 = tracemalloc.get_traced_memory()[0]
        _run(feed, frames)
        cur1, peak = tracemalloc.get_traced_memory()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    sent = p.drain_sent()
    assert len(sent) == len(frames)
    assert _new_blocks(before, after) == []
    assert peak - cur0 <= 256, (peak - cur0, cur1 - cur0)
    otr.disconnect()
    await otr.wait_disconnected()
    osrv.close()
    await osrv.wait_closed()


def test_ticker_and_mark_frames_feed_top_and_slow_signals(probe_mod, fixtures_dir):
    """Bybit tickers (top-only instrument): bid/ask into ctx.top + on_quote; mark/index/funding/OI
    into the slow signals. Binance USD-M markPriceUpdate: mark/index/funding into the slow signals."""
    bybit = Instrument(2, Venue.BYBIT, "BTCUSDT", "0.50", "0.001", category="linear")
    usdm = Instrument(3, Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
    ctx = Context()
    for i in (bybit, usdm):
        ctx.add_instrument(i)
    s = probe_mod.Probe(ctx)
    p = Pipeline(ctx, s, RiskGate())
    for inst in (bybit, usdm):
        d = Decoder(int(inst.venue))
        d.add_instrument(inst)
        p.add_feed(int(inst.venue), d)
    frame = (fixtures_dir / "bybit" / "nautilus" / "ws_ticker_linear.json").read_bytes()
    assert p.feed(0, int(Venue.BYBIT), frame) == 5
    t = ctx.top(2)
    assert t["valid"] and (t["bid_px"], t["bid_sz"], t["ask_px"], t["ask_sz"]) == (172_155, 84_489, 172_160, 83_020)
    assert s.quotes == 1 and (s.last_bid, s.last_ask) == (172_155, 172_160)
    assert ctx.slow(2, 1)[0] == pytest.approx(17217.3) and ctx.slow(2, 2)[0] == pytest.approx(17227.4)  # px_exp 1
    assert ctx.slow(2, 0)[0] == pytest.approx(-0.000212) and ctx.slow(2, 3)[0] == pytest.approx(68744.761)
    assert ctx.slow(2, 1)[1] > 0
    mark = (fixtures_dir / "binance" / "nautilus" / "futures" / "market_data_json" / "mark_price_stream.json").read_bytes()
    assert p.feed(0, int(Venue.BINANCE_USDM), mark) == 4
    assert ctx.slow(3, 1)[0] == pytest.approx(11794.2, abs=0.051)      # rounded to the 0.1 tick exponent
    assert ctx.slow(3, 0)[0] == pytest.approx(0.00038167)
    assert s.quotes == 1 and not ctx.top(3)["valid"]                  # a mark is not a quote


def test_lifetimes_books_outlive_or_die_with_context(probe_mod, fixtures_dir):
    """ctx.book[]/ctx.top[] never dangle: the Context keeps bound books alive, and a book that
    outlives its Context is unbound from ctx.top first (it then maintains its own top)."""
    ctx, s, risk, p, book = make_pipeline(lambda c: probe_mod.Probe(c))
    snap = orjson.loads((fixtures_dir / "binance" / "spot" / "rest_depth_snapshot_NKNUSDT.json").read_bytes())
    del p, s, risk
    gc.collect()
    assert book.apply_snapshot(snap["bids"], snap["asks"], snap["lastUpdateId"]) == 0
    assert ctx.top(1)["valid"]                  # the pipeline is gone, the binding is not
    addr = book.top_address
    del ctx
    gc.collect()
    assert book.top_address != addr             # back on its own top
    assert book.apply_snapshot(snap["bids"], snap["asks"], snap["lastUpdateId"]) == 0 and book.valid


def test_okx_books_checksum_path_and_stale_gate(probe_mod, fixtures_dir):
    """OKX books through the pipeline: snapshot + CRC32-checked updates keep ctx.top valid; a frame
    whose checksum does not verify is cold with ENG_ERR_CHECKSUM, invalidates the top (the risk gate
    then refuses new orders on it) and later updates are NOT_SYNCED until the next snapshot."""
    import re

    okx = Instrument(0, Venue.OKX, "BTC-USDT", "0.1", "0.00000001")
    ctx = Context()
    ctx.add_instrument(okx)
    s = probe_mod.Probe(ctx)
    risk = RiskGate()
    risk.set_limits(0, check_steps=False)
    p = Pipeline(ctx, s, risk)
    dec = Decoder(int(Venue.OKX))
    dec.add_instrument(okx)
    p.add_feed(int(Venue.OKX), dec)
    p.add_book(Book(okx, "okx", capacity=1000))
    h = Handler()
    p.listener(9, int(Venue.OKX), h)
    frames = [f for f in recording_frames(fixtures_dir / "okx" / "recorded_2022" / "ws_books_BTC-USDT.jsonl")
              if b'"action"' in f]
    assert b'"snapshot"' in frames[0] and len(frames) > 10
    half = len(frames) // 2
    for f in frames[:half]:
        assert p.feed(9, int(Venue.OKX), f) == 2
    assert ctx.top(0)["valid"] and s.books == half and h.cold == []
    bad = re.sub(rb'"checksum":(-?\d+)', lambda m: b'"checksum":%d' % (int(m.group(1)) ^ 1), frames[half])
    assert p.feed(9, int(Venue.OKX), bad) == -31
    assert h.cold[-1][2:] == (-31, 0) and not ctx.top(0)["valid"]
    assert p.feed(9, int(Venue.OKX), frames[half + 1]) == ERR_NOT_SYNCED
    s.emit_per_quote = 1
    s.deliver_quote(0, 1, 1, 2, 1)          # the hook emits; the gate sees an invalid book
    p.flush()
    assert [r["reason_name"] for r in p.drain_rejects()] == ["STALE_BOOK"]
    assert p.feed(9, int(Venue.OKX), frames[0]) == 2 and ctx.top(0)["valid"]   # snapshot resyncs


async def test_listener_reports_strategy_error_to_handler(probe_mod):
    from picows import WSListener, WSMsgType, ws_connect, ws_create_server

    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c))
    s.rc_on_quote = -5

    class MdSrv(WSListener):
        def on_ws_connected(self, transport):
            transport.send(WSMsgType.TEXT, quote_frame())

    srv = await ws_create_server(lambda _req: MdSrv(), "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    h = Handler()
    tr, _ = await ws_connect(lambda: p.listener(5, SPOT, h), f"ws://127.0.0.1:{port}/")
    for _ in range(200):
        if h.errors:
            break
        await asyncio.sleep(0.01)
    (conn_id, exc), = h.errors
    assert conn_id == 5 and isinstance(exc, StrategyError) and exc.rc == -5
    assert ctx.kill is True and not tr.is_disconnected      # the handler decided; the feed stays up
    tr.disconnect()
    await tr.wait_disconnected()
    srv.close()
    await srv.wait_closed()


def test_shell_driven_hooks_send_at_once_when_attached():
    """The router calls strategy.deliver_fill (not Pipeline.fill): what on_fill emits must still go
    out at once (here: to pending, no transport), not wait for the next market-data frame."""
    class Requote(PyStrategy):
        def on_fill_py(self, f):
            self.sell(f["inst"], f["px"] + 5, f["sz"])

        def on_timer_py(self, now_ns):
            self.cancel_all(0)

    ctx, s, risk, p, _ = make_pipeline(Requote)
    ctx.set_top(0, 6_500_000, 1, 6_500_010, 1)
    s.deliver_fill(0, 1, 6_500_000, 3, apply=True)
    assert s.pending_intents == 0
    (o,) = p.drain_pending()
    assert (o["side"], o["px"], o["sz"]) == (-1, 6_500_005, 3)
    s.deliver_timer()
    assert [i["kind"] for i in p.drain_pending()] == [4]
    # a bare strategy (no pipeline) keeps its intents for drain_intents()
    bare = Requote(ctx)
    bare.deliver_fill(0, 1, 6_500_000, 1, apply=False)
    assert len(bare.drain_intents()) == 1


def _ws_thread_server(frames: list[bytes], gap_s: float):
    """A plain-socket WebSocket server on its own thread (so it sends while the loop's thread is
    inside a BusySpin round): accepts one client, upgrades, sends ``frames`` ``gap_s`` apart, closes."""
    import base64
    import hashlib
    import socket
    import threading
    import time

    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    port = ls.getsockname()[1]

    def serve():
        cs, _ = ls.accept()
        req = b""
        while b"\r\n\r\n" not in req:
            req += cs.recv(4096)
        key = [ln.split(b":", 1)[1].strip() for ln in req.split(b"\r\n") if ln.lower().startswith(b"sec-websocket-key")][0]
        acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        cs.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
        for f in frames:
            time.sleep(gap_s)
            cs.sendall(bytes((0x81, len(f))) + f)
        time.sleep(gap_s)
        cs.close()
        ls.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return port, th


async def test_busy_spin_reads_frames_inline_and_survives_close(probe_mod):
    from picows import WSListener, ws_connect

    from engine.pipeline import BusySpin

    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c))
    s.emit_per_quote = 1
    osrv, oport, got = await _order_server()
    otr, _ = await ws_connect(WSListener, f"ws://127.0.0.1:{oport}/ws-api")
    p.set_order_transport(SPOT, otr)
    frames = [quote_frame(u=200 + i) for i in range(6)]
    port, th = _ws_thread_server(frames, 0.004)
    h = Handler()
    mtr, _ = await ws_connect(lambda: p.listener(7, SPOT, h), f"ws://127.0.0.1:{port}/ws")
    loop = asyncio.get_running_loop()
    # 20 ms rounds: frames arriving inside a round are read by the spin itself, not by uvloop
    spin = BusySpin(loop, [mtr, otr], budget_us=20_000)
    spin.start()
    assert spin.running
    timers = []
    loop.call_later(0.001, timers.append, 1)        # the loop still runs timers between rounds
    for _ in range(300):
        if ("down", 7) in h.events and len(got) >= 6:
            break
        await asyncio.sleep(0.005)
    spin.stop()
    await asyncio.sleep(0.03)
    assert not spin.running
    sent = p.drain_sent()
    assert [x["px"] for x in sent] == [6_500_000] * 6 and all(x["conn_id"] == 7 for x in sent)
    assert len(got) == 6 and all(json.loads(g)["method"] == "order.place" for g in got)
    st = spin.stats
    assert st["reads"] >= 1 and st["polls"] > st["reads"] and st["rounds"] >= 1, st
    assert ("down", 7) in h.events and h.cold == [] and timers == [1]
    th.join(1)
    otr.disconnect()
    await otr.wait_disconnected()
    osrv.close()
    await osrv.wait_closed()


async def test_busy_spin_validates_arguments():
    from engine.pipeline import BusySpin

    loop = asyncio.get_running_loop()
    with pytest.raises(ValueError):
        BusySpin(loop, [None] * 0 + [object()] * 17, budget_us=10)
    spin = BusySpin(loop, [], budget_us=10)       # no connection yet: still keeps the loop awake
    spin.start()
    await asyncio.sleep(0.01)
    spin.stop()
    assert spin.stats["rounds"] >= 1 and spin.stats["reads"] == 0
    with pytest.raises(TypeError):
        spin.set_transports([object()])
    # order-path warm-up between rounds: encodes (never sends) a dummy order, WS encoders only
    from engine import strategy as st

    enc = OrderEncoder(SPOT, "ws", "k" * 64, "s" * 64)
    enc.add_instrument(BTC)
    warm = {"kind": st.INTENT_NEW, "venue": SPOT, "inst": 0, "side": st.SIDE_BUY, "ord_type": st.ORD_LIMIT,
            "tif": st.TIF_IOC, "px": 6_500_000, "sz": 100, "client_id": 1}
    spin.set_warmup(enc, warm, every_us=100)
    spin.start()
    await asyncio.sleep(0.02)
    spin.stop()
    assert spin.stats["warmups"] >= 2
    rest = OrderEncoder(SPOT, "rest", "k" * 64, "s" * 64)
    rest.add_instrument(BTC)
    with pytest.raises(ValueError, match="WebSocket"):
        spin.set_warmup(rest, warm)
    with pytest.raises(ValueError, match="does not encode"):
        spin.set_warmup(enc, dict(warm, inst=5))
    spin.set_warmup(None)
    with pytest.raises(TypeError):
        BusySpin(loop, [object()], budget_us=10)
    with pytest.raises(ValueError):
        BusySpin(loop, [object()], budget_us=0)


def test_recv_stage_is_venue_event_to_our_receive(probe_mod):
    """RECV = venue event time -> frame read, for frames read now; replayed frames are not counted."""
    import time
    ctx, s, risk, p, _ = make_pipeline(lambda c: probe_mod.Probe(c))

    def trade(e_ms: int) -> bytes:
        return (f'{{"e":"trade","E":{e_ms},"s":"BTCUSDT","t":7,"p":"65000.00","q":"0.50000",'
                f'"T":{e_ms},"m":true}}').encode()

    now_ms = time.time_ns() // 1_000_000
    assert p.feed(0, SPOT, trade(now_ms - 50)) > 0            # read now, 50 ms after the event
    recv = p.latency.summary()["recv"]
    assert recv["count"] == 1 and 49_000_000 <= recv["p50"] <= 5_000_000_000
    assert p.feed(0, SPOT, trade(now_ms - 50), recv_ns=1) > 0  # replayed: its recv stamp is old
    assert p.feed(0, SPOT, quote_frame(u=3)) > 0               # spot bookTicker: no venue time
    assert p.latency.summary()["recv"]["count"] == 1
