# SPDX-License-Identifier: Apache-2.0
"""engine.codec: API, per-venue semantics with real instrument exponents, limits and order independence."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import codec
from engine.codec import Decoder, _test_parse_decimal
from engine.errors import rc_name
from engine.instruments import Instrument, Venue

from _codec_util import recording_frames, ref_decode

UNSUPPORTED = -20


def test_compiled_loaded() -> None:
    assert codec.__file__.endswith((".so", ".pyd"))


def _dec(venue: Venue, *insts: tuple[str, str, str], **kw) -> tuple[Decoder, list[Instrument]]:
    d = Decoder(int(venue), **kw)
    out = []
    for i, (sym, tick, lot) in enumerate(insts):
        inst = Instrument(i, venue, sym, tick, lot)
        d.add_instrument(inst)
        out.append(inst)
    return d, out


# ---- API --------------------------------------------------------------------------------------
def test_constructor_and_registration_errors() -> None:
    with pytest.raises(ValueError):
        Decoder(0)
    with pytest.raises(ValueError):
        Decoder(99)
    with pytest.raises(ValueError):
        Decoder(1, max_levels=0)
    d = Decoder(int(Venue.BINANCE_SPOT))
    with pytest.raises(ValueError, match="venue"):
        d.add_instrument(Instrument(0, Venue.OKX, "BTC-USDT", "0.1", "0.001"))
    with pytest.raises(ValueError, match="ASCII"):
        d.add_instrument(Instrument(0, Venue.BINANCE_SPOT, "X" * 48, "0.1", "0.001"))
    d.add_instrument(Instrument(0, Venue.BINANCE_SPOT, "BTCUSDT", "0.01", "0.00001"))
    d.add_instrument(Instrument(0, Venue.BINANCE_SPOT, "BTCUSDT", "0.01", "0.00001"))  # idempotent
    with pytest.raises(ValueError, match="already registered"):
        d.add_instrument(Instrument(1, Venue.BINANCE_SPOT, "BTCUSDT", "0.01", "0.00001"))
    assert d.venue == int(Venue.BINANCE_SPOT)
    assert d.last_error == ""


def test_event_constants_match_header() -> None:
    assert (codec.EV_QUOTE, codec.EV_DEPTH, codec.EV_TRADE, codec.EV_MARK, codec.EV_TICKER) == (1, 2, 3, 4, 5)
    assert codec.MAX_FRAME == 1 << 20 and codec.MAX_LEVELS == 5000


# ---- Binance ----------------------------------------------------------------------------------
SPOT_BT = (b'{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000",'
           b'"a":"25.36520000","A":"40.66000000"}')


def test_binance_spot_bookticker_raw_and_combined() -> None:
    d, (inst,) = _dec(Venue.BINANCE_SPOT, ("BNBUSDT", "0.0001", "0.01"))
    kind, q = d.decode_py(SPOT_BT, recv_ns=123)
    assert kind == codec.EV_QUOTE
    assert q == {"inst": 0, "venue": 1, "bid_px": 253519, "bid_sz": 3121, "ask_px": 253652, "ask_sz": 4066,
                 "update_id": 400900217, "exch_ts_ns": 0, "recv_ts_ns": 123}
    combined = b'{"stream":"bnbusdt@bookTicker","data":' + SPOT_BT + b"}"
    assert d.decode_py(combined, recv_ns=123) == (kind, q)
    # data before stream, whitespace everywhere
    pretty = b' { "data" : ' + SPOT_BT.replace(b",", b" ,\n ") + b' , "stream" : "bnbusdt@bookTicker" } \n'
    assert d.decode_py(pretty, recv_ns=123) == (kind, q)


def test_binance_futures_bookticker_uses_event_time() -> None:
    d, _ = _dec(Venue.BINANCE_USDM, ("BNBUSDT", "0.0001", "0.01"))
    f = (b'{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT",'
         b'"b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}')
    kind, q = d.decode_py(f)
    assert kind == codec.EV_QUOTE and q["exch_ts_ns"] == 1568014460893 * 1_000_000


def test_binance_precision_and_lowercase_registration() -> None:
    d = Decoder(int(Venue.BINANCE_SPOT))
    d.add_instrument(Instrument(3, Venue.BINANCE_SPOT, "bnbusdt", "0.01", "0.01"))  # also registers BNBUSDT
    rc, _ = d.decode_py(SPOT_BT)
    assert rc == -16 and "b" in d.last_error and rc_name(rc) in d.last_error  # 25.3519 has 4 decimals > 2


def test_binance_unknown_symbol_and_unsupported() -> None:
    d, _ = _dec(Venue.BINANCE_SPOT, ("ETHUSDT", "0.01", "0.0001"))
    assert d.decode_py(SPOT_BT)[0] == -19
    assert d.last_error.startswith("ENG_ERR_UNKNOWN_SYMBOL")
    for f in (b'{"result":null,"id":1}', b'{"e":"executionReport","s":"BNBUSDT"}', b"[1,2]", b'"x"',
              b'{"stream":"bnbusdt@kline_1m","data":{"e":"kline","s":"BNBUSDT"}}'):
        assert d.decode_py(f)[0] == UNSUPPORTED, f
    # an unsupported event wins over an unknown symbol (frames for other subscriptions)
    assert d.decode_py(b'{"s":"NOPE","e":"kline"}')[0] == UNSUPPORTED


def test_binance_depth_futures_pu_and_trades() -> None:
    d, _ = _dec(Venue.BINANCE_USDM, ("BTCUSDT", "0.0001", "1"))
    f = (b'{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","ps":"BTCUSDT","st":1,'
         b'"U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"],["0.0027","0"]]}')
    kind, dp = d.decode_py(f)
    assert kind == codec.EV_DEPTH
    assert (dp["first_id"], dp["last_id"], dp["prev_id"]) == (157, 160, 149)
    assert dp["bids"] == [(24, 10, 4, 0)] and dp["asks"] == [(26, 100, 4, 0), (27, 0, 4, 0)]
    assert dp["exch_ts_ns"] == 123456789 * 1_000_000 and dp["is_snapshot"] == 0
    agg = (b'{"e":"aggTrade","E":123456789,"a":5933014,"s":"BTCUSDT","p":"0.001","q":"100",'
           b'"f":100,"l":105,"T":123456785,"m":true}')
    kind, t = d.decode_py(agg)
    assert kind == codec.EV_TRADE
    assert (t["px"], t["sz"], t["trade_id"], t["side"]) == (10, 100, 5933014, -1)
    assert t["exch_ts_ns"] == 123456785 * 1_000_000 and len(t["trades"]) == 1
    tr = b'{"e":"trade","E":1,"s":"BTCUSDT","t":77,"p":"0.0011","q":"3","T":2,"m":false}'
    kind, t = d.decode_py(tr)
    assert (kind, t["px"], t["trade_id"], t["side"], t["exch_ts_ns"]) == (codec.EV_TRADE, 11, 77, 1, 2_000_000)


def test_binance_mark_price_rounds_mark_and_index() -> None:
    d, _ = _dec(Venue.BINANCE_USDM, ("BTCUSDT", "0.01", "0.001"))
    f = (b'{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000",'
         b'"i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}')
    kind, m = d.decode_py(f)
    assert kind == codec.EV_MARK
    assert m["mark_px"] == 1179415 and m["index_px"] == 1178463
    assert m["funding_rate"] == float("0.00038167") and m["next_funding_ms"] == 1562306400000
    assert m["mask"] == codec.TK_MARK_PX | codec.TK_INDEX_PX | codec.TK_FUNDING | codec.TK_NEXT_FUNDING
    # delivery contracts send "r":"" and "T":0: no funding fields
    kind, m = d.decode_py(f.replace(b'"0.00038167"', b'""').replace(b"1562306400000", b"0"))
    assert kind == codec.EV_MARK and m["mask"] == codec.TK_MARK_PX | codec.TK_INDEX_PX


def test_binance_key_order_does_not_matter(fixtures_dir: Path) -> None:
    """Re-serialise real frames with reversed key order (symbol after the level arrays)."""
    d, (inst,) = _dec(Venue.BINANCE_SPOT, ("NKNUSDT", "0.0001", "0.1"))
    n = 0
    for frame in recording_frames(Path(fixtures_dir) / "binance/spot/ws_combined_NKNUSDT.jsonl"):
        want = d.decode_py(frame)
        if want[0] < 0:
            continue
        msg = orjson.loads(frame)
        rev = {"data": dict(reversed(list(msg["data"].items()))), "stream": msg["stream"]}
        assert d.decode_py(orjson.dumps(rev)) == want
        assert want == ref_decode(Venue.BINANCE_SPOT, frame, {"NKNUSDT": inst})
        n += 1
    assert n == 225


# ---- Bybit ------------------------------------------------------------------------------------
def test_bybit_orderbook_ticker_delta_mask_and_trades() -> None:
    d, _ = _dec(Venue.BYBIT, ("BTCUSDT", "0.10", "0.001"))
    ob = (b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT",'
          b'"b":[["30247.20","30.028"],["30245.40","0"]],"a":[],"u":177400507,"seq":66544703342},'
          b'"cts":1687940967464}')
    kind, dp = d.decode_py(ob)
    assert kind == codec.EV_DEPTH and dp["is_snapshot"] == 0
    assert dp["bids"] == [(302472, 30028, 2, 3), (302454, 0, 2, 0)] and dp["asks"] == []
    assert (dp["first_id"], dp["last_id"], dp["prev_id"]) == (177400507, 177400507, -1)
    # type and ts after data: deferred path gives the same result
    late = (b'{"topic":"orderbook.50.BTCUSDT","data":{"b":[["30247.20","30.028"],["30245.40","0"]],"a":[],'
            b'"u":177400507,"s":"BTCUSDT"},"cts":1,"ts":1687940967466,"type":"delta"}')
    assert d.decode_py(late) == (kind, dp)
    delta = (b'{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","bid1Price":"17215.50",'
             b'"bid1Size":"84.489","fundingRate":"-0.000212"},"cs":24987956059,"ts":1673272861686}')
    kind, t = d.decode_py(delta)
    assert kind == codec.EV_TICKER and t["is_snapshot"] == 0
    assert t["mask"] == codec.TK_BID_PX | codec.TK_BID_SZ | codec.TK_FUNDING
    assert (t["bid_px"], t["bid_sz"], t["funding_rate"]) == (172155, 84489, -0.000212)
    assert "ask_px" not in t and t["exch_ts_ns"] == 1673272861686 * 1_000_000
    trades = (b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":['
              b'{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",'
              b'"i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false},'
              b'{"T":1672304486866,"s":"BTCUSDT","S":"Sell","v":"0.002","p":"16578.40","i":"123","BT":false}]}')
    kind, t = d.decode_py(trades)
    assert kind == codec.EV_TRADE and len(t["trades"]) == 2
    assert [(x["px"], x["sz"], x["side"], x["trade_id"]) for x in t["trades"]] == [
        (165785, 1, 1, 0), (165784, 2, -1, 123)]
    small = Decoder(int(Venue.BYBIT), max_trades=1)
    small.add_instrument(Instrument(0, Venue.BYBIT, "BTCUSDT", "0.10", "0.001"))
    assert small.decode_py(trades)[0] == -18
    for ctl in (b'{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}',
                b'{"topic":"kline.1.BTCUSDT","type":"snapshot","ts":1,"data":[]}',
                b'{"op":"pong","args":["1672916271846"]}'):
        assert d.decode_py(ctl)[0] == UNSUPPORTED


# ---- OKX --------------------------------------------------------------------------------------
def test_okx_books_seq_ids_checksum_and_books5() -> None:
    d, _ = _dec(Venue.OKX, ("BTC-USDT", "0.01", "1"))
    f = (b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["8476.98","415","0","13"]],'
         b'"bids":[["8476.9","0","0","0"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":123455,"seqId":123456}]}')
    kind, dp = d.decode_py(f)
    assert kind == codec.EV_DEPTH
    assert (dp["first_id"], dp["last_id"], dp["prev_id"]) == (123456, 123456, 123455)
    assert dp["has_checksum"] == 1 and dp["checksum"] == -855196043 and dp["is_snapshot"] == 0
    assert dp["asks"] == [(847698, 415, 2, 0)] and dp["bids"] == [(847690, 0, 1, 0)]
    # without seqId (pre-2022 recordings): -1 markers
    kind, dp = d.decode_py(f.replace(b',"prevSeqId":123455,"seqId":123456', b""))
    assert (dp["first_id"], dp["last_id"], dp["prev_id"]) == (-1, -1, -1)
    # unsigned spelling of the checksum maps to the same signed int32
    kind, dp2 = d.decode_py(f.replace(b"-855196043", str(2**32 - 855196043).encode()))
    assert dp2["checksum"] == -855196043
    b5 = (b'{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{"asks":[["8476.98","415","0","13"]],'
          b'"bids":[["8476.97","256","0","12"]],"instId":"BTC-USDT","ts":"1597026383085","seqId":5}]}')
    kind, dp = d.decode_py(b5)
    assert kind == codec.EV_DEPTH and dp["is_snapshot"] == 1 and dp["has_checksum"] == 0
    # books without an action is malformed (cannot tell snapshot from update)
    assert d.decode_py(f.replace(b'"action":"update",', b""))[0] == -13
    assert d.decode_py(f.replace(b'"action":"update"', b'"action":"partial"'))[0] == UNSUPPORTED


def test_okx_tickers_trades_funding_mark() -> None:
    d, _ = _dec(Venue.OKX, ("BTC-USDT-SWAP", "0.1", "0.01"))
    tk = (b'{"arg":{"channel":"tickers","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP",'
          b'"last":"9999.9","lastSz":"1","askPx":"","askSz":"","bidPx":"8888.8","bidSz":"5","ts":"1597026383085"}]}')
    kind, t = d.decode_py(tk)
    assert kind == codec.EV_TICKER
    assert t["mask"] == codec.TK_BID_PX | codec.TK_BID_SZ | codec.TK_LAST_PX  # "" = side empty
    assert (t["bid_px"], t["bid_sz"], t["last_px"]) == (88888, 500, 99999)
    fr = (b'{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP",'
          b'"fundingRate":"0.0001","nextFundingRate":"0.0002","fundingTime":"1744590349506","ts":"1744590349506"}]}')
    kind, m = d.decode_py(fr)
    assert kind == codec.EV_MARK and m["funding_rate"] == 0.0001 and m["next_funding_ms"] == 1744590349506
    mp = (b'{"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP",'
          b'"instId":"BTC-USDT-SWAP","markPx":"42310.66","ts":"1630049139746"}]}')
    kind, m = d.decode_py(mp)
    assert kind == codec.EV_MARK and m["mark_px"] == 423107 and m["mask"] == codec.TK_MARK_PX
    tr = (b'{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP","tradeId":"130639474",'
          b'"px":"42219.9","sz":"12","side":"sell","ts":"1630048897897"}]}')
    kind, t = d.decode_py(tr)
    assert (kind, t["px"], t["sz"], t["side"], t["trade_id"]) == (codec.EV_TRADE, 422199, 1200, -1, 130639474)
    for ctl in (b'{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT-SWAP"}}', b"pong",
                b'{"id":"1512","op":"order","data":[{"sCode":"0"}],"code":"0","msg":""}',
                b'{"arg":{"channel":"orders","instType":"ANY"},"data":[]}'):
        assert d.decode_py(ctl)[0] in (UNSUPPORTED, -10), ctl
    assert d.decode_py(b"pong")[0] == -10  # not JSON: the shell checks the literal before decoding


# ---- Bitget -----------------------------------------------------------------------------------
def test_bitget_spot_and_futures_share_inst_id() -> None:
    d = Decoder(int(Venue.BITGET))
    d.add_instrument(Instrument(0, Venue.BITGET, "BTCUSDT", "0.01", "0.0001", category="SPOT"))
    d.add_instrument(Instrument(1, Venue.BITGET, "BTCUSDT", "0.1", "0.001", category="USDT-FUTURES"))
    f = (b'{"action":"snapshot","arg":{"instType":"%s","channel":"books","instId":"BTCUSDT"},'
         b'"data":[{"asks":[["27000.5","8.760"]],"bids":[["27000.0","2.710"]],"checksum":-12345,"seq":77,'
         b'"ts":"1695716059516"}],"ts":1695716059516}')
    kind, spot = d.decode_py(f % b"SPOT")
    assert kind == codec.EV_DEPTH and spot["inst"] == 0 and spot["asks"] == [(2700050, 87600, 1, 3)]
    kind, fut = d.decode_py(f % b"USDT-FUTURES")
    assert fut["inst"] == 1 and fut["asks"] == [(270005, 8760, 1, 3)]
    assert (fut["last_id"], fut["has_checksum"], fut["checksum"], fut["is_snapshot"]) == (77, 1, -12345, 1)
    assert d.decode_py(f % b"COIN-FUTURES")[0] == codec.EV_DEPTH  # any non-spot class maps to futures
    assert d.decode_py(f.replace(b'"instType":"%s",', b""))[0] == -13


# ---- limits -----------------------------------------------------------------------------------
def test_level_and_frame_limits() -> None:
    d, _ = _dec(Venue.BINANCE_SPOT, ("BTCUSDT", "0.01", "0.001"), max_levels=2, max_frame=300)
    lv = b'["1.00","1.000"]'
    f = b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[%s],"a":[]}'
    assert d.decode_py(f % b",".join([lv] * 2))[0] == codec.EV_DEPTH
    assert d.decode_py(f % b",".join([lv] * 3))[0] == -18
    assert "b" in d.last_error
    big = f % b",".join([lv] * 2) + b" " * 300
    assert d.decode_py(big)[0] == -18
    deep = b"[" * 100 + b"]" * 100
    assert d.decode_py(deep)[0] == -18


# ---- decimals ---------------------------------------------------------------------------------
def _agree(b: bytes, exp: int) -> None:
    ref = _test_parse_decimal(b, exp, 0)
    assert _test_parse_decimal(b, exp, 1) == ref
    fused = _test_parse_decimal(b, exp, 2)
    assert fused is None or fused == ref
    if ref[0] == 0 and len(b) <= 18:
        assert fused == ref  # every short plain decimal that parses takes the fused path


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="0123456789.-x", max_size=22), st.integers(0, 18))
def test_decimal_parsers_agree_with_decimal_h(s: str, exp: int) -> None:
    _agree(s.encode(), exp)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**18), st.integers(0, 12), st.integers(0, 18), st.integers(0, 4))
def test_decimal_parsers_agree_on_numbers(v: int, frac: int, exp: int, zeros: int) -> None:
    s = str(v)
    if frac:
        s = s.rjust(frac + 1, "0")
        s = s[:-frac] + "." + s[-frac:] + "0" * zeros
    _agree(s.encode(), exp)


@pytest.mark.parametrize("s,exp", [("0", 0), ("123456789012345678", 0), ("999999999999999999", 1),
                                   ("9.22337203685477580", 18), ("1.50000000000", 2), ("0.000", 18),
                                   (".5", 1), ("1.", 1), ("1.05", 1), ("", 2), ("92233720368.54775807", 8),
                                   ("9223372036854775807", 0), ("0.00000000000000000001", 18)])
def test_decimal_parser_edge_cases(s: str, exp: int) -> None:
    _agree(s.encode(), exp)


def test_steady_state_decode_allocates_no_python_memory() -> None:
    import tracemalloc

    d, _ = _dec(Venue.BINANCE_SPOT, ("BNBUSDT", "0.0001", "0.01"))
    depth = (b'{"e":"depthUpdate","E":1,"s":"BNBUSDT","U":1,"u":2,"b":[["25.3519","31.21"]],'
             b'"a":[["25.3652","40.66"],["25.3700","0"]]}')
    for f in (SPOT_BT, depth):
        d._bench_decode(f, 1000)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            assert d._bench_decode(f, 20000) > 0
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown < 512, grown


@pytest.mark.parametrize("venue,rel,symbol,tick,lot", [
    (Venue.BINANCE_SPOT, "binance/spot/ws_combined_NKNUSDT.jsonl", "NKNUSDT", "0.0001", "0.1"),
    (Venue.BINANCE_USDM, "binance/usdm_futures/ws_combined_SUSHIUSDT.jsonl", "SUSHIUSDT", "0.001", "1"),
    (Venue.BINANCE_USDM, "binance/usdm_futures/ws_combined_AKROUSDT.jsonl", "AKROUSDT", "0.00001", "1"),
])
def test_bookticker_template_path_equals_general_path(venue, rel, symbol, tick, lot, fixtures_dir: Path) -> None:
    """Real bookTicker frames take the fixed-layout fast path; the same frames with a space after the
    first brace (or unwrapped, or with a key moved) take the general path: results must be identical."""
    d, _ = _dec(venue, (symbol, tick, lot))
    n = 0
    for frame in recording_frames(Path(fixtures_dir) / rel):
        if b"@bookTicker" not in frame:
            continue
        fast = d.decode_py(frame, recv_ns=5)
        assert fast[0] == codec.EV_QUOTE
        assert d.decode_py(b"{ " + frame[1:], recv_ns=5) == fast
        inner = frame[frame.index(b'"data":') + 7:-1]
        assert d.decode_py(inner, recv_ns=5) == fast                     # raw /ws frame: fast path too
        assert d.decode_py(b"{ " + inner[1:], recv_ns=5) == fast
        moved = orjson.loads(inner)
        moved = {"s": moved.pop("s"), **moved}
        assert d.decode_py(orjson.dumps(moved), recv_ns=5) == fast
        n += 1
    assert n > 50
    # the fast path never accepts what the general path rejects
    bad = (b'{"e":"bookTicker","u":1,"s":"%s","b":"1","B":"1","a":"1","A":"1","T":1,"E":-1}' % symbol.encode())
    assert d.decode_py(bad)[0] == -15
    bad = b'{"u":1,"s":"%s","b":"1","B":"1","a":"1","A":"1"}x' % symbol.encode()
    assert d.decode_py(bad)[0] == -10
