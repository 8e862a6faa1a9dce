# SPDX-License-Identifier: Apache-2.0
"""engine.codec on malformed input: truncations, wrong types, NaN/Inf, negatives, bad numbers and
escapes, unknown symbols, oversize; plus hypothesis fuzzing of random bytes and mutated real frames.
Nothing may crash; a frame either decodes to exactly what the reference decoder says or returns rc < 0."""
from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.codec import Decoder
from engine.instruments import Instrument, Venue

from _codec_util import fixture_instrument, jkorf_frames, recording_frames, ref_decode

# same resolution as tests/conftest.py (module-level corpus feeds hypothesis strategies)
FX = Path(os.environ.get("HOTPATH_FIXTURES", Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"))


def _first_hot(path: Path, venue: Venue, loader=recording_frames, n: int = 2) -> list[bytes]:
    d = _decoder(venue)
    out = []
    for f in loader(path):
        if d.decode_py(f)[0] > 0:
            out.append(f)
            if len(out) == n:
                break
    assert out, path
    return out


SYMS = {
    Venue.BINANCE_SPOT: ["NKNUSDT"],
    Venue.BINANCE_USDM: ["SUSHIUSDT", "AKROUSDT", "BTCUSDT"],
    Venue.BYBIT: ["XRPUSDT", "BTCUSDT"],
    Venue.OKX: ["BTC-USDT", "BTC-USDT-SWAP"],
    Venue.BITGET: ["EOSUSDT", "DASHUSDT", "BTCUSDT"],
}


def _insts(venue: Venue) -> dict[str, Instrument]:
    return {s: fixture_instrument(i, venue, s) for i, s in enumerate(SYMS[venue])}


def _decoder(venue: Venue) -> Decoder:
    d = Decoder(int(venue), max_levels=1000)
    for inst in _insts(venue).values():
        d.add_instrument(inst)
    return d


def _corpus() -> list[tuple[Venue, bytes]]:
    if not FX.is_dir():
        return []
    c: list[tuple[Venue, bytes]] = []
    c += [(Venue.BINANCE_SPOT, f) for f in _first_hot(FX / "binance/spot/ws_combined_NKNUSDT.jsonl", Venue.BINANCE_SPOT, n=6)]
    c += [(Venue.BINANCE_USDM, f) for f in _first_hot(FX / "binance/usdm_futures/ws_combined_SUSHIUSDT.jsonl", Venue.BINANCE_USDM, n=6)]
    for rel, v in (("binance/spot/ws_combined_NKNUSDT.jsonl", Venue.BINANCE_SPOT),
                   ("binance/usdm_futures/ws_combined_SUSHIUSDT.jsonl", Venue.BINANCE_USDM)):
        bt = [f for f in recording_frames(FX / rel) if b"@bookTicker" in f][:2]
        c += [(v, f) for f in bt] + [(v, f[f.index(b'"data":') + 7:-1]) for f in bt]   # combined + raw
        c += [(v, f) for f in recording_frames(FX / rel) if b"@aggTrade" in f][:1]
    c += [(Venue.BINANCE_USDM, (FX / "binance/nautilus/futures/market_data_json/mark_price_stream.json").read_bytes())]
    c += [(Venue.BYBIT, f) for f in _first_hot(FX / "bybit/recorded_2024/orderbook_500_XRPUSDT_2024-12-01.jsonl", Venue.BYBIT, n=3)[1:]]
    c += [(Venue.BYBIT, (FX / "bybit/nautilus" / n).read_bytes()) for n in ("ws_public_trade.json", "ws_ticker_linear.json")]
    c += [(Venue.OKX, f) for f in _first_hot(FX / "okx/recorded_2022/ws_books_BTC-USDT.jsonl", Venue.OKX, n=3)[1:]]
    c += [(Venue.OKX, f) for f in _first_hot(FX / "okx/recorded_2022/ws_tickers_BTC-USDT.jsonl", Venue.OKX, n=1)]
    c += [(Venue.OKX, f) for f in _first_hot(FX / "okx/recorded_2022/ws_trades_BTC-USDT.jsonl", Venue.OKX, n=1)]
    c += [(Venue.BITGET, f) for f in _first_hot(FX / "bitget/recorded_2022_v1_spot/ws_books_EOSUSDT.jsonl", Venue.BITGET, n=3)[1:]]
    c += [(Venue.BITGET, f) for f in _first_hot(FX / "bitget/recorded_2022_v1_mix/ws_ticker_DASHUSDT.jsonl", Venue.BITGET, n=1)]
    c += [(Venue.BITGET, f) for f in _first_hot(FX / "bitget/jkorf_v2/Subscriptions__Futures__Trade.txt", Venue.BITGET, jkorf_frames, n=1)]
    return c


CORPUS = _corpus()
DECODERS = {v: _decoder(v) for v in Venue}
INSTS = {v: _insts(v) for v in Venue}


def _check(venue: Venue, frame: bytes) -> int:
    """Decode; if it succeeds, the result must equal the orjson+Decimal reference for the same bytes."""
    d = DECODERS[venue]
    kind, got = d.decode_py(frame)
    if kind < 0:
        assert got is None and d.last_error
        return kind
    try:
        want = ref_decode(venue, frame, INSTS[venue])
    except orjson.JSONDecodeError as e:
        # the scanner does not validate UTF-8 inside strings, and an ignored JSON number such as
        # 1e999 is valid JSON that orjson refuses (double overflow); anything else must be valid JSON
        assert any(b >= 0x80 for b in frame) or "infinity" in str(e), (frame, e)
        return kind
    assert (kind, got) == want, frame
    return kind


def test_corpus_is_real(fixtures_dir: Path) -> None:
    assert len(CORPUS) >= 20
    for venue, frame in CORPUS:
        assert _check(venue, frame) > 0


def test_every_truncation_is_an_error() -> None:
    for venue, frame in CORPUS:
        d = DECODERS[venue]
        full = frame.rstrip()
        step = max(1, len(full) // 300)            # big books: every byte of the head, then strided
        cuts = list(range(0, min(len(full), 400))) + list(range(400, len(full), step))
        for cut in cuts:
            rc, ev = d.decode_py(full[:cut])
            assert rc < 0 and ev is None, (cut, full[:cut][-60:])


BN = Venue.BINANCE_USDM
BT = (b'{"e":"bookTicker","u":1,"E":2,"T":3,"s":"SUSHIUSDT","b":"%s","B":"%s","a":"10.5","A":"1"}')


@pytest.mark.parametrize("bid,qty,rc", [
    (b"NaN", b"1", -14), (b"nan", b"1", -14), (b"Infinity", b"1", -14), (b"-Infinity", b"1", -15),
    (b"1e5", b"1", -14), (b"", b"1", -14), (b" 1", b"1", -14), (b"1.", b"1", -14), (b"+1", b"1", -14),
    (b"1.2.3", b"1", -14), (b"0x10", b"1", -14), (b"10", b"-1", -15), (b"10", b"-0", -15),
    (b"99999999999999999999", b"1", -17), (b"10", b"1\\u0030", -14), (b"1,0", b"1", -14),
])
def test_bad_numbers(bid: bytes, qty: bytes, rc: int) -> None:
    assert DECODERS[BN].decode_py(BT % (bid, qty))[0] == rc


@pytest.mark.parametrize("frame,rc", [
    (b'{"e":"bookTicker","u":1,"s":"SUSHIUSDT","b":10.5,"B":"1","a":"10.5","A":"1"}', -12),      # number, not string
    (b'{"e":"bookTicker","u":"x","s":"SUSHIUSDT","b":"10.5","B":"1","a":"10.5","A":"1"}', -14),  # id not numeric
    (b'{"e":"bookTicker","u":1.5,"s":"SUSHIUSDT","b":"10.5","B":"1","a":"10.5","A":"1"}', -14),
    (b'{"e":"bookTicker","u":1,"s":"SUSHIUSDT","B":"1","a":"10.5","A":"1"}', -13),              # b missing
    (b'{"e":"bookTicker","s":"SUSHIUSDT","b":"10.5","B":"1","a":"10.5","A":"1"}', -13),         # u missing
    (b'{"e":"bookTicker","u":1,"b":"10.5","B":"1","a":"10.5","A":"1"}', -13),                   # s missing
    (b'{"e":"bookTicker","u":1,"s":"NOPE","b":"10.5","B":"1","a":"10.5","A":"1"}', -19),
    (b'{"e":"bookTicker","u":1,"s":5,"b":"10.5","B":"1","a":"10.5","A":"1"}', -12),
    (b'{"e":"bookTicker","u":1,"E":-5,"s":"SUSHIUSDT","b":"10.5","B":"1","a":"10.5","A":"1"}', -15),
    (b'{"e":"bookTicker","u":1,"s":"SUSHIUSDT","b":"10.5","B":"1","a":"10.5","A":"1"}x', -10),  # trailing bytes
    (b'{"e":"bookTicker","u":1,"s":"SUSHIUSDT","b":"10.5","B":"1","a":"10.5","A":"1",}', -10),  # trailing comma
    (b'{"e":"bookTicker","u":01,"s":"SUSHIUSDT","b":"10.5","B":"1","a":"10.5","A":"1"}', -10),  # leading zero
    (b'{"e":"bookTicker","u":1,"s":"SUSHI\\qUSDT","b":"10.5","B":"1","a":"10.5","A":"1"}', -10),  # bad escape
    (b'{"e":"bookTicker","u":1,"s":"SUSHI\x01USDT","b":"10.5","B":"1","a":"10.5","A":"1"}', -10),  # control byte
    (b'{"e":"bookTicker" "u":1}', -10), (b'{"e" "bookTicker"}', -10), (b"{'e':'x'}", -10),
    (b'{"e":"depthUpdate","E":1,"s":"SUSHIUSDT","U":1,"u":2,"b":[["1.0"]],"a":[]}', -13),      # level w/o size
    (b'{"e":"depthUpdate","E":1,"s":"SUSHIUSDT","U":1,"u":2,"b":[[]],"a":[]}', -13),
    (b'{"e":"depthUpdate","E":1,"s":"SUSHIUSDT","U":1,"u":2,"b":[["1.0","NaN"]],"a":[]}', -14),
    (b'{"e":"depthUpdate","E":1,"s":"SUSHIUSDT","U":1,"u":2,"b":{"1.0":"2"},"a":[]}', -12),
    (b'{"e":"depthUpdate","E":1,"s":"SUSHIUSDT","U":1,"u":2,"b":"1.0","a":[]}', -12),
    (b'{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[["1.0","1"]],"a":[],"s":"SUSHIUSDT"}', 2),     # symbol last: ok
    (b'{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[["1.0","x"]],"a":[],"s":"SUSHIUSDT"}', -14),   # deferred levels
    (b'{"e":"aggTrade","E":1,"a":"7","s":"SUSHIUSDT","p":"1","q":"1","T":1,"m":true}', -12),     # id as string
    (b'{"e":"aggTrade","E":1,"a":7,"s":"SUSHIUSDT","p":"1","q":"1","T":1,"m":"true"}', -12),
    (b'{"e":"bookTicker","u":1,"s":"SUSHIUSDT","b":"10.5","B":"1","a":"10.5","A":"1","b":"9"}', -10),  # duplicate key
    (b'{"e":"depthUpdate","E":1,"s":"SUSHIUSDT","U":1,"u":2,"b":[],"a":[],"b":[]}', -10),
    (b'', -11), (b'   ', -11), (b'{', -11), (b'{"e":"bookTicker"', -11), (b'nul', -11), (b'[1,', -11),
])
def test_malformed_binance(frame: bytes, rc: int) -> None:
    assert DECODERS[BN].decode_py(frame)[0] == rc, DECODERS[BN].last_error


@pytest.mark.parametrize("venue,frame,rc", [
    (Venue.BYBIT, b'{"topic":"orderbook.50.XRPUSDT","type":"delta","ts":1,"data":{"s":"XRPUSDT","b":[],"a":[]}}', -13),
    (Venue.BYBIT, b'{"topic":"orderbook.50.XRPUSDT","type":"delta","ts":1,"data":{"s":"XRPUSDT","b":[["1","-2"]],"a":[],"u":1}}', -15),
    (Venue.BYBIT, b'{"topic":"orderbook.50.XRPUSDT","type":"bogus","ts":1,"data":{}}', -20),
    (Venue.BYBIT, b'{"topic":"orderbook.50.XRPUSDT","type":"delta","ts":1}', -13),
    (Venue.BYBIT, b'{"topic":"orderbook.50.NOPE","type":"delta","ts":1,"data":{"s":"NOPE","b":[],"a":[],"u":1}}', -19),
    (Venue.BYBIT, b'{"topic":"tickers.XRPUSDT","type":"delta","ts":1,"data":{"symbol":"XRPUSDT","fundingRate":"nan"}}', -14),
    (Venue.BYBIT, b'{"topic":"publicTrade.XRPUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"XRPUSDT","S":"Hold","v":"1","p":"1"}]}', -12),
    (Venue.BYBIT, b'{"topic":"publicTrade.XRPUSDT","type":"snapshot","ts":1,"data":[]}', -13),
    (Venue.OKX, b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[]}', -13),
    (Venue.OKX, b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1"},{}]}', -12),
    (Venue.OKX, b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":"x"}]}', -14),
    (Venue.OKX, b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":99999999999}]}', -17),
    (Venue.OKX, b'{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instId":"ETH-USDT","bidPx":"1","ts":"1"}]}', -12),
    (Venue.OKX, b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"px":"Infinity","sz":"1","side":"buy","ts":"1"}]}', -14),
    (Venue.OKX, b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"px":"1","sz":"1","side":"buy","ts":"-1"}]}', -15),
    (Venue.OKX, b'{"arg":"books","data":[]}', -12),
    (Venue.BYBIT, b'{"topic":"orderbook.50.XRPUSDT","type":"delta","ts":1,"data":{"s":"XRPUSDT","b":[],"a":[],"u":1},"ts":2}', -10),
    (Venue.OKX, b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","ts":"2"}]}', -10),
    (Venue.OKX, b'{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"bidPx":"1","bidPx":"2"}]}', -10),
    (Venue.BITGET, b'{"action":"update","arg":{"instType":"SP","channel":"books","instId":"EOSUSDT"},"data":[{"asks":[["1","1","1"]],"bids":[],"ts":"1"}]}', 2),
    (Venue.BITGET, b'{"action":"update","arg":{"instType":"SP","channel":"trade","instId":"EOSUSDT"},"data":[["1","2.4","1"]]}', -13),
    (Venue.BITGET, b'{"action":"update","arg":{"instType":"SP","channel":"trade","instId":"EOSUSDT"},"data":[["1","2.4","1","up"]]}', -12),
])
def test_malformed_other_venues(venue: Venue, frame: bytes, rc: int) -> None:
    d = DECODERS[venue]
    assert d.decode_py(frame)[0] == rc, d.last_error


# ---- fuzzing ----------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(Venue)), st.binary(max_size=300))
def test_fuzz_random_bytes(venue: Venue, data: bytes) -> None:
    _check(venue, data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_real_frames(data) -> None:
    venue, frame = data.draw(st.sampled_from(CORPUS))
    buf = bytearray(frame[:4000] if len(frame) > 4000 else frame)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "set", "insert", "delete", "dup"]))
        i = data.draw(st.integers(0, max(0, len(buf) - 1)))
        if op == "flip" and buf:
            buf[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set" and buf:
            buf[i] = data.draw(st.sampled_from(b'"\\{}[],:-.0123456789eEnN \x00\x7f\xff'))
        elif op == "insert":
            buf[i:i] = data.draw(st.sampled_from([b'"', b",", b"-", b"0", b".", b"e5", b'\\u0041', b"]", b"}", b" "]))
        elif op == "delete" and buf:
            del buf[i:i + data.draw(st.integers(1, 8))]
        elif op == "dup" and buf:
            j = data.draw(st.integers(i, min(len(buf), i + 40)))
            buf[j:j] = buf[i:j]
    _check(venue, bytes(buf))


@pytest.mark.parametrize("venue", list(Venue), ids=lambda v: v.key)
def test_truncated_after_key_and_whitespace(venue: Venue) -> None:
    """A frame that ends right after a key's colon (plus whitespace) is truncated, never read past."""
    d = DECODERS[venue]
    for f in (b'{"b":', b'{"b":   ', b'{"u":1,"s":\n', b'{"topic":  ', b'{"arg":{"channel": \t',
              b'{"data":[{"asks":[["1","2"]],"bids": ', b'{"stream":"x@bookTicker","data":{"u":1,"s":"'):
        rc, ev = d.decode_py(f)
        assert rc == -11 and ev is None, (f, rc)
