# SPDX-License-Identifier: Apache-2.0
"""SimExchange: one aiohttp server per simulated venue on loopback, the market loop, WebSocket
connection handling (outgoing queue with fault hooks, server pings, forced disconnects) and the
tick-to-trade probe. Venue modules subclass ``VenueServer``."""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from typing import Any, Callable

from aiohttp import WSMsgType, web

from engine.sim.config import SimConfig, VenueSpec
from engine.sim.faults import Faults
from engine.sim.market import SyntheticMarket
from engine.sim.matching import Engine, Fill, Market, Order

perf_ns = time.perf_counter_ns
log = logging.getLogger("engine.sim")


class Conn:
    """One server-side WebSocket connection with an outgoing queue.

    Producers call ``send(text)`` without awaiting; a writer task drains the queue and applies
    the connection faults (silent, delay, reorder, garbage). ``quote=True`` marks a best-price
    frame whose send time feeds the tick-to-trade probe.
    """

    MAX_QUEUE = 200_000  # a consumer that falls this far behind is disconnected (slow client)

    def __init__(self, venue: "VenueServer", ws: web.WebSocketResponse, request: web.Request,
                 kind: str) -> None:
        self.venue = venue
        self.ws = ws
        self.request = request
        self.kind = kind                  # public / user / trade
        self.out: deque[tuple[str | bytes, bool]] = deque()
        self.wake = asyncio.Event()
        self.closed = False
        self.created = time.monotonic()
        self.created_ms = time.time_ns() // 1_000_000
        self.silent_until: float | None = None
        self.ping_sent: float | None = None
        self.last_tx = self.created
        self.state: dict[str, Any] = {}   # venue data (subscriptions, login, ...)
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    def send(self, text: str | bytes, quote: bool = False) -> None:
        if self.closed:
            return
        if len(self.out) >= self.MAX_QUEUE:
            self.venue.faults.fired("slow_consumer", kind=self.kind)
            self.abort()
            return
        self.out.append((text, quote))
        self.wake.set()

    def is_silent(self) -> bool:
        if self.silent_until is None:
            return False
        if self.silent_until > time.monotonic():
            return True
        self.silent_until = None
        return False

    async def _write_loop(self) -> None:
        ws = self.ws
        faults = self.venue.faults
        try:
            while not self.closed:
                await self.wake.wait()
                self.wake.clear()
                while self.out and not self.closed:
                    text, quote = self.out.popleft()
                    if self.is_silent():
                        continue
                    if faults.active:
                        d = faults.get("delay")
                        if d is not None:
                            faults.take("delay") if d.get("count") is not None else None
                            await asyncio.sleep(d.get("ms", 100) / 1000)
                        if "reorder" in faults.active and self.out:
                            if faults.take("reorder") is not None:
                                nxt = self.out.popleft()
                                self.out.appendleft((text, quote))
                                text, quote = nxt
                        if "garbage" in faults.active:
                            g = faults.take("garbage")
                            if g is not None:
                                if g.get("mode") == "truncated":
                                    t = text if isinstance(text, str) else text.decode()
                                    text = t[: max(1, len(t) // 2)]
                                else:
                                    text = b"\x00\xff\xfe{garbage"
                    self.last_tx = time.monotonic()
                    if quote:
                        self.venue.last_quote_send_ns = perf_ns()
                    if isinstance(text, bytes):
                        await ws.send_bytes(text)
                    else:
                        await ws.send_str(text)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            self.closed = True

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        self.closed = True
        tr = self.request.transport
        if tr is not None:
            tr.abort()
        self.wake.set()

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        self.closed = True
        self.wake.set()
        try:
            await self.ws.close(code=code, message=message)
        except Exception:
            self.abort()


class VenueServer:
    """Base of a simulated venue: engine, market process, HTTP/WS server, subscriptions."""

    futures = True
    default_ping_interval: float | None = None
    default_pong_timeout: float = 60.0

    def __init__(self, sim: "SimExchange", spec: VenueSpec) -> None:
        self.sim = sim
        self.cfg = sim.config
        self.spec = spec
        self.key = spec.key
        self.engine = Engine(spec, self.futures)
        self.engine.listeners.append(self)
        self.market = SyntheticMarket(self.engine, self.cfg.seed, self.cfg.depth_levels,
                                      probe=self.cfg.latency_probe)
        self.faults = Faults()
        for name, params in spec.faults.items():
            self.faults.arm(name, params)
        self.conns: set[Conn] = set()
        self.subs: dict[str, set[Conn]] = {}
        self.app = web.Application()
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.host = self.cfg.host
        self.tasks: list[asyncio.Task] = []
        self.last_quote_send_ns = 0
        self.paused = False
        self.replay_mode = False
        self.replay_snapshots: dict[str, Any] = {}
        self.loop_errors = 0
        self.overload_skipped = 0    # market events dropped because the host could not keep up
        self.t2t_samples: list[int] = []
        self.started_ms = int(time.time() * 1000)
        self.rng = random.Random(f"{self.cfg.seed}:{self.key}:ids")
        self.open_interest: dict[str, int] = {}   # symbol -> OI in size units (set_open_interest)
        for m in self.engine.markets.values():
            m.on_trade.append(self.on_own_trade_print)
        self.setup_routes()

    # ---- to implement ---------------------------------------------------------------------
    def setup_routes(self) -> None:
        raise NotImplementedError

    def endpoints(self) -> dict[str, str]:
        raise NotImplementedError

    def publish_event(self, m: Market, trades: list[tuple[int, int, bool]]) -> None:
        """After a market event (or an order of ours) changed ``m``: push quotes/trades."""
        raise NotImplementedError

    def flush_depth(self, m: Market, interval_ms: int) -> None:
        raise NotImplementedError

    def publish_mark(self, m: Market) -> None:
        pass

    def shutdown_notice(self) -> None:
        """Send the venue's planned-disconnect notice (Binance serverShutdown)."""

    def publish_liquidation(self, m: Market, buy: bool, px: int, qty: int) -> None:
        """Push a forced order (``buy`` = the liquidation order buys, i.e. a short was liquidated)."""
        raise NotImplementedError(f"{self.key}: no liquidation stream in the sim")

    def publish_open_interest(self, m: Market) -> None:
        """Push ``open_interest[m.symbol]`` on the venue's open-interest stream, if it has one."""

    def order_event(self, order: Order, exec_type: str, fill: Fill | None) -> None:
        pass

    def account_event(self, reason: str, symbols: list[str]) -> None:
        pass

    # ---- common ---------------------------------------------------------------------------
    def on_own_trade_print(self, m: Market, px: int, qty: int, buy: bool, tid: int, ts: int) -> None:
        self.publish_event(m, [(px, qty, buy)])

    def record_order_arrival(self) -> None:
        """Tick-to-trade probe: arrival time minus the send time of the latest quote."""
        if self.last_quote_send_ns:
            self.t2t_samples.append(perf_ns() - self.last_quote_send_ns)
            if len(self.t2t_samples) > 2_000_000:
                del self.t2t_samples[:1_000_000]

    def subscribe(self, conn: Conn, topic: str) -> None:
        self.subs.setdefault(topic, set()).add(conn)
        conn.state.setdefault("topics", set()).add(topic)

    def unsubscribe(self, conn: Conn, topic: str) -> None:
        s = self.subs.get(topic)
        if s is not None:
            s.discard(conn)
        conn.state.setdefault("topics", set()).discard(topic)

    def fanout(self, topic: str, text: str | bytes, quote: bool = False) -> None:
        s = self.subs.get(topic)
        if s:
            for c in s:
                c.send(text, quote)

    def drop_conn(self, conn: Conn) -> None:
        self.conns.discard(conn)
        for t in conn.state.get("topics", ()):
            s = self.subs.get(t)
            if s is not None:
                s.discard(conn)

    def conns_of(self, target: str) -> list[Conn]:
        return [c for c in self.conns if target in ("all", None) or c.kind == target]

    async def ws_session(self, request: web.Request, kind: str,
                         on_text: Callable[[Conn, str], Any],
                         on_open: Callable[[Conn], Any] | None = None) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = Conn(self, ws, request, kind)
        self.conns.add(conn)
        try:
            if on_open is not None:
                r = on_open(conn)
                if asyncio.iscoroutine(r):
                    await r
            async for msg in ws:
                if msg.type == WSMsgType.PING:
                    if not conn.is_silent():
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    conn.ping_sent = None
                elif msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    if conn.is_silent():
                        continue
                    text = msg.data if msg.type == WSMsgType.TEXT else msg.data.decode("utf-8", "replace")
                    try:
                        r = on_text(conn, text)
                        if asyncio.iscoroutine(r):
                            await r
                    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
                        # malformed request shapes: answer like the venue, keep the connection
                        self.faults.fired("bad_request", kind=kind, error=type(e).__name__)
                        conn.send(self.bad_request_frame(text))
                else:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            conn.closed = True
            conn.wake.set()
            self.drop_conn(conn)
            self.on_conn_closed(conn)
        return ws

    def on_conn_closed(self, conn: Conn) -> None:
        pass

    def bad_request_frame(self, text: str) -> str:
        """The venue's answer to a request it cannot interpret."""
        return '{"code":2,"msg":"Invalid request"}'

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self, port: int = 0) -> None:
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        self.tasks.append(loop.create_task(self._market_loop()))
        self.tasks.append(loop.create_task(self._maintenance_loop()))

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        for c in list(self.conns):
            c.abort()
        if self.runner is not None:
            await self.runner.cleanup()

    async def _market_loop(self) -> None:
        while True:
            try:
                await self._market_loop_inner()
            except asyncio.CancelledError:
                raise
            except Exception:
                # a simulator bug must be loud but must not freeze the market for the test run
                log.exception("sim %s: market loop failed; restarting", self.key)
                self.loop_errors += 1
                await asyncio.sleep(0.01)

    async def _market_loop_inner(self) -> None:
        rate = self.cfg.quote_rate
        markets = list(self.engine.markets.values())
        t0 = time.monotonic()
        done = 0
        # next flush deadline per (market, interval): every symbol flushes its own diffs
        depth_next: dict[tuple[str, int], float] = {}
        mark_next = t0
        loop_sleep = asyncio.sleep
        synthetic = self.cfg.market and not self.cfg.replay
        # at most ~2 ms of scheduled events per loop turn, so quotes never queue behind a long
        # batch; a backlog older than 0.5 s is dropped and counted (the host is overloaded)
        cap = max(1, int(rate * 0.002))
        while True:
            now = time.monotonic()
            due = int((now - t0) * rate)
            if due - done > rate * 0.5:
                self.overload_skipped += due - done - cap
                done = due - cap
            end = min(due, done + cap)
            while done < end:
                done += 1
                if synthetic and not self.paused:
                    for m in markets:
                        trades = self.market.step(m)
                        self.publish_event(m, trades)
            for m in markets:
                for t in m.trackers:
                    if t.interval_ms == 0:
                        if t.dirty:
                            self.flush_depth(m, 0)
                        continue
                    key = (m.symbol, t.interval_ms)
                    if now >= depth_next.get(key, 0.0):
                        depth_next[key] = now + t.interval_ms / 1000
                        if t.dirty:
                            self.flush_depth(m, t.interval_ms)
            if now >= mark_next:
                mark_next = now + self.cfg.funding_interval_s
                for m in markets:
                    self.publish_mark(m)
            nxt_event = t0 + (done + 1) / rate
            await loop_sleep(max(0.0, min(nxt_event - time.monotonic(), 0.01)))

    def flush_all_depth(self, m: Market) -> None:
        for t in list(m.trackers):
            if t.interval_ms == 0 and t.dirty:
                self.flush_depth(m, 0)

    async def _maintenance_loop(self) -> None:
        """Server pings, pong timeouts, forced disconnects, timed silence."""
        last_ping = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            p = self.faults.get("ping")
            interval = (p or {}).get("interval", self.spec.ping_interval_s or self.default_ping_interval)
            timeout = (p or {}).get("timeout", self.spec.pong_timeout_s or self.default_pong_timeout)
            if interval and now - last_ping >= interval:
                last_ping = now
                for c in list(self.conns):
                    if c.closed or c.is_silent():
                        continue
                    try:
                        await c.ws.ping(str(int(time.time() * 1000)).encode())
                    except Exception:
                        continue
                    if c.ping_sent is None:
                        c.ping_sent = now
            if interval and timeout:
                for c in list(self.conns):
                    if c.ping_sent is not None and now - c.ping_sent > timeout:
                        self.faults.fired("ping", action="disconnect", kind=c.kind)
                        await c.close(1008, b"pong timeout")
                        self.drop_conn(c)
            age = self.faults.get("max_age")
            if age is not None:
                for c in list(self.conns):
                    if now - c.created > age.get("seconds", 86400):
                        self.faults.fired("max_age", kind=c.kind)
                        await c.close(1000, b"connection lifetime exceeded")
                        self.drop_conn(c)

    # ---- faults ---------------------------------------------------------------------------
    def inject(self, fault: str, params: dict[str, Any]) -> None:
        self.faults.arm(fault, params)
        target = params.get("target", "all")
        if fault == "drop":
            self.faults.clear("drop")
            for c in self.conns_of(target):
                self.faults.fired("drop", kind=c.kind)
                c.abort()
                self.drop_conn(c)
        elif fault == "silent":
            self.faults.clear("silent")
            secs = params.get("seconds")
            until = float("inf") if secs is None else time.monotonic() + secs
            for c in self.conns_of(target):
                c.silent_until = until
                self.faults.fired("silent", kind=c.kind)
        elif fault == "shutdown":
            self.faults.clear("shutdown")
            self.faults.fired("shutdown")
            # Only the connections that got the notice go away (a client's replacement, opened
            # during the grace period, lands on another server at the real venue and survives).
            notified = list(self.conns_of(target))
            self.shutdown_notice()
            grace = params.get("grace", 1.0)

            async def _later() -> None:
                await asyncio.sleep(grace)
                for c in notified:
                    if c.closed:
                        continue
                    await c.close(1001, b"server shutdown")
                    self.drop_conn(c)
            self.tasks.append(asyncio.get_running_loop().create_task(_later()))


class SimExchange:
    """Simulated exchange on loopback (async context manager).

    >>> async with SimExchange(SimConfig(venues=["binance_usdm"])) as ex:
    ...     urls = ex.endpoints("binance_usdm")
    """

    def __init__(self, config: SimConfig | None = None, ports: dict[str, int] | None = None) -> None:
        self.config = config or SimConfig()
        self.ports = ports or {}
        self.venues: dict[str, VenueServer] = {}
        self.replay: Any = None

    async def __aenter__(self) -> "SimExchange":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        from engine.sim.venues import VENUE_CLASSES
        try:
            for spec in self.config.venues:
                cls = VENUE_CLASSES[spec.key]
                v = cls(self, spec)
                self.venues[spec.key] = v
                await v.start(self.ports.get(spec.key, 0))
            if self.config.replay:
                from engine.sim.replay import start_replay
                start_replay(self)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for v in self.venues.values():
            await v.stop()

    def venue(self, key: str) -> VenueServer:
        v = self.venues.get(key)
        if v is None:
            raise KeyError(f"venue {key!r} is not running (configured: {', '.join(self.venues)})")
        return v

    # ---- public API -----------------------------------------------------------------------
    def endpoints(self, venue_key: str) -> dict[str, str]:
        """Base URLs: rest, ws_public, ws_private, ws_trade (see engine/sim/README.md)."""
        return self.venue(venue_key).endpoints()

    def credentials(self, venue_key: str) -> tuple[str, str, str]:
        s = self.venue(venue_key).spec
        return (s.api_key, s.secret, s.passphrase)

    def inject(self, venue_key: str, fault: str, **params: Any) -> None:
        """Arm or trigger a fault (names in engine.sim.faults)."""
        self.venue(venue_key).inject(fault, params)

    def clear_faults(self, venue_key: str, fault: str | None = None) -> None:
        self.venue(venue_key).faults.clear(fault)

    def fault_log(self, venue_key: str) -> list[tuple[float, str, dict[str, Any]]]:
        return list(self.venue(venue_key).faults.log)

    def true_book(self, venue_key: str, symbol: str, depth: int | None = None
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Displayed book (synthetic + our resting orders) as venue-formatted strings."""
        return self.venue(venue_key).engine.market(symbol).snapshot(depth)

    def orders(self, venue_key: str) -> list[Order]:
        return list(self.venue(venue_key).engine.orders.values())

    def fills(self, venue_key: str) -> list[Fill]:
        return list(self.venue(venue_key).engine.fills)

    def positions(self, venue_key: str) -> dict[str, Any]:
        e = self.venue(venue_key).engine
        return {s: p for s, p in e.positions.items() if p.amt}

    def balances(self, venue_key: str) -> dict[str, Any]:
        e = self.venue(venue_key).engine
        return {a: {"total": v, "locked": e.locked.get(a, 0)} for a, v in e.balances.items()}

    def tick_to_trade_ns(self, venue_key: str) -> list[int]:
        return list(self.venue(venue_key).t2t_samples)

    def stats(self, venue_key: str) -> dict[str, int]:
        """Counters: synthetic events generated, events dropped under overload, market-loop
        failures, open connections."""
        v = self.venue(venue_key)
        return {"events": v.market.events, "overload_skipped": v.overload_skipped,
                "loop_errors": v.loop_errors, "connections": len(v.conns)}

    def pause_market(self, venue_key: str, paused: bool = True) -> None:
        """Stop (or restart) the synthetic process; depth/quote publishing continues."""
        self.venue(venue_key).paused = paused

    def step_market(self, venue_key: str, symbol: str, n: int = 1) -> None:
        """Advance the synthetic market of one symbol by ``n`` events now (tests)."""
        v = self.venue(venue_key)
        m = v.engine.market(symbol)
        for _ in range(n):
            v.publish_event(m, v.market.step(m))

    def liquidation(self, venue_key: str, symbol: str, side: str, qty: str, price: str | None = None) -> None:
        """Publish one forced order on the venue's liquidation stream now (tests). ``side`` is the side
        of the liquidation order: BUY = a short position was liquidated, SELL = a long one; ``price``
        defaults to the mark price. Binance USD-M forceOrder, Bybit allLiquidation, OKX liquidation-orders."""
        from engine.sim.matching import to_units
        v = self.venue(venue_key)
        m = v.engine.market(symbol)
        if side.upper() not in ("BUY", "SELL"):
            raise ValueError(f"side must be BUY or SELL, not {side!r}")
        q = to_units(qty, m.sz_exp)
        px = m.mark_px if price is None else to_units(price, m.px_exp)
        if q <= 0 or px <= 0:
            raise ValueError("liquidation qty and price must be positive")
        v.publish_liquidation(m, side.upper() == "BUY", px, q)

    def set_open_interest(self, venue_key: str, symbol: str, qty: str) -> None:
        """Set the open interest of ``symbol`` (venue size units) and push it where the venue streams it
        (OKX open-interest, Bybit tickers); Binance USD-M serves it on GET /fapi/v1/openInterest."""
        from engine.sim.matching import to_units
        v = self.venue(venue_key)
        m = v.engine.market(symbol)
        oi = to_units(qty, m.sz_exp)
        if oi < 0:
            raise ValueError("open interest must be >= 0")
        v.open_interest[m.symbol] = oi
        v.publish_open_interest(m)

    def market_trade(self, venue_key: str, symbol: str, aggressor: str, qty: str) -> list[tuple[str, str]]:
        """Print a synthetic aggressive trade now (tests: fill a resting order deterministically)."""
        from engine.sim.matching import to_units
        v = self.venue(venue_key)
        m = v.engine.market(symbol)
        printed = v.engine.market_trade(m, aggressor.upper() == "BUY", to_units(qty, m.sz_exp))
        v.publish_event(m, [(p, q, aggressor.upper() == "BUY") for p, q in printed])
        return [(m.px_str(p), m.sz_str(q)) for p, q in printed]
