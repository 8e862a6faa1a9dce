# SPDX-License-Identifier: Apache-2.0
"""Redis store: the shared backend when several processes or machines trade together.

Layout (all keys under ``prefix``):
  ``orders``      stream of order events      ``order``   hash client_oid -> latest order (JSON)
  ``fills``       stream of fills             ``fillids`` set of "venue:trade_id" (dedupe)
  ``positions``   hash "venue:inst" -> JSON   ``funding`` stream, ``events`` stream
  ``meta``        hash, ``session`` counter
A fill is appended only when its id was new (one Lua script: SADD + XADD), so replays are
idempotent. Every batch is one MULTI/EXEC pipeline.

``RiskBudget`` leases a slice of a global exposure limit with an atomic Lua script in the
background and spends it locally in O(1); leases expire on the server (TTL) so a dead process
gives its slice back, and locally a little earlier so we never spend a lease the server dropped.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from engine.store.base import Snapshot, Store

_ADD_FILL = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'd', ARGV[2])
  return 1
end
return 0
"""


class RedisStore(Store):
    def __init__(self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "hp:", **kw: Any) -> None:
        super().__init__(**kw)
        self.url = url
        self.prefix = prefix
        self.r: aioredis.Redis | None = None
        self._add_fill_sha = ""

    def k(self, name: str) -> str:
        return self.prefix + name

    async def _open(self) -> None:
        self.r = aioredis.Redis.from_url(self.url)
        await self.r.ping()
        self._add_fill_sha = await self.r.script_load(_ADD_FILL)

    async def _close(self) -> None:
        if self.r is not None:
            await self.r.aclose()
            self.r = None

    async def _write_batch(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        assert self.r is not None
        p = self.r.pipeline(transaction=True)
        for kind, d in batch:
            blob = orjson.dumps(d)
            if kind == "order":
                p.hset(self.k("order"), d["client_oid"], blob)
                p.xadd(self.k("orders"), {"d": blob})
            elif kind == "fill":
                p.evalsha(self._add_fill_sha, 2, self.k("fillids"), self.k("fills"),
                          f"{d['venue']}:{d['trade_id']}", blob)
            elif kind == "position":
                p.hset(self.k("positions"), f"{d['venue']}:{d['inst']}", blob)
            elif kind == "funding":
                p.xadd(self.k("funding"), {"d": blob})
            else:
                p.xadd(self.k("events"), {"d": blob})
        await p.execute()

    async def load(self) -> Snapshot:
        await self.flush()
        assert self.r is not None
        snap = Snapshot()
        snap.orders = [orjson.loads(v) for v in (await self.r.hgetall(self.k("order"))).values()]
        snap.fills = [orjson.loads(f[b"d"]) for _, f in await self.r.xrange(self.k("fills"))]
        snap.positions = [orjson.loads(v) for v in (await self.r.hgetall(self.k("positions"))).values()]
        snap.meta = {k.decode(): v.decode() for k, v in (await self.r.hgetall(self.k("meta"))).items()}
        return snap

    async def next_session(self) -> int:
        assert self.r is not None
        return int(await self.r.incr(self.k("session")))

    async def get_meta(self, key: str) -> str | None:
        assert self.r is not None
        v = await self.r.hget(self.k("meta"), key)
        return v.decode() if v is not None else None

    async def set_meta(self, key: str, value: str) -> None:
        assert self.r is not None
        await self.r.hset(self.k("meta"), key, value)

    async def count(self, what: str) -> int:
        assert self.r is not None
        if what == "fills":
            return int(await self.r.xlen(self.k("fills")))
        if what == "orders":
            return int(await self.r.hlen(self.k("order")))
        if what == "positions":
            return int(await self.r.hlen(self.k("positions")))
        raise ValueError(f"unknown collection {what!r}")


# ---- global risk budget ---------------------------------------------------------------------
_LEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, h in ipairs(dead) do
  redis.call('HDEL', KEYS[1], h)
  redis.call('ZREM', KEYS[2], h)
end
local others = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] then others = others + tonumber(all[i + 1]) end
end
local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]) - others)
if grant <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {0, others}
end
redis.call('HSET', KEYS[1], ARGV[1], grant)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
return {grant, others}
"""


class RiskBudget:
    """One process's lease of a global exposure limit (integer units, e.g. quote cents).

    ``try_spend(n)`` / ``release(n)`` are O(1) and never await. A background task keeps the lease
    at ``used + slice`` (capped by what others leave free); while a renewal is in flight local
    spending is capped by the smaller of the old and the requested lease, so the sum of what all
    processes may spend never exceeds ``limit``. An idle holder keeps only one slice of headroom;
    a refused request larger than a slice is asked for at the next renewal."""

    def __init__(self, url: str, name: str, holder: str, limit: int, slice_: int,
                 ttl_ms: int = 3000, renew_s: float | None = None, prefix: str = "hp:") -> None:
        if limit <= 0 or slice_ <= 0 or ttl_ms < 100:
            raise ValueError("limit and slice must be > 0 and ttl_ms >= 100")
        self.url = url
        self.k_leases = f"{prefix}budget:{name}:leases"
        self.k_expiry = f"{prefix}budget:{name}:expiry"
        self.holder = holder
        self.limit = int(limit)
        self.slice = int(slice_)
        self.ttl_ms = int(ttl_ms)
        self.renew_s = renew_s if renew_s is not None else ttl_ms / 3000.0
        self.granted = 0
        self.used = 0
        self._demand = 0               # size of the last refused request (ask for it next time)
        self._expires = 0.0            # local monotonic deadline of the lease
        self.r: aioredis.Redis | None = None
        self._sha = ""
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.renewals = 0
        self.denied = 0
        self.last_error = ""

    # ---- O(1) local side ----------------------------------------------------------------
    def try_spend(self, n: int) -> bool:
        if n <= 0:
            return True
        if time.monotonic() >= self._expires or self.used + n > self.granted:
            self.denied += 1
            if self.used + n > self.granted:
                self._demand = max(self._demand, n)
                self._wake.set()       # ask for more in the background
            return False
        self.used += n
        self._demand = 0
        return True

    def release(self, n: int) -> None:
        self.used = max(0, self.used - n)

    @property
    def available(self) -> int:
        if time.monotonic() >= self._expires:
            return 0
        return max(0, self.granted - self.used)

    # ---- background ---------------------------------------------------------------------
    async def start(self) -> None:
        self.r = aioredis.Redis.from_url(self.url)
        self._sha = await self.r.script_load(_LEASE)
        await self.renew()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"budget:{self.holder}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.r is not None:
            try:       # give our slice back
                await self.r.hdel(self.k_leases, self.holder)
                await self.r.zrem(self.k_expiry, self.holder)
            finally:
                await self.r.aclose()
        self.granted = 0

    async def renew(self) -> int:
        assert self.r is not None
        # keep one slice of headroom, or room for the last request we had to refuse
        want = min(self.limit, self.used + max(self.slice, self._demand))
        # cap local spending at what we ask for until the answer arrives
        self.granted = min(self.granted, max(want, self.used))
        t0 = time.monotonic()
        grant, _others = await self.r.evalsha(self._sha, 2, self.k_leases, self.k_expiry,
                                              self.holder, want, self.limit, self.ttl_ms)
        self.granted = int(grant)
        # the server's deadline is at least t0 + ttl; stop spending 10% earlier
        self._expires = t0 + self.ttl_ms / 1000.0 * 0.9 if grant > 0 else 0.0
        self.renewals += 1
        return self.granted

    async def _loop(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        while True:
            if task.cancelling():        # redis-py may swallow a cancel that hit a pending command
                raise asyncio.CancelledError
            try:   # asyncio.timeout: a cancel is never swallowed (wait_for can lose it on 3.11)
                async with asyncio.timeout(self.renew_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.renew()
            except Exception as e:       # redis unreachable: the lease runs out locally
                if task.cancelling():
                    raise asyncio.CancelledError from e   # redis-py turned our cancel into an error
                self.last_error = f"{type(e).__name__}: {e}"
                await asyncio.sleep(min(self.renew_s, 0.5))
