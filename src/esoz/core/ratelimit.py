"""Rate limits shared by every worker: fixed-window counters in PostgreSQL, or in Redis when configured.

`hit(key, limit, window)` counts one request and raises 429 once the window's count passes the limit;
`hit_all` counts several keys (e.g. per client and per IP) in one round trip. The PostgreSQL counters are
one multi-row upsert in autocommit (no transaction held); old windows are pruned by the worker job
`ratelimit.prune`.
"""

import time
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core.db import metadata
from esoz.core.errors import ApiError

rate_limit_counters = Table(
    "rate_limit_counters",
    metadata,
    Column("key", Text, primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
)

_UPSERT = text(
    "INSERT INTO rate_limit_counters (key, window_start, count)"
    " SELECT k, :window, 1 FROM unnest(CAST(:keys AS text[])) AS k"
    " ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_counters.count + 1 RETURNING key, count"
)


# Every key of a request in one command: INCR, and the window's expiry on its first hit. One round trip and one
# reply to parse instead of a MULTI/EXEC pipeline of INCR + EXPIRE per key (this runs on every gated request).
_REDIS_HIT = """
local hits = {}
for i, key in ipairs(KEYS) do
  hits[i] = redis.call('INCR', key)
  if hits[i] == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return hits
"""


class RateLimited(ApiError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "too_many_requests",
            "Too many requests. Try later.",
            headers={"Retry-After": str(max(retry_after, 1))},
        )


class RateLimiter:
    def __init__(self, engine: AsyncEngine, redis_url: str | None = None) -> None:
        self.engine = engine
        self.redis: Any = None
        if redis_url:
            import redis.asyncio as redis  # optional dependency, only when ESOZ_REDIS_URL is set

            self.redis = redis.from_url(redis_url)
            self._redis_hit = self.redis.register_script(_REDIS_HIT)

    async def count(self, keys: list[str], window: int) -> tuple[dict[str, int], int]:
        """Count one hit on each key; returns (hits per key in this window, seconds until the window ends)."""
        now = int(time.time())
        start = now - now % window
        remaining = start + window - now
        if self.redis is not None:
            names = [f"esoz:rl:{key}:{start}" for key in keys]
            replies = await self._redis_hit(keys=names, args=[window + 1])
            return {key: int(hits) for key, hits in zip(keys, replies, strict=True)}, remaining
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = (await conn.execute(_UPSERT, {"keys": keys, "window": start})).all()
        # unpacked, not row.count: the name is also Sequence.count on a Row
        return {key: int(count) for key, count in rows}, remaining

    async def hit_all(self, limits: dict[str, int], window: int) -> None:
        """Count a hit on every key whose limit is on (> 0); 429 if any passed its limit."""
        active = {key: limit for key, limit in limits.items() if limit > 0}
        if not active:
            return
        hits, remaining = await self.count(list(active), window)
        if any(hits[key] > limit for key, limit in active.items()):
            raise RateLimited(remaining)

    async def hit(self, key: str, limit: int, window: int) -> None:
        await self.hit_all({key: limit}, window)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


async def prune(conn: AsyncConnection) -> int:
    """Drop windows that ended over an hour ago (run by the worker)."""
    result = await conn.execute(
        text("DELETE FROM rate_limit_counters WHERE window_start < :cutoff"), {"cutoff": int(time.time()) - 3600}
    )
    return result.rowcount or 0
