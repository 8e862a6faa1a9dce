# SPDX-License-Identifier: Apache-2.0
"""Ed25519 API keys on Binance (spot and USD-M), against the sim: the router logs on with the key
and then sends orders on the WS API unsigned, user data and fills arrive once, the REST path signs
with base64 Ed25519, a different key is refused with -1022 and the router never becomes ready,
keys load from a PEM file (key file and environment) and never show in logs or reprs. Keys are
generated in the tests; no key file is committed."""
from __future__ import annotations

import asyncio
import base64
import logging
import os
import sqlite3
import time
from urllib.parse import unquote

import aiohttp
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine.config import Credentials, resolve_credentials
from engine.errors import ConfigError
from engine.instruments import Venue
from engine.router import Router, RouterError, VenueConfig
from engine.signing import binance_ws_payload
from engine.sim.server import SimExchange
from engine.state import CANCELED, NEW
from engine.store import open_store

from _router_util import assert_matches_exchange, instruments_for, settle, sim_config, sim_trade_id

SYM = "BTCUSDT"
BUY, SELL = 1, -1
# fixed test keys (32-byte seeds): generated here, never written to the repository
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


def _pem(key: Ed25519PrivateKey, passphrase: bytes | None = None) -> str:
    enc = (serialization.BestAvailableEncryption(passphrase) if passphrase
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc).decode()


def _pem_body(pem: str) -> str:
    """The base64 lines of a PEM (what must never show anywhere)."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


@pytest.fixture(params=["binance_spot", "binance_usdm"])
async def ex(request):
    async with SimExchange(sim_config(request.param)) as ex:
        ex.key = request.param
        # the real venue's logon takes Ed25519 only: our HMAC key could not log on
        ex.venue(request.param).hmac_logon = False
        yield ex


@pytest.fixture
async def spot():
    async with SimExchange(sim_config("binance_spot")) as ex:
        ex.key = "binance_spot"
        ex.venue("binance_spot").hmac_logon = False
        yield ex


async def _router(ex, tmp_path, signing_key=KEY, start=True, **kw):
    """Router with an Ed25519 API key registered on the sim account for KEY's public key."""
    api_key = ex.venue(ex.key).add_ed25519_key(KEY.public_key())
    store = await open_store(f"sqlite:///{tmp_path}/r.db")
    cfg = VenueConfig(ex.endpoints(ex.key), api_key, _pem(signing_key), "")
    kw.setdefault("recv_window_ms", 1000)
    kw.setdefault("order_timeout_s", 0.5)
    r = Router(instruments_for(ex, ex.key), store, {ex.key: cfg}, **kw)
    if start:
        await r.start()
        await r.ready()
    return r, store


def _inst(r, ex):
    return next(i for i in r.instruments.values() if i.symbol == SYM)


def _touch(ex, ins):
    bids, asks = ex.true_book(ex.key, SYM, 1)
    return ins.px_to_units(bids[0][0]), ins.px_to_units(asks[0][0])


def _auth(ex, what):
    return [how for m, how in ex.venue(ex.key).auth_log if m == what]


def _sim_fills(ex):
    return sorted(sim_trade_id(ex.key, f) for f in ex.fills(ex.key) if f.order.client_id.startswith("hp"))


async def test_logon_then_unsigned_ws_orders_and_fills_once(ex, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    venue = ex.venue(ex.key)
    r, store = await _router(ex, tmp_path)
    rv = r.venues[Venue.parse(ex.key)]
    ad = rv.adapter
    assert ad.ed25519 is not None and ad.ws_logged_on and ad.try_logon
    assert ad.enc_rest is None                       # the compiled REST encoder signs HMAC only
    assert "ed25519" in _auth(ex, "session.logon")
    if ex.key == "binance_spot":                     # user data on a logged-on WS API session
        assert [h for _sid, h in venue.api_subs.values()] == ["logon"]
        assert ad.user_logged_on
    ins = _inst(r, ex)
    q = ins.sz_to_units("0.01")
    bid, ask = _touch(ex, ins)
    rest = await r.place(ins.id, BUY, q, bid - ins.px_to_units("100"))
    await settle(r, lambda: rest.status == NEW)
    await r.cancel(rest.client_oid)
    await settle(r, lambda: rest.status == CANCELED)
    orders = [await r.place(ins.id, BUY, q, bid), await r.place(ins.id, SELL, q, ask)]
    await settle(r, lambda: all(o.status == NEW for o in orders))
    # after logon the orders carried no apiKey and no signature: the session authenticated them
    assert _auth(ex, "order.place") == ["session"] * 3
    assert _auth(ex, "order.cancel") == ["session"]
    assert "hmac" not in {how for _m, how in venue.auth_log}
    ex.market_trade(ex.key, SYM, "SELL", "5")
    ex.market_trade(ex.key, SYM, "BUY", "5")
    want = _sim_fills(ex)
    assert len(want) >= 2
    await settle(r, lambda: all(o.fill_sum == o.filled_sz == q for o in orders))
    await settle(r)
    local = sorted(tid for (v, tid) in r.state.fill_ids if v == int(Venue.parse(ex.key)))
    assert local == want                               # every fill once, from the user stream
    assert r.state.duplicate_fills == 0
    assert not [e for e in r.events if e["type"] == "missed_fill"]
    again = await r.reconcile(Venue.parse(ex.key))     # signed REST queries (Ed25519) add nothing
    assert again["fills"] == 0
    assert "ed25519" in _auth(ex, f"GET {ad.prefix}/openOrders")
    assert_matches_exchange(ex, ex.key, r)
    await r.stop()
    await store.close()
    stored = sorted(t for (t,) in sqlite3.connect(f"{tmp_path}/r.db").execute("SELECT trade_id FROM fills"))
    assert stored == want
    # the key never shows: logs, events, status, reprs
    body = _pem_body(_pem(KEY))
    for text in (caplog.text, repr(r.events), repr(r.status()), repr(ad), repr(ad.ed25519),
                 repr(r._configs), repr(vars(ad))):
        assert body not in text and body[:24] not in text and "PRIVATE KEY" not in text


async def test_rest_orders_are_signed_with_ed25519(spot, tmp_path):
    ex = spot
    r, store = await _router(ex, tmp_path, use_ws=False)
    ad = r.venues[Venue.BINANCE_SPOT].adapter
    ins = _inst(r, ex)
    q = ins.sz_to_units("0.01")
    bid, ask = _touch(ex, ins)
    # the base64 signature travels percent-encoded (it ends in '=='; '+' would read as a space)
    req = ad.place(type("O", (), {"inst": ins.id, "side": BUY, "ord_type": 1, "tif": 1, "px": bid,
                                  "sz": q, "client_oid": "x1", "client_id": 1, "flags": 0})())
    sig = req.query.rpartition("&signature=")[2]
    assert sig.endswith("%3D%3D") and "+" not in sig
    KEY.public_key().verify(base64.b64decode(unquote(sig)), req.query.rpartition("&signature=")[0].encode())
    orders = [await r.place(ins.id, BUY, q, bid), await r.place(ins.id, SELL, q, ask)]
    await settle(r, lambda: all(o.status == NEW for o in orders))
    await r.cancel(orders[1].client_oid)
    await settle(r, lambda: orders[1].status == CANCELED)
    assert _auth(ex, "POST /api/v3/order") == ["ed25519"] * 2
    assert _auth(ex, "DELETE /api/v3/order") == ["ed25519"]
    assert "order.place" not in {m for m, _h in ex.venue(ex.key).auth_log}
    ex.market_trade(ex.key, SYM, "SELL", "5")
    await settle(r, lambda: orders[0].fill_sum == orders[0].filled_sz == q)
    await settle(r)
    assert sorted(t for (v, t) in r.state.fill_ids) == _sim_fills(ex)
    assert r.state.duplicate_fills == 0
    assert_matches_exchange(ex, ex.key, r)
    await r.stop()
    await store.close()


async def test_a_different_key_is_refused_and_the_router_never_gets_ready(spot, tmp_path):
    ex = spot
    r, store = await _router(ex, tmp_path, signing_key=OTHER, start=False)
    with pytest.raises(RouterError, match="user-data stream did not come up"):
        await r.start()
    assert not r.is_ready
    reasons = [e["reason"] for e in r.events if e["type"] == "user_stream_error"]
    assert reasons and all("-1022 Signature for this request is not valid." in x for x in reasons), reasons
    venue = ex.venue(ex.key)
    assert not venue.api_subs and not venue.auth_log        # nothing was ever accepted
    await store.close()


async def test_sim_ws_api_ed25519_logon_and_codes(spot):
    """The sim's side: Ed25519 logon accepted (HMAC logon refused while hmac_logon is off), a
    signature of another key -1022, a garbled one -1022, orders after logon need no signature."""
    ex = spot
    venue = ex.venue(ex.key)
    api_key = venue.add_ed25519_key(KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    hmac_key, hmac_secret, _ = ex.credentials(ex.key)

    def server_ms():
        return time.time_ns() // 1_000_000

    def signed(key, params, garble=False):
        p = dict(params, apiKey=api_key, timestamp=server_ms())
        sig = base64.b64encode(key.sign(binance_ws_payload(p).encode())).decode()
        p["signature"] = ("A" + sig[1:]) if garble else sig
        return p

    async with aiohttp.ClientSession() as s, s.ws_connect(ex.endpoints(ex.key)["ws_trade"]) as ws:
        async def call(method, params=None):
            await ws.send_str(orjson.dumps({"id": method, "method": method, "params": params or {}}).decode())
            while True:
                d = orjson.loads((await ws.receive()).data)
                if d.get("id") == method:
                    return d

        from engine.signing import Signer
        p = {"apiKey": hmac_key, "timestamp": server_ms()}
        p["signature"] = Signer(hmac_secret.encode()).hex(binance_ws_payload(p).encode())
        d = await call("session.logon", p)
        assert d["status"] == 400 and d["error"]["code"] == -2015          # HMAC: Ed25519 only
        for bad in (signed(OTHER, {}), signed(KEY, {}, garble=True)):
            d = await call("session.logon", bad)
            assert d["status"] == 400 and d["error"]["code"] == -1022, d
        d = await call("order.place", {"symbol": SYM, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                       "quantity": "0.01", "price": "1000", "timestamp": server_ms()})
        assert d["error"]["code"] == -1102                                 # not logged on: apiKey missing
        d = await call("session.logon", signed(KEY, {}))
        assert d["status"] == 200 and d["result"]["apiKey"] == api_key
        d = await call("order.place", {"symbol": SYM, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                       "quantity": "0.01", "price": "1000", "timestamp": server_ms()})
        assert d["status"] == 200, d
    # the HMAC logon's signature was valid (logged), the logon itself then refused for its key type
    assert [h for m, h in venue.auth_log if m in ("session.logon", "order.place")] == ["hmac", "ed25519", "session"]


# ---- key loading ---------------------------------------------------------------------------------

def _write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_private_key_from_key_file_and_environment(tmp_path):
    pem = _pem(KEY)
    (tmp_path / "keys").mkdir()
    _write(tmp_path / "keys" / "ed.pem", pem)
    kf = _write(tmp_path / "keys" / "binance.toml", 'api_key = "EDKEY123"\nprivate_key_file = "ed.pem"\n')
    c = resolve_credentials("binance_spot", kf, {})
    assert isinstance(c, Credentials) and c.secret == pem and c.api_key == "EDKEY123"
    # encrypted PEM from the environment, passphrase alongside
    enc = _write(tmp_path / "enc.pem", _pem(KEY, b"correct horse"))
    env = {"HOTPATH_BINANCE_USDM_API_KEY": "EDKEY123", "HOTPATH_BINANCE_USDM_PRIVATE_KEY_FILE": str(enc),
           "HOTPATH_BINANCE_USDM_PRIVATE_KEY_PASSPHRASE": "correct horse"}
    c2 = resolve_credentials("binance_usdm", None, env)
    assert c2.source == "env" and c2.passphrase == "correct horse"
    # what the adapter makes of it: Ed25519 signatures that KEY's public key verifies
    from engine.clock_sync import ClockSync
    from engine.exchanges import Endpoints
    from engine.router import adapter_class
    ep = Endpoints.from_dict({"rest": "http://x", "ws_public": "ws://x", "ws_private": "", "ws_trade": "ws://x/w"})
    for venue, cred in ((Venue.BINANCE_SPOT, c), (Venue.BINANCE_USDM, c2)):
        ad = adapter_class(venue)(ep, cred.api_key, cred.secret, cred.passphrase, [], ClockSync())
        frame = orjson.loads(ad.ws_login_frames("1")[0][0])
        p = frame["params"]
        KEY.public_key().verify(base64.b64decode(p["signature"]), binance_ws_payload(p).encode())
        assert _pem_body(pem) not in repr(ad) + repr(vars(ad)) + repr(cred) + str(cred)
    # mistakes: one line naming the file, never the key
    for bad_env, match in (
        (dict(env, HOTPATH_BINANCE_USDM_PRIVATE_KEY_PASSPHRASE="wrong"), "could not be loaded"),
        ({k: v for k, v in env.items() if "PASSPHRASE" not in k}, "encrypted; set the private key passphrase"),
        (dict(env, HOTPATH_BINANCE_USDM_SECRET="s"), "not both"),
        ({"HOTPATH_BINANCE_USDM_PRIVATE_KEY_FILE": str(enc)}, "only one is set"),
    ):
        with pytest.raises(ConfigError, match=match) as ei:
            resolve_credentials("binance_usdm", None, bad_env)
        assert _pem_body(pem)[:24] not in str(ei.value)
    with pytest.raises(ConfigError, match="binance_spot and binance_usdm only"):
        resolve_credentials("bybit", None, {"HOTPATH_BYBIT_API_KEY": "k", "HOTPATH_BYBIT_PRIVATE_KEY_FILE": str(enc)})
    os.chmod(tmp_path / "keys" / "ed.pem", 0o644)
    with pytest.raises(ConfigError, match=r"ed\.pem is readable by group/others.*chmod 600"):
        resolve_credentials("binance_spot", kf, {})
    _write(tmp_path / "keys" / "ed.pem", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match=r"ed\.pem could not be loaded") as ei:
        resolve_credentials("binance_spot", kf, {})
    assert "not a key" not in str(ei.value)
    _write(tmp_path / "keys" / "binance.toml", 'api_key = "K"\nsecret = "S"\nprivate_key_file = "ed.pem"\n')
    with pytest.raises(ConfigError, match="not both"):
        resolve_credentials("binance_spot", kf, {})


def test_key_file_hmac_secret_unchanged(tmp_path):
    """An HMAC key file still gives an HMAC adapter (the compiled REST encoder stays in use)."""
    kf = _write(tmp_path / "k.toml", 'api_key = "K"\nsecret = "S3CRET"\n')
    c = resolve_credentials("binance_spot", kf, {})
    assert c.secret == "S3CRET"
    from engine.clock_sync import ClockSync
    from engine.exchanges import Endpoints
    from engine.router import adapter_class
    ep = Endpoints.from_dict({"rest": "http://x", "ws_public": "ws://x", "ws_private": "", "ws_trade": "ws://x/w"})
    ad = adapter_class(Venue.BINANCE_SPOT)(ep, c.api_key, c.secret, "", [], ClockSync())
    ad.attach_encoders("abcd1")
    assert ad.ed25519 is None and ad.enc_rest is not None and ad.enc_ws is not None


async def test_bot_with_an_ed25519_key_trades_unsigned_over_the_compiled_order_path():
    """The whole runtime (market maker on Binance USD-M): the compiled encoder never sees the PEM, the order
    WebSocket logs on with Ed25519, and every order the pipeline writes reaches the venue unsigned."""
    from engine.bot import Bot, BotOptions, _needs_logon, demo_config

    from engine.sim import SimConfig, VenueSpec

    async with SimExchange(SimConfig(venues=[VenueSpec("binance_usdm")], quote_rate=50.0)) as sim:   # a live market
        venue = sim.venue("binance_usdm")
        venue.hmac_logon = False                       # as the real venue: HMAC keys cannot log on
        api_key = venue.add_ed25519_key(KEY.public_key())
        pem = _pem(KEY)
        sim.credentials = lambda key: (api_key, pem, "")   # the key this bot holds instead of the sim's HMAC one
        bot = Bot(demo_config("market_maker"), sim=sim, options=BotOptions(report=False, print_fn=lambda s: None))
        await bot.start()
        try:
            assert _needs_logon(bot.router.venues[Venue.BINANCE_USDM].adapter)   # an Ed25519 venue
            for _ in range(200):
                if bot.counters.orders_sent >= 3:
                    break
                await asyncio.sleep(0.05)
            assert bot.counters.orders_sent >= 3
        finally:
            await bot.stop()
    placed = [how for m, how in venue.auth_log if m == "order.place"]
    assert placed and set(placed) == {"session"}, placed[:10]
    assert "hmac" not in {how for _m, how in venue.auth_log}
