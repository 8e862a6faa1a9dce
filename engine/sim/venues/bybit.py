# SPDX-License-Identifier: Apache-2.0
"""Bybit v5 (linear) protocol server: public streams (orderbook.N snapshot+delta with u/seq,
publicTrade, tickers snapshot+delta), private stream (auth, order/execution/position/wallet),
order entry WebSocket (/v5/trade) and REST with X-BAPI-* signing."""
from __future__ import annotations

import asyncio
import hmac
import secrets
import time
import uuid
from typing import Any

import orjson
from aiohttp import web

from engine.sim.auth import bybit_sign, hmac_hex
from engine.sim.matching import Fill, Market, Order, Reject, to_units
from engine.sim.server import Conn
from engine.sim.venues.common import JsonVenue, TopicBook, VenueError, dumps, now_ms

DEPTHS = (1, 50, 200, 500, 1000)


def oid_str(order_id: int) -> str:
    """Bybit linear order ids are UUID strings."""
    return str(uuid.UUID(int=order_id))


_EXEC_NS = uuid.UUID("6f1c2d0e-7a55-4c1b-9a0e-5b1d2c3e4f50")


def exec_id(fill: Fill) -> str:
    """Execution id of one fill: a UUID like Bybit's, derived from (symbol, trade id) so the
    execution stream and /v5/execution/list report the same id for the same fill."""
    return str(uuid.uuid5(_EXEC_NS, f"{fill.order.symbol}:{fill.trade_id}"))
STATUS = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled",
          "CANCELED": "Cancelled", "EXPIRED": "Cancelled", "REJECTED": "Rejected"}
TIF_IN = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "POSTONLY": "GTX"}
TIF_OUT = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "GTX": "PostOnly"}


class Bybit(JsonVenue):
    futures = True
    book_interval_ms = 20
    client_idle_timeout = 600.0

    def __init__(self, sim: Any, spec: Any) -> None:
        self.private: dict[str, set[Conn]] = {}
        self.tick_pub: dict[str, dict[str, str]] = {}
        self.seq = 10_000_000
        # disconnection protect (DCP) for DERIVATIVES: window in s, countdown, times it fired
        self.dcp_window: int | None = None
        self.dcp_timer: asyncio.TimerHandle | None = None
        self.dcp_fired = 0
        super().__init__(sim, spec)

    def endpoints(self) -> dict[str, str]:
        ws = f"ws://{self.host}:{self.port}"
        return {"rest": f"http://{self.host}:{self.port}", "ws_public": ws + "/v5/public/linear",
                "ws_private": ws + "/v5/private", "ws_trade": ws + "/v5/trade"}

    def setup_routes(self) -> None:
        r = self.app.router
        r.add_get("/v5/public/linear", self.ws_public)
        r.add_get("/v5/private", self.ws_private)
        r.add_get("/v5/trade", self.ws_trade)
        r.add_get("/v5/market/time", self.rest(self.r_time, signed=False))
        r.add_get("/v5/market/orderbook", self.rest(self.r_orderbook, signed=False))
        r.add_get("/v5/market/tickers", self.rest(self.r_tickers, signed=False))
        r.add_get("/v5/market/instruments-info", self.rest(self.r_instruments, signed=False))
        r.add_post("/v5/order/create", self.rest(self.r_create, order=True))
        r.add_post("/v5/order/cancel", self.rest(self.r_cancel, order=True))
        r.add_post("/v5/order/amend", self.rest(self.r_amend, order=True))
        r.add_post("/v5/order/cancel-all", self.rest(self.r_cancel_all, order=True))
        r.add_get("/v5/order/realtime", self.rest(self.r_realtime))
        r.add_get("/v5/position/list", self.rest(self.r_positions))
        r.add_get("/v5/execution/list", self.rest(self.r_executions))
        r.add_post("/v5/order/disconnected-cancel-all", self.rest(self.r_dcp))
        r.add_get("/v5/account/wallet-balance", self.rest(self.r_wallet))

    # ------------------------------------------------------------------ auth / REST --------
    def check_ts(self, ts: str | None, recv: str | None) -> None:
        try:
            t = int(ts or "")
            rw = int(recv or "5000")
        except ValueError:
            raise VenueError(10001, "Request parameter error.") from None
        now = now_ms()
        if not (now - rw <= t < now + 1000):
            raise VenueError(10002, f"invalid request, please check your server timestamp or "
                             f"recv_window param. req_timestamp[{t}],server_timestamp[{now}],"
                             f"recv_window[{rw}]")

    def rest(self, fn: Any, signed: bool = True, order: bool = False) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            if order:
                self.record_order_arrival()
            body = await request.text() if request.can_read_body else ""
            raw_q = request.raw_path.partition("?")[2]
            lim = {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "9",
                   "X-Bapi-Limit-Reset-Timestamp": str(now_ms() + 1000)}
            try:
                if signed:
                    h = request.headers
                    key = h.get("X-BAPI-API-KEY")
                    if not key or key != self.spec.api_key:
                        raise VenueError(10003, "API key is invalid.", 401 if not key else 200)
                    ts, rw = h.get("X-BAPI-TIMESTAMP"), h.get("X-BAPI-RECV-WINDOW", "5000")
                    self.check_ts(ts, rw)
                    payload = raw_q if request.method == "GET" else body
                    want = bybit_sign(self.spec.secret, ts or "", key, rw, payload)
                    if not hmac.compare_digest(want, (h.get("X-BAPI-SIGN") or "").lower()):
                        raise VenueError(10004, f"error sign! origin_string[{ts}{key}{rw}{payload}]")
                if request.method == "GET":
                    from urllib.parse import parse_qsl
                    params: dict[str, Any] = dict(parse_qsl(raw_q))
                else:
                    try:
                        params = orjson.loads(body or "{}")
                        if not isinstance(params, dict):
                            raise ValueError
                    except ValueError:
                        raise VenueError(10001, "Request parameter error.") from None
                if order:
                    f = await self.order_fault(lambda: fn(params))
                    if f is not None:
                        name, p = f
                        if name == "rate_limit":
                            return self.json_response({"retCode": 10006, "retMsg": "Too many visits!",
                                                       "result": {}, "retExtInfo": {}, "time": now_ms()},
                                                      int(p.get("status", 200)), dict(lim, **{"X-Bapi-Limit-Status": "0"}))
                        return self.json_response({"retCode": 10016, "retMsg": "Internal server error.",
                                                   "result": {}, "retExtInfo": {}, "time": now_ms()},
                                                  int(p.get("status", 503)))
                result = fn(params)
                return self.json_response({"retCode": 0, "retMsg": "OK", "result": result,
                                           "retExtInfo": {}, "time": now_ms()}, headers=lim)
            except VenueError as e:
                return self.json_response({"retCode": e.code, "retMsg": e.msg, "result": {},
                                           "retExtInfo": {}, "time": now_ms()}, e.status, lim)
            except (KeyError, TypeError, ValueError, AttributeError):
                return self.json_response({"retCode": 10001, "retMsg": "Request parameter error.",
                                           "result": {}, "retExtInfo": {}, "time": now_ms()}, 200, lim)
        return handler

    def market_of(self, p: dict[str, Any]) -> Market:
        cat = p.get("category")
        if not cat:
            raise VenueError(10001, "Missing category.")   # sim wording; v5 requires category
        if cat != "linear":
            raise VenueError(10001, f"category {cat} is not simulated (linear only).")
        m = self.engine.markets.get(str(p.get("symbol", "")))
        if m is None:
            raise VenueError(10001, "params error: symbol invalid")
        return m

    def map_reject(self, e: Reject) -> VenueError:
        table = {"MARGIN": (110007, "ab not enough for new order"),
                 "BALANCE": (110007, "ab not enough for new order"),
                 "REDUCE_ONLY": (110017, "current position is zero, cannot fix reduce-only order qty"),
                 "DUPLICATE": (110072, "OrderLinkedID is duplicate"),
                 "UNKNOWN_ORDER": (110001, "order not exists or too late to cancel"),
                 "TICK_SIZE": (10001, "The price is not a multiple of tickSize."),
                 "PRECISION": (10001, "params error: qty or price has too many decimals"),
                 "LOT_SIZE": (10001, "The number of contracts exceeds minimum limit allowed"),
                 "MIN_QTY": (10001, "The number of contracts exceeds minimum limit allowed"),
                 "QTY_ZERO": (10001, "params error: qty must be greater than 0"),
                 "MIN_NOTIONAL": (110094, "Order does not meet minimum order value"),
                 "UNKNOWN_SYMBOL": (10001, "params error: symbol invalid")}
        code, msg = table.get(e.reason, (10001, e.reason))
        return VenueError(code, msg)

    # ------------------------------------------------------------------ orders -------------
    def create(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self.market_of(p)
        side = str(p.get("side", ""))
        if side not in ("Buy", "Sell"):
            raise VenueError(10001, "params error: side invalid")
        ot = str(p.get("orderType", ""))
        if ot not in ("Limit", "Market"):
            raise VenueError(10001, "params error: orderType invalid")
        tif = TIF_IN.get(str(p.get("timeInForce", "GTC")).upper())
        if tif is None:
            raise VenueError(10001, "params error: timeInForce invalid")
        try:
            qty = to_units(str(p.get("qty", "")), m.sz_exp)
            px = to_units(str(p["price"]), m.px_exp) if ot == "Limit" else 0
        except (Reject, KeyError) as e:
            raise VenueError(10001, "params error: qty or price invalid") from e
        link = str(p.get("orderLinkId") or "")
        if len(link) > 36:
            raise VenueError(10001, "params error: orderLinkId too long")
        try:
            o = self.engine.place(m.symbol, side.upper(), ot.upper(), qty, px, tif,
                                  link or secrets.token_hex(8), bool(p.get("reduceOnly", False)),
                                  extra={"link": link}, post_only_reject=False)
        except Reject as e:
            raise self.map_reject(e) from None
        return {"orderId": oid_str(o.order_id), "orderLinkId": link}

    def _find(self, p: dict[str, Any]) -> tuple[Market, int | None, str | None]:
        m = self.market_of(p)
        oid = p.get("orderId")
        link = p.get("orderLinkId")
        if not oid and not link:
            raise VenueError(10001, "params error: orderId or orderLinkId is required")
        try:
            num = uuid.UUID(str(oid)).int if oid else None
        except ValueError:
            raise VenueError(110001, "order not exists or too late to cancel") from None
        return m, num, (str(link) if link else None)

    def cancel(self, p: dict[str, Any]) -> dict[str, Any]:
        m, oid, link = self._find(p)
        try:
            o = self.engine.cancel(m.symbol, oid, link)
        except (Reject, ValueError):
            raise VenueError(110001, "order not exists or too late to cancel") from None
        return {"orderId": oid_str(o.order_id), "orderLinkId": o.extra.get("link", "")}

    def amend(self, p: dict[str, Any]) -> dict[str, Any]:
        m, oid, link = self._find(p)
        try:
            qty = to_units(str(p["qty"]), m.sz_exp) if p.get("qty") else None
            px = to_units(str(p["price"]), m.px_exp) if p.get("price") else None
            o = self.engine.amend(m.symbol, oid, link, qty, px)
        except Reject as e:
            if e.reason == "UNKNOWN_ORDER":
                raise VenueError(110001, "order not exists or too late to replace") from None
            raise self.map_reject(e) from None
        return {"orderId": oid_str(o.order_id), "orderLinkId": o.extra.get("link", "")}

    def order_json(self, o: Order) -> dict[str, Any]:
        m = self.engine.markets[o.symbol]
        avg = (o.quote_cum / (m.sz_dec(o.filled) * m.mult)) if o.filled else None
        status = STATUS[o.status]
        if o.status == "EXPIRED" and o.filled:
            status = "PartiallyFilledCanceled"
        return {"category": "linear", "symbol": o.symbol, "orderId": oid_str(o.order_id),
                "side": o.side.capitalize(), "orderType": o.type.capitalize(),
                "cancelType": "CancelByUser" if o.status == "CANCELED" and o.expire_reason != "POST_ONLY"
                else "UNKNOWN", "price": self.px(m, o.px), "qty": self.sz(m, o.qty), "orderIv": "",
                "timeInForce": TIF_OUT[o.tif], "orderStatus": status,
                "orderLinkId": o.extra.get("link", ""), "lastPriceOnCreated": self.px(m, m.last_trade_px),
                "reduceOnly": o.reduce_only, "leavesQty": self.sz(m, o.leaves if o.is_open else 0),
                "leavesValue": self.dec(m.px_dec(o.px) * m.sz_dec(o.leaves if o.is_open else 0) * m.mult),
                "cumExecQty": self.sz(m, o.filled), "cumExecValue": self.dec(o.quote_cum),
                "avgPrice": self.dec(avg, m.px_out) if avg is not None else "0", "blockTradeId": "",
                "positionIdx": 0, "isLeverage": "0", "cumExecFee": self.dec(o.fee_cum),
                "createdTime": str(o.created_ms),
                "updatedTime": str(o.updated_ms),
                "rejectReason": "EC_PostOnlyWillTakeLiquidity" if o.expire_reason == "POST_ONLY" else
                "EC_NoError", "triggerPrice": "0", "takeProfit": "0", "stopLoss": "0",
                "tpTriggerBy": "", "slTriggerBy": "", "tpLimitPrice": "0", "slLimitPrice": "0",
                "triggerDirection": 0, "triggerBy": "", "closeOnTrigger": False, "placeType": "",
                "smpType": "None", "smpGroup": 0, "smpOrderId": "", "feeCurrency": "",
                "stopOrderType": "", "tpslMode": "", "createType": "CreateByUser"}

    def r_time(self, p: dict[str, Any]) -> dict[str, Any]:
        t = time.time_ns()
        return {"timeSecond": str(t // 10**9), "timeNano": str(t)}

    def r_orderbook(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self.market_of(p)
        limit = int(p.get("limit") or 25)
        if not 1 <= limit <= 500:
            raise VenueError(10001, "params error: limit invalid")
        bids, asks = m.levels(0, limit), m.levels(1, limit)
        t = now_ms()
        tb = self.books.get((m.symbol, "orderbook", 500))
        return {"s": m.symbol, "b": [[self.px(m, a), self.sz(m, b)] for a, b in bids],
                "a": [[self.px(m, a), self.sz(m, b)] for a, b in asks], "ts": t,
                "u": tb.seq if tb else m.update_id, "seq": m.update_id, "cts": t}

    def r_tickers(self, p: dict[str, Any]) -> dict[str, Any]:
        ms = [self.market_of(p)] if p.get("symbol") else list(self.engine.markets.values())
        return {"category": "linear", "list": [self.ticker(m) for m in ms]}

    def r_instruments(self, p: dict[str, Any]) -> dict[str, Any]:
        out = []
        for m in self.engine.markets.values():
            s = m.spec
            out.append({"symbol": s.symbol, "contractType": "LinearPerpetual", "status": "Trading",
                        "baseCoin": s.base, "quoteCoin": s.quote, "settleCoin": s.quote,
                        "priceScale": str(m.px_out),
                        "priceFilter": {"minPrice": s.tick_size, "maxPrice": "1999999.80",
                                        "tickSize": s.tick_size},
                        "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": s.min_qty,
                                          "qtyStep": s.lot_size, "minNotionalValue": s.min_notional}})
        return {"category": "linear", "list": out, "nextPageCursor": ""}

    def r_create(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.create(p)

    def r_cancel(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.cancel(p)

    def r_amend(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.amend(p)

    def r_cancel_all(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self.market_of(p)
        done = self.engine.cancel_all(m.symbol)
        return {"list": [{"orderId": oid_str(o.order_id), "orderLinkId": o.extra.get("link", "")}
                         for o in done], "success": "1"}

    def r_realtime(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("category") != "linear":
            raise VenueError(10001, "params error: category invalid")
        sym = p.get("symbol")
        orders = list(self.engine.orders.values())
        if p.get("orderId"):
            orders = [o for o in orders if oid_str(o.order_id) == p["orderId"]]
        elif p.get("orderLinkId"):
            orders = [o for o in orders if o.extra.get("link") == p["orderLinkId"]]
        elif str(p.get("openOnly", "0")) == "0":
            orders = [o for o in orders if o.is_open]
        if sym:
            orders = [o for o in orders if o.symbol == sym]
        return {"category": "linear", "list": [self.order_json(o) for o in reversed(orders)],
                "nextPageCursor": ""}

    def r_executions(self, p: dict[str, Any]) -> dict[str, Any]:
        """GET /v5/execution/list: our executions, newest first. startTime/endTime (ms) bound the
        window (only one given: a 7-day window from it; none: the last 7 days); ``cursor`` is the
        ``nextPageCursor`` of the previous page ("" when there is no more)."""
        if p.get("category") != "linear":
            raise VenueError(10001, "params error: category invalid")
        sym = p.get("symbol") or None
        if sym is not None and sym not in self.engine.markets:
            raise VenueError(10001, "params error: symbol invalid")
        limit = int(p.get("limit") or 50)
        if not 1 <= limit <= 100:
            raise VenueError(10001, "params error: limit must be in [1, 100]")
        week = 7 * 86_400_000
        start = int(p["startTime"]) if p.get("startTime") else None
        end = int(p["endTime"]) if p.get("endTime") else None
        if start is None and end is None:
            end = now_ms()
        if start is None:
            start = end - week
        if end is None:
            end = start + week
        if end < start or end - start > week:
            raise VenueError(10001, "params error: startTime/endTime window must be within 7 days")
        oid, link = p.get("orderId") or None, p.get("orderLinkId") or None
        cur = p.get("cursor") or ""
        try:
            below = int(cur) if cur else None
        except ValueError:
            raise VenueError(10001, "params error: cursor invalid") from None
        et = p.get("execType") or None
        if et not in (None, "Trade"):
            fs = []          # funding/settlement executions are not simulated
        else:
            fs = [f for f in reversed(self.engine.fills)
                  if (sym is None or f.order.symbol == sym) and start <= f.ts_ms <= end
                  and (below is None or f.seq < below)
                  and (oid is None or oid_str(f.order.order_id) == oid)
                  and (link is None or f.order.extra.get("link", "") == link)]
        page = fs[:limit]
        nxt = str(page[-1].seq) if len(fs) > limit else ""
        return {"nextPageCursor": nxt, "category": "linear",
                "list": [self.execution_json(f) for f in page]}

    def r_dcp(self, p: dict[str, Any]) -> dict[str, Any]:
        """POST /v5/order/disconnected-cancel-all (DCP): when every private connection of the
        account is gone for ``timeWindow`` s (10..300), all active orders of ``product`` are
        cancelled. Only connections subscribed to ``dcp.future`` count once any is; otherwise
        every authenticated private connection counts. Only DERIVATIVES (linear) is simulated."""
        product = str(p.get("product") or "OPTIONS")
        if product not in ("OPTIONS", "DERIVATIVES", "SPOT"):
            raise VenueError(10001, "params error: product invalid")
        if product != "DERIVATIVES":
            raise VenueError(10001, f"product {product} is not simulated (DERIVATIVES only).")
        try:
            tw = int(p["timeWindow"])
        except (KeyError, TypeError, ValueError):
            raise VenueError(10001, "params error: timeWindow invalid") from None
        if not 10 <= tw <= 300:
            raise VenueError(10001, "params error: timeWindow must be in [10, 300]")
        self.dcp_window = tw
        if self.dcp_timer is not None:          # a new window applies from now
            self.dcp_timer.cancel()
            self.dcp_timer = None
        self._dcp_check()
        return {}

    def _dcp_alive(self, closing: Conn | None = None) -> bool:
        dcp = self.private.get("dcp.future")
        if dcp:                                 # some connection asked for DCP: only those count
            return any(c is not closing for c in dcp)
        return any(c is not closing and c.kind == "user" and c.state.get("auth") for c in self.conns)

    def _dcp_check(self, closing: Conn | None = None) -> None:
        if self.dcp_window is None:
            return
        if self._dcp_alive(closing):
            if self.dcp_timer is not None:
                self.dcp_timer.cancel()
                self.dcp_timer = None
        elif self.dcp_timer is None:
            self.dcp_timer = asyncio.get_running_loop().call_later(self.dcp_window, self._dcp_fire)

    def _dcp_fire(self) -> None:
        self.dcp_timer = None
        self.dcp_fired += 1
        for sym in self.engine.markets:
            self.engine.cancel_all(sym)

    def execution_json(self, f: Fill) -> dict[str, Any]:
        o = f.order
        m = self.engine.markets[o.symbol]
        return {"symbol": o.symbol, "orderId": oid_str(o.order_id), "orderLinkId": o.extra.get("link", ""),
                "side": o.side.capitalize(), "orderPrice": self.px(m, o.px), "orderQty": self.sz(m, o.qty),
                "leavesQty": self.sz(m, o.leaves), "createType": "CreateByUser",
                "orderType": o.type.capitalize(), "stopOrderType": "", "execFee": self.dec(f.fee),
                "execId": exec_id(f), "execPrice": self.px(m, f.px), "execQty": self.sz(m, f.qty),
                "execType": "Trade", "execValue": self.dec(m.px_dec(f.px) * m.sz_dec(f.qty) * m.mult),
                "execTime": str(f.ts_ms), "feeCurrency": f.fee_asset, "isMaker": f.maker,
                "feeRate": self.dec(self.engine.maker_fee if f.maker else self.engine.taker_fee, 6),
                "tradeIv": "", "markIv": "", "markPrice": self.px(m, m.mark_px), "indexPrice": "",
                "underlyingPrice": "", "blockTradeId": "", "closedSize": "0", "seq": f.seq}

    def position_json(self, sym: str) -> dict[str, Any]:
        m = self.engine.markets[sym]
        pos = self.engine.positions[sym]
        size = abs(pos.amt)
        mark = m.px_dec(m.mark_px)
        return {"positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": sym,
                "side": "" if pos.amt == 0 else ("Buy" if pos.amt > 0 else "Sell"),
                "size": self.sz(m, size), "avgPrice": self.dec(pos.entry, m.px_out),
                "entryPrice": self.dec(pos.entry, m.px_out), "sessionAvgPrice": "",
                "positionValue": self.dec(m.sz_dec(size) * pos.entry * m.mult), "tradeMode": 0,
                "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator": 2 if size else 0,
                "leverage": str(self.engine.leverage), "positionBalance": "0",
                "markPrice": self.dec(mark, m.px_out), "liqPrice": "", "bustPrice": "",
                "positionMM": "0", "positionIM": self.dec(m.sz_dec(size) * mark * m.mult / self.engine.leverage),
                "positionIMByMp": self.dec(m.sz_dec(size) * mark * m.mult / self.engine.leverage),
                "positionMMByMp": "0",
                "tpslMode": "Full", "takeProfit": "0", "stopLoss": "0", "trailingStop": "0",
                "unrealisedPnl": self.dec(self.engine.unrealized(sym)), "curRealisedPnl": self.dec(pos.realized),
                "cumRealisedPnl": self.dec(pos.realized), "seq": self.seq, "isReduceOnly": False,
                "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "", "createdTime": str(self.started_ms),
                "updatedTime": str(now_ms()), "category": "linear"}

    def r_positions(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("category") != "linear":
            raise VenueError(10001, "params error: category invalid")
        syms = [p["symbol"]] if p.get("symbol") else list(self.engine.markets)
        return {"category": "linear", "list": [self.position_json(s) for s in syms
                                               if s in self.engine.markets], "nextPageCursor": ""}

    def r_wallet(self, p: dict[str, Any]) -> dict[str, Any]:
        e = self.engine
        w = e.wallet()
        return {"list": [{"accountType": "UNIFIED", "totalEquity": self.dec(w),
                          "totalWalletBalance": self.dec(w), "totalAvailableBalance": self.dec(e.available()),
                          "coin": [{"coin": a, "walletBalance": self.dec(v), "equity": self.dec(v)}
                                   for a, v in e.balances.items()]}]}

    # ------------------------------------------------------------------ WebSockets ---------
    def bad_request_frame(self, text: str) -> str:
        return dumps({"success": False, "ret_msg": "Invalid request: params error", "op": ""})

    def conn_id(self, conn: Conn) -> str:
        cid = conn.state.get("conn_id")
        if cid is None:
            cid = conn.state["conn_id"] = secrets.token_hex(10) + "-" + secrets.token_hex(2)
        return cid

    async def ws_public(self, request: web.Request) -> web.StreamResponse:
        return await self.ws_session(request, "public", self.on_public)

    async def ws_private(self, request: web.Request) -> web.StreamResponse:
        return await self.ws_session(request, "user", self.on_private)

    async def ws_trade(self, request: web.Request) -> web.StreamResponse:
        return await self.ws_session(request, "trade", self.on_trade)

    def _parse(self, conn: Conn, text: str) -> dict[str, Any] | None:
        self.touch_rx(conn)
        try:
            req = orjson.loads(text)
            if isinstance(req, dict):
                return req
        except orjson.JSONDecodeError:
            pass
        conn.send(dumps({"success": False, "ret_msg": "Invalid request: unable to parse",
                         "conn_id": self.conn_id(conn), "op": ""}))
        return None

    def on_public(self, conn: Conn, text: str) -> None:
        req = self._parse(conn, text)
        if req is None:
            return
        op, rid = req.get("op"), req.get("req_id", "")
        if op == "ping":
            conn.send(dumps({"success": True, "ret_msg": "pong", "conn_id": self.conn_id(conn),
                             "req_id": rid, "op": "ping"}))
            return
        if op not in ("subscribe", "unsubscribe"):
            conn.send(dumps({"success": False, "ret_msg": f"Invalid op: {op}", "conn_id": self.conn_id(conn),
                             "req_id": rid, "op": op}))
            return
        if self.replay_mode:      # the recording decides what arrives
            conn.send(dumps({"success": True, "ret_msg": "", "conn_id": self.conn_id(conn), "req_id": rid,
                             "op": op}))
            return
        args = req.get("args") or []
        bad = [a for a in args if self.topic(str(a)) is None]
        if bad:
            conn.send(dumps({"success": False, "ret_msg": f"Invalid topic: {bad[0]}",
                             "conn_id": self.conn_id(conn), "req_id": rid, "op": op}))
            return
        conn.send(dumps({"success": True, "ret_msg": "", "conn_id": self.conn_id(conn), "req_id": rid,
                         "op": op}))
        for a in args:
            kind, m, depth = self.topic(str(a))  # type: ignore[misc]
            if op == "unsubscribe":
                self.unsubscribe(conn, a)
                tb = self.books.get((m.symbol, "orderbook", depth))
                if tb:
                    tb.subs.discard(conn)
                continue
            if kind == "orderbook":
                tb = self.topic_book(m, "orderbook", depth)
                tb.subs.add(conn)
                self.send_book(conn, m, tb, snapshot=True)
            elif kind == "tickers":
                # flush the pending delta first so the snapshot equals the published state
                self.push_tickers(m)
                snap = self.tick_pub.setdefault(m.symbol, self.ticker(m))
                self.subscribe(conn, a)
                conn.send(dumps({"topic": a, "type": "snapshot", "data": snap,
                                 "cs": m.update_id, "ts": now_ms()}))
            else:
                self.subscribe(conn, a)

    def topic(self, t: str) -> tuple[str, Market, int] | None:
        parts = t.split(".")
        if len(parts) == 3 and parts[0] == "orderbook" and parts[1].isdigit() and int(parts[1]) in DEPTHS:
            m = self.engine.markets.get(parts[2])
            return ("orderbook", m, int(parts[1])) if m else None
        if len(parts) == 2 and parts[0] in ("publicTrade", "tickers", "allLiquidation"):
            m = self.engine.markets.get(parts[1])
            return (parts[0], m, 0) if m else None
        return None

    def send_book(self, conn: Conn | None, m: Market, tb: TopicBook, snapshot: bool,
                  bids: list | None = None, asks: list | None = None) -> None:
        t = now_ms()
        if snapshot:
            b, a = tb.levels(0), tb.levels(1)
        else:
            b = [[self.px(m, p), self.sz(m, s)] for p, s in bids or []]
            a = [[self.px(m, p), self.sz(m, s)] for p, s in asks or []]
        self.seq += 1
        msg = dumps({"topic": f"orderbook.{tb.depth}.{m.symbol}", "type": "snapshot" if snapshot else "delta",
                     "ts": t, "data": {"s": m.symbol, "b": b, "a": a, "u": tb.seq, "seq": self.seq},
                     "cts": t})
        if conn is not None:
            conn.send(msg, quote=tb.depth == 1)
            return
        gap = self.faults.active and self.faults.take("gap", m.symbol) is not None
        for c in tb.subs:
            if not gap:
                c.send(msg, quote=tb.depth == 1)

    def push_book(self, m: Market, channel: str, tb: TopicBook) -> None:
        bids, asks = tb.diff()
        if not bids and not asks:
            return
        tb.seq += 1
        # level 1 is snapshot-only; deeper books send deltas
        self.send_book(None, m, tb, snapshot=tb.depth == 1, bids=bids, asks=asks)

    def ticker(self, m: Market) -> dict[str, str]:
        b, a = m.best(0), m.best(1)
        t = now_ms()
        mark = m.px_dec(m.mark_px)
        oi = self.open_interest.get(m.symbol, 0)
        return {"symbol": m.symbol, "tickDirection": "PlusTick", "price24hPcnt": "0",
                "lastPrice": self.px(m, m.last_trade_px), "prevPrice24h": self.px(m, m.last_trade_px),
                "highPrice24h": self.px(m, m.last_trade_px), "lowPrice24h": self.px(m, m.last_trade_px),
                "prevPrice1h": self.px(m, m.last_trade_px), "markPrice": self.dec(mark, m.px_out),
                "indexPrice": self.dec(mark, m.px_out), "openInterest": self.sz(m, oi),
                "openInterestValue": self.dec(m.sz_dec(oi) * mark, 2),
                "turnover24h": "0", "volume24h": "0",
                "nextFundingTime": str((t // 28_800_000 + 1) * 28_800_000),
                "fundingRate": self.dec(m.funding_rate, 6),
                "bid1Price": self.px(m, b or 0), "bid1Size": self.sz(m, m.displayed(0, b) if b else 0),
                "ask1Price": self.px(m, a or 0), "ask1Size": self.sz(m, m.displayed(1, a) if a else 0),
                "fundingIntervalHour": "8"}

    def push_tickers(self, m: Market) -> None:
        topic = "tickers." + m.symbol
        if not self.subs.get(topic):
            return
        cur = self.ticker(m)
        last = self.tick_pub.get(m.symbol, {})
        delta = {k: v for k, v in cur.items() if last.get(k) != v}
        self.tick_pub[m.symbol] = cur
        if len(delta) > 0 and set(delta) != {"symbol"}:
            delta["symbol"] = m.symbol
            self.fanout(topic, dumps({"topic": topic, "type": "delta", "data": delta,
                                      "cs": m.update_id, "ts": now_ms()}))

    def publish_open_interest(self, m: Market) -> None:
        self.push_tickers(m)          # a tickers delta carrying the new openInterest

    def publish_liquidation(self, m: Market, buy: bool, px: int, qty: int) -> None:
        # S is the side of the liquidated POSITION: a forced buy closes a short ("Sell")
        topic = "allLiquidation." + m.symbol
        t = now_ms()
        self.fanout(topic, dumps({"topic": topic, "type": "snapshot", "ts": t, "data": [
            {"T": t, "s": m.symbol, "S": "Sell" if buy else "Buy", "v": self.sz(m, qty), "p": self.px(m, px)}]}))

    def publish_event(self, m: Market, trades: list[tuple]) -> None:
        if trades:
            topic = "publicTrade." + m.symbol
            if self.subs.get(topic):
                t = now_ms()
                data = []
                for tr in trades:
                    self.seq += 1
                    data.append({"T": t, "s": m.symbol, "S": "Buy" if tr[2] else "Sell",
                                 "v": self.sz(m, tr[1]), "p": self.px(m, tr[0]), "L": "PlusTick",
                                 "i": secrets.token_hex(16), "BT": False, "seq": self.seq})
                self.fanout(topic, dumps({"topic": topic, "type": "snapshot", "ts": t, "data": data}))
            for tr in trades:
                m.last_trade_px = tr[0]
        # level-1 books are pushed on every best-price change (10 ms on the real venue)
        tb = self.books.get((m.symbol, "orderbook", 1))
        if tb is not None and tb.subs:
            self.push_book(m, "orderbook", tb)

    # ------------------------------------------------------------------ private ------------
    def _auth(self, conn: Conn, req: dict[str, Any]) -> dict[str, Any]:
        args = req.get("args") or []
        cid = self.conn_id(conn)
        if conn.state.get("auth"):
            return {"success": False, "ret_msg": "Request not authorized: repeat auth", "op": "auth",
                    "conn_id": cid, "retCode": 20001}
        if len(args) != 3:
            return {"success": False, "ret_msg": "Params Error", "op": "auth", "conn_id": cid}
        key, expires, sig = str(args[0]), args[1], str(args[2])
        if key != self.spec.api_key:
            return {"success": False, "ret_msg": "Invalid apikey", "op": "auth", "conn_id": cid,
                    "retCode": 10003}
        try:
            exp = int(expires)
        except (TypeError, ValueError):
            return {"success": False, "ret_msg": "Params Error", "op": "auth", "conn_id": cid}
        if exp < now_ms():
            return {"success": False, "ret_msg": "Request expired", "op": "auth", "conn_id": cid,
                    "retCode": 10002}
        if not hmac.compare_digest(hmac_hex(self.spec.secret, f"GET/realtime{exp}"), sig.lower()):
            return {"success": False, "ret_msg": "Signature Error", "op": "auth", "conn_id": cid,
                    "retCode": 10004}
        conn.state["auth"] = True
        if conn.kind == "user":
            self._dcp_check()
        return {"success": True, "ret_msg": "", "op": "auth", "conn_id": cid}

    def on_private(self, conn: Conn, text: str) -> None:
        req = self._parse(conn, text)
        if req is None:
            return
        op, rid = req.get("op"), req.get("req_id", "")
        cid = self.conn_id(conn)
        if op == "ping":
            conn.send(dumps({"req_id": rid, "op": "pong", "args": [str(now_ms())], "conn_id": cid}))
        elif op == "auth":
            r = self._auth(conn, req)
            if rid:
                r["req_id"] = rid
            conn.send(dumps(r))
        elif op in ("subscribe", "unsubscribe"):
            if not conn.state.get("auth"):
                conn.send(dumps({"success": False, "ret_msg": "Request not authorized", "conn_id": cid,
                                 "req_id": rid, "op": op}))
                return
            for a in req.get("args") or []:
                base = str(a)
                if base not in ("order", "execution", "execution.fast", "position", "wallet",
                                "order.linear", "execution.linear", "position.linear", "dcp.future"):
                    conn.send(dumps({"success": False, "ret_msg": f"Invalid topic: {a}", "conn_id": cid,
                                     "req_id": rid, "op": op}))
                    return
            for a in req.get("args") or []:
                base = str(a).split(".linear")[0]
                s = self.private.setdefault(base, set())
                (s.add if op == "subscribe" else s.discard)(conn)
            self._dcp_check()
            conn.send(dumps({"success": True, "ret_msg": "", "op": op, "conn_id": cid, "req_id": rid}))
        else:
            conn.send(dumps({"success": False, "ret_msg": f"Invalid op: {op}", "conn_id": cid,
                             "req_id": rid, "op": op}))

    def on_conn_closed(self, conn: Conn) -> None:
        super().on_conn_closed(conn)
        self._dcp_check(closing=conn)
        for s in self.private.values():
            s.discard(conn)

    def _push_private(self, topic: str, data: list[dict[str, Any]]) -> None:
        subs = self.private.get(topic)
        if not subs:
            return
        msg = dumps({"id": secrets.token_hex(12), "topic": topic, "creationTime": now_ms(), "data": data})
        for c in subs:
            c.send(msg)

    def order_event(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        m = self.engine.markets[o.symbol]
        if fill is not None:
            self.seq += 1
            ex = {"category": "linear", "symbol": o.symbol, "closedSize": "0",
                  "execFee": self.dec(fill.fee), "execId": exec_id(fill),
                  "execPrice": self.px(m, fill.px), "execQty": self.sz(m, fill.qty), "execType": "Trade",
                  "execValue": self.dec(m.px_dec(fill.px) * m.sz_dec(fill.qty) * m.mult),
                  "feeRate": self.dec(self.engine.maker_fee if fill.maker else self.engine.taker_fee, 6),
                  "tradeIv": "", "markIv": "", "blockTradeId": "", "markPrice": self.px(m, m.mark_px),
                  "indexPrice": "", "underlyingPrice": "", "leavesQty": self.sz(m, o.leaves),
                  "orderId": oid_str(o.order_id), "orderLinkId": o.extra.get("link", ""),
                  "orderPrice": self.px(m, o.px), "orderQty": self.sz(m, o.qty),
                  "orderType": o.type.capitalize(), "stopOrderType": "UNKNOWN", "side": o.side.capitalize(),
                  "execTime": str(fill.ts_ms), "isLeverage": "0", "isMaker": fill.maker, "seq": self.seq}
            self._push_private("execution", [ex])
            self._push_private("execution.fast", [{k: ex[k] for k in (
                "category", "symbol", "execId", "execPrice", "execQty", "orderId", "isMaker",
                "orderLinkId", "side", "execTime", "seq")}])
        if exec_type == "NEW" and not o.is_open:
            return        # the terminal state follows immediately; Bybit does not push "New" then
        self._push_private("order", [self.order_json(o)])

    def account_event(self, reason: str, symbols: list[str]) -> None:
        if self.private.get("position"):
            self.seq += 1
            self._push_private("position", [self.position_json(s) for s in symbols])
        if self.private.get("wallet"):
            self._push_private("wallet", self.r_wallet({})["list"])

    # ------------------------------------------------------------------ /v5/trade ----------
    async def on_trade(self, conn: Conn, text: str) -> None:
        req = self._parse(conn, text)
        if req is None:
            return
        op = req.get("op")
        cid = self.conn_id(conn)
        if op == "ping":
            conn.send(dumps({"req_id": req.get("req_id", ""), "op": "pong", "args": [str(now_ms())],
                             "conn_id": cid}))
            return
        if op == "auth":
            r = self._auth(conn, req)
            out = {"retCode": 0 if r["success"] else r.get("retCode", 10004),
                   "retMsg": "OK" if r["success"] else r["ret_msg"], "op": "auth", "connId": cid}
            conn.send(dumps(out))
            return
        rid = req.get("reqId", "")
        self.record_order_arrival()
        hdr = {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "9",
               "X-Bapi-Limit-Reset-Timestamp": str(now_ms()), "Traceid": secrets.token_hex(16),
               "Timenow": str(now_ms())}

        def reply(code: int, msg: str, data: Any) -> None:
            conn.send(dumps({"reqId": rid, "retCode": code, "retMsg": msg, "op": op, "data": data,
                             "retExtInfo": {}, "header": hdr, "connId": cid}))

        if not conn.state.get("auth"):
            reply(10003, "Request not authorized", {})
            return
        fn = {"order.create": self.create, "order.amend": self.amend,
              "order.cancel": self.cancel}.get(str(op))
        if fn is None:
            reply(10001, f"Invalid op: {op}", {})
            return
        h = req.get("header") or {}
        args = req.get("args") or [{}]
        try:
            self.check_ts(h.get("X-BAPI-TIMESTAMP"), h.get("X-BAPI-RECV-WINDOW", "5000"))
            f = await self.order_fault(lambda: fn(args[0]))
            if f is not None:
                if f[0] == "rate_limit":
                    reply(10006, "Too many visits!", {})
                else:
                    reply(10016, "Internal server error.", {})
                return
            reply(0, "OK", fn(args[0]))
        except VenueError as e:
            reply(e.code, e.msg, {})
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            reply(10001, "Request parameter error.", {})
