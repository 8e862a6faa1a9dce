# SPDX-License-Identifier: Apache-2.0
"""A bot-like process spending a shared global exposure budget (tests/test_redis.py).

Each spend is mirrored into a shared counter ``hp:test:actual``; a Lua script records the
maximum the counter ever reached, so the parent can check that together the processes never held
more than the global limit."""
from __future__ import annotations

import asyncio
import random
import sys

import redis.asyncio as aioredis

from engine.store.redis import RiskBudget

_TRACK = """
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local m = tonumber(redis.call('GET', KEYS[2]) or '0')
if v > m then redis.call('SET', KEYS[2], v) end
return v
"""


async def main(url: str, holder: str, limit: int, seconds: float) -> None:
    b = RiskBudget(url, "test", holder, limit=limit, slice_=limit // 4, ttl_ms=600, renew_s=0.05)
    await b.start()
    r = aioredis.Redis.from_url(url)
    sha = await r.script_load(_TRACK)
    held: list[int] = []
    spent = 0
    rnd = random.Random(holder)
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        if held and (rnd.random() < 0.4 or len(held) > 20):
            n = held.pop(rnd.randrange(len(held)))
            await r.evalsha(sha, 2, "hp:test:actual", "hp:test:max", -n)
            b.release(n)
        else:
            n = rnd.randint(1, limit // 10)
            if b.try_spend(n):
                await r.evalsha(sha, 2, "hp:test:actual", "hp:test:max", n)
                held.append(n)
                spent += n
        await asyncio.sleep(rnd.random() * 0.004)
    for n in held:
        await r.evalsha(sha, 2, "hp:test:actual", "hp:test:max", -n)
        b.release(n)
    await b.stop()
    await r.aclose()
    print(f"{holder} spent={spent} renewals={b.renewals} denied={b.denied}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
