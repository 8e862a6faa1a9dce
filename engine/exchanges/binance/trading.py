# SPDX-License-Identifier: Apache-2.0
"""Binance order APIs (USD-M futures and spot): REST requests, WS API frames, user-data events.

REST: HMAC-SHA256 over the exact query string we send (engine.signing.Signer), parameters in
the query string, body empty. WS API: ``session.logon`` (HMAC accepted by our simulator; the real
venue wants an Ed25519 key for logon), falling back to per-request signatures when logon fails.
Keys: an HMAC secret, or an Ed25519 private key (PKCS#8 PEM, passed as the secret; its passphrase,
if any, as the passphrase). Ed25519 signs the same payloads and sends base64 (percent-encoded in a
REST query). With an Ed25519 key the WS API logs on once and orders then carry no signature.
User data: futures on the listenKey stream (``ORDER_TRADE_UPDATE`` / ``ACCOUNT_UPDATE``); spot
over the WS API (``userDataStream.subscribe`` on a logged-on session, else
``userDataStream.subscribe.signature``; events wrapped as ``{"subscriptionId", "event"}``), or on
the old listenKey stream when configured (``user_data = "listen_key"``). Both spot paths feed the
same ``parse_user``.
"""
from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from engine.exchanges.binance.keys import Ed25519Signer, is_private_key_pem
from engine.instruments import Instrument, Venue
from engine.signing import binance_ws_payload
from engine.router import (NOT_FOUND, OK, REJECT, UNKNOWN, FillReport, OrderReport, PositionReport,
                           Reply, Request, TradingAdapter)
from engine.state import (CANCELED, EXPIRED, FILLED, NEW, PARTIALLY_FILLED, REJECTED, Fill)

_STATUS = {"NEW": NEW, "PARTIALLY_FILLED": PARTIALLY_FILLED, "FILLED": FILLED,
           "CANCELED": CANCELED, "REJECTED": REJECTED, "EXPIRED": EXPIRED,
           "EXPIRED_IN_MATCH": EXPIRED, "PENDING_CANCEL": NEW}
_SIDE = {1: "BUY", -1: "SELL"}
_SIDE_IN = {"BUY": 1, "SELL": -1}
# Binance codes that say "this request was not executed" for sure
_DEFINITE = {-1003, -1015, -1021, -1022, -1102, -1013, -1111, -1116, -1117, -2010, -2015,
             -2019, -2021, -2022, -4164, -5022, -1100, -1101, -1104, -1106, -1128, -2014}


class BinanceUsdmTrading(TradingAdapter):
    venue = Venue.BINANCE_USDM
    prefix = "/fapi/v1"
    has_ws_trade = True
    clock_error_codes = frozenset({"-1021"})
    has_positions = True
    post_only_tif = "GTX"

    def __init__(self, endpoints: Any, api_key: str, secret: str, passphrase: str,
                 instruments: Any, clock: Any, recv_window_ms: int = 5000) -> None:
        self.ed25519 = Ed25519Signer(secret, passphrase) if is_private_key_pem(secret) else None
        if self.ed25519 is not None:
            # the HMAC signer and the compiled encoders (HMAC only) never get the PEM: they get a
            # random stand-in that the venue would refuse, and are not used to sign (the REST
            # encoder is dropped, the WS one runs only on a logged-on session, unsigned)
            secret = secrets.token_hex(32)
        super().__init__(endpoints, api_key, secret, passphrase, instruments, clock, recv_window_ms)

    # ---- signing --------------------------------------------------------------------------
    def _sign(self, payload: str) -> str:
        """The signature value: lowercase hex HMAC-SHA256, or base64 Ed25519 (same payload)."""
        if self.ed25519 is not None:
            return self.ed25519.b64(payload.encode())
        return self.signer.hex(payload.encode())

    def _signed(self, method: str, path: str, params: dict[str, Any], weight: int = 1,
                is_order: bool = False) -> Request:
        p = dict(params)
        p["recvWindow"] = self.recv_window_ms
        p["timestamp"] = self.clock.server_ms()
        q = urlencode(p)
        # base64 has '+', '/', '=': percent-encoded in the query (the venue signs what it decodes)
        q += "&signature=" + quote(self._sign(q), safe="")
        return Request(method, path, q, "", {"X-MBX-APIKEY": self.api_key}, weight, is_order,
                       ts_ms=p["timestamp"])

    def _signed_ws_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """WS API params with apiKey + signature (over the sorted ``k=v`` payload)."""
        p = dict(params)
        p["apiKey"] = self.api_key
        p["signature"] = self._sign(binance_ws_payload(p))
        return p

    def _logon_frame(self, req_id: str) -> bytes:
        p = self._signed_ws_params({"timestamp": self.clock.server_ms()})
        return orjson.dumps({"id": req_id, "method": "session.logon", "params": p})

    def attach_encoders(self, session_tag: str) -> None:
        super().attach_encoders(session_tag)
        if self.ed25519 is not None:
            # the compiled REST encoder would HMAC-sign: new REST orders take the Python path
            # (Ed25519 sign: ~0.13 ms more per REST order; see engine.exchanges.binance.keys)
            self.enc_rest = None

    def _sym(self, inst: int) -> str:
        return self.instruments[inst].symbol

    # ---- orders ---------------------------------------------------------------------------
    def order_params(self, o: Any) -> dict[str, Any]:
        ins = self.instruments[o.inst]
        p: dict[str, Any] = {"symbol": ins.symbol, "side": _SIDE[o.side],
                             "type": "MARKET" if o.ord_type == 2 else "LIMIT",
                             "quantity": ins.sz_str(o.sz), "newClientOrderId": o.client_oid}
        if o.ord_type != 2:
            p["price"] = ins.px_str(o.px)
            p["timeInForce"] = {1: "GTC", 2: "IOC", 3: "FOK", 4: self.post_only_tif}[o.tif]
        if o.flags & 1:
            if not self.has_positions:
                raise ValueError("reduce-only needs a derivatives venue")
            p["reduceOnly"] = "true"
        p["newOrderRespType"] = "RESULT"
        return p

    rest_in_query = True

    def place(self, o: Any) -> Request:
        if self.enc_rest is not None:
            return super().place(o)
        return self._signed("POST", f"{self.prefix}/order", self.order_params(o), 1, True)

    def cancel(self, o: Any) -> Request:
        return self._signed("DELETE", f"{self.prefix}/order",
                            {"symbol": self._sym(o.inst), "origClientOrderId": o.client_oid})

    def amend(self, o: Any, px: int, sz: int) -> Request:
        ins = self.instruments[o.inst]
        return self._signed("PUT", f"{self.prefix}/order",
                            {"symbol": ins.symbol, "origClientOrderId": o.client_oid,
                             "side": _SIDE[o.side], "quantity": ins.sz_str(sz),
                             "price": ins.px_str(px)}, 1, True)

    def cancel_all(self, inst: int) -> Request:
        return self._signed("DELETE", f"{self.prefix}/allOpenOrders", {"symbol": self._sym(inst)})

    def query(self, o: Any) -> Request:
        return self._signed("GET", f"{self.prefix}/order",
                            {"symbol": self._sym(o.inst), "origClientOrderId": o.client_oid})

    def query_by_venue_id(self, inst: int, venue_order_id: str) -> Request:
        return self._signed("GET", f"{self.prefix}/order",
                            {"symbol": self._sym(inst), "orderId": venue_order_id})

    def open_orders(self) -> Request:
        return self._signed("GET", f"{self.prefix}/openOrders", {}, 40)

    trades_path = "/userTrades"
    trades_weight = 5
    trades_window_ms = 7 * 86_400_000
    trades_limit = 1000                 # rows per trade-list page (venue maximum)

    def trades(self, inst: int, since_ms: int | None, page: str | None) -> Request:
        """userTrades (myTrades on spot): the first page from startTime, then by fromId (the two
        cannot be combined); without either the venue returns the most recent trades."""
        p: dict[str, Any] = {"symbol": self._sym(inst), "limit": self.trades_limit}
        if page is not None:
            p["fromId"] = int(page)
        elif since_ms is not None and self.clock.server_ms() - since_ms < self.trades_window_ms - 60_000:
            # startTime alone spans at most the venue's window (7 days futures, 24 h spot);
            # older than that: the most recent trades instead
            p["startTime"] = max(0, since_ms)
        return self._signed("GET", self.prefix + self.trades_path, p, self.trades_weight)

    def trades_next(self, reply: Reply, n: int, page: str | None) -> str | None:
        """After the first page (by startTime / most recent) always continue by fromId, since
        a startTime page ends at the venue's window, not at the newest trade; stop at a short
        fromId page."""
        rows = reply.data or []
        if not rows or (page is not None and n < self.trades_limit):
            return None
        return str(max(int(t["id"]) for t in rows) + 1)

    def positions(self) -> Request | None:
        return self._signed("GET", "/fapi/v2/positionRisk", {}, 5)

    def server_time(self) -> Request:
        return Request("GET", f"{self.prefix}/time", "", "", {}, 1, False)

    def parse_server_time(self, body: bytes) -> int:
        return int(orjson.loads(body)["serverTime"])

    def deadman(self, timeout_ms: int) -> list[Request]:
        return [self._signed("POST", f"{self.prefix}/countdownCancelAll",
                             {"symbol": i.symbol, "countdownTime": timeout_ms}, 10)
                for i in self.instruments.values()]

    # ---- replies --------------------------------------------------------------------------
    def classify(self, status: int, body: bytes) -> Reply:
        try:
            d = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return Reply(UNKNOWN, reason=f"http {status}: unparsable body")
        if status >= 500:
            return Reply(UNKNOWN, reason=f"http {status}")
        if status in (429, 418):
            return Reply(REJECT, reason=str(d.get("code", status)) if isinstance(d, dict) else str(status),
                         rate_limited=True)
        if isinstance(d, dict) and "code" in d and status != 200:
            code = int(d.get("code", 0))
            if code == -2013 or (code == -2011 and "Unknown order" in str(d.get("msg", ""))):
                return Reply(NOT_FOUND, reason=str(code))
            if code in (-1003, -1015):
                return Reply(REJECT, reason=str(code), rate_limited=True)
            if code in _DEFINITE or 400 <= status < 500:
                return Reply(REJECT, reason=str(code))
            return Reply(UNKNOWN, reason=str(code))
        if status != 200:
            return Reply(UNKNOWN, reason=f"http {status}")
        return Reply(OK, data=d)

    def order_report(self, d: dict[str, Any]) -> OrderReport:
        ins = self.by_symbol[d["symbol"]]
        return OrderReport(
            client_oid=str(d.get("clientOrderId", "")), status=_STATUS.get(d.get("status", ""), None),
            filled_sz=ins.sz_to_units(d["executedQty"]) if "executedQty" in d else None,
            venue_order_id=str(d.get("orderId", "")), inst=ins.id,
            side=_SIDE_IN.get(d.get("side", ""), 0),
            ord_type=2 if d.get("type") == "MARKET" else 1,
            tif={"GTC": 1, "IOC": 2, "FOK": 3, "GTX": 4}.get(d.get("timeInForce", "GTC"), 1),
            flags=1 if d.get("reduceOnly") in (True, "true") else 0,
            px=ins.px_to_units(d["price"]) if d.get("price") not in (None, "") else None,
            sz=ins.sz_to_units(d["origQty"]) if "origQty" in d else None)

    def reports_of(self, reply: Reply) -> list[OrderReport]:
        d = reply.data
        if isinstance(d, list):
            return [self.order_report(x) for x in d if isinstance(x, dict) and "symbol" in x]
        if isinstance(d, dict) and "symbol" in d and "status" in d:
            return [self.order_report(d)]
        return []

    def fills_of(self, inst: int, reply: Reply) -> list[tuple[Fill, str]]:
        """userTrades -> (fill without client id, venue order id)."""
        ins = self.instruments[inst]
        out = []
        for t in reply.data or []:
            fee = float(t.get("commission", "0"))
            if t.get("commissionAsset") and t["commissionAsset"] != self.quote_ccy(ins):
                fee *= float(t["price"])
            out.append((Fill(int(self.venue), f"{ins.symbol}:{t['id']}", "", inst,
                             _SIDE_IN[t["side"]] if "side" in t else (1 if t["isBuyer"] else -1),
                             ins.px_to_units(t["price"]), ins.sz_to_units(t["qty"]), fee,
                             bool(t.get("maker", t.get("isMaker", False))), int(t.get("time", 0))),
                        str(t["orderId"])))
        return out

    def positions_of(self, reply: Reply) -> list[PositionReport]:
        out = []
        for p in reply.data or []:
            ins = self.by_symbol.get(p.get("symbol", ""))
            if ins is None:
                continue
            out.append(PositionReport(ins.id, ins.sz_to_units(p["positionAmt"]),
                                      float(p.get("entryPrice", 0) or 0)))
        return out

    def quote_ccy(self, ins: Instrument) -> str:
        for q in ("USDT", "USDC", "BUSD", "FDUSD"):
            if ins.symbol.endswith(q):
                return q
        return ""

    # ---- user data ------------------------------------------------------------------------
    listen_path = "/fapi/v1/listenKey"

    def user_token_request(self) -> Request:
        return Request("POST", self.listen_path, "", "", {"X-MBX-APIKEY": self.api_key}, 1)

    def parse_user_token(self, reply: Reply) -> str:
        return str(reply.data["listenKey"])

    def user_keepalive(self) -> Request:
        return Request("PUT", self.listen_path, "", "", {"X-MBX-APIKEY": self.api_key}, 1)

    def user_url(self, token: str) -> str:
        # ws_private is the raw-stream base ending in /ws (wss://fstream.binance.com/ws)
        base = (self.endpoints.ws_private or self.endpoints.ws_public.rstrip("/") + "/ws").rstrip("/")
        return f"{base}/{token}"

    def parse_user(self, payload: bytes) -> list[Any]:
        d = orjson.loads(payload)
        if isinstance(d, dict) and "event" in d and "subscriptionId" in d:
            d = d["event"]
        if not isinstance(d, dict):
            return []
        e = d.get("e")
        if e == "ORDER_TRADE_UPDATE":
            return self._exec(d["o"], d.get("T", d.get("E", 0)))
        if e == "executionReport":
            return self._exec(d, d.get("T", d.get("E", 0)))
        if e == "ACCOUNT_UPDATE":
            out = []
            for p in d.get("a", {}).get("P", []):
                ins = self.by_symbol.get(p.get("s", ""))
                if ins is not None:
                    out.append(PositionReport(ins.id, ins.sz_to_units(p["pa"]), float(p.get("ep", 0))))
            return out
        if e == "listenKeyExpired":
            raise ConnectionError("listenKey expired")
        if e == "eventStreamTerminated":
            # the venue ended our WS API subscription (logout/unsubscribe): reconnect, subscribe
            # again and reconcile (the router does both after any user-stream error)
            raise ConnectionError("user-data subscription terminated by the venue (eventStreamTerminated)")
        return []

    def _exec(self, o: dict[str, Any], ts: int) -> list[Any]:
        ins = self.by_symbol.get(o.get("s", ""))
        if ins is None:
            return []
        cid = str(o.get("c", ""))
        if o.get("X") == "CANCELED" and o.get("C"):      # spot: canceled order keeps its id in C
            cid = str(o["C"])
        rep = OrderReport(cid, _STATUS.get(o.get("X", ""), None), ins.sz_to_units(o.get("z", "0")),
                          str(o.get("i", "")), str(o.get("r", "")) if o.get("r") not in (None, "NONE") else "",
                          inst=ins.id, side=_SIDE_IN.get(o.get("S", ""), 0),
                          ord_type=2 if o.get("o") == "MARKET" else 1,
                          tif={"GTC": 1, "IOC": 2, "FOK": 3, "GTX": 4}.get(o.get("f", "GTC"), 1),
                          flags=1 if o.get("R") else 0,
                          px=ins.px_to_units(o["p"]) if o.get("p") not in (None, "", "0", "0.00000000") else None,
                          sz=ins.sz_to_units(o["q"]) if "q" in o else None)
        out: list[Any] = []
        if o.get("x") == "TRADE" and o.get("l") not in (None, "0", ""):
            fee = float(o.get("n", "0") or 0)
            if o.get("N") and o["N"] != self.quote_ccy(ins):
                fee *= float(o["L"])
            out.append(FillReport(Fill(int(self.venue), f"{ins.symbol}:{o['t']}", cid, ins.id,
                                       _SIDE_IN[o["S"]], ins.px_to_units(o["L"]),
                                       ins.sz_to_units(o["l"]), fee, bool(o.get("m")), int(ts))))
        out.append(rep)
        return out

    # ---- WS API ---------------------------------------------------------------------------
    def ws_url(self) -> str:
        return self.endpoints.ws_trade

    def ws_login_frames(self, req_id: str) -> list[tuple[bytes, bool]]:
        if not self.try_logon:
            return []
        return [(self._logon_frame(req_id), True)]

    def ws_login_ok(self, payload: bytes) -> bool:
        d = orjson.loads(payload)
        ok = isinstance(d, dict) and d.get("status") == 200
        if not ok and self.ed25519 is None:
            # e.g. the real venue refuses HMAC logon (Ed25519 only): sign every request instead.
            # An Ed25519 logon is tried again on the next connection (a refusal there is a clock
            # or key problem, not the key type); this connection signs every request meanwhile.
            self.try_logon = False
        return ok

    try_logon = True

    def _ws(self, req_id: str, method: str, params: dict[str, Any]) -> tuple[bytes, int]:
        p = dict(params)
        p["timestamp"] = self.clock.server_ms()
        p["recvWindow"] = self.recv_window_ms
        if not self.ws_logged_on:
            p = self._signed_ws_params(p)
        return orjson.dumps({"id": req_id, "method": method, "params": p}), p["timestamp"]

    def ws_place(self, req_id: str, o: Any) -> tuple[str, bytes, int]:
        # the compiled encoder signs HMAC only: with an Ed25519 key it is used only unsigned,
        # on a logged-on session
        if self.enc_ws is not None and (self.ed25519 is None or self.ws_logged_on):
            return super().ws_place(req_id, o)
        return (req_id, *self._ws(req_id, "order.place", self.order_params(o)))

    def ws_cancel(self, req_id: str, o: Any) -> tuple[str, bytes, int]:
        return (req_id, *self._ws(req_id, "order.cancel", {"symbol": self._sym(o.inst),
                                                           "origClientOrderId": o.client_oid}))

    def ws_amend(self, req_id: str, o: Any, px: int, sz: int) -> tuple[str, bytes, int]:
        ins = self.instruments[o.inst]
        return (req_id, *self._ws(req_id, "order.modify", {
            "symbol": ins.symbol, "origClientOrderId": o.client_oid, "side": _SIDE[o.side],
            "quantity": ins.sz_str(sz), "price": ins.px_str(px)}))

    def ws_reply(self, payload: bytes) -> tuple[str, Reply] | None:
        d = orjson.loads(payload)
        if not isinstance(d, dict) or "id" not in d or "status" not in d:
            return None
        st = int(d["status"])
        if st == 200:
            return str(d["id"]), Reply(OK, data=d.get("result"))
        err = d.get("error") or {}
        body = orjson.dumps(err) if isinstance(err, dict) else b"{}"
        return str(d["id"]), self.classify(st if st != 200 else 400, body)


class BinanceSpotTrading(BinanceUsdmTrading):
    venue = Venue.BINANCE_SPOT
    prefix = "/api/v3"
    has_positions = False
    post_only_tif = "GTC"      # spot post-only is type LIMIT_MAKER

    def order_params(self, o: Any) -> dict[str, Any]:
        p = super().order_params(o)
        if o.ord_type != 2 and o.tif == 4:
            p["type"] = "LIMIT_MAKER"
            p.pop("timeInForce", None)
        p["newOrderRespType"] = "RESULT"
        return p

    def amend(self, o: Any, px: int, sz: int) -> Request:
        raise NotImplementedError("Binance spot has no in-place amend; cancel and place a new order")

    def ws_amend(self, req_id: str, o: Any, px: int, sz: int) -> tuple[str, bytes, int]:
        raise NotImplementedError("Binance spot has no in-place amend; cancel and place a new order")

    trades_path = "/myTrades"
    trades_weight = 20
    trades_window_ms = 86_400_000

    def positions(self) -> Request | None:
        return None

    def server_time(self) -> Request:
        return Request("GET", f"{self.prefix}/time", "", "", {}, 1, False)

    listen_path = "/api/v3/userDataStream"

    def deadman(self, timeout_ms: int) -> list[Request]:
        return []

    # ---- user data: WS API subscription (default) or listenKey stream ---------------------
    # The subscription lives on a dedicated WS API connection, not on the order connection:
    # the router's user loop already owns "socket lost -> subscribe again -> reconcile", the
    # order socket keeps its own reconnect rules (in-flight orders become unknown and are
    # queried) and may be driven by the compiled order path, and user data keeps flowing with
    # REST order transport. One more socket per process is the whole cost.
    user_data_modes = ("ws_api", "listen_key")
    user_data = "ws_api"
    user_logged_on = False             # the user-data connection's session (not the order one's)
    user_sub_id: int | None = None     # subscriptionId of the live subscription
    _uds_step = ""                     # "logon" | "subscribe" | "signature" while subscribing

    def user_token_request(self) -> Request | None:
        return super().user_token_request() if self.user_data == "listen_key" else None

    def user_keepalive(self) -> Request | None:
        return super().user_keepalive() if self.user_data == "listen_key" else None

    def user_url(self, token: str) -> str:
        if self.user_data != "listen_key":
            return self.endpoints.ws_trade
        # listenKey streams live on the market-stream host (/ws/<listenKey>); the presets point
        # ws_private at the WS API, so fall back to the public stream base then
        base = self.endpoints.ws_private
        if not base or base == self.endpoints.ws_trade:
            base = self.endpoints.ws_public.rstrip("/") + "/ws"
        return f"{base.rstrip('/')}/{token}"

    def _uds_request(self, method: str, signed: bool) -> bytes:
        p: dict[str, Any] = {}
        if signed:      # signed like every WS API request: sorted params, HMAC hex / Ed25519 base64
            p = self._signed_ws_params({"timestamp": self.clock.server_ms(),
                                        "recvWindow": self.recv_window_ms})
        req: dict[str, Any] = {"id": f"uds-{method}", "method": method}
        if p:
            req["params"] = p
        return orjson.dumps(req)

    def _uds_subscribe(self) -> list[bytes]:
        if self.user_logged_on:
            self._uds_step = "subscribe"
            return [self._uds_request("userDataStream.subscribe", False)]
        self._uds_step = "signature"
        return [self._uds_request("userDataStream.subscribe.signature", True)]

    def user_handshake(self, reply: bytes | None) -> list[bytes] | None:
        if self.user_data == "listen_key":
            return None
        if reply is None:                   # fresh connection
            self.user_logged_on = False
            self.user_sub_id = None
            if self.try_logon:
                self._uds_step = "logon"
                return [self._logon_frame("uds-session.logon")]
            return self._uds_subscribe()
        try:
            d = orjson.loads(reply)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(d, dict) or "status" not in d or not str(d.get("id", "")).startswith("uds-"):
            return []                       # not the answer we wait for
        ok = d["status"] == 200
        if self._uds_step == "logon":
            if ok:
                self.user_logged_on = True
            elif self.ed25519 is None:
                # the real venue takes only Ed25519 keys for logon: subscribe with a signature
                # (also on the next connections, and the order socket stops trying logon too)
                self.try_logon = False
            return self._uds_subscribe()
        if not ok and self._uds_step == "subscribe":
            # logged on, but the session may not subscribe (e.g. not an Ed25519 session): the
            # signed subscription needs no logon
            self.user_logged_on = False
            return self._uds_subscribe()
        if not ok:
            err = d.get("error") or {}
            raise ConnectionError(f"userDataStream.subscribe.signature refused: "
                                  f"{err.get('code')} {err.get('msg')}")
        res = d.get("result") or {}
        self.user_sub_id = int(res["subscriptionId"]) if "subscriptionId" in res else None
        self._uds_step = ""
        return None
