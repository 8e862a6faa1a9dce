# SPDX-License-Identifier: Apache-2.0
"""SQLite store: idempotent upserts, batch commits, reload, persisted session counter."""
from __future__ import annotations

import sqlite3

import pytest

from engine.errors import ConfigError
from engine.instruments import InstrumentTable, Venue
from engine.state import CANCELED, NEW, Fill, State
from engine.store import make_store, open_store
from engine.store.sqlite import SqliteStore


@pytest.fixture
def table():
    t = InstrumentTable()
    t.add(Venue.BINANCE_USDM, "BTCUSDT", "0.10", "0.001")
    return t


async def test_roundtrip_and_idempotent(tmp_path, table):
    url = f"sqlite:///{tmp_path}/s.db"
    store = await open_store(url)
    st = State(table, sink=store)
    btc = table.get(Venue.BINANCE_USDM, "BTCUSDT")
    o = st.new_order("hp1x1", 1, 2, btc.id, 1, 1, 1, 0, 500000, 1000)
    st.update_order(o.client_oid, NEW, venue_order_id="42")
    st.apply_fill(Fill(2, "T1", o.client_oid, btc.id, 1, 500000, 400, 0.2, True, 1000))
    # the same fill event twice at the store level (e.g. replay after reconnect) stays one row
    store.put("fill", {"venue": 2, "trade_id": "T1", "client_oid": "hp1x1", "inst": btc.id, "side": 1,
                       "px": 500000, "sz": 400, "fee": 0.2, "is_maker": True, "ts_ms": 1000})
    st.update_order(o.client_oid, CANCELED)
    store.put("event", {"type": "reconcile", "diff": 1})
    await store.flush()
    assert store.pending == 0 and store.written >= 6
    assert await store.count("fills") == 1
    assert await store.count("orders") == 1
    snap = await store.load()
    assert snap.orders[0]["status"] == CANCELED and snap.orders[0]["filled_sz"] == 400
    assert snap.orders[0]["venue_order_id"] == "42"
    assert snap.positions[0]["sz"] == 400
    await store.close()
    # WAL really on
    db = sqlite3.connect(f"{tmp_path}/s.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    # reload into a fresh State
    store2 = await open_store(url)
    snap = await store2.load()
    st2 = State(table, sink=store2)
    st2.restore(snap.orders, snap.fill_keys(), snap.positions)
    assert st2.positions[btc.id].sz == 400
    assert st2.positions[btc.id].realised_pnl == pytest.approx(-0.2)
    assert not st2.apply_fill(Fill(2, "T1", o.client_oid, btc.id, 1, 500000, 400, 0.2))
    await store2.close()


async def test_session_counter_persists(tmp_path):
    s = SqliteStore(tmp_path / "x.db")
    await s.open()
    assert await s.next_session() == 1
    assert await s.next_session() == 2
    await s.set_meta("k", "v")
    await s.close()
    s = SqliteStore(tmp_path / "x.db")
    await s.open()
    assert await s.next_session() == 3
    assert await s.get_meta("k") == "v"
    assert await s.get_meta("missing") is None
    await s.close()


async def test_many_events_batched(tmp_path):
    s = SqliteStore(tmp_path / "b.db", batch_max=256)
    await s.open()
    for i in range(5000):
        s.put("fill", {"venue": 2, "trade_id": str(i), "client_oid": "c", "inst": 0, "side": 1,
                       "px": 1, "sz": 1, "fee": 0.0, "is_maker": False, "ts_ms": i})
    assert s.pending > 0            # put() returned without awaiting any I/O
    await s.flush()
    assert await s.count("fills") == 5000
    assert s.batches < 5000         # batched commits
    await s.close()


async def test_bad_kind_rejected_at_put(tmp_path):
    s = SqliteStore(tmp_path / "e.db")
    await s.open()
    with pytest.raises(ValueError):
        s.put("bogus", {})
    await s.close()


def test_bad_url():
    with pytest.raises(ConfigError):
        make_store("postgres://x")
    with pytest.raises(ConfigError):
        make_store("sqlite:///")
