# SPDX-License-Identifier: Apache-2.0
"""HMAC-SHA256 hex of a 151-byte Binance query: compiled pre-keyed signer (batch loop in C, and one
Python call per signature) against the stdlib baselines ``hmac.new(...).hexdigest()`` and
``hmac.digest(...).hex()`` measured in the same run. Target: <= 200 ns and >= 7x stdlib."""
from __future__ import annotations

import hashlib
import hmac

import pytest

import engine.signing as sg

from _area3_util import kernel_ns, per_call_ns, report

SECRET = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
_BASE = (b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000000&price=52000.00"
         b"&recvWindow=5000&timestamp=1645423376532&newClientOrderId=")
MSG = _BASE + b"x" * (151 - len(_BASE))
assert len(MSG) == 151

N_KERNEL = 200_000
N_PY = 50_000


def _stdlib_new() -> float:
    return per_call_ns(lambda: hmac.new(SECRET, MSG, hashlib.sha256).hexdigest(), N_PY)


def _stdlib_digest() -> float:
    return per_call_ns(lambda: hmac.digest(SECRET, MSG, "sha256").hex(), N_PY)


@pytest.mark.benchmark(group="signing-hmac151")
def test_stdlib_hmac_new(benchmark):
    benchmark(lambda: hmac.new(SECRET, MSG, hashlib.sha256).hexdigest())
    report(benchmark, "stdlib hmac.new hexdigest", ns_per_op=_stdlib_new())


@pytest.mark.benchmark(group="signing-hmac151")
def test_stdlib_hmac_digest(benchmark):
    benchmark(lambda: hmac.digest(SECRET, MSG, "sha256").hex())
    report(benchmark, "stdlib hmac.digest hex", ns_per_op=_stdlib_digest())


@pytest.mark.benchmark(group="signing-hmac151")
def test_compiled_signer_python_call(benchmark):
    s = sg.Signer(SECRET)
    assert s.hex(MSG) == hmac.new(SECRET, MSG, hashlib.sha256).hexdigest()
    benchmark(s.hex, MSG)
    ns = per_call_ns(lambda: s.hex(MSG), N_PY)
    report(benchmark, "Signer.hex (one Python call each)", ns_per_op=ns,
           ratio_vs_hmac_new=_stdlib_new() / ns)


@pytest.mark.benchmark(group="signing-hmac151")
def test_compiled_signer_batch(benchmark):
    s = sg.Signer(SECRET)
    benchmark.pedantic(sg._bench_hex, args=(s, MSG, N_KERNEL), rounds=5, iterations=1)
    ns = kernel_ns(lambda n: sg._bench_hex(s, MSG, n), N_KERNEL)
    new_ns, dig_ns = _stdlib_new(), _stdlib_digest()
    report(benchmark, f"compiled sign_hex_into, nogil C loop ({sg.implementation()})", ns_per_op=ns,
           stdlib_hmac_new_ns=new_ns, stdlib_hmac_digest_ns=dig_ns,
           ratio_vs_hmac_new=new_ns / ns, ratio_vs_hmac_digest=dig_ns / ns, batch=N_KERNEL)


@pytest.mark.benchmark(group="signing-hmac151")
def test_compiled_signer_batch_portable(benchmark):
    """The portable C rounds (what aarch64 wheels and CPUs without SHA extensions run)."""
    s = sg.Signer(SECRET)
    sg._set_implementation("portable")
    try:
        benchmark.pedantic(sg._bench_hex, args=(s, MSG, N_KERNEL // 4), rounds=3, iterations=1)
        ns = kernel_ns(lambda n: sg._bench_hex(s, MSG, n), N_KERNEL // 4, repeats=3)
    finally:
        sg._set_implementation("auto")
    report(benchmark, "compiled sign_hex_into, portable rounds", ns_per_op=ns,
           ratio_vs_hmac_new=_stdlib_new() / ns)
