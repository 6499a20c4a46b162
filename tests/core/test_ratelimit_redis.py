"""Rate-limit counters in Redis (ESOZ_REDIS_URL), as production runs them: the Redis on 127.0.0.1:6379."""

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from esoz.core.ratelimit import RateLimited, RateLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_up() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # no skip: the Redis of the test machine is part of the suite's real parts
    yield client
    client.close()


async def test_every_key_counts_once_per_hit_and_expires_with_its_window(redis_up: redis.Redis) -> None:
    limiter = RateLimiter(engine=None, redis_url=REDIS_URL)  # type: ignore[arg-type]
    client, ip = f"api:client:{uuid.uuid4()}", f"api:ip:{uuid.uuid4()}"
    try:
        hits, remaining = await limiter.count([client, ip], 60)
        assert hits == {client: 1, ip: 1} and 1 <= remaining <= 60
        hits, _ = await limiter.count([client], 60)
        assert hits == {client: 2}
        start = int(time.time()) // 60 * 60
        ttl = redis_up.ttl(f"esoz:rl:{client}:{start}")
        assert 0 < ttl <= 61  # the window's key goes away with the window
        # a second limiter (another worker) shares the count
        other = RateLimiter(engine=None, redis_url=REDIS_URL)  # type: ignore[arg-type]
        try:
            assert (await other.count([client], 60))[0] == {client: 3}
        finally:
            await other.close()
    finally:
        await limiter.close()


async def test_past_the_limit_is_429_with_retry_after(redis_up: redis.Redis) -> None:
    limiter = RateLimiter(engine=None, redis_url=REDIS_URL)  # type: ignore[arg-type]
    key, other = f"api:client:{uuid.uuid4()}", f"api:ip:{uuid.uuid4()}"
    try:
        for _ in range(3):
            await limiter.hit_all({key: 3, other: 100}, 3600)
        with pytest.raises(RateLimited) as refused:
            await limiter.hit_all({key: 3, other: 100}, 3600)
        assert refused.value.status == 429
        assert 1 <= int(refused.value.headers["Retry-After"]) <= 3600
        # a limit of 0 is off: not even counted
        await limiter.hit_all({f"api:client:{uuid.uuid4()}": 0}, 60)
    finally:
        await limiter.close()
