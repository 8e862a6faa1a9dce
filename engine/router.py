# SPDX-License-Identifier: Apache-2.0
"""Order router: order lifecycle over REST and WebSocket order APIs, user-data streams,
reconciliation, rate limits, clock offset, dead-man switches and the kill switch.

Rules this module keeps (the ones that lose money when broken):

* Every order gets a client order id unique across restarts: ``hp<session>x<id>`` in base 36,
  where the session counter is persisted in the store and incremented at every start.
* The state of an order is only moved by venue answers (acks, queries, the user-data stream).
  After a timeout, a 5xx or a disconnect the order is ``unknown`` and the router queries the venue
  by client order id; nothing is ever re-sent. An order the venue does not know is only declared
  "not placed" once its signed timestamp + recvWindow has passed on the venue's clock (after that
  the venue cannot accept it any more), so a late arrival can never create a hidden order.
* Persistence happens after the bytes are on the wire (``State`` -> ``Store.put``, non-blocking).
* ``await router.ready()`` returns only after the store was reloaded and every venue reconciled
  (open orders, fills missed while away, positions).

Venue specifics live in ``engine/exchanges/<venue>/trading.py`` (``TradingAdapter`` subclasses).
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import aiohttp

from engine.clock_sync import ClockSync
from engine.exchanges.base import Endpoints
from engine.instruments import Instrument, Venue
from engine.ratelimit import RateLimiter
from engine.state import LIVE, REJECTED, TERMINAL, Fill, Order, State, StateError

log = logging.getLogger("hotpath.router")

OK = "ok"
REJECT = "reject"
UNKNOWN_OUTCOME = "unknown"
UNKNOWN = UNKNOWN_OUTCOME          # outcome name used by adapters; equals the order status state.UNKNOWN
NOT_FOUND = "not_found"

ROUTER_ID_BASE = 1 << 40           # router-originated client ids; strategies use small ids


# ---- wire-level types shared with the venue adapters ---------------------------------------
@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: str = ""
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    weight: int = 1
    is_order: bool = False
    ts_ms: int = 0                 # signed timestamp (venue clock) or 0


@dataclass(slots=True)
class Reply:
    outcome: str                   # OK | REJECT | UNKNOWN | NOT_FOUND
    data: Any = None
    reason: str = ""
    rate_limited: bool = False


def classify_error(code: Any, *, not_found: set, rate: set, unknown: set) -> Reply:
    """A venue's error code as a Reply: order not found, rate limited (a reject that also throttles),
    outcome unknown (query before anything is resent), or a plain reject."""
    reason = str(code)
    if code in not_found:
        return Reply(NOT_FOUND, reason=reason)
    if code in rate:
        return Reply(REJECT, reason=reason, rate_limited=True)
    if code in unknown:
        return Reply(UNKNOWN, reason=reason)
    return Reply(REJECT, reason=reason)


@dataclass(slots=True)
class OrderReport:
    client_oid: str
    status: str | None
    filled_sz: int | None = None
    venue_order_id: str = ""
    reason: str = ""
    inst: int = -1
    side: int = 0
    ord_type: int = 1
    tif: int = 1
    flags: int = 0
    px: int | None = None
    sz: int | None = None


@dataclass(slots=True)
class FillReport:
    fill: Fill


@dataclass(slots=True)
class PositionReport:
    inst: int
    sz: int
    avg_px: float


class TradingAdapter:
    """Per-venue order API recipe: builds signed requests and parses answers (no I/O)."""

    venue: Venue
    has_ws_trade = False
    has_positions = True

    def __init__(self, endpoints: Endpoints, api_key: str, secret: str, passphrase: str,
                 instruments: Iterable[Instrument], clock: ClockSync, recv_window_ms: int = 5000) -> None:
        from engine.signing import Signer
        self.endpoints = endpoints
        self.api_key = api_key
        self.passphrase = passphrase
        self.signer = Signer(secret.encode())
        self.signer_secret = secret         # kept for the compiled encoders; never printed
        self.instruments: dict[int, Instrument] = {i.id: i for i in instruments if i.venue == self.venue}
        self.by_symbol: dict[str, Instrument] = {i.symbol: i for i in self.instruments.values()}
        self.clock = clock
        self.recv_window_ms = recv_window_ms
        self.ws_logged_on = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(venue={self.venue.key})"

    # ---- compiled encoders (engine.orders): new orders are encoded + signed in C -----------
    enc_rest: Any = None
    enc_ws: Any = None
    rest_in_query = False            # Binance: the encoded REST request is the query string
    extra_rest_headers: dict[str, str] = {}   # sent with every REST request (OKX demo: x-simulated-trading)

    def attach_encoders(self, session_tag: str) -> None:
        from engine.orders import OrderEncoder
        for tr in ("rest", "ws") if self.has_ws_trade else ("rest",):
            e = OrderEncoder(int(self.venue), tr, self.api_key, self.signer_secret, self.passphrase,
                             session_tag, self.recv_window_ms)
            for ins in self.instruments.values():
                e.add_instrument(ins)
            setattr(self, f"enc_{tr}", e)

    @staticmethod
    def _intent(o: Any) -> dict[str, Any]:
        return {"kind": 1, "inst": o.inst, "side": o.side, "ord_type": o.ord_type, "tif": o.tif,
                "px": o.px, "sz": o.sz, "client_id": o.client_id, "flags": o.flags}

    def place(self, o: Any) -> Request:
        ts = self.clock.server_ms()
        out = self.enc_rest.encode_py(self._intent(o), ts).decode()
        method, path = self.enc_rest.rest_route(1, o.inst)
        h = self.enc_rest.rest_headers()
        if self.extra_rest_headers:
            h.update(self.extra_rest_headers)
        if self.rest_in_query:
            return Request(method, path, out, "", h, 1, True, ts_ms=ts)
        return Request(method, path, "", out, h, 1, True, ts_ms=ts)

    def ws_place(self, req_id: str, o: Any) -> tuple[str, bytes, int]:
        from engine.orders import request_id
        ts = self.clock.server_ms()
        if self.venue in (Venue.BINANCE_SPOT, Venue.BINANCE_USDM):
            self.enc_ws.set_logged_on(self.ws_logged_on)
        frame = self.enc_ws.encode_py(self._intent(o), ts)
        return request_id(1, self.enc_ws.session_tag, o.client_id), frame, ts

    # defaults for the optional parts of the recipe
    ws_binary = False

    def ws_login_frames(self, req_id: str) -> list[tuple[bytes, bool]]:
        """Frames to send after the order WebSocket connects; True = wait for a reply."""
        return []

    def ws_login_ok(self, payload: bytes) -> bool:
        return True

    def user_token_request(self) -> Request | None:
        return None

    def parse_user_token(self, reply: Reply) -> str:
        return ""

    def user_login_frames(self) -> list[bytes]:
        return []

    #: user-data transports the venue offers (first = default); VenueConfig.user_data picks one
    user_data_modes: tuple[str, ...] = ()

    def user_handshake(self, reply: bytes | None) -> list[bytes] | None:
        """Request/answer steps on a fresh user-data socket before it counts as up: called with
        None first, then with every frame that arrives; returns frames to send (then waits for the
        next frame), [] to keep waiting, or None once subscribed. Raises ConnectionError when the
        venue refuses."""
        return None

    def user_keepalive(self) -> Request | None:
        return None

    def user_ping(self) -> bytes | None:
        return None

    def ws_keepalive(self) -> bytes | None:
        """Application-level ping for the order WebSocket (OKX/Bitget ``ping`` text)."""
        return None

    def user_ping_reply(self, payload: bytes) -> bytes | None:
        return None

    def deadman(self, timeout_ms: int) -> list[Request]:
        """Requests that (re)arm the venue's dead-man switch for ``timeout_ms``."""
        return []

    #: seconds between dead-man requests; None = the router's ``deadman_every_s`` (heartbeats)
    deadman_period_s: float | None = None

    #: reject reasons that mean "your timestamp is outside the window": resync the clock
    clock_error_codes: frozenset[str] = frozenset()

    def query_result(self, reply: Reply) -> Reply:
        """Venue-specific reading of a query-by-client-id answer (e.g. an empty list = not found)."""
        return reply

    # trade list (missed-fill recovery): every venue adapter implements these three
    def trades(self, inst: int, since_ms: int | None, page: str | None) -> Request:
        """Our trades on ``inst`` from venue time ``since_ms`` (None: the venue's recent list);
        ``page`` is the token trades_next returned for the previous page."""
        raise NotImplementedError

    def trades_next(self, reply: Reply, n: int, page: str | None) -> str | None:
        """Token of the page after ``reply`` (which held ``n`` trades and was asked for with
        ``page``), None when it was the last."""
        raise NotImplementedError

    def fills_of(self, inst: int, reply: Reply) -> list[tuple[Fill, str]]:
        """Trade-list rows -> (fill with the user stream's trade id, venue order id)."""
        raise NotImplementedError


_ADAPTERS = {
    Venue.BINANCE_USDM: ("engine.exchanges.binance.trading", "BinanceUsdmTrading"),
    Venue.BINANCE_SPOT: ("engine.exchanges.binance.trading", "BinanceSpotTrading"),
    Venue.BYBIT: ("engine.exchanges.bybit.trading", "BybitTrading"),
    Venue.OKX: ("engine.exchanges.okx.trading", "OkxTrading"),
    Venue.BITGET: ("engine.exchanges.bitget.trading", "BitgetTrading"),
}


def adapter_class(venue: Venue) -> type[TradingAdapter]:
    mod, name = _ADAPTERS[venue]
    return getattr(importlib.import_module(mod), name)


def b36(n: int) -> str:
    if n < 0:
        raise ValueError("negative id")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def client_order_id(session_tag: str, client_id: int, venue: int = int(Venue.BINANCE_USDM)) -> str:
    """The id the compiled encoders send: ``hp`` + session tag + ``Z`` + base36(client id)
    (engine.orders.client_order_id); alphanumeric, fits every venue."""
    from engine.orders import client_order_id as coid
    return coid(venue, session_tag, client_id)


def new_instance_id() -> str:
    """4 random characters of [a-z0-9]: tells this store's orders from other bots' on one account."""
    import secrets
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(4))


@dataclass
class VenueConfig:
    endpoints: Endpoints | Mapping[str, str]
    api_key: str
    secret: str
    passphrase: str = ""
    user_data: str = ""                 # "" = the venue's default user-data transport

    def __repr__(self) -> str:      # never print secrets
        return f"VenueConfig(endpoints={self.endpoints!r}, api_key=***)"


class _Venue:
    """Runtime of one venue: adapter, HTTP session, limiter, clock, connections, tasks."""

    def __init__(self, venue: Venue, adapter: TradingAdapter, clock: ClockSync) -> None:
        self.venue = venue
        self.adapter = adapter
        self.clock = clock
        self.limiter = RateLimiter(venue.key)
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.ws_up = False
        self.user_up = False
        self.pending_ws: dict[str, tuple[str, str, float]] = {}   # req id -> (client_oid, op, deadline)
        self.tasks: list[asyncio.Task[Any]] = []
        self.reconciles = 0
        self.user_reconnects = 0
        self.ws_reconnects = 0
        self.deadman_ok = 0
        self.deadman_err = ""
        self.trade_list = True          # False when the venue has no trade-list endpoint
        self.reconcile_waiting = False
        self.clock_resync: asyncio.Task[None] | None = None


class RouterError(Exception):
    pass


class Router:
    """Routes orders of one process to its venues and keeps ``State`` equal to the venues'.

    ``Router(instruments, store, venues={"binance_usdm": VenueConfig(...)}, ctx=Context)``;
    ``await start()`` reloads, reconciles, connects; ``await ready()``; ``place/cancel/amend/
    cancel_all/kill``; ``status()`` for the live view; ``await stop()``.
    """

    def __init__(self, instruments: Iterable[Instrument], store: Any,
                 venues: Mapping[Venue | str, VenueConfig], *, ctx: Any = None, strategy: Any = None,
                 pipeline: Any = None, risk: Any = None, budget: Any = None, use_ws: bool = True, order_timeout_s: float = 2.0,
                 recv_window_ms: int = 5000, deadman_ms: int = 0, deadman_every_s: float = 1.0,
                 listen_key_keepalive_s: float = 1800.0, reconcile_every_s: float = 30.0) -> None:
        self.instruments = {i.id: i for i in instruments}
        self.store = store
        self.ctx = ctx
        self.strategy = strategy
        self.pipeline = pipeline
        self.risk = risk
        self.budget = budget            # engine.store.redis.RiskBudget (global exposure), optional
        self._reserved: dict[str, int] = {}           # client_oid -> budget units still reserved
        self.state = State(self.instruments.values(), sink=self._sink, ctx=ctx)
        self.use_ws = use_ws
        self.order_timeout_s = order_timeout_s
        self.recv_window_ms = recv_window_ms
        self.deadman_ms = deadman_ms
        self.deadman_every_s = deadman_every_s
        #: the trade list is read from this long before the newest fill we hold: a fill missed
        #: while the stream was down can be older than one the new stream delivered before the
        #: reconcile ran (or than one persisted just before a crash); dedupe is by trade id
        self.fill_lookback_ms = 300_000
        self.max_fill_pages = 1000
        self.listen_key_keepalive_s = listen_key_keepalive_s
        self.reconcile_every_s = reconcile_every_s
        self.session = 0
        self.session_tag = ""
        self.instance_id = ""
        self._next_id = ROUTER_ID_BASE
        self._ready = asyncio.Event()
        self._killed = False
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._sent_ts: dict[str, int] = {}
        self._req = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self.venues: dict[Venue, _Venue] = {}
        self._configs: dict[Venue, VenueConfig] = {}
        for k, cfg in venues.items():
            v = k if isinstance(k, Venue) else Venue.parse(k)
            modes = adapter_class(v).user_data_modes
            if cfg.user_data and cfg.user_data not in modes:
                raise RouterError(f"{v.key}: user_data {cfg.user_data!r} is not offered; "
                                  f"choose one of {', '.join(modes) or '(none: the venue has one way)'}")
            self._configs[v] = cfg
        self._activity: dict[int, float] = {}        # inst -> monotonic time of the last fill/report
        self.events: list[dict[str, Any]] = []        # recent router events for the live view
        self.local_rejects: dict[str, int] = {}

    def _sink(self, kind: str, data: dict[str, Any]) -> None:
        """Every State event: persist (non-blocking), and give back the budget of finished orders."""
        if self.store is not None:
            self.store.put(kind, data)
        if kind == "order" and self._reserved and data["status"] in TERMINAL:
            n = self._reserved.pop(data["client_oid"], 0)
            if n and data["sz"] > 0:
                # the unfilled part was never exposure; the filled part stays until it is closed
                self.budget.release(n * (data["sz"] - data["filled_sz"]) // data["sz"])

    def notional_units(self, inst: int, px: int, sz: int) -> int:
        """Budget units (quote currency cents) of ``sz`` at ``px`` (both instrument units)."""
        ins = self.instruments[inst]
        return int(px / 10 ** ins.px_exp * sz / 10 ** ins.sz_exp * ins.contract_mult * 100 + 0.999999)

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self.store is not None:
            snap = await self.store.load()
            self.state.restore(snap.orders, snap.fills, snap.positions)
            self.session = await self.store.next_session()
            inst_id = await self.store.get_meta("instance")
            if inst_id is None:
                inst_id = new_instance_id()
                await self.store.set_meta("instance", inst_id)
        else:
            self.session = int(time.time())
            inst_id = new_instance_id()
        # session tag = store instance (4 chars, persisted) + base36(session counter): unique across
        # restarts of this bot and across bots sharing an account with their own stores
        self.instance_id = inst_id
        self.session_tag = inst_id + b36(self.session)
        for v, cfg in self._configs.items():
            ep = cfg.endpoints if isinstance(cfg.endpoints, Endpoints) else Endpoints.from_dict(dict(cfg.endpoints))
            clock = ClockSync()
            ad = adapter_class(v)(ep, cfg.api_key, cfg.secret, cfg.passphrase,
                                  self.instruments.values(), clock, self.recv_window_ms)
            if hasattr(ad, "attach_encoders"):
                ad.attach_encoders(self.session_tag)
            if cfg.user_data:
                ad.user_data = cfg.user_data
            rv = _Venue(v, ad, clock)
            rv.http = aiohttp.ClientSession(
                base_url=ep.rest.rstrip("/"),
                connector=aiohttp.TCPConnector(limit=32, keepalive_timeout=60.0, ttl_dns_cache=300),
                timeout=aiohttp.ClientTimeout(total=self.order_timeout_s))
            self.venues[v] = rv
        try:
            await self._start_venues()
        except BaseException:
            await self.stop()
            raise
        self._ready.set()

    async def _start_venues(self) -> None:
        for rv in self.venues.values():
            await self._sync_clock(rv)
            rv.tasks.append(asyncio.create_task(self._user_loop(rv), name=f"user:{rv.venue.key}"))
            if self.use_ws and rv.adapter.has_ws_trade and rv.adapter.endpoints.ws_trade:
                rv.tasks.append(asyncio.create_task(self._ws_loop(rv), name=f"wstrade:{rv.venue.key}"))
            if self.deadman_ms:
                rv.tasks.append(asyncio.create_task(self._deadman_loop(rv), name=f"deadman:{rv.venue.key}"))
            rv.tasks.append(asyncio.create_task(self._housekeeping(rv), name=f"house:{rv.venue.key}"))
        # user streams must be up before we trade, or fills could be missed silently
        for rv in self.venues.values():
            await self._wait_for(lambda rv=rv: rv.user_up, 5.0, f"{rv.venue.key} user-data stream")
        # one reconcile once the streams are up (nothing trades before ready(), and every event
        # from now on arrives on the stream): open orders, missed fills, positions
        for rv in self.venues.values():
            await self.reconcile(rv.venue)

    async def ready(self) -> None:
        await self._ready.wait()

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def stop(self) -> None:
        self._ready.clear()
        for t in list(self._resolving.values()):
            t.cancel()
        for rv in self.venues.values():
            tasks = list(rv.tasks)
            for t in tasks:
                t.cancel()
            for t in tasks:
                try:
                    await t
                except (asyncio.CancelledError, Exception):
                    pass
            if rv.ws is not None:
                await rv.ws.close()
            if rv.http is not None:
                await rv.http.close()
        if self.store is not None:
            await self.store.flush()

    async def _wait_for(self, cond: Any, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise RouterError(f"{what} did not come up within {timeout} s")
            await asyncio.sleep(0.01)

    # ---- REST -----------------------------------------------------------------------------
    async def _http(self, rv: _Venue, req: Request) -> Reply:
        """Send one REST request; classify the answer. Never raises for transport problems."""
        wait = rv.limiter.delay(req.weight, req.is_order)
        if wait > 0:
            if req.is_order:
                return Reply(REJECT, reason="throttled", rate_limited=True)
            await asyncio.sleep(wait)
        rv.limiter.record(req.weight, req.is_order)
        url = req.path + (f"?{req.query}" if req.query else "")
        assert rv.http is not None
        try:
            async with rv.http.request(req.method, url, data=req.body.encode() if req.body else None,
                                       headers=req.headers) as resp:
                body = await resp.read()
                rv.limiter.on_response(resp.status, resp.headers)
                rep = rv.adapter.classify(resp.status, body)
                return rep
        except (asyncio.TimeoutError, aiohttp.ClientError, ConnectionError, OSError) as e:
            return Reply(UNKNOWN_OUTCOME, reason=f"{type(e).__name__}")

    async def _sync_clock(self, rv: _Venue) -> None:
        async def fetch() -> int:
            req = rv.adapter.server_time()
            assert rv.http is not None
            async with rv.http.request(req.method, req.path + (f"?{req.query}" if req.query else ""),
                                       headers=req.headers) as resp:
                return rv.adapter.parse_server_time(await resp.read())
        await rv.clock.sync(fetch, 3)

    # ---- placing ----------------------------------------------------------------------------
    def new_client_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _local_reject(self, reason: str) -> None:
        self.local_rejects[reason] = self.local_rejects.get(reason, 0) + 1
        self.state.reject_local(reason)

    async def place(self, inst: int, side: int, sz: int, px: int = 0, ord_type: int = 1, tif: int = 1,
                    reduce_only: bool = False, client_id: int | None = None) -> Order | None:
        """Place one order (router path). Returns the Order (check ``status``) or None when a local
        check refused it (kill switch, not ready, rate limiter)."""
        if self._killed or (self.ctx is not None and self.ctx.kill):
            self._local_reject("kill_switch")
            return None
        if not self._ready.is_set():
            self._local_reject("not_ready")
            return None
        ins = self.instruments[inst]
        rv = self.venues[ins.venue]
        if ord_type == 1 and px <= 0:
            raise ValueError("limit order needs a price")
        cid = client_id if client_id is not None else self.new_client_id()
        oid = client_order_id(self.session_tag, cid, int(ins.venue))
        if self.risk is not None and self.ctx is not None:
            # the same compiled gate the hot path uses (live position, open orders, book validity)
            code = self.risk.check_py(self.ctx, {
                "kind": 1, "venue": int(ins.venue), "inst": inst, "side": side, "ord_type": ord_type,
                "tif": tif, "px": px, "sz": sz, "client_id": cid, "flags": 1 if reduce_only else 0})
            if code:
                from engine.risk import reason_name
                self._local_reject(f"risk:{reason_name(code)}")
                return None
        if rv.limiter.delay(1, True) > 0:
            self._local_reject("rate_limited")
            return None
        spend = 0
        if self.budget is not None and not reduce_only:
            ref = px
            if ord_type == 2:
                if self.ctx is None:
                    self._local_reject("budget_no_price")
                    return None
                t = self.ctx.top(inst)
                ref = t["ask_px"] if side > 0 else t["bid_px"]
                if not t["valid"] or ref <= 0:
                    self._local_reject("budget_no_price")
                    return None
            spend = self.notional_units(inst, ref, sz)
            if not self.budget.try_spend(spend):
                self._local_reject("global_budget")
                return None
        o = self.state.new_order(oid, cid, int(ins.venue), inst, side, ord_type, tif,
                                 1 if reduce_only else 0, px, sz)
        if spend:
            self._reserved[oid] = spend
        await self._send(rv, o, "place")
        return o

    async def _send(self, rv: _Venue, o: Order, op: str, px: int = 0, sz: int = 0) -> None:
        ad = rv.adapter
        if rv.ws_up and rv.ws is not None:
            self._req += 1
            rid = f"{op[0]}{self._req}"
            if op == "place":
                rid, frame, ts = ad.ws_place(rid, o)
            elif op == "cancel":
                rid, frame, ts = ad.ws_cancel(rid, o)
            else:
                rid, frame, ts = ad.ws_amend(rid, o, px, sz)
            if op == "place":
                self._sent_ts[o.client_oid] = ts
            rv.pending_ws[rid] = (o.client_oid, op, time.monotonic() + self.order_timeout_s)
            rv.limiter.record(1, op != "cancel")
            try:
                await rv.ws.send_bytes(frame) if isinstance(frame, bytes) and ad.ws_binary else \
                    await rv.ws.send_str(frame.decode())
                return
            except (ConnectionError, RuntimeError, aiohttp.ClientError):
                rv.pending_ws.pop(rid, None)
                self._on_unknown(rv, o, f"ws send failed ({op})", op)
                return
        if op == "place":
            req = ad.place(o)
            self._sent_ts[o.client_oid] = req.ts_ms
        elif op == "cancel":
            req = ad.cancel(o)
        else:
            req = ad.amend(o, px, sz)
        rep = await self._http(rv, req)
        self._on_reply(rv, o, op, rep)

    def _on_reply(self, rv: _Venue, o: Order, op: str, rep: Reply) -> None:
        if rep.outcome == OK:
            for r in rv.adapter.reports_of(rep):
                self._apply_report(rv, r)
            return
        if rep.outcome == REJECT:
            if rep.reason in rv.adapter.clock_error_codes:
                self._resync_clock_soon(rv)
            if op == "place":
                self.state.update_order(o.client_oid, REJECTED, reason=rep.reason)
            else:
                self._event("reject", op=op, client_oid=o.client_oid, reason=rep.reason)
                self.state.rejects.add(f"{op}:{rep.reason}")
            return
        if rep.outcome == NOT_FOUND:
            if op == "place":
                self._on_unknown(rv, o, rep.reason, op)
            else:
                self._resolve_later(rv, o)       # cancel of an order the venue does not know: query
            return
        self._on_unknown(rv, o, rep.reason, op)

    def _on_unknown(self, rv: _Venue, o: Order, reason: str, op: str) -> None:
        self._event("unknown", client_oid=o.client_oid, op=op, reason=reason)
        if op == "place" or o.status in LIVE:
            if o.status not in TERMINAL:
                self.state.update_order(o.client_oid, UNKNOWN)
        self._resolve_later(rv, o)

    def _resolve_later(self, rv: _Venue, o: Order) -> None:
        if o.client_oid in self._resolving and not self._resolving[o.client_oid].done():
            return
        self._resolving[o.client_oid] = asyncio.create_task(self._resolve(rv, o),
                                                            name=f"resolve:{o.client_oid}")

    async def _resolve(self, rv: _Venue, o: Order) -> None:
        """Query by client order id until the venue gives a definite answer (never resend)."""
        delay = 0.05
        while True:
            rep = rv.adapter.query_result(await self._http(rv, rv.adapter.query(o)))
            if rep.outcome == OK:
                reps = rv.adapter.reports_of(rep)
                for r in reps:
                    self._apply_report(rv, r)
                if reps and o.fill_sum < (o.filled_sz or 0):
                    await self.sync_fills(rv, o.inst)
                if o.status != UNKNOWN:
                    self._resolving.pop(o.client_oid, None)
                    return
            elif rep.outcome == NOT_FOUND:
                sent = self._sent_ts.get(o.client_oid) or (o.created_ms + int(rv.clock.offset_ms))
                if rv.clock.server_ms() > sent + self.recv_window_ms + 500:
                    # the venue can no longer accept it: definitely not placed
                    if o.status in LIVE:
                        self.state.update_order(o.client_oid, REJECTED, reason="not_placed")
                    self._resolving.pop(o.client_oid, None)
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _apply_report(self, rv: _Venue, r: OrderReport) -> None:
        o = self.state.get(r.client_oid)
        if o is None:
            if not self._ours(r.client_oid) or r.inst < 0 or r.side == 0 or not r.sz:
                self._event("foreign_order", client_oid=r.client_oid, venue_order_id=r.venue_order_id)
                return
            # ours but unknown locally (crash before it was persisted): adopt it
            cid = _parse_cid(r.client_oid) or 0
            o = self.state.new_order(r.client_oid, cid, int(rv.venue), r.inst, r.side, r.ord_type,
                                     r.tif, r.flags, r.px or 0, r.sz)
            self._event("adopted", client_oid=r.client_oid)
        self._activity[o.inst] = time.monotonic()
        if r.status is None:            # an ack without state (Bybit/OKX/Bitget): keep the venue id
            if r.venue_order_id and r.venue_order_id != o.venue_order_id:
                self.state.update_order(r.client_oid, o.status, venue_order_id=r.venue_order_id)
            return
        try:
            self.state.update_order(r.client_oid, r.status, r.filled_sz, r.venue_order_id, r.reason,
                                    px=r.px if r.status not in TERMINAL else None,
                                    sz=r.sz if r.status not in TERMINAL else None)
        except StateError as e:
            self._event("bad_report", reason=str(e))
        if o.status not in LIVE:
            self._sent_ts.pop(o.client_oid, None)

    def _ours(self, client_oid: str) -> bool:
        """Made by a session of this store (not another bot on the same account, not manual)."""
        tag = _parse_tag(client_oid)
        return tag is not None and tag.startswith(self.instance_id) and bool(self.instance_id)

    def _apply_fill(self, rv: _Venue, f: Fill, venue_order_id: str = "") -> bool:
        if not f.client_oid and venue_order_id:
            o = self._order_by_venue_id(rv, venue_order_id)
            if o is not None:
                f = Fill(f.venue, f.trade_id, o.client_oid, f.inst, f.side, f.px, f.sz, f.fee,
                         f.is_maker, f.ts_ms)
        before = self.state.positions[f.inst].sz if f.inst in self.state.positions else 0
        new = self.state.apply_fill(f)
        self._activity[f.inst] = time.monotonic()
        if new and self.budget is not None:
            after = self.state.positions[f.inst].sz
            closed = max(0, abs(before) - abs(after)) if (before > 0) == (after > 0) or after == 0 \
                else abs(before)
            if closed:                   # exposure that went away gives its budget back
                self.budget.release(self.notional_units(f.inst, f.px, closed))
        if new and self.strategy is not None:
            o = self.state.get(f.client_oid)
            self.strategy.deliver_fill(f.inst, f.side, f.px, f.sz, f.fee,
                                       client_id=o.client_id if o is not None else 0,
                                       is_maker=f.is_maker, apply=False)
        return new

    def _order_by_venue_id(self, rv: _Venue, vid: str) -> Order | None:
        for o in self.state.orders.values():
            if o.venue_order_id == vid and o.venue == int(rv.venue):
                return o
        return None

    # ---- cancel / amend / cancel-all / kill --------------------------------------------------
    async def cancel(self, client_oid: str) -> None:
        o = self.state.get(client_oid)
        if o is None:
            raise KeyError(f"unknown client order id {client_oid}")
        if o.status in TERMINAL:
            return
        await self._send(self.venues[Venue(o.venue)], o, "cancel")

    async def amend(self, client_oid: str, px: int, sz: int) -> None:
        o = self.state.get(client_oid)
        if o is None:
            raise KeyError(f"unknown client order id {client_oid}")
        if self._killed:
            self._local_reject("kill_switch")
            return
        if o.status in TERMINAL:
            return
        await self._send(self.venues[Venue(o.venue)], o, "amend", px, sz)

    async def cancel_all(self, venue: Venue | None = None) -> None:
        for rv in self.venues.values():
            if venue is not None and rv.venue != venue:
                continue
            for inst in rv.adapter.instruments:
                req = rv.adapter.cancel_all(inst)
                if req is None:           # no venue cancel-all (OKX SWAP): cancel one by one
                    for o in self.state.open_orders(int(rv.venue), inst):
                        await self._send(rv, o, "cancel")
                    continue
                rep = await self._http(rv, req)
                if rep.outcome != OK:
                    self._event("cancel_all_failed", venue=rv.venue.key, inst=inst, reason=rep.reason)
                for r in rv.adapter.reports_of(rep):
                    self._apply_report(rv, r)
            # the user stream confirms each cancel; query whatever is still live
            for o in self.state.open_orders(int(rv.venue)):
                self._resolve_later(rv, o)

    async def kill(self, reason: str = "kill") -> None:
        """Kill switch: no new orders (ctx.kill for the compiled path) and cancel all everywhere."""
        self._killed = True
        if self.ctx is not None:
            self.ctx.kill = True
        self._event("kill", reason=reason)
        await self.cancel_all()

    # ---- pipeline integration ------------------------------------------------------------
    def on_sent(self, records: Iterable[Any]) -> None:
        """Orders the compiled path already wrote (``pipeline.drain_sent()``): record them.

        Each record: (client_id, venue, inst, kind, side, ord_type, tif, px, sz, t_recv, t_send)
        or a dict with those keys. Only NEW intents create orders; cancels/amends are tracked by
        the acks and the user stream."""
        for r in records:
            d = r if isinstance(r, dict) else dict(zip(
                ("client_id", "venue", "inst", "kind", "side", "ord_type", "tif", "px", "sz",
                 "t_recv", "t_send"), r, strict=True))
            kind = int(d["kind"])
            venue = Venue(int(d["venue"]))
            rv = self.venues.get(venue)
            if kind == 1:
                oid = client_order_id(self.session_tag, int(d["client_id"]), int(venue))
                if self.state.get(oid) is None:
                    self.state.new_order(oid, int(d["client_id"]), int(venue), int(d["inst"]),
                                         int(d["side"]), int(d["ord_type"]), int(d["tif"]),
                                         int(d.get("flags", 0)), int(d["px"]), int(d["sz"]))
            else:
                o = self.state.by_client_id.get(int(d.get("target_id", d["client_id"])))
                oid = o.client_oid if o is not None else ""
            if rv is not None and oid:
                # the compiled path wrote it on its order WebSocket: expect an ack by request id
                # (routed here by on_cold_frame); no ack in time -> unknown -> query
                from engine.orders import request_id
                rid = request_id(kind, self.session_tag, int(d["client_id"]))
                op = {1: "place", 2: "cancel", 3: "amend"}.get(kind, "cancel")
                rv.pending_ws[rid] = (oid, op, time.monotonic() + self.order_timeout_s)

    def on_cold_frame(self, conn_id: int, payload: bytes, rc: int, inst: int, recv_ns: int) -> None:
        """Frames of an order connection the compiled path did not take (acks of its orders)."""
        for rv in self.venues.values():
            if id(rv) == conn_id or int(rv.venue) == conn_id:
                self._on_ws_frame(rv, payload)
                return

    # ---- WS order path ---------------------------------------------------------------------
    async def _ws_loop(self, rv: _Venue) -> None:
        ad = rv.adapter
        backoff = 0.1
        assert rv.http is not None
        while True:
            try:
                async with rv.http.ws_connect(ad.ws_url(), heartbeat=None, autoping=True,
                                              max_msg_size=1 << 22) as ws:
                    rv.ws = ws
                    ad.ws_logged_on = False
                    for frame, expect in ad.ws_login_frames(self._next_req()):
                        await ws.send_str(frame.decode())
                        if expect:
                            msg = await asyncio.wait_for(ws.receive(), 5.0)
                            ok = msg.type == aiohttp.WSMsgType.TEXT and ad.ws_login_ok(msg.data.encode())
                            if not ok:
                                self._event("ws_logon_failed", venue=rv.venue.key)
                                break
                            ad.ws_logged_on = True
                    rv.ws_up = True
                    backoff = 0.1
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            self._on_ws_frame(rv, msg.data.encode())
                        elif msg.type == aiohttp.WSMsgType.BINARY:
                            self._on_ws_frame(rv, msg.data)
                        elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                          aiohttp.WSMsgType.ERROR):
                            break
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._event("ws_error", venue=rv.venue.key, reason=f"{type(e).__name__}: {e}")
            rv.ws_up = False
            rv.ws = None
            rv.ws_reconnects += 1
            self._ws_down(rv, "disconnect")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _next_req(self) -> str:
        self._req += 1
        return f"r{self._req}"

    def _ws_down(self, rv: _Venue, reason: str) -> None:
        pend = list(rv.pending_ws.items())
        rv.pending_ws.clear()
        for _rid, (oid, op, _dl) in pend:
            o = self.state.get(oid)
            if o is not None:
                self._on_unknown(rv, o, f"ws {reason} with {op} in flight", op)

    def _on_ws_frame(self, rv: _Venue, payload: bytes) -> None:
        try:
            got = rv.adapter.ws_reply(payload)
        except Exception as e:
            self._event("bad_frame", venue=rv.venue.key, reason=f"{type(e).__name__}")
            return
        if got is None:
            return
        rid, rep = got
        ent = rv.pending_ws.pop(rid, None)
        if rep.rate_limited:            # WS answers carry no Retry-After: back off for a second
            rv.limiter.on_response(429, {})
        if ent is None:
            from engine.orders import parse_request_id
            parsed = parse_request_id(rid)
            if parsed is None or parsed[1] != self.session_tag:
                return
            kind, _tag, cid = parsed
            o = self.state.by_client_id.get(cid)
            if o is None:
                return
            ent = (o.client_oid, {1: "place", 2: "cancel", 3: "amend"}.get(kind, "cancel"), 0.0)
        o = self.state.get(ent[0])
        if o is not None:
            self._on_reply(rv, o, ent[1], rep)

    # ---- user data ---------------------------------------------------------------------------
    async def _user_loop(self, rv: _Venue) -> None:
        ad = rv.adapter
        backoff = 0.1
        assert rv.http is not None
        first = True
        while True:
            try:
                url, frames = await self._user_endpoint(rv)
                async with rv.http.ws_connect(url, heartbeat=None, autoping=True,
                                              max_msg_size=1 << 22) as ws:
                    for f in frames:
                        await ws.send_str(f.decode())
                    step = ad.user_handshake(None)
                    while step is not None:     # e.g. Binance spot: subscribe on the WS API
                        for f in step:
                            await ws.send_str(f.decode())
                        msg = await ws.receive(timeout=5.0)
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            raise ConnectionError(f"user-data socket {msg.type.name} while subscribing")
                        step = ad.user_handshake(msg.data.encode())
                    rv.user_up = True
                    if not first:
                        # reconnected: events may have been missed; the REST view decides
                        rv.user_reconnects += 1
                        await self.reconcile(rv.venue)
                    first = False
                    backoff = 0.1
                    last_keep = time.monotonic()
                    while True:
                        try:
                            msg = await ws.receive(timeout=1.0)
                        except asyncio.TimeoutError:
                            msg = None
                        if msg is not None:
                            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                            aiohttp.WSMsgType.ERROR):
                                break
                            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                                data = msg.data.encode() if msg.type == aiohttp.WSMsgType.TEXT else msg.data
                                reply = ad.user_ping_reply(data)
                                if reply is not None:
                                    await ws.send_str(reply.decode())
                                    continue
                                self._on_user(rv, data)
                        if time.monotonic() - last_keep > self.listen_key_keepalive_s:
                            last_keep = time.monotonic()
                            req = ad.user_keepalive()
                            if req is not None:
                                await self._http(rv, req)
                        ping = ad.user_ping()
                        if ping is not None and msg is None:
                            await ws.send_str(ping.decode())
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._event("user_stream_error", venue=rv.venue.key, reason=f"{type(e).__name__}: {e}")
            rv.user_up = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _user_endpoint(self, rv: _Venue) -> tuple[str, list[bytes]]:
        ad = rv.adapter
        req = ad.user_token_request()
        token = ""
        if req is not None:
            rep = await self._http(rv, req)
            if rep.outcome != OK:
                raise ConnectionError(f"user stream token: {rep.reason}")
            token = ad.parse_user_token(rep)
        return ad.user_url(token), ad.user_login_frames()

    def _on_user(self, rv: _Venue, payload: bytes) -> None:
        try:
            items = rv.adapter.parse_user(payload)
        except ConnectionError:
            raise
        except Exception as e:
            # a user-data event we could not read may have been a fill or a state change: ask the
            # venue (REST) instead of waiting for the next disconnect
            self._event("bad_user_frame", venue=rv.venue.key, reason=f"{type(e).__name__}: {e}")
            self._reconcile_soon(rv)
            return
        for it in items:
            if isinstance(it, OrderReport):
                self._apply_report(rv, it)
            elif isinstance(it, FillReport):
                f = it.fill
                if not f.client_oid or self.state.get(f.client_oid) is None:
                    self._event("fill_for_unknown_order", trade_id=f.trade_id)
                self._apply_fill(rv, f)
            elif isinstance(it, PositionReport):
                p = self.state.positions.get(it.inst)
                if p is not None and p.sz != it.sz:
                    self._event("position_mismatch", inst=it.inst, local=p.sz, venue=it.sz)

    def _resync_clock_soon(self, rv: _Venue) -> None:
        """The venue refused our timestamp: drop the old offset samples and measure again."""
        if rv.clock_resync is not None and not rv.clock_resync.done():
            return

        async def run() -> None:
            rv.clock.reset()
            try:
                await self._sync_clock(rv)
                self._event("clock_resynced", venue=rv.venue.key, offset_ms=rv.clock.offset_ms)
            except Exception as e:
                self._event("clock_sync_failed", venue=rv.venue.key, reason=type(e).__name__)
        rv.clock_resync = asyncio.create_task(run(), name=f"clock:{rv.venue.key}")
        rv.tasks.append(rv.clock_resync)

    # ---- reconciliation --------------------------------------------------------------------
    def _reconcile_soon(self, rv: _Venue, delay: float = 0.05) -> None:
        """Schedule one reconcile (at most one waiting at a time; a running one does not count,
        so a reconcile can ask for a follow-up of itself)."""
        if rv.reconcile_waiting:
            return
        rv.reconcile_waiting = True

        async def run() -> None:
            await asyncio.sleep(delay)         # let the burst of frames pass
            rv.reconcile_waiting = False
            try:
                await self.reconcile(rv.venue)
            except RouterError as e:
                self._event("reconcile_failed", venue=rv.venue.key, reason=str(e))
        t = asyncio.create_task(run(), name=f"reconcile:{rv.venue.key}")
        rv.tasks.append(t)
        t.add_done_callback(lambda t, rv=rv: rv.tasks.remove(t) if t in rv.tasks else None)

    async def reconcile(self, venue: Venue) -> dict[str, int]:
        """Make local state equal to the venue's: open orders, fills since the last known one,
        positions. Differences are emitted as events; returns counts of what changed."""
        rv = self.venues[venue]
        ad = rv.adapter
        out = {"orders": 0, "fills": 0, "positions": 0}
        rep = await self._retry(rv, ad.open_orders)
        venue_open = set()
        for r in ad.reports_of(rep):
            venue_open.add(r.client_oid)
            before = self.state.get(r.client_oid)
            st = before.status if before else None
            self._apply_report(rv, r)
            after = self.state.get(r.client_oid)
            if after is not None and (before is None or after.status != st):
                out["orders"] += 1
        for o in self.state.open_orders(int(venue)):
            if o.client_oid not in venue_open:
                # live locally, not open on the venue: learn its final state by client id
                await self._resolve(rv, o)
                out["orders"] += 1
        for inst in ad.instruments:
            out["fills"] += await self.sync_fills(rv, inst)
        if ad.has_positions and ad.positions() is not None:
            before = {i: self.state.positions[i].sz for i in ad.instruments}
            rep = await self._retry(rv, ad.positions)
            now = time.monotonic()
            for pr in ad.positions_of(rep):
                p = self.state.positions.get(pr.inst)
                if p is None or p.sz == pr.sz:
                    continue
                if rv.trade_list and await self.sync_fills(rv, pr.inst):
                    # a fill landed between our trade-list read and the position read: the
                    # venue's position may already include (or still lack) it; look again later
                    out["fills"] += 1
                    if p.sz != pr.sz:
                        self._reconcile_soon(rv, 0.5)
                    continue
                # Overwrite with the venue's view only when no fill event can still be on its way
                # (stream down = nothing more will come, or the instrument was quiet for a second
                # and did not change while we asked); otherwise a late event would count twice.
                quiet = not rv.user_up or (now - self._activity.get(pr.inst, 0.0) > 1.0
                                           and before.get(pr.inst) == p.sz)
                if quiet:
                    self._event("position_diff", inst=pr.inst, local=p.sz, venue=pr.sz)
                    self.state.set_position(pr.inst, pr.sz, pr.avg_px)
                    out["positions"] += 1
                else:
                    self._event("position_diff_deferred", inst=pr.inst, local=p.sz, venue=pr.sz)
                    self._reconcile_soon(rv, 1.5)
        rv.reconciles += 1
        if any(out.values()):
            self._event("reconciled", venue=venue.key, **out)
        return out

    async def _retry(self, rv: _Venue, build: Any, tries: int = 20) -> Reply:
        delay = 0.05
        for _ in range(tries):
            rep = await self._http(rv, build())
            if rep.outcome == OK:
                return rep
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise RouterError(f"{rv.venue.key}: reconcile request failed: {rep.reason}")

    async def sync_fills(self, rv: _Venue, inst: int) -> int:
        """Fetch our trades on ``inst`` from the venue's trade list, from ``fill_lookback_ms``
        before the newest fill we hold (all of the venue's recent list when we hold none), page by
        page; apply the ones we do not hold (deduped by venue trade id). Returns how many."""
        ad = rv.adapter
        n = 0
        if not rv.trade_list:
            return 0
        since = self._fills_since(rv, inst)
        page: str | None = None
        for _ in range(self.max_fill_pages):
            rep = await self._http(rv, ad.trades(inst, since, page))
            if rep.outcome != OK and "http 404" in rep.reason:
                # the venue has no trade list: fills missed while disconnected can not be
                # recovered by id; reported in status() and as an event, never hidden
                rv.trade_list = False
                self._event("trade_list_unavailable", venue=rv.venue.key)
                return n
            if rep.outcome != OK:
                rep = await self._retry(rv, lambda page=page: ad.trades(inst, since, page))
            got = ad.fills_of(inst, rep)
            for f, vid in got:
                if (int(rv.venue), f.trade_id) in self.state.fill_ids:
                    continue                   # already held (from the stream or the store)
                if not f.client_oid and self._order_by_venue_id(rv, vid) is None:
                    q = await self._http(rv, ad.query_by_venue_id(inst, vid))
                    for r in ad.reports_of(q):
                        self._apply_report(rv, r)
                if self._apply_fill(rv, f, vid):
                    n += 1
                    self._event("missed_fill", trade_id=f.trade_id)
            page = ad.trades_next(rep, len(got), page)
            if page is None:
                return n
        self._event("fill_pages_exhausted", venue=rv.venue.key, inst=inst)
        return n

    def _fills_since(self, rv: _Venue, inst: int) -> int:
        """Venue time (ms) the trade list is read from: the newest fill we hold on ``inst``, else
        the oldest order we hold on it, else now (a fresh store: an order sent just before a crash
        may not be persisted yet) -- minus ``fill_lookback_ms``. Fills older than that and not
        ours are never imported."""
        p = self.state.positions.get(inst)
        if p is not None and p.last_trade_ms:
            t = p.last_trade_ms
        else:
            t = min((o.created_ms + int(rv.clock.offset_ms) for o in self.state.orders.values()
                     if o.inst == inst and o.venue == int(rv.venue) and o.created_ms),
                    default=rv.clock.server_ms())
        return max(0, t - self.fill_lookback_ms)

    # ---- background --------------------------------------------------------------------------
    async def _deadman_loop(self, rv: _Venue) -> None:
        """Exchange-side cancel-all if we go silent (Binance countdownCancelAll, OKX
        cancel-all-after, Bybit disconnection protect)."""
        while True:
            failed = False
            for req in rv.adapter.deadman(self.deadman_ms):
                rep = await self._http(rv, req)
                if rep.outcome == OK:
                    rv.deadman_ok += 1
                else:
                    rv.deadman_err = rep.reason         # last failure, kept for status()
                    failed = True
            every = rv.adapter.deadman_period_s
            await asyncio.sleep(self.deadman_every_s if every is None or failed else every)

    async def _housekeeping(self, rv: _Venue) -> None:
        """WS order timeouts -> unknown + query; periodic clock sync; optional periodic reconcile."""
        last_clock = last_rec = last_ping = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            if now - last_ping > 15.0 and rv.ws_up and rv.ws is not None:
                last_ping = now
                ping = rv.adapter.ws_keepalive()
                if ping is not None:
                    try:
                        await rv.ws.send_str(ping.decode())
                    except (ConnectionError, RuntimeError, aiohttp.ClientError):
                        pass            # the WS loop notices the disconnect
            for rid, (oid, op, dl) in list(rv.pending_ws.items()):
                if now > dl:
                    rv.pending_ws.pop(rid, None)
                    o = self.state.get(oid)
                    if o is not None:
                        self._on_unknown(rv, o, f"no ack within {self.order_timeout_s} s", op)
            if now - last_clock > 60.0:
                last_clock = now
                try:
                    await self._sync_clock(rv)
                except Exception as e:
                    self._event("clock_sync_failed", venue=rv.venue.key, reason=type(e).__name__)
            if self.reconcile_every_s and now - last_rec > self.reconcile_every_s:
                last_rec = now
                try:
                    await self.reconcile(rv.venue)
                except RouterError as e:
                    self._event("reconcile_failed", reason=str(e))

    # ---- introspection -------------------------------------------------------------------
    def _fills_missing(self, rv: _Venue) -> int:
        """Size units the venue reports filled (order cumulative) beyond the fills we hold."""
        return sum(max(0, o.filled_sz - o.fill_sum) for o in self.state.orders.values()
                   if o.venue == int(rv.venue))

    def _event(self, type_: str, **kw: Any) -> None:
        d = {"type": type_, "ts_ms": time.time_ns() // 1_000_000, **kw}
        self.events.append(d)
        if len(self.events) > 1000:
            del self.events[:500]
        if self.store is not None:
            self.store.put("event", d)

    def status(self) -> dict[str, Any]:
        """Plain data for the live view."""
        return {
            "ready": self._ready.is_set(),
            "killed": self._killed,
            "session": self.session,
            "unknown_orders": sum(1 for o in self.state.orders.values() if o.status == UNKNOWN),
            "resolving": sum(1 for t in self._resolving.values() if not t.done()),
            "rejects": dict(self.state.rejects.by_reason),
            "local_rejects": dict(self.local_rejects),
            "store_pending": self.store.pending if self.store is not None else 0,
            "venues": {rv.venue.key: {
                "ws_up": rv.ws_up, "user_up": rv.user_up, "in_flight": len(rv.pending_ws),
                "clock_offset_ms": rv.clock.offset_ms, "clock_rtt_us": rv.clock.rtt_ns / 1000,
                "reconciles": rv.reconciles, "user_reconnects": rv.user_reconnects,
                "ws_reconnects": rv.ws_reconnects, "deadman_ok": rv.deadman_ok,
                "deadman_err": rv.deadman_err, "trade_list": rv.trade_list,
                "fills_missing": self._fills_missing(rv), "limits": rv.limiter.status()}
                for rv in self.venues.values()},
            **self.state.snapshot(),
        }


def _parse_tag(oid: str) -> str | None:
    from engine.orders import parse_client_order_id
    got = parse_client_order_id(oid)
    return None if got is None else got[0]


def _parse_cid(oid: str) -> int | None:
    """Engine client id inside one of our client order ids, None for foreign orders."""
    from engine.orders import parse_client_order_id
    got = parse_client_order_id(oid)
    return None if got is None else got[1]
