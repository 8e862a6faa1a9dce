# SPDX-License-Identifier: Apache-2.0
"""Request verification recipes of the simulated venues, written from the venue docs with the
standard library only (independent of engine.signing)."""
from __future__ import annotations

import base64
import hashlib
import hmac


def hmac_hex(secret: str, payload: str | bytes) -> str:
    data = payload.encode() if isinstance(payload, str) else payload
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def hmac_b64(secret: str, payload: str | bytes) -> str:
    data = payload.encode() if isinstance(payload, str) else payload
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def binance_rest_payload(raw_query: str, body: str) -> tuple[str, str | None]:
    """Binance REST: totalParams = query string + body, with the ``signature`` parameter removed.
    Returns (payload, signature or None)."""
    sig = None
    parts = []
    for piece in raw_query.split("&") if raw_query else []:
        if piece.startswith("signature="):
            sig = piece[len("signature="):]
        else:
            parts.append(piece)
    q = "&".join(parts)
    bparts = []
    for piece in body.split("&") if body else []:
        if piece.startswith("signature="):
            sig = piece[len("signature="):]
        else:
            bparts.append(piece)
    return q + "&".join(bparts), sig


def ws_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, (list, dict)):
        import json
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def binance_ws_payload(params: dict) -> str:
    """Binance WS API: all params except signature, sorted by name, ``k=v`` joined by ``&``."""
    return "&".join(f"{k}={ws_value(params[k])}" for k in sorted(params) if k != "signature")


def verify_binance_rest(secret: str, raw_query: str, body: str) -> bool:
    payload, sig = binance_rest_payload(raw_query, body)
    return sig is not None and hmac.compare_digest(hmac_hex(secret, payload), sig.lower())


def verify_binance_ws(secret: str, params: dict) -> bool:
    sig = params.get("signature")
    return isinstance(sig, str) and hmac.compare_digest(
        hmac_hex(secret, binance_ws_payload(params)), sig.lower())


def bybit_sign(secret: str, timestamp: str, api_key: str, recv_window: str, payload: str) -> str:
    return hmac_hex(secret, f"{timestamp}{api_key}{recv_window}{payload}")


def okx_sign(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    return hmac_b64(secret, f"{timestamp}{method.upper()}{path}{body}")


def bitget_sign(secret: str, timestamp: str, method: str, path_with_query: str, body: str) -> str:
    return hmac_b64(secret, f"{timestamp}{method.upper()}{path_with_query}{body}")
