# SPDX-License-Identifier: Apache-2.0
"""OKX v5 (SWAP) protocol server: public channels (books with seqId/prevSeqId and signed CRC32
checksum, books5, bbo-tbt, tickers, trades, funding-rate, mark-price), private socket (login,
orders/positions channels, order/cancel-order/amend-order ops) and REST with OK-ACCESS-* signing.
Decimals are printed without trailing zeros, as OKX does; checksums use those exact strings."""
from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from engine.sim.auth import hmac_b64, okx_sign
from engine.sim.matching import Fill, Market, Order, Reject, to_units
from engine.sim.server import Conn
from engine.sim.venues.common import JsonVenue, TopicBook, VenueError, dumps, now_ms

STATE = {"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled",
         "CANCELED": "canceled", "EXPIRED": "canceled"}
ORD_IN = {"limit": ("LIMIT", "GTC"), "market": ("MARKET", "IOC"), "post_only": ("LIMIT", "GTX"),
          "ioc": ("LIMIT", "IOC"), "fok": ("LIMIT", "FOK")}
BOOK_DEPTH = {"books": 400, "books5": 5, "bbo-tbt": 1, "books50-l2-tbt": 50, "books-l2-tbt": 400}


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Okx(JsonVenue):
    futures = True
    strip = True
    book_interval_ms = 100
    client_idle_timeout = 30.0

    def __init__(self, sim: Any, spec: Any) -> None:
        self.private: dict[str, set[Conn]] = {}
        self.trade_id = 100_000_000
        self.cancel_after: asyncio.TimerHandle | None = None     # cancel-all-after countdown
        self.cancel_after_fired = 0
        super().__init__(sim, spec)

    def endpoints(self) -> dict[str, str]:
        ws = f"ws://{self.host}:{self.port}"
        return {"rest": f"http://{self.host}:{self.port}", "ws_public": ws + "/ws/v5/public",
                "ws_private": ws + "/ws/v5/private", "ws_trade": ws + "/ws/v5/private"}

    def setup_routes(self) -> None:
        r = self.app.router
        r.add_get("/ws/v5/public", self.ws_public)
        r.add_get("/ws/v5/business", self.ws_public)
        r.add_get("/ws/v5/private", self.ws_private)
        r.add_get("/api/v5/public/time", self.rest(lambda p: [{"ts": str(now_ms())}], signed=False))
        r.add_get("/api/v5/market/books", self.rest(self.r_books, signed=False))
        r.add_get("/api/v5/market/ticker", self.rest(lambda p: [self.ticker(self.inst(p))], signed=False))
        r.add_get("/api/v5/public/instruments", self.rest(self.r_instruments, signed=False))
        r.add_get("/api/v5/public/funding-rate", self.rest(lambda p: [self.funding(self.inst(p))], signed=False))
        r.add_post("/api/v5/trade/order", self.rest(lambda p: [self.place(p)], order=True))
        r.add_post("/api/v5/trade/cancel-order", self.rest(lambda p: [self.cancel(p)], order=True))
        r.add_post("/api/v5/trade/amend-order", self.rest(lambda p: [self.amend(p)], order=True))
        r.add_get("/api/v5/trade/order", self.rest(self.r_order))
        r.add_get("/api/v5/trade/orders-pending", self.rest(self.r_pending))
        r.add_get("/api/v5/trade/fills", self.rest(self.r_fills))
        r.add_post("/api/v5/trade/cancel-all-after", self.rest(self.r_cancel_all_after))
        r.add_get("/api/v5/account/positions", self.rest(self.r_positions))
        r.add_get("/api/v5/account/balance", self.rest(self.r_balance))

    # ------------------------------------------------------------------ REST ---------------
    def rest(self, fn: Any, signed: bool = True, order: bool = False) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            if order:
                self.record_order_arrival()
            body = await request.text() if request.can_read_body else ""
            path_q = request.raw_path
            in_t = time.time_ns() // 1000
            try:
                if signed:
                    h = request.headers
                    key = h.get("OK-ACCESS-KEY")
                    if not key:
                        raise VenueError("50103", "Request header OK-ACCESS-KEY cannot be empty.", 401)
                    if key != self.spec.api_key:
                        raise VenueError("50111", "Invalid OK-ACCESS-KEY.", 401)
                    ts = h.get("OK-ACCESS-TIMESTAMP") or ""
                    try:
                        t = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
                    except ValueError:
                        raise VenueError("50112", "Invalid OK-ACCESS-TIMESTAMP.", 401) from None
                    if abs(time.time() - t.timestamp()) > 30:
                        raise VenueError("50102", "Timestamp request expired.", 401)
                    if h.get("OK-ACCESS-PASSPHRASE") != self.spec.passphrase:
                        raise VenueError("50105", "Invalid OK-ACCESS-PASSPHRASE.", 401)
                    want = okx_sign(self.spec.secret, ts, request.method, path_q, body)
                    if not hmac.compare_digest(want, h.get("OK-ACCESS-SIGN") or ""):
                        raise VenueError("50113", "Invalid Sign.", 401)
                if request.method == "GET":
                    params: Any = dict(parse_qsl(path_q.partition("?")[2]))
                else:
                    try:
                        params = orjson.loads(body or "{}")
                    except orjson.JSONDecodeError:
                        raise VenueError("50002", "JSON syntax error.", 400) from None
                if order:
                    f = await self.order_fault(lambda: fn(params))
                    if f is not None:
                        if f[0] == "rate_limit":
                            raise VenueError("50011", "Too Many Requests", int(f[1].get("status", 429)))
                        raise VenueError("50001", "Service temporarily unavailable. Please try again "
                                         "later.", int(f[1].get("status", 503)))
                data = fn(params)
                out = {"code": "0", "msg": "", "data": data}
                if order:
                    if data and data[0].get("sCode") != "0":
                        out["code"] = "1"
                        out["msg"] = "All operations failed"
                    out["inTime"] = str(in_t)
                    out["outTime"] = str(time.time_ns() // 1000)
                return self.json_response(out)
            except VenueError as e:
                return self.json_response({"code": str(e.code), "msg": e.msg, "data": []}, e.status)
            except (KeyError, TypeError, ValueError, AttributeError):
                return self.json_response({"code": "50014", "msg": "Parameter error", "data": []}, 400)
        return handler

    def inst(self, p: dict[str, Any]) -> Market:
        m = self.engine.markets.get(str(p.get("instId", "")))
        if m is None:
            raise VenueError("51001", "Instrument ID does not exist.", 200)
        return m

    def s_err(self, p: dict[str, Any], code: str, msg: str, oid: str = "") -> dict[str, Any]:
        return {"clOrdId": str(p.get("clOrdId", "")), "ordId": oid, "tag": "", "ts": str(now_ms()),
                "sCode": code, "sMsg": msg}

    def map_reject(self, e: Reject) -> tuple[str, str]:
        return {"MARGIN": ("51008", "Order failed. Insufficient USDT margin in account"),
                "BALANCE": ("51008", "Order failed. Insufficient USDT balance in account"),
                "REDUCE_ONLY": ("51169", "Order failed because you don't have any positions in this "
                                "direction for this contract to reduce or close."),
                "DUPLICATE": ("51016", "Duplicated clOrdId"),
                "UNKNOWN_ORDER": ("51400", "Cancellation failed as the order has been filled, canceled "
                                  "or does not exist."),
                "TICK_SIZE": ("51006", "Order price is not within the price limit"),
                "PRECISION": ("51000", "Parameter sz error"),
                "LOT_SIZE": ("51121", "Order quantity must be a multiple of the lot size."),
                "MIN_QTY": ("51020", "Your order should meet or exceed the minimum order amount."),
                "QTY_ZERO": ("51000", "Parameter sz error"),
                "MIN_NOTIONAL": ("51020", "Your order should meet or exceed the minimum order amount.")
                }.get(e.reason, ("51000", f"Parameter error: {e.reason}"))

    def place(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            m = self.inst(p)
        except VenueError as e:
            return self.s_err(p, str(e.code), e.msg)
        side = str(p.get("side", ""))
        ot = ORD_IN.get(str(p.get("ordType", "")))
        if side not in ("buy", "sell") or ot is None or p.get("tdMode") not in ("cross", "isolated"):
            return self.s_err(p, "51000", "Parameter side/ordType/tdMode error")
        cl = str(p.get("clOrdId") or "")
        if len(cl) > 32 or (cl and not cl.isalnum()):
            return self.s_err(p, "51000", "Parameter clOrdId error")
        try:
            qty = to_units(str(p.get("sz", "")), m.sz_exp)
            px = to_units(str(p.get("px", "")), m.px_exp) if ot[0] == "LIMIT" else 0
            o = self.engine.place(m.symbol, side.upper(), ot[0], qty, px, ot[1], cl or secrets.token_hex(8),
                                  str(p.get("reduceOnly", "false")).lower() == "true",
                                  extra={"cl": cl, "ordType": p["ordType"], "tdMode": p["tdMode"]},
                                  post_only_reject=False)
        except Reject as e:
            code, msg = self.map_reject(e)
            return self.s_err(p, code, msg)
        return {"clOrdId": cl, "ordId": str(o.order_id), "tag": "", "ts": str(now_ms()), "sCode": "0",
                "sMsg": "Order placed"}

    def _find(self, p: dict[str, Any]) -> tuple[Market, int | None, str | None]:
        m = self.inst(p)
        oid, cl = p.get("ordId"), p.get("clOrdId")
        if not oid and not cl:
            raise VenueError("51000", "Parameter ordId or clOrdId error")
        return m, (int(oid) if oid else None), (str(cl) if cl else None)

    def cancel(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            m, oid, cl = self._find(p)
            o = self.engine.cancel(m.symbol, oid, cl)
        except (VenueError, Reject, ValueError):
            err = self.s_err(p, "51400", "Cancellation failed as the order has been filled, canceled "
                             "or does not exist.", str(p.get("ordId", "")))
            del err["tag"]      # cancel results carry no tag
            return err
        return {"clOrdId": o.extra.get("cl", ""), "ordId": str(o.order_id), "ts": str(now_ms()),
                "sCode": "0", "sMsg": ""}

    def amend(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            m, oid, cl = self._find(p)
            qty = to_units(str(p["newSz"]), m.sz_exp) if p.get("newSz") else None
            px = to_units(str(p["newPx"]), m.px_exp) if p.get("newPx") else None
            o = self.engine.amend(m.symbol, oid, cl, qty, px)
        except (VenueError, ValueError):
            return self.s_err(p, "51503", "Order modification failed as the order has been filled, "
                              "canceled or does not exist.")
        except Reject as e:
            code, msg = self.map_reject(e)
            if e.reason == "UNKNOWN_ORDER":
                code, msg = "51503", ("Order modification failed as the order has been filled, "
                                      "canceled or does not exist.")
            return self.s_err(p, code, msg)
        return {"clOrdId": o.extra.get("cl", ""), "ordId": str(o.order_id), "ts": str(now_ms()),
                "reqId": str(p.get("reqId", "")), "sCode": "0", "sMsg": ""}

    def order_json(self, o: Order, fill: Fill | None = None) -> dict[str, Any]:
        m = self.engine.markets[o.symbol]
        avg = (o.quote_cum / (m.sz_dec(o.filled) * m.mult)) if o.filled else Decimal(0)
        return {"accFillSz": self.sz(m, o.filled), "algoClOrdId": "", "algoId": "",
                "attachAlgoClOrdId": "", "attachAlgoOrds": [], "avgPx": self.dec(avg, m.px_out) if o.filled else "",
                "cTime": str(o.created_ms), "cancelSource": "", "cancelSourceReason": "",
                "category": "normal", "ccy": "", "clOrdId": o.extra.get("cl", ""),
                "execType": ("M" if fill.maker else "T") if fill else "",
                "fee": self.dec(-o.fee_cum), "feeCcy": "USDT",
                "fillPx": self.px(m, fill.px) if fill else "", "fillSz": self.sz(m, fill.qty) if fill else "0",
                "fillTime": str(fill.ts_ms) if fill else "", "instId": o.symbol, "instType": "SWAP",
                "isTpLimit": "false", "lever": str(self.engine.leverage), "linkedAlgoOrd": {"algoId": ""},
                "ordId": str(o.order_id), "ordType": o.extra.get("ordType", o.type.lower()),
                "pnl": self.dec(fill.realized_pnl) if fill else "0", "posSide": "net",
                "px": self.px(m, o.px) if o.px else "", "pxType": "", "pxUsd": "", "pxVol": "",
                "quickMgnType": "", "rebate": "0", "rebateCcy": "USDT",
                "reduceOnly": "true" if o.reduce_only else "false", "side": o.side.lower(),
                "slOrdPx": "", "slTriggerPx": "", "slTriggerPxType": "", "source": "",
                "state": STATE[o.status], "stpId": "", "stpMode": "cancel_maker", "sz": self.sz(m, o.qty),
                "tag": "", "tdMode": o.extra.get("tdMode", "cross"), "tgtCcy": "", "tpOrdPx": "",
                "tpTriggerPx": "", "tpTriggerPxType": "", "tradeId": str(fill.trade_id) if fill else "",
                "uTime": str(o.updated_ms)}

    def r_order(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        m, oid, cl = self._find(p)
        try:
            return [self.order_json(self.engine.find(m.symbol, oid, cl))]
        except Reject:
            raise VenueError("51603", "Order does not exist", 200) from None

    def r_pending(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        sym = p.get("instId")
        return [self.order_json(o) for o in self.engine.open_orders(sym)]

    def r_cancel_all_after(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """POST /api/v5/trade/cancel-all-after: cancel every pending order unless called again
        within ``timeOut`` seconds (10..120; 0 disarms). Each call restarts the countdown."""
        try:
            sec = int(str(p.get("timeOut", "")))
        except ValueError:
            raise VenueError("51000", "Parameter timeOut error", 200) from None
        if sec != 0 and not 10 <= sec <= 120:
            raise VenueError("51000", "Parameter timeOut error", 200)
        if self.cancel_after is not None:
            self.cancel_after.cancel()
            self.cancel_after = None
        now = now_ms()
        if sec:
            self.cancel_after = asyncio.get_running_loop().call_later(sec, self._cancel_all_after_fire)
        return [{"triggerTime": str(now + sec * 1000) if sec else "0", "tag": str(p.get("tag", "")),
                 "ts": str(now)}]

    def _cancel_all_after_fire(self) -> None:
        self.cancel_after = None
        self.cancel_after_fired += 1
        for sym in self.engine.markets:
            self.engine.cancel_all(sym)

    BILL_BASE = 700_000_000_000

    def r_fills(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """GET /api/v5/trade/fills: our fills, newest first. ``after``/``before`` are billIds
        (older than / newer than), ``begin``/``end`` fill timestamps (ms), ``limit`` <= 100.
        ``tradeId`` equals the ``tradeId`` of the orders-channel push of the same fill."""
        it = p.get("instType")
        if it not in (None, "", "SWAP"):
            raise VenueError("51000", "Parameter instType error", 200)
        sym = p.get("instId") or None
        if sym is not None:
            self.inst(p)

        def num(name: str) -> int | None:
            v = p.get(name)
            if v in (None, ""):
                return None
            try:
                return int(v)
            except ValueError:
                raise VenueError("51000", f"Parameter {name} error", 200) from None
        limit = num("limit") or 100
        if not 1 <= limit <= 100:
            raise VenueError("51000", "Parameter limit error", 200)
        after, before, begin, end, oid = num("after"), num("before"), num("begin"), num("end"), num("ordId")
        fs = [f for f in self.engine.fills
              if (sym is None or f.order.symbol == sym) and (oid is None or f.order.order_id == oid)
              and (begin is None or f.ts_ms >= begin) and (end is None or f.ts_ms <= end)
              and (after is None or self.BILL_BASE + f.seq < after)
              and (before is None or self.BILL_BASE + f.seq > before)]
        # newest first; "before" pages towards newer records, starting next to the cursor
        page = fs[:limit][::-1] if before is not None and after is None else fs[::-1][:limit]
        return [self.fill_json(f) for f in page]

    def fill_json(self, f: Fill) -> dict[str, Any]:
        o = f.order
        m = self.engine.markets[o.symbol]
        return {"instType": "SWAP", "instId": o.symbol, "tradeId": str(f.trade_id),
                "ordId": str(o.order_id), "clOrdId": o.extra.get("cl", ""),
                "billId": str(self.BILL_BASE + f.seq), "subType": "1" if o.side == "BUY" else "2",
                "tag": "", "fillPx": self.px(m, f.px), "fillSz": self.sz(m, f.qty), "fillIdxPx": "",
                "fillPnl": self.dec(f.realized_pnl), "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "",
                "fillFwdPx": "", "fillMarkPx": self.px(m, m.mark_px), "side": o.side.lower(),
                "posSide": "net", "execType": "M" if f.maker else "T", "feeCcy": f.fee_asset,
                "fee": self.dec(-f.fee), "ts": str(f.ts_ms), "fillTime": str(f.ts_ms)}

    def position_json(self, sym: str) -> dict[str, Any]:
        m = self.engine.markets[sym]
        pos = self.engine.positions[sym]
        mark = m.px_dec(m.mark_px)
        px_e = self.dec(pos.entry, m.px_out) if pos.amt else "0"
        return {"instId": sym, "instType": "SWAP", "mgnMode": "cross", "posId": str(abs(hash(sym)) % 10**12),
                "posSide": "net", "pos": self.sz(m, pos.amt), "baseBal": "0", "ccy": "USDT", "fee": "0",
                "lever": str(self.engine.leverage), "last": self.px(m, m.last_trade_px),
                "markPx": self.dec(mark, m.px_out), "liqPx": "0", "mmr": "0", "interest": "0",
                "tradeId": str(m.trade_id), "notionalUsd": self.dec(abs(m.sz_dec(pos.amt)) * mark * m.mult),
                "avgPx": px_e, "upl": self.dec(self.engine.unrealized(sym)), "uplRatio": "0",
                "uTime": str(now_ms()), "margin": "0", "mgnRatio": "0", "adl": "1",
                "cTime": str(self.started_ms), "realizedPnl": self.dec(pos.realized), "uplLastPx": "0",
                "uplRatioLastPx": "0", "availPos": self.sz(m, abs(pos.amt)), "bePx": px_e,
                "fundingFee": "0", "idxPx": self.dec(mark, m.px_out), "liqPenalty": "0", "optVal": "0",
                "pendingCloseOrdLiabVal": "0", "pnl": self.dec(pos.realized), "posCcy": "",
                "quoteBal": "0", "quoteBorrowed": "0", "quoteInterest": "0", "spotInUseAmt": "0",
                "spotInUseCcy": "", "usdPx": self.dec(mark, m.px_out)}

    def r_positions(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        syms = [p["instId"]] if p.get("instId") else list(self.engine.markets)
        return [self.position_json(s) for s in syms if s in self.engine.markets
                and self.engine.positions[s].amt]

    def r_balance(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        e = self.engine
        return [{"totalEq": self.dec(e.wallet()), "uTime": str(now_ms()),
                 "details": [{"ccy": a, "eq": self.dec(v), "cashBal": self.dec(v),
                              "availBal": self.dec(e.available() if a == "USDT" else v)}
                             for a, v in e.balances.items()]}]

    def r_books(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        m = self.inst(p)
        n = int(p.get("sz") or 1)
        if not 1 <= n <= 400:
            raise VenueError("51000", "Parameter sz error")
        return [{"asks": [self.lvl(m, a, b) for a, b in m.levels(1, n)],
                 "bids": [self.lvl(m, a, b) for a, b in m.levels(0, n)], "ts": str(now_ms())}]

    def r_instruments(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"instType": "SWAP", "instId": m.symbol, "uly": m.symbol.rsplit("-", 1)[0],
                 "instFamily": m.symbol.rsplit("-", 1)[0], "settleCcy": m.spec.quote,
                 "ctVal": m.spec.contract_mult, "ctMult": "1", "ctValCcy": m.spec.base,
                 "tickSz": m.spec.tick_size, "lotSz": m.spec.lot_size, "minSz": m.spec.min_qty,
                 "ctType": "linear", "state": "live", "lever": "100"} for m in self.engine.markets.values()]

    # ------------------------------------------------------------------ public WS ----------
    def bad_request_frame(self, text: str) -> str:
        return dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {text[:64]}"})

    def lvl(self, m: Market, px: int, sz: int) -> list[str]:
        return [self.px(m, px), self.sz(m, sz), "0", str(1 + sz % 7) if sz else "0"]

    def on_public(self, conn: Conn, text: str) -> None:
        self.touch_rx(conn)
        if text == "ping":
            conn.send("pong")
            return
        cid = conn.state.setdefault("connId", secrets.token_hex(4))
        try:
            req = orjson.loads(text)
            if not isinstance(req, dict):
                raise ValueError
        except ValueError:
            conn.send(dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {text[:64]}",
                             "connId": cid}))
            return
        op = req.get("op")
        if op not in ("subscribe", "unsubscribe"):
            conn.send(dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {text[:64]}",
                             "connId": cid}))
            return
        if self.replay_mode:      # the recording decides what arrives
            for arg in req.get("args") or []:
                conn.send(dumps({"event": op, "arg": arg, "connId": cid}))
            return
        for arg in req.get("args") or []:
            ch, inst = arg.get("channel"), arg.get("instId")
            if ch == "liquidation-orders" and arg.get("instType") == "SWAP" and inst is None:
                ack = {"event": op, "arg": {"channel": ch, "instType": "SWAP"}, "connId": cid}
                conn.send(dumps({"id": req["id"], **ack} if "id" in req else ack))
                (self.unsubscribe if op == "unsubscribe" else self.subscribe)(conn, "liquidation-orders:SWAP")
                continue
            m = self.engine.markets.get(str(inst))
            if m is None or ch not in (*BOOK_DEPTH, "tickers", "trades", "funding-rate", "mark-price",
                                       "open-interest"):
                conn.send(dumps({"event": "error", "code": "60018",
                                 "msg": f"Wrong URL or channel:{ch},instId:{inst} doesn't exist. Please "
                                 "use the correct URL, channel and parameters referring to API document.",
                                 "connId": cid}))
                continue
            ack = {"event": op, "arg": {"channel": ch, "instId": inst}, "connId": cid}
            if "id" in req:
                ack = {"id": req["id"], **ack}
            conn.send(dumps(ack))
            if self.subscribe_channel(conn, m, ch, inst, op, BOOK_DEPTH):
                if ch == "tickers":
                    conn.send(dumps({"arg": {"channel": ch, "instId": inst}, "data": [self.ticker(m)]}))
                elif ch == "open-interest":
                    conn.send(self.open_interest_frame(m))

    def send_book(self, conn: Conn | None, m: Market, ch: str, tb: TopicBook, snapshot: bool,
                  bids: list | None = None, asks: list | None = None) -> None:
        if snapshot:
            b = [self.lvl(m, p, s) for p, s in ((k, tb.bids[k]) for k in sorted(tb.bids, reverse=True))]
            a = [self.lvl(m, p, s) for p, s in ((k, tb.asks[k]) for k in sorted(tb.asks))]
        else:
            b = [self.lvl(m, p, s) for p, s in bids or []]
            a = [self.lvl(m, p, s) for p, s in asks or []]
        d: dict[str, Any] = {"asks": a, "bids": b, "ts": str(now_ms())}
        if ch in ("books", "books50-l2-tbt", "books-l2-tbt"):
            cs = tb.checksum()
            if conn is None and self.faults.active and self.faults.take("bad_checksum", m.symbol):
                cs = cs ^ 0x5A5A
            d["checksum"] = cs
            d["prevSeqId"] = -1 if snapshot else tb.prev_seq
            d["seqId"] = tb.seq
            msg: dict[str, Any] = {"arg": {"channel": ch, "instId": m.symbol},
                                   "action": "snapshot" if snapshot else "update", "data": [d]}
        else:
            d["seqId"] = tb.seq
            msg = {"arg": {"channel": ch, "instId": m.symbol}, "data": [d]}
        text = dumps(msg)
        if conn is not None:
            conn.send(text, quote=ch == "bbo-tbt")
            return
        if self.faults.active and self.faults.take("gap", m.symbol) is not None:
            return
        for c in tb.subs:
            c.send(text, quote=ch == "bbo-tbt")

    def push_book(self, m: Market, channel: str, tb: TopicBook) -> None:
        bids, asks = tb.diff()
        if not bids and not asks:
            return
        tb.prev_seq = tb.seq
        tb.seq += 1 + (tb.seq % 3)        # OKX seqIds increase but are not contiguous
        if channel in ("books5", "bbo-tbt"):
            self.send_book(None, m, channel, tb, snapshot=True)
            # snapshot channels: every push is the full top-N
            return
        self.send_book(None, m, channel, tb, snapshot=False, bids=bids, asks=asks)

    def ticker(self, m: Market) -> dict[str, str]:
        b, a = m.best(0), m.best(1)
        last = self.px(m, m.last_trade_px)
        return {"instType": "SWAP", "instId": m.symbol, "last": last, "lastSz": self.sz(m, m.lot),
                "askPx": self.px(m, a or 0), "askSz": self.sz(m, m.displayed(1, a) if a else 0),
                "bidPx": self.px(m, b or 0), "bidSz": self.sz(m, m.displayed(0, b) if b else 0),
                "open24h": last, "high24h": last, "low24h": last, "volCcy24h": "0", "vol24h": "0",
                "sodUtc0": last, "sodUtc8": last, "ts": str(now_ms())}

    def funding(self, m: Market) -> dict[str, str]:
        t = now_ms()
        nxt = (t // 28_800_000 + 1) * 28_800_000
        return {"instId": m.symbol, "instType": "SWAP", "fundingRate": self.dec(m.funding_rate),
                "nextFundingRate": self.dec(m.funding_rate), "fundingTime": str(nxt),
                "nextFundingTime": str(nxt + 28_800_000), "ts": str(t)}

    def push_tickers(self, m: Market) -> None:
        topic = "tickers:" + m.symbol
        if self.subs.get(topic):
            cur = self.ticker(m)
            key = (cur["bidPx"], cur["bidSz"], cur["askPx"], cur["askSz"], cur["last"])
            if self.tickers.get((m.symbol, "t")) != key:
                self.tickers[(m.symbol, "t")] = key  # type: ignore[assignment]
                self.fanout(topic, dumps({"arg": {"channel": "tickers", "instId": m.symbol}, "data": [cur]}))

    def publish_mark(self, m: Market) -> None:
        if self.subs.get("funding-rate:" + m.symbol):
            self.fanout("funding-rate:" + m.symbol, dumps({"arg": {"channel": "funding-rate",
                                                                   "instId": m.symbol},
                                                           "data": [self.funding(m)]}))
        if self.subs.get("mark-price:" + m.symbol):
            self.fanout("mark-price:" + m.symbol, dumps({"arg": {"channel": "mark-price", "instId": m.symbol},
                                                         "data": [{"instType": "SWAP", "instId": m.symbol,
                                                                   "markPx": self.px(m, m.mark_px),
                                                                   "ts": str(now_ms())}]}))

    def open_interest_frame(self, m: Market) -> str:
        oi = self.open_interest.get(m.symbol, 0)
        ccy = m.sz_dec(oi) * m.mult                       # contracts x ctVal = base currency
        return dumps({"arg": {"channel": "open-interest", "instId": m.symbol}, "data": [
            {"instId": m.symbol, "instType": "SWAP", "oi": self.sz(m, oi), "oiCcy": self.dec(ccy),
             "oiUsd": self.dec(ccy * m.px_dec(m.mark_px), 2), "ts": str(now_ms())}]})

    def publish_open_interest(self, m: Market) -> None:
        if self.subs.get("open-interest:" + m.symbol):
            self.fanout("open-interest:" + m.symbol, self.open_interest_frame(m))

    def publish_liquidation(self, m: Market, buy: bool, px: int, qty: int) -> None:
        # side = the liquidation order's side; posSide = the position it closed
        self.fanout("liquidation-orders:SWAP", dumps({"arg": {"channel": "liquidation-orders", "instType": "SWAP"},
                                                      "data": [{"details": [
                                                          {"bkLoss": "0", "bkPx": self.px(m, px), "ccy": "",
                                                           "posSide": "short" if buy else "long",
                                                           "side": "buy" if buy else "sell", "sz": self.sz(m, qty),
                                                           "ts": str(now_ms())}],
                                                          "instFamily": m.symbol.rsplit("-", 1)[0],
                                                          "instId": m.symbol, "instType": "SWAP",
                                                          "uly": m.symbol.rsplit("-", 1)[0]}]}))

    def publish_event(self, m: Market, trades: list[tuple]) -> None:
        if trades:
            topic = "trades:" + m.symbol
            for tr in trades:
                m.last_trade_px = tr[0]
                if self.subs.get(topic):
                    self.trade_id += 1
                    self.fanout(topic, dumps({"arg": {"channel": "trades", "instId": m.symbol}, "data": [
                        {"instId": m.symbol, "tradeId": str(self.trade_id), "px": self.px(m, tr[0]),
                         "sz": self.sz(m, tr[1]), "side": "buy" if tr[2] else "sell",
                         "ts": str(now_ms()), "count": "1"}]}))
        tb = self.books.get((m.symbol, "bbo-tbt", 1))
        if tb is not None and tb.subs:
            self.push_book(m, "bbo-tbt", tb)

    # ------------------------------------------------------------------ private WS ---------
    def on_private(self, conn: Conn, text: str) -> Any:
        self.touch_rx(conn)
        if text == "ping":
            conn.send("pong")
            return None
        cid = conn.state.setdefault("connId", secrets.token_hex(4))
        try:
            req = orjson.loads(text)
            if not isinstance(req, dict):
                raise ValueError
        except ValueError:
            conn.send(dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {text[:64]}",
                             "connId": cid}))
            return None
        op = req.get("op")
        if op == "login":
            args = (req.get("args") or [{}])[0]
            ok = False
            try:
                ts = int(str(args.get("timestamp")))
                ok = (args.get("apiKey") == self.spec.api_key
                      and args.get("passphrase") == self.spec.passphrase
                      and abs(time.time() - ts) <= 30
                      and hmac.compare_digest(hmac_b64(self.spec.secret, f"{ts}GET/users/self/verify"),
                                              str(args.get("sign"))))
            except (TypeError, ValueError):
                ok = False
            if ok:
                conn.state["login"] = True
                conn.send(dumps({"event": "login", "code": "0", "msg": "", "connId": cid}))
            else:
                conn.send(dumps({"event": "error", "code": "60009", "msg": "Login failed.", "connId": cid}))
            return None
        if not conn.state.get("login"):
            conn.send(dumps({"event": "error", "code": "60011", "msg": "Please log in", "connId": cid}))
            return None
        if op in ("subscribe", "unsubscribe"):
            for arg in req.get("args") or []:
                ch = arg.get("channel")
                if ch not in ("orders", "positions", "account", "balance_and_position"):
                    conn.send(dumps({"event": "error", "code": "60018", "msg": f"Wrong URL or channel:{ch}",
                                     "connId": cid}))
                    continue
                s = self.private.setdefault(ch, set())
                (s.add if op == "subscribe" else s.discard)(conn)
                conn.send(dumps({"event": op, "arg": arg, "connId": cid}))
            return None
        if op in ("order", "cancel-order", "amend-order"):
            return self._ws_order(conn, req, cid)
        conn.send(dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {text[:64]}",
                         "connId": cid}))
        return None

    async def _ws_order(self, conn: Conn, req: dict[str, Any], cid: str) -> None:
        self.record_order_arrival()
        op = req["op"]
        in_t = str(time.time_ns() // 1000)
        fn = {"order": self.place, "cancel-order": self.cancel, "amend-order": self.amend}[op]
        args = req.get("args") or []
        if not args:
            conn.send(dumps({"id": req.get("id", ""), "op": op, "data": [], "code": "60013",
                             "msg": "Invalid args", "inTime": in_t, "outTime": in_t}))
            return
        f = await self.order_fault(lambda: fn(args[0]))
        if f is not None:
            code, msg = (("50011", "Too Many Requests") if f[0] == "rate_limit" else
                         ("50001", "Service temporarily unavailable. Please try again later."))
            conn.send(dumps({"id": req.get("id", ""), "op": op, "data": [], "code": code, "msg": msg,
                             "inTime": in_t, "outTime": str(time.time_ns() // 1000)}))
            return
        data = [fn(a) for a in args]
        code = "0" if all(d["sCode"] == "0" for d in data) else ("1" if len(data) == 1 else "2")
        conn.send(dumps({"id": req.get("id", ""), "op": op, "data": data, "code": code, "msg": "",
                         "inTime": in_t, "outTime": str(time.time_ns() // 1000)}))

    def on_conn_closed(self, conn: Conn) -> None:
        super().on_conn_closed(conn)
        for s in self.private.values():
            s.discard(conn)

    def order_event(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        subs = self.private.get("orders")
        if not subs:
            return
        if exec_type == "NEW" and not o.is_open:
            return
        msg = dumps({"arg": {"channel": "orders", "instType": "SWAP", "uid": "44705892343619584"},
                     "data": [self.order_json(o, fill)]})
        for c in subs:
            c.send(msg)

    def account_event(self, reason: str, symbols: list[str]) -> None:
        subs = self.private.get("positions")
        if not subs:
            return
        data = [self.position_json(s) for s in symbols]
        msg = dumps({"arg": {"channel": "positions", "instType": "SWAP", "uid": "44705892343619584"},
                     "data": data})
        for c in subs:
            c.send(msg)


__all__ = ["Okx", "iso_ms"]
