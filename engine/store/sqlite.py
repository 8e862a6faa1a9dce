# SPDX-License-Identifier: Apache-2.0
"""SQLite store (embedded default): WAL, synchronous=NORMAL, one transaction per batch.

All SQL runs on one dedicated thread that owns the connection, so the event loop never waits on
disk. Upserts are idempotent: orders keyed by client order id, fills by (venue, trade id) with
INSERT OR IGNORE, positions by (venue, inst)."""
from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from engine.store.base import Snapshot, Store, now_ms

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    client_oid TEXT PRIMARY KEY, client_id INTEGER NOT NULL, venue INTEGER NOT NULL,
    inst INTEGER NOT NULL, side INTEGER NOT NULL, ord_type INTEGER NOT NULL, tif INTEGER NOT NULL,
    flags INTEGER NOT NULL, px INTEGER NOT NULL, sz INTEGER NOT NULL, status TEXT NOT NULL,
    filled_sz INTEGER NOT NULL, venue_order_id TEXT NOT NULL, reason TEXT NOT NULL,
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, fill_sum INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS orders_status ON orders(status);
CREATE TABLE IF NOT EXISTS fills (
    venue INTEGER NOT NULL, trade_id TEXT NOT NULL, client_oid TEXT NOT NULL, inst INTEGER NOT NULL,
    side INTEGER NOT NULL, px INTEGER NOT NULL, sz INTEGER NOT NULL, fee REAL NOT NULL,
    is_maker INTEGER NOT NULL, ts_ms INTEGER NOT NULL, PRIMARY KEY (venue, trade_id));
CREATE TABLE IF NOT EXISTS positions (
    venue INTEGER NOT NULL, inst INTEGER NOT NULL, sz INTEGER NOT NULL, avg_px REAL NOT NULL,
    realised_pnl REAL NOT NULL, fees REAL NOT NULL, funding REAL NOT NULL,
    last_trade_ms INTEGER NOT NULL, PRIMARY KEY (venue, inst));
CREATE TABLE IF NOT EXISTS funding (
    venue INTEGER NOT NULL, inst INTEGER NOT NULL, ts_ms INTEGER NOT NULL, amount REAL NOT NULL,
    PRIMARY KEY (venue, inst, ts_ms));
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, type TEXT NOT NULL,
    payload BLOB NOT NULL);
"""

_ORDER_COLS = ("client_oid", "client_id", "venue", "inst", "side", "ord_type", "tif", "flags", "px",
               "sz", "status", "filled_sz", "venue_order_id", "reason", "created_ms", "updated_ms",
               "fill_sum")
_FILL_COLS = ("venue", "trade_id", "client_oid", "inst", "side", "px", "sz", "fee", "is_maker", "ts_ms")
_POS_COLS = ("venue", "inst", "sz", "avg_px", "realised_pnl", "fees", "funding", "last_trade_ms")

_SQL_ORDER = (f"INSERT INTO orders ({','.join(_ORDER_COLS)}) VALUES ({','.join('?' * len(_ORDER_COLS))}) "
              "ON CONFLICT(client_oid) DO UPDATE SET "
              + ",".join(f"{c}=excluded.{c}" for c in _ORDER_COLS[1:]))
_SQL_FILL = f"INSERT OR IGNORE INTO fills ({','.join(_FILL_COLS)}) VALUES ({','.join('?' * len(_FILL_COLS))})"
_SQL_POS = (f"INSERT INTO positions ({','.join(_POS_COLS)}) VALUES ({','.join('?' * len(_POS_COLS))}) "
            "ON CONFLICT(venue, inst) DO UPDATE SET "
            + ",".join(f"{c}=excluded.{c}" for c in _POS_COLS[2:]))
_SQL_FUND = "INSERT OR IGNORE INTO funding (venue, inst, ts_ms, amount) VALUES (?,?,?,?)"
_SQL_EVENT = "INSERT INTO events (ts_ms, type, payload) VALUES (?,?,?)"


class SqliteStore(Store):
    def __init__(self, path: str | Path, **kw: Any) -> None:
        super().__init__(**kw)
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._db: sqlite3.Connection | None = None
        self._ex = ThreadPoolExecutor(1, thread_name_prefix="sqlite-store")

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._ex, fn, *args)

    def _open_sync(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(SCHEMA)
        self._db = db

    async def _open(self) -> None:
        await self._run(self._open_sync)

    async def _close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._ex.shutdown(wait=True)

    def _write_sync(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        db = self._db
        assert db is not None
        orders, fills, pos, fund, ev = [], [], [], [], []
        for kind, d in batch:
            if kind == "order":
                orders.append(tuple(d[c] for c in _ORDER_COLS))
            elif kind == "fill":
                fills.append(tuple(d[c] for c in _FILL_COLS))
            elif kind == "position":
                pos.append(tuple(d[c] for c in _POS_COLS))
            elif kind == "funding":
                fund.append((d["venue"], d["inst"], d["ts_ms"], d["amount"]))
            elif kind == "event":
                ev.append((d.get("ts_ms", now_ms()), str(d.get("type", "")), orjson.dumps(d)))
            else:
                raise ValueError(f"unknown store event kind {kind!r}")
        db.execute("BEGIN")
        try:
            # positions after fills within the same transaction: both or neither survive a crash
            if orders:
                db.executemany(_SQL_ORDER, orders)
            if fills:
                db.executemany(_SQL_FILL, fills)
            if pos:
                db.executemany(_SQL_POS, pos)
            if fund:
                db.executemany(_SQL_FUND, fund)
            if ev:
                db.executemany(_SQL_EVENT, ev)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def _write_batch(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        await self._run(self._write_sync, batch)

    def _load_sync(self) -> Snapshot:
        db = self._db
        assert db is not None
        snap = Snapshot()
        cur = db.execute(f"SELECT {','.join(_ORDER_COLS)} FROM orders")
        snap.orders = [dict(zip(_ORDER_COLS, r, strict=True)) for r in cur]
        cur = db.execute(f"SELECT {','.join(_FILL_COLS)} FROM fills ORDER BY ts_ms")
        snap.fills = [dict(zip(_FILL_COLS, r, strict=True)) for r in cur]
        for f in snap.fills:
            f["is_maker"] = bool(f["is_maker"])
        cur = db.execute(f"SELECT {','.join(_POS_COLS)} FROM positions")
        snap.positions = [dict(zip(_POS_COLS, r, strict=True)) for r in cur]
        snap.meta = dict(db.execute("SELECT key, value FROM meta"))
        return snap

    async def load(self) -> Snapshot:
        await self.flush()
        return await self._run(self._load_sync)

    def _next_session_sync(self) -> int:
        db = self._db
        assert db is not None
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT value FROM meta WHERE key='session'").fetchone()
            n = int(row[0]) + 1 if row else 1
            db.execute("INSERT INTO meta(key, value) VALUES('session', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(n),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return n

    async def next_session(self) -> int:
        return await self._run(self._next_session_sync)

    async def get_meta(self, key: str) -> str | None:
        def q() -> str | None:
            assert self._db is not None
            r = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
            return r[0] if r else None
        return await self._run(q)

    async def set_meta(self, key: str, value: str) -> None:
        def q() -> None:
            assert self._db is not None
            self._db.execute("INSERT INTO meta(key, value) VALUES(?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))
        await self._run(q)

    async def count(self, table: str) -> int:
        if table not in ("orders", "fills", "positions", "funding", "events"):
            raise ValueError(f"unknown table {table!r}")
        def q() -> int:
            assert self._db is not None
            return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        return await self._run(q)
