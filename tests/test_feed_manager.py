# SPDX-License-Identifier: Apache-2.0
"""FeedManager without an exchange: fan-in of many instruments over few connections, subscribe
frames paced by the venue limit, resubscribe after a reconnect, backoff on connect failures."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from engine.exchanges import Endpoints, make_adapter
from engine.feed import FeedConfig, FeedManager
from engine.instruments import InstrumentTable, Venue

from _feed_util import build_pipeline

EP = Endpoints("http://127.0.0.1:9", "ws://127.0.0.1:9")


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[float, bytes]] = []
        self._down = asyncio.Event()

    def send(self, msg_type: Any, data: bytes) -> None:
        self.sent.append((time.monotonic(), bytes(data)))

    def disconnect(self) -> None:
        self._down.set()

    async def wait_disconnected(self) -> None:
        await self._down.wait()


class FakeNet:
    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.attempts: list[tuple[float, int, str]] = []
        self.transports: dict[int, list[FakeTransport]] = {}

    async def __call__(self, conn: Any, fm: FeedManager) -> FakeTransport:
        self.attempts.append((time.monotonic(), conn.id, conn.url))
        if len(self.attempts) <= self.fail_first:
            raise ConnectionRefusedError("refused")
        t = FakeTransport()
        self.transports.setdefault(conn.id, []).append(t)
        return t


CFG = FeedConfig(backoff_base_s=0.02, backoff_cap_s=0.1, conn_stale_ms=60_000, book_stale_ms=60_000, seed=1)


async def test_binance_fan_in_url_plus_subscribe() -> None:
    t = InstrumentTable()
    insts = [t.add(Venue.BINANCE_USDM, f"S{n}USDT", "0.01", "0.001") for n in range(250)]
    pipe, books, ctx = build_pipeline(t)
    net = FakeNet()
    fm = FeedManager(pipe, [(i, ["bbo", "depth"]) for i in insts], {Venue.BINANCE_USDM: make_adapter(
        "binance_usdm", endpoints=EP)}, books=books, ctx=ctx, config=CFG, connect=net)
    async with fm:
        urls = [u for _, _, u in net.attempts]
        assert len(urls) == 1                      # 500 streams fit one connection (limit 1024)
        in_url = urls[0].split("streams=")[1].split("/")
        assert len(in_url) == 200                  # the URL carries 200 ...
        tr = net.transports[0][0]
        deadline = time.monotonic() + 5
        while len(tr.sent) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        msgs = [orjson.loads(m) for _, m in tr.sent]
        assert [m["method"] for m in msgs] == ["SUBSCRIBE", "SUBSCRIBE"]   # ... SUBSCRIBE the other 300
        streams = in_url + [p for m in msgs for p in m["params"]]
        assert len(streams) == len(set(streams)) == 500


async def test_bybit_subscribe_paced_and_resent_after_reconnect() -> None:
    t = InstrumentTable()
    insts = [t.add(Venue.BYBIT, f"S{n}USDT", "0.01", "0.001", category="spot") for n in range(30)]
    pipe, books, ctx = build_pipeline(t)
    net = FakeNet(fail_first=2)
    ad = make_adapter("bybit", endpoints=Endpoints("http://127.0.0.1:9", "ws://127.0.0.1:9/v5/public/{category}"))
    fm = FeedManager(pipe, [(i, ["depth", "trades"]) for i in insts], {Venue.BYBIT: ad}, books=books, ctx=ctx,
                     config=CFG, connect=net)
    async with fm:
        assert len(net.attempts) == 3 and net.attempts[0][2].endswith("/v5/public/spot")
        # two refused connects, then success: delays grow but stay under the cap
        gaps = [b[0] - a[0] for a, b in zip(net.attempts, net.attempts[1:], strict=False)]
        assert all(g <= 0.1 + 0.05 for g in gaps)
        tr = net.transports[0][0]
        deadline = time.monotonic() + 10
        while len(tr.sent) < 6 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        msgs = [orjson.loads(m) for _, m in tr.sent]
        topics = [a for m in msgs for a in m["args"]]
        assert len(topics) == 60 and all(len(m["args"]) <= 10 for m in msgs)
        # at most 10 messages in any 1 s window (venue limit)
        times = [ts for ts, _ in tr.sent]
        assert all(sum(1 for x in times if t0 <= x < t0 + 1.0) <= 10 for t0 in times)
        tr.disconnect()                        # the venue drops us: reconnect and subscribe again
        while len(net.transports[0]) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        tr2 = net.transports[0][1]
        while len(tr2.sent) < 6 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert sorted(a for _, m in tr2.sent for a in orjson.loads(m)["args"]) == sorted(topics)
        st = fm.status()
        assert st["conns"][0]["reconnects"] == 1
        assert all(c["reconnects"] == 1 for c in st["instruments"].values())


async def test_heartbeat_frames() -> None:
    t = InstrumentTable()
    i = t.add(Venue.OKX, "BTC-USDT", "0.1", "0.00000001")
    pipe, books, ctx = build_pipeline(t)
    net = FakeNet()
    ad = make_adapter("okx", endpoints=EP)
    ad.heartbeat_s = 0.05                          # type: ignore[misc]
    fm = FeedManager(pipe, [(i, ["depth"])], {Venue.OKX: ad}, books=books, ctx=ctx, config=CFG, connect=net)
    async with fm:
        await asyncio.sleep(1.3)
        sent = net.transports[0][0].sent
    msgs = [m for _, m in sent]
    assert msgs[0].startswith(b'{"id"') and msgs.count(b"ping") >= 3
    # pings share the connection's message budget (OKX: 3 per second)
    times = [ts for ts, _ in sent]
    assert all(sum(1 for x in times if t0 <= x < t0 + 1.0) <= 3 for t0 in times)


def _unreachable_okx_feed(connect_timeout_s: float) -> tuple[FeedManager, FakeNet]:
    """A FeedManager for one OKX book whose every connection attempt fails (fast backoff)."""
    t = InstrumentTable()
    i = t.add(Venue.OKX, "BTC-USDT", "0.1", "0.00000001")
    pipe, books, ctx = build_pipeline(t)
    net = FakeNet(fail_first=10**6)
    cfg = FeedConfig(backoff_base_s=0.01, backoff_cap_s=0.02, connect_timeout_s=connect_timeout_s)
    fm = FeedManager(pipe, [(i, ["depth"])], {Venue.OKX: make_adapter("okx", endpoints=EP)}, books=books,
                     ctx=ctx, config=cfg, connect=net)
    return fm, net


async def test_start_fails_loudly_when_a_venue_is_unreachable() -> None:
    import pytest

    fm, net = _unreachable_okx_feed(connect_timeout_s=0.1)
    with pytest.raises(ConnectionError, match="okx"):
        await fm.start()
    n = len(net.attempts)
    await asyncio.sleep(0.1)
    assert len(net.attempts) == n and n > 3          # retried with backoff, then everything stopped


async def test_start_cancelled_while_connecting_stays_cancelled() -> None:
    """Cancelling start() (Ctrl-C, an outer timeout) closes what it opened and ends cancelled, not as a
    ConnectionError that would hide the cancellation from the caller."""
    import pytest

    fm, net = _unreachable_okx_feed(connect_timeout_s=5.0)
    task = asyncio.create_task(fm.start())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    n = len(net.attempts)
    await asyncio.sleep(0.1)
    assert len(net.attempts) == n and n > 1          # the connect loops were stopped too


async def test_pings_do_not_eat_the_hourly_subscribe_budget() -> None:
    """OKX allows 480 subscribe requests per hour per connection; pings must not count against it
    (with pings every few seconds they would exhaust it within the hour and block every resync),
    and a new connection starts with a fresh budget."""
    import pytest

    t = InstrumentTable()
    i = t.add(Venue.OKX, "BTC-USDT", "0.1", "0.00000001")
    pipe, books, ctx = build_pipeline(t)
    net = FakeNet()
    ad = make_adapter("okx", endpoints=EP)
    ad.heartbeat_s = 0.02                          # type: ignore[misc]
    ad.sub_windows = ((2, 3600.0),)                # type: ignore[misc]
    ad.send_windows = ((100, 1.0),)                # type: ignore[misc]
    fm = FeedManager(pipe, [(i, ["depth"])], {Venue.OKX: ad}, books=books, ctx=ctx, config=CFG, connect=net)
    async with fm:
        await asyncio.sleep(0.3)
        c = fm.conns[0]
        tr = net.transports[0][0]
        assert [m for _, m in tr.sent].count(b"ping") >= 5
        sub = ad.subscribe_msgs(c.streams, 99)
        await asyncio.wait_for(fm._send_all(c, sub), 0.5)         # 2nd request of the hour: allowed
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(fm._send_all(c, sub), 0.3)     # 3rd: waits for the window
        tr.disconnect()
        deadline = time.monotonic() + 5
        while len(net.transports[0]) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        tr2 = net.transports[0][1]
        while not tr2.sent and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert orjson.loads(tr2.sent[0][1])["op"] == "subscribe"     # fresh budget on the new connection


async def test_resync_with_spent_subscribe_budget_reconnects() -> None:
    t = InstrumentTable()
    i = t.add(Venue.OKX, "BTC-USDT", "0.1", "0.00000001")
    pipe, books, ctx = build_pipeline(t)
    net = FakeNet()
    ad = make_adapter("okx", endpoints=EP)
    ad.sub_windows = ((1, 3600.0),)                # type: ignore[misc]
    cfg = FeedConfig(backoff_base_s=0.01, backoff_cap_s=0.02, resync_timeout_s=0.2, conn_stale_ms=60_000,
                     book_stale_ms=60_000, seed=1)
    fm = FeedManager(pipe, [(i, ["depth"])], {Venue.OKX: ad}, books=books, ctx=ctx, config=cfg, connect=net)
    async with fm:
        fm._start_resync(fm.insts[i.id], "test")   # the initial subscribe used the only request
        deadline = time.monotonic() + 5
        while len(net.transports.get(0, [])) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert len(net.transports[0]) == 2
        while not net.transports[0][1].sent and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert orjson.loads(net.transports[0][1].sent[0][1])["op"] == "subscribe"
        assert fm.status()["conns"][0]["reconnects"] == 1
