# SPDX-License-Identifier: Apache-2.0
"""Background (slow) signals written into the shared context that strategies read nogil without I/O.

Sources: funding rate / mark price from the feeds (:meth:`SignalHub.on_mark`), open-interest changes from a
REST poll (:meth:`SignalHub.poll_open_interest`), large-trade alerts (:meth:`SignalHub.on_trade`) and external
scores from a signal provider: an authenticated aiohttp webhook (:class:`Webhook`) and a WebSocket client
(:func:`run_signal_ws`). External scores carry their own timestamp and are cleared once older than
``max_age_s`` (:meth:`SignalHub.expire`).

Webhook contract (``POST /signal``, loopback by default):

* body: JSON object ``{"symbol": "BTCUSDT", "score": 0.4, "ts": 1764000000.123}`` (``score`` finite in
  [-1, 1]; ``ts`` Unix seconds, or milliseconds if > 1e11; optional ``"venue": "binance_usdm"``); at most
  ``max_bytes`` bytes; no other keys.
* auth ``hmac``: header ``X-Hotpath-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``;
  auth ``bearer``: header ``Authorization: Bearer <secret>``. The secret comes from ``HOTPATH_WEBHOOK_SECRET``.
* answers: 200 ``{"ok":true,"instruments":[ids]}``; 400 schema, 401 auth, 404 unknown symbol, 413 too large,
  422 stale/future timestamp. Error bodies never echo the request or the secret.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

import orjson

from engine.instruments import Instrument, Venue

log = logging.getLogger("hotpath.signals")

# slot ids: ENG_SIG_* in include/engine/types.h
SIG_FUNDING_RATE = 0
SIG_MARK_PX = 1
SIG_INDEX_PX = 2
SIG_OPEN_INTEREST = 3
SIG_OI_CHANGE = 4
SIG_LARGE_TRADE = 5
SIG_EXTERNAL = 6
SIG_LIQUIDATION = 7

MAX_FUTURE_S = 5.0


class SlowSink(Protocol):
    """What the hub needs from engine.strategy.Context."""

    def set_slow(self, inst: int, slot: int, value: float, ts_ns: int | None = None) -> None: ...


def _mono_ns() -> int:
    return time.monotonic_ns()


class SignalError(ValueError):
    """A rejected external signal; ``status`` is the HTTP status the webhook answers with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class SignalHub:
    """Writes slow signals into ``sink`` (a Context) and remembers what it wrote for expiry and views."""

    sink: Any
    instruments: Iterable[Instrument]
    max_age_s: float = 60.0
    large_trade_notional: float = 0.0
    by_symbol: dict[str, list[Instrument]] = field(default_factory=dict, init=False)
    values: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict, init=False)  # (inst, slot) -> (value, wall ts s)
    accepted: int = field(default=0, init=False)
    rejected: int = field(default=0, init=False)
    _oi_prev: dict[int, float] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.instruments = list(self.instruments)
        for inst in self.instruments:
            self.by_symbol.setdefault(inst.symbol.upper(), []).append(inst)

    # -- writing
    def set(self, inst: int, slot: int, value: float, ts_s: float | None = None) -> None:
        if not math.isfinite(value):
            raise SignalError(400, "value must be finite")
        self.sink.set_slow(inst, slot, float(value))
        self.values[(inst, slot)] = (float(value), time.time() if ts_s is None else ts_s)

    def clear(self, inst: int, slot: int) -> None:
        clear = getattr(self.sink, "clear_slow", None)
        if clear is not None:
            clear(inst, slot)
        else:  # engine.strategy.Context: ts 0 means "never written", which strategies treat as absent
            self.sink.set_slow(inst, slot, 0.0, ts_ns=0)
        self.values.pop((inst, slot), None)

    def get(self, inst: int, slot: int) -> float | None:
        v = self.values.get((inst, slot))
        return None if v is None else v[0]

    # -- feeds
    def on_mark(self, inst: int, mark_px: float | None = None, funding_rate: float | None = None,
                index_px: float | None = None) -> None:
        """Mark price / funding rate / index price pushed by a feed's cold-frame handler."""
        if mark_px is not None:
            self.set(inst, SIG_MARK_PX, mark_px)
        if funding_rate is not None:
            self.set(inst, SIG_FUNDING_RATE, funding_rate)
        if index_px is not None:
            self.set(inst, SIG_INDEX_PX, index_px)

    def on_trade(self, inst: Instrument, px: float, sz: float, side: int) -> bool:
        """Raise ``SIG_LARGE_TRADE`` (signed notional) when a public trade is at least ``large_trade_notional``."""
        if self.large_trade_notional <= 0:
            return False
        notional = px * sz * inst.contract_mult
        if notional < self.large_trade_notional:
            return False
        self.set(inst.id, SIG_LARGE_TRADE, notional if side >= 0 else -notional)
        log.info("large trade %s %s notional %.0f", inst.symbol, "buy" if side >= 0 else "sell", notional)
        return True

    def on_open_interest(self, inst: int, oi: float) -> None:
        prev = self._oi_prev.get(inst)
        self._oi_prev[inst] = oi
        self.set(inst, SIG_OPEN_INTEREST, oi)
        if prev:
            self.set(inst, SIG_OI_CHANGE, (oi - prev) / prev)

    # -- external scores
    def apply_external(self, raw: bytes | dict, now_s: float | None = None) -> list[int]:
        """Validate one external signal (bytes or decoded dict) and write it; returns instrument ids."""
        try:
            msg = orjson.loads(raw) if isinstance(raw, (bytes, bytearray, memoryview, str)) else raw
        except orjson.JSONDecodeError:
            self.rejected += 1
            raise SignalError(400, "body is not valid JSON") from None
        try:
            insts, score, ts = self._validate(msg, time.time() if now_s is None else now_s)
        except SignalError:
            self.rejected += 1
            raise
        for inst in insts:
            self.set(inst.id, SIG_EXTERNAL, score, ts)
        self.accepted += 1
        return [i.id for i in insts]

    def _validate(self, msg: Any, now_s: float) -> tuple[list[Instrument], float, float]:
        if not isinstance(msg, dict):
            raise SignalError(400, "body must be a JSON object")
        extra = set(msg) - {"symbol", "score", "ts", "venue"}
        if extra:
            raise SignalError(400, f"unexpected key {sorted(extra)[0]!r}")
        sym, score, ts = msg.get("symbol"), msg.get("score"), msg.get("ts")
        if not isinstance(sym, str) or not sym or len(sym) > 40:
            raise SignalError(400, "symbol must be a non-empty string")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise SignalError(400, "score must be a finite number")
        if not -1.0 <= score <= 1.0:
            raise SignalError(400, "score must be within [-1, 1]")
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts) or ts <= 0:
            raise SignalError(400, "ts must be a positive Unix timestamp")
        ts_s = ts / 1000.0 if ts > 1e11 else float(ts)
        if now_s - ts_s > self.max_age_s:
            raise SignalError(422, f"stale signal (older than {self.max_age_s:g} s)")
        if ts_s - now_s > MAX_FUTURE_S:
            raise SignalError(422, "timestamp is in the future")
        insts = self.by_symbol.get(sym.upper(), [])
        venue = msg.get("venue")
        if venue is not None:
            if not isinstance(venue, str):
                raise SignalError(400, "venue must be a string")
            try:
                v = Venue.parse(venue)
            except ValueError:
                raise SignalError(400, "unknown venue") from None
            insts = [i for i in insts if i.venue == v]
        if not insts:
            raise SignalError(404, "symbol is not traded by this bot")
        return insts, float(score), ts_s

    def expire(self, now_s: float | None = None) -> int:
        """Clear external scores older than ``max_age_s``; returns how many were cleared."""
        now_s = time.time() if now_s is None else now_s
        old = [k for k, (_v, ts) in self.values.items() if k[1] == SIG_EXTERNAL and now_s - ts > self.max_age_s]
        for inst, slot in old:
            self.clear(inst, slot)
            log.info("external signal for instrument %d expired", inst)
        return len(old)

    async def run_expiry(self, period_s: float = 1.0) -> None:
        while True:
            await asyncio.sleep(period_s)
            self.expire()

    # -- open interest REST poll
    async def poll_open_interest(self, session: Any, rest_urls: dict[str, str], period_s: float) -> None:
        """Poll open interest for every derivatives instrument every ``period_s`` (Binance USD-M, Bybit, OKX)."""
        while True:
            for inst in self.instruments:
                base = rest_urls.get(inst.venue.key)
                if not base:
                    continue
                try:
                    oi = await fetch_open_interest(session, base, inst)
                except Exception as exc:  # network errors must not kill the poller; they are logged
                    log.warning("open interest %s: %s", inst.symbol, type(exc).__name__)
                    continue
                if oi is not None:
                    self.on_open_interest(inst.id, oi)
            await asyncio.sleep(period_s)


async def fetch_open_interest(session: Any, base: str, inst: Instrument) -> float | None:
    """One open-interest read; None for venues/products without one (spot)."""
    v = inst.venue
    if v == Venue.BINANCE_USDM:
        url, params = base + "/fapi/v1/openInterest", {"symbol": inst.symbol}
    elif v == Venue.BYBIT and inst.category in ("", "linear", "inverse"):
        url, params = base + "/v5/market/open-interest", {
            "category": inst.category or "linear", "symbol": inst.symbol, "intervalTime": "5min", "limit": "1"}
    elif v == Venue.OKX and inst.symbol.endswith("-SWAP"):
        url, params = base + "/api/v5/public/open-interest", {"instType": "SWAP", "instId": inst.symbol}
    else:
        return None
    async with session.get(url, params=params) as resp:
        resp.raise_for_status()
        d = orjson.loads(await resp.read())
    if v == Venue.BINANCE_USDM:
        return float(d["openInterest"])
    if v == Venue.BYBIT:
        return float(d["result"]["list"][0]["openInterest"])
    return float(d["data"][0]["oi"])


# ------------------------------------------------------------------------------------------------ webhook


class Webhook:
    """Authenticated webhook for external scores (aiohttp). ``await start()``, ``await stop()``."""

    def __init__(self, hub: SignalHub, secret: str | None = None, auth: str = "hmac", host: str = "127.0.0.1",
                 port: int = 8787, max_bytes: int = 4096) -> None:
        secret = os.environ.get("HOTPATH_WEBHOOK_SECRET", "") if secret is None else secret
        if len(secret) < 16:
            from engine.errors import ConfigError

            raise ConfigError("webhook needs HOTPATH_WEBHOOK_SECRET with at least 16 characters")
        if auth not in ("hmac", "bearer"):
            raise ValueError("auth must be hmac or bearer")
        self.hub, self.auth, self.host, self.port, self.max_bytes = hub, auth, host, port, max_bytes
        self._secret = secret.encode()
        self._runner: Any = None
        self.url = ""                    # set once listening: http://host:port/signal

    def __repr__(self) -> str:
        return f"Webhook(auth={self.auth!r}, host={self.host!r}, port={self.port})"

    def _authorized(self, headers: Any, body: bytes) -> bool:
        if self.auth == "bearer":
            got = headers.get("Authorization", "")
            return got.startswith("Bearer ") and hmac.compare_digest(got[7:].encode(), self._secret)
        got = headers.get("X-Hotpath-Signature", "")
        if got.startswith("sha256="):
            got = got[7:]
        want = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(got.lower().encode(), want.encode())

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        if request.content_length is not None and request.content_length > self.max_bytes:
            return web.json_response({"ok": False, "error": "body too large"}, status=413)
        try:
            body = await request.content.read(self.max_bytes + 1)
        except Exception:
            return web.json_response({"ok": False, "error": "could not read body"}, status=400)
        if len(body) > self.max_bytes:
            return web.json_response({"ok": False, "error": "body too large"}, status=413)
        if not self._authorized(request.headers, body):
            self.hub.rejected += 1
            log.warning("webhook: unauthorized request from %s", request.remote)
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            ids = self.hub.apply_external(body)
        except SignalError as exc:
            return web.json_response({"ok": False, "error": exc.reason}, status=exc.status)
        return web.json_response({"ok": True, "instruments": ids})

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application(client_max_size=self.max_bytes)
        app.router.add_post("/signal", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{self.port}/signal"
        log.info("signal webhook on http://%s:%d/signal (%s auth)", self.host, self.port, self.auth)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self.url = ""


def sign_body(secret: str, body: bytes) -> str:
    """Header value for ``X-Hotpath-Signature`` (what a signal provider sends)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------------------------ WebSocket client


async def run_signal_ws(hub: SignalHub, url: str, token: str | None = None, max_backoff_s: float = 30.0,
                        stop: asyncio.Event | None = None) -> None:
    """Consume a signal provider's WebSocket (messages: one signal object or a JSON list of them).

    Reconnects with exponential backoff and jitter; bad messages are counted and logged, never fatal.
    The bearer token comes from ``HOTPATH_SIGNAL_WS_TOKEN`` unless given.
    """
    import aiohttp

    token = os.environ.get("HOTPATH_SIGNAL_WS_TOKEN", "") if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    backoff = 0.5
    stop = stop or asyncio.Event()
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            try:
                async with session.ws_connect(url, headers=headers, heartbeat=20, max_msg_size=1 << 16) as ws:
                    backoff = 0.5
                    log.info("signal stream connected: %s", url)
                    async for msg in ws:
                        if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                            break
                        _apply_ws_message(hub, msg.data)
                        if stop.is_set():
                            break
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                log.warning("signal stream %s: %s; reconnecting in %.1f s", url, type(exc).__name__, backoff)
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(stop.wait(), backoff * (1 + random.random() * 0.25))
            except asyncio.TimeoutError:
                pass
            backoff = min(max_backoff_s, backoff * 2)


def _apply_ws_message(hub: SignalHub, data: str | bytes) -> None:
    try:
        msg = orjson.loads(data)
    except orjson.JSONDecodeError:
        hub.rejected += 1
        log.warning("signal stream: invalid JSON")
        return
    for item in msg if isinstance(msg, list) else [msg]:
        try:
            hub.apply_external(item)
        except SignalError as exc:
            log.warning("signal stream: rejected (%s)", exc.reason)


# ------------------------------------------------------------------------------------------ large trades


async def run_trade_watch(hub: SignalHub, adapters: dict[Any, Any], instruments: list[Instrument],
                          stop: asyncio.Event | None = None, ping_s: float = 15.0, max_backoff_s: float = 30.0) -> None:
    """Large-trade alerts from a separate public-trades subscription per venue (opt-in: only when
    ``signals.large_trade_notional`` > 0). Frames are decoded by the compiled codec's ``decode_py`` and fed
    to :meth:`SignalHub.on_trade`; this is Python work on the loop, kept off the pipeline's connections."""
    from engine.codec import Decoder

    stop = stop or asyncio.Event()
    tasks = []
    for venue, ad in adapters.items():
        insts = [i for i in instruments if i.venue == venue]
        if not insts:
            continue
        dec = Decoder(int(venue))
        for i in insts:
            dec.add_instrument(i)
        by_id = {i.id: i for i in insts}
        groups: dict[str, list[Any]] = {}
        for i in insts:
            groups.setdefault(ad.conn_group(i), []).extend(ad.streams(i, ["trades"]))
        for group, streams in groups.items():
            tasks.append(asyncio.create_task(_trade_conn(hub, ad, dec, by_id, group, streams, stop, ping_s,
                                                         max_backoff_s), name=f"trades:{venue.key}:{group}"))
    try:
        await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _trade_conn(hub: SignalHub, ad: Any, dec: Any, by_id: dict[int, Instrument], group: str, streams: list[Any],
                      stop: asyncio.Event, ping_s: float, max_backoff_s: float) -> None:
    import aiohttp

    backoff = 0.5
    req = 0
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            url = ad.ws_url(streams if ad.url_carries_streams() else [], group)
            try:
                async with session.ws_connect(url, heartbeat=None, autoping=True, max_msg_size=1 << 22) as ws:
                    if not ad.url_carries_streams():
                        for msg in ad.subscribe_msgs(streams, req):
                            req += 1
                            await ws.send_str(msg.decode())
                    backoff = 0.5
                    last_ping = time.monotonic()
                    while not stop.is_set():
                        try:
                            msg = await ws.receive(timeout=ping_s)
                        except asyncio.TimeoutError:
                            msg = None
                        if time.monotonic() - last_ping >= ping_s:
                            ping = ad.ping_msg(req)
                            req += 1
                            if ping is not None:
                                await ws.send_str(ping.decode())
                            last_ping = time.monotonic()
                        if msg is None:
                            continue
                        if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                            break
                        data = msg.data.encode() if isinstance(msg.data, str) else msg.data
                        kind, d = dec.decode_py(data)
                        if kind != 3:  # ENG_EV_TRADE
                            continue
                        for t in d.get("trades", [d]):
                            inst = by_id.get(t["inst"])
                            if inst is not None:
                                hub.on_trade(inst, t["px"] * 10.0 ** -inst.px_exp, t["sz"] * 10.0 ** -inst.sz_exp,
                                             t["side"])
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                log.warning("trade watch %s: %s; reconnecting in %.1f s", url, type(exc).__name__, backoff)
            if stop.is_set():
                break
            await asyncio.sleep(backoff * (1 + random.random() * 0.25))
            backoff = min(max_backoff_s, backoff * 2)
