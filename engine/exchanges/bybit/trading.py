# SPDX-License-Identifier: Apache-2.0
"""Bybit v5 order APIs (linear perpetuals): REST, the /v5/trade WebSocket and the private stream.

New orders are encoded and signed by the compiled engine.orders encoder; cancels, amends and
queries use engine.signing's header recipe (timestamp + key + recv_window + payload). The ack of
``order.create`` only says the request was accepted for processing: the private ``order`` stream is
the source of truth for the order state, ``execution`` for fills, ``position`` for positions.
Dead-man switch: Bybit's disconnect-cancel (DCP) is not implemented by our simulator, so the
router keeps none for Bybit.
"""
from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import orjson

from engine.instruments import Venue
from engine.router import (classify_error, NOT_FOUND, OK, REJECT, UNKNOWN, FillReport, OrderReport, PositionReport,
                           Reply, Request, TradingAdapter)
from engine.signing import bybit_headers, bybit_ws_auth
from engine.state import CANCELED, EXPIRED, FILLED, NEW, PARTIALLY_FILLED, REJECTED, Fill

_STATUS = {"New": NEW, "PartiallyFilled": PARTIALLY_FILLED, "Filled": FILLED, "Cancelled": CANCELED,
           "Rejected": REJECTED, "PartiallyFilledCanceled": CANCELED, "Deactivated": CANCELED,
           "Untriggered": NEW, "Triggered": NEW, "Active": NEW, "Expired": EXPIRED}
_TIF_IN = {"GTC": 1, "IOC": 2, "FOK": 3, "PostOnly": 4}
_TIF_OUT = {1: "GTC", 2: "IOC", 3: "FOK", 4: "PostOnly"}
_NOT_FOUND = {110001, 110008, 170213}
_RATE = {10006, 10018, 10429}
_UNKNOWN = {10016, 10019, 10000}


class BybitTrading(TradingAdapter):
    venue = Venue.BYBIT
    has_ws_trade = True
    clock_error_codes = frozenset({"10002"})
    category = "linear"

    def _get(self, path: str, params: dict[str, Any], weight: int = 1) -> Request:
        ts = self.clock.server_ms()
        q = urlencode(params)
        return Request("GET", path, q, "", bybit_headers(self.signer, self.api_key, ts,
                                                         self.recv_window_ms, q), weight, False, ts)

    def _post(self, path: str, body: dict[str, Any], is_order: bool = True) -> Request:
        ts = self.clock.server_ms()
        b = orjson.dumps(body).decode()
        return Request("POST", path, "", b, bybit_headers(self.signer, self.api_key, ts,
                                                          self.recv_window_ms, b), 1, is_order, ts)

    def _sym(self, inst: int) -> str:
        return self.instruments[inst].symbol

    # ---- requests ---------------------------------------------------------------------------
    def cancel(self, o: Any) -> Request:
        return self._post("/v5/order/cancel", {"category": self.category, "symbol": self._sym(o.inst),
                                               "orderLinkId": o.client_oid}, False)

    def amend(self, o: Any, px: int, sz: int) -> Request:
        ins = self.instruments[o.inst]
        return self._post("/v5/order/amend", {"category": self.category, "symbol": ins.symbol,
                                              "orderLinkId": o.client_oid, "qty": ins.sz_str(sz),
                                              "price": ins.px_str(px)})

    def cancel_all(self, inst: int) -> Request:
        return self._post("/v5/order/cancel-all", {"category": self.category, "symbol": self._sym(inst)},
                          False)

    def query(self, o: Any) -> Request:
        return self._get("/v5/order/realtime", {"category": self.category, "symbol": self._sym(o.inst),
                                                "orderLinkId": o.client_oid})

    def query_by_venue_id(self, inst: int, venue_order_id: str) -> Request:
        return self._get("/v5/order/realtime", {"category": self.category, "symbol": self._sym(inst),
                                                "orderId": venue_order_id})

    def open_orders(self) -> Request:
        return self._get("/v5/order/realtime", {"category": self.category, "settleCoin": "USDT",
                                                "openOnly": 0, "limit": 50})

    trades_limit = 100                  # rows per trade-list page (venue maximum)

    def trades(self, inst: int, since_ms: int | None, page: str | None) -> Request:
        """/v5/execution/list, newest first, paged by nextPageCursor. With startTime only, Bybit
        answers a 7-day window from it; without, the last 7 days (older executions are not
        recoverable from this endpoint)."""
        p: dict[str, Any] = {"category": self.category, "symbol": self._sym(inst),
                             "limit": self.trades_limit}
        if since_ms is not None and self.clock.server_ms() - since_ms < 7 * 86_400_000 - 60_000:
            p["startTime"] = max(0, since_ms)
        if page:
            p["cursor"] = page
        return self._get("/v5/execution/list", p)

    def trades_next(self, reply: Reply, n: int, page: str | None) -> str | None:
        return str((reply.data or {}).get("nextPageCursor") or "") or None

    def positions(self) -> Request:
        return self._get("/v5/position/list", {"category": self.category, "settleCoin": "USDT"})

    #: DCP is a setting, not a heartbeat: the open private connection keeps it from firing, so
    #: the router re-sends it only now and then (in case the venue-side setting was reset)
    deadman_period_s = 60.0

    def deadman(self, timeout_ms: int) -> list[Request]:
        """Disconnection protect: the venue cancels all DERIVATIVES orders once our private
        connections are gone for ``timeWindow`` seconds (10..300)."""
        sec = min(300, max(10, -(-timeout_ms // 1000)))
        return [self._post("/v5/order/disconnected-cancel-all",
                           {"product": "DERIVATIVES", "timeWindow": sec}, is_order=False)]

    def server_time(self) -> Request:
        return Request("GET", "/v5/market/time", "", "", {}, 1, False)

    def parse_server_time(self, body: bytes) -> int:
        return int(orjson.loads(body)["result"]["timeNano"]) // 1_000_000

    # ---- answers ----------------------------------------------------------------------------
    def classify(self, status: int, body: bytes) -> Reply:
        if status >= 500:
            return Reply(UNKNOWN, reason=f"http {status}")
        try:
            d = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return Reply(UNKNOWN, reason=f"http {status}: unparsable body")
        if status in (429, 403):
            return Reply(REJECT, reason=f"http {status}", rate_limited=True)
        if not isinstance(d, dict) or "retCode" not in d:
            return Reply(UNKNOWN, reason=f"http {status}")
        return self._code(int(d["retCode"]), d.get("result"))

    def _code(self, code: int, data: Any) -> Reply:
        if code == 0:
            return Reply(OK, data=data)
        return classify_error(code, not_found=_NOT_FOUND, rate=_RATE, unknown=_UNKNOWN)

    def order_report(self, d: dict[str, Any]) -> OrderReport:
        ins = self.by_symbol[d["symbol"]]
        return OrderReport(
            str(d.get("orderLinkId", "")), _STATUS.get(d.get("orderStatus", "")),
            ins.sz_to_units(d["cumExecQty"]) if d.get("cumExecQty") not in (None, "") else None,
            str(d.get("orderId", "")), str(d.get("rejectReason", "")) if d.get("rejectReason") not in
            (None, "", "EC_NoError") else "", inst=ins.id,
            side=1 if d.get("side") == "Buy" else -1 if d.get("side") == "Sell" else 0,
            ord_type=2 if d.get("orderType") == "Market" else 1,
            tif=_TIF_IN.get(d.get("timeInForce", "GTC"), 1), flags=1 if d.get("reduceOnly") else 0,
            px=ins.px_to_units(d["price"]) if d.get("price") not in (None, "", "0") else None,
            sz=ins.sz_to_units(d["qty"]) if d.get("qty") else None)

    def reports_of(self, reply: Reply) -> list[OrderReport]:
        d = reply.data
        if not isinstance(d, dict):
            return []
        if "list" in d and isinstance(d["list"], list):
            return [self.order_report(x) for x in d["list"] if "orderStatus" in x]
        if "orderLinkId" in d and d.get("orderLinkId"):
            # an ack: accepted for processing, state comes from the order stream
            return [OrderReport(str(d["orderLinkId"]), None, None, str(d.get("orderId", "")))]
        return []

    def query_result(self, reply: Reply) -> Reply:
        """/v5/order/realtime answers an unknown orderLinkId with an empty list."""
        if reply.outcome == OK and isinstance(reply.data, dict) and reply.data.get("list") == []:
            return Reply(NOT_FOUND, reason="empty list")
        return reply

    def fills_of(self, inst: int, reply: Reply) -> list[tuple[Fill, str]]:
        ins = self.instruments[inst]
        out = []
        for t in (reply.data or {}).get("list", []):
            if t.get("execType", "Trade") != "Trade":
                continue
            out.append((self._fill(ins, t), str(t.get("orderId", ""))))
        return out

    def _fill(self, ins: Any, t: dict[str, Any]) -> Fill:
        return Fill(int(self.venue), f"{ins.symbol}:{t['execId']}", str(t.get("orderLinkId", "")), ins.id,
                    1 if t["side"] == "Buy" else -1, ins.px_to_units(t["execPrice"]),
                    ins.sz_to_units(t["execQty"]), float(t.get("execFee", "0") or 0),
                    bool(t.get("isMaker", False)), int(t.get("execTime", 0) or 0))

    def positions_of(self, reply: Reply) -> list[PositionReport]:
        out = []
        for p in (reply.data or {}).get("list", []):
            ins = self.by_symbol.get(p.get("symbol", ""))
            if ins is None:
                continue
            sz = ins.sz_to_units(p.get("size", "0") or "0")
            out.append(PositionReport(ins.id, sz if p.get("side") != "Sell" else -sz,
                                      float(p.get("avgPrice", 0) or 0)))
        return out

    # ---- private stream ---------------------------------------------------------------------
    _last_ping = 0.0

    def user_url(self, token: str) -> str:
        return self.endpoints.ws_private

    def user_login_frames(self) -> list[bytes]:
        exp = self.clock.server_ms() + 10_000
        return [orjson.dumps(bybit_ws_auth(self.signer, self.api_key, exp)),
                orjson.dumps({"op": "subscribe", "req_id": "sub",
                              "args": ["order", "execution", "position"]})]

    def user_ping(self) -> bytes | None:
        now = time.monotonic()
        if now - self._last_ping < 15.0:
            return None
        self._last_ping = now
        return b'{"op":"ping"}'

    def parse_user(self, payload: bytes) -> list[Any]:
        d = orjson.loads(payload)
        if not isinstance(d, dict):
            return []
        if d.get("op") == "auth" and d.get("success") is False:
            raise ConnectionError(f"bybit private auth failed: {d.get('ret_msg')}")
        topic = d.get("topic", "")
        data = d.get("data") or []
        out: list[Any] = []
        if topic.startswith("execution") and topic != "execution.fast":
            for t in data:
                ins = self.by_symbol.get(t.get("symbol", ""))
                if ins is not None and t.get("execType", "Trade") == "Trade":
                    out.append(FillReport(self._fill(ins, t)))
        elif topic.startswith("order"):
            out = [self.order_report(x) for x in data if x.get("symbol") in self.by_symbol]
        elif topic.startswith("position"):
            for p in data:
                ins = self.by_symbol.get(p.get("symbol", ""))
                if ins is not None:
                    sz = ins.sz_to_units(p.get("size", "0") or "0")
                    out.append(PositionReport(ins.id, sz if p.get("side") != "Sell" else -sz,
                                              float(p.get("avgPrice", 0) or 0)))
        return out

    # ---- /v5/trade ----------------------------------------------------------------------
    def ws_url(self) -> str:
        return self.endpoints.ws_trade

    def ws_login_frames(self, req_id: str) -> list[tuple[bytes, bool]]:
        exp = self.clock.server_ms() + 10_000
        return [(orjson.dumps(bybit_ws_auth(self.signer, self.api_key, exp)), True)]

    def ws_login_ok(self, payload: bytes) -> bool:
        d = orjson.loads(payload)
        return isinstance(d, dict) and d.get("op") == "auth" and d.get("retCode", 1) == 0

    def _ws_op(self, req_id: str, op: str, arg: dict[str, Any]) -> tuple[str, bytes, int]:
        ts = self.clock.server_ms()
        return req_id, orjson.dumps({"reqId": req_id, "header": {
            "X-BAPI-TIMESTAMP": str(ts), "X-BAPI-RECV-WINDOW": str(self.recv_window_ms)},
            "op": op, "args": [arg]}), ts

    def ws_cancel(self, req_id: str, o: Any) -> tuple[str, bytes, int]:
        return self._ws_op(req_id, "order.cancel", {"category": self.category, "symbol": self._sym(o.inst),
                                                    "orderLinkId": o.client_oid})

    def ws_amend(self, req_id: str, o: Any, px: int, sz: int) -> tuple[str, bytes, int]:
        ins = self.instruments[o.inst]
        return self._ws_op(req_id, "order.amend", {"category": self.category, "symbol": ins.symbol,
                                                   "orderLinkId": o.client_oid, "qty": ins.sz_str(sz),
                                                   "price": ins.px_str(px)})

    def ws_reply(self, payload: bytes) -> tuple[str, Reply] | None:
        d = orjson.loads(payload)
        if not isinstance(d, dict) or "reqId" not in d or "retCode" not in d:
            return None
        return str(d["reqId"]), self._code(int(d["retCode"]), d.get("data"))
