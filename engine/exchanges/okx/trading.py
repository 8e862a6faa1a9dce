# SPDX-License-Identifier: Apache-2.0
"""OKX v5 order APIs (SWAP, net position mode): REST, WS ``order``/``cancel-order``/``amend-order``
on the private socket after ``login``, and the private ``orders``/``positions`` channels.

The ``orders`` channel is the source of truth: each push carries the order state and, for a fill,
``tradeId``/``fillSz``/``fillPx``. Per-fill fees come from ``fillFee`` when present, else from the
change of the order's cumulative ``fee`` (OKX fees are negative when charged). OKX has no REST
cancel-all for SWAP, so cancel-all cancels each open order. Dead-man switch: cancel-all-after
(``timeOut`` 10..120 s, refreshed by the router's dead-man loop; a shorter ``deadman_ms`` is
rounded up to the venue's 10 s minimum).
"""
from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import orjson

from engine.instruments import Venue
from engine.router import (classify_error, OK, REJECT, UNKNOWN, FillReport, OrderReport, PositionReport,
                           Reply, Request, TradingAdapter)
from engine.signing import okx_headers, okx_ws_login
from engine.state import CANCELED, FILLED, NEW, PARTIALLY_FILLED, Fill

_STATE = {"live": NEW, "partially_filled": PARTIALLY_FILLED, "filled": FILLED, "canceled": CANCELED,
          "mmp_canceled": CANCELED}
_TIF_IN = {"limit": 1, "ioc": 2, "fok": 3, "post_only": 4, "market": 1}
_NOT_FOUND = {"51603", "51400", "51503", "51401", "51509", "51510"}
_RATE = {"50011", "50061", "50040"}
_UNKNOWN = {"50001", "50004", "50013", "50026"}


class OkxTrading(TradingAdapter):
    venue = Venue.OKX
    has_ws_trade = True
    clock_error_codes = frozenset({"50102", "50112"})
    inst_type = "SWAP"

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self._fee_cum: dict[str, float] = {}
        self._last_ping = 0.0
        # demo trading shares the production REST host and is told apart by a header on every REST
        # request; its WebSockets have their own host (wspap.okx.com), which is how we recognise it
        eps = self.endpoints
        self.simulated = any("wspap." in (u or "") for u in (eps.ws_public, eps.ws_private, eps.ws_trade))
        self.extra_rest_headers = {"x-simulated-trading": "1"} if self.simulated else {}

    def _req(self, method: str, path: str, params: dict[str, Any] | None = None,
             body: dict[str, Any] | None = None, is_order: bool = False) -> Request:
        ts = self.clock.server_ms()
        q = urlencode(params) if params else ""
        full = path + (f"?{q}" if q else "")
        b = orjson.dumps(body).decode() if body is not None else ""
        return Request(method, path, q, b, okx_headers(self.signer, self.api_key, self.passphrase, ts,
                                                       method, full, b, self.simulated), 1, is_order, ts)

    def _sym(self, inst: int) -> str:
        return self.instruments[inst].symbol

    # ---- requests ---------------------------------------------------------------------------
    def cancel(self, o: Any) -> Request:
        return self._req("POST", "/api/v5/trade/cancel-order", body={"instId": self._sym(o.inst),
                                                                     "clOrdId": o.client_oid})

    def amend(self, o: Any, px: int, sz: int) -> Request:
        ins = self.instruments[o.inst]
        return self._req("POST", "/api/v5/trade/amend-order", body={
            "instId": ins.symbol, "clOrdId": o.client_oid, "newSz": ins.sz_str(sz),
            "newPx": ins.px_str(px)}, is_order=True)

    def cancel_all(self, inst: int) -> Request | None:
        return None

    def query(self, o: Any) -> Request:
        return self._req("GET", "/api/v5/trade/order", {"instId": self._sym(o.inst), "clOrdId": o.client_oid})

    def query_by_venue_id(self, inst: int, venue_order_id: str) -> Request:
        return self._req("GET", "/api/v5/trade/order", {"instId": self._sym(inst), "ordId": venue_order_id})

    def open_orders(self) -> Request:
        return self._req("GET", "/api/v5/trade/orders-pending", {"instType": self.inst_type})

    trades_limit = 100                  # rows per trade-list page (venue maximum)

    def trades(self, inst: int, since_ms: int | None, page: str | None) -> Request:
        """/api/v5/trade/fills (last 3 days), newest first, paged towards older rows with
        ``after`` = the last billId of the previous page; ``begin`` bounds the window."""
        p: dict[str, Any] = {"instType": self.inst_type, "instId": self._sym(inst),
                             "limit": self.trades_limit}
        if since_ms is not None:
            p["begin"] = max(0, since_ms)
        if page:
            p["after"] = page
        return self._req("GET", "/api/v5/trade/fills", p)

    def trades_next(self, reply: Reply, n: int, page: str | None) -> str | None:
        rows = reply.data or []
        if n < self.trades_limit or not rows:
            return None
        return str(rows[-1]["billId"])

    def positions(self) -> Request:
        return self._req("GET", "/api/v5/account/positions", {"instType": self.inst_type})

    def deadman(self, timeout_ms: int) -> list[Request]:
        sec = min(120, max(10, -(-timeout_ms // 1000)))
        return [self._req("POST", "/api/v5/trade/cancel-all-after", body={"timeOut": str(sec)})]

    def server_time(self) -> Request:
        return Request("GET", "/api/v5/public/time", "", "", {}, 1, False)

    def parse_server_time(self, body: bytes) -> int:
        return int(orjson.loads(body)["data"][0]["ts"])

    # ---- answers ----------------------------------------------------------------------------
    def classify(self, status: int, body: bytes) -> Reply:
        if status >= 500:
            return Reply(UNKNOWN, reason=f"http {status}")
        try:
            d = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return Reply(UNKNOWN, reason=f"http {status}: unparsable body")
        if not isinstance(d, dict) or "code" not in d:
            return Reply(UNKNOWN, reason=f"http {status}")
        if status == 429:
            return Reply(REJECT, reason=str(d.get("code", "429")), rate_limited=True)
        return self._code(str(d["code"]), d.get("data") or [])

    def _code(self, code: str, data: list[Any]) -> Reply:
        if code == "0":
            return Reply(OK, data=data)
        if code in ("1", "2") and data:
            s = str(data[0].get("sCode", ""))
            return classify_error(s, not_found=_NOT_FOUND, rate=_RATE, unknown=_UNKNOWN)
        return classify_error(code, not_found=_NOT_FOUND, rate=_RATE, unknown=_UNKNOWN)

    def order_report(self, d: dict[str, Any]) -> OrderReport:
        ins = self.by_symbol[d["instId"]]
        ot = d.get("ordType", "limit")
        return OrderReport(
            str(d.get("clOrdId", "")), _STATE.get(d.get("state", "")),
            ins.sz_to_units(d["accFillSz"]) if d.get("accFillSz") not in (None, "") else None,
            str(d.get("ordId", "")), inst=ins.id,
            side=1 if d.get("side") == "buy" else -1 if d.get("side") == "sell" else 0,
            ord_type=2 if ot == "market" else 1, tif=_TIF_IN.get(ot, 1),
            flags=1 if str(d.get("reduceOnly", "false")) == "true" else 0,
            px=ins.px_to_units(d["px"]) if d.get("px") not in (None, "", "0") else None,
            sz=ins.sz_to_units(d["sz"]) if d.get("sz") else None)

    def reports_of(self, reply: Reply) -> list[OrderReport]:
        out = []
        for d in reply.data or []:
            if not isinstance(d, dict):
                continue
            if "state" in d and d.get("instId") in self.by_symbol:
                out.append(self.order_report(d))
            elif d.get("clOrdId") and d.get("sCode", "0") == "0":
                out.append(OrderReport(str(d["clOrdId"]), None, None, str(d.get("ordId", ""))))
        return out

    def fills_of(self, inst: int, reply: Reply) -> list[tuple[Fill, str]]:
        ins = self.instruments[inst]
        out = []
        for t in reply.data or []:
            out.append((Fill(int(self.venue), f"{ins.symbol}:{t['tradeId']}", str(t.get("clOrdId", "")),
                             ins.id, 1 if t["side"] == "buy" else -1, ins.px_to_units(t["fillPx"]),
                             ins.sz_to_units(t["fillSz"]), -float(t.get("fee", "0") or 0),
                             t.get("execType") == "M", int(t.get("ts", 0) or 0)), str(t.get("ordId", ""))))
        return out

    def _position(self, p: dict[str, Any]) -> PositionReport | None:
        ins = self.by_symbol.get(p.get("instId", ""))
        if ins is None:
            return None
        return PositionReport(ins.id, ins.sz_to_units(p.get("pos", "0") or "0"),
                              float(p.get("avgPx") or 0))

    def positions_of(self, reply: Reply) -> list[PositionReport]:
        got = [self._position(p) for p in reply.data or []]
        seen = {p.inst for p in got if p is not None}
        # OKX lists open positions only: every other configured instrument is flat
        return [p for p in got if p is not None] + [PositionReport(i, 0, 0.0) for i in self.instruments
                                                    if i not in seen]

    # ---- private stream ---------------------------------------------------------------------
    def user_url(self, token: str) -> str:
        return self.endpoints.ws_private

    def user_login_frames(self) -> list[bytes]:
        return [orjson.dumps(okx_ws_login(self.signer, self.api_key, self.passphrase,
                                          self.clock.server_ms() // 1000)),
                orjson.dumps({"op": "subscribe", "args": [{"channel": "orders", "instType": self.inst_type},
                                                          {"channel": "positions", "instType": self.inst_type}]})]

    def user_ping(self) -> bytes | None:
        now = time.monotonic()
        if now - self._last_ping < 15.0:
            return None
        self._last_ping = now
        return b"ping"

    def ws_keepalive(self) -> bytes | None:
        return b"ping"

    def parse_user(self, payload: bytes) -> list[Any]:
        if payload == b"pong":
            return []
        d = orjson.loads(payload)
        if not isinstance(d, dict):
            return []
        if d.get("event") == "error" and d.get("code") in ("60009", "60011"):
            raise ConnectionError(f"okx private login failed: {d.get('code')}")
        ch = (d.get("arg") or {}).get("channel")
        out: list[Any] = []
        if ch == "orders":
            for o in d.get("data") or []:
                ins = self.by_symbol.get(o.get("instId", ""))
                if ins is None:
                    continue
                oid = str(o.get("ordId", ""))
                cum = -float(o.get("fee", "0") or 0)
                if o.get("tradeId") and o.get("fillSz") not in (None, "", "0"):
                    fee = -float(o["fillFee"]) if o.get("fillFee") not in (None, "") else \
                        cum - self._fee_cum.get(oid, 0.0)
                    out.append(FillReport(Fill(int(self.venue), f"{ins.symbol}:{o['tradeId']}",
                                               str(o.get("clOrdId", "")), ins.id,
                                               1 if o["side"] == "buy" else -1, ins.px_to_units(o["fillPx"]),
                                               ins.sz_to_units(o["fillSz"]), fee, o.get("execType") == "M",
                                               int(o.get("fillTime") or 0))))
                self._fee_cum[oid] = cum
                out.append(self.order_report(o))
        elif ch == "positions":
            out = [p for p in (self._position(x) for x in d.get("data") or []) if p is not None]
        return out

    # ---- WS orders ------------------------------------------------------------------------
    def ws_url(self) -> str:
        return self.endpoints.ws_trade

    def ws_login_frames(self, req_id: str) -> list[tuple[bytes, bool]]:
        return [(orjson.dumps(okx_ws_login(self.signer, self.api_key, self.passphrase,
                                           self.clock.server_ms() // 1000)), True)]

    def ws_login_ok(self, payload: bytes) -> bool:
        d = orjson.loads(payload)
        return isinstance(d, dict) and d.get("event") == "login" and d.get("code") == "0"

    def _ws_op(self, req_id: str, op: str, arg: dict[str, Any]) -> tuple[str, bytes, int]:
        return req_id, orjson.dumps({"id": req_id, "op": op, "args": [arg]}), self.clock.server_ms()

    def ws_cancel(self, req_id: str, o: Any) -> tuple[str, bytes, int]:
        return self._ws_op(req_id, "cancel-order", {"instId": self._sym(o.inst), "clOrdId": o.client_oid})

    def ws_amend(self, req_id: str, o: Any, px: int, sz: int) -> tuple[str, bytes, int]:
        ins = self.instruments[o.inst]
        return self._ws_op(req_id, "amend-order", {"instId": ins.symbol, "clOrdId": o.client_oid,
                                                   "newSz": ins.sz_str(sz), "newPx": ins.px_str(px)})

    def ws_reply(self, payload: bytes) -> tuple[str, Reply] | None:
        if payload == b"pong":
            return None
        d = orjson.loads(payload)
        if not isinstance(d, dict) or "id" not in d or "op" not in d or "code" not in d:
            return None
        return str(d["id"]), self._code(str(d["code"]), d.get("data") or [])
