# SPDX-License-Identifier: Apache-2.0
"""Readable twin of engine.signing (specification and test oracle, not a fallback): HMAC-SHA256
via the stdlib and the venues' signing payloads exactly as exchange-protocols.md states them."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping


def _b(x: bytes | str) -> bytes:
    return x.encode("utf-8") if isinstance(x, str) else bytes(x)


def sha256(data: bytes | str) -> bytes:
    return hashlib.sha256(_b(data)).digest()


class Signer:
    """HMAC-SHA256 keyed once: the stdlib hmac object keeps the pad states; each message signs
    a copy of it."""

    def __init__(self, secret: bytes | str) -> None:
        key = _b(secret)
        if not key:
            raise ValueError("empty secret")
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def digest(self, msg: bytes | str) -> bytes:
        m = self._mac.copy()
        m.update(_b(msg))
        return m.digest()

    def hex(self, msg: bytes | str) -> str:
        return self.digest(msg).hex()

    def b64(self, msg: bytes | str) -> str:
        return base64.b64encode(self.digest(msg)).decode("ascii")

    def __repr__(self) -> str:
        return "Signer(<secret hidden>)"

    def __reduce__(self):
        raise TypeError("Signer holds key material and cannot be pickled or copied")


def binance_value(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


_SEPARATORS = set("&=+%# ")


def binance_pct(s: str) -> str:
    """Percent-encode non-ASCII (UTF-8 bytes) and the query separators; keep the rest."""
    out = []
    for ch in s:
        if ch.isascii() and ch.isprintable() and ch not in _SEPARATORS:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def binance_query(params: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    items = params.items() if isinstance(params, Mapping) else params
    return "&".join(f"{k}={binance_pct(binance_value(v))}" for k, v in items if v is not None)


def binance_rest_payload(query: str | bytes = "", body: str | bytes = "") -> str:
    def enc(s: str | bytes) -> str:
        t = s.decode("utf-8") if isinstance(s, (bytes, bytearray)) else s
        return "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in t)

    return enc(query) + enc(body)


def binance_ws_payload(params: Mapping[str, Any]) -> str:
    return "&".join(f"{k}={binance_value(params[k])}" for k in sorted(params) if k != "signature")


def binance_ws_sign(signer: Signer, params: Mapping[str, Any]) -> dict:
    out = {k: v for k, v in params.items() if k != "signature"}
    out["signature"] = signer.hex(binance_ws_payload(out))
    return out


def bybit_payload(timestamp: Any, api_key: str, recv_window: Any, payload: str | bytes = "") -> str:
    p = payload.decode() if isinstance(payload, (bytes, bytearray)) else payload
    return f"{timestamp}{api_key}{recv_window}{p}"


def bybit_ws_auth_payload(expires_ms: int) -> str:
    return f"GET/realtime{int(expires_ms)}"


def okx_timestamp(ts_ms: int) -> str:
    if ts_ms < 0:
        raise ValueError("negative timestamp")
    d = datetime.fromtimestamp(ts_ms / 1000, tz=timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def okx_payload(timestamp: str, method: str, path: str, body: str | bytes = "") -> str:
    b = body.decode() if isinstance(body, (bytes, bytearray)) else body
    return timestamp + method.upper() + path + b


def okx_ws_login_payload(ts_s: Any) -> str:
    return f"{ts_s}GET/users/self/verify"


def bitget_payload(timestamp: Any, method: str, path: str, query: str = "", body: str | bytes = "") -> str:
    b = body.decode() if isinstance(body, (bytes, bytearray)) else body
    return f"{timestamp}{method.upper()}{path}" + (f"?{query}" if query else "") + b


def bitget_ws_login_payload(timestamp: Any) -> str:
    return f"{timestamp}GET/user/verify"
