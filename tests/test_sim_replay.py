# SPDX-License-Identifier: Apache-2.0
"""Replay of recordings (fixture JSONL and the engine recorder format) through the simulator."""
from __future__ import annotations

import json
import struct
import time

import aiohttp
import orjson
import pytest

from engine.sim import SimConfig, SimExchange
from engine.sim.replay import MAGIC, REC, ReplayError, read_frames
from tests._sim_util import drain


def fixture_in_frames(path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        r = json.loads(line)
        m = r["msg"]
        if r["dir"] == "in" and not ("event" in m and "data" not in m) and not ("result" in m and "id" in m):
            out.append(m)
    return out


async def test_replay_fixture_jsonl_in_order_accelerated(fixtures_dir):
    rec = fixtures_dir / "okx" / "recorded_2022" / "ws_books_BTC-USDT.jsonl"
    want = fixture_in_frames(rec)
    cfg = SimConfig(venues=["okx"], replay=str(rec), replay_speed=0)
    async with SimExchange(cfg) as ex, aiohttp.ClientSession() as s:
        async with s.ws_connect(ex.endpoints("okx")["ws_public"]) as ws:
            await ws.send_json({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
            ack = await ws.receive_json(timeout=3)
            assert ack["event"] == "subscribe"
            got = [m for m in await drain(ws, 0.5)]
    assert got == want and len(got) == 98
    assert ex.replay.done.is_set() and ex.replay.sent == 98


async def test_replay_real_time_speed_follows_timestamps(fixtures_dir):
    rec = fixtures_dir / "binance" / "usdm_futures" / "ws_combined_AKROUSDT.jsonl"
    frames = [json.loads(x) for x in rec.read_text().splitlines()]
    ins = [f for f in frames if f["dir"] == "in"][:12]
    span = ins[-1]["ts"] - ins[0]["ts"]
    speed = max(span / 0.4, 1e-9)          # scale the first 12 frames to ~0.4 s
    cfg = SimConfig(venues=["binance_usdm"], replay=str(rec), replay_speed=speed)
    async with SimExchange(cfg) as ex, aiohttp.ClientSession() as s:
        url = ex.endpoints("binance_usdm")["ws_public"] + "/stream?streams=akrousdt@depth@100ms"
        async with s.ws_connect(url) as ws:
            first = await ws.receive_json(timeout=5)
            t0 = time.monotonic()
            for _ in range(11):
                await ws.receive_json(timeout=5)
            took = time.monotonic() - t0
    assert first == ins[0]["msg"]
    assert 0.25 < took < 2.0


async def test_replay_engine_recorder_format_and_snapshot(tmp_path, fixtures_dir):
    # written by hand in the documented recorder layout (engine/recorder.py, version 1)
    snap = json.loads((fixtures_dir / "binance" / "usdm_futures" / "rest_depth_snapshot_AKROUSDT.json").read_text())
    frames = [json.loads(x)["msg"] for x in
              (fixtures_dir / "binance" / "usdm_futures" / "ws_combined_AKROUSDT.jsonl").read_text().splitlines()][:5]
    p = tmp_path / "rec.hprec"
    meta = orjson.dumps({"venues": ["binance_usdm"]})
    with open(p, "wb") as f:  # noqa: ASYNC230  test setup, nothing else runs on the loop yet
        f.write(MAGIC + struct.pack("<I", len(meta)) + meta)
        body = b"AKROUSDT\n" + orjson.dumps(snap)
        f.write(REC.pack(len(body), 2, 3, 0, 1_000) + body)
        for i, m in enumerate(frames):
            b = orjson.dumps(m)
            f.write(REC.pack(len(b), 2, 0, 1, 2_000 + i) + b)
        b = b'{"x":1}'
        f.write(REC.pack(len(b), 2, 2, 1, 9_000) + b)      # a frame we sent: not replayed
    assert [k for _, k, _, _ in read_frames(p, "okx")] == [3, 0, 0, 0, 0, 0]
    cfg = SimConfig(venues=["binance_usdm"], replay=str(p), replay_speed=0)
    async with SimExchange(cfg) as ex, aiohttp.ClientSession() as s:
        ep = ex.endpoints("binance_usdm")
        async with s.ws_connect(ep["ws_public"] + "/stream?streams=akrousdt@depth@100ms") as ws:
            got = await drain(ws, 0.5)
        async with s.get(ep["rest"] + "/fapi/v1/depth", params={"symbol": "AKROUSDT"}) as r:
            assert await r.json() == snap
    assert got == frames


def test_replay_rejects_corrupt_files(tmp_path):
    p = tmp_path / "bad.hprec"
    p.write_bytes(MAGIC + struct.pack("<I", 2) + b"{}" + REC.pack(100, 2, 0, 0, 1) + b"short")
    with pytest.raises(ReplayError, match="truncated"):
        list(read_frames(p, "binance_usdm"))
    q = tmp_path / "bad.jsonl"
    q.write_text('{"dir":"in","ts":1}\nnot json\n')
    with pytest.raises(ReplayError, match=":1:"):
        list(read_frames(q, "binance_usdm"))


async def test_replay_reads_files_written_by_the_engine_recorder(tmp_path):
    # contract check against helper 6's writer (the simulator itself never imports it)
    from engine.recorder import KIND_TEXT, Writer
    p = tmp_path / "engine.hprec"
    msgs = [{"stream": "btcusdt@bookTicker", "data": {"e": "bookTicker", "u": i, "s": "BTCUSDT"}}
            for i in range(3)]
    with Writer(p, {"note": "test"}) as w:
        for i, m in enumerate(msgs):
            w.write(2, KIND_TEXT, 0, 1_000_000 * i, orjson.dumps(m))
    assert [orjson.loads(pl) for _, _, _, pl in read_frames(p, "okx")] == msgs
