# SPDX-License-Identifier: Apache-2.0
"""engine.signals_bg: authenticated webhook, schema checks, size limit, expiry, WS client, OI/large trades."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest
from aiohttp import web

from engine.errors import ConfigError
from engine.instruments import InstrumentTable, Venue
from engine.signals_bg import (SIG_EXTERNAL, SIG_FUNDING_RATE, SIG_LARGE_TRADE, SIG_OI_CHANGE, SignalError, SignalHub,
                               Webhook, run_signal_ws, sign_body)

SECRET = "webhook-secret-0123456789"


class FakeCtx:
    def __init__(self) -> None:
        self.slow: dict[tuple[int, int], float] = {}
        self.cleared: list[tuple[int, int]] = []

    def set_slow(self, inst: int, slot: int, value: float) -> None:
        self.slow[(inst, slot)] = value

    def clear_slow(self, inst: int, slot: int) -> None:
        self.slow.pop((inst, slot), None)
        self.cleared.append((inst, slot))


def _hub(max_age_s: float = 60.0) -> tuple[SignalHub, FakeCtx, InstrumentTable]:
    t = InstrumentTable()
    t.add(Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
    t.add(Venue.OKX, "BTC-USDT-SWAP", "0.1", "0.01")
    t.add(Venue.BINANCE_SPOT, "BTCUSDT", "0.01", "0.00001")
    ctx = FakeCtx()
    return SignalHub(ctx, t, max_age_s=max_age_s, large_trade_notional=100_000), ctx, t


@pytest.fixture
async def hook():
    hub, ctx, _ = _hub()
    wh = Webhook(hub, SECRET, auth="hmac", port=0, max_bytes=512)
    await wh.start()
    async with aiohttp.ClientSession() as s:
        yield hub, ctx, wh, s, f"http://127.0.0.1:{wh.port}/signal"
    await wh.stop()


def _body(**kw) -> bytes:
    d = {"symbol": "BTCUSDT", "score": 0.5, "ts": time.time()}
    d.update(kw)
    return orjson.dumps({k: v for k, v in d.items() if v is not None})


async def test_webhook_hmac_accepts_and_writes_slot(hook):
    hub, ctx, wh, s, url = hook
    assert wh.host == "127.0.0.1"
    body = _body(score=-0.25, venue="binance_usdm")
    async with s.post(url, data=body, headers={"X-Hotpath-Signature": sign_body(SECRET, body)}) as r:
        assert r.status == 200
        assert (await r.json()) == {"ok": True, "instruments": [0]}
    assert ctx.slow[(0, SIG_EXTERNAL)] == -0.25
    body = _body(score=1)  # both BTCUSDT instruments (spot and USD-M), ts in ms
    body = orjson.dumps({"symbol": "btcusdt", "score": 1, "ts": int(time.time() * 1000)})
    async with s.post(url, data=body, headers={"X-Hotpath-Signature": sign_body(SECRET, body)}) as r:
        assert (await r.json())["instruments"] == [0, 2]


@pytest.mark.parametrize(
    "make, status, reason",
    [
        (lambda: _body(score=1.5), 400, "within [-1, 1]"),
        (lambda: _body(score="0.5"), 400, "finite number"),
        (lambda: _body(score=float("nan")), 400, None),   # orjson writes NaN as null
        (lambda: _body(symbol=""), 400, "symbol"),
        (lambda: _body(extra=1), 400, "unexpected key"),
        (lambda: b"[1,2]", 400, "JSON object"),
        (lambda: b"{not json", 400, "not valid JSON"),
        (lambda: _body(ts=time.time() - 3600), 422, "stale"),
        (lambda: _body(ts=time.time() + 3600), 422, "future"),
        (lambda: _body(symbol="ETHUSDT"), 404, "not traded"),
        (lambda: _body(venue="kraken"), 400, "unknown venue"),
    ],
)
async def test_webhook_schema_errors(hook, make, status, reason):
    hub, ctx, wh, s, url = hook
    body = make()  # built at run time: a timestamp made at collection could already be stale
    async with s.post(url, data=body, headers={"X-Hotpath-Signature": sign_body(SECRET, body)}) as r:
        assert r.status == status
        d = await r.json()
    assert d["ok"] is False
    if reason:
        assert reason in d["error"]
    assert not ctx.slow


async def test_webhook_rejects_bad_auth_and_oversize(hook):
    hub, ctx, wh, s, url = hook
    body = _body()
    for headers in ({}, {"X-Hotpath-Signature": sign_body("wrong-secret-xxxxxxxx", body)},
                    {"Authorization": f"Bearer {SECRET}"}):
        async with s.post(url, data=body, headers=headers) as r:
            assert r.status == 401
            assert SECRET not in await r.text()
    big = orjson.dumps({"symbol": "BTCUSDT", "score": 0.1, "ts": time.time(), "pad": "x" * 2000})
    async with s.post(url, data=big, headers={"X-Hotpath-Signature": sign_body(SECRET, big)}) as r:
        assert r.status == 413
    assert not ctx.slow
    assert SECRET not in repr(wh)


async def test_webhook_bearer():
    hub, ctx, _ = _hub()
    wh = Webhook(hub, SECRET, auth="bearer", port=0)
    await wh.start()
    try:
        url = f"http://127.0.0.1:{wh.port}/signal"
        async with aiohttp.ClientSession() as s:
            async with s.post(url, data=_body(), headers={"Authorization": "Bearer nope"}) as r:
                assert r.status == 401
            async with s.post(url, data=_body(score=0.75), headers={"Authorization": f"Bearer {SECRET}"}) as r:
                assert r.status == 200
    finally:
        await wh.stop()
    assert ctx.slow[(0, SIG_EXTERNAL)] == 0.75


def test_webhook_requires_strong_secret(monkeypatch):
    hub, _, _ = _hub()
    monkeypatch.delenv("HOTPATH_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="HOTPATH_WEBHOOK_SECRET"):
        Webhook(hub)
    with pytest.raises(ConfigError):
        Webhook(hub, "short")


def test_expiry_clears_stale_scores():
    hub, ctx, _ = _hub(max_age_s=10)
    now = time.time()
    hub.apply_external({"symbol": "BTC-USDT-SWAP", "score": 0.3, "ts": now - 5}, now_s=now)
    assert ctx.slow[(1, SIG_EXTERNAL)] == 0.3
    assert hub.expire(now + 1) == 0
    assert hub.expire(now + 6) == 1
    assert (1, SIG_EXTERNAL) not in ctx.slow and ctx.cleared == [(1, SIG_EXTERNAL)]
    with pytest.raises(SignalError) as ei:
        hub.apply_external({"symbol": "BTC-USDT-SWAP", "score": 0.3, "ts": now - 11}, now_s=now)
    assert ei.value.status == 422


def test_marks_trades_and_open_interest():
    hub, ctx, t = _hub()
    hub.on_mark(0, mark_px=65000.5, funding_rate=0.0001)
    assert ctx.slow[(0, SIG_FUNDING_RATE)] == 0.0001
    inst = t.by_id[0]
    assert hub.on_trade(inst, 65000.0, 1.0, -1) is False          # 65k < 100k threshold
    assert hub.on_trade(inst, 65000.0, 2.0, -1) is True
    assert ctx.slow[(0, SIG_LARGE_TRADE)] == -130000.0
    hub.on_open_interest(0, 1000.0)
    hub.on_open_interest(0, 1100.0)
    assert ctx.slow[(0, SIG_OI_CHANGE)] == pytest.approx(0.1)
    with pytest.raises(SignalError):
        hub.set(0, SIG_FUNDING_RATE, float("inf"))


async def test_open_interest_poll_against_fake_rest():
    hub, ctx, _ = _hub()
    calls = []

    async def oi(request):
        calls.append(request.query["symbol"])
        return web.json_response({"symbol": "BTCUSDT", "openInterest": str(1000 + 100 * len(calls)), "time": 1})

    app = web.Application()
    app.router.add_get("/fapi/v1/openInterest", oi)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as s:
            task = asyncio.create_task(hub.poll_open_interest(s, {"binance_usdm": f"http://127.0.0.1:{port}"}, 0.01))
            for _ in range(200):
                if len(calls) >= 2:
                    break
                await asyncio.sleep(0.01)
            task.cancel()
    finally:
        await runner.cleanup()
    assert calls[:2] == ["BTCUSDT", "BTCUSDT"]
    assert ctx.slow[(0, SIG_OI_CHANGE)] == pytest.approx(100 / 1100)


async def test_signal_ws_client():
    hub, ctx, _ = _hub()
    seen_auth = []

    async def ws_handler(request):
        seen_auth.append(request.headers.get("Authorization"))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("garbage")
        await ws.send_str(orjson.dumps([{"symbol": "BTC-USDT-SWAP", "score": -0.9, "ts": time.time()},
                                        {"symbol": "BTCUSDT", "score": 9, "ts": time.time()}]).decode())
        await asyncio.sleep(0.2)
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    stop = asyncio.Event()
    task = asyncio.create_task(run_signal_ws(hub, f"ws://127.0.0.1:{port}/ws", token="tok", stop=stop))
    try:
        for _ in range(200):
            if (1, SIG_EXTERNAL) in ctx.slow:
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await runner.cleanup()
    assert ctx.slow[(1, SIG_EXTERNAL)] == -0.9
    assert (0, SIG_EXTERNAL) not in ctx.slow
    assert hub.rejected == 2 and seen_auth[0] == "Bearer tok"


def test_hub_with_real_context_expires_into_ts_zero():
    from engine.strategy import Context

    t = InstrumentTable()
    t.add(Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
    ctx = Context()
    for i in t:
        ctx.add_instrument(i)
    hub = SignalHub(ctx, t, max_age_s=10)
    now = time.time()
    hub.apply_external({"symbol": "BTCUSDT", "score": -0.4, "ts": now}, now_s=now)
    value, ts_ns = ctx.slow(0, SIG_EXTERNAL)
    assert value == -0.4 and ts_ns > 0
    assert hub.expire(now + 11) == 1
    assert ctx.slow(0, SIG_EXTERNAL) == (0.0, 0)
