# SPDX-License-Identifier: Apache-2.0
"""FeedManager: public market-data connections for every venue on one event loop.

Frames go straight from picows into the compiled Pipeline listener (decode -> book -> strategy -> risk
-> send). This module only runs the shell around it: connect, subscribe within the venue's rate
limits, heartbeats, reconnect with capped exponential backoff and full jitter, staleness watchdogs,
planned reconnects with an overlapping connection, and per-instrument book resync:

* Binance (``resync == "snapshot"``): diffs that reach ``on_cold_frame`` with ENG_ERR_NOT_SYNCED are
  buffered, a REST depth snapshot is fetched (one reused aiohttp session), applied with
  ``Book.apply_snapshot`` and the buffer is fed again through ``pipeline.feed`` (the Book applies the
  documented U/u resp. pu first-event rules and drops stale diffs).
* Bybit / OKX / Bitget (``resync == "resubscribe"``): unsubscribe + subscribe that instrument's depth
  topic on its connection; the venue answers with a snapshot which the hot path applies.

A resync touches one instrument only; its book stays invalid (the risk gate refuses orders on it)
until the book reports valid again.

Usage::

    adapters = {Venue.OKX: make_adapter("okx"), Venue.BINANCE_USDM: make_adapter("binance_usdm")}
    fm = FeedManager(pipeline, [(btc_perp, ["depth", "mark"]), (btc_swap, ["depth"])], adapters,
                     books={btc_perp.id: book1, btc_swap.id: book2}, ctx=ctx)
    await fm.start()          # returns once every connection is up
    ...fm.status()...         # counters for the live view
    await fm.stop()
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from collections import deque

from engine.exchanges.base import (SIG_LIQUIDATION, SIG_OI_CHANGE, SIG_OPEN_INTEREST, Cold, MarketAdapter,
                                   RateLimiter, Stream)
from engine.errors import rc_name
from engine.instruments import Instrument, Venue

log = logging.getLogger("engine.feed")

# include/engine/rc.h
ENG_ERR_UNSUPPORTED = -20
ENG_ERR_UNKNOWN_SYMBOL = -19
ENG_ERR_GAP = -30
ENG_ERR_CHECKSUM = -31
ENG_ERR_CROSSED = -32
ENG_ERR_STALE_UPDATE = -33
ENG_ERR_NOT_SYNCED = -34
_RESYNC_RCS = (ENG_ERR_GAP, ENG_ERR_CHECKSUM, ENG_ERR_CROSSED)


@dataclass
class FeedConfig:
    """Timings of the feed manager (seconds unless the name says ms)."""

    backoff_base_s: float = 0.25          # first reconnect delay bound
    backoff_cap_s: float = 30.0           # delays never exceed this
    stable_after_s: float = 30.0          # a connection alive this long resets the backoff
    conn_stale_ms: int = 15_000           # nothing (data or pong) on a connection this long -> reconnect
    book_stale_ms: int = 60_000           # a book not updated this long -> invalid + resync
    resync_timeout_s: float = 5.0         # resync not done after this -> retry (then reconnect)
    resync_retries_before_reconnect: int = 3
    watchdog_interval_s: float = 0.05
    planned_reconnect_margin_s: float = 1800.0   # reconnect this long before the venue's 24 h cut
    overlap_timeout_s: float = 10.0
    snapshot_limit: int = 1000
    snapshot_rate: tuple[int, float] = (5, 1.0)   # REST snapshots per venue: (requests, seconds)
    snapshot_wait_first_s: float = 1.0    # Binance: wait this long for a first buffered diff
    max_buffer: int = 10_000              # buffered diffs per instrument during a Binance resync
    connect_timeout_s: float = 5.0
    ws_max_frame: int = 16 * 1024 * 1024
    seed: int | None = None               # jitter RNG seed (tests)
    oi_change_window_s: float = 300.0     # ENG_SIG_OI_CHANGE: OI now against OI this long ago


def _update_ns(book: Any) -> int:
    """CLOCK_MONOTONIC ns of the book's last successful apply (0: never)."""
    return int(book.top_state()["update_ns"]) if book is not None else 0


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**attempt))."""
    return rng.uniform(0.0, min(cap, base * (2.0 ** min(attempt, 30))))


@dataclass
class InstFeed:
    inst: Instrument
    adapter: MarketAdapter
    book: Any = None                      # engine.book.Book or None (no depth channel)
    conn: "Conn | None" = None            # connection carrying the depth stream
    state: str = "waiting"                # waiting | synced | resyncing
    resyncs: int = 0
    resync_attempts: int = 0
    gaps: int = 0
    checksum_failures: int = 0
    crossed: int = 0
    decode_errors: int = 0
    stale_drops: int = 0
    stale_books: int = 0
    reconnects: int = 0
    last_reason: str = ""
    last_rx_ns: int = 0                   # last cold frame about this instrument
    resync_started_ns: int = 0
    last_resync_ms: float = 0.0
    buffer: list[tuple[int, bytes, int]] = field(default_factory=list)
    liquidations: int = 0                 # forced orders written to ENG_SIG_LIQUIDATION
    oi_updates: int = 0                   # open-interest values seen (hot or cold path)
    oi_ts_ns: int = 0                     # slow_ts_ns of the last OI value processed
    oi_hist: deque[tuple[int, float]] = field(default_factory=deque)   # (ns, OI) change points
    task: asyncio.Task[None] | None = None


@dataclass
class Conn:
    id: int
    adapter: MarketAdapter
    group: str
    streams: list[Stream]
    url: str
    limiter: RateLimiter                  # every message on the current connection
    sub_limiter: RateLimiter | None       # subscribe/unsubscribe only (hourly budgets)
    transport: Any = None
    opened_ns: int = 0
    last_rx_ns: int = 0                   # last data (not pong) seen on the cold path
    last_pong_ns: int = 0
    connects: int = 0
    reconnects: int = 0
    attempt: int = 0
    errors: int = 0
    retiring: bool = False                # being replaced: its disconnect is not a failure
    planned: bool = False
    task: asyncio.Task[None] | None = None
    hb_task: asyncio.Task[None] | None = None
    up: asyncio.Event = field(default_factory=asyncio.Event)
    unsub_ack: asyncio.Event = field(default_factory=asyncio.Event)
    req_id: int = 0
    skip_depth: bool = False              # overlap connection that must not subscribe depth yet

    def next_req(self, n: int = 1) -> int:
        r = self.req_id
        self.req_id += n
        return r


class FeedManager:
    """Drive every venue's public streams into ``pipeline`` on the running loop.

    Parameters
    ----------
    pipeline : engine.pipeline.Pipeline
        Provides ``listener(conn_id, venue, handler)`` (picows listener, compiled) and
        ``feed(conn_id, venue, frame, recv_ns) -> rc``. Decoders and books must already be added.
    subscriptions : iterable of (Instrument, channels)
        e.g. ``[(btc, ["bbo", "depth"]), (eth_okx, ["depth", "mark"])]``.
    adapters : dict Venue -> MarketAdapter
        One adapter per venue used (``engine.exchanges.make_adapter``).
    books : dict instrument id -> Book
        The books the pipeline updates (needed for every instrument with a ``depth`` channel).
    ctx : engine.strategy.Context, optional
        Receives slow signals via ``set_slow`` (mark, funding, open interest and its change over
        ``config.oi_change_window_s``, the signed notional of the last liquidation).
    config : FeedConfig, optional
        Timings (backoff, watchdogs, resync).
    connect : coroutine function (conn, manager) -> transport, optional
        Replaces ``picows.ws_connect`` (tests).
    on_strategy_error : callable(exc), optional
        Called once per failing strategy hook (the pipeline has already engaged the kill switch);
        market data keeps flowing so books stay current for the cancel-all that follows.
    """

    def __init__(self, pipeline: Any, subscriptions: Iterable[tuple[Instrument, Sequence[str]]],
                 adapters: dict[Venue, MarketAdapter], books: dict[int, Any] | None = None,
                 ctx: Any = None, config: FeedConfig | None = None,
                 connect: Callable[..., Any] | None = None,
                 on_strategy_error: Callable[[BaseException], Any] | None = None) -> None:
        self.pipeline = pipeline
        self.adapters = adapters
        self.books = books if books is not None else {}
        self.ctx = ctx
        self.cfg = config or FeedConfig()
        self._rng = random.Random(self.cfg.seed)
        self._connect = connect
        self._on_strategy_error = on_strategy_error
        self.strategy_errors: list[BaseException] = []
        self.insts: dict[int, InstFeed] = {}
        self._by_symbol: dict[tuple[int, str], InstFeed] = {}
        self._subs: list[tuple[Instrument, list[Stream]]] = []
        self._liq_insts: set[int] = set()      # instruments subscribed to liquidations
        self._oi_insts: list[InstFeed] = []    # instruments whose OI feeds ENG_SIG_OI_CHANGE
        for inst, channels in subscriptions:
            ad = adapters.get(inst.venue)
            if ad is None:
                raise ValueError(f"no adapter for {inst.venue.key} ({inst.symbol})")
            streams = ad.streams(inst, channels)
            book = self.books.get(inst.id)
            if any(s.channel == "depth" for s in streams) and book is None:
                raise ValueError(f"{inst.symbol} on {inst.venue.key} subscribes depth but has no Book")
            if book is None and any(ad.is_book_stream(s) for s in streams):
                # best bid/ask arrives as one-level book snapshots: keep them in a small Book so
                # ctx.top (and the risk gate) follow it; strategies see it through on_book
                from engine.book import Book
                book = Book(inst, ad.sync, capacity=64)
                pipeline.add_book(book)
                self.books[inst.id] = book
            f = InstFeed(inst, ad, book)
            self.insts[inst.id] = f
            self._by_symbol[(int(inst.venue), inst.symbol)] = f
            self._subs.append((inst, streams))
            chans = {s.channel for s in streams}
            if "liquidations" in chans:
                self._liq_insts.add(inst.id)
            if "oi" in chans or (inst.venue == Venue.BYBIT and "mark" in chans):
                self._oi_insts.append(f)     # Bybit tickers carry OI with the mark price
        self.conns: dict[int, Conn] = {}
        self._next_conn = 0
        self._http: Any = None
        self._rest_limiters: dict[Venue, RateLimiter] = {v: RateLimiter([self.cfg.snapshot_rate]) for v in adapters}
        self._watchdog: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.started_ns = 0
        self.cold_frames = 0
        self.errors_logged = 0
        self.liquidations = 0               # written to ctx (all instruments)
        self.liquidations_other = 0         # forced orders of instruments we do not follow

    # ---- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Open all connections and subscribe; returns once every connection is up once.

        Raises ConnectionError (after closing everything) when a connection cannot be opened
        within 4 x ``connect_timeout_s`` (reconnects after start never give up)."""
        import aiohttp
        self._stopping = False
        self.started_ns = time.monotonic_ns()
        if any(a.resync == "snapshot" for a in self.adapters.values()):
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for venue, ad in self.adapters.items():
            groups: dict[str, list[Stream]] = {}
            for inst, streams in self._subs:
                if inst.venue == venue:
                    groups.setdefault(ad.conn_group(inst), []).extend(streams)
            for group, streams in groups.items():
                uniq = list(dict.fromkeys(streams))
                per = ad.max_streams_per_conn
                for i in range(0, len(uniq), per):
                    self._open(ad, group, uniq[i:i + per])
        try:
            await asyncio.wait_for(asyncio.gather(*(c.up.wait() for c in self.conns.values())),
                                   timeout=self.cfg.connect_timeout_s * 4)
        except asyncio.TimeoutError:
            down = [f"{c.adapter.venue.key}:{c.url}" for c in self.conns.values() if not c.up.is_set()]
            await self.stop()
            raise ConnectionError(f"market data connections not up: {', '.join(down)}") from None
        except BaseException:
            await self.stop()           # cancelled while connecting: close what was opened, stay cancelled
            raise
        self._watchdog = asyncio.create_task(self._watch(), name="feed-watchdog")

    async def stop(self) -> None:
        self._stopping = True
        tasks: list[asyncio.Task[Any]] = []
        if self._watchdog:
            self._watchdog.cancel()
            tasks.append(self._watchdog)
        for c in list(self.conns.values()):
            c.retiring = True
            for t in (c.task, c.hb_task):
                if t:
                    t.cancel()
                    tasks.append(t)
            if c.transport is not None:
                c.transport.disconnect()
        for f in self.insts.values():
            if f.task:
                f.task.cancel()
                tasks.append(f.task)
        tasks.extend(self._tasks)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> "FeedManager":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- connections ------------------------------------------------------------------------
    def _open(self, ad: MarketAdapter, group: str, streams: list[Stream], skip_depth: bool = False) -> Conn:
        cid = self._next_conn
        self._next_conn += 1
        # Binance: the first streams ride in the URL (no SUBSCRIBE round trip), the rest up to the
        # per-connection limit are subscribed after connecting
        url = ad.ws_url(streams[:ad.max_args_per_request] if ad.url_carries_streams() else [], group)
        c = Conn(cid, ad, group, streams, url, RateLimiter(ad.send_windows),
                 RateLimiter(ad.sub_windows) if ad.sub_windows else None, skip_depth=skip_depth)
        self.conns[cid] = c
        for s in streams:
            if ad.is_book_stream(s) and not skip_depth:
                self.insts[s.inst].conn = c
        c.task = asyncio.create_task(self._run_conn(c), name=f"feed-conn-{cid}")
        return c

    async def _ws_connect(self, c: Conn) -> Any:
        if self._connect is not None:
            return await self._connect(c, self)
        from picows import ws_connect
        venue = int(c.adapter.venue)
        transport, _ = await ws_connect(lambda: self.pipeline.listener(c.id, venue, self), c.url,
                                        websocket_handshake_timeout=self.cfg.connect_timeout_s,
                                        enable_auto_pong=True, max_frame_size=self.cfg.ws_max_frame,
                                        # transport-level liveness: ping when idle, drop if no pong
                                        enable_auto_ping=True,
                                        auto_ping_idle_timeout=self.cfg.conn_stale_ms / 2000.0,
                                        auto_ping_reply_timeout=self.cfg.conn_stale_ms / 2000.0)
        return transport

    async def _run_conn(self, c: Conn) -> None:
        while not self._stopping and not c.retiring:
            try:
                c.transport = await asyncio.wait_for(self._ws_connect(c), self.cfg.connect_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # connect failures are expected: backoff and retry
                c.errors += 1
                delay = backoff_delay(c.attempt, self.cfg.backoff_base_s, self.cfg.backoff_cap_s, self._rng)
                c.attempt += 1
                log.warning("conn %d %s: connect failed (%s: %s); retry in %.2fs", c.id, c.adapter.venue.key,
                            type(e).__name__, e, delay)
                await asyncio.sleep(delay)
                continue
            now = time.monotonic_ns()
            c.opened_ns = c.last_rx_ns = now
            c.connects += 1
            # venues count messages per physical connection: a new one starts with a fresh budget
            c.limiter = RateLimiter(c.adapter.send_windows)
            c.sub_limiter = RateLimiter(c.adapter.sub_windows) if c.adapter.sub_windows else None
            if c.connects > 1:
                c.reconnects += 1
                for iid in {s.inst for s in c.streams}:
                    self.insts[iid].reconnects += 1
            try:
                subs = c.streams[c.adapter.max_args_per_request:] if c.adapter.url_carries_streams() \
                    else [s for s in c.streams if not (c.skip_depth and c.adapter.is_book_stream(s))]
                if subs:
                    await self._send_all(c, c.adapter.subscribe_msgs(subs, c.next_req(len(subs) + 1)))
                if c.adapter.heartbeat_s:
                    c.hb_task = asyncio.create_task(self._heartbeat(c), name=f"feed-hb-{c.id}")
                c.up.set()
                await c.transport.wait_disconnected()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                c.errors += 1
                log.warning("conn %d: %s: %s", c.id, type(e).__name__, e)
                if c.transport is not None:
                    c.transport.disconnect()
            finally:
                if c.hb_task:
                    c.hb_task.cancel()
                    c.hb_task = None
            lived = (time.monotonic_ns() - c.opened_ns) / 1e9
            c.transport = None
            c.up.clear()
            if c.retiring or self._stopping:
                break
            self._invalidate_conn_books(c, "disconnected")
            if lived >= self.cfg.stable_after_s or c.planned:
                c.attempt = 0
            c.planned = False
            delay = backoff_delay(c.attempt, self.cfg.backoff_base_s, self.cfg.backoff_cap_s, self._rng)
            c.attempt += 1
            log.warning("conn %d %s disconnected after %.1fs; reconnect in %.2fs", c.id,
                        c.adapter.venue.key, lived, delay)
            await asyncio.sleep(delay)

    async def _send_all(self, c: Conn, msgs: Sequence[bytes], subscription: bool = True) -> None:
        from picows import WSMsgType
        for m in msgs:
            if subscription and c.sub_limiter is not None:
                await c.sub_limiter.acquire()
            await c.limiter.acquire()
            if c.transport is None:
                raise ConnectionError("connection closed while sending")
            c.transport.send(WSMsgType.TEXT, m)

    async def _heartbeat(self, c: Conn) -> None:
        assert c.adapter.heartbeat_s
        # at the venue's period, and often enough that a quiet but healthy connection answers a
        # ping within the staleness window
        period = min(c.adapter.heartbeat_s, self.cfg.conn_stale_ms / 3000.0)
        while True:
            await asyncio.sleep(period)
            m = c.adapter.ping_msg(c.next_req())
            if m is not None and c.transport is not None:
                await self._send_all(c, [m], subscription=False)

    def _invalidate_conn_books(self, c: Conn, reason: str) -> None:
        for s in c.streams:
            f = self.insts[s.inst]
            if c.adapter.is_book_stream(s) and f.conn is c and f.book is not None:
                self._invalidate(f)
                if f.state == "synced":
                    f.state = "waiting"     # the (re)subscription or the buffer procedure resyncs it
                f.last_reason = reason
                f.buffer.clear()

    # ---- per-frame cold path (called by the compiled listener) ---------------------------
    def on_cold_frame(self, conn_id: int, payload: bytes, rc: int, inst: int, recv_ns: int) -> None:
        """Every frame the hot path did not consume: control frames, non-hot shapes and depth
        frames of books that are not synced (rc ENG_ERR_NOT_SYNCED / GAP / CHECKSUM / CROSSED)."""
        self.cold_frames += 1
        c = self.conns.get(conn_id)
        if c is None:
            return
        now = time.monotonic_ns()
        f = self.insts.get(inst) if inst >= 0 else None
        if rc == ENG_ERR_UNSUPPORTED or f is None:
            cold = c.adapter.parse_cold(payload)
            self._on_parsed(c, cold, now, rc)
            return
        c.last_rx_ns = now
        f.last_rx_ns = now
        if f.book is None:
            if rc not in (ENG_ERR_STALE_UPDATE,):
                f.decode_errors += 1
                self._log_rc(c, f, rc, payload)
            return
        if rc in _RESYNC_RCS:
            if rc == ENG_ERR_GAP:
                f.gaps += 1
            elif rc == ENG_ERR_CHECKSUM:
                f.checksum_failures += 1
            else:
                f.crossed += 1
            self._log_rc(c, f, rc, payload)
            if f.adapter.resync == "snapshot":
                self._buffer(f, conn_id, payload, recv_ns, rc)
            self._start_resync(f, rc_name(rc))
        elif rc == ENG_ERR_NOT_SYNCED:
            if f.adapter.resync == "snapshot":
                self._buffer(f, conn_id, payload, recv_ns, rc)
                if f.task is None:
                    self._start_resync(f, "not synced")
            elif f.state == "synced":
                self._start_resync(f, "book invalid")
        elif rc == ENG_ERR_STALE_UPDATE:
            f.stale_drops += 1
        else:
            f.decode_errors += 1
            self._log_rc(c, f, rc, payload)

    def on_strategy_error(self, conn_id: int, exc: BaseException) -> None:
        """A strategy hook failed inside the compiled listener (kill switch already engaged)."""
        self.strategy_errors.append(exc)
        log.error("conn %d: strategy error: %s (kill switch engaged)", conn_id, exc)
        if self._on_strategy_error is not None:
            self._on_strategy_error(exc)

    def _buffer(self, f: InstFeed, conn_id: int, payload: bytes, recv_ns: int, rc: int) -> None:
        if rc != ENG_ERR_NOT_SYNCED and rc not in _RESYNC_RCS:
            return
        if len(f.buffer) >= self.cfg.max_buffer:
            f.buffer.pop(0)      # the snapshot will be newer than these anyway
        f.buffer.append((conn_id, payload, recv_ns))

    def _on_parsed(self, c: Conn, cold: Cold, now: int, rc: int) -> None:
        c.last_rx_ns = now          # any frame, pongs included, proves the connection alive
        if cold.kind == "pong":
            c.last_pong_ns = now
            return
        if cold.kind == "ack":
            if cold.reason == "unsubscribe":
                c.unsub_ack.set()
            return
        if cold.kind == "error":
            c.errors += 1
            self._log_limited(f"conn {c.id} {c.adapter.venue.key}: {cold.reason}")
            return
        if cold.kind == "shutdown":
            log.info("conn %d %s: server announced shutdown (%s); planned reconnect", c.id,
                     c.adapter.venue.key, cold.reason)
            self._spawn(self.planned_reconnect(c))
            return
        f = self._by_symbol.get((int(c.adapter.venue), cold.symbol))
        if f is not None:
            f.last_rx_ns = now
            if rc not in (ENG_ERR_UNSUPPORTED,) and rc < 0:
                f.decode_errors += 1
                self._log_rc(c, f, rc, b"")
        elif rc not in (ENG_ERR_UNSUPPORTED,) and rc < 0:
            c.errors += 1
            self._log_limited(f"conn {c.id} {c.adapter.venue.key}: undecodable frame ({rc_name(rc)})")
        if cold.signals and self.ctx is not None:
            for sym, slot, value in cold.signals:
                g = self._by_symbol.get((int(c.adapter.venue), sym))
                if g is not None:
                    self.ctx.set_slow(g.inst.id, slot, value, now)
                    if slot == SIG_OPEN_INTEREST:
                        self._on_open_interest(g, value, now)
        for liq in cold.liquidations:
            g = self._by_symbol.get((int(c.adapter.venue), liq.symbol))
            if g is None or g.inst.id not in self._liq_insts:
                self.liquidations_other += 1     # OKX: one channel carries every SWAP instrument
                continue
            g.last_rx_ns = now
            g.liquidations += 1
            self.liquidations += 1
            if self.ctx is not None:
                # signed quote notional: + shorts liquidated (forced buy), - longs liquidated
                self.ctx.set_slow(g.inst.id, SIG_LIQUIDATION, liq.qty * liq.px * g.inst.contract_mult, now)

    def _on_open_interest(self, f: InstFeed, oi: float, ts_ns: int) -> None:
        """ENG_SIG_OI_CHANGE = relative change of OI against its value ``oi_change_window_s`` ago (or
        against the first value seen while less than a window has passed)."""
        f.oi_ts_ns = ts_ns
        f.oi_updates += 1
        h = f.oi_hist
        if oi <= 0.0:
            return                         # 0 = not known yet (new listing, sim default): no reference
        if not h or h[-1][1] != oi:
            h.append((ts_ns, oi))          # change points only: OI at time t = last point <= t
        horizon = ts_ns - int(self.cfg.oi_change_window_s * 1e9)
        while len(h) >= 2 and h[1][0] <= horizon:
            h.popleft()
        ref = h[0][1]
        if ref > 0.0 and self.ctx is not None:
            self.ctx.set_slow(f.inst.id, SIG_OI_CHANGE, (oi - ref) / ref, ts_ns)

    def _poll_open_interest(self) -> None:
        """OI written by the compiled path (Bybit tickers): pick up new values for ENG_SIG_OI_CHANGE."""
        read = getattr(self.ctx, "slow", None)
        if read is None:
            return
        for f in self._oi_insts:
            v, ts = read(f.inst.id, SIG_OPEN_INTEREST)
            if ts and ts != f.oi_ts_ns:
                self._on_open_interest(f, float(v), int(ts))

    def _log_rc(self, c: Conn, f: InstFeed, rc: int, payload: bytes) -> None:
        self._log_limited(f"conn {c.id} {f.inst.venue.key} {f.inst.symbol}: {rc_name(rc)}")

    def _log_limited(self, msg: str) -> None:
        # logging is off the hot path here (cold frames only) but still bounded
        self.errors_logged += 1
        if self.errors_logged <= 1000 or self.errors_logged % 1000 == 0:
            log.warning("%s", msg)

    def _spawn(self, coro: Any) -> None:
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    # ---- resync -----------------------------------------------------------------------------
    def _start_resync(self, f: InstFeed, reason: str) -> None:
        if f.task is not None and not f.task.done():
            return
        if f.state != "resyncing":
            f.resyncs += 1
            f.resync_started_ns = time.monotonic_ns()
        f.state = "resyncing"
        f.last_reason = reason
        self._invalidate(f)
        log.info("%s %s: resync (%s)", f.inst.venue.key, f.inst.symbol, reason)
        coro = self._resync_snapshot(f) if f.adapter.resync == "snapshot" else self._resync_resubscribe(f)
        f.task = asyncio.create_task(coro, name=f"resync-{f.inst.symbol}")

    def _invalidate(self, f: InstFeed) -> None:
        # reset = invalid until the next snapshot (top.valid = 0, so the risk gate blocks orders)
        if f.book is not None and f.book.valid:
            f.book.reset()

    def _synced(self, f: InstFeed) -> None:
        f.state = "synced"
        f.resync_attempts = 0
        if f.resync_started_ns:
            f.last_resync_ms = (time.monotonic_ns() - f.resync_started_ns) / 1e6
            f.resync_started_ns = 0

    async def _resync_snapshot(self, f: InstFeed) -> None:
        """Binance: buffer -> REST snapshot -> apply -> replay buffer; loop until the book is valid."""
        attempt = 0
        try:
            while not self._stopping:
                if f.conn is None or f.conn.transport is None:
                    await asyncio.sleep(0.02)      # no stream to bridge from: wait for the reconnect
                    continue
                # the first buffered diff must exist before the snapshot is requested (bounded poll: the
                # frame callback fills the buffer and sets no event)
                t0 = time.monotonic()
                while not f.buffer and time.monotonic() - t0 < self.cfg.snapshot_wait_first_s:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                assert self._http is not None
                url = f.adapter.snapshot_url(f.inst, self.cfg.snapshot_limit)
                await self._rest_limiters[f.inst.venue].acquire()   # request weight: no resync storms
                try:
                    async with self._http.get(url) as r:
                        body = await r.read()
                        if r.status != 200:
                            raise ConnectionError(f"HTTP {r.status}: {body[:200]!r}")
                    snap = f.adapter.parse_snapshot(body)
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    delay = backoff_delay(attempt, self.cfg.backoff_base_s, self.cfg.backoff_cap_s, self._rng)
                    attempt += 1
                    log.warning("%s snapshot failed (%s); retry in %.2fs", f.inst.symbol, e, delay)
                    await asyncio.sleep(delay)
                    continue
                f.resync_attempts += 1
                f.book.apply_snapshot(snap.bids, snap.asks, snap.last_id)
                frames, f.buffer = f.buffer, []
                venue = int(f.inst.venue)
                for conn_id, payload, recv_ns in frames:
                    self.pipeline.feed(conn_id, venue, payload, recv_ns)
                if f.book.valid:
                    f.buffer.clear()
                    self._synced(f)
                    return
                attempt += 1
                await asyncio.sleep(min(0.05 * attempt, 1.0))
        finally:
            f.task = None

    async def _resync_resubscribe(self, f: InstFeed) -> None:
        """Bybit/OKX/Bitget: resubscribe the depth topic; the venue's snapshot resets the book.
        A reconnect meanwhile resubscribes everything, so then we only wait for the snapshot."""
        try:
            seen = f.conn.connects if f.conn is not None else 0
            while not self._stopping:
                c = f.conn
                if c is None or c.transport is None:
                    await asyncio.sleep(0.02)
                    continue
                if c.connects == seen and c.sub_limiter is not None and \
                        c.sub_limiter.delay() > self.cfg.resync_timeout_s:
                    # this connection's subscribe budget is spent for a while: a new connection
                    # (fresh budget, full resubscribe) is quicker than waiting for the window
                    log.warning("conn %d: subscribe budget exhausted; reconnecting to resync %s", c.id,
                                f.inst.symbol)
                    c.transport.disconnect()
                    await asyncio.sleep(0.02)
                    continue
                if c.connects == seen:
                    depth = [s for s in c.streams if s.inst == f.inst.id and c.adapter.is_book_stream(s)]
                    f.resync_attempts += 1
                    try:
                        await self._send_all(c, c.adapter.unsubscribe_msgs(depth, c.next_req(2)) +
                                             c.adapter.subscribe_msgs(depth, c.next_req(2)))
                    except ConnectionError:
                        continue
                seen = c.connects
                deadline = time.monotonic() + self.cfg.resync_timeout_s
                while time.monotonic() < deadline and c.connects == seen:
                    await asyncio.sleep(0.01)
                    if f.book.valid:
                        self._synced(f)
                        return
                if f.resync_attempts >= self.cfg.resync_retries_before_reconnect and c.transport is not None:
                    log.warning("%s: resync did not complete after %d attempts; reconnecting conn %d",
                                f.inst.symbol, f.resync_attempts, c.id)
                    f.resync_attempts = 0
                    c.transport.disconnect()
        finally:
            f.task = None

    # ---- planned reconnect ----------------------------------------------------------------
    async def planned_reconnect(self, old: Conn) -> Conn | None:
        """Replace ``old`` by a new connection without a data gap.

        Binance: the new connection carries every stream at once; both feed the same books for a
        moment and the Book drops the repeated diffs (u <= last id). Other venues: the new connection
        subscribes everything but depth; once it is up, depth is unsubscribed on the old connection
        (waiting for the ack, so no old diff can follow the new snapshot) and subscribed on the new one."""
        if old.retiring or self._stopping or self.conns.get(old.id) is not old:
            return None
        old.retiring = True
        ad = old.adapter
        move_depth = not ad.url_carries_streams()
        new = self._open(ad, old.group, list(old.streams), skip_depth=move_depth)
        try:
            await asyncio.wait_for(new.up.wait(), self.cfg.overlap_timeout_s)
            # first data on the new connection, or a short grace period (bounded poll of the rx stamp)
            t0 = time.monotonic()
            while new.last_rx_ns <= new.opened_ns and time.monotonic() - t0 < 1.0:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            if move_depth:
                depth = [s for s in old.streams if ad.is_book_stream(s)]
                if depth and old.transport is not None:
                    old.unsub_ack.clear()
                    await self._send_all(old, ad.unsubscribe_msgs(depth, old.next_req(len(depth) + 1)))
                    try:
                        await asyncio.wait_for(old.unsub_ack.wait(), 2.0)
                    except asyncio.TimeoutError:
                        log.warning("conn %d: no unsubscribe ack; moving depth anyway", old.id)
                new.skip_depth = False
                for s in depth:
                    self.insts[s.inst].conn = new
                await self._send_all(new, ad.subscribe_msgs(depth, new.next_req(len(depth) + 1)))
            else:
                for s in old.streams:
                    if ad.is_book_stream(s):
                        self.insts[s.inst].conn = new
        except Exception as e:
            log.warning("planned reconnect of conn %d failed (%s); keeping conn %d", old.id, e, new.id)
            for s in old.streams:
                if ad.is_book_stream(s):
                    self.insts[s.inst].conn = new
        finally:
            if old.transport is not None:
                old.transport.disconnect()
            if old.task:
                old.task.cancel()
            self.conns.pop(old.id, None)
        return new

    # ---- watchdog -----------------------------------------------------------------------------
    def book_age_ms(self, f: InstFeed, now_ns: int) -> float:
        """Age of the instrument's book top (CLOCK_MONOTONIC), -1 if never updated."""
        upd = _update_ns(f.book)
        return (now_ns - upd) / 1e6 if upd else -1.0

    async def _watch(self) -> None:
        cfg = self.cfg
        while not self._stopping:
            await asyncio.sleep(cfg.watchdog_interval_s)
            if self._oi_insts and self.ctx is not None:
                self._poll_open_interest()
            now = time.monotonic_ns()
            for f in self.insts.values():
                if f.book is None:
                    continue
                if f.state != "synced" and f.book.valid and (f.task is None or f.task.done()):
                    self._synced(f)     # the snapshot of a (re)subscription arrived
                    continue
                age = self.book_age_ms(f, now)
                if f.state == "synced" and f.book.valid and age > cfg.book_stale_ms:
                    f.stale_books += 1
                    self._start_resync(f, f"book stale {age:.0f} ms")
                elif f.state == "waiting" and f.conn is not None and f.conn.transport is not None \
                        and f.adapter.resync == "resubscribe" and f.task is None \
                        and (now - f.conn.opened_ns) / 1e9 > cfg.resync_timeout_s:
                    self._start_resync(f, "no snapshot after subscribe")
            for c in list(self.conns.values()):
                if c.transport is None or c.retiring:
                    continue
                rx = c.last_rx_ns
                for s in c.streams:
                    f = self.insts[s.inst]
                    if f.book is not None and f.conn is c:
                        rx = max(rx, _update_ns(f.book))
                # with application pings every conn_stale_ms / 3 a live connection always answers in
                # time; Binance has none (picows pings it: enable_auto_ping), so there a quiet market
                # is only suspicious once its books are older than book_stale_ms
                limit = cfg.conn_stale_ms if c.adapter.heartbeat_s else max(cfg.conn_stale_ms, cfg.book_stale_ms)
                if (now - rx) / 1e6 > limit:
                    log.warning("conn %d %s: no data for %.0f ms; reconnecting", c.id, c.adapter.venue.key,
                                (now - rx) / 1e6)
                    c.last_rx_ns = now
                    c.transport.disconnect()
                elif (now - c.opened_ns) / 1e9 > c.adapter.max_conn_age_s - cfg.planned_reconnect_margin_s:
                    self._spawn(self.planned_reconnect(c))

    # ---- introspection ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Counters for the live view: per connection and per instrument."""
        now = time.monotonic_ns()
        conns = []
        for c in self.conns.values():
            conns.append({"id": c.id, "venue": c.adapter.venue.key, "group": c.group, "up": c.transport is not None,
                          "streams": len(c.streams), "reconnects": c.reconnects, "errors": c.errors,
                          "age_s": round((now - c.opened_ns) / 1e9, 1) if c.opened_ns else None,
                          "last_rx_age_ms": round((now - c.last_rx_ns) / 1e6, 1) if c.last_rx_ns else None})
        insts = {}
        for f in self.insts.values():
            last = max(f.last_rx_ns, _update_ns(f.book))
            insts[f"{f.inst.venue.key}:{f.inst.symbol}"] = {
                "id": f.inst.id, "valid": bool(f.book.valid) if f.book is not None else None, "state": f.state,
                "resyncs": f.resyncs, "gaps": f.gaps, "checksum_failures": f.checksum_failures,
                "crossed": f.crossed, "decode_errors": f.decode_errors, "stale_drops": f.stale_drops,
                "stale_books": f.stale_books, "reconnects": f.reconnects, "last_reason": f.last_reason,
                "last_resync_ms": round(f.last_resync_ms, 2), "liquidations": f.liquidations,
                "oi_updates": f.oi_updates,
                "last_msg_age_ms": round((now - last) / 1e6, 1) if last else None}
        return {"conns": conns, "instruments": insts, "cold_frames": self.cold_frames,
                "liquidations": self.liquidations, "liquidations_other": self.liquidations_other,
                "strategy_errors": len(self.strategy_errors)}
