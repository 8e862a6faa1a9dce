# SPDX-License-Identifier: Apache-2.0
"""Intent -> signed Binance USD-M WS-API ``order.place`` request bytes: the compiled encoder (nogil C
loop, and one ``encode_py`` call per order) against the plain-Python baseline of a typical bot
(params dict, sorted k=v payload, stdlib hmac, json.dumps / orjson.dumps), in the same run. Also
the REST query-string path and the Bybit/OKX WS bodies (no per-request signature)."""
from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from itertools import count

import orjson
import pytest

import engine.orders as eo
from engine.instruments import Instrument, Venue

from _area3_util import kernel_ns, per_call_ns, report

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
TS = 1711001595207
INST = Instrument(0, Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
INTENT = dict(kind="new", inst=0, side="buy", ord_type="limit", tif="gtc", px=520001, sz=10, client_id=1000)
N_KERNEL = 100_000
N_PY = 20_000


# defaults evaluated once on purpose: one id counter across calls, constants bound as fast locals (the idiom a
# tuned plain-Python bot uses)
def _python_order_place(ids=count(1000), secret=SECRET.encode(), dumps=json.dumps) -> bytes:  # noqa: B008
    """What a plain-Python bot does per order: format numbers, build the params, sign the sorted
    payload with the stdlib, serialise."""
    cid = next(ids)
    params = {
        "apiKey": KEY,
        "newClientOrderId": f"hpt1Z{cid}",
        "price": str(Decimal(520001).scaleb(-1)),
        "quantity": f"{Decimal(10).scaleb(-3):.3f}",
        "recvWindow": 5000,
        "side": "BUY",
        "symbol": "BTCUSDT",
        "timeInForce": "GTC",
        "timestamp": TS,
        "type": "LIMIT",
    }
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
    out = dumps({"id": f"n{cid}", "method": "order.place", "params": params})
    return out if isinstance(out, bytes) else out.encode()


def _encoder(venue=Venue.BINANCE_USDM, transport="ws", inst=INST) -> eo.OrderEncoder:
    e = eo.OrderEncoder(int(venue), transport, KEY, SECRET, "pass", "t1")
    e.add_instrument(inst)
    return e


def _baseline_ns():
    return (per_call_ns(_python_order_place, N_PY),
            per_call_ns(lambda: _python_order_place(dumps=orjson.dumps), N_PY))


@pytest.mark.benchmark(group="orders-binance-ws-place")
def test_python_json_hmac_baseline(benchmark):
    json.loads(_python_order_place())
    benchmark(_python_order_place)
    report(benchmark, "python dict + sorted payload + hmac + json.dumps", ns_per_op=_baseline_ns()[0])


@pytest.mark.benchmark(group="orders-binance-ws-place")
def test_python_orjson_hmac_baseline(benchmark):
    benchmark(lambda: _python_order_place(dumps=orjson.dumps))
    report(benchmark, "python dict + sorted payload + hmac + orjson.dumps", ns_per_op=_baseline_ns()[1])


@pytest.mark.benchmark(group="orders-binance-ws-place")
def test_compiled_encode_py(benchmark):
    e = _encoder()
    benchmark(e.encode_py, INTENT, TS)
    ns = per_call_ns(lambda: e.encode_py(INTENT, TS), N_PY)
    report(benchmark, "OrderEncoder.encode_py (dict in, one Python call)", ns_per_op=ns)


@pytest.mark.benchmark(group="orders-binance-ws-place")
def test_compiled_encode_batch(benchmark):
    e = _encoder()
    benchmark.pedantic(eo._bench_encode, args=(e, INTENT, TS, N_KERNEL), rounds=5, iterations=1)
    ns = kernel_ns(lambda n: eo._bench_encode(e, INTENT, TS, n), N_KERNEL)
    js, oj = _baseline_ns()
    report(benchmark, "OrderEncoder.encode (signed order.place), nogil C loop", ns_per_op=ns,
           python_json_ns=js, python_orjson_ns=oj, ratio_vs_json=js / ns, ratio_vs_orjson=oj / ns)


@pytest.mark.benchmark(group="orders-other")
def test_compiled_encode_binance_rest(benchmark):
    e = _encoder(transport="rest")
    benchmark.pedantic(eo._bench_encode, args=(e, INTENT, TS, N_KERNEL), rounds=3, iterations=1)
    report(benchmark, "Binance REST signed query, nogil C loop",
           ns_per_op=kernel_ns(lambda n: eo._bench_encode(e, INTENT, TS, n), N_KERNEL, repeats=3))


@pytest.mark.benchmark(group="orders-other")
def test_compiled_encode_binance_logged_on(benchmark):
    e = _encoder()
    e.set_logged_on(True)
    benchmark.pedantic(eo._bench_encode, args=(e, INTENT, TS, N_KERNEL), rounds=3, iterations=1)
    report(benchmark, "Binance WS order.place after session.logon (unsigned), nogil C loop",
           ns_per_op=kernel_ns(lambda n: eo._bench_encode(e, INTENT, TS, n), N_KERNEL, repeats=3))


@pytest.mark.benchmark(group="orders-other")
def test_compiled_encode_bybit_ws(benchmark):
    inst = Instrument(1, Venue.BYBIT, "BTCUSDT", "0.10", "0.001")
    e = _encoder(Venue.BYBIT, "ws", inst)
    it = dict(INTENT, inst=1)
    benchmark.pedantic(eo._bench_encode, args=(e, it, TS, N_KERNEL), rounds=3, iterations=1)
    report(benchmark, "Bybit trade WS order.create, nogil C loop",
           ns_per_op=kernel_ns(lambda n: eo._bench_encode(e, it, TS, n), N_KERNEL, repeats=3))


@pytest.mark.benchmark(group="orders-other")
def test_compiled_encode_okx_rest(benchmark):
    inst = Instrument(2, Venue.OKX, "BTC-USDT-SWAP", "0.1", "0.001")
    e = _encoder(Venue.OKX, "rest", inst)
    it = dict(INTENT, inst=2)
    benchmark.pedantic(eo._bench_encode, args=(e, it, TS, N_KERNEL), rounds=3, iterations=1)
    report(benchmark, "OKX REST body + base64 signature (ISO timestamp), nogil C loop",
           ns_per_op=kernel_ns(lambda n: eo._bench_encode(e, it, TS, n), N_KERNEL, repeats=3))
