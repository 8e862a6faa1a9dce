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
from dataclasses import dataclass, field
from typing import Any

KINDS = ("order", "fill", "position", "funding", "event")


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
    """Async writer over a backend; subclasses implement ``_write_batch`` and the loaders."""

    url: str = ""

    def __init__(self, batch_max: int = 512, queue_max: int = 1_000_000) -> None:
        self._q: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(queue_max)
        self._task: asyncio.Task[None] | None = None
        self.batch_max = batch_max
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
        """Queue one event; never blocks. A full queue is an error we count and report."""
        if kind not in KINDS:
            raise ValueError(f"unknown store event kind {kind!r}")
        try:
            self._q.put_nowait((kind, data))
        except asyncio.QueueFull:
            self.dropped += 1
            self.last_error = "store queue full"

    __call__ = put      # usable directly as State(sink=store)

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        if self._task is None or self._task.done():
            if self._task is not None and self._task.exception() is not None:
                raise RuntimeError(f"store writer died: {self._task.exception()!r}")
            return
        await self._q.join()

    @property
    def pending(self) -> int:
        return self._q.qsize()

    async def _writer(self) -> None:
        q = self._q
        while True:
            item = await q.get()
            batch = [item]
            while len(batch) < self.batch_max and not q.empty():
                batch.append(q.get_nowait())
            delay = 0.01
            while True:                  # keep order: retry this batch until it is committed
                try:
                    await self._write_batch(batch)
                    break
                except Exception as e:
                    self.last_error = f"{type(e).__name__}: {e}"
                    self.errors += 1
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
            self.written += len(batch)
            self.batches += 1
            for _ in batch:
                q.task_done()

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
