# SPDX-License-Identifier: Apache-2.0
"""The bot runtime: wires feeds -> pipeline (decode, books, strategy, risk, encode+sign, send) -> router ->
state -> store on one event loop, plus the background tasks (slow signals, latency reports, order-path
warm-up, live view) and the process tuning (uvloop, CPU pinning, gc.freeze, opt-in busy-poll).

``Bot(config)`` is the programmatic entry point; ``hotpath demo`` / ``hotpath run`` call :func:`run_demo` /
:func:`run_from_cli`. Shutdown (SIGINT/SIGTERM or the time limit): new orders stop at once (kill switch),
open orders are cancelled (``runtime.cancel_on_exit``), persistence is flushed, the final latency table is
printed and the HTML/PNG report written.
"""
from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.util
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import orjson

from engine.config import BotConfig, load_config
from engine.errors import ConfigError, EngineError
from engine.instruments import Instrument, InstrumentTable, Venue

log = logging.getLogger("hotpath.bot")
ACK_STAGE = 7  # ENG_STAGE_ACK (include/engine/hist.h)
ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------- process tuning


def pin_cpu(cpu: int | None) -> set[int] | None:
    """Pin this process to ``cpu`` (``os.sched_setaffinity``); returns the previous mask (None if not pinned)."""
    if cpu is None:
        return None
    if not hasattr(os, "sched_setaffinity"):
        raise ConfigError("CPU pinning needs Linux (os.sched_setaffinity)")
    before = os.sched_getaffinity(0)
    if cpu not in before:
        raise ConfigError(f"cpu {cpu} is not available (allowed: {sorted(before)})")
    os.sched_setaffinity(0, {cpu})
    return before


def new_event_loop(use_uvloop: bool = True) -> asyncio.AbstractEventLoop:
    """A uvloop loop (the default; ~40 µs faster round trips than the stdlib loop) or the stdlib one."""
    if use_uvloop:
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_coro(coro: Any, use_uvloop: bool = True) -> Any:
    loop = new_event_loop(use_uvloop)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


class BusyPoller:
    """Keeps the event loop from sleeping in epoll: a callback that re-schedules itself with ``call_soon``.

    While a ready callback is pending, the loop polls with a zero timeout, so a frame is picked up as soon
    as it arrives instead of after the wake-up of a sleeping ``epoll_wait`` (tens of µs on a VM). Costs one
    core at 100 %: only with a pinned, dedicated core.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.spins = 0
        self._on = False

    def _spin(self) -> None:
        if self._on:
            self.spins += 1
            self.loop.call_soon(self._spin)

    def start(self) -> None:
        if not self._on:
            self._on = True
            self.loop.call_soon(self._spin)

    def stop(self) -> None:
        self._on = False


# ------------------------------------------------------------------------------------------- strategies


def load_strategy_class(target: str, cls_name: str) -> type:
    """``strategy.py`` / ``strategy.pyx`` file or ``package.module`` -> the class ``cls_name``."""
    if target.endswith(".pyx"):
        from engine.build import compile_strategy

        if not Path(target).is_file():
            raise ConfigError(f"strategy file {target} does not exist")
        try:
            mod = compile_strategy(target)
        except (ImportError, ValueError) as exc:  # ABI guard / "size changed" against the installed engine
            raise EngineError(f"cannot load compiled strategy {target}: {str(exc).splitlines()[0]}") from None
    elif target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ConfigError(f"strategy file {target} does not exist")
        name = f"hotpath_user_{path.parent.name}_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot import {target}")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    else:
        try:
            mod = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"strategy module {target!r} not found ({exc.name})") from None
    cls = getattr(mod, cls_name, None)
    if cls is None:
        raise ConfigError(f"{target} has no class {cls_name}")
    from engine.strategy import Strategy

    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(f"{target}:{cls_name} is not an engine.strategy.Strategy subclass")
    return cls


def resolve_bot_dir(bot: str) -> Path:
    """``hotpath run BOT``: a bot directory or a strategy file inside one."""
    p = Path(bot)
    if p.is_file():
        return p.parent
    if not p.is_dir():
        raise ConfigError(f"bot {bot} is neither a directory nor a file")
    return p


# ------------------------------------------------------------------------------------------- the runtime


@dataclass
class Counters:
    ticks: int = 0
    orders_sent: int = 0
    fills: int = 0
    rejects: int = 0
    warmups: int = 0
    timers: int = 0


@dataclass
class BotOptions:
    """Command-line overrides of the config's [runtime] and what the CLI adds."""

    seconds: float | None = None
    live: bool = False
    report: bool = True
    report_dir: str | None = None
    report_every: int | None = None
    prometheus_port: int | None = None
    cpu: int | None = None
    busy_poll: bool | None = None
    uvloop: bool | None = None
    print_fn: Callable[[str], None] = print
    status_every_s: float = 1.0       # plain status line period without the live view
    seed: int = 7                     # seed of an in-process sim
    sim_rate: float = 50.0            # market events per second per symbol of an in-process sim


class Bot:
    """One trading process. ``await bot.start()``, ``await bot.run()``, ``await bot.stop()``; or ``async with``.

    Parameters
    ----------
    config : BotConfig (engine.config)
    strategy : an already constructed Strategy (tests); default: the config's strategy with its params
    sim : a running engine.sim.SimExchange to take endpoints/credentials from; when the config's preset is
        ``sim`` and none is given, the bot starts one in-process and owns it
    options : BotOptions (CLI overrides)
    """

    def __init__(self, config: BotConfig, strategy: Any = None, sim: Any = None,
                 options: BotOptions | None = None) -> None:
        self.cfg = config
        self.opts = options or BotOptions()
        self.table: InstrumentTable = config.instrument_table()
        self.strategy = strategy
        self.sim = sim
        self._own_sim = False
        self.counters = Counters()
        self.stop_event: asyncio.Event | None = None
        self.stop_reason = ""
        self.started_at = 0.0
        self.tasks: list[asyncio.Task[Any]] = []
        self.report_paths: tuple[Path, Path] | None = None
        self.final_table = ""
        self._poller: Any = None                   # engine.pipeline.BusySpin when busy-polling
        self._spin_ids: list[int] = []
        self._stopped = False
        self._await_ack: dict[int, int] = {}      # client id -> t_send (ns) of orders awaiting their reply
        self._early_acks: dict[int, int] = {}     # client id -> t_ack of replies that beat the drain
        rt = config.runtime
        self.cpu = self.opts.cpu if self.opts.cpu is not None else rt.cpu
        self.busy_poll = self.opts.busy_poll if self.opts.busy_poll is not None else rt.busy_poll
        self.report_every = self.opts.report_every if self.opts.report_every is not None else rt.report_every
        self.report_dir = self.opts.report_dir or rt.report_dir
        self.prometheus_port = (self.opts.prometheus_port if self.opts.prometheus_port is not None
                                else rt.prometheus_port)
        if self.busy_poll and self.cpu is None:
            raise ConfigError("busy-poll needs a pinned cpu (runtime.cpu or --cpu)")

    # ---------------------------------------------------------------------------------------- build
    def _venue_keys(self) -> list[str]:
        return list(dict.fromkeys(ic.venue for ic in self.cfg.instruments))

    async def _start_sim(self) -> None:
        sim_venues = [k for k in self._venue_keys() if self.cfg.venues[k].preset == "sim"]
        if not sim_venues or self.sim is not None:
            return
        from engine.sim import SimConfig, SimExchange, SymbolSpec, VenueSpec

        specs = []
        for key in sim_venues:
            syms = [SymbolSpec(ic.symbol, ic.tick_size, ic.lot_size, ic.min_qty if ic.min_qty != "0" else ic.lot_size,
                               contract_mult=str(ic.contract_mult),
                               **_sim_symbol_defaults(ic.symbol))
                    for ic in self.cfg.instruments if ic.venue == key]
            specs.append(VenueSpec(key, symbols=syms))
        self.sim = SimExchange(SimConfig(venues=specs, seed=self.opts.seed, quote_rate=self.opts.sim_rate))
        await self.sim.start()
        self._own_sim = True
        log.info("simulated exchange started for %s", ", ".join(sim_venues))

    def _endpoints(self, key: str) -> dict[str, str]:
        vc = self.cfg.venues[key]
        eps = dict(vc.endpoints)
        if vc.preset == "sim":
            sim_eps = self.sim.endpoints(key)
            for k, v in sim_eps.items():
                if not eps.get(k):       # explicit URLs in the config win over the sim's
                    eps[k] = v
        return eps

    def _credentials(self, key: str) -> tuple[str, str, str]:
        vc = self.cfg.venues[key]
        if vc.preset == "sim":
            return tuple(self.sim.credentials(key))  # type: ignore[return-value]
        c = vc.credentials()
        assert c is not None
        return c.api_key, c.secret, c.passphrase

    def _build_core(self) -> None:
        from engine.codec import Decoder
        from engine.pipeline import Pipeline
        from engine.risk import RiskGate
        from engine.strategy import Context, PyStrategy

        self.ctx = Context()
        for inst in self.table:
            self.ctx.add_instrument(inst)
        if self.strategy is None:
            target, cls_name = self.cfg.strategy_path()
            cls = load_strategy_class(target, cls_name)
            params = dict(self.cfg.params)
            try:
                self.strategy = cls(self.ctx, **params)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"bot.params for {cls_name}: {exc}") from None
        else:
            self.strategy.bind(self.ctx)
        if isinstance(self.strategy, PyStrategy) and any(v.preset != "sim" for v in self.cfg.venues.values()):
            log.warning("%s is a PyStrategy trading live: the Python hook path costs ~1 µs per event; "
                        "port it to Cython for the compiled path", type(self.strategy).__name__)
        self.risk = RiskGate()
        self._configure_risk()
        self.pipeline = Pipeline(self.ctx, self.strategy, self.risk)
        self.books: dict[int, Any] = {}
        self.decoders: dict[int, Any] = {}
        self.encoders: dict[int, Any] = {}
        from engine.book import Book

        for key in self._venue_keys():
            venue = Venue.parse(key)
            insts = [i for i in self.table if i.venue == venue]
            dec = Decoder(int(venue))
            for inst in insts:
                dec.add_instrument(inst)
            self.pipeline.add_feed(int(venue), dec)
            self.decoders[int(venue)] = dec
        for ic in self.cfg.instruments:
            if ic.book != "depth":
                continue
            inst = self.table.get(Venue.parse(ic.venue), ic.symbol)
            book = Book(inst, ic.venue)
            self.pipeline.add_book(book)
            self.books[inst.id] = book

    def _build_encoders(self, session_tag: str) -> None:
        """Compiled order encoders (pre-built per-instrument request templates, pre-keyed HMAC); created
        after the router started so client order ids carry this run's session tag."""
        from engine.orders import OrderEncoder

        for key in self._venue_keys():
            venue = Venue.parse(key)
            api_key, _secret, phrase = self._credentials(key)
            # the secret as the router's adapter holds it: with an Ed25519 key (Binance) that is the adapter's
            # stand-in, never the PEM; the order WebSocket then logs on and orders go unsigned (_open_order_conn)
            ad = self.router.venues[venue].adapter
            if _needs_logon(ad):
                phrase = ""
            enc = OrderEncoder(int(venue), self.cfg.venues[key].order_transport, api_key, ad.signer_secret, phrase,
                               session_tag=session_tag)
            for inst in self.table:
                if inst.venue == venue:
                    enc.add_instrument(inst)
            self.pipeline.set_encoder(int(venue), enc)
            self.encoders[int(venue)] = enc

    def _configure_risk(self) -> None:
        r = self.cfg.risk
        for ic in self.cfg.instruments:
            inst = self.table.get(Venue.parse(ic.venue), ic.symbol)
            self.risk.set_limits(
                inst.id,
                max_order_sz=inst.sz_to_units(ic.max_order_size) or None,
                max_notional=r.max_order_notional or None,
                max_position=inst.sz_to_units(ic.max_position) or None,
                band_bps=r.price_band_bps or None,
                max_book_age_ns=int(r.max_quote_age_ms * 1e6) or None,
            )
        self.risk.set_global(
            max_open_orders=r.max_open_orders * max(1, len(self.cfg.instruments)) if r.max_open_orders else None,
            rate_per_s=float(r.max_orders_per_sec) if r.max_orders_per_sec else None,
            burst=float(max(1, r.max_orders_per_sec)) if r.max_orders_per_sec else None,
            max_daily_loss=r.max_daily_loss or None,
        )


    async def _open_order_connections(self) -> None:
        """One picows WebSocket per venue for the compiled order path (pipeline.set_order_transport).

        Login frames come from the router's trading adapter (same recipe as the router's own WS); the
        replies to orders the pipeline wrote are cold frames for the router (its user stream is the
        source of truth for fills)."""
        from picows import WSListener, WSMsgType

        bot = self

        class OrderListener(WSListener):
            def __init__(self, venue: int) -> None:
                self.venue = venue
                self.login_replies: asyncio.Queue[bytes] = asyncio.Queue()
                self.logged_on = False

            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type == WSMsgType.PING:
                    transport.send_pong(frame.get_payload_as_bytes())
                    return
                if frame.msg_type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    return
                t_ack = time.monotonic_ns()
                payload = frame.get_payload_as_bytes()
                if not self.logged_on:
                    self.login_replies.put_nowait(payload)
                    return
                bot._on_ack(payload, t_ack)
                bot.router.on_cold_frame(self.venue, payload, 0, -1, t_ack)

            def on_ws_disconnected(self, transport: Any) -> None:
                if bot.order_conns.get(self.venue) is transport:
                    bot.order_conns.pop(self.venue, None)
                if not bot._stopped:
                    # not silent: intents now go to drain_pending -> Router.place until the connection is back
                    log.warning("order connection of venue %d closed; orders go through the router until it "
                                "reconnects", self.venue)
                    bot.pipeline.set_order_transport(self.venue, None)
                    bot._spawn(bot._reconnect_order_conn(self.venue), f"order-reconnect:{self.venue}")

        self._order_listener_cls = OrderListener
        self.order_conns: dict[int, Any] = {}
        for key in self._venue_keys():
            if self.cfg.venues[key].order_transport == "ws":
                await self._open_order_conn(Venue.parse(key))

    async def _open_order_conn(self, venue: Venue) -> bool:
        """Connect + log in one venue's order WebSocket and hand it to the pipeline; False if the venue has none."""
        from picows import WSMsgType, ws_connect

        rv = self.router.venues.get(venue)
        ad = rv.adapter if rv is not None else None
        url = ad.ws_url() if ad is not None and getattr(ad, "has_ws_trade", False) else ""
        if not url:
            log.warning("%s: no WebSocket order API; orders from the strategy go through the router", venue.key)
            return False
        cls = self._order_listener_cls
        transport, lis = await ws_connect(lambda v=int(venue): cls(v), url, enable_auto_ping=True,
                                          auto_ping_idle_timeout=20, auto_ping_reply_timeout=20)
        logged_on = False
        for frame, expect in ad.ws_login_frames(f"login{int(venue)}"):
            transport.send(WSMsgType.TEXT, frame)
            if expect:
                reply = await asyncio.wait_for(lis.login_replies.get(), 5.0)
                if not ad.ws_login_ok(reply):
                    transport.disconnect()
                    raise EngineError(f"{venue.key}: WebSocket order API login failed")
                logged_on = True
        lis.logged_on = True
        if _needs_logon(ad) and not logged_on:
            transport.disconnect()
            raise EngineError(f"{venue.key}: an Ed25519 key needs a logged-on order WebSocket (session.logon)")
        enc = self.encoders.get(int(venue))
        if enc is not None and venue in (Venue.BINANCE_SPOT, Venue.BINANCE_USDM) and enc.rest is False:
            enc.set_logged_on(logged_on)   # after session.logon requests carry no apiKey/signature
        self.pipeline.set_order_transport(int(venue), transport)
        self.order_conns[int(venue)] = transport
        return True

    async def _reconnect_order_conn(self, venue: int, max_backoff_s: float = 5.0) -> None:
        backoff = 0.1
        while not self._stopped:
            await asyncio.sleep(backoff)
            try:
                if await self._open_order_conn(Venue(venue)):
                    log.warning("order connection of venue %d is back", venue)
                return
            except (OSError, asyncio.TimeoutError, EngineError) as exc:
                log.warning("order connection of venue %d: reconnect failed (%s)", venue, type(exc).__name__)
            except Exception as exc:  # picows handshake errors have their own types
                log.warning("order connection of venue %d: reconnect failed (%s)", venue, type(exc).__name__)
            backoff = min(max_backoff_s, backoff * 2)

    def _feed_subscriptions(self) -> list[tuple[Instrument, list[str]]]:
        return [(self.table.get(Venue.parse(ic.venue), ic.symbol), ic.feed_channels()) for ic in self.cfg.instruments]

    async def start(self) -> None:
        """Build everything, reconcile with the venues, connect, then enable trading."""
        from engine.exchanges import Endpoints, make_adapter
        from engine.feed import FeedManager
        from engine.router import Router, VenueConfig

        self.stop_event = asyncio.Event()
        if self.cfg.signals.webhook.enabled and len(os.environ.get("HOTPATH_WEBHOOK_SECRET", "")) < 16:
            raise ConfigError("signals.webhook is enabled: set HOTPATH_WEBHOOK_SECRET (at least 16 characters)")
        pin_cpu(self.cpu)
        await self._start_sim()
        self._build_core()
        # persistence + router (reloads the store, reconciles, starts user-data streams)
        self.store = await _open_store(self.cfg)
        venues = {}
        for key in self._venue_keys():
            api_key, secret, phrase = self._credentials(key)
            venues[key] = VenueConfig(self._endpoints(key), api_key, secret, phrase,
                                      user_data=self.cfg.venues[key].user_data)
        self.router = Router(self.table, self.store, venues, ctx=self.ctx, strategy=self.strategy,
                             pipeline=self.pipeline,
                             use_ws=any(self.cfg.venues[k].order_transport == "ws" for k in self._venue_keys()))
        await self.router.start()
        self.session_tag = self.router.session_tag    # client order ids: hp<session tag>Z<base36 id>
        self._build_encoders(self.session_tag)
        await self._open_order_connections()
        # market data last: the strategy starts deciding as soon as books are valid
        adapters = {Venue.parse(k): make_adapter(k, endpoints=Endpoints.from_dict(self._endpoints(k)))
                    for k in self._venue_keys()}
        self.feeds = FeedManager(self.pipeline, self._feed_subscriptions(), adapters, self.books, ctx=self.ctx)
        await self.feeds.start()
        self._start_background()
        self.started_at = time.monotonic()
        gc.collect()
        gc.freeze()  # start-up objects are never collected again: shorter, rarer GC pauses
        if self.busy_poll:
            from engine.pipeline import BusySpin

            self._poller = BusySpin(asyncio.get_running_loop(), self._hot_transports(),
                                    budget_us=self.BUSY_SPIN_BUDGET_US)
            self._poller.start()
            self._refresh_spin()
        log.info("bot %s started (%d instruments, cpu=%s, busy_poll=%s)", self.cfg.name, len(self.table),
                 self.cpu, self.busy_poll)

    BUSY_SPIN_BUDGET_US = 100.0   # µs per compiled spin round before the loop runs timers and other I/O

    def _hot_transports(self) -> list[Any]:
        """Open market-data and order WebSockets: what the compiled busy-poll (BusySpin) polls."""
        trs = []
        feeds = getattr(self, "feeds", None)
        for c in (feeds.conns.values() if feeds is not None else ()):
            if c.transport is not None and not c.transport.is_disconnected:
                trs.append(c.transport)
        for k in self._venue_keys():
            tr = self.pipeline.order_transport(int(Venue.parse(k)))
            if tr is not None and not tr.is_disconnected:
                trs.append(tr)
        return trs[:16]

    def _refresh_spin(self) -> None:
        """Follow reconnects: re-point the busy-poll at the current connections every 250 ms."""
        if self._poller is None or self._stopped:
            return
        trs = self._hot_transports()
        if [id(t) for t in trs] != self._spin_ids:
            self._poller.set_transports(trs)
            self._spin_ids = [id(t) for t in trs]
        asyncio.get_running_loop().call_later(0.25, self._refresh_spin)

    # ---------------------------------------------------------------------------------------- background
    def _start_background(self) -> None:
        from engine.report import LatencyReporter

        self.reporter = LatencyReporter(self.pipeline.latency, every=self.report_every)
        self._spawn(self._pump(), "router-pump")
        if self.cfg.runtime.warmup_ms:
            self._spawn(self._warmup(self.cfg.runtime.warmup_ms / 1000.0), "warmup")
        if self.cfg.runtime.timer_ms:
            self._spawn(self._timer(self.cfg.runtime.timer_ms / 1000.0), "strategy-timer")
        self._spawn_signals()
        if self.prometheus_port:
            self._spawn(self._prometheus(), "prometheus")

    def _spawn(self, coro: Any, name: str) -> None:
        t = asyncio.get_running_loop().create_task(coro, name=name)
        t.add_done_callback(self._task_done)
        self.tasks.append(t)

    def _task_done(self, t: asyncio.Task[Any]) -> None:
        if t.cancelled():
            return
        exc = t.exception()
        if exc is not None:
            log.error("background task %s failed: %r", t.get_name(), exc)
            self.request_stop(f"task {t.get_name()} failed: {type(exc).__name__}: {exc}")

    async def _pump(self) -> None:
        """Hand orders the compiled path wrote to the router, send what it could not (no order transport),
        count ticks, emit the periodic latency line and a tick-to-trade timeline point per second; a strategy
        error stops the bot (kill switch is on)."""
        next_window = time.monotonic() + 1.0
        while True:
            await asyncio.sleep(0.005)
            self._pump_once()
            if time.monotonic() >= next_window:
                next_window += 1.0
                self.reporter.window()
            for d in self.pipeline.drain_pending():
                if d["kind"] == 1:
                    await self.router.place(d["inst"], d["side"], d["sz"], d["px"], d["ord_type"], d["tif"],
                                            bool(d["flags"] & 1), client_id=d["client_id"])
                elif d["kind"] == 2:
                    o = self.router.state.by_client_id.get(d["target_id"])
                    if o is not None:
                        await self.router.cancel(o.client_oid)
            if self.pipeline.stats["strategy_errors"] or self.ctx.kill:
                await self.router.kill("strategy error")
                self.request_stop("strategy error (kill switch engaged)")

    def _pump_once(self) -> None:
        sent = self.pipeline.drain_sent()
        if sent:
            self.counters.orders_sent += len(sent)
            self._register_sent(sent)
        rejects = self.pipeline.drain_rejects()
        if rejects:
            self.counters.rejects += len(rejects)
            for r in rejects[:3]:
                log.info("order rejected before sending: %s", r["reason_name"])
        # the risk gate counts accepted NEWs; the router's State is the truth about what is still live
        self.risk.open_orders = sum(1 for o in self.router.state.orders.values() if o.live)
        self.counters.ticks = self.pipeline.stats["hot"]
        self.counters.fills = len(self.router.state.fill_ids)
        self.reporter.on_ticks(self.counters.ticks)

    def _on_ack(self, payload: bytes, t_ack: int) -> None:
        """ACK stage: order written -> the venue's reply on the order connection (request ids end in
        ``Z<base36 client id>``). Replies can beat the 5 ms drain, so both orders of arrival are handled."""
        try:
            d = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        rid = d.get("id", d.get("reqId")) if isinstance(d, dict) else None
        if not isinstance(rid, str) or "Z" not in rid:
            return
        try:
            cid = int(rid.rsplit("Z", 1)[1], 36)
        except ValueError:
            return
        t_send = self._await_ack.pop(cid, None)
        if t_send is None:
            if len(self._early_acks) < 4096:
                self._early_acks[cid] = t_ack
        elif t_ack > t_send:
            self.pipeline.latency.record(ACK_STAGE, t_ack - t_send)

    def _register_sent(self, records: list[dict[str, Any]]) -> None:
        """Orders the compiled path already wrote go to the router (State + ack tracking by request id, an
        unanswered one becomes unknown and is queried); their send stamps feed the ACK stage."""
        for d in records:
            t_ack = self._early_acks.pop(d["client_id"], None)
            if t_ack is not None:
                if t_ack > d["t_send"]:
                    self.pipeline.latency.record(ACK_STAGE, t_ack - d["t_send"])
            elif len(self._await_ack) < 4096:
                self._await_ack[d["client_id"]] = d["t_send"]
        self.router.on_sent(records)

    async def _timer(self, period_s: float) -> None:
        """Call the strategy's ``on_timer`` every ``period_s`` (runtime.timer_ms) through the pipeline, which
        sends what it emits (e.g. cancels of stale quotes) at once; a hook error stops the bot like any
        other strategy error (the task fails -> request_stop)."""
        while True:
            await asyncio.sleep(period_s)
            if self.ctx.kill:
                continue
            self.pipeline.timer()
            self.counters.timers += 1

    async def _warmup(self, period_s: float) -> None:
        """Keep the rarely taken order path warm: encode+sign a dummy order per instrument through the same
        compiled encoder (templates, pre-keyed HMAC); the bytes are dropped, never sent. Instruments whose
        venue cannot encode that order on its configured transport (Bitget futures have no WS order entry:
        their orders go through the router) are left out of the warm-up, once, with a log line."""
        from engine.errors import rc_name
        from engine.orders import EncodeError

        insts = list(self.table)
        k = 0
        while insts:
            await asyncio.sleep(period_s)
            inst = insts[k % len(insts)]
            k += 1
            enc = self.encoders.get(int(inst.venue))
            t = self.ctx.top(inst.id)
            if enc is None or not t["valid"] or not t["bid_px"]:
                continue
            try:
                enc.encode_py({"kind": "new", "inst": inst.id, "side": "buy", "ord_type": "limit", "tif": "ioc",
                               "px": t["bid_px"], "sz": inst.lot_units, "client_id": 1}, int(time.time() * 1000))
            except EncodeError as exc:
                if rc_name(exc.rc) == "ENG_ERR_UNSUPPORTED":
                    log.info("%s: no compiled order path to warm up on this transport", inst.venue.key)
                    insts = [i for i in insts if i.venue != inst.venue]
                    continue
                raise
            self.counters.warmups += 1

    def _spawn_signals(self) -> None:
        from engine.signals_bg import SignalHub, Webhook, run_signal_ws

        sc = self.cfg.signals
        self.hub = SignalHub(self.ctx, self.table, max_age_s=sc.max_age_s, large_trade_notional=sc.large_trade_notional)
        self._spawn(self.hub.run_expiry(1.0), "signal-expiry")
        self.webhook = None
        if sc.webhook.enabled:
            self.webhook = Webhook(self.hub, auth=sc.webhook.auth, host=sc.webhook.host, port=sc.webhook.port,
                                   max_bytes=sc.webhook.max_bytes)
            self._spawn(self.webhook.start(), "webhook")
        if sc.ws_url:
            self._spawn(run_signal_ws(self.hub, sc.ws_url, stop=self.stop_event), "signal-ws")
        if sc.oi_poll_s:
            self._spawn(self._oi_poll(sc.oi_poll_s), "open-interest")
        if sc.large_trade_notional > 0:
            from engine.exchanges import Endpoints, make_adapter
            from engine.signals_bg import run_trade_watch

            adapters = {Venue.parse(k): make_adapter(k, endpoints=Endpoints.from_dict(self._endpoints(k)))
                        for k in self._venue_keys()}
            self._spawn(run_trade_watch(self.hub, adapters, list(self.table), stop=self.stop_event), "large-trades")

    async def _oi_poll(self, period: float) -> None:
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
            await self.hub.poll_open_interest(s, {k: self._endpoints(k)["rest"] for k in self._venue_keys()}, period)

    async def _prometheus(self) -> None:
        from engine.report import start_prometheus

        runner = await start_prometheus(self.pipeline.latency, self.prometheus_port, self.metrics)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    def metrics(self) -> dict[str, float]:
        c = self.counters
        return {"ticks": c.ticks, "orders_sent": c.orders_sent, "fills": c.fills, "rejects": c.rejects,
                "pnl": self.pnl()}

    # ---------------------------------------------------------------------------------------- views
    def pnl(self) -> float:
        marks = {}
        for inst in self.table:
            t = self.ctx.top(inst.id)
            if t["valid"] and t["bid_px"] and t["ask_px"]:
                marks[inst.id] = (t["bid_px"] + t["ask_px"]) / 2 * 10.0 ** -inst.px_exp
        return float(self.router.state.pnl(marks).get("total", 0.0))

    def snapshot(self) -> Any:
        from engine.live import InstView, Snapshot

        views = []
        for inst in self.table:
            book = self.books.get(inst.id)
            bids: list[tuple[str, str]] = []
            asks: list[tuple[str, str]] = []
            valid = bool(self.ctx.top(inst.id)["valid"])
            if book is not None and valid:
                bids, asks = book.top(5)
            elif valid:
                t = self.ctx.top(inst.id)
                bids = [(inst.px_str(t["bid_px"]), inst.sz_str(t["bid_sz"]))]
                asks = [(inst.px_str(t["ask_px"]), inst.sz_str(t["ask_sz"]))]
            p = self.ctx.position(inst.id)
            mid = (self.ctx.top(inst.id)["bid_px"] + self.ctx.top(inst.id)["ask_px"]) / 2 * 10.0 ** -inst.px_exp
            unreal = self.router.state.unrealised(inst.id, mid) if valid else 0.0
            views.append(InstView(inst.symbol, inst.venue.key, bids, asks, valid, inst.sz_str(p["sz"]), p["avg_px"],
                                  p["open_orders"], p["realised_pnl"], unreal, p["fees"]))
        return Snapshot(self.cfg.name, time.monotonic() - self.started_at, self.counters.ticks,
                        self.counters.orders_sent, self.counters.fills, self.counters.rejects, self.pnl(), views,
                        self.pipeline.latency.summary(), "stopping" if self.stop_event.is_set() else "running")

    # ---------------------------------------------------------------------------------------- run / stop
    def request_stop(self, reason: str) -> None:
        if self.stop_event is not None and not self.stop_event.is_set():
            self.stop_reason = reason
            self.stop_event.set()

    async def run(self, seconds: float | None = None) -> None:
        """Trade until SIGINT/SIGTERM, ``request_stop`` or ``seconds``; then :meth:`stop`."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_stop, signal.Signals(sig).name)
            except (NotImplementedError, RuntimeError):
                pass
        seconds = seconds if seconds is not None else self.opts.seconds
        view = None
        if self.opts.live:
            from engine.live import LiveView

            view = LiveView()
            view.__enter__()
        try:
            deadline = None if seconds is None else time.monotonic() + seconds
            next_status = time.monotonic() + self.opts.status_every_s
            while not self.stop_event.is_set():
                timeout = 0.25 if view is not None else 0.1
                if deadline is not None:
                    timeout = min(timeout, max(0.0, deadline - time.monotonic()))
                try:
                    await asyncio.wait_for(self.stop_event.wait(), timeout)
                except asyncio.TimeoutError:
                    pass
                if deadline is not None and time.monotonic() >= deadline:
                    self.request_stop("time limit")
                if view is not None:
                    view.update(self.snapshot())
                elif time.monotonic() >= next_status:
                    next_status += self.opts.status_every_s
                    from engine.live import plain_line

                    self.opts.print_fn(plain_line(self.snapshot()))
        finally:
            if view is not None:
                view.update(self.snapshot())
                view.__exit__(None, None, None)
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.remove_signal_handler(sig)
                except (NotImplementedError, RuntimeError):
                    pass
            await self.stop()

    async def stop(self) -> None:
        """Stop new orders, cancel open ones (configurable), flush persistence, print the final report."""
        if self._stopped:
            return
        self._stopped = True
        if self.stop_event is not None:
            self.stop_event.set()
        if self._poller is not None:
            self._poller.stop()
        gc.unfreeze()
        ctx = getattr(self, "ctx", None)
        if ctx is not None:
            ctx.kill = True                              # the compiled path emits no new orders from here on
        pipeline = getattr(self, "pipeline", None)
        router = getattr(self, "router", None)
        if pipeline is not None and router is not None and hasattr(self, "reporter"):
            self._pump_once()                            # orders already on the wire are tracked
        if router is not None and self.cfg.runtime.cancel_on_exit:
            try:
                await asyncio.wait_for(router.cancel_all(), 5.0)
                await asyncio.sleep(0.2)                 # let cancel acks / user-stream updates arrive
            except Exception as exc:
                log.error("cancel on exit failed: %s", exc)
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if getattr(self, "webhook", None) is not None:
            await self.webhook.stop()
        feeds = getattr(self, "feeds", None)
        if feeds is not None:
            await feeds.stop()
        for venue, tr in getattr(self, "order_conns", {}).items():
            pipeline.set_order_transport(venue, None)
            tr.disconnect()
        if router is not None:
            await router.stop()                          # flushes the store
        store = getattr(self, "store", None)
        if store is not None:
            await store.close()
        if pipeline is not None and router is not None and self.started_at > 0:
            self._final_report()                         # only after a complete start
        if self._own_sim and self.sim is not None:
            await self.sim.stop()

    def _final_report(self) -> None:
        from engine.report import format_table, write_report

        c = self.counters
        summary = self.pipeline.latency.summary()
        self.final_table = format_table(summary, "per-stage latency (µs)")
        out = self.opts.print_fn
        out(f"{self.cfg.name}: stopped ({self.stop_reason or 'stop'}) after "
            f"{time.monotonic() - self.started_at:.1f} s: ticks={c.ticks} orders={c.orders_sent} "
            f"fills={c.fills} rejects={c.rejects} pnl={self.pnl():+.2f}")
        out(self.final_table)
        if self.opts.report and summary:
            html, png = write_report(self.pipeline.latency, self.report_dir, self.reporter.timeline,
                                     {"bot": self.cfg.name, "seconds": f"{time.monotonic() - self.started_at:.1f}",
                                      "ticks": c.ticks, "orders": c.orders_sent, "fills": c.fills,
                                      "busy_poll": self.busy_poll, "cpu": self.cpu}, name=self.cfg.name)
            self.report_paths = (html, png)
            out(f"report: {html} ({png.name}, histograms {html.with_suffix('.json').name})")

    async def __aenter__(self) -> "Bot":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _open_store(cfg: BotConfig) -> Any:
    p = cfg.persistence
    if p.backend == "none":
        return None
    if p.backend == "sqlite":
        from engine.store.sqlite import SqliteStore

        path = Path(p.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        store = SqliteStore(str(path))
    else:
        from engine.store.redis import RedisStore

        store = RedisStore(p.url)
    await store.open()
    return store



# ------------------------------------------------------------------------------------------- CLI entry points


def _options_from_args(args: Any, **kw: Any) -> BotOptions:
    return BotOptions(
        seconds=getattr(args, "seconds", None),
        report=not getattr(args, "no_report", False),
        report_dir=getattr(args, "report_dir", None),
        report_every=getattr(args, "report_every", None),
        prometheus_port=getattr(args, "prometheus_port", None),
        cpu=getattr(args, "cpu", None),
        busy_poll=True if getattr(args, "busy_poll", False) else None,
        uvloop=False if getattr(args, "no_uvloop", False) else None,
        seed=getattr(args, "seed", 7),
        **kw,
    )


def _load_bot_config(bot: str, config_path: str) -> BotConfig:
    cfg = load_config(config_path)
    target, cls = cfg.strategy_path()
    if target.endswith((".py", ".pyx")) and not Path(target).exists():
        alt = resolve_bot_dir(bot) / Path(target).name
        if not alt.exists():
            raise ConfigError(f"strategy file {target} does not exist (nor {alt})")
        cfg.strategy = f"{alt.resolve()}:{cls}"
    return cfg


def run_from_cli(args: Any) -> int:
    cfg = _load_bot_config(args.bot, args.config)
    opts = _options_from_args(args, live=bool(getattr(args, "live", False)) and sys.stdout.isatty())
    use_uvloop = cfg.runtime.uvloop if opts.uvloop is None else opts.uvloop
    run_coro(_run_bot(cfg, opts), use_uvloop)
    return 0


async def _run_bot(cfg: BotConfig, opts: BotOptions, demo_signals: bool = False) -> Bot:
    bot = Bot(cfg, options=opts)
    try:
        await bot.start()
    except BaseException:
        await bot.stop()
        raise
    provider = None
    if demo_signals:
        provider = asyncio.get_running_loop().create_task(_demo_signal_provider(bot), name="demo-signals")
    try:
        await bot.run()
    finally:
        if provider is not None:
            provider.cancel()
            await asyncio.gather(provider, return_exceptions=True)
    return bot


def project_dir(sub: str) -> Path:
    """``bots`` / ``benchmarks`` of the project: ``$HOTPATH_PROJECT_DIR``, the source tree this engine runs
    from (editable install), or the current directory (a clone with a non-editable install)."""
    candidates = [Path(os.environ["HOTPATH_PROJECT_DIR"])] if os.environ.get("HOTPATH_PROJECT_DIR") else []
    candidates += [ROOT, Path.cwd()]
    for c in candidates:
        if (c / sub).is_dir():
            return c / sub
    raise ConfigError(f"no {sub}/ directory found: run from the project checkout or set HOTPATH_PROJECT_DIR")


def demo_config(name: str) -> BotConfig:
    """The example bot's own config, forced onto the in-process sim, with a throw-away store."""
    import tempfile

    path = project_dir("bots") / name / "config.toml"
    if not path.exists():
        raise ConfigError(f"example bot {name} not found at {path}")
    cfg = load_config(path)
    for v in cfg.venues.values():
        v.preset = "sim"
        v.endpoints = {k: "" for k in v.endpoints}
        v.key_file = None
    cfg.persistence.path = str(Path(tempfile.mkdtemp(prefix="hotpath-demo-")) / "state.sqlite")
    if name == "spread":
        # the sim's venues are independent random walks around the same price, a tick or two apart: real
        # cross-venue spreads are wider, so the demo trades on a one-tick edge to show both legs and the unwind
        cfg.params.update(entry_bps=0.015, exit_bps=0.0, cooldown_ms=500)
    if name.startswith("signal"):
        # the demo plays the external signal provider through the real, authenticated webhook
        cfg.signals.webhook.enabled = True
        cfg.signals.webhook.port = 0
        cfg.signals.max_age_s = 5.0
    return cfg


def run_demo(args: Any) -> int:
    cfg = demo_config(args.bot)
    live = not args.no_live and sys.stdout.isatty()
    opts = _options_from_args(args, live=live)
    if args.bot.startswith("signal") and not os.environ.get("HOTPATH_WEBHOOK_SECRET"):
        import secrets

        os.environ["HOTPATH_WEBHOOK_SECRET"] = secrets.token_hex(16)   # demo-only secret, this process
    use_uvloop = cfg.runtime.uvloop if opts.uvloop is None else opts.uvloop
    bot = run_coro(_run_bot(cfg, opts, demo_signals=args.bot.startswith("signal")), use_uvloop)
    if bot.counters.ticks == 0:
        print("hotpath: error: the demo received no market data", file=sys.stderr)
        return 1
    return 0


async def _demo_signal_provider(bot: Bot, period_s: float = 0.5) -> None:
    """Demo stand-in for a signal provider: posts signed scores (a slow oscillation with noise) to the bot's
    webhook over HTTP, exactly as an external provider would."""
    import math
    import random

    import aiohttp
    import orjson

    from engine.signals_bg import sign_body

    while bot.webhook is None or not bot.webhook.url:  # noqa: ASYNC110  the webhook is started elsewhere
        await asyncio.sleep(0.05)
    url = bot.webhook.url
    secret = os.environ["HOTPATH_WEBHOOK_SECRET"]
    rng = random.Random(bot.opts.seed)
    t0 = time.monotonic()
    symbols = sorted({i.symbol for i in bot.table})
    async with aiohttp.ClientSession() as s:
        while True:
            t = time.monotonic() - t0
            for sym in symbols:
                score = max(-1.0, min(1.0, 0.9 * math.sin(t / 2.0) + rng.uniform(-0.1, 0.1)))
                body = orjson.dumps({"symbol": sym, "score": round(score, 4), "ts": time.time()})
                auth = ({"X-Hotpath-Signature": sign_body(secret, body)} if bot.webhook.auth == "hmac"
                        else {"Authorization": f"Bearer {secret}"})
                async with s.post(url, data=body, headers=auth) as r:
                    if r.status != 200:
                        log.warning("demo signal rejected: %s", (await r.json()).get("error"))
            await asyncio.sleep(period_s)


def record_from_cli(args: Any) -> int:
    from engine.exchanges import Endpoints, make_adapter
    from engine.recorder import record

    cfg = load_config(args.config)
    table = cfg.instrument_table()
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]

    async def go() -> int:
        sim = None
        try:
            if any(v.preset == "sim" for v in cfg.venues.values()):
                bot = Bot(cfg)
                await bot._start_sim()
                sim = bot.sim
                eps = {k: bot._endpoints(k) for k in bot._venue_keys()}
            else:
                eps = {k: dict(cfg.venues[k].endpoints) for k in cfg.venues}
            adapters = {Venue.parse(k): make_adapter(k, endpoints=Endpoints.from_dict(e)) for k, e in eps.items()}
            n = await record(adapters, list(table), channels, args.out, args.seconds or 3600.0)
        finally:
            if sim is not None:
                await sim.stop()
        print(f"recorded {n} records to {args.out}")
        return 0

    return run_coro(go(), cfg.runtime.uvloop)


def replay_from_cli(args: Any) -> int:
    """Replay a recording through the same decoders, books, strategy and risk gate, against the simulated
    exchange's matching engine driven by the recorded book (engine.replay), with a fixed or measured order
    latency; print the fills, positions, PnL and latency."""
    from engine.replay import LatencyModel, replay
    from engine.report import format_table

    if not Path(args.recording).is_file():
        raise ConfigError(f"recording {args.recording} does not exist")
    if args.latency_from and args.latency_us is not None:
        raise ConfigError("give either --latency-us or --latency-from, not both")
    if args.latency_from:
        stages = [s.strip() for s in args.latency_stage.split(",") if s.strip()]
        try:
            latency = LatencyModel.from_report(args.latency_from, stages, seed=args.seed)
        except ValueError as exc:
            raise ConfigError(f"--latency-from: {exc}") from None
    else:
        latency = LatencyModel.fixed(int((100.0 if args.latency_us is None else args.latency_us) * 1000))
    cfg = _load_bot_config(args.bot or str(Path(args.config).parent), args.config)
    for v in cfg.venues.values():
        v.preset = "sim"    # no live credentials or endpoints are used by a replay
    recording = Path(args.recording)
    snapshots = getattr(args, "snapshot", []) or []
    tmpdir = None
    if recording.suffix == ".jsonl":
        recording, tmpdir = _convert_jsonl(cfg, recording, snapshots)
    elif snapshots:
        raise ConfigError("--snapshot is for fixture .jsonl recordings (hotpath record files carry their snapshots)")
    # every risk limit applies as live: the replay runs the pipeline on recorded time (engine.replay), so the
    # order-rate bucket and the book-age check judge the recorded timestamps, not how fast the replay runs
    bot = Bot(cfg, sim=_NoSim())
    bot._build_core()
    try:
        res = replay(bot, recording, latency, mirror_depth=args.depth)
    except (ValueError, KeyError) as exc:  # data that does not fit the configured instruments
        raise ConfigError(f"replay of {args.recording}: {exc}") from None
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    st, sim = res.stats, res.sim.stats
    maker = sum(1 for f in sim.fills if f.maker)
    print(f"replayed {st.frames} frames ({st.hot} on the hot path, {st.snapshots} snapshots, "
          f"{st.replayed} re-fed after a snapshot, {st.stale} stale, errors {st.errors or {}}); "
          f"strategy orders {sim.orders}, cancels {sim.cancels}, fills {len(sim.fills)} ({maker} maker), "
          f"expired {sim.expired}, venue rejects {sim.venue_rejects or 0}, "
          f"risk rejects {_by_reason(res.risk_rejects)}")
    print(f"matching: engine.sim on the recorded book (queue behind displayed size, recorded trades, "
          f"trade-through); {latency.describe()}")
    if args.fills:
        for f in sim.fills:
            print(f"fill t={f.t_ns} {f.symbol} {'buy' if f.side > 0 else 'sell'} {f.sz} @ {f.px} "
                  f"{'maker' if f.maker else 'taker'} fee {f.fee:.6f} cid {f.client_id}")
    for name, p in res.positions.items():
        print(f"position {name}: {p['sz']} avg {p['avg_px']:.8g} realised {p['realised']:+.6f} "
              f"fees {p['fees']:.6f} pnl {p['pnl']:+.6f} open {p['open_orders']}")
    print(f"PnL {res.pnl:+,.6f} (after fees, open positions at the last mid)")
    print(format_table(bot.pipeline.latency.summary(), "per-stage latency (µs)"))
    return 0


def _needs_logon(adapter: Any) -> bool:
    """An Ed25519 key (Binance): the compiled encoders cannot sign with it, so orders on the compiled path
    go out unsigned on a logged-on WebSocket."""
    return getattr(adapter, "ed25519", None) is not None


def _by_reason(counts: dict[str, int]) -> str:
    """{'RATE': 3, 'STALE_BOOK': 1} -> '4 (RATE 3, STALE_BOOK 1)' (most first); {} -> '0'."""
    if not counts:
        return "0"
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{sum(counts.values())} ({parts})"


def _convert_jsonl(cfg: BotConfig, path: Path, snapshots: list[str]) -> tuple[Path, Any]:
    """Fixture .jsonl (+ ``SYMBOL=FILE`` REST snapshots) -> a temporary recording for the config's venue."""
    import tempfile

    from engine.recorder import convert_fixture

    venues = {ic.venue for ic in cfg.instruments}
    if len(venues) != 1:
        raise ConfigError(f"a .jsonl recording carries one venue; the config has {', '.join(sorted(venues))}")
    snaps = []
    for item in snapshots:
        sym, sep, file = item.partition("=")
        if not sep or not sym or not Path(file).is_file():
            raise ConfigError(f"--snapshot {item!r}: expected SYMBOL=FILE with an existing file")
        snaps.append((sym, Path(file), None))
    tmp = tempfile.TemporaryDirectory(prefix="hotpath-replay-")
    out = Path(tmp.name) / (path.stem + ".hprec")
    try:
        convert_fixture([path], out, Venue.parse(venues.pop()), snaps)
    except (ValueError, KeyError, OSError) as exc:
        tmp.cleanup()
        raise ConfigError(f"converting {path}: {exc}") from None
    return out, tmp


class _NoSim:
    """Endpoints/credentials stand-in for offline replays (nothing connects)."""

    def endpoints(self, key: str) -> dict[str, str]:
        return {"rest": "", "ws_public": "", "ws_private": "", "ws_trade": ""}

    def credentials(self, key: str) -> tuple[str, str, str]:
        return ("replay", "replay-secret", "replay")


def _sim_symbol_defaults(symbol: str) -> dict[str, str]:
    """Start prices for the sim that match the symbol (BTC ~ 50k, ETH ~ 3k, others 100)."""
    s = symbol.upper()
    if s.startswith("BTC"):
        return {"start_price": "50000", "level_size": "2" if "SWAP" not in s else "200"}
    if s.startswith("ETH"):
        return {"start_price": "3000", "base": "ETH", "level_size": "20" if "SWAP" not in s else "200"}
    return {"start_price": "100", "base": s[:3], "level_size": "100"}
