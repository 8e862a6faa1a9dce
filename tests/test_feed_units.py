# SPDX-License-Identifier: Apache-2.0
"""Feed pieces that need no exchange: backoff, recorder format and fixture conversion."""
from __future__ import annotations

import random
import struct

import orjson
import pytest

from engine.feed import backoff_delay
from engine.instruments import Venue
from engine.recorder import (KIND_SENT, KIND_SNAPSHOT, KIND_TEXT, MAGIC, RecordingError, Writer,
                             convert_fixture, fixture_frames, read, read_header)


def test_backoff_full_jitter_is_capped_and_grows() -> None:
    rng = random.Random(1)
    for attempt in range(40):
        d = [backoff_delay(attempt, 0.25, 30.0, rng) for _ in range(200)]
        bound = min(30.0, 0.25 * 2 ** attempt)
        assert all(0.0 <= x <= bound for x in d)
        assert max(d) > bound * 0.8            # full jitter spans the whole interval
    # mean grows with the attempt until the cap
    m = [sum(backoff_delay(a, 0.25, 30.0, rng) for _ in range(2000)) / 2000 for a in (0, 3, 6, 12)]
    assert m[0] < m[1] < m[2] < m[3]
    assert 14.0 < m[3] < 16.0                   # capped: uniform(0, 30) has mean 15


def test_recording_round_trip_and_torn_tail(tmp_path) -> None:
    p = tmp_path / "r.hprec"
    with Writer(p, {"venues": ["okx"]}) as w:
        w.write(4, KIND_TEXT, 3, 123, b'{"a":1}')
        w.write(4, KIND_SENT, 3, 124, b"ping")
    with Writer(p) as w:                        # append keeps the header
        w.write(5, KIND_TEXT, 65535, -1, b"")
    assert read_header(p) == {"venues": ["okx"]}
    recs = list(read(p))
    assert [(r.venue, r.kind, r.conn, r.recv_ns, r.payload) for r in recs] == [
        (4, 0, 3, 123, b'{"a":1}'), (4, 2, 3, 124, b"ping"), (5, 0, 65535, -1, b"")]
    size = p.stat().st_size
    assert size == len(MAGIC) + 4 + len(b'{"venues":["okx"]}') + 3 * 16 + 7 + 4
    with open(p, "ab") as f:                    # crash in the middle of a record
        f.write(struct.pack("<IBBHq", 100, 4, 0, 0, 5) + b"partial")
    assert len(list(read(p))) == 3
    bad = tmp_path / "bad"
    bad.write_bytes(b"NOTAREC!" + b"\0" * 20)
    with pytest.raises(RecordingError):
        list(read(bad))
    with pytest.raises(RecordingError):
        Writer(bad)


def test_fixture_frames_are_byte_exact(fixtures_dir) -> None:
    # OKX checksums depend on "30243.5" vs "30243.50": the slice must be the recorded text
    frames = list(fixture_frames(fixtures_dir / "okx/recorded_2022/ws_books_BTC-USDT.jsonl"))
    assert len(frames) == 99 and frames[0][0] == "in"
    raw = (fixtures_dir / "okx/recorded_2022/ws_books_BTC-USDT.jsonl").read_bytes().splitlines()
    for (_, _, frame), line in zip(frames, raw, strict=True):
        assert frame in line and orjson.loads(frame) == orjson.loads(line)["msg"]
    bybit = list(fixture_frames(fixtures_dir / "bybit/recorded_2024/orderbook_500_XRPUSDT_2024-12-01.jsonl"))
    assert len(bybit) == 50 and bybit[0][1] == 1733011200691 * 1_000_000


def test_convert_binance_places_snapshot(fixtures_dir, tmp_path) -> None:
    d = fixtures_dir / "binance/usdm_futures"
    out = tmp_path / "akro.hprec"
    n = convert_fixture([d / "ws_combined_AKROUSDT.jsonl"], out, Venue.BINANCE_USDM,
                        [("AKROUSDT", d / "rest_depth_snapshot_AKROUSDT.json", None)])
    recs = list(read(out))
    assert n == len(recs) == 294
    kinds = [r.kind for r in recs]
    assert kinds.count(KIND_SNAPSHOT) == 1
    i = kinds.index(KIND_SNAPSHOT)
    nxt = next(orjson.loads(r.payload)["data"] for r in recs[i + 1:] if b"depthUpdate" in r.payload)
    assert nxt["u"] == 600859605486           # the u == lastUpdateId boundary diff follows it
