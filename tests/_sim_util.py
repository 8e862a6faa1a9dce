# SPDX-License-Identifier: Apache-2.0
"""A plain Binance client written from the Binance docs (aiohttp + stdlib only, no engine code),
used by the simulator tests as an independent check of its protocol fidelity."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class PlainBinance:
    def __init__(self, session: aiohttp.ClientSession, endpoints: dict[str, str], key: str,
                 secret: str, futures: bool) -> None:
        self.s = session
        self.ep = endpoints
        self.key = key
        self.secret = secret
        self.futures = futures
        self.v = "/fapi/v1" if futures else "/api/v3"

    async def public(self, path: str, **params: Any) -> tuple[int, Any]:
        async with self.s.get(self.ep["rest"] + path, params=params) as r:
            return r.status, await r.json()

    async def signed(self, method: str, path: str, ts: int | None = None, key: str | None = "",
                     bad_sig: bool = False, body: bool = False, **params: Any) -> tuple[int, Any, Any]:
        params["timestamp"] = ts if ts is not None else int(time.time() * 1000)
        q = urlencode(params)
        sig = sign(self.secret, q)
        if bad_sig:
            sig = sig[:-4] + ("0000" if sig[-4:] != "0000" else "1111")
        headers = {}
        k = self.key if key == "" else key
        if k is not None:
            headers["X-MBX-APIKEY"] = k
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            async with self.s.request(method, self.ep["rest"] + path, data=q + "&signature=" + sig,
                                      headers=headers) as r:
                return r.status, await r.json(), r.headers
        async with self.s.request(method, self.ep["rest"] + path + "?" + q + "&signature=" + sig,
                                  headers=headers) as r:
            return r.status, await r.json(), r.headers

    def ws_request(self, rid: str, method: str, signed: bool = True, **params: Any) -> dict[str, Any]:
        if signed:
            params.setdefault("apiKey", self.key)
            params.setdefault("timestamp", int(time.time() * 1000))
            payload = "&".join(f"{k}={_v(params[k])}" for k in sorted(params))
            params["signature"] = sign(self.secret, payload)
        return {"id": rid, "method": method, "params": params}


def _v(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class LocalBook:
    """Order book kept by the official Binance procedure (spot U/u, futures pu)."""

    def __init__(self, futures: bool) -> None:
        self.futures = futures
        self.bids: dict[Decimal, str] = {}
        self.asks: dict[Decimal, str] = {}
        self.last_u: int | None = None
        self.raw: dict[Decimal, str] = {}

    def load(self, snap: dict[str, Any]) -> None:
        self.bids = {Decimal(p): q for p, q in snap["bids"]}
        self.asks = {Decimal(p): q for p, q in snap["asks"]}
        self.L = snap["lastUpdateId"]
        self.last_u = None

    def apply(self, ev: dict[str, Any]) -> bool:
        """Returns False on a sequence break (caller must resync)."""
        U, u = ev["U"], ev["u"]
        if self.last_u is None:
            if u < self.L or (not self.futures and u <= self.L):
                return True   # drop
            if self.futures:
                if not (U <= self.L <= u):
                    return False
            elif not (U <= self.L + 1 <= u):
                return False
        else:
            if self.futures and ev["pu"] != self.last_u:
                return False
            if not self.futures and U != self.last_u + 1:
                return False
        for side, book in (("b", self.bids), ("a", self.asks)):
            for p, q in ev[side]:
                if Decimal(q) == 0:
                    book.pop(Decimal(p), None)
                else:
                    book[Decimal(p)] = q
        self.last_u = u
        return True

    def levels(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        return ([(_fmt(p, self.bids), q) for p, q in sorted(self.bids.items(), reverse=True)],
                [(_fmt(p, self.asks), q) for p, q in sorted(self.asks.items())])


def _fmt(p: Decimal, book: dict) -> str:
    return str(p)


async def drain(ws: aiohttp.ClientWebSocketResponse, quiet: float = 0.3) -> list[Any]:
    out = []
    while True:
        try:
            msg = await asyncio.wait_for(ws.receive(), quiet)
        except asyncio.TimeoutError:
            return out
        if msg.type != aiohttp.WSMsgType.TEXT:
            return out
        out.append(msg.json())
