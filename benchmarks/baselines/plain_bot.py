# SPDX-License-Identifier: Apache-2.0
"""Baseline bot written the plain way: websockets + json + aiohttp REST + stdlib hmac, default asyncio loop.

Reads a Binance bookTicker stream and, on every N-th quote (``u % N == 0``), places a signed LIMIT IOC buy
at the quoted bid price through ``POST /api/v3/order``. Works against any Binance-compatible endpoint:
``--ws-url`` (market stream), ``--rest-url`` (REST base); ``--ws-api-url`` is accepted for a uniform
interface and unused. Keys: ``HOTPATH_BINANCE_SPOT_API_KEY`` / ``HOTPATH_BINANCE_SPOT_SECRET``.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import time
from urllib.parse import urlencode

import aiohttp
import websockets


async def run(args: argparse.Namespace) -> None:
    key = os.environ["HOTPATH_BINANCE_SPOT_API_KEY"]
    secret = os.environ["HOTPATH_BINANCE_SPOT_SECRET"].encode()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    n_orders = 0
    async with aiohttp.ClientSession() as session, websockets.connect(args.ws_url, max_size=None) as ws:
        reader = asyncio.ensure_future(ws.recv())
        stopper = asyncio.ensure_future(stop.wait())
        while True:
            done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stopper in done:
                reader.cancel()
                break
            try:
                msg = reader.result()
            except websockets.ConnectionClosed:
                break
            reader = asyncio.ensure_future(ws.recv())
            d = json.loads(msg)
            u = d.get("u")
            if u is None or u % args.every:
                continue
            n_orders += 1
            params = {
                "symbol": d["s"], "side": "BUY", "type": "LIMIT", "timeInForce": "IOC",
                "quantity": args.qty, "price": d["b"], "newClientOrderId": f"plain{n_orders}",
                "timestamp": int(time.time() * 1000),
            }
            body = urlencode(params)
            sig = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
            async with session.post(
                args.rest_url + "/api/v3/order", data=body + "&signature=" + sig,
                headers={"X-MBX-APIKEY": key, "Content-Type": "application/x-www-form-urlencoded"},
            ) as resp:
                await resp.read()
        stopper.cancel()
    print(json.dumps({"orders": n_orders}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ws-url", required=True, help="market stream URL (bookTicker)")
    p.add_argument("--ws-api-url", default="", help="unused (REST orders), accepted for a uniform CLI")
    p.add_argument("--rest-url", required=True, help="REST base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--every", type=int, default=10, help="order on quotes with u %% N == 0")
    p.add_argument("--qty", default="0.001")
    p.add_argument("--busy-poll", action="store_true", help="not supported by this baseline (ignored)")
    args = p.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
