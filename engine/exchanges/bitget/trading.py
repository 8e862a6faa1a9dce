# SPDX-License-Identifier: Apache-2.0
"""Bitget v2 order APIs (USDT-FUTURES, one-way mode): REST orders (Bitget v2 has no WebSocket
trade op we use, so every order goes over REST) and the private ``orders``/``positions`` channels.

New orders are encoded and signed by the compiled engine.orders encoder; cancels, amends and
queries use engine.signing's header recipe (timestamp + METHOD + path[?query] + body, base64).
Bitget v2 has no cancel-all for a symbol in our simulator, so cancel-all cancels each open order.
No dead-man switch.
"""
from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import orjson

from engine.instruments import Venue
from engine.router import (classify_error, OK, REJECT, UNKNOWN, FillReport, OrderReport, PositionReport,
                           Reply, Request, TradingAdapter)
from engine.signing import bitget_headers, bitget_ws_login
from engine.state import CANCELED, FILLED, NEW, PARTIALLY_FILLED, Fill

_STATUS = {"live": NEW, "new": NEW, "partially_filled": PARTIALLY_FILLED, "filled": FILLED,
           "canceled": CANCELED, "cancelled": CANCELED}
_TIF_IN = {"gtc": 1, "ioc": 2, "fok": 3, "post_only": 4}
_NOT_FOUND = {"40768", "40109", "43001", "43025"}
_RATE = {"429", "40014"}
_UNKNOWN = {"40010", "40725", "45001"}


class BitgetTrading(TradingAdapter):
    venue = Venue.BITGET
    has_ws_trade = False
    clock_error_codes = frozenset({"40008"})
    product = "USDT-FUTURES"

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self._last_ping = 0.0

    def _req(self, method: str, path: str, params: dict[str, Any] | None = None,
             body: dict[str, Any] | None = None, is_order: bool = False) -> Request:
        ts = self.clock.server_ms()
        q = urlencode(params) if params else ""
        b = orjson.dumps(body).decode() if body is not None else ""
        return Request(method, path, q, b, bitget_headers(self.signer, self.api_key, self.passphrase, ts,
                                                          method, path, q, b), 1, is_order, ts)

    def _base(self, inst: int) -> dict[str, Any]:
        return {"symbol": self.instruments[inst].symbol, "productType": self.product, "marginCoin": "USDT"}

    # ---- requests ---------------------------------------------------------------------------
    def cancel(self, o: Any) -> Request:
        return self._req("POST", "/api/v2/mix/order/cancel-order",
                         body={**self._base(o.inst), "clientOid": o.client_oid})

    def amend(self, o: Any, px: int, sz: int) -> Request:
        ins = self.instruments[o.inst]
        return self._req("POST", "/api/v2/mix/order/modify-order", body={
            **self._base(o.inst), "clientOid": o.client_oid, "newSize": ins.sz_str(sz),
            "newPrice": ins.px_str(px)}, is_order=True)

    def cancel_all(self, inst: int) -> Request | None:
        return None

    def query(self, o: Any) -> Request:
        return self._req("GET", "/api/v2/mix/order/detail", {"symbol": self.instruments[o.inst].symbol,
                                                             "productType": self.product,
                                                             "clientOid": o.client_oid})

    def query_by_venue_id(self, inst: int, venue_order_id: str) -> Request:
        return self._req("GET", "/api/v2/mix/order/detail", {"symbol": self.instruments[inst].symbol,
                                                             "productType": self.product,
                                                             "orderId": venue_order_id})

    def open_orders(self) -> Request:
        return self._req("GET", "/api/v2/mix/order/orders-pending", {"productType": self.product})

    trades_limit = 100                  # rows per trade-list page (venue maximum)

    def trades(self, inst: int, since_ms: int | None, page: str | None) -> Request:
        """/api/v2/mix/order/fills, newest first, paged towards older rows with
        ``idLessThan`` = the previous page's ``endId``; ``startTime`` bounds the window."""
        p: dict[str, Any] = {"symbol": self.instruments[inst].symbol, "productType": self.product,
                             "limit": self.trades_limit}
        if since_ms is not None:
            p["startTime"] = max(0, since_ms)
        if page:
            p["idLessThan"] = page
        return self._req("GET", "/api/v2/mix/order/fills", p)

    def trades_next(self, reply: Reply, n: int, page: str | None) -> str | None:
        d = reply.data or {}
        if n < self.trades_limit or not d.get("endId"):
            return None
        return str(d["endId"])

    def positions(self) -> Request:
        return self._req("GET", "/api/v2/mix/position/all-position", {"productType": self.product,
                                                                      "marginCoin": "USDT"})

    def server_time(self) -> Request:
        return Request("GET", "/api/v2/public/time", "", "", {}, 1, False)

    def parse_server_time(self, body: bytes) -> int:
        return int(orjson.loads(body)["data"]["serverTime"])

    # ---- answers ----------------------------------------------------------------------------
    def classify(self, status: int, body: bytes) -> Reply:
        if status >= 500:
            return Reply(UNKNOWN, reason=f"http {status}")
        try:
            d = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return Reply(UNKNOWN, reason=f"http {status}: unparsable body")
        if status == 429:
            return Reply(REJECT, reason="429", rate_limited=True)
        if not isinstance(d, dict) or "code" not in d:
            return Reply(UNKNOWN, reason=f"http {status}")
        code = str(d["code"])
        if code == "00000":
            return Reply(OK, data=d.get("data"))
        return classify_error(code, not_found=_NOT_FOUND, rate=_RATE, unknown=_UNKNOWN)

    def order_report(self, d: dict[str, Any]) -> OrderReport:
        ins = self.by_symbol[d.get("symbol") or d["instId"]]
        st = d.get("status", d.get("state", ""))
        return OrderReport(
            str(d.get("clientOid", "")), _STATUS.get(st),
            ins.sz_to_units(d["accBaseVolume"]) if d.get("accBaseVolume") not in (None, "") else None,
            str(d.get("orderId", "")), inst=ins.id,
            side=1 if d.get("side") == "buy" else -1 if d.get("side") == "sell" else 0,
            ord_type=2 if d.get("orderType") == "market" else 1, tif=_TIF_IN.get(d.get("force", "gtc"), 1),
            flags=1 if str(d.get("reduceOnly", "no")).lower() == "yes" else 0,
            px=ins.px_to_units(d["price"]) if d.get("price") not in (None, "", "0") else None,
            sz=ins.sz_to_units(d["size"]) if d.get("size") else None)

    def reports_of(self, reply: Reply) -> list[OrderReport]:
        d = reply.data
        if isinstance(d, dict) and "entrustedList" in d:
            return [self.order_report(x) for x in d["entrustedList"] or []]
        if isinstance(d, dict) and ("status" in d or "state" in d):
            return [self.order_report(d)]
        if isinstance(d, dict) and d.get("clientOid"):
            return [OrderReport(str(d["clientOid"]), None, None, str(d.get("orderId", "")))]
        return []

    def fills_of(self, inst: int, reply: Reply) -> list[tuple[Fill, str]]:
        ins = self.instruments[inst]
        out = []
        for t in (reply.data or {}).get("fillList") or []:
            fee = sum(-float(x.get("totalFee", x.get("fee", 0)) or 0) for x in t.get("feeDetail") or [])
            out.append((Fill(int(self.venue), f"{ins.symbol}:{t['tradeId']}", "", ins.id,
                             1 if t["side"] == "buy" else -1, ins.px_to_units(t["price"]),
                             ins.sz_to_units(t["baseVolume"]), fee, t.get("tradeScope") == "maker",
                             int(t.get("cTime", 0) or 0)), str(t.get("orderId", ""))))
        return out

    def _position(self, p: dict[str, Any]) -> PositionReport | None:
        ins = self.by_symbol.get(p.get("symbol") or p.get("instId", ""))
        if ins is None:
            return None
        sz = ins.sz_to_units(p.get("total", "0") or "0")
        return PositionReport(ins.id, -sz if p.get("holdSide") == "short" else sz,
                              float(p.get("openPriceAvg") or 0))

    def positions_of(self, reply: Reply) -> list[PositionReport]:
        got = [p for p in (self._position(x) for x in reply.data or []) if p is not None]
        seen = {p.inst for p in got}
        return got + [PositionReport(i, 0, 0.0) for i in self.instruments if i not in seen]

    # ---- private stream ---------------------------------------------------------------------
    def user_url(self, token: str) -> str:
        return self.endpoints.ws_private

    def user_login_frames(self) -> list[bytes]:
        arg = {"instType": self.product, "instId": "default"}
        return [orjson.dumps(bitget_ws_login(self.signer, self.api_key, self.passphrase,
                                             self.clock.server_ms() // 1000)),
                orjson.dumps({"op": "subscribe", "args": [{**arg, "channel": "orders"},
                                                          {**arg, "channel": "positions"}]})]

    def user_ping(self) -> bytes | None:
        now = time.monotonic()
        if now - self._last_ping < 25.0:
            return None
        self._last_ping = now
        return b"ping"

    def parse_user(self, payload: bytes) -> list[Any]:
        if payload == b"pong":
            return []
        d = orjson.loads(payload)
        if not isinstance(d, dict):
            return []
        if d.get("event") == "error" and int(d.get("code", 0) or 0) in (30004, 30011, 30012, 30013,
                                                                        30014, 30015):
            raise ConnectionError(f"bitget private login failed: {d.get('code')}")
        ch = (d.get("arg") or {}).get("channel")
        out: list[Any] = []
        if ch == "orders":
            for o in d.get("data") or []:
                ins = self.by_symbol.get(o.get("instId", ""))
                if ins is None:
                    continue
                if o.get("tradeId") and o.get("baseVolume") not in (None, "", "0"):
                    out.append(FillReport(Fill(int(self.venue), f"{ins.symbol}:{o['tradeId']}",
                                               str(o.get("clientOid", "")), ins.id,
                                               1 if o["side"] == "buy" else -1,
                                               ins.px_to_units(o["fillPrice"]), ins.sz_to_units(o["baseVolume"]),
                                               -float(o.get("fillFee", "0") or 0), o.get("tradeScope") == "M",
                                               int(o.get("fillTime") or 0))))
                out.append(self.order_report(o))
        elif ch == "positions":
            out = [p for p in (self._position(x) for x in d.get("data") or []) if p is not None]
        return out
