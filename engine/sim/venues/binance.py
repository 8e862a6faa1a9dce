# SPDX-License-Identifier: Apache-2.0
"""Binance spot and USD-M futures protocol server (REST, market streams, user data stream,
WebSocket API), built from the Binance docs and the fixture samples.

Differences from the real venue are listed in engine/sim/README.md (e.g. ``session.logon``
also accepts an HMAC signature; the docs say Ed25519 only). Ed25519 API keys of the account are
registered with :meth:`BinanceBase.add_ed25519_key`.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import time
from collections import deque
from decimal import Decimal
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

import orjson
from aiohttp import web

from engine.sim.auth import binance_rest_payload, binance_ws_payload, verify_binance_rest, verify_binance_ws
from engine.sim.matching import Fill, Market, Order, Reject, fmt_dec, now_ms, to_units
from engine.sim.server import Conn, VenueServer

RECV_WINDOW_MAX = 60000
MSG_UNKNOWN = ("Timeout waiting for response from backend server. Send status unknown; "
               "execution status unknown.")


class ApiError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400,
                 headers: dict[str, str] | None = None) -> None:
        self.code, self.msg, self.status = code, msg, status
        self.headers = headers or {}
        super().__init__(f"{code} {msg}")


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def verify_ed25519(public_key: Ed25519PublicKey, payload: str, sig_b64: Any) -> bool:
    """Binance Ed25519: base64 signature over the same payload as HMAC."""
    if not isinstance(sig_b64, str):
        return False
    try:
        public_key.verify(base64.b64decode(sig_b64, validate=True), payload.encode())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _mandatory(name: str) -> ApiError:
    return ApiError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


class RateLimiter:
    """Fixed-window request weight / order counters with Binance's headers and limits."""

    def __init__(self, weight_1m: int, orders_10s: int, orders_long: int, long_s: int) -> None:
        self.weight_limit = weight_1m
        self.orders_10s_limit = orders_10s
        self.orders_long_limit = orders_long
        self.long_s = long_s
        self.w_win = self.o10_win = self.ol_win = -1
        self.weight = self.o10 = self.olong = 0
        self.banned_until = 0.0
        self.ban_hits = 0

    def _roll(self) -> None:
        t = time.time()
        w = int(t // 60)
        if w != self.w_win:
            self.w_win, self.weight = w, 0
        o = int(t // 10)
        if o != self.o10_win:
            self.o10_win, self.o10 = o, 0
        lw = int(t // self.long_s)
        if lw != self.ol_win:
            self.ol_win, self.olong = lw, 0

    def add_weight(self, w: int) -> None:
        self._roll()
        now = time.time()
        if self.banned_until > now:
            self.ban_hits += 1
            if self.ban_hits >= 3:
                self.banned_until = max(self.banned_until, now + 120)
                raise ApiError(-1003, "Way too much request weight used; IP banned until "
                               f"{int(self.banned_until * 1000)}. Please use WebSocket Streams "
                               "for live updates to avoid bans.", 418,
                               {"Retry-After": str(int(self.banned_until - now) + 1)})
            raise ApiError(-1003, "Too much request weight used; current limit is "
                           f"{self.weight_limit} request weight per 1 MINUTE. Please use WebSocket "
                           "Streams for live updates to avoid polling the API.", 429,
                           {"Retry-After": str(int(self.banned_until - now) + 1)})
        self.weight += w
        if self.weight > self.weight_limit:
            self.banned_until = (self.w_win + 1) * 60
            raise ApiError(-1003, "Too much request weight used; current limit is "
                           f"{self.weight_limit} request weight per 1 MINUTE. Please use WebSocket "
                           "Streams for live updates to avoid polling the API.", 429,
                           {"Retry-After": str(int(self.banned_until - now) + 1)})

    def add_order(self) -> None:
        self._roll()
        self.o10 += 1
        self.olong += 1
        if self.o10 > self.orders_10s_limit:
            raise ApiError(-1015, f"Too many new orders; current limit is {self.orders_10s_limit} "
                           "orders per 10 SECOND.", 429, {"Retry-After": "10"})
        if self.olong > self.orders_long_limit:
            unit = "MINUTE" if self.long_s == 60 else "DAY"
            raise ApiError(-1015, f"Too many new orders; current limit is {self.orders_long_limit} "
                           f"orders per 1 {unit}.", 429, {"Retry-After": str(self.long_s)})


class BinanceBase(VenueServer):
    """Shared by spot and USD-M futures; subclasses set paths and message shapes."""

    futures = True
    rest_prefix = "/fapi"
    ws_api_path = "/ws-fapi/v1"
    depth_default_ms = 250
    partial_default_ms = 250
    default_ping_interval = 180.0
    default_pong_timeout = 600.0

    def __init__(self, sim: Any, spec: Any) -> None:
        self.listen_keys: dict[str, float] = {}
        # WS API user-data subscriptions: connection -> (subscriptionId, how it was started:
        # "logon" = userDataStream.subscribe, "signature" = userDataStream.subscribe.signature).
        # The sim has one account, and a connection holds one subscription per account.
        self.api_subs: dict[Conn, tuple[int, str]] = {}
        # session.logon with our HMAC key: accepted (a sim difference, README); False behaves
        # like the real venue, whose logon takes Ed25519 keys only
        self.hmac_logon = True
        # further API keys of the account with an Ed25519 public key (add_ed25519_key); the
        # spec's api_key/secret stays the HMAC key
        self.ed25519_keys: dict[str, Ed25519PublicKey] = {}
        # how signed requests passed authentication, newest last: (WS method or "METHOD /path",
        # how), how = "hmac" | "ed25519" | "session" (logged-on WS API, no signature); recorded
        # before the method runs (a refused HMAC logon still shows "hmac"). For tests.
        self.auth_log: deque[tuple[str, str]] = deque(maxlen=10_000)
        self._agg_id = 0
        self.bbo: dict[str, tuple] = {}
        self.hangs: list[asyncio.Future] = []
        self.countdowns: dict[str, asyncio.TimerHandle] = {}
        self._topic_cache: dict[tuple[str, int], Any] = {}
        super().__init__(sim, spec)
        if self.futures:
            self.limits = RateLimiter(spec.weight_limit_1m or 2400, spec.order_limit_10s or 300,
                                      spec.order_limit_1m or 1200, 60)
        else:
            self.limits = RateLimiter(spec.weight_limit_1m or 6000, spec.order_limit_10s or 100,
                                      spec.order_limit_1m or 200000, 86400)
        for m in self.engine.markets.values():
            m.tracker(100)
            m.tracker(self.depth_default_ms)

    # ------------------------------------------------------------------ routes -----------
    def endpoints(self) -> dict[str, str]:
        base = f"http://{self.host}:{self.port}"
        ws = f"ws://{self.host}:{self.port}"
        return {"rest": base, "ws_public": ws, "ws_private": ws + "/ws",
                "ws_trade": ws + self.ws_api_path}

    def setup_routes(self) -> None:
        r = self.app.router
        v = "/fapi/v1" if self.futures else "/api/v3"
        r.add_get(v + "/ping", self._h(lambda q, rq: {}, 1, "NONE"))
        r.add_get(v + "/time", self._h(lambda q, rq: {"serverTime": now_ms()}, 1, "NONE"))
        r.add_get(v + "/exchangeInfo", self._h(self.exchange_info, 1, "NONE"))
        r.add_get(v + "/depth", self._h(self.rest_depth, 5, "NONE"))
        r.add_get(v + "/ticker/bookTicker", self._h(self.rest_book_ticker, 2, "NONE"))
        r.add_post(v + "/order", self._h(self.rest_new_order, 1, "SIGNED", order=True))
        r.add_delete(v + "/order", self._h(self.rest_cancel, 1, "SIGNED", order=True))
        r.add_get(v + "/order", self._h(self.rest_query, 1, "SIGNED"))
        r.add_get(v + "/openOrders", self._h(self.rest_open_orders, 1, "SIGNED"))
        if self.futures:
            r.add_get(v + "/userTrades", self._h(self.rest_user_trades, 5, "SIGNED"))
        else:
            r.add_get(v + "/myTrades", self._h(self.rest_user_trades, 20, "SIGNED"))
        if self.futures:
            r.add_put(v + "/order", self._h(self.rest_modify, 1, "SIGNED", order=True))
            r.add_delete(v + "/allOpenOrders", self._h(self.rest_cancel_all, 1, "SIGNED", order=True))
            r.add_post(v + "/countdownCancelAll", self._h(self.rest_countdown, 10, "SIGNED"))
            r.add_get(v + "/premiumIndex", self._h(self.rest_premium, 1, "NONE"))
            r.add_get(v + "/openInterest", self._h(self.rest_open_interest, 1, "NONE"))
            for ver in ("/fapi/v2", "/fapi/v3"):
                r.add_get(ver + "/positionRisk", self._h(self.rest_position_risk, 5, "SIGNED"))
                r.add_get(ver + "/balance", self._h(self.rest_balance, 5, "SIGNED"))
                r.add_get(ver + "/account", self._h(self.rest_account, 5, "SIGNED"))
            lk = v + "/listenKey"
        else:
            r.add_delete(v + "/openOrders", self._h(self.rest_cancel_all, 1, "SIGNED", order=True))
            r.add_post(v + "/order/cancelReplace", self._h(self.rest_cancel_replace, 1, "SIGNED",
                                                           order=True))
            r.add_get(v + "/account", self._h(self.rest_account, 20, "SIGNED"))
            lk = v + "/userDataStream"
        r.add_post(lk, self._h(self.listen_key_new, 1, "KEY"))
        r.add_put(lk, self._h(self.listen_key_keep, 1, "KEY"))
        r.add_delete(lk, self._h(self.listen_key_del, 1, "KEY"))
        r.add_get(self.ws_api_path, self.ws_api)
        r.add_get("/ws", self.ws_raw)
        r.add_get("/ws/{path:.*}", self.ws_raw)
        r.add_get("/stream", self.ws_combined)

    # ------------------------------------------------------------------ REST plumbing ----
    def _rl_headers(self, order: bool) -> dict[str, str]:
        lim = self.limits
        h = {"X-MBX-USED-WEIGHT-1M": str(lim.weight)}
        if order:
            h["X-MBX-ORDER-COUNT-10S"] = str(lim.o10)
            h["X-MBX-ORDER-COUNT-1M" if lim.long_s == 60 else "X-MBX-ORDER-COUNT-1D"] = str(lim.olong)
        return h

    def add_ed25519_key(self, public_key: Ed25519PublicKey | bytes | str, api_key: str | None = None) -> str:
        """Register an Ed25519 API key on the account (what Binance does with an uploaded public
        key): ``public_key`` as a key object, PEM (SubjectPublicKeyInfo) or the 32 raw bytes.
        Returns the API key to send with it (``api_key`` or a new random one). REST and WS API
        requests with that key must carry a base64 Ed25519 signature; ``session.logon`` accepts it
        whatever ``hmac_logon`` says."""
        if isinstance(public_key, str):
            public_key = public_key.encode()
        if isinstance(public_key, bytes):
            public_key = (Ed25519PublicKey.from_public_bytes(public_key) if len(public_key) == 32
                          else load_pem_public_key(public_key))
        if not isinstance(public_key, Ed25519PublicKey):
            raise ValueError(f"not an Ed25519 public key: {type(public_key).__name__}")
        key = api_key or secrets.token_urlsafe(48)[:64]
        if key == self.spec.api_key:
            raise ValueError("the HMAC API key cannot also be an Ed25519 key")
        self.ed25519_keys[key] = public_key
        return key

    def _check_key(self, key: str | None) -> None:
        if not key:
            raise ApiError(-2014, "API-key format invalid.", 401)
        if key != self.spec.api_key and key not in self.ed25519_keys:
            raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)

    def _verify_rest(self, key: str | None, raw_q: str, body: str) -> str:
        """Check a signed REST request of ``key`` (already known); returns how it was signed."""
        pub = self.ed25519_keys.get(key or "")
        if pub is None:
            ok, how = verify_binance_rest(self.spec.secret, raw_q, body), "hmac"
        else:
            payload, sig = binance_rest_payload(raw_q, body)
            ok, how = sig is not None and verify_ed25519(pub, payload, unquote(sig)), "ed25519"
        if not ok:
            raise ApiError(-1022, "Signature for this request is not valid.")
        return how

    def _check_ts(self, params: dict[str, Any]) -> None:
        ts = params.get("timestamp")
        if ts in (None, ""):
            raise _mandatory("timestamp")
        try:
            ts_i = int(ts)
        except (TypeError, ValueError):
            raise ApiError(-1100, "Illegal characters found in parameter 'timestamp'; legal range "
                           "is '^[0-9]{1,20}$'.") from None
        if ts_i > 10 ** 14:          # microseconds
            ts_i //= 1000
        rw = params.get("recvWindow", 5000)
        try:
            rw_f = float(rw)
        except (TypeError, ValueError):
            raise ApiError(-1100, "Illegal characters found in parameter 'recvWindow'.") from None
        if rw_f > RECV_WINDOW_MAX or rw_f <= 0:
            raise ApiError(-1131, "recvWindow must be less than 60000")
        now = now_ms()
        if ts_i >= now + 1000 or now - ts_i > rw_f:
            raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")

    def _h(self, fn: Callable, weight: int, security: str, order: bool = False) -> Callable:
        async def handler(request: web.Request) -> web.StreamResponse:
            if order:
                self.record_order_arrival()
            body = await request.text() if request.can_read_body else ""
            raw_q = request.raw_path.partition("?")[2]
            params: dict[str, Any] = dict(parse_qsl(raw_q, keep_blank_values=True))
            if body:
                params.update(parse_qsl(body, keep_blank_values=True))
            params.pop("signature", None)
            try:
                self.limits.add_weight(weight)
                if security in ("KEY", "SIGNED"):
                    self._check_key(request.headers.get("X-MBX-APIKEY"))
                if security == "SIGNED":
                    self._check_ts(params)
                    if "signature=" not in raw_q and "signature=" not in body:
                        raise _mandatory("signature")
                    how = self._verify_rest(request.headers.get("X-MBX-APIKEY"), raw_q, body)
                    self.auth_log.append((f"{request.method} {request.path}", how))
                if order and request.method == "POST":
                    self.limits.add_order()
                placed_unknown = None
                if order:
                    f = self.faults.take_order_fault()
                    if f is not None:
                        placed_unknown = await self._order_fault(f, lambda: fn(params, request))
                result = fn(params, request) if placed_unknown is None else None
                if placed_unknown is not None:
                    raise placed_unknown
                return web.Response(body=orjson.dumps(result), content_type="application/json",
                                    headers=self._rl_headers(order))
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                return web.Response(status=400, body=orjson.dumps(
                    {"code": -1100, "msg": f"Illegal characters found in a parameter ({type(e).__name__})."}),
                    content_type="application/json", headers=self._rl_headers(order))
            except ApiError as e:
                h = self._rl_headers(order)
                h.update(e.headers)
                return web.Response(status=e.status, body=orjson.dumps({"code": e.code, "msg": e.msg}),
                                    content_type="application/json", headers=h)
        return handler

    async def _order_fault(self, f: tuple[str, dict], execute: Callable) -> ApiError:
        name, p = f
        if name == "rate_limit":
            code = int(p.get("code", -1015))
            msg = (f"Too many new orders; current limit is {self.limits.orders_10s_limit} orders per "
                   "10 SECOND." if code == -1015 else
                   f"Too much request weight used; current limit is {self.limits.weight_limit} "
                   "request weight per 1 MINUTE. Please use WebSocket Streams for live updates to "
                   "avoid polling the API.")
            return ApiError(code, msg, int(p.get("status", 429)),
                            {"Retry-After": str(p.get("retry_after", 1))})
        if p.get("placed", True):
            try:
                execute()
            except (ApiError, Reject):
                pass
        if name == "no_answer":
            fut = asyncio.get_running_loop().create_future()
            self.hangs.append(fut)
            await fut   # resolved only when the sim stops
        return ApiError(-1007, MSG_UNKNOWN, int(p.get("status", 503)))

    async def stop(self) -> None:
        for fut in self.hangs:
            if not fut.done():
                fut.cancel()
        for h in self.countdowns.values():
            h.cancel()
        await super().stop()

    # ------------------------------------------------------------------ errors -----------
    def map_reject(self, e: Reject, action: str = "new") -> ApiError:
        r = e.reason
        fut = self.futures
        if r == "UNKNOWN_ORDER":
            if action == "query":
                return ApiError(-2013, "Order does not exist.")
            return ApiError(-2011, "Unknown order sent.")
        table: dict[str, tuple[int, str]] = {
            "UNKNOWN_SYMBOL": (-1121, "Invalid symbol."),
            "BAD_NUMBER": (-1100, "Illegal characters found in a parameter."),
            "BAD_SIDE": (-1117, "Invalid side."),
            "BAD_TYPE": (-1116, "Invalid orderType."),
            "BAD_TIF": (-1115, "Invalid timeInForce."),
            "AMEND_QTY": (-4003 if fut else -1013, "Quantity less than or equal to zero."
                          if fut else "Invalid quantity."),
            "REDUCE_ONLY_SPOT": (-1106, "Parameter 'reduceOnly' sent when not required."),
        }
        if fut:
            table.update({
                "PRECISION": (-1111, "Precision is over the maximum defined for this asset."),
                "LOT_SIZE": (-1111, "Precision is over the maximum defined for this asset."),
                "QTY_ZERO": (-4003, "Quantity less than or equal to zero."),
                "MIN_QTY": (-4004, "Quantity less than min quantity."),
                "PRICE_ZERO": (-4001, "Price less than 0."),
                "TICK_SIZE": (-4014, "Price not increased by tick size."),
                "MIN_NOTIONAL": (-4164, f"Order's notional must be no smaller than {e.detail} "
                                 "(unless you choose reduce only)."),
                "MARGIN": (-2019, "Margin is insufficient."),
                "BALANCE": (-2019, "Margin is insufficient."),
                "POST_ONLY": (-5022, "Due to the order could not be executed as maker, the Post Only "
                              "order will be rejected. The order will not be recorded in the order "
                              "history"),
                "REDUCE_ONLY": (-2022, "ReduceOnly Order is rejected."),
                "DUPLICATE": (-4116, "ClientOrderId is duplicated."),
            })
        else:
            table.update({
                "PRECISION": (-1111, "Parameter 'quantity' has too much precision."),
                "LOT_SIZE": (-1013, "Filter failure: LOT_SIZE"),
                "QTY_ZERO": (-1013, "Filter failure: LOT_SIZE"),
                "MIN_QTY": (-1013, "Filter failure: LOT_SIZE"),
                "PRICE_ZERO": (-1013, "Filter failure: PRICE_FILTER"),
                "TICK_SIZE": (-1013, "Filter failure: PRICE_FILTER"),
                "MIN_NOTIONAL": (-1013, "Filter failure: NOTIONAL"),
                "BALANCE": (-2010, "Account has insufficient balance for requested action."),
                "MARGIN": (-2010, "Account has insufficient balance for requested action."),
                "POST_ONLY": (-2010, "Order would immediately match and take."),
                "DUPLICATE": (-2010, "Duplicate order sent."),
            })
        code, msg = table.get(r, (-1013, r))
        return ApiError(code, msg)

    # ------------------------------------------------------------------ helpers ----------
    def _market(self, params: dict[str, Any]) -> Market:
        sym = params.get("symbol")
        if not sym:
            raise _mandatory("symbol")
        m = self.engine.markets.get(str(sym).upper())
        if m is None:
            raise ApiError(-1121, "Invalid symbol.")
        return m

    def _units(self, params: dict[str, Any], name: str, exp: int, required: bool = True) -> int | None:
        v = params.get(name)
        if v in (None, ""):
            if required:
                raise _mandatory(name)
            return None
        try:
            return to_units(str(v), exp)
        except Reject as e:
            if e.reason == "PRECISION":
                if self.futures:
                    raise ApiError(-1111, "Precision is over the maximum defined for this asset.") from None
                raise ApiError(-1111, f"Parameter '{name}' has too much precision.") from None
            raise ApiError(-1100, f"Illegal characters found in parameter '{name}'; legal range is "
                           "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.") from None

    def _order_id(self, params: dict[str, Any]) -> tuple[int | None, str | None]:
        oid = params.get("orderId")
        cid = params.get("origClientOrderId")
        if oid in (None, "") and not cid:
            raise ApiError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both "
                           "were empty/null!")
        try:
            return (int(oid) if oid not in (None, "") else None), (str(cid) if cid else None)
        except ValueError:
            raise ApiError(-1100, "Illegal characters found in parameter 'orderId'.") from None

    # ------------------------------------------------------------------ order entry ------
    def place(self, params: dict[str, Any]) -> tuple[Order, list[Fill]]:
        m = self._market(params)
        side = params.get("side")
        if not side:
            raise _mandatory("side")
        type_ = params.get("type")
        if not type_:
            raise _mandatory("type")
        side, type_ = str(side).upper(), str(type_).upper()
        tif = str(params.get("timeInForce") or "").upper()
        post_only = False
        if type_ == "LIMIT_MAKER" and not self.futures:
            post_only, eng_type, tif = True, "LIMIT", "GTC"
        elif type_ in ("LIMIT", "MARKET"):
            eng_type = type_
        else:
            raise ApiError(-1116, "Invalid orderType.")
        if eng_type == "LIMIT" and not tif and not post_only:
            raise _mandatory("timeInForce")
        if tif == "GTX" and not self.futures:
            raise ApiError(-1115, "Invalid timeInForce.")
        if eng_type == "MARKET":
            if params.get("quoteOrderQty") not in (None, ""):
                raise ApiError(-1013, "quoteOrderQty is not supported by the simulator.")
            tif = tif or "GTC"
        qty = self._units(params, "quantity", m.sz_exp)
        px = self._units(params, "price", m.px_exp, required=eng_type == "LIMIT") or 0
        if eng_type == "MARKET" and params.get("price") not in (None, ""):
            raise ApiError(-1106, "Parameter 'price' sent when not required.")
        reduce_only = str(params.get("reduceOnly", "false")).lower() == "true"
        if reduce_only and not self.futures:
            raise ApiError(-1106, "Parameter 'reduceOnly' sent when not required.")
        ps = str(params.get("positionSide", "BOTH")).upper()
        if self.futures and ps != "BOTH":
            raise ApiError(-4061, "Order's position side does not match user's setting.")
        cid = params.get("newClientOrderId") or ""
        if cid and len(str(cid)) > 36:
            raise ApiError(-1100, "Illegal characters found in parameter 'newClientOrderId'; "
                           "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
        if not cid:
            cid = ("x-sim" if self.futures else "sim") + secrets.token_hex(8)
        n0 = len(self.engine.fills)
        try:
            o = self.engine.place(m.symbol, side, eng_type, qty or 0, px, tif or "GTC", str(cid),
                                  reduce_only, post_only, extra={"type": type_})
        except Reject as e:
            raise self.map_reject(e) from None
        return o, self.engine.fills[n0:]

    def cancel(self, params: dict[str, Any]) -> Order:
        m = self._market(params)
        oid, cid = self._order_id(params)
        try:
            return self.engine.cancel(m.symbol, oid, cid)
        except Reject as e:
            raise self.map_reject(e, "cancel") from None

    def query(self, params: dict[str, Any]) -> Order:
        m = self._market(params)
        oid, cid = self._order_id(params)
        try:
            return self.engine.find(m.symbol, oid, cid)
        except Reject as e:
            raise self.map_reject(e, "query") from None

    def modify(self, params: dict[str, Any]) -> Order:
        m = self._market(params)
        oid, cid = self._order_id(params)
        qty = self._units(params, "quantity", m.sz_exp)
        px = self._units(params, "price", m.px_exp)
        try:
            o = self.engine.find(m.symbol, oid, cid)
            side = str(params.get("side", o.side)).upper()
            if side != o.side:
                raise ApiError(-4090, "Side of the order does not match.")   # sim wording
            return self.engine.amend(m.symbol, o.order_id, None, qty, px)
        except Reject as e:
            if e.reason == "UNKNOWN_ORDER":
                raise ApiError(-2013, "Order does not exist.") from None
            raise self.map_reject(e) from None

    # ------------------------------------------------------------------ REST handlers ----
    def exchange_info(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        syms = []
        for m in self.engine.markets.values():
            s = m.spec
            filters = [
                {"filterType": "PRICE_FILTER", "minPrice": s.tick_size, "maxPrice": "10000000",
                 "tickSize": s.tick_size},
                {"filterType": "LOT_SIZE", "minQty": s.min_qty, "maxQty": "100000",
                 "stepSize": s.lot_size},
                {"filterType": "MARKET_LOT_SIZE", "minQty": s.min_qty, "maxQty": "1000",
                 "stepSize": s.lot_size},
            ]
            if self.futures:
                filters.append({"filterType": "MIN_NOTIONAL", "notional": s.min_notional})
                syms.append({"symbol": s.symbol, "pair": s.symbol, "contractType": "PERPETUAL",
                             "status": "TRADING", "baseAsset": s.base, "quoteAsset": s.quote,
                             "marginAsset": s.quote, "pricePrecision": m.px_out,
                             "quantityPrecision": m.sz_out, "baseAssetPrecision": 8,
                             "quotePrecision": 8, "filters": filters,
                             "orderTypes": ["LIMIT", "MARKET"],
                             "timeInForce": ["GTC", "IOC", "FOK", "GTX"]})
            else:
                filters.append({"filterType": "NOTIONAL", "minNotional": s.min_notional,
                                "applyMinToMarket": True, "maxNotional": "9000000",
                                "applyMaxToMarket": False, "avgPriceMins": 5})
                syms.append({"symbol": s.symbol, "status": "TRADING", "baseAsset": s.base,
                             "baseAssetPrecision": 8, "quoteAsset": s.quote, "quotePrecision": 8,
                             "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                             "isSpotTradingAllowed": True, "filters": filters,
                             "permissions": [], "permissionSets": [["SPOT"]],
                             "defaultSelfTradePreventionMode": "EXPIRE_TAKER",
                             "allowedSelfTradePreventionModes": ["EXPIRE_TAKER"]})
        lim = self.limits
        return {"timezone": "UTC", "serverTime": now_ms(), "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": lim.weight_limit},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
             "limit": lim.orders_10s_limit},
            {"rateLimitType": "ORDERS", "interval": "MINUTE" if lim.long_s == 60 else "DAY",
             "intervalNum": 1, "limit": lim.orders_long_limit}],
            "exchangeFilters": [], "symbols": syms}

    def depth_snapshot(self, params: dict[str, Any]) -> dict[str, Any]:
        m = self._market(params)
        limit = int(params.get("limit") or (500 if self.futures else 100))
        if self.futures and limit not in (5, 10, 20, 50, 100, 500, 1000):
            raise ApiError(-1100, "Illegal characters found in parameter 'limit'; legal range is "
                           "'5, 10, 20, 50, 100, 500, 1000'.")
        if not self.futures and not 1 <= limit <= 5000:
            raise ApiError(-1100, "Illegal characters found in parameter 'limit'; legal range is "
                           "'1-5000'.")
        # The snapshot consumes one update id (the matching engine moved on), so the next diff
        # event always satisfies both sync rules: spot U <= L+1 <= u, futures U <= L <= u.
        m.update_id += 1
        bids, asks = m.snapshot(limit)
        out: dict[str, Any] = {"lastUpdateId": m.update_id}
        if self.futures:
            t = now_ms()
            out["E"] = t
            out["T"] = t
        out["bids"] = [list(x) for x in bids]
        out["asks"] = [list(x) for x in asks]
        return out

    def rest_depth(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        if self.replay_mode:
            snap = self.replay_snapshots.get(str(params.get("symbol", "")).upper())
            if snap is None:
                raise ApiError(-1121, "Invalid symbol.")   # nothing recorded for it (yet)
            return snap
        return self.depth_snapshot(params)

    def _book_ticker(self, m: Market) -> dict[str, Any]:
        b, a = m.best(0), m.best(1)
        d = {"symbol": m.symbol,
             "bidPrice": m.px_str(b) if b is not None else m.px_str(0),
             "bidQty": m.sz_str(m.displayed(0, b)) if b is not None else m.sz_str(0),
             "askPrice": m.px_str(a) if a is not None else m.px_str(0),
             "askQty": m.sz_str(m.displayed(1, a)) if a is not None else m.sz_str(0)}
        if self.futures:
            d["time"] = now_ms()
            d["lastUpdateId"] = m.update_id
        return d

    def rest_book_ticker(self, params: dict[str, Any], request: Any) -> Any:
        if params.get("symbol"):
            return self._book_ticker(self._market(params))
        return [self._book_ticker(m) for m in self.engine.markets.values()]

    def _premium(self, m: Market) -> dict[str, Any]:
        t = now_ms()
        nxt = (t // 28_800_000 + 1) * 28_800_000
        mark = m.px_dec(m.mark_px)
        return {"symbol": m.symbol, "markPrice": fmt_dec(mark, 8), "indexPrice": fmt_dec(mark, 8),
                "estimatedSettlePrice": fmt_dec(mark, 8),
                "lastFundingRate": fmt_dec(m.funding_rate, 8), "interestRate": "0.00010000",
                "nextFundingTime": nxt, "time": t}

    def rest_premium(self, params: dict[str, Any], request: Any) -> Any:
        if params.get("symbol"):
            return self._premium(self._market(params))
        return [self._premium(m) for m in self.engine.markets.values()]

    def rest_open_interest(self, params: dict[str, Any], request: Any) -> Any:
        m = self._market(params)
        return {"openInterest": m.sz_str(self.open_interest.get(m.symbol, 0)), "symbol": m.symbol,
                "time": now_ms()}

    def rest_new_order(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        o, fills = self.place(params)
        return self.order_response(o, fills, str(params.get("newOrderRespType") or "").upper(),
                                   new=True)

    def rest_cancel(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        o = self.cancel(params)
        return self.cancel_response(o, params)

    def rest_query(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        return self.order_json(self.query(params))

    def rest_modify(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        return self.order_json(self.modify(params))

    def rest_open_orders(self, params: dict[str, Any], request: Any) -> list[dict[str, Any]]:
        sym = self._market(params).symbol if params.get("symbol") else None
        return [self.order_json(o) for o in self.engine.open_orders(sym)]

    def rest_user_trades(self, params: dict[str, Any], request: Any) -> list[dict[str, Any]]:
        """GET /fapi/v1/userTrades (futures) and /api/v3/myTrades (spot): our trades on one symbol,
        ascending by trade id; ``id`` is the ``t`` of the user-stream event of the same fill.
        fromId -> trades with id >= fromId; startTime/endTime -> that window from its start;
        neither -> the most recent ``limit`` trades."""
        m = self._market(params)

        def num(name: str) -> int | None:
            v = params.get(name)
            if v in (None, ""):
                return None
            try:
                return int(v)
            except ValueError:
                raise ApiError(-1100, f"Illegal characters found in parameter '{name}'.") from None
        limit = num("limit") or 500
        if not 1 <= limit <= 1000:
            raise ApiError(-1130, "Data sent for paramter 'limit' is not valid.")
        from_id, start, end, oid = num("fromId"), num("startTime"), num("endTime"), num("orderId")
        if from_id is not None and (start is not None or end is not None):
            raise ApiError(-1128, "Combination of optional parameters invalid.")
        if start is not None and end is not None and end < start:
            raise ApiError(-1128, "Combination of optional parameters invalid.")
        fs = [f for f in self.engine.fills if f.order.symbol == m.symbol
              and (oid is None or f.order.order_id == oid)]
        fs.sort(key=lambda f: f.trade_id)
        if from_id is not None:
            fs = [f for f in fs if f.trade_id >= from_id][:limit]
        elif start is not None:
            fs = [f for f in fs if f.ts_ms >= start and (end is None or f.ts_ms <= end)][:limit]
        elif end is not None:
            fs = [f for f in fs if f.ts_ms <= end][-limit:]
        else:
            fs = fs[-limit:]
        return [self.trade_json(m, f) for f in fs]

    def trade_json(self, m: Market, f: Fill) -> dict[str, Any]:
        o = f.order
        quote = m.px_dec(f.px) * m.sz_dec(f.qty) * m.mult
        if self.futures:
            return {"buyer": o.side == "BUY", "commission": fmt_dec(f.fee, 8),
                    "commissionAsset": f.fee_asset, "id": f.trade_id, "maker": f.maker,
                    "orderId": o.order_id, "price": m.px_str(f.px), "qty": m.sz_str(f.qty),
                    "quoteQty": fmt_dec(quote, 8), "realizedPnl": fmt_dec(f.realized_pnl, 8),
                    "side": o.side, "positionSide": "BOTH", "symbol": m.symbol, "time": f.ts_ms}
        return {"symbol": m.symbol, "id": f.trade_id, "orderId": o.order_id, "orderListId": -1,
                "price": m.px_str(f.px), "qty": m.sz_str(f.qty), "quoteQty": fmt_dec(quote, 8),
                "commission": fmt_dec(f.fee, 8), "commissionAsset": f.fee_asset, "time": f.ts_ms,
                "isBuyer": o.side == "BUY", "isMaker": f.maker, "isBestMatch": True}

    def rest_cancel_all(self, params: dict[str, Any], request: Any) -> Any:
        m = self._market(params)
        done = self.engine.cancel_all(m.symbol)
        if self.futures:
            return {"code": 200, "msg": "The operation of cancel all open order is done."}
        return [self.cancel_response(o, {}) for o in done]

    def rest_countdown(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        m = self._market(params)
        ct = params.get("countdownTime")
        if ct in (None, ""):
            raise _mandatory("countdownTime")
        ms = int(ct)
        h = self.countdowns.pop(m.symbol, None)
        if h is not None:
            h.cancel()
        if ms > 0:
            loop = asyncio.get_running_loop()
            self.countdowns[m.symbol] = loop.call_later(ms / 1000, self.engine.cancel_all, m.symbol)
        return {"symbol": m.symbol, "countdownTime": str(ms)}

    def rest_cancel_replace(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        return self.cancel_replace(params)

    def cancel_replace(self, params: dict[str, Any]) -> dict[str, Any]:
        mode = str(params.get("cancelReplaceMode") or "")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise _mandatory("cancelReplaceMode")
        cparams = dict(params)
        if params.get("cancelOrderId") not in (None, ""):
            cparams["orderId"] = params["cancelOrderId"]
        if params.get("cancelOrigClientOrderId"):
            cparams["origClientOrderId"] = params["cancelOrigClientOrderId"]
        try:
            c = self.cancel(cparams)
            cancel_resp: dict[str, Any] = self.cancel_response(c, cparams)
            cancel_ok = True
        except ApiError as e:
            cancel_resp = {"code": e.code, "msg": e.msg}
            cancel_ok = False
        if not cancel_ok and mode == "STOP_ON_FAILURE":
            raise ApiError(-2021, "Order cancel-replace failed.", 400) from None
        nparams = {k: v for k, v in params.items()
                   if k not in ("orderId", "origClientOrderId", "cancelOrderId",
                                "cancelOrigClientOrderId")}
        try:
            o, fills = self.place(nparams)
            new_resp = self.order_response(o, fills, str(params.get("newOrderRespType") or "").upper(),
                                           new=True)
            new_ok = True
        except ApiError as e:
            new_resp = {"code": e.code, "msg": e.msg}
            new_ok = False
        return {"cancelResult": "SUCCESS" if cancel_ok else "FAILURE",
                "newOrderResult": "SUCCESS" if new_ok else "FAILURE",
                "cancelResponse": cancel_resp, "newOrderResponse": new_resp}

    def _position_json(self, sym: str) -> dict[str, Any]:
        m = self.engine.markets[sym]
        p = self.engine.positions[sym]
        amt = m.sz_dec(p.amt)
        mark = m.px_dec(m.mark_px)
        return {"symbol": sym, "positionAmt": m.sz_str(p.amt), "entryPrice": fmt_dec(p.entry, m.px_out),
                "markPrice": fmt_dec(mark, 8), "unRealizedProfit": fmt_dec(self.engine.unrealized(sym), 8),
                "liquidationPrice": "0", "leverage": str(self.engine.leverage),
                "maxNotionalValue": "250000000", "marginType": "cross", "isolatedMargin": "0.00000000",
                "isAutoAddMargin": "false", "positionSide": "BOTH",
                "notional": fmt_dec(amt * mark * m.mult, 8), "isolatedWallet": "0",
                "updateTime": now_ms(), "breakEvenPrice": fmt_dec(p.entry, m.px_out)}

    def rest_position_risk(self, params: dict[str, Any], request: Any) -> list[dict[str, Any]]:
        if params.get("symbol"):
            return [self._position_json(self._market(params).symbol)]
        return [self._position_json(s) for s in self.engine.markets]

    def rest_balance(self, params: dict[str, Any], request: Any) -> list[dict[str, Any]]:
        e = self.engine
        out = []
        for a, v in e.balances.items():
            upnl = sum((e.unrealized(s) for s in e.positions), Decimal(0)) if a == "USDT" else Decimal(0)
            avail = e.available() if a == "USDT" else v
            out.append({"accountAlias": "SgsR", "asset": a, "balance": fmt_dec(v, 8),
                        "crossWalletBalance": fmt_dec(v, 8), "crossUnPnl": fmt_dec(upnl, 8),
                        "availableBalance": fmt_dec(avail, 8), "maxWithdrawAmount": fmt_dec(avail, 8),
                        "marginAvailable": True, "updateTime": now_ms()})
        return out

    def rest_account(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        e = self.engine
        if self.futures:
            upnl = sum((e.unrealized(s) for s in e.positions), Decimal(0))
            return {"totalWalletBalance": fmt_dec(e.wallet(), 8),
                    "totalUnrealizedProfit": fmt_dec(upnl, 8),
                    "totalMarginBalance": fmt_dec(e.wallet() + upnl, 8),
                    "availableBalance": fmt_dec(e.available(), 8),
                    "maxWithdrawAmount": fmt_dec(e.available(), 8),
                    "assets": [{"asset": a, "walletBalance": fmt_dec(v, 8),
                                "availableBalance": fmt_dec(e.available() if a == "USDT" else v, 8)}
                               for a, v in e.balances.items()],
                    "positions": [self._position_json(s) for s in e.markets]}
        mf, tf = int(e.maker_fee * 10000), int(e.taker_fee * 10000)
        return {"makerCommission": mf, "takerCommission": tf, "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {"maker": fmt_dec(e.maker_fee, 8), "taker": fmt_dec(e.taker_fee, 8),
                                    "buyer": "0.00000000", "seller": "0.00000000"},
                "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
                "requireSelfTradePrevention": False, "preventSor": False, "updateTime": now_ms(),
                "accountType": "SPOT",
                "balances": [{"asset": a, "free": fmt_dec(v - e.locked.get(a, Decimal(0)), 8),
                              "locked": fmt_dec(e.locked.get(a, Decimal(0)), 8)}
                             for a, v in e.balances.items()],
                "permissions": ["SPOT"], "uid": 354937868}

    def listen_key_new(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        if self.listen_keys:     # Binance returns the existing key while it is valid
            key = next(iter(self.listen_keys))
        else:
            key = secrets.token_urlsafe(48)[:64]
        self.listen_keys[key] = time.time() + 3600
        return {"listenKey": key}

    def listen_key_keep(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        key = params.get("listenKey") or (next(iter(self.listen_keys)) if self.futures and self.listen_keys else None)
        if not key or key not in self.listen_keys:
            raise ApiError(-1125, "This listenKey does not exist.")
        self.listen_keys[key] = time.time() + 3600
        return {}

    def listen_key_del(self, params: dict[str, Any], request: Any) -> dict[str, Any]:
        key = params.get("listenKey") or (next(iter(self.listen_keys)) if self.futures and self.listen_keys else None)
        if not key or key not in self.listen_keys:
            raise ApiError(-1125, "This listenKey does not exist.")
        del self.listen_keys[key]
        for c in list(self.subs.get("user:" + key, ())):
            c.send(_dumps({"e": "listenKeyExpired", "E": now_ms(), "listenKey": key}))
        return {}

    # ------------------------------------------------------------------ JSON shapes ------
    def _avg(self, o: Order) -> str:
        m = self.engine.markets[o.symbol]
        if not o.filled:
            return fmt_dec(Decimal(0), m.px_out)
        return fmt_dec(o.quote_cum / (m.sz_dec(o.filled) * m.mult), m.px_out)

    def order_json(self, o: Order) -> dict[str, Any]:
        m = self.engine.markets[o.symbol]
        if self.futures:
            return {"orderId": o.order_id, "symbol": o.symbol, "status": o.status,
                    "clientOrderId": o.client_id, "price": m.px_str(o.px), "avgPrice": self._avg(o),
                    "origQty": m.sz_str(o.qty), "executedQty": m.sz_str(o.filled),
                    "cumQty": m.sz_str(o.filled), "cumQuote": fmt_dec(o.quote_cum, 8),
                    "timeInForce": o.tif, "type": o.type, "reduceOnly": o.reduce_only,
                    "closePosition": False, "side": o.side, "positionSide": "BOTH",
                    "stopPrice": m.px_str(0), "workingType": "CONTRACT_PRICE", "priceProtect": False,
                    "origType": o.type, "priceMatch": "NONE",
                    "selfTradePreventionMode": "EXPIRE_TAKER", "goodTillDate": 0,
                    "time": o.created_ms, "updateTime": o.updated_ms}
        return {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
                "clientOrderId": o.client_id, "price": m.px_str(o.px), "origQty": m.sz_str(o.qty),
                "executedQty": m.sz_str(o.filled), "cummulativeQuoteQty": fmt_dec(o.quote_cum, 8),
                "status": o.status, "timeInForce": o.tif if o.tif != "GTX" else "GTC",
                "type": o.extra.get("type", o.type), "side": o.side, "stopPrice": m.px_str(0),
                "icebergQty": m.sz_str(0), "time": o.created_ms, "updateTime": o.updated_ms,
                "isWorking": o.is_open, "workingTime": o.created_ms,
                "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "EXPIRE_TAKER"}

    def order_response(self, o: Order, fills: list[Fill], resp_type: str, new: bool) -> dict[str, Any]:
        m = self.engine.markets[o.symbol]
        if self.futures:
            d = self.order_json(o)
            if resp_type != "RESULT":
                # ACK: the state when the order was accepted
                d.update(status="NEW", executedQty=m.sz_str(0), cumQty=m.sz_str(0),
                         cumQuote=fmt_dec(Decimal(0), 8), avgPrice=fmt_dec(Decimal(0), m.px_out))
            return d
        if not resp_type:
            resp_type = "FULL" if o.extra.get("type") in ("LIMIT", "MARKET") else "ACK"
        if resp_type == "ACK":
            return {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
                    "clientOrderId": o.client_id, "transactTime": o.created_ms}
        d = {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
             "clientOrderId": o.client_id, "transactTime": o.created_ms, "price": m.px_str(o.px),
             "origQty": m.sz_str(o.qty), "executedQty": m.sz_str(o.filled),
             "origQuoteOrderQty": "0.00000000", "cummulativeQuoteQty": fmt_dec(o.quote_cum, 8),
             "status": o.status, "timeInForce": o.tif if o.tif != "GTX" else "GTC",
             "type": o.extra.get("type", o.type), "side": o.side, "workingTime": o.created_ms,
             "selfTradePreventionMode": "EXPIRE_TAKER"}
        if resp_type == "FULL":
            d["fills"] = [{"price": m.px_str(f.px), "qty": m.sz_str(f.qty),
                           "commission": fmt_dec(f.fee, 8), "commissionAsset": f.fee_asset,
                           "tradeId": f.trade_id} for f in fills]
        return d

    def cancel_response(self, o: Order, params: dict[str, Any]) -> dict[str, Any]:
        if self.futures:
            return self.order_json(o)
        m = self.engine.markets[o.symbol]
        return {"symbol": o.symbol, "origClientOrderId": o.client_id, "orderId": o.order_id,
                "orderListId": -1, "clientOrderId": params.get("newClientOrderId") or
                ("sim" + secrets.token_hex(8)),
                "transactTime": now_ms(), "price": m.px_str(o.px), "origQty": m.sz_str(o.qty),
                "executedQty": m.sz_str(o.filled), "origQuoteOrderQty": "0.00000000",
                "cummulativeQuoteQty": fmt_dec(o.quote_cum, 8), "status": o.status,
                "timeInForce": o.tif if o.tif != "GTX" else "GTC",
                "type": o.extra.get("type", o.type), "side": o.side,
                "selfTradePreventionMode": "EXPIRE_TAKER"}

    # ------------------------------------------------------------------ user data --------
    def _user_fanout(self, event: dict[str, Any]) -> None:
        raw = None
        for key in list(self.listen_keys):
            subs = self.subs.get("user:" + key)
            if subs:
                raw = raw or _dumps(event)
                for c in subs:
                    if c.state.get("combined"):
                        c.send('{"stream":"' + key + '","data":' + raw + "}")
                    else:
                        c.send(raw)
        for c, (sid, _how) in list(self.api_subs.items()):
            c.send(_dumps({"subscriptionId": sid, "event": event}))

    def _has_user_subs(self) -> bool:
        if self.api_subs:
            return True
        return any(self.subs.get("user:" + k) for k in self.listen_keys)

    def order_event(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        if not self._has_user_subs():
            return
        m = self.engine.markets[o.symbol]
        t = now_ms()
        x = exec_type if exec_type != "AMENDMENT" else ("AMENDMENT" if self.futures else "REPLACED")
        if self.futures:
            if fill is not None:
                self._user_fanout({"e": "TRADE_LITE", "E": t, "T": t, "s": o.symbol,
                                   "q": m.sz_str(o.qty), "p": m.px_str(o.px), "m": fill.maker,
                                   "c": o.client_id, "S": o.side, "L": m.px_str(fill.px),
                                   "l": m.sz_str(fill.qty), "t": fill.trade_id, "i": o.order_id})
            b = self.engine.open_notional.get((o.symbol, "BUY"), Decimal(0))
            a = self.engine.open_notional.get((o.symbol, "SELL"), Decimal(0))
            ev = {"e": "ORDER_TRADE_UPDATE", "T": t, "E": t, "o": {
                "s": o.symbol, "c": o.client_id, "S": o.side, "o": o.type, "f": o.tif,
                "q": m.sz_str(o.qty), "p": m.px_str(o.px), "ap": self._avg(o), "sp": m.px_str(0),
                "x": x, "X": o.status, "i": o.order_id,
                "l": m.sz_str(fill.qty if fill else 0), "z": m.sz_str(o.filled),
                "L": m.px_str(fill.px if fill else 0), "N": fill.fee_asset if fill else "USDT",
                "n": fmt_dec(fill.fee if fill else Decimal(0), 8), "T": fill.ts_ms if fill else t,
                "t": fill.trade_id if fill else 0, "b": fmt_dec(b, 5), "a": fmt_dec(a, 5),
                "m": fill.maker if fill else False, "R": o.reduce_only, "wt": "CONTRACT_PRICE",
                "ot": o.type, "ps": "BOTH", "cp": False, "AP": "0", "cr": "0", "pP": False,
                "si": 0, "ss": 0, "rp": fmt_dec(fill.realized_pnl if fill else Decimal(0), 8),
                "V": "EXPIRE_TAKER", "pm": "NONE", "gtd": 0}}
            self._user_fanout(ev)
            return
        ev = {"e": "executionReport", "E": t, "s": o.symbol, "c": o.client_id, "S": o.side,
              "o": o.extra.get("type", o.type), "f": o.tif if o.tif != "GTX" else "GTC",
              "q": m.sz_str(o.qty), "p": m.px_str(o.px), "P": m.px_str(0), "F": m.sz_str(0),
              "g": -1, "C": "", "x": x, "X": o.status,
              "r": "NONE", "i": o.order_id, "l": m.sz_str(fill.qty if fill else 0),
              "z": m.sz_str(o.filled), "L": m.px_str(fill.px if fill else 0),
              "n": fmt_dec(fill.fee, 8) if fill else "0", "N": fill.fee_asset if fill else None,
              "T": fill.ts_ms if fill else o.updated_ms, "t": fill.trade_id if fill else -1,
              "I": o.order_id * 2 + (fill.trade_id if fill else 0), "w": o.is_open and not o.filled,
              "m": fill.maker if fill else False, "M": False, "O": o.created_ms,
              "Z": fmt_dec(o.quote_cum, 8),
              "Y": fmt_dec(m.px_dec(fill.px) * m.sz_dec(fill.qty), 8) if fill else "0.00000000",
              "Q": "0.00000000", "W": o.created_ms, "V": "EXPIRE_TAKER"}
        if o.status == "EXPIRED" and o.expire_reason == "EXPIRE_TAKER":
            ev["x"] = "TRADE_PREVENTION"
        self._user_fanout(ev)

    def account_event(self, reason: str, symbols: list[str]) -> None:
        if not self._has_user_subs():
            return
        e = self.engine
        t = now_ms()
        if self.futures:
            pos = []
            for s in symbols:
                m = e.markets[s]
                p = e.positions[s]
                pos.append({"s": s, "pa": m.sz_str(p.amt), "ep": fmt_dec(p.entry, m.px_out),
                            "bep": fmt_dec(p.entry, m.px_out), "cr": fmt_dec(p.realized, 8),
                            "up": fmt_dec(e.unrealized(s), 8), "mt": "cross", "iw": "0",
                            "ps": "BOTH"})
            bal = [{"a": a, "wb": fmt_dec(v, 8), "cw": fmt_dec(v, 8), "bc": "0"}
                   for a, v in e.balances.items() if a == "USDT"]
            self._user_fanout({"e": "ACCOUNT_UPDATE", "T": t, "E": t,
                               "a": {"m": reason, "B": bal, "P": pos}})
            return
        assets: list[str] = []
        for s in symbols:
            m = e.markets[s]
            assets += [m.spec.base, m.spec.quote]
        self._user_fanout({"e": "outboundAccountPosition", "E": t, "u": t,
                           "B": [{"a": a, "f": fmt_dec(e.balances.get(a, Decimal(0)) -
                                                       e.locked.get(a, Decimal(0)), 8),
                                  "l": fmt_dec(e.locked.get(a, Decimal(0)), 8)}
                                 for a in dict.fromkeys(assets)]})

    # ------------------------------------------------------------------ market streams ---
    def _parse_stream(self, name: str) -> tuple[str, Market | None] | None:
        """Normalise a stream name; returns (topic, market) or None when not a market stream."""
        if name in self.listen_keys:
            return "user:" + name, None
        sym, _, rest = name.partition("@")
        if not rest:
            return None
        m = self.engine.markets.get(sym.upper())
        topic = sym.lower() + "@" + rest
        if m is not None and rest.startswith("depth"):
            tail = rest[5:]
            levels = ""
            while tail[:1].isdigit():
                levels += tail[0]
                tail = tail[1:]
            if tail == "":
                ms = self.partial_default_ms if levels else self.depth_default_ms
            elif tail.startswith("@") and tail.endswith("ms") and tail[1:-2].isdigit():
                ms = int(tail[1:-2])
            else:
                return topic, m
            m.tracker(ms)
        return topic, m

    def _sub(self, conn: Conn, names: list[str]) -> None:
        for n in names:
            parsed = self._parse_stream(str(n))
            if parsed is None:
                continue
            topic, _ = parsed
            self.subscribe(conn, topic)
            conn.state.setdefault("names", {})[topic] = str(n)

    async def _market_ws(self, request: web.Request, names: list[str], combined: bool) -> web.StreamResponse:
        kind = "user" if any(n in self.listen_keys for n in names) else "public"
        if kind == "public" and len(names) == 1 and names[0] and "@" not in names[0] and names[0] not in self.listen_keys:
            # unknown listenKey: Binance rejects the handshake
            return web.Response(status=400, text='{"code":-1125,"msg":"This listenKey does not exist."}')

        def on_open(conn: Conn) -> None:
            conn.state["combined"] = combined
            self._sub(conn, names)

        return await self.ws_session(request, kind, self._on_stream_text, on_open)

    async def ws_raw(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info.get("path", "")
        names = [p for p in path.split("/") if p]
        return await self._market_ws(request, names, False)

    async def ws_combined(self, request: web.Request) -> web.StreamResponse:
        streams = request.query.get("streams", "")
        names = [p for p in streams.split("/") if p]
        return await self._market_ws(request, names, True)

    def _on_stream_text(self, conn: Conn, text: str) -> None:
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.send(_dumps({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1",
                              "id": None}))
            return
        if not isinstance(req, dict):
            conn.send(_dumps({"code": 2, "msg": "Invalid request: request ID must be an unsigned "
                              "integer", "id": None}))
            return
        rid = req.get("id")
        method = req.get("method")
        params = req.get("params", [])
        if method == "SUBSCRIBE":
            if not isinstance(params, list):
                conn.send(_dumps({"code": 2, "msg": "Invalid request: params must be an array",
                                  "id": rid}))
                return
            self._sub(conn, [str(p) for p in params])
            conn.send(_dumps({"result": None, "id": rid}))
        elif method == "UNSUBSCRIBE":
            for n in params if isinstance(params, list) else []:
                parsed = self._parse_stream(str(n))
                if parsed:
                    self.unsubscribe(conn, parsed[0])
                    conn.state.get("names", {}).pop(parsed[0], None)
            conn.send(_dumps({"result": None, "id": rid}))
        elif method == "LIST_SUBSCRIPTIONS":
            conn.send(_dumps({"result": sorted(conn.state.get("names", {}).values()), "id": rid}))
        elif method in ("SET_PROPERTY", "GET_PROPERTY"):
            conn.send(_dumps({"result": None if method == "SET_PROPERTY" else False, "id": rid}))
        else:
            conn.send(_dumps({"code": 2, "msg": f"Invalid request: unknown variant `{method}`, "
                              "expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, "
                              "`SET_PROPERTY`, `GET_PROPERTY`", "id": rid}))

    def _send_topic(self, topic: str, payload: dict[str, Any], quote: bool = False) -> None:
        subs = self.subs.get(topic)
        if not subs:
            return
        raw = _dumps(payload)
        comb = None
        for c in subs:
            if c.state.get("combined"):
                if comb is None:
                    comb = '{"stream":"' + c.state["names"].get(topic, topic) + '","data":' + raw + "}"
                c.send(comb, quote)
            else:
                c.send(raw, quote)

    def shutdown_notice(self) -> None:
        ev = {"e": "serverShutdown", "E": now_ms()}
        raw = _dumps(ev)
        comb = _dumps({"stream": "!serverShutdown", "data": ev})
        for c in list(self.conns):
            if c.kind == "public":
                c.send(comb if c.state.get("combined") else raw)

    def publish_event(self, m: Market, trades: list[tuple]) -> None:
        lo = m.symbol.lower()
        t = now_ms()
        if trades:
            tt = lo + "@trade"
            ta = lo + "@aggTrade"
            for tr in trades:
                px, q, buy = tr[0], tr[1], tr[2]
                tid = tr[3] if len(tr) > 3 else m.next_trade_id()
                m.last_trade_px = px
                if self.subs.get(tt):
                    d = {"e": "trade", "E": t, "T": t, "s": m.symbol, "t": tid, "p": m.px_str(px),
                         "q": m.sz_str(q), "X": "MARKET", "m": not buy}
                    if not self.futures:
                        d = {"e": "trade", "E": t, "s": m.symbol, "t": tid, "p": m.px_str(px),
                             "q": m.sz_str(q), "T": t, "m": not buy, "M": True}
                    self._send_topic(tt, d)
                if self.subs.get(ta):
                    self._agg_id += 1
                    d = {"e": "aggTrade", "E": t, "a": self._agg_id, "s": m.symbol, "p": m.px_str(px),
                         "q": m.sz_str(q), "f": tid, "l": tid, "T": t, "m": not buy}
                    if not self.futures:
                        d["M"] = True
                    self._send_topic(ta, d)
        b, a = m.best(0), m.best(1)
        bbo = (b, m.displayed(0, b) if b is not None else 0, a, m.displayed(1, a) if a is not None else 0)
        if self.bbo.get(m.symbol) != bbo:
            self.bbo[m.symbol] = bbo
            topic = lo + "@bookTicker"
            if self.subs.get(topic):
                if self.futures:
                    d = {"e": "bookTicker", "u": m.update_id, "s": m.symbol, "b": m.px_str(bbo[0] or 0),
                         "B": m.sz_str(bbo[1]), "a": m.px_str(bbo[2] or 0), "A": m.sz_str(bbo[3]),
                         "T": t, "E": t}
                else:
                    d = {"u": m.update_id, "s": m.symbol, "b": m.px_str(bbo[0] or 0),
                         "B": m.sz_str(bbo[1]), "a": m.px_str(bbo[2] or 0), "A": m.sz_str(bbo[3])}
                self._send_topic(topic, d, quote=True)
        self.flush_all_depth(m)

    def _depth_topics(self, m: Market, interval_ms: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
        key = (m.symbol, interval_ms)
        t = self._topic_cache.get(key)
        if t is None:
            lo = m.symbol.lower()
            names = [f"@{interval_ms}ms"]
            if interval_ms == self.depth_default_ms:
                names.append("")
            diff = [lo + "@depth" + n for n in names]
            partial = []
            for n in (5, 10, 20):
                pt = [f"{lo}@depth{n}@{interval_ms}ms"]
                if interval_ms == self.partial_default_ms:
                    pt.append(f"{lo}@depth{n}")
                partial.append((n, pt))
            t = self._topic_cache[key] = (diff, partial)
        return t

    def flush_depth(self, m: Market, interval_ms: int) -> None:
        tr = m.tracker(interval_ms)
        diff_topics, partial = self._depth_topics(m, interval_ms)
        U = tr.last_u + 1
        u = m.update_id
        pu = tr.last_u
        subs = self.subs
        want_diff = any(subs.get(x) for x in diff_topics)
        want_partial = [(n, pt) for n, pt in partial if any(subs.get(x) for x in pt)]
        if not want_diff and not want_partial:
            tr.dirty.clear()
            tr.last_u = u
            return
        bids: list[list[str]] = []
        asks: list[list[str]] = []
        if want_diff:
            px_str, sz_str, shown = m.px_str, m.sz_str, m.displayed
            for side, px in sorted(tr.dirty):
                (bids if side == 0 else asks).append([px_str(px), sz_str(shown(side, px))])
        tr.dirty.clear()
        tr.last_u = u
        t = now_ms()
        if want_diff:
            if self.faults.active and self.faults.take("gap", m.symbol) is not None:
                return   # the event is lost: next event breaks the U/u (spot) or pu (futures) chain
            if self.futures:
                d = {"e": "depthUpdate", "E": t, "T": t, "s": m.symbol, "U": U, "u": u, "pu": pu,
                     "b": bids, "a": asks}
            else:
                d = {"e": "depthUpdate", "E": t, "s": m.symbol, "U": U, "u": u, "b": bids, "a": asks}
            for x in diff_topics:
                self._send_topic(x, d)
        for n, ptopics in want_partial:
            pb, pa = m.snapshot(n)
            if self.futures:
                d = {"e": "depthUpdate", "E": t, "T": t, "s": m.symbol, "U": U, "u": u, "pu": pu,
                     "b": [list(x) for x in pb], "a": [list(x) for x in pa]}
            else:
                d = {"lastUpdateId": u, "bids": [list(x) for x in pb], "asks": [list(x) for x in pa]}
            for x in ptopics:
                self._send_topic(x, d)

    def publish_mark(self, m: Market) -> None:
        if not self.futures:
            return
        lo = m.symbol.lower()
        topics = [lo + "@markPrice", lo + "@markPrice@1s"]
        if not any(self.subs.get(x) for x in topics):
            return
        t = now_ms()
        mark = m.px_dec(m.mark_px)
        d = {"e": "markPriceUpdate", "E": t, "s": m.symbol, "p": fmt_dec(mark, 8),
             "i": fmt_dec(mark, 8), "P": fmt_dec(mark, 8), "r": fmt_dec(m.funding_rate, 8),
             "T": (t // 28_800_000 + 1) * 28_800_000}
        for x in topics:
            self._send_topic(x, d)

    def publish_liquidation(self, m: Market, buy: bool, px: int, qty: int) -> None:
        if not self.futures:
            raise NotImplementedError("binance spot has no liquidation stream")
        t = now_ms()
        q, p = m.sz_str(qty), m.px_str(px)
        self._send_topic(m.symbol.lower() + "@forceOrder", {
            "e": "forceOrder", "E": t, "o": {"s": m.symbol, "S": "BUY" if buy else "SELL", "o": "LIMIT",
                                            "f": "IOC", "q": q, "p": p, "ap": p, "X": "FILLED", "l": q,
                                            "z": q, "T": t}})

    # ------------------------------------------------------------------ WebSocket API ----
    async def ws_api(self, request: web.Request) -> web.StreamResponse:
        return await self.ws_session(request, "trade", self._on_api_text)

    def on_conn_closed(self, conn: Conn) -> None:
        self.api_subs.pop(conn, None)

    def conns_of(self, target: str) -> list[Conn]:
        """Fault targets: ``user`` also means the WS API connections that carry a user-data
        subscription (they are still ``trade`` connections too)."""
        if target == "user":
            return [c for c in self.conns if c.kind == "user" or c in self.api_subs]
        return super().conns_of(target)

    def _rate_limits(self, order: bool) -> list[dict[str, Any]]:
        lim = self.limits
        out = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                "limit": lim.weight_limit, "count": lim.weight}]
        if order:
            out = [{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
                    "limit": lim.orders_10s_limit, "count": lim.o10},
                   {"rateLimitType": "ORDERS", "interval": "MINUTE" if lim.long_s == 60 else "DAY",
                    "intervalNum": 1, "limit": lim.orders_long_limit, "count": lim.olong}] + out
        return out

    def _api_auth(self, conn: Conn, method: str, params: dict[str, Any]) -> None:
        if "signature" in params:
            self._check_key(params.get("apiKey"))
            self._check_ts(params)
            pub = self.ed25519_keys.get(params["apiKey"])
            if pub is None:
                ok, how = verify_binance_ws(self.spec.secret, params), "hmac"
            else:
                ok, how = verify_ed25519(pub, binance_ws_payload(params), params["signature"]), "ed25519"
            if not ok:
                raise ApiError(-1022, "Signature for this request is not valid.")
            self.auth_log.append((method, how))
            return
        if conn.state.get("logon"):
            self._check_ts(params)
            self.auth_log.append((method, "session"))
            return
        if "apiKey" not in params:
            raise _mandatory("apiKey")
        raise _mandatory("signature")

    ORDER_METHODS = ("order.place", "order.cancel", "order.cancelReplace", "order.modify",
                     "openOrders.cancelAll")

    async def _on_api_text(self, conn: Conn, text: str) -> None:
        try:
            req = orjson.loads(text)
            if not isinstance(req, dict):
                raise ValueError
        except (orjson.JSONDecodeError, ValueError):
            conn.send(_dumps({"id": None, "status": 400, "error": {
                "code": -1102, "msg": "Mandatory parameter 'method' was not sent, was empty/null, "
                "or malformed."}, "rateLimits": self._rate_limits(False)}))
            return
        rid = req.get("id")
        method = req.get("method")
        params = req.get("params") or {}
        is_order = method in self.ORDER_METHODS
        if is_order:
            self.record_order_arrival()
        try:
            if not isinstance(params, dict):
                raise ApiError(-1102, "Mandatory parameter 'params' was not sent, was empty/null, or malformed.")
            self.limits.add_weight(1)
            fn = self._api_method(method)
            if method not in ("time", "ping", "depth", "exchangeInfo", "ticker.book",
                              "session.status", "session.logout", "session.subscriptions",
                              "userDataStream.subscribe", "userDataStream.unsubscribe"):
                self._api_auth(conn, method, params)
            if method == "order.place":
                self.limits.add_order()
            unknown = None
            if is_order:
                f = self.faults.take_order_fault()
                if f is not None:
                    unknown = await self._order_fault(f, lambda: fn(conn, params))
            if unknown is not None:
                raise unknown
            result = fn(conn, params)
            conn.send(_dumps({"id": rid, "status": 200, "result": result,
                              "rateLimits": self._rate_limits(is_order)}))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            conn.send(_dumps({"id": rid, "status": 400, "error": {
                "code": -1100, "msg": f"Illegal characters found in a parameter ({type(e).__name__})."},
                "rateLimits": self._rate_limits(is_order)}))
        except ApiError as e:
            conn.send(_dumps({"id": rid, "status": e.status if e.status != 401 else 400,
                              "error": {"code": e.code, "msg": e.msg},
                              "rateLimits": self._rate_limits(is_order)}))

    def _api_method(self, method: Any) -> Callable[[Conn, dict[str, Any]], Any]:
        table: dict[str, Callable[[Conn, dict[str, Any]], Any]] = {
            "ping": lambda c, p: {},
            "time": lambda c, p: {"serverTime": now_ms()},
            "depth": lambda c, p: self.depth_snapshot(p),
            "exchangeInfo": lambda c, p: self.exchange_info(p, None),
            "ticker.book": lambda c, p: self.rest_book_ticker(p, None),
            "session.logon": self._api_logon,
            "session.status": self._api_session_status,
            "session.logout": self._api_logout,
            "session.subscriptions": lambda c, p: (
                [{"subscriptionId": self.api_subs[c][0]}] if c in self.api_subs else []),
            "order.place": self._api_place,
            "order.cancel": lambda c, p: self.cancel_response(self.cancel(p), p),
            "order.status": lambda c, p: self.order_json(self.query(p)),
            "openOrders.status": lambda c, p: self.rest_open_orders(p, None),
            "openOrders.cancelAll": self._api_cancel_all,
            "userDataStream.subscribe": self._api_uds_subscribe,
            "userDataStream.unsubscribe": self._api_uds_unsubscribe,
        }
        if self.futures:
            table["order.modify"] = lambda c, p: self.order_json(self.modify(p))
            table["account.position"] = lambda c, p: self.rest_position_risk(p, None)
            table["account.balance"] = lambda c, p: self.rest_balance(p, None)
            table["account.status"] = lambda c, p: self.rest_account(p, None)
            table["userDataStream.start"] = lambda c, p: self.listen_key_new(p, None)
            table["userDataStream.ping"] = lambda c, p: self.listen_key_keep(
                {"listenKey": next(iter(self.listen_keys), None)}, None)
            table["userDataStream.stop"] = lambda c, p: self.listen_key_del(
                {"listenKey": next(iter(self.listen_keys), None)}, None)
        else:
            table["order.cancelReplace"] = lambda c, p: self.cancel_replace(p)
            table["userDataStream.subscribe.signature"] = self._api_uds_subscribe_signature
            table["account.status"] = lambda c, p: self.rest_account(p, None)
        fn = table.get(method) if isinstance(method, str) else None
        if fn is None:
            raise ApiError(-1102 if not method else -1100, f"Unknown method '{method}'." if method
                           else "Mandatory parameter 'method' was not sent, was empty/null, or malformed.")
        return fn

    def _api_place(self, conn: Conn, params: dict[str, Any]) -> dict[str, Any]:
        o, fills = self.place({k: (v if isinstance(v, str) else
                                   ("true" if v is True else "false" if v is False else str(v)))
                               for k, v in params.items()})
        return self.order_response(o, fills, str(params.get("newOrderRespType") or "").upper(), new=True)

    def _api_cancel_all(self, conn: Conn, params: dict[str, Any]) -> Any:
        m = self._market(params)
        done = self.engine.cancel_all(m.symbol)
        return [self.cancel_response(o, {}) for o in done]

    def _api_logon(self, conn: Conn, params: dict[str, Any]) -> dict[str, Any]:
        # The docs say Ed25519 only; the simulator also accepts the HMAC signature (README)
        # while hmac_logon is on. The signature itself was checked by _api_auth.
        if params.get("apiKey") not in self.ed25519_keys and not self.hmac_logon:
            # VERIFY: the code the real venue answers an HMAC logon with was not checked
            raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        conn.state["logon"] = params.get("apiKey")
        conn.state["logon_ts"] = now_ms()
        return self._api_session_status(conn, params)

    def _api_session_status(self, conn: Conn, params: dict[str, Any]) -> dict[str, Any]:
        return {"apiKey": conn.state.get("logon"), "authorizedSince": conn.state.get("logon_ts"),
                "connectedSince": conn.created_ms,
                "returnRateLimits": True, "serverTime": now_ms(),
                "userDataStream": conn in self.api_subs}

    def _api_logout(self, conn: Conn, params: dict[str, Any]) -> dict[str, Any]:
        # ends the subscription started by userDataStream.subscribe (not a .signature one)
        if self.api_subs.get(conn, (0, ""))[1] == "logon":
            self._end_subscription(conn)
        conn.state.pop("logon", None)
        conn.state.pop("logon_ts", None)
        return self._api_session_status(conn, params)

    def _new_subscription(self, conn: Conn, how: str) -> dict[str, Any]:
        if conn in self.api_subs:
            raise ApiError(-2035, "User Data Stream subscription already active.")
        sid = conn.state.get("uds_next", 0)
        if sid >= 65535:           # ids are per connection, 65535 over its lifetime
            raise ApiError(-2042, "Maximum subscription ID reached for this connection.")
        conn.state["uds_next"] = sid + 1
        self.api_subs[conn] = (sid, how)
        return {"subscriptionId": sid}

    def _end_subscription(self, conn: Conn) -> None:
        ent = self.api_subs.pop(conn, None)
        if ent is not None:
            conn.send(_dumps({"subscriptionId": ent[0],
                              "event": {"e": "eventStreamTerminated", "E": now_ms()}}))

    def _api_uds_subscribe(self, conn: Conn, params: dict[str, Any]) -> dict[str, Any]:
        if not conn.state.get("logon"):
            raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        return self._new_subscription(conn, "logon")

    def _api_uds_subscribe_signature(self, conn: Conn, params: dict[str, Any]) -> dict[str, Any]:
        # a signed request in its own right: a logged-on session does not stand in for it
        # (the signature itself was checked by _api_auth before we get here)
        if "apiKey" not in params:
            raise _mandatory("apiKey")
        if "signature" not in params:
            raise _mandatory("signature")
        return self._new_subscription(conn, "signature")

    def _api_uds_unsubscribe(self, conn: Conn, params: dict[str, Any]) -> dict[str, Any]:
        ent = self.api_subs.get(conn)
        want = params.get("subscriptionId")
        if ent is None or (want is not None and str(want) != str(ent[0])):
            raise ApiError(-2036, "User Data Stream subscription not active.")
        self._end_subscription(conn)
        return {}

    def terminate_user_subscriptions(self) -> int:
        """Test hook: end every WS API user-data subscription the way the venue does
        (``eventStreamTerminated``; the connections stay open). Returns how many ended."""
        conns = list(self.api_subs)
        for c in conns:
            self._end_subscription(c)
        return len(conns)


class BinanceUsdm(BinanceBase):
    futures = True
    rest_prefix = "/fapi"
    ws_api_path = "/ws-fapi/v1"
    depth_default_ms = 250
    partial_default_ms = 250
    default_ping_interval = 180.0
    default_pong_timeout = 600.0


class BinanceSpot(BinanceBase):
    futures = False
    rest_prefix = "/api"
    ws_api_path = "/ws-api/v3"
    depth_default_ms = 1000
    partial_default_ms = 1000
    default_ping_interval = 20.0
    default_pong_timeout = 60.0
