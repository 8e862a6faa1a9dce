# SPDX-License-Identifier: Apache-2.0
"""Test helpers for engine.codec: fixture frame loaders and an independent reference decoder
(orjson + Decimal) that states what the compiled decoder must return for each frame."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterator

import orjson

from engine.instruments import Instrument, Venue

EV_QUOTE, EV_DEPTH, EV_TRADE, EV_MARK, EV_TICKER = 1, 2, 3, 4, 5
ENG_ERR_UNSUPPORTED = -20

TK_BITS = {
    "bid_px": 1, "bid_sz": 2, "ask_px": 4, "ask_sz": 8, "last_px": 16, "mark_px": 32,
    "index_px": 64, "funding_rate": 128, "next_funding_ms": 256, "open_interest": 512,
}

# Generous exponents for fixture replays: every decimal in the recordings fits exactly.
FIX_PX_EXP = 9
FIX_SZ_EXP = 9


# ---- frame loaders ---------------------------------------------------------------------------
def recording_frames(path: Path) -> Iterator[bytes]:
    """Incoming frames of a ``{"dir","ts","msg":<frame>}`` recording, byte for byte as recorded
    (the frame text is sliced out of the line, not re-serialised), or raw one-frame-per-line files."""
    for line in path.read_bytes().splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith(b'{"dir":'):
            if not line.startswith(b'{"dir":"in"'):
                continue
            start = line.index(b'"msg":') + 6
            assert line.endswith(b"}")
            yield line[start:-1]
        else:
            yield line


def jkorf_frames(path: Path) -> Iterator[bytes]:
    """Server frames of a JKorf subscription fixture: ``<`` replies and ``=`` pushes."""
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("< "):
            yield ln[2:].encode()
            i += 1
        elif ln.startswith("="):
            body = [ln[1:]]
            i += 1
            while i < len(lines) and not lines[i][:1] in (">", "<", "="):
                body.append(lines[i])
                i += 1
            yield "\n".join(body).strip().encode()
        else:
            i += 1


# ---- reference decoder ------------------------------------------------------------------------
def units(s: str, exp: int) -> int:
    assert isinstance(s, str)
    v = Decimal(s) * (Decimal(10) ** exp)
    assert v == v.to_integral_value(), (s, exp)
    return int(v)


def decs(s: str) -> int:
    return len(s.split(".", 1)[1]) if "." in s else 0


def round_units(s: str, exp: int) -> int:
    return int((Decimal(s) * (Decimal(10) ** exp)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def level(lv: list, inst: Instrument) -> tuple[int, int, int, int]:
    return (units(lv[0], inst.px_exp), units(lv[1], inst.sz_exp), decs(lv[0]), decs(lv[1]))


def ms_ns(v: Any) -> int:
    return int(v) * 1_000_000


def _trade(inst: Instrument, px: str, sz: str, side: str, tid: Any, ts: Any, venue: int) -> dict:
    sides = {"buy": 1, "Buy": 1, "sell": -1, "Sell": -1}
    if isinstance(tid, str):
        tid = int(tid) if tid.isdigit() and len(tid) <= 18 else 0
    return {"inst": inst.id, "venue": venue, "px": units(px, inst.px_exp), "sz": units(sz, inst.sz_exp),
            "side": sides[side], "trade_id": tid or 0, "exch_ts_ns": ms_ns(ts), "recv_ts_ns": 0}


def _trades_result(tr: list[dict]) -> tuple[int, dict]:
    out = dict(tr[0])
    out["trades"] = tr
    return EV_TRADE, out


def _ticker(inst: Instrument, venue: int, fields: dict[str, Any], ts: Any, is_snapshot: int) -> tuple[int, dict]:
    out: dict[str, Any] = {"inst": inst.id, "venue": venue, "is_snapshot": is_snapshot,
                           "exch_ts_ns": ms_ns(ts) if ts is not None else 0, "recv_ts_ns": 0}
    mask = 0
    for name, raw in fields.items():
        if raw is None or raw == "":
            continue
        if name in ("bid_px", "ask_px", "last_px"):
            val: Any = units(raw, inst.px_exp)
        elif name in ("bid_sz", "ask_sz"):
            val = units(raw, inst.sz_exp)
        elif name in ("mark_px", "index_px"):
            val = round_units(raw, inst.px_exp)
        elif name in ("funding_rate", "open_interest"):
            val = float(raw)
        else:
            val = int(raw)
        out[name] = val
        mask |= TK_BITS[name]
    out["mask"] = mask
    return EV_TICKER, out


def ref_decode(venue: int, frame: bytes, insts: dict[str, Instrument]) -> tuple[int, dict | None]:
    """What the compiled decoder must return for ``frame`` (unsupported -> (ENG_ERR_UNSUPPORTED, None))."""
    msg = orjson.loads(frame)
    if venue in (Venue.BINANCE_SPOT, Venue.BINANCE_USDM):
        return _ref_binance(venue, msg, insts)
    if venue == Venue.BYBIT:
        return _ref_bybit(venue, msg, insts)
    return _ref_okx_bitget(venue, msg, insts)


UNSUP = (ENG_ERR_UNSUPPORTED, None)


def _ref_binance(venue: int, msg: dict, insts: dict[str, Instrument]) -> tuple[int, dict | None]:
    d = msg["data"] if isinstance(msg.get("data"), dict) else msg
    e = d.get("e")
    ts_e = d.get("E", d.get("T"))
    if e is None:
        if all(k in d for k in "usbBaA") and isinstance(d["b"], str):
            e = "bookTicker"
        else:
            return UNSUP
    if e not in ("bookTicker", "depthUpdate", "trade", "aggTrade", "markPriceUpdate"):
        return UNSUP
    inst = insts[d["s"]]
    if e == "bookTicker":
        return EV_QUOTE, {"inst": inst.id, "venue": venue, "bid_px": units(d["b"], inst.px_exp),
                          "bid_sz": units(d["B"], inst.sz_exp), "ask_px": units(d["a"], inst.px_exp),
                          "ask_sz": units(d["A"], inst.sz_exp), "update_id": d["u"],
                          "exch_ts_ns": ms_ns(ts_e) if ts_e is not None else 0, "recv_ts_ns": 0}
    if e == "depthUpdate":
        return EV_DEPTH, {"inst": inst.id, "venue": venue, "first_id": d["U"], "last_id": d["u"],
                          "prev_id": d.get("pu", -1), "is_snapshot": 0, "has_checksum": 0, "checksum": 0,
                          "exch_ts_ns": ms_ns(ts_e) if ts_e is not None else 0, "recv_ts_ns": 0,
                          "bids": [level(x, inst) for x in d["b"]], "asks": [level(x, inst) for x in d["a"]]}
    if e in ("trade", "aggTrade"):
        tid = d["t"] if e == "trade" else d["a"]
        return _trades_result([_trade(inst, d["p"], d["q"], "sell" if d["m"] else "buy", tid,
                                      d.get("T", d.get("E")), venue)])
    out: dict[str, Any] = {"inst": inst.id, "venue": venue, "mark_px": round_units(d["p"], inst.px_exp),
                           "exch_ts_ns": ms_ns(d["E"]) if "E" in d else 0, "recv_ts_ns": 0}
    mask = TK_BITS["mark_px"]
    if "i" in d:
        out["index_px"] = round_units(d["i"], inst.px_exp)
        mask |= TK_BITS["index_px"]
    if d.get("r"):
        out["funding_rate"] = float(d["r"])
        mask |= TK_BITS["funding_rate"]
    if d.get("T"):
        out["next_funding_ms"] = d["T"]
        mask |= TK_BITS["next_funding_ms"]
    out["mask"] = mask
    return EV_MARK, out


def _ref_bybit(venue: int, msg: dict, insts: dict[str, Instrument]) -> tuple[int, dict | None]:
    topic = msg.get("topic")
    if not isinstance(topic, str) or not topic.startswith(("orderbook.", "tickers.", "publicTrade.", "trade.")):
        return UNSUP
    snap = 1 if msg["type"] == "snapshot" else 0
    data = msg["data"]
    if topic.startswith("orderbook."):
        inst = insts[data["s"]]
        return EV_DEPTH, {"inst": inst.id, "venue": venue, "first_id": data["u"], "last_id": data["u"],
                          "prev_id": -1, "is_snapshot": snap, "has_checksum": 0, "checksum": 0,
                          "exch_ts_ns": ms_ns(msg["ts"]) if "ts" in msg else 0, "recv_ts_ns": 0,
                          "bids": [level(x, inst) for x in data["b"]], "asks": [level(x, inst) for x in data["a"]]}
    if topic.startswith("tickers."):
        inst = insts[data["symbol"]]
        names = {"bid_px": "bid1Price", "bid_sz": "bid1Size", "ask_px": "ask1Price", "ask_sz": "ask1Size",
                 "last_px": "lastPrice", "mark_px": "markPrice", "index_px": "indexPrice",
                 "funding_rate": "fundingRate", "next_funding_ms": "nextFundingTime",
                 "open_interest": "openInterest"}
        return _ticker(inst, venue, {k: data.get(v) for k, v in names.items()}, msg.get("ts"), snap)
    if topic.startswith("publicTrade.") or topic.startswith("trade."):
        return _trades_result([_trade(insts[t["s"]], t["p"], t["v"], t["S"], t.get("i"), t["T"], venue)
                               for t in data])
    return UNSUP


def _ref_okx_bitget(venue: int, msg: dict, insts: dict[str, Instrument]) -> tuple[int, dict | None]:
    if "event" in msg or "op" in msg or "id" in msg or "code" in msg or "arg" not in msg:
        return UNSUP
    arg = msg["arg"]
    ch = arg["channel"]
    okx = venue == Venue.OKX
    book_ch = ("books", "books-l2-tbt", "books50-l2-tbt", "books5", "bbo-tbt") if okx else (
        "books", "books1", "books5", "books15")
    crc_ch = ("books", "books-l2-tbt", "books50-l2-tbt") if okx else ("books",)
    hot = book_ch + (("tickers", "trades", "trades-all", "funding-rate", "mark-price") if okx else ("ticker", "trade"))
    if ch not in hot:
        return UNSUP
    key = arg["instId"]
    if not okx:
        spot = arg["instType"] in ("SPOT", "SP", "sp", "spot")
        key = ("S:" if spot else "F:") + key
    inst = insts.get(key) or insts[arg["instId"]]
    action = msg.get("action")
    data = msg["data"]
    if ch in book_ch:
        d = data[0]
        none = -1 if okx else 0
        last = d.get("seqId", d.get("seq", none))
        out = {"inst": inst.id, "venue": venue, "first_id": last, "last_id": last,
               "prev_id": d.get("prevSeqId", -1), "is_snapshot": 0 if action == "update" else 1,
               "has_checksum": 0, "checksum": 0, "exch_ts_ns": ms_ns(d["ts"]) if "ts" in d else 0, "recv_ts_ns": 0,
               "bids": [level(x, inst) for x in d["bids"]], "asks": [level(x, inst) for x in d["asks"]]}
        if ch in crc_ch and "checksum" in d:
            out["has_checksum"] = 1
            cs = d["checksum"]
            assert -(2**31) <= cs < 2**32
            out["checksum"] = ((cs + 2**31) % 2**32) - 2**31  # unsigned spelling -> signed int32
        return EV_DEPTH, out
    if ch in ("tickers", "ticker"):
        d = data[0]
        if okx:
            names = {"bid_px": "bidPx", "bid_sz": "bidSz", "ask_px": "askPx", "ask_sz": "askSz", "last_px": "last"}
        elif "lastPr" in d or "bidPr" in d or "askPr" in d:
            names = {"bid_px": "bidPr", "bid_sz": "bidSz", "ask_px": "askPr", "ask_sz": "askSz",
                     "last_px": "lastPr", "mark_px": "markPrice", "index_px": "indexPrice",
                     "funding_rate": "fundingRate", "next_funding_ms": "nextFundingTime",
                     "open_interest": "holdingAmount"}
        else:
            names = {"bid_px": "bestBid", "bid_sz": "bidSz", "ask_px": "bestAsk", "ask_sz": "askSz",
                     "last_px": "last", "mark_px": "markPrice", "index_px": "indexPrice",
                     "funding_rate": "capitalRate", "next_funding_ms": "nextSettleTime",
                     "open_interest": "holding"}
        ts = d.get("ts", d.get("systemTime", msg.get("ts")))
        return _ticker(inst, venue, {k: d.get(v) for k, v in names.items()}, ts, 1)
    if ch in ("trades", "trades-all", "trade"):
        tr = []
        for t in data:
            if isinstance(t, list):
                tr.append(_trade(inst, t[1], t[2], t[3], 0, t[0], venue))
            elif okx:
                tr.append(_trade(inst, t["px"], t["sz"], t["side"], t.get("tradeId"), t["ts"], venue))
            else:
                tr.append(_trade(inst, t["price"], t["size"], t["side"], t.get("tradeId"), t["ts"], venue))
        return _trades_result(tr)
    if okx and ch == "funding-rate":
        d = data[0]
        out = {"inst": inst.id, "venue": venue, "funding_rate": float(d["fundingRate"]),
               "exch_ts_ns": ms_ns(d["ts"]) if "ts" in d else 0, "recv_ts_ns": 0}
        mask = TK_BITS["funding_rate"]
        if "fundingTime" in d:
            out["next_funding_ms"] = int(d["fundingTime"])
            mask |= TK_BITS["next_funding_ms"]
        out["mask"] = mask
        return EV_MARK, out
    if okx and ch == "mark-price":
        d = data[0]
        return EV_MARK, {"inst": inst.id, "venue": venue, "mark_px": round_units(d["markPx"], inst.px_exp),
                         "mask": TK_BITS["mark_px"], "exch_ts_ns": ms_ns(d["ts"]) if "ts" in d else 0, "recv_ts_ns": 0}
    return UNSUP


def fixture_instrument(iid: int, venue: Venue, symbol: str, category: str = "") -> Instrument:
    step = "0." + "0" * (FIX_PX_EXP - 1) + "1"
    lot = "0." + "0" * (FIX_SZ_EXP - 1) + "1"
    return Instrument(iid, venue, symbol, step, lot, category=category)
