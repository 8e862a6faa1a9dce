# SPDX-License-Identifier: Apache-2.0
"""engine.signing: every fixture vector, RFC 4231, stdlib parity (hypothesis), both SHA-256
compressions, payload builders, and that the secret never leaks."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import pickle

import pytest
from hypothesis import given, settings, strategies as st

import engine.signing as cs
from engine._py import signing as ps

IMPLS = [pytest.param(cs, id="compiled"), pytest.param(ps, id="py")]


@pytest.fixture(params=["auto", "portable"])
def sha_impl(request):
    """Run a test with the SHA extensions (when the CPU has them) and with the portable rounds."""
    cs._set_implementation(request.param)
    yield cs.implementation()
    cs._set_implementation("auto")


def _load(fixtures_dir, rel):
    return json.loads((fixtures_dir / rel).read_text())


# ---- RFC 4231 test cases 1-7 (HMAC-SHA-256) ------------------------------------------------------
RFC4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than block-size data. "
     b"The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]


@pytest.mark.parametrize("key,msg,expected", RFC4231)
def test_rfc4231(sha_impl, key, msg, expected):
    assert cs.Signer(key).hex(msg) == expected
    assert ps.Signer(key).hex(msg) == expected
    # RFC 4231 case 5: truncated output is a prefix
    assert cs.Signer(key).digest(msg).hex()[:32] == expected[:32]


def test_sha256_known_answers(sha_impl):
    assert cs.sha256(b"").hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert cs.sha256(b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    long = b"a" * 1_000_000
    assert cs.sha256(long) == hashlib.sha256(long).digest()


@settings(max_examples=300, deadline=None)
@given(key=st.binary(min_size=1, max_size=200), msg=st.binary(max_size=600))
def test_random_parity_with_stdlib(key, msg):
    want = hmac.digest(key, msg, "sha256")
    s = cs.Signer(key)
    assert s.digest(msg) == want
    assert s.hex(msg) == want.hex()
    assert s.b64(msg) == ps.Signer(key).b64(msg)
    assert cs.sha256(msg) == hashlib.sha256(msg).digest()


@settings(max_examples=80, deadline=None)
@given(key=st.binary(min_size=1, max_size=100), msg=st.binary(max_size=300))
def test_random_parity_portable(key, msg):
    cs._set_implementation("portable")
    try:
        assert cs.Signer(key).digest(msg) == hmac.digest(key, msg, "sha256")
    finally:
        cs._set_implementation("auto")


def test_every_block_boundary(sha_impl):
    key = b"k" * 70
    for n in range(0, 260):
        msg = bytes((i * 7) & 0xFF for i in range(n))
        assert cs.Signer(key).digest(msg) == hmac.digest(key, msg, "sha256"), n


def test_str_and_bytes_inputs_agree():
    s = cs.Signer("sécret")
    assert s.hex("naïve") == hmac.new("sécret".encode(), "naïve".encode(), "sha256").hexdigest()
    assert s.hex(bytearray(b"abc")) == s.hex(b"abc") == s.hex(memoryview(b"abc"))
    with pytest.raises(TypeError):
        s.hex(123)
    with pytest.raises(ValueError):
        cs.Signer(b"")
    with pytest.raises(TypeError):
        cs.Signer(None)


# ---- fixtures ----------------------------------------------------------------------------------
@pytest.mark.parametrize("impl", IMPLS)
def test_binance_vectors(fixtures_dir, impl):
    data = _load(fixtures_dir, "binance/signing_vectors.json")
    assert len(data["vectors"]) >= 3
    for v in data["vectors"]:
        signer = impl.Signer(v["secretKey"])
        if "params" in v:
            payload = impl.binance_ws_payload(v["params"])
            assert payload == v["payload"], v["id"]
            signed = impl.binance_ws_sign(signer, v["params"])
            assert signed["signature"] == v["expected_signature_hex"], v["id"]
        else:
            assert impl.binance_rest_payload(v["payload"]) == v["payload"]
        assert signer.hex(v["payload"]) == v["expected_signature_hex"], v["id"]


def test_binance_rest_query_builder_matches_doc(fixtures_dir):
    v = _load(fixtures_dir, "binance/signing_vectors.json")["vectors"][0]
    params = dict(p.split("=", 1) for p in v["payload"].split("&"))
    for impl in (cs, ps):
        q = impl.binance_query(params)
        assert q == v["payload"]
        assert impl.Signer(v["secretKey"]).hex(impl.binance_rest_payload(q)) == v["expected_signature_hex"]


def test_binance_rest_non_ascii_percent_encoded():
    for impl in (cs, ps):
        assert impl.binance_rest_payload("symbol=测试USDT&side=BUY", "") == \
            "symbol=%E6%B5%8B%E8%AF%95USDT&side=BUY"
        assert impl.binance_rest_payload("a=1", "b=é") == "a=1b=%C3%A9"
        assert impl.binance_query({"newClientOrderId": "a b&c", "x": True, "skip": None}) == \
            "newClientOrderId=a%20b%26c&x=true"


@pytest.mark.parametrize("impl", IMPLS)
def test_binance_ws_api_examples(fixtures_dir, impl):
    data = _load(fixtures_dir, "binance/docs/ws_api_signed_examples_verified.json")
    signer = impl.Signer(data["secretKey"])
    assert len(data["examples"]) >= 8
    for ex in data["examples"]:
        params = ex["request"]["params"]
        assert impl.binance_ws_payload(params) == ex["signing_payload"], ex["method"]
        assert signer.hex(ex["signing_payload"]) == ex["expected_signature_hex"], ex["method"]
        assert impl.binance_ws_sign(signer, params)["signature"] == params["signature"], ex["method"]


def test_binance_ws_logon_helper(fixtures_dir):
    data = _load(fixtures_dir, "binance/docs/ws_api_signed_examples_verified.json")
    ex = next(e for e in data["examples"] if e["method"] == "session.logon")
    p = ex["request"]["params"]
    msg = cs.binance_ws_logon(cs.Signer(data["secretKey"]), p["apiKey"], p["timestamp"], ex["request"]["id"])
    assert msg == ex["request"]


@pytest.mark.parametrize("impl", IMPLS)
def test_bybit_vectors(fixtures_dir, impl):
    data = _load(fixtures_dir, "bybit/signing_vectors.json")
    for v in data["vectors"]:
        s = impl.Signer(v["secret"])
        if "expires" in v:
            pre = impl.bybit_ws_auth_payload(v["expires"])
        else:
            pre = impl.bybit_payload(v["timestamp"], v["api_key"], v["recv_window"], v["payload"])
        assert pre == v["prehash"], v["id"]
        assert s.hex(pre) == v["sign_hex"], v["id"]


def test_bybit_helpers(fixtures_dir):
    data = _load(fixtures_dir, "bybit/signing_vectors.json")
    v = next(x for x in data["vectors"] if x["id"] == "bybit_get")
    h = cs.bybit_headers(cs.Signer(v["secret"]), v["api_key"], int(v["timestamp"]), v["recv_window"], v["payload"])
    assert h["X-BAPI-SIGN"] == v["sign_hex"] and h["X-BAPI-TIMESTAMP"] == v["timestamp"]
    w = next(x for x in data["vectors"] if "expires" in x)
    auth = cs.bybit_ws_auth(cs.Signer(w["secret"]), "KEY", w["expires"])
    assert auth == {"op": "auth", "args": ["KEY", w["expires"], w["sign_hex"]]}


@pytest.mark.parametrize("impl", IMPLS)
def test_okx_vectors(fixtures_dir, impl):
    data = _load(fixtures_dir, "okx/signing_vectors.json")
    for v in data["vectors"]:
        s = impl.Signer(v["secret"])
        if "method" in v:
            pre = impl.okx_payload(v["timestamp"], v["method"], v["requestPath"], v["body"])
        else:
            pre = impl.okx_ws_login_payload(v["timestamp"])
        assert pre == v["prehash"], v["id"]
        assert s.b64(pre) == v["sign_b64"], v["id"]


def test_okx_timestamp_and_headers(fixtures_dir):
    for impl in (cs, ps):
        assert impl.okx_timestamp(1607418537715) == "2020-12-08T09:08:57.715Z"
        assert impl.okx_timestamp(1607418537005) == "2020-12-08T09:08:57.005Z"
    v = next(x for x in _load(fixtures_dir, "okx/signing_vectors.json")["vectors"] if x["id"] == "okx_get")
    h = cs.okx_headers(cs.Signer(v["secret"]), "KEY", "PASS", 1607418537715, "GET", v["requestPath"])
    assert h["OK-ACCESS-SIGN"] == v["sign_b64"] and h["OK-ACCESS-TIMESTAMP"] == v["timestamp"]
    w = next(x for x in _load(fixtures_dir, "okx/signing_vectors.json")["vectors"] if x["id"] == "okx_ws_login_2")
    login = cs.okx_ws_login(cs.Signer(w["secret"]), "KEY", "PASS", int(w["timestamp"]))
    assert login["args"][0]["sign"] == w["sign_b64"] and login["args"][0]["timestamp"] == w["timestamp"]


@pytest.mark.parametrize("impl", IMPLS)
def test_bitget_vectors(fixtures_dir, impl):
    data = _load(fixtures_dir, "bitget/signing_vectors.json")
    for v in data["vectors"]:
        s = impl.Signer(v["secret"])
        if "method" in v:
            pre = impl.bitget_payload(v["timestamp"], v["method"], v["requestPath"], v["queryString"], v["body"])
        else:
            pre = impl.bitget_ws_login_payload(v["timestamp"])
        assert pre == v["prehash"], v["id"]
        assert s.b64(pre) == v["sign_b64"], v["id"]


def test_bitget_helpers(fixtures_dir):
    data = _load(fixtures_dir, "bitget/signing_vectors.json")
    v = next(x for x in data["vectors"] if x["id"] == "bitget_get_v2")
    h = cs.bitget_headers(cs.Signer(v["secret"]), "KEY", "PASS", int(v["timestamp"]), v["method"],
                          v["requestPath"], v["queryString"], v["body"])
    assert h["ACCESS-SIGN"] == v["sign_b64"] and h["ACCESS-PASSPHRASE"] == "PASS"
    w = next(x for x in data["vectors"] if x["id"] == "bitget_ws_login_1")
    login = cs.bitget_ws_login(cs.Signer(w["secret"]), "KEY", "PASS", w["timestamp"])
    assert login["args"][0]["sign"] == w["sign_b64"]


# ---- secrecy -----------------------------------------------------------------------------------
@pytest.mark.parametrize("impl", IMPLS)
def test_secret_never_leaks(impl):
    secret = "SUPERSECRETKEY123"
    s = impl.Signer(secret)
    assert secret not in repr(s) and secret not in str(s)
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        copy.copy(s)
    if impl is cs:
        assert not hasattr(s, "__dict__")
        assert not [a for a in dir(s) if "secret" in a.lower() or a == "key"]


def test_bench_kernel_runs():
    s = cs.Signer(b"k")
    assert cs._bench_hex(s, b"x" * 151, 10) >= 0


# ---- compiled payload builders == readable twin ---------------------------------------------------
_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(params=st.dictionaries(st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True),
                              st.one_of(_text, st.integers(-10**15, 10**15), st.booleans()), max_size=10),
       body=_text)
def test_builders_match_twin(params, body):
    assert cs.binance_ws_payload(params) == ps.binance_ws_payload(params)
    assert cs.binance_query(params) == ps.binance_query(params)
    q = ps.binance_query(params)
    assert cs.binance_rest_payload(q, body) == ps.binance_rest_payload(q, body)
    assert cs.binance_rest_payload(q, body).isascii()
    assert cs.bybit_payload(1, "k", 5000, body) == ps.bybit_payload(1, "k", 5000, body)
    assert cs.okx_payload("t", "post", "/p", body) == ps.okx_payload("t", "post", "/p", body)
    assert cs.bitget_payload(1, "get", "/p", "a=1", body) == ps.bitget_payload(1, "get", "/p", "a=1", body)
    s = "sk"
    assert cs.binance_ws_sign(cs.Signer(s), params) == ps.binance_ws_sign(ps.Signer(s), params)


def test_binance_rest_query_plus_body_concatenated_without_separator(fixtures_dir):
    """USD-M docs Example 3 shape: part of the params in the query, part in the body; the payload
    is the two strings back to back (no '&'), signed with the secret of the docs' example."""
    v = next(x for x in _load(fixtures_dir, "binance/signing_vectors.json")["vectors"]
             if x["id"] == "binance-usdm-rest-hmac-query")
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
    for impl in (cs, ps):
        payload = impl.binance_rest_payload(query, body)
        assert payload == query + body
        assert impl.Signer(v["secretKey"]).hex(payload) == hmac.new(
            v["secretKey"].encode(), (query + body).encode(), hashlib.sha256).hexdigest()
        assert impl.binance_rest_payload(query.encode(), body.encode()) == payload
