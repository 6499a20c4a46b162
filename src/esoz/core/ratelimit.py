"""Rate limits shared by every worker: fixed-window counters in PostgreSQL, or in Redis when configured.

`hit(key, limit, window)` counts one request and raises 429 once the window's count passes the limit.
The PostgreSQL counter is one upsert in autocommit (no transaction held); old windows are pruned by
the worker job `ratelimit.prune`.
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
    "INSERT INTO rate_limit_counters (key, window_start, count) VALUES (:key, :window, 1)"
    " ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_counters.count + 1 RETURNING count"
)


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

    async def count(self, key: str, window: int) -> tuple[int, int]:
        """Count one hit; returns (hits in this window, seconds until the window ends)."""
        now = int(time.time())
        start = now - now % window
        remaining = start + window - now
        if self.redis is not None:
            name = f"esoz:rl:{key}:{start}"
            pipe = self.redis.pipeline()
            pipe.incr(name)
            pipe.expire(name, window + 1)
            hits, _ = await pipe.execute()
            return int(hits), remaining
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            hits = (await conn.execute(_UPSERT, {"key": key, "window": start})).scalar_one()
        return int(hits), remaining

    async def hit(self, key: str, limit: int, window: int) -> None:
        if limit <= 0:
            return
        hits, remaining = await self.count(key, window)
        if hits > limit:
            raise RateLimited(remaining)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


async def prune(conn: AsyncConnection) -> int:
    """Drop windows that ended over an hour ago (run by the worker)."""
    result = await conn.execute(
        text("DELETE FROM rate_limit_counters WHERE window_start < :cutoff"), {"cutoff": int(time.time()) - 3600}
    )
    return result.rowcount or 0
