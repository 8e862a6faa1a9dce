# SPDX-License-Identifier: Apache-2.0
# engine.signing: HMAC-SHA256 with pre-keyed pad states (include/engine/sha256.h), hex/base64
# output into caller buffers from nogil code, and the venues' signing payload builders.
cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, int64_t
from libc.string cimport memcpy, memset

from engine.types cimport eng_now_ns
from engine.signing cimport *

import datetime as _dt


cdef inline bytes _as_bytes(object msg, str what):
    if isinstance(msg, bytes):
        return <bytes>msg
    if isinstance(msg, str):
        return (<str>msg).encode("utf-8")
    if isinstance(msg, (bytearray, memoryview)):
        return bytes(msg)
    raise TypeError(f"{what} must be bytes or str, not {type(msg).__name__}")


def sha256(data) -> bytes:
    """SHA-256 digest (32 bytes) of bytes/str (str is UTF-8 encoded)."""
    cdef bytes b = _as_bytes(data, "data")
    cdef uint8_t out[32]
    eng_sha256_digest(PyBytes_AS_STRING(b), <size_t>PyBytes_GET_SIZE(b), out)
    return PyBytes_FromStringAndSize(<char*>out, 32)


def implementation() -> str:
    """Which SHA-256 compression is active: ``"sha-ni"`` (x86 SHA extensions) or ``"portable"``."""
    return "sha-ni" if eng_sha256_get_impl() == 1 else "portable"


def _set_implementation(str name) -> str:
    """Tests only: force ``"portable"`` or go back to ``"auto"``; returns the active name."""
    if name not in ("auto", "portable"):
        raise ValueError("name must be 'auto' or 'portable'")
    eng_sha256_set_impl(2 if name == "portable" else 0)
    return implementation()


@cython.final
cdef class Signer:
    """HMAC-SHA256 signer for one API secret.

    The key's inner/outer pad states are derived once in the constructor; every signature then
    costs the message's SHA-256 blocks plus one outer block. The secret itself is not kept (only
    the two 32-byte states), never appears in ``repr`` and the object cannot be pickled.

    Parameters
    ----------
    secret : bytes | str
        The API secret (str is UTF-8 encoded, as every venue uses it).
    """

    def __cinit__(self, secret):
        cdef bytes b = _as_bytes(secret, "secret")
        if PyBytes_GET_SIZE(b) == 0:
            raise ValueError("empty secret")
        eng_hmac_key_init(&self.key, PyBytes_AS_STRING(b), <size_t>PyBytes_GET_SIZE(b))

    def __dealloc__(self):
        # wipe the pad states (they are as good as the key for signing)
        memset(&self.key, 0, sizeof(eng_hmac_key))

    cdef void digest_into(self, const char* msg, size_t n, uint8_t* out32) noexcept nogil:
        """Raw 32-byte MAC of msg[0..n) into out32."""
        eng_hmac_sha256(&self.key, msg, n, out32)

    cdef void sign_hex_into(self, const char* msg, size_t n, char* out64) noexcept nogil:
        """Lowercase hex MAC (64 bytes, no terminator) of msg[0..n) into out64."""
        eng_hmac_sha256_hex(&self.key, msg, n, out64)

    cdef void sign_b64_into(self, const char* msg, size_t n, char* out44) noexcept nogil:
        """Base64 MAC (44 bytes with padding, no terminator) of msg[0..n) into out44."""
        eng_hmac_sha256_b64(&self.key, msg, n, out44)

    def digest(self, msg) -> bytes:
        """Raw MAC (32 bytes) of ``msg`` (bytes or UTF-8 str)."""
        cdef bytes b = _as_bytes(msg, "msg")
        cdef uint8_t out[32]
        eng_hmac_sha256(&self.key, PyBytes_AS_STRING(b), <size_t>PyBytes_GET_SIZE(b), out)
        return PyBytes_FromStringAndSize(<char*>out, 32)

    def hex(self, msg) -> str:
        """Lowercase hex MAC of ``msg`` (Binance, Bybit)."""
        cdef bytes b = _as_bytes(msg, "msg")
        cdef char out[64]
        eng_hmac_sha256_hex(&self.key, PyBytes_AS_STRING(b), <size_t>PyBytes_GET_SIZE(b), out)
        return out[:64].decode("ascii")

    def b64(self, msg) -> str:
        """Base64 MAC of ``msg`` (OKX, Bitget)."""
        cdef bytes b = _as_bytes(msg, "msg")
        cdef char out[44]
        eng_hmac_sha256_b64(&self.key, PyBytes_AS_STRING(b), <size_t>PyBytes_GET_SIZE(b), out)
        return out[:44].decode("ascii")

    def __repr__(self) -> str:
        return "Signer(<secret hidden>)"

    def __reduce__(self):
        raise TypeError("Signer holds key material and cannot be pickled or copied")


def _bench_hex(Signer s not None, bytes msg not None, int64_t n) -> int:
    """Benchmark kernel: ``n`` hex signatures of ``msg`` in a nogil C loop; returns elapsed ns.
    The last byte of the message changes every iteration and the output feeds the next input, so
    the compiler cannot hoist the (inlined, otherwise loop-invariant) signature out of the loop."""
    cdef char out[64]
    cdef size_t ln = <size_t>PyBytes_GET_SIZE(msg)
    if ln == 0 or ln > 4096:
        raise ValueError("msg must be 1..4096 bytes")
    cdef char buf[4096]
    memcpy(buf, PyBytes_AS_STRING(msg), ln)
    cdef int64_t i, t0, t1
    cdef char keep = buf[ln - 1]
    memset(out, 0, 64)
    with nogil:
        t0 = eng_now_ns()
        for i in range(n):
            buf[ln - 1] = <char>(keep ^ (out[i & 63] & 1) ^ (i & 1))
            s.sign_hex_into(buf, ln, out)
        t1 = eng_now_ns()
    return t1 - t0


# ---- payload builders ---------------------------------------------------------------------------
# The exact byte strings each venue signs (../shared/docs/exchange-protocols.md). They return str;
# sign with Signer.hex / Signer.b64. The compiled order encoders (engine.orders) build the same
# strings in C; these are for the shell (REST, logins) and tests.

cdef frozenset _SEPARATORS = frozenset("&=+%# ")


cpdef str binance_value(object v):
    """A parameter value as Binance expects it in a query / signing payload (bools lowercase)."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def binance_pct(str s) -> str:
    """Percent-encode (UTF-8, upper-case hex) every character that is not printable ASCII and the
    query separators ``& = + % # space`` (Binance: non-ASCII must be percent-encoded before
    signing, and the encoded string is what is sent)."""
    if s.isascii() and s.isprintable() and not any(c in _SEPARATORS for c in s):
        return s
    out = []
    for ch in s:
        if ch.isascii() and ch.isprintable() and ch not in _SEPARATORS:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def binance_query(params) -> str:
    """``symbol=..&side=..`` in the given order (dict or iterable of pairs), values percent-encoded
    where needed; ``None`` values are skipped."""
    items = params.items() if hasattr(params, "items") else params
    return "&".join(f"{k}={binance_pct(binance_value(v))}" for k, v in items if v is not None)


def binance_rest_payload(query="", body="") -> str:
    """Binance REST signing payload: the query string and the request body concatenated with
    nothing between them, non-ASCII percent-encoded."""
    q = query.decode("utf-8") if isinstance(query, (bytes, bytearray)) else query
    b = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    return _pct_non_ascii(q) + _pct_non_ascii(b)


cdef str _pct_non_ascii(str s):
    if s.isascii():
        return s
    return "".join(ch if ch.isascii() else "".join(f"%{b:02X}" for b in ch.encode("utf-8")) for ch in s)


def binance_ws_payload(params) -> str:
    """Binance WS-API signing payload: every param except ``signature``, sorted by name, ``k=v``
    joined with ``&``; values UTF-8, not percent-encoded."""
    return "&".join(f"{k}={binance_value(params[k])}" for k in sorted(params) if k != "signature")


def binance_ws_sign(Signer signer not None, dict params) -> dict:
    """A copy of ``params`` with ``signature`` set (HMAC hex of :func:`binance_ws_payload`)."""
    out = dict(params)
    out.pop("signature", None)
    out["signature"] = signer.hex(binance_ws_payload(out))
    return out


def bybit_payload(timestamp, api_key, recv_window, payload="") -> str:
    """Bybit v5 REST / WS-trade signing payload: timestamp + api_key + recv_window + payload
    (raw query string for GET, raw JSON body for POST)."""
    p = payload.decode("utf-8") if isinstance(payload, (bytes, bytearray)) else payload
    return f"{timestamp}{api_key}{recv_window}{p}"


def bybit_ws_auth_payload(expires_ms) -> str:
    """Bybit private WS auth payload: ``"GET/realtime" + expires`` (ms)."""
    return f"GET/realtime{int(expires_ms)}"


def okx_timestamp(int64_t ts_ms) -> str:
    """OKX REST timestamp: ISO-8601 UTC with milliseconds, ``2020-12-08T09:08:57.715Z``."""
    if ts_ms < 0:
        raise ValueError("negative timestamp")
    d = _dt.datetime.fromtimestamp(ts_ms // 1000, tz=_dt.timezone.utc)
    return f"{d:%Y-%m-%dT%H:%M:%S}.{ts_ms % 1000:03d}Z"


def okx_payload(str timestamp, str method, str path, body="") -> str:
    """OKX REST signing payload: ISO timestamp + METHOD + requestPath (with ``?query`` for GET) + body."""
    b = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    return f"{timestamp}{method.upper()}{path}{b}"


def okx_ws_login_payload(ts_s) -> str:
    """OKX WS login payload: timestamp (seconds) + ``GET`` + ``/users/self/verify``."""
    return f"{ts_s}GET/users/self/verify"


def bitget_payload(timestamp, str method, str path, str query="", body="") -> str:
    """Bitget REST signing payload: timestamp (ms) + METHOD + path + (``?`` + query if any) + body."""
    b = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    q = f"?{query}" if query else ""
    return f"{timestamp}{method.upper()}{path}{q}{b}"


def bitget_ws_login_payload(timestamp) -> str:
    """Bitget WS login payload: timestamp + ``GET`` + ``/user/verify``."""
    return f"{timestamp}GET/user/verify"


# ---- headers and login messages (shell helpers) -------------------------------------------------

def binance_headers(str api_key) -> dict:
    return {"X-MBX-APIKEY": api_key}


def bybit_headers(Signer signer not None, str api_key, int64_t ts_ms, recv_window, payload="") -> dict:
    """Headers of a signed Bybit v5 REST request (``payload`` = query string or JSON body as sent)."""
    return {
        "X-BAPI-API-KEY": api_key,
        "X-BAPI-TIMESTAMP": str(ts_ms),
        "X-BAPI-RECV-WINDOW": str(recv_window),
        "X-BAPI-SIGN": signer.hex(bybit_payload(ts_ms, api_key, recv_window, payload)),
        "Content-Type": "application/json",
    }


def okx_headers(Signer signer not None, str api_key, str passphrase, int64_t ts_ms, str method,
                str path, body="", bint simulated=False) -> dict:
    """Headers of a signed OKX REST request (``path`` includes ``?query`` for GET)."""
    ts = okx_timestamp(ts_ms)
    h = {
        "OK-ACCESS-KEY": api_key,
        "OK-ACCESS-SIGN": signer.b64(okx_payload(ts, method, path, body)),
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
    }
    if simulated:
        h["x-simulated-trading"] = "1"
    return h


def bitget_headers(Signer signer not None, str api_key, str passphrase, int64_t ts_ms, str method,
                   str path, str query="", body="", str locale="en-US") -> dict:
    """Headers of a signed Bitget v2 REST request."""
    return {
        "ACCESS-KEY": api_key,
        "ACCESS-SIGN": signer.b64(bitget_payload(ts_ms, method, path, query, body)),
        "ACCESS-TIMESTAMP": str(ts_ms),
        "ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
        "locale": locale,
    }


def binance_ws_logon(Signer signer not None, str api_key, int64_t ts_ms, req_id="logon") -> dict:
    """Binance WS-API ``session.logon`` request (HMAC-signed; the docs call it Ed25519-only today,
    yet their own example verifies as this HMAC - see the fixtures)."""
    params = {"apiKey": api_key, "timestamp": ts_ms}
    return {"id": req_id, "method": "session.logon", "params": binance_ws_sign(signer, params)}


def bybit_ws_auth(Signer signer not None, str api_key, int64_t expires_ms) -> dict:
    """Bybit private / trade WS ``auth`` op."""
    return {"op": "auth", "args": [api_key, expires_ms, signer.hex(bybit_ws_auth_payload(expires_ms))]}


def okx_ws_login(Signer signer not None, str api_key, str passphrase, int64_t ts_s) -> dict:
    """OKX private WS ``login`` op (timestamp in seconds)."""
    return {"op": "login", "args": [{"apiKey": api_key, "passphrase": passphrase, "timestamp": str(ts_s),
                                     "sign": signer.b64(okx_ws_login_payload(ts_s))}]}


def bitget_ws_login(Signer signer not None, str api_key, str passphrase, timestamp) -> dict:
    """Bitget private WS ``login`` op (``timestamp`` as the caller decides: seconds per the English
    docs, ms per the Chinese page - see exchange-protocols.md VERIFY)."""
    return {"op": "login", "args": [{"apiKey": api_key, "passphrase": passphrase, "timestamp": str(timestamp),
                                     "sign": signer.b64(bitget_ws_login_payload(timestamp))}]}
