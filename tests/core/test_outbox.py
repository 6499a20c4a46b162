"""Outbox mechanics: claims never overlap, leases expire, stale workers cannot mark, backoff is jittered.

Each test uses a channel name of its own, so other tests' rows and the app's worker stay out of the way.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from esoz.core import outbox as ob
from esoz.core.db import make_engine
from esoz.core.outbox import Dispatcher, Message, PermanentError, Policy, TransientError, backoff_seconds


class Recorder:
    provider = "recorder"

    def __init__(self, fail: type[Exception] | None = None) -> None:
        self.seen: list[str] = []
        self.fail = fail

    async def deliver(self, message: Message) -> str | None:
        self.seen.append(message.idempotency_key)
        if self.fail is not None:
            raise self.fail("receiver says no")
        return f"r-{message.seq}"

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def engines(db_url: str) -> AsyncIterator[list[AsyncEngine]]:
    pair = [make_engine(db_url, 2), make_engine(db_url, 2)]
    yield pair
    for engine in pair:
        await engine.dispose()


@pytest.fixture
def channel() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


async def _queue(engine: AsyncEngine, channel: str, n: int) -> list[uuid.UUID]:
    async with engine.begin() as conn:
        return [
            await ob.enqueue(conn, channel=channel, kind="t", recipient=f"r{i}", payload={"i": i}) for i in range(n)
        ]


async def _rows(engine: AsyncEngine, channel: str) -> list[Any]:
    async with engine.connect() as conn:
        return (await conn.execute(select(ob.outbox).where(ob.outbox.c.channel == channel).order_by("seq"))).all()


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    policy = Policy(backoff_base_seconds=2, backoff_cap_seconds=60)
    assert [backoff_seconds(n, policy, rnd=lambda: 1.0) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert [backoff_seconds(n, policy, rnd=lambda: 0.0) for n in (1, 2, 3)] == [1, 2, 4]
    assert backoff_seconds(30, policy, rnd=lambda: 1.0) == 60
    assert len({backoff_seconds(5, policy) for _ in range(20)}) > 1


async def test_enqueue_dedups_on_idempotency_key(engines: list[AsyncEngine], channel: str) -> None:
    async with engines[0].begin() as conn:
        first = await ob.enqueue(conn, channel=channel, kind="t", recipient="r", payload={}, idempotency_key="k1")
        again = await ob.enqueue(conn, channel=channel, kind="t", recipient="r", payload={}, idempotency_key="k1")
    assert first == again and type(first) is uuid.UUID
    assert len(await _rows(engines[0], channel)) == 1


async def test_concurrent_claims_never_share_a_row(engines: list[AsyncEngine], channel: str) -> None:
    await _queue(engines[0], channel, 60)
    policy = Policy(batch_size=20)
    a, b = (Dispatcher(e, {channel: Recorder()}, policy) for e in engines)
    batches = await asyncio.gather(*(d.claim([channel], uuid.uuid4()) for d in (a, b, a, b)))
    ids = [m.id for batch in batches for m in batch]
    assert len(ids) == 60 and len(set(ids)) == 60


async def test_an_open_claim_is_skipped_not_waited_for(engines: list[AsyncEngine], channel: str) -> None:
    await _queue(engines[0], channel, 5)
    async with engines[0].begin() as conn:  # a worker in the middle of its claim transaction
        locked = await conn.execute(
            select(ob.outbox.c.id).where(ob.outbox.c.channel == channel).limit(2).with_for_update()
        )
        assert len(locked.all()) == 2
        other = Dispatcher(engines[1], {channel: Recorder()})
        claimed = await asyncio.wait_for(other.claim([channel], uuid.uuid4()), 10)
        assert len(claimed) == 3


async def test_expired_lease_is_claimed_again_and_the_stale_worker_cannot_mark(
    engines: list[AsyncEngine], channel: str
) -> None:
    [row_id] = await _queue(engines[0], channel, 1)
    crashed = Dispatcher(engines[0], {channel: Recorder()}, Policy(lease_seconds=0.3))
    stale_token = uuid.uuid4()
    [message] = await crashed.claim([channel], stale_token)  # ...and then the worker dies
    survivor_recorder = Recorder()
    survivor = Dispatcher(engines[1], {channel: survivor_recorder})
    deadline = asyncio.get_running_loop().time() + 30
    while not await survivor.run_once():
        assert asyncio.get_running_loop().time() < deadline, "the lease never expired"
        await asyncio.sleep(0.05)
    [row] = await _rows(engines[0], channel)
    assert row.status == "delivered" and row.attempts == 2 and row.provider_message_id == f"r-{row.seq}"
    assert survivor_recorder.seen == [message.idempotency_key]

    late = ob._Outcome(dead=[(row_id, "recorder", "late verdict")])  # the stale worker wakes up
    await crashed._settle(late, stale_token)
    assert (await _rows(engines[0], channel))[0].status == "delivered"


async def test_permanent_error_dead_letters_at_once(engines: list[AsyncEngine], channel: str) -> None:
    await _queue(engines[0], channel, 1)
    await Dispatcher(engines[0], {channel: Recorder(PermanentError)}).run_once()
    [row] = await _rows(engines[0], channel)
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "receiver says no")


async def test_transient_error_backs_off(engines: list[AsyncEngine], channel: str) -> None:
    await _queue(engines[0], channel, 1)
    dispatcher = Dispatcher(engines[0], {channel: Recorder(TransientError)}, Policy(backoff_base_seconds=600))
    assert await dispatcher.run_once() == 1
    assert await dispatcher.run_once() == 0  # not due yet
    [row] = await _rows(engines[0], channel)
    assert row.status == "pending" and row.leased_until is None and row.last_error == "receiver says no"
    async with engines[0].connect() as conn:
        delay = (
            await conn.execute(
                select(ob.outbox.c.next_attempt_at - ob.outbox.c.created_at).where(ob.outbox.c.id == row.id)
            )
        ).scalar_one()
    assert 290 <= delay.total_seconds() <= 610


async def test_unexpected_exceptions_are_retried_with_their_type(engines: list[AsyncEngine], channel: str) -> None:
    await _queue(engines[0], channel, 1)
    await Dispatcher(engines[0], {channel: Recorder(KeyError)}).run_once()
    [row] = await _rows(engines[0], channel)
    assert row.status == "pending" and row.last_error == "KeyError: 'receiver says no'"


async def test_retry_and_replay(engines: list[AsyncEngine], channel: str) -> None:
    [dead_id, done_id] = await _queue(engines[0], channel, 2)
    async with engines[0].begin() as conn:
        await conn.execute(ob.outbox.update().where(ob.outbox.c.id == dead_id).values(status="dead", attempts=10))
        await conn.execute(ob.outbox.update().where(ob.outbox.c.id == done_id).values(status="delivered"))
        assert await ob.retry(conn, [dead_id, done_id]) == 1
        [copy] = await ob.replay(conn, [done_id])
    rows = {r.id: r for r in await _rows(engines[0], channel)}
    assert (rows[dead_id].status, rows[dead_id].attempts) == ("pending", 0)
    assert rows[copy].status == "pending" and rows[copy].payload == rows[done_id].payload
    assert rows[copy].idempotency_key.startswith(rows[done_id].idempotency_key + ":replay:")


def test_cli_lists_retries_and_replays(db_url: str, monkeypatch: pytest.MonkeyPatch, channel: str) -> None:
    from esoz.cli import app
    from esoz.settings import get_settings

    async def arrange() -> list[uuid.UUID]:
        engine = make_engine(db_url, 1)
        try:
            ids = await _queue(engine, channel, 2)
            async with engine.begin() as conn:
                await conn.execute(
                    ob.outbox.update().where(ob.outbox.c.id == ids[0]).values(status="dead", last_error="boom")
                )
                await conn.execute(ob.outbox.update().where(ob.outbox.c.id == ids[1]).values(status="delivered"))
            return ids
        finally:
            await engine.dispose()

    dead_id, done_id = asyncio.run(arrange())
    monkeypatch.setenv("ESOZ_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(app, ["outbox", "list", "--status", "dead", "--channel", channel])
        assert listed.exit_code == 0, listed.output
        assert str(dead_id) in listed.output and "boom" in listed.output
        assert runner.invoke(app, ["outbox", "retry", str(dead_id)]).output.strip() == "1 row(s) queued again"
        replayed = runner.invoke(app, ["outbox", "replay", str(done_id)])
        assert replayed.exit_code == 0 and replayed.output.startswith("queued ")
        metrics = runner.invoke(app, ["outbox", "metrics"])
        assert metrics.exit_code == 0 and '"backlog"' in metrics.output
    finally:
        get_settings.cache_clear()
