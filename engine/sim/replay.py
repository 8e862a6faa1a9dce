# SPDX-License-Identifier: Apache-2.0
"""Replay a market-data recording through the simulator instead of the synthetic process.

Formats read (detected by content, never by importing the engine's recorder):
* fixture JSONL: one ``{"dir": "in"|"out", "ts": <seconds>, "msg": <frame>}`` per line; only
  ``dir == "in"`` frames are replayed, to the venue ``SimConfig.replay_venue`` (default: the
  first configured venue);
* engine recorder files (``engine/recorder.py``, format version 1): header
  ``b"HPREC\\x00\\x01\\n"`` + u32 length + JSON metadata, then records
  ``u32 len | u8 venue | u8 kind | u16 conn | i64 recv_ns | payload``. Kinds 0/1 (received
  text/binary frames) are replayed; kind 3 (REST depth snapshot, payload ``SYMBOL\\n`` + body)
  is served by that venue's REST depth endpoint (Binance) when the replay reaches it.

Frames go verbatim, in recorded order, to every public WebSocket connection of the venue,
except subscription acknowledgements (each client already got its own). Timing follows the
recorded timestamps divided by ``replay_speed`` (0 = as fast as possible). Playback starts
``replay_start_delay`` seconds after the first public connection opens, so a test can
connect and subscribe first.
"""
from __future__ import annotations

import asyncio
import struct
import time
from pathlib import Path
from typing import Any, Iterator

import orjson

MAGIC = b"HPREC\x00\x01\n"
REC = struct.Struct("<IBBHq")
VENUE_IDS = {1: "binance_spot", 2: "binance_usdm", 3: "bybit", 4: "okx", 5: "bitget"}


class ReplayError(Exception):
    """The recording cannot be read (the message says where)."""


def is_control(msg: Any) -> bool:
    """Subscription acks / errors of any venue: not market data."""
    if not isinstance(msg, dict):
        return False
    if "result" in msg and "id" in msg:                       # Binance
        return True
    if "event" in msg and "data" not in msg:                   # OKX / Bitget
        return True
    if "op" in msg and ("success" in msg or "retCode" in msg):  # Bybit
        return True
    return False


def read_frames(path: str | Path, default_venue: str) -> Iterator[tuple[str, int, int, bytes]]:
    """Yield (venue_key, kind, ts_ns, payload) in file order; kind 0 = frame, 3 = snapshot."""
    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(len(MAGIC))
        if head == MAGIC:
            raw = f.read(4)
            if len(raw) != 4:
                raise ReplayError(f"{p}: truncated header")
            (n,) = struct.unpack("<I", raw)
            f.read(n)
            off = len(MAGIC) + 4 + n
            while True:
                hdr = f.read(REC.size)
                if not hdr:
                    return
                if len(hdr) < REC.size:
                    raise ReplayError(f"{p}: truncated record header at byte {off}")
                ln, venue, kind, _conn, ts = REC.unpack(hdr)
                payload = f.read(ln)
                if len(payload) < ln:
                    raise ReplayError(f"{p}: truncated record at byte {off}")
                off += REC.size + ln
                key = VENUE_IDS.get(venue)
                if key is None:
                    raise ReplayError(f"{p}: unknown venue id {venue} at byte {off}")
                if kind in (0, 1):
                    yield key, 0, ts, payload
                elif kind == 3:
                    yield key, 3, ts, payload
            return
    with open(p, "rb") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = orjson.loads(line)
                if rec.get("dir", "in") != "in":
                    continue
                ts_ns = int(float(rec["ts"]) * 1e9)
                msg = rec["msg"]
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                raise ReplayError(f"{p}:{lineno}: not a {{dir, ts, msg}} record") from None
            if is_control(msg):
                continue
            payload = msg.encode() if isinstance(msg, str) else orjson.dumps(msg)
            yield default_venue, 0, ts_ns, payload


class Replay:
    """Plays one recording into the running venues of a SimExchange."""

    def __init__(self, sim: Any, path: str, speed: float, default_venue: str,
                 start_delay: float = 0.2) -> None:
        if speed < 0:
            raise ValueError("replay_speed must be >= 0")
        self.sim = sim
        self.path = path
        self.speed = speed
        self.default_venue = default_venue
        self.start_delay = start_delay
        self.sent = 0
        self.done = asyncio.Event()
        self.task: asyncio.Task | None = None
        if not Path(path).is_file():
            raise ReplayError(f"{path}: no such recording")

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())
        for v in self.sim.venues.values():
            v.replay_mode = True
            v.tasks.append(self.task)

    async def _wait_for_listener(self) -> None:
        # poll: the venues register connections in their handlers and set no event
        while not any(c.kind == "public" for v in self.sim.venues.values() for c in v.conns):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(self.start_delay)

    async def _run(self) -> None:
        await self._wait_for_listener()
        t0_wall = time.monotonic()
        t0_rec: int | None = None
        for key, kind, ts, payload in read_frames(self.path, self.default_venue):
            v = self.sim.venues.get(key)
            if v is None:
                continue
            if t0_rec is None:
                t0_rec = ts
            if self.speed > 0:
                due = t0_wall + (ts - t0_rec) / 1e9 / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif self.sent % 256 == 0:
                await asyncio.sleep(0)
            if kind == 3:
                sym, _, body = payload.partition(b"\n")
                v.replay_snapshots[sym.decode()] = orjson.loads(body)
                continue
            text = payload.decode("utf-8", "replace")
            if is_control(_maybe_json(text)):
                continue
            for c in list(v.conns):
                if c.kind == "public" and not c.closed:
                    c.send(_raw_for(c, text))
            self.sent += 1
        self.done.set()


def _maybe_json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _raw_for(conn: Any, text: str) -> str:
    """Binance raw (/ws/...) connections get the inner ``data`` of combined-stream frames."""
    if conn.state.get("combined") is False and text.startswith('{"stream"'):
        msg = _maybe_json(text)
        if isinstance(msg, dict) and "data" in msg:
            return orjson.dumps(msg["data"]).decode()
    return text


def start_replay(sim: Any) -> Replay:
    cfg = sim.config
    default = cfg.replay_venue or cfg.venues[0].key
    r = Replay(sim, cfg.replay, cfg.replay_speed, default)
    r.start()
    sim.replay = r
    return r
