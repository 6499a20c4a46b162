"""A short in-process memo for the page's heavy aggregates (90-day bars, 7-day chart).

Each process keeps its own copy for a few seconds: the numbers are derived from PostgreSQL, so a
stale-by-seconds copy is harmless and nothing has to be shared between workers.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Any


class TtlCache:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.items: dict[str, tuple[float, Any]] = {}

    async def get(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        hit = self.items.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await make()
        self.items[key] = (now + self.seconds, value)
        return value
