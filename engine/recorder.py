# SPDX-License-Identifier: Apache-2.0
"""Raw market-data recordings (``hotpath record`` / ``hotpath replay``).

File layout (little endian, append-only, readable while being written):

    header:  b"HPREC\\x00\\x01\\n" (magic + version 1), u32 n, n bytes of JSON metadata
    records: u32 len | u8 venue | u8 kind | u16 conn | i64 recv_ns | len bytes payload

``kind``: 0 = text frame received, 1 = binary frame received, 2 = frame we sent, 3 = REST depth snapshot
(payload ``SYMBOL\\n`` + body as received). ``recv_ns`` is wall-clock ns (``time.time_ns()``) so recordings
from different runs and the fixture ``ts`` fields share one time base.
"""
from __future__ import annotations

import asyncio
import logging
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Sequence

import orjson

from engine.errors import rc_name
from engine.instruments import Instrument, Venue

log = logging.getLogger("engine.recorder")

MAGIC = b"HPREC\x00\x01\n"
REC = struct.Struct("<IBBHq")
KIND_TEXT, KIND_BINARY, KIND_SENT, KIND_SNAPSHOT = 0, 1, 2, 3
MAX_RECORD = 64 * 1024 * 1024

# rc values from include/engine/rc.h used by the replay driver
ENG_ERR_GAP, ENG_ERR_CHECKSUM, ENG_ERR_CROSSED = -30, -31, -32
ENG_ERR_STALE_UPDATE, ENG_ERR_NOT_SYNCED = -33, -34


@dataclass(frozen=True)
class Record:
    venue: int
    kind: int
    conn: int
    recv_ns: int
    payload: bytes


class RecordingError(Exception):
    """A recording file is not ours or is corrupt (the message says where)."""


class Writer:
    """Append records to a recording; the header is written when the file is new."""

    def __init__(self, path: str | Path, meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._f: BinaryIO = open(self.path, "ab")
        if new:
            m = orjson.dumps(meta or {})
            self._f.write(MAGIC + struct.pack("<I", len(m)) + m)
        else:
            read_header(self.path)      # refuse to append to a foreign file
        self.count = 0

    def write(self, venue: int, kind: int, conn: int, recv_ns: int, payload: bytes) -> None:
        if len(payload) > MAX_RECORD:
            raise ValueError(f"record of {len(payload)} bytes exceeds {MAX_RECORD}")
        self._f.write(REC.pack(len(payload), venue, kind, conn, recv_ns))
        self._f.write(payload)
        self.count += 1

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_header(path: str | Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        return _header(f, str(path))


def _header(f: BinaryIO, name: str) -> dict[str, Any]:
    head = f.read(len(MAGIC) + 4)
    if len(head) < len(MAGIC) + 4 or head[:len(MAGIC)] != MAGIC:
        raise RecordingError(f"{name}: not a hotpath recording (bad magic)")
    (n,) = struct.unpack("<I", head[len(MAGIC):])
    meta = f.read(n)
    if len(meta) != n:
        raise RecordingError(f"{name}: truncated header")
    return orjson.loads(meta)


def read(path: str | Path) -> Iterator[Record]:
    """Iterate the records of a recording. A torn last record (crash while writing) ends the
    iteration with a warning; anything else malformed raises RecordingError."""
    with open(path, "rb") as f:
        _header(f, str(path))
        off = f.tell()
        while True:
            h = f.read(REC.size)
            if not h:
                return
            if len(h) < REC.size:
                log.warning("%s: torn record header at offset %d ignored", path, off)
                return
            n, venue, kind, conn, recv_ns = REC.unpack(h)
            if n > MAX_RECORD or kind > KIND_SNAPSHOT:
                raise RecordingError(f"{path}: corrupt record at offset {off} (len={n}, kind={kind})")
            payload = f.read(n)
            if len(payload) < n:
                log.warning("%s: torn record at offset %d ignored", path, off)
                return
            yield Record(venue, kind, conn, recv_ns, payload)
            off += REC.size + n


# ---- fixture .jsonl conversion --------------------------------------------------------------

def fixture_frames(path: str | Path) -> Iterator[tuple[str, int, bytes]]:
    """Yield ``(dir, recv_ns, frame bytes)`` from a fixture recording.

    Wrapped lines ``{"dir":..,"ts":..,"msg":<frame>}`` give the frame byte-for-byte as it appears after
    ``"msg":`` (number formatting preserved for checksums); a string ``msg`` is a text frame such as
    ``pong``. Unwrapped lines (Bybit capture) are the frame itself, timed by its ``ts`` (ms)."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            obj = orjson.loads(line)
            if isinstance(obj, dict) and "msg" in obj and "dir" in obj:
                i = line.index(b'"msg":') + 6
                if not line.endswith(b"}"):
                    raise RecordingError(f"{path}:{lineno}: unexpected line end")
                body = line[i:-1].strip()
                if body.startswith(b'"'):
                    body = orjson.loads(body).encode()
                elif orjson.loads(body) != obj["msg"]:
                    raise RecordingError(f"{path}:{lineno}: msg slice does not round-trip")
                yield obj["dir"], int(round(float(obj["ts"]) * 1e9)), body
            else:
                ts = obj.get("ts", 0) if isinstance(obj, dict) else 0
                yield "in", int(ts) * 1_000_000, line


def convert_fixture(jsonl: Sequence[str | Path], out: str | Path, venue: Venue,
                    snapshots: Iterable[tuple[str, str | Path, float | None]] = (), conn: int = 0) -> int:
    """Convert fixture ``.jsonl`` files (merged by time) and REST snapshots into one recording.

    ``snapshots``: ``(symbol, path, recv_ts_seconds)``. With ``recv_ts`` None the snapshot is placed
    just before the first depth diff whose last id reaches the snapshot's ``lastUpdateId`` (the
    fixture README does not give every snapshot's receive time). Returns the record count."""
    rows: list[tuple[int, int, int, bytes]] = []       # (ns, order, kind, payload)
    seq = 0
    for p in jsonl:
        for d, ns, frame in fixture_frames(p):
            rows.append((ns, seq, KIND_SENT if d == "out" else KIND_TEXT, frame))
            seq += 1
    rows.sort(key=lambda r: (r[0], r[1]))
    for sym, spath, ts in snapshots:
        body = Path(spath).read_bytes()
        if ts is not None:
            ns = int(round(ts * 1e9))
        else:
            last = int(orjson.loads(body)["lastUpdateId"])
            ns = rows[-1][0] + 1 if rows else 0
            for r in rows:
                d = orjson.loads(r[3]) if r[2] == KIND_TEXT else None
                data = d.get("data", d) if isinstance(d, dict) else None
                if isinstance(data, dict) and data.get("e") == "depthUpdate" and data.get("s") == sym \
                        and int(data["u"]) >= last:
                    ns = r[0] - 1
                    break
        rows.append((ns, -1, KIND_SNAPSHOT, sym.encode() + b"\n" + body))
    rows.sort(key=lambda r: (r[0], r[1]))
    with Writer(out, {"venue": venue.key, "source": [str(p) for p in jsonl], "converted": True}) as w:
        for ns, _, kind, payload in rows:
            w.write(int(venue), kind, conn, ns, payload)
        return w.count


# ---- replay ---------------------------------------------------------------------------------

@dataclass
class ReplayStats:
    frames: int = 0
    hot: int = 0
    stale: int = 0
    not_synced: int = 0
    snapshots: int = 0
    replayed: int = 0
    errors: dict[str, int] | None = None

    def count_error(self, rc: int) -> None:
        if self.errors is None:
            self.errors = {}
        k = rc_name(rc)
        self.errors[k] = self.errors.get(k, 0) + 1


def replay_into(pipeline: Any, path: str | Path, books: dict[tuple[int, str], Any] | None = None,
                on_cold: Any = None) -> ReplayStats:
    """Feed a recording through ``pipeline.feed`` (the same decode -> book -> strategy path as live).

    REST snapshot records are applied to ``books[(venue, symbol)]`` (``Book.apply_snapshot``), then
    the diffs buffered while that book was not synced are fed again (Binance buffer-then-sync).
    ``on_cold(record, rc)`` sees every frame the hot path did not take (rc < 0)."""
    stats = ReplayStats()
    pending: list[Record] = []
    for rec in read(path):
        if rec.kind == KIND_SENT:
            continue
        if rec.kind == KIND_SNAPSHOT:
            sym, _, body = rec.payload.partition(b"\n")
            if books is None or (rec.venue, sym.decode()) not in books:
                raise KeyError(f"snapshot for {sym.decode()} but no book for it was given")
            from engine.exchanges import MARKET_ADAPTERS, PRESETS
            v = Venue(rec.venue)
            snap = MARKET_ADAPTERS[v](PRESETS[v]["mainnet"]).parse_snapshot(body)
            books[(rec.venue, sym.decode())].apply_snapshot(snap.bids, snap.asks, snap.last_id)
            stats.snapshots += 1
            again, pending = pending, []
            for r in again:
                stats.replayed += 1
                _feed_one(pipeline, r, stats, pending, on_cold)
            continue
        stats.frames += 1
        _feed_one(pipeline, rec, stats, pending, on_cold)
    return stats


def _feed_one(pipeline: Any, rec: Record, stats: ReplayStats, pending: list[Record], on_cold: Any) -> None:
    rc = pipeline.feed(rec.conn, rec.venue, rec.payload, rec.recv_ns)
    if rc >= 0:
        stats.hot += 1
        return
    if rc == ENG_ERR_STALE_UPDATE:
        stats.stale += 1
        return
    if rc == ENG_ERR_NOT_SYNCED:
        stats.not_synced += 1
        pending.append(rec)
        return
    if on_cold is not None:
        on_cold(rec, rc)
    if rc in (ENG_ERR_GAP, ENG_ERR_CHECKSUM, ENG_ERR_CROSSED):
        stats.count_error(rc)


# ---- live recording -------------------------------------------------------------------------

async def record(adapters: dict[Venue, Any], instruments: Sequence[Instrument], channels: Sequence[str],
                 path: str | Path, seconds: float, snapshot_limit: int = 1000) -> int:
    """Record the public streams of ``instruments`` for ``seconds`` into ``path``.

    Uses plain picows listeners (no decoding), one connection per venue/group, subscribe frames sent
    within the venue's rate limit and recorded as kind 2; for venues that resync by REST snapshot the
    depth snapshot of each instrument is fetched once after the first frame and recorded as kind 3.
    Returns the number of records written."""
    import aiohttp
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    from engine.exchanges.base import RateLimiter

    meta = {"venues": sorted({a.venue.key for a in adapters.values()}), "channels": list(channels),
            "instruments": [[i.venue.key, i.symbol] for i in instruments], "started_ns": time.time_ns()}
    w = Writer(path, meta)
    first_frame = asyncio.Event()

    class Rec(WSListener):  # type: ignore[misc]
        def __init__(self, venue: int, conn: int, pong: Any) -> None:
            self.venue, self.conn, self.pong = venue, conn, pong

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY):
                w.write(self.venue, KIND_TEXT if frame.msg_type == WSMsgType.TEXT else KIND_BINARY,
                        self.conn, time.time_ns(), frame.get_payload_as_bytes())
                first_frame.set()

    transports = []
    tasks = []
    conn_id = 0
    async with aiohttp.ClientSession() as http:
        for venue, ad in adapters.items():
            insts = [i for i in instruments if i.venue == venue]
            groups: dict[str, list[Any]] = {}
            for i in insts:
                groups.setdefault(ad.conn_group(i), []).extend(ad.streams(i, [c for c in channels if c in ad.channels]))
            for group, streams in groups.items():
                for part_start in range(0, len(streams), ad.max_args_per_request if ad.url_carries_streams()
                                        else ad.max_streams_per_conn):
                    part = streams[part_start:part_start + (ad.max_args_per_request if ad.url_carries_streams()
                                                            else ad.max_streams_per_conn)]
                    cid = conn_id
                    conn_id += 1
                    url = ad.ws_url(part if ad.url_carries_streams() else [], group)
                    tr, _ = await ws_connect(_factory(Rec, int(venue), cid), url)
                    transports.append(tr)
                    if not ad.url_carries_streams():
                        lim = RateLimiter(ad.send_windows + ad.sub_windows)
                        for m in ad.subscribe_msgs(part, cid * 1000):
                            await lim.acquire()
                            tr.send(WSMsgType.TEXT, m)
                            w.write(int(venue), KIND_SENT, cid, time.time_ns(), m)
                    if ad.heartbeat_s:
                        tasks.append(asyncio.create_task(_heartbeat(tr, ad, w, int(venue), cid)))
        await asyncio.wait_for(first_frame.wait(), timeout=max(seconds, 10.0))
        for i in instruments:
            ad = adapters[i.venue]
            if ad.resync == "snapshot" and "depth" in channels:
                async with http.get(ad.snapshot_url(i, snapshot_limit)) as r:
                    body = await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{i.symbol} snapshot HTTP {r.status}: {body[:200]!r}")
                w.write(int(i.venue), KIND_SNAPSHOT, 0, time.time_ns(), i.symbol.encode() + b"\n" + body)
        await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()
    for tr in transports:
        tr.disconnect()
    n = w.count
    w.close()
    return n


def _factory(cls: Any, venue: int, conn: int) -> Any:
    # picows passes (request, response) to factories that take arguments: take none
    return lambda: cls(venue, conn, None)


async def _heartbeat(tr: Any, ad: Any, w: Writer, venue: int, conn: int) -> None:
    from picows import WSMsgType
    n = 0
    while True:
        await asyncio.sleep(ad.heartbeat_s)
        m = ad.ping_msg(n)
        n += 1
        if m:
            tr.send(WSMsgType.TEXT, m)
            w.write(venue, KIND_SENT, conn, time.time_ns(), m)
