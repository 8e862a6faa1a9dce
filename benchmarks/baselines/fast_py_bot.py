# SPDX-License-Identifier: Apache-2.0
"""The fastest plain-Python stack we could assemble: picows + orjson + uvloop, orders as WS-API ``order.place``.

Reads a Binance bookTicker stream and, on every N-th quote (``u % N == 0``), sends a signed LIMIT IOC buy at
the quoted bid over an already-open WebSocket API connection (params sorted, stdlib HMAC-SHA256 hex, as the
Binance WS API requires). ``--ws-url`` market stream, ``--ws-api-url`` WS API, ``--rest-url`` unused.
``--busy-poll`` keeps the event loop from sleeping in epoll (a self-rescheduling call_soon spinner).
Keys: ``HOTPATH_BINANCE_SPOT_API_KEY`` / ``HOTPATH_BINANCE_SPOT_SECRET``.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import signal
import time

import orjson
import uvloop
from picows import WSListener, WSMsgType, ws_connect


class OrderListener(WSListener):
    def on_ws_frame(self, transport, frame) -> None:  # acks are read and dropped
        pass


class QuoteListener(WSListener):
    def __init__(self, order_tr, key: str, secret: bytes, every: int, qty: str) -> None:
        self.order_tr, self.key, self.every, self.qty = order_tr, key, every, qty
        self.mac = hmac.new(secret, digestmod=hashlib.sha256)
        self.n = 0

    def on_ws_frame(self, transport, frame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        d = orjson.loads(frame.get_payload_as_memoryview())
        u = d.get("u")
        if u is None or u % self.every:
            return
        self.n += 1
        cid = f"fast{self.n}"
        ts = int(time.time() * 1000)
        # sorted by name, as the WS API signs them
        payload = (
            f"apiKey={self.key}&newClientOrderId={cid}&price={d['b']}&quantity={self.qty}&side=BUY"
            f"&symbol={d['s']}&timeInForce=IOC&timestamp={ts}&type=LIMIT"
        )
        m = self.mac.copy()
        m.update(payload.encode())
        req = {
            "id": cid, "method": "order.place",
            "params": {
                "apiKey": self.key, "newClientOrderId": cid, "price": d["b"], "quantity": self.qty,
                "side": "BUY", "symbol": d["s"], "timeInForce": "IOC", "timestamp": ts, "type": "LIMIT",
                "signature": m.hexdigest(),
            },
        }
        self.order_tr.send(WSMsgType.TEXT, orjson.dumps(req))


def _spin(loop: asyncio.AbstractEventLoop) -> None:
    loop.call_soon(_spin, loop)


async def run(args: argparse.Namespace) -> None:
    key = os.environ["HOTPATH_BINANCE_SPOT_API_KEY"]
    secret = os.environ["HOTPATH_BINANCE_SPOT_SECRET"].encode()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    order_tr, _ = await ws_connect(OrderListener, args.ws_api_url)
    md_tr, lis = await ws_connect(lambda: QuoteListener(order_tr, key, secret, args.every, args.qty), args.ws_url)
    if args.busy_poll:
        loop.call_soon(_spin, loop)
    await stop.wait()
    md_tr.disconnect()
    order_tr.disconnect()
    print(orjson.dumps({"orders": lis.n}).decode(), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ws-url", required=True, help="market stream URL (bookTicker)")
    p.add_argument("--ws-api-url", required=True, help="Binance WS API URL (order.place)")
    p.add_argument("--rest-url", default="", help="unused, accepted for a uniform CLI")
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--qty", default="0.001")
    p.add_argument("--busy-poll", action="store_true", help="spin the loop instead of sleeping in epoll")
    args = p.parse_args()
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
