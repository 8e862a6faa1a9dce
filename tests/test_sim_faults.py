# SPDX-License-Identifier: Apache-2.0
"""Every simulator fault is reachable from a test and observable by a plain client."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from engine.sim import SimConfig, SimExchange, VenueSpec
from tests._sim_util import LocalBook, PlainBinance, drain

FUT = "binance_usdm"


@pytest.fixture
async def sim():
    async with SimExchange(SimConfig(venues=[FUT], quote_rate=300, seed=3)) as ex:
        yield ex


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


def client(ex, s):
    key, secret, _ = ex.credentials(FUT)
    return PlainBinance(s, ex.endpoints(FUT), key, secret, True)


async def _closed(ws, timeout=3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = await asyncio.wait_for(ws.receive(), deadline - time.monotonic())
        except asyncio.TimeoutError:
            return False
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR,
                        aiohttp.WSMsgType.CLOSING):
            return True
    return False


async def test_drop_connection(sim, session):
    async with session.ws_connect(sim.endpoints(FUT)["ws_public"] + "/ws/btcusdt@bookTicker") as ws:
        await ws.receive_json(timeout=3)
        sim.inject(FUT, "drop", target="public")
        assert await _closed(ws)
    assert [f for _, f, _ in sim.fault_log(FUT)] == ["drop"]


async def test_silent_without_closing_then_recovers(sim, session):
    async with session.ws_connect(sim.endpoints(FUT)["ws_public"] + "/ws/btcusdt@bookTicker") as ws:
        await ws.receive_json(timeout=3)
        sim.inject(FUT, "silent", seconds=0.6)
        await drain(ws, 0.05)                       # frames already in flight
        t0 = time.monotonic()
        got = await drain(ws, 0.4)
        assert got == [] and not ws.closed
        msg = await ws.receive_json(timeout=3)      # after the silence ends data flows again
        assert msg["e"] == "bookTicker" and time.monotonic() - t0 >= 0.4


async def test_delay_and_reorder_frames(sim, session):
    sim.pause_market(FUT)
    async with session.ws_connect(sim.endpoints(FUT)["ws_public"] + "/ws") as ws:
        sim.inject(FUT, "delay", ms=300, count=1)
        t0 = time.monotonic()
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 1})
        r = await ws.receive_json(timeout=3)
        assert r["id"] == 1 and time.monotonic() - t0 >= 0.28
        sim.inject(FUT, "reorder", count=1)
        await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":2}\n')
        await asyncio.sleep(0)
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 3})
        ids = [m["id"] for m in await drain(ws, 0.3)]
        # the writer may have sent id 2 before id 3 was queued; then the swap applies to later frames
        assert sorted(ids) == [2, 3]
    names = [f for _, f, _ in sim.fault_log(FUT)]
    assert "delay" in names


async def test_reorder_swaps_adjacent_frames(sim):
    # deterministic: queue two frames on a connection before the writer runs
    v = sim.venue(FUT)
    sent = []

    class FakeWS:
        async def send_str(self, t):
            sent.append(t)

    from engine.sim.server import Conn

    class Req:
        transport = None

    c = Conn(v, FakeWS(), Req(), "public")   # type: ignore[arg-type]
    sim.inject(FUT, "reorder", count=1)
    c.send("a")
    c.send("b")
    c.send("c")
    await asyncio.sleep(0.05)
    assert sent == ["b", "a", "c"]
    c.closed = True
    c.wake.set()


async def test_gap_breaks_the_pu_chain(sim, session):
    c = client(sim, session)
    async with session.ws_connect(c.ep["ws_public"] + "/stream?streams=btcusdt@depth@100ms") as ws:
        await ws.receive_json(timeout=3)
        _, snap = await c.public("/fapi/v1/depth", symbol="BTCUSDT", limit=1000)
        book = LocalBook(True)
        book.load(snap)
        for _ in range(3):
            assert book.apply((await ws.receive_json(timeout=3))["data"])
        sim.inject(FUT, "gap", symbol="BTCUSDT")
        ok = True
        for _ in range(5):
            ok = book.apply((await ws.receive_json(timeout=3))["data"])
            if not ok:
                break
        assert not ok
    assert ("gap" in [f for _, f, _ in sim.fault_log(FUT)])


@pytest.mark.parametrize("mode", ["garbage", "truncated"])
async def test_garbage_and_truncated_frames(sim, session, mode):
    async with session.ws_connect(sim.endpoints(FUT)["ws_public"] + "/ws/btcusdt@bookTicker") as ws:
        await ws.receive_json(timeout=3)
        await drain(ws, 0.02)
        sim.inject(FUT, "garbage", mode=mode, count=1)
        bad = 0
        for _ in range(20):
            msg = await ws.receive(timeout=3)
            try:
                orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                bad += 1
                break
        assert bad == 1


@pytest.mark.parametrize("code", [-1003, -1015])
async def test_order_rate_limit_answers_429(sim, session, code):
    c = client(sim, session)
    sim.inject(FUT, "rate_limit", code=code, retry_after=7)
    st, e, h = await c.signed("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                              timeInForce="GTC", quantity="0.010", price="40000.0")
    assert st == 429 and e["code"] == code and h["Retry-After"] == "7"
    assert sim.orders(FUT) == []
    sim.inject(FUT, "rate_limit", code=code)
    async with session.ws_connect(c.ep["ws_trade"]) as ws:
        await ws.send_json(c.ws_request("1", "order.place", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                        timeInForce="GTC", quantity="0.010", price="40000.0"))
        r = await ws.receive_json(timeout=3)
        assert r["status"] == 429 and r["error"]["code"] == code


@pytest.mark.parametrize("placed", [True, False])
async def test_server_error_with_unknown_outcome(sim, session, placed):
    c = client(sim, session)
    sim.inject(FUT, "server_error", placed=placed)
    st, e, _ = await c.signed("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                              timeInForce="GTC", quantity="0.010", price="40000.0",
                              newClientOrderId="unk1")
    assert st == 503 and e["code"] == -1007
    st, q, _ = await c.signed("GET", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="unk1")
    assert (st == 200 and q["status"] == "NEW") if placed else (q["code"] == -2013)


async def test_never_answer_an_order(sim, session):
    c = client(sim, session)
    sim.inject(FUT, "no_answer", placed=True)
    async with session.ws_connect(c.ep["ws_trade"]) as ws:
        await ws.send_json(c.ws_request("1", "order.place", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                        timeInForce="GTC", quantity="0.010", price="40000.0",
                                        newClientOrderId="hang1"))
        await ws.send_json(c.ws_request("2", "time", signed=False))
        msgs = await drain(ws, 0.5)
        assert [m["id"] for m in msgs] == []     # the reader is blocked behind the hung request
    assert [o.client_id for o in sim.orders(FUT)] == ["hang1"]


async def test_server_ping_requires_pong(sim, session):
    sim.inject(FUT, "ping", interval=0.15, timeout=0.5)
    url = sim.endpoints(FUT)["ws_public"] + "/ws/btcusdt@bookTicker"
    async with session.ws_connect(url, autoping=True) as good, \
            session.ws_connect(url, autoping=False) as bad:
        good_msgs: list = []

        async def read_good():
            # aiohttp answers pings only while the application reads
            async for m in good:
                good_msgs.append(m)

        reader = asyncio.ensure_future(read_good())
        saw_ping = False
        deadline = time.monotonic() + 3
        closed = False
        while time.monotonic() < deadline and not closed:
            msg = await bad.receive(timeout=3)
            if msg.type == aiohttp.WSMsgType.PING:
                saw_ping = True
            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                closed = True
        assert saw_ping and closed
        await asyncio.sleep(0.8)                    # > timeout: the answering client stays
        assert not good.closed and not reader.done()
        n = len(good_msgs)
        await asyncio.sleep(0.2)
        assert len(good_msgs) > n
        reader.cancel()


async def test_server_shutdown_event_then_disconnect(sim, session):
    url = sim.endpoints(FUT)["ws_public"] + "/stream?streams=btcusdt@bookTicker"
    async with session.ws_connect(url) as ws:
        await ws.receive_json(timeout=3)
        sim.inject(FUT, "shutdown", grace=0.3)
        seen = False
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            msg = await ws.receive(timeout=3)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            d = msg.json()
            if d.get("stream") == "!serverShutdown":
                assert d["data"]["e"] == "serverShutdown"
                seen = True
        assert seen and ws.closed


async def test_server_shutdown_spares_connections_opened_after_the_notice(sim, session):
    """The planned-reconnect contract: a replacement opened during the grace period survives it."""
    url = sim.endpoints(FUT)["ws_public"] + "/stream?streams=btcusdt@bookTicker"
    async with session.ws_connect(url) as old:
        await old.receive_json(timeout=3)
        sim.inject(FUT, "shutdown", grace=0.3)
        async with session.ws_connect(url) as new:
            await new.receive_json(timeout=3)
            assert await _closed(old, 3)
            t_end = time.monotonic() + 0.6          # well past the grace
            got = 0
            while time.monotonic() < t_end:
                msg = await new.receive(timeout=3)
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                got += 1
            assert got > 0 and not new.closed


async def test_forced_disconnect_after_max_age(session):
    cfg = SimConfig(venues=[VenueSpec(FUT, faults={"max_age": {"seconds": 0.4}})], quote_rate=50)
    async with SimExchange(cfg) as ex:
        async with session.ws_connect(ex.endpoints(FUT)["ws_public"] + "/ws/btcusdt@bookTicker") as ws:
            t0 = time.monotonic()
            assert await _closed(ws, 3)
            assert time.monotonic() - t0 >= 0.35
        assert "max_age" in [f for _, f, _ in ex.fault_log(FUT)]


async def test_weight_limit_429_then_418(session):
    cfg = SimConfig(venues=[VenueSpec(FUT, weight_limit_1m=3)], market=False)
    async with SimExchange(cfg) as ex:
        c = client(ex, session)
        codes = []
        for _ in range(7):
            async with session.get(c.ep["rest"] + "/fapi/v1/time") as r:
                codes.append(r.status)
                if r.status != 200:
                    assert "Retry-After" in r.headers
                    assert (await r.json())["code"] == -1003
        assert codes[:3] == [200, 200, 200] and codes[3] == 429 and 418 in codes


async def test_bitget_bad_checksum_and_okx_gap(session):
    import zlib

    def crc(b, a):
        parts = []
        for i in range(25):
            if i < len(b):
                parts += b[i][:2]
            if i < len(a):
                parts += a[i][:2]
        v = zlib.crc32(":".join(parts).encode())
        return v - (1 << 32) if v >= 1 << 31 else v

    async with SimExchange(SimConfig(venues=["bitget", "okx"], quote_rate=300)) as ex:
        async with session.ws_connect(ex.endpoints("bitget")["ws_public"]) as ws:
            await ws.send_json({"op": "subscribe", "args": [{"instType": "USDT-FUTURES", "channel": "books",
                                                             "instId": "BTCUSDT"}]})
            await ws.receive_json(timeout=3)
            bids: dict = {}
            asks: dict = {}
            bad = False
            for i in range(30):
                m = await ws.receive_json(timeout=3)
                if m["action"] == "snapshot":
                    bids, asks = {}, {}
                for side, book in (("bids", bids), ("asks", asks)):
                    for p, q in m["data"][0][side]:
                        if float(q) == 0:
                            book.pop(p, None)
                        else:
                            book[p] = q
                b = sorted(bids.items(), key=lambda x: -float(x[0]))
                a = sorted(asks.items(), key=lambda x: float(x[0]))
                ok = crc([list(x) for x in b], [list(x) for x in a]) == m["data"][0]["checksum"]
                if i == 3:
                    ex.inject("bitget", "bad_checksum", symbol="BTCUSDT")
                if not ok:
                    bad = True
                    assert i > 3
                    break
            assert bad
        async with session.ws_connect(ex.endpoints("okx")["ws_public"]) as ws:
            await ws.send_json({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT-SWAP"}]})
            await ws.receive_json(timeout=3)
            seq = (await ws.receive_json(timeout=3))["data"][0]["seqId"]
            ex.inject("okx", "gap", symbol="BTC-USDT-SWAP")
            broke = False
            for _ in range(10):
                d = (await ws.receive_json(timeout=3))["data"][0]
                if d["prevSeqId"] != seq:
                    broke = True
                    break
                seq = d["seqId"]
            assert broke
    names = [f for _, f, _ in ex.fault_log("bitget")] + [f for _, f, _ in ex.fault_log("okx")]
    assert "bad_checksum" in names and "gap" in names


async def test_rest_no_answer_and_unknown_fault_name(sim, session):
    c = client(sim, session)
    with pytest.raises(ValueError, match="unknown fault"):
        sim.inject(FUT, "meteor")
    sim.inject(FUT, "no_answer", placed=False)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(c.signed("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                        timeInForce="GTC", quantity="0.010", price="40000.0"), 0.5)
    assert sim.orders(FUT) == []
