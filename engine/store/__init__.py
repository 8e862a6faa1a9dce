# SPDX-License-Identifier: Apache-2.0
"""Persistence off the hot path: ``open_store(url)`` -> an opened Store.

URLs: ``sqlite:///relative/or/absolute/path.db`` (``sqlite:///:memory:`` for tests),
``redis://127.0.0.1:6379/0`` (optional ``?prefix=hp:bot1:`` namespace)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from engine.errors import ConfigError
from engine.store.base import Snapshot, Store

__all__ = ["open_store", "make_store", "Store", "Snapshot"]


def make_store(url: str) -> Store:
    """Build (not open) the store named by ``url``."""
    if url.startswith("sqlite:///"):
        from engine.store.sqlite import SqliteStore
        path = url[len("sqlite:///"):]
        if not path:
            raise ConfigError(f"store url {url!r} has no path")
        return SqliteStore(path)
    if url.startswith(("redis://", "unix://")):
        from engine.store.redis import RedisStore
        parts = urlsplit(url)
        prefix = parse_qs(parts.query).get("prefix", ["hp:"])[0]
        base = url.split("?", 1)[0]
        return RedisStore(base, prefix=prefix)
    raise ConfigError(f"unsupported store url {url!r}: use sqlite:///path or redis://host:port/db")


async def open_store(url: str) -> Store:
    store = make_store(url)
    await store.open()
    return store
