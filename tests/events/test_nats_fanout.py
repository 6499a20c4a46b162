"""Fan-out to NATS JetStream through the machine's server (127.0.0.1:4222, JetStream enabled)."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import nats
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.db import make_engine
from esoz.events import service
from esoz.events.fanout import Publisher
from esoz.jobs import all_jobs
from esoz.settings import Settings

NATS_URL = "nats://127.0.0.1:4222"


@pytest.fixture
async def engine(fresh_db_url: str) -> AsyncIterator[AsyncEngine]:
    # A database of its own: the shared one holds every other test's unpublished events, and relaying those
    # would only slow this test down.
    engine = make_engine(fresh_db_url, 2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def publisher() -> AsyncIterator[Publisher]:
    suffix = uuid.uuid4().hex[:8]
    publisher = Publisher(NATS_URL, f"ESOZ_TEST_{suffix}", f"esoz-test-{suffix}.events")
    yield publisher
    js = await publisher.connect()
    await js.delete_stream(publisher.stream)
    await publisher.aclose()


async def test_events_reach_jetstream_once_even_when_relayed_twice(engine: AsyncEngine, publisher: Publisher) -> None:
    request, dispense = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await service.record_status_change(
            conn, entity_type="MedicationRequest", entity_id=request, new_status="ACTIVE"
        )
        await service.record_status_change(
            conn, entity_type="MedicationDispense", entity_id=dispense, new_status="PROCESSED"
        )

    # A relay that dies after publishing but before its stamp commits: the rows stay unpublished...
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            assert await publisher.relay(conn) >= 2
            raise RuntimeError("worker killed")
    # ...so the next run publishes them again, and JetStream drops the duplicates (same Nats-Msg-Id).
    async with engine.begin() as conn:
        while await publisher.relay(conn):
            pass
    async with engine.connect() as conn:
        unpublished = await conn.execute(
            text("SELECT count(*) FROM events WHERE entity_id IN (:a, :b) AND published_at IS NULL"),
            {"a": request, "b": dispense},
        )
        assert unpublished.scalar_one() == 0

    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        subscription = await js.pull_subscribe(f"{publisher.prefix}.>", stream=publisher.stream)
        received: dict[str, list[dict]] = {}
        deadline = asyncio.get_running_loop().time() + 20
        while asyncio.get_running_loop().time() < deadline:
            try:
                batch = await subscription.fetch(100, timeout=1)
            except nats.errors.TimeoutError:
                break
            for msg in batch:
                event = orjson.loads(msg.data)
                received.setdefault(event["entity_id"], []).append(event | {"_subject": msg.subject})
                await msg.ack()
    finally:
        await nc.close()

    [mr_event] = received[str(request)]
    [md_event] = received[str(dispense)]
    assert mr_event["_subject"] == f"{publisher.prefix}.MedicationRequest"
    assert md_event["_subject"] == f"{publisher.prefix}.MedicationDispense"
    assert md_event["properties"] == {"status": {"new_value": "PROCESSED"}}
    assert md_event["event_type"] == "StatusChangeEvent"


def test_fanout_job_runs_only_with_a_nats_url() -> None:
    names = {job.name for job in all_jobs(Settings(database_url="postgresql://x/y"))}
    assert "events.fanout" not in names and "notifications.deliver" in names
    with_nats = {job.name for job in all_jobs(Settings(database_url="postgresql://x/y", nats_url=NATS_URL))}
    assert "events.fanout" in with_nats
