# SPDX-License-Identifier: Apache-2.0
"""Store protocol shared by the SQLite and Redis backends.

``put(kind, data)`` is what ``State`` calls on every event: an O(1) ``put_nowait`` onto an asyncio
queue, never awaited on the hot path. A writer task drains the queue in batches and commits them
(one transaction per batch), so a fill and the position it produced are persisted together.
Kinds: ``order`` (upsert by client order id), ``fill`` (insert once by venue + trade id),
``position`` (upsert by venue + instrument), ``funding``, ``event`` (append-only log).
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

KINDS = ("order", "fill", "position", "funding", "event")
_KINDS = frozenset(KINDS)


@dataclass
class Snapshot:
    """Everything a restarted process reloads before it reconciles with the venue."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    def fill_keys(self) -> list[tuple[int, str]]:
        return [(int(f["venue"]), str(f["trade_id"])) for f in self.fills]


class Store:
    """Async writer over a backend; subclasses implement ``_write_batch`` and the loaders.

    The hot side is a ``deque.append`` plus one ``Event.set`` per batch (not per event); the writer
    task swaps out up to ``batch_max`` events at a time and commits them in order, retrying a
    failed batch (never reordering or dropping it) until the backend takes it."""

    url: str = ""

    def __init__(self, batch_max: int = 512, queue_max: int = 1_000_000) -> None:
        self._buf: deque[tuple[str, dict[str, Any]]] = deque()
        self._wake = asyncio.Event()
        self._armed = False
        self._writing = 0
        self._task: asyncio.Task[None] | None = None
        self.batch_max = batch_max
        self.queue_max = queue_max
        self.written = 0
        self.batches = 0
        self.dropped = 0
        self.errors = 0
        self.last_error = ""

    # ---- lifecycle --------------------------------------------------------------------
    async def open(self) -> None:
        await self._open()
        self._task = asyncio.get_running_loop().create_task(self._writer(), name=f"store:{self.url}")

    async def close(self) -> None:
        if self._task is not None:
            await self.flush()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self._close()

    async def __aenter__(self) -> "Store":
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- hot side -------------------------------------------------------------------------
    def put(self, kind: str, data: dict[str, Any]) -> None:
        """Queue one event; never blocks or awaits. A full queue is counted and reported."""
        if kind not in _KINDS:
            raise ValueError(f"unknown store event kind {kind!r}")
        if len(self._buf) >= self.queue_max:
            self.dropped += 1
            self.last_error = "store queue full"
            return
        self._buf.append((kind, data))
        if not self._armed:
            self._armed = True
            self._wake.set()

    __call__ = put      # usable directly as State(sink=store)

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        while self._buf or self._writing:
            if self._task is None or self._task.done():
                if self._task is not None and not self._task.cancelled() and self._task.exception():
                    raise RuntimeError(f"store writer died: {self._task.exception()!r}")
                return
            await asyncio.sleep(0.001)

    @property
    def pending(self) -> int:
        return len(self._buf) + self._writing

    async def _writer(self) -> None:
        buf = self._buf
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._armed = False
            while buf:
                n = min(len(buf), self.batch_max)
                batch = [buf.popleft() for _ in range(n)]
                self._writing = n
                delay = 0.01
                while True:              # keep order: retry this batch until it is committed
                    try:
                        await self._write_batch(batch)
                        break
                    except Exception as e:
                        self.last_error = f"{type(e).__name__}: {e}"
                        self.errors += 1
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 1.0)
                self._writing = 0
                self.written += n
                self.batches += 1

    # ---- backend ------------------------------------------------------------------------
    async def _open(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    async def _write_batch(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        raise NotImplementedError

    async def load(self) -> Snapshot:
        raise NotImplementedError

    async def next_session(self) -> int:
        """Atomically increment and return the persisted session counter (client-id prefix)."""
        raise NotImplementedError

    async def get_meta(self, key: str) -> str | None:
        raise NotImplementedError

    async def set_meta(self, key: str, value: str) -> None:
        raise NotImplementedError


def now_ms() -> int:
    return time.time_ns() // 1_000_000
