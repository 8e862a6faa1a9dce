# SPDX-License-Identifier: Apache-2.0
"""Adapters: topics, subscribe frames within venue limits, cold-frame classification on the
documented control messages and real fixture frames, REST snapshot parsing, rate limiter."""
from __future__ import annotations

import asyncio
import json

import orjson
import pytest

from engine.errors import ConfigError
from engine.exchanges import (MARKET_ADAPTERS, Endpoints, RateLimiter, endpoints_for,
                              make_adapter)
from engine.exchanges.base import SIG_FUNDING_RATE, SIG_MARK_PX, SIG_OPEN_INTEREST
from engine.instruments import InstrumentTable, Venue


@pytest.fixture
def table() -> InstrumentTable:
    t = InstrumentTable()
    t.add(Venue.BINANCE_SPOT, "NKNUSDT", "0.0001", "1")
    t.add(Venue.BINANCE_USDM, "SUSHIUSDT", "0.001", "1")
    t.add(Venue.BYBIT, "XRPUSDT", "0.0001", "1", category="linear")
    t.add(Venue.BYBIT, "BTCUSDT", "0.01", "0.000001", category="spot")
    t.add(Venue.OKX, "BTC-USDT", "0.1", "0.00000001")
    t.add(Venue.OKX, "BTC-USDT-SWAP", "0.1", "0.01")
    t.add(Venue.BITGET, "BTCUSDT", "0.1", "0.001", category="USDT-FUTURES")
    return t


def test_every_venue_has_adapter_and_mainnet_preset() -> None:
    for v in Venue:
        assert v in MARKET_ADAPTERS
        assert endpoints_for(v).ws_public.startswith("wss://")
    with pytest.raises(ConfigError):
        endpoints_for(Venue.OKX, "testnet")
    with pytest.raises(ConfigError):
        endpoints_for(Venue.OKX, "sim")

    class FakeSim:
        def endpoints(self, key: str) -> dict[str, str]:
            return {"rest": f"http://127.0.0.1:1/{key}", "ws_public": "ws://127.0.0.1:1/ws/v5/public"}

    assert make_adapter("okx", env="sim", sim=FakeSim()).endpoints.rest == "http://127.0.0.1:1/okx"


def test_binance_combined_url_and_subscribe(table: InstrumentTable) -> None:
    ad = make_adapter("binance_spot", endpoints=Endpoints("http://127.0.0.1:1", "ws://127.0.0.1:1"))
    i = table.get(Venue.BINANCE_SPOT, "NKNUSDT")
    s = ad.streams(i, ["bbo", "trades", "depth"])
    assert ad.ws_url(s) == "ws://127.0.0.1:1/stream?streams=nknusdt@bookTicker/nknusdt@trade/nknusdt@depth@100ms"
    msgs = ad.subscribe_msgs(s * 100, 7)
    assert len(msgs) == 2 and all(len(orjson.loads(m)["params"]) <= 200 for m in msgs)
    assert orjson.loads(msgs[1])["id"] == 8
    assert ad.snapshot_url(i) == "http://127.0.0.1:1/api/v3/depth?symbol=NKNUSDT&limit=1000"
    with pytest.raises(ConfigError):
        ad.streams(i, ["mark"])          # spot has no mark price stream
    with pytest.raises(ConfigError):
        ad.streams(i, ["candles"])


def test_bybit_spot_requests_hold_at_most_10_args(table: InstrumentTable) -> None:
    ad = make_adapter("bybit")
    syms = [table.add(Venue.BYBIT, f"C{n}USDT", "0.01", "0.01", category="spot") for n in range(13)]
    streams = [s for i in syms for s in ad.streams(i, ["bbo", "trades"])]
    msgs = [orjson.loads(m) for m in ad.subscribe_msgs(streams, 1)]
    assert sum(len(m["args"]) for m in msgs) == 26
    assert all(len(m["args"]) <= 10 and m["op"] == "subscribe" for m in msgs)
    assert ad.ws_url(streams, "spot") == "wss://stream.bybit.com/v5/public/spot"
    assert ad.streams(table.get(Venue.BYBIT, "BTCUSDT"), ["mark"]) == []   # spot: no tickers mark


def test_bybit_mark_and_oi_share_one_topic(table: InstrumentTable) -> None:
    ad = make_adapter("bybit")
    s = ad.streams(table.get(Venue.BYBIT, "XRPUSDT"), ["mark", "oi"])
    assert [orjson.loads(m)["args"] for m in ad.subscribe_msgs(s, 1)] == [["tickers.XRPUSDT"]]


def test_bybit_cold_frames(fixtures_dir) -> None:
    ad = make_adapter("bybit")
    ctl = json.loads((fixtures_dir / "bybit/docs/ws_control_messages.json").read_text())
    for k in ("pong_public_spot", "pong_public_linear_inverse", "pong_public_option_spread", "pong_private"):
        assert ad.parse_cold(orjson.dumps(ctl[k])).kind == "pong", k
    for k in ("subscribe_ack_public_spot", "subscribe_ack_public_linear", "subscribe_ack_public_option"):
        assert ad.parse_cold(orjson.dumps(ctl[k])).kind == "ack", k
    fail = ad.parse_cold((fixtures_dir / "bybit/nautilus/ws_subscription_failure.json").read_bytes())
    assert fail.kind == "error" and "invalid.topic" in fail.reason
    t = ad.parse_cold((fixtures_dir / "bybit/nautilus/ws_ticker_linear.json").read_bytes())
    assert t.kind == "data" and t.symbol == "BTCUSDT"
    assert ("BTCUSDT", SIG_MARK_PX, 17217.33) in t.signals
    assert ("BTCUSDT", SIG_FUNDING_RATE, -0.000212) in t.signals
    assert ("BTCUSDT", SIG_OPEN_INTEREST, 68744.761) in t.signals
    assert orjson.loads(ad.ping_msg(3)) == {"req_id": "p3", "op": "ping"}


def test_binance_cold_frames(fixtures_dir) -> None:
    ad = make_adapter("binance_usdm")
    ctl = json.loads((fixtures_dir / "binance/docs/ws_streams_control.json").read_text())
    assert ad.parse_cold(orjson.dumps(ctl["subscribe_response"])).kind == "ack"
    assert ad.parse_cold(orjson.dumps(ctl["server_shutdown_raw"])).kind == "shutdown"
    assert ad.parse_cold(orjson.dumps(ctl["server_shutdown_combined"])).kind == "shutdown"
    mp = ad.parse_cold((fixtures_dir / "binance/nautilus/futures/market_data_json/mark_price_stream.json").read_bytes())
    assert mp.kind == "data" and mp.channel == "mark" and {s[1] for s in mp.signals} >= {SIG_MARK_PX, SIG_FUNDING_RATE}
    liq = ad.parse_cold((fixtures_dir / "binance/nautilus/futures/market_data_json/liquidation_stream.json").read_bytes())
    assert liq.kind == "data" and liq.channel == "liquidations"
    assert ad.parse_cold(b'{"code": -1003, "msg": "too many", "id": 5}').kind == "error"
    assert ad.parse_cold(b"\xff garbage").kind == "error"
    assert ad.parse_cold(b"[1,2]").kind == "unknown"


def test_okx_and_bitget_cold_frames(fixtures_dir) -> None:
    okx = make_adapter("okx")
    assert okx.parse_cold(b"pong").kind == "pong"
    assert okx.ping_msg(0) == b"ping"
    lines = (fixtures_dir / "okx/recorded_2022/ws_books_BTC-USDT.jsonl").read_text().splitlines()
    assert okx.parse_cold(orjson.dumps(json.loads(lines[0])["msg"])).kind == "ack"
    assert okx.parse_cold(b'{"event":"error","code":"60012","msg":"Invalid request"}').reason.startswith("60012")
    fr = okx.parse_cold((fixtures_dir / "okx/nautilus/ws_funding_rate.json").read_bytes())
    assert ("BTC-USDT-SWAP", SIG_FUNDING_RATE, 0.0001) in fr.signals
    bg = make_adapter("bitget")
    assert bg.parse_cold(b"pong").kind == "pong"
    lines = (fixtures_dir / "bitget/recorded_2022_v1_spot/ws_ticker_EOSUSDT.jsonl").read_text().splitlines()
    assert bg.parse_cold(orjson.dumps(json.loads(lines[0])["msg"])).kind == "ack"
    c = bg.parse_cold(orjson.dumps(json.loads(lines[1])["msg"]))
    assert c.kind == "data" and c.symbol == "EOSUSDT" and c.channel == "mark"


def test_okx_subscribe_shape_matches_recorded_client(fixtures_dir, table: InstrumentTable) -> None:
    okx = make_adapter("okx")
    i = table.get(Venue.OKX, "BTC-USDT")
    msgs = [orjson.loads(m) for m in okx.subscribe_msgs(okx.streams(i, ["trades", "depth"]), 1)]
    rec = json.loads((fixtures_dir / "okx/recorded_2022/ws_subscribe_requests_BTC-USDT.jsonl")
                     .read_text().splitlines()[-1])["msg"]
    assert msgs[0]["op"] == rec["op"]
    assert all(a in rec["args"] for a in msgs[0]["args"])   # same arg objects the recorder sent
    swap = table.get(Venue.OKX, "BTC-USDT-SWAP")
    chans = {dict(s.topic)["channel"] for s in okx.streams(swap, ["mark", "oi"])}
    assert chans == {"mark-price", "funding-rate", "open-interest"}


def test_binance_snapshot_parse(fixtures_dir) -> None:
    ad = make_adapter("binance_spot")
    snap = ad.parse_snapshot((fixtures_dir / "binance/spot/rest_depth_snapshot_NKNUSDT.json").read_bytes())
    assert snap.last_id == 499869752 and len(snap.bids) == 609 and len(snap.asks) == 1000
    assert snap.bids[0] == ("0.35210000", "672.00000000")
    with pytest.raises(ValueError):
        ad.parse_snapshot(b'{"code":-1121,"msg":"Invalid symbol."}')


def test_rate_limiter_windows() -> None:
    t = [0.0]
    lim = RateLimiter([(5, 1.0), (8, 10.0)], clock=lambda: t[0])
    for _ in range(5):
        assert lim.delay() == 0.0
        lim.record()
    assert lim.delay() == pytest.approx(1.0)
    t[0] = 1.0
    for _ in range(3):
        assert lim.delay() == 0.0
        lim.record()
    assert lim.delay() == pytest.approx(9.0)     # the 10 s window is full now
    with pytest.raises(ValueError):
        RateLimiter([(0, 1.0)])


async def test_rate_limiter_acquire_paces_messages() -> None:
    lim = RateLimiter([(4, 0.2)])
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for _ in range(9):
        await lim.acquire()
    # 9 messages at 4 per 0.2 s need at least two full windows
    assert loop.time() - t0 >= 0.39


def test_one_level_bbo_topics_are_books_and_dropped_next_to_depth(table: InstrumentTable) -> None:
    # Bybit orderbook.1 / OKX bbo-tbt / Bitget books1 decode as book snapshots: next to an L2 depth
    # subscription they would overwrite the book, so only the depth topic is subscribed
    for venue, sym in ((Venue.BYBIT, "XRPUSDT"), (Venue.OKX, "BTC-USDT"), (Venue.BITGET, "BTCUSDT")):
        ad = make_adapter(venue)
        i = table.get(venue, sym)
        both = ad.streams(i, ["bbo", "depth", "trades"])
        assert [s.channel for s in both] == ["depth", "trades"]
        only = ad.streams(i, ["bbo"])
        assert len(only) == 1 and ad.is_book_stream(only[0])
    bn = make_adapter("binance_usdm")
    s = bn.streams(table.get(Venue.BINANCE_USDM, "SUSHIUSDT"), ["bbo", "depth"])
    assert [x.channel for x in s] == ["bbo", "depth"] and not bn.is_book_stream(s[0])


def test_bitget_inst_type_defaults_to_usdt_futures() -> None:
    t = InstrumentTable()
    ad = make_adapter("bitget")
    perp = t.add(Venue.BITGET, "BTCUSDT", "0.1", "0.001")
    spot = t.add(Venue.BITGET, "ETHUSDT", "0.01", "0.0001", category="spot")
    assert dict(ad.streams(perp, ["depth"])[0].topic)["instType"] == "USDT-FUTURES"
    assert dict(ad.streams(spot, ["depth"])[0].topic)["instType"] == "SPOT"
    assert ad.streams(spot, ["mark"]) == []
