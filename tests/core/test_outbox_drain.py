"""10,000 queued messages drained by two workers at once: each reaches the provider exactly once.

The workers have their own engines (separate connections), claim with SKIP LOCKED and deliver over HTTP
to the stand-in provider, which counts every request per idempotency key. The rows use a channel of
their own, so the app's in-process worker (which serves sms/email) never touches them.
"""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.db import make_engine
from esoz.core.outbox import Dispatcher, Policy
from esoz.notifications.jobs import SmsChannel
from esoz.notifications.providers.http import HttpSmsProvider
from esoz.notifications.sim import SmsSim

N = 10_000
BODY = '{"to": "$phone", "text": "$text", "message_id": "$idempotency_key"}'


@pytest.fixture
async def engines(db_url: str) -> AsyncIterator[list[AsyncEngine]]:
    pair = [make_engine(db_url, 2), make_engine(db_url, 2)]
    yield pair
    for engine in pair:
        await engine.dispose()


async def test_two_workers_drain_10k_each_message_once(engines: list[AsyncEngine]) -> None:
    channel = f"drain-{uuid.uuid4().hex[:8]}"
    async with engines[0].begin() as conn:  # one statement, as a bulk producer would
        await conn.execute(
            text(
                """
                INSERT INTO outbox (id, channel, kind, recipient, payload, idempotency_key)
                SELECT gen_random_uuid(), :channel, 'drain', '+38067' || lpad(i::text, 7, '0'),
                       jsonb_build_object('text', 'Повідомлення ' || i), :channel || ':' || i
                  FROM generate_series(1, :n) AS i
                """
            ),
            {"channel": channel, "n": N},
        )

    with SmsSim() as sim:
        claimed: Counter[str] = Counter()

        async def worker(name: str, engine: AsyncEngine) -> None:
            provider = HttpSmsProvider(url=sim.url, body_template=BODY, timeout_seconds=10)
            dispatcher = Dispatcher(engine, {channel: SmsChannel(provider)}, Policy(batch_size=250, concurrency=16))
            try:
                idle = 0
                while idle < 3:  # a few empty claims in a row: the other worker has the rest
                    got = await dispatcher.run_once()
                    claimed[name] += got
                    idle = 0 if got else idle + 1
                    if not got:
                        await asyncio.sleep(0.05)
            finally:
                await provider.aclose()

        await asyncio.gather(worker("a", engines[0]), worker("b", engines[1]))
        requests = Counter(sim.state.requests)

    assert len(requests) == N and set(requests.values()) == {1}  # every key exactly once, no duplicates
    assert len(sim.state.sent) == N
    assert claimed["a"] > 0 and claimed["b"] > 0 and claimed["a"] + claimed["b"] == N
    async with engines[0].connect() as conn:
        statuses = dict(
            (
                await conn.execute(
                    text("SELECT status, count(*) FROM outbox WHERE channel = :c GROUP BY status"), {"c": channel}
                )
            ).all()
        )
        await conn.execute(text("DELETE FROM outbox WHERE channel = :c"), {"c": channel})
        await conn.commit()
    assert statuses == {"delivered": N}
