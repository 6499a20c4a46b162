"""SMS delivery against a real stand-in provider on loopback: failures, recovery, dead-letter, receipts."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from delivery_helpers import AppServer, delivery_settings, phone, until
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core import outbox as ob
from esoz.core.outbox import Dispatcher
from esoz.notifications import jobs, service, templates
from esoz.notifications.sim import SmsSim


@contextlib.asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[Dispatcher]:
    """A worker loop in the background, as `esoz worker` runs it."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            if not await dispatcher.run_once():
                await asyncio.sleep(0.02)

    task = asyncio.create_task(loop())
    try:
        yield dispatcher
    finally:
        stop.set()
        await task
        for handler in dispatcher.handlers.values():
            await handler.aclose()


def http_dispatcher(engine: AsyncEngine, url: str, sim: SmsSim, **overrides: Any) -> Dispatcher:
    settings = delivery_settings(url, sms_provider="http", sms_http_url=sim.url, **overrides)
    return jobs.dispatcher(engine, settings)


async def queue(engine: AsyncEngine, to: str, text_: str = "Код авторизації дій в системі eHealth: 1234") -> Any:
    async with engine.begin() as conn:
        return await service.queue_sms(conn, phone=to, text=text_, kind="verification_code")


async def row(engine: AsyncEngine, row_id: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(ob.outbox).where(ob.outbox.c.id == row_id))).one()


async def delivered(engine: AsyncEngine, row_id: Any) -> Any:
    found = await row(engine, row_id)
    return found if found.status == "delivered" else None


async def test_provider_500_is_retried_until_it_recovers(fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim) -> None:
    sim.set_mode("error")
    to = phone()
    row_id = await queue(fresh_engine, to)
    async with running(http_dispatcher(fresh_engine, fresh_db, sim)):
        await until(lambda: _attempts_at_least(fresh_engine, row_id, 2), what="two failed attempts")
        failing = await row(fresh_engine, row_id)
        assert failing.status == "pending" and failing.last_error == "provider answered 500"
        sim.set_mode("ok")
        done = await until(lambda: delivered(fresh_engine, row_id), what="delivery after recovery")
    assert [m["text"] for m in sim.sent_to(to)] == ["Код авторизації дій в системі eHealth: 1234"]
    assert done.provider == "http" and done.provider_message_id == sim.sent_to(to)[0]["id"]
    assert sim.requests_for(done.idempotency_key) >= 3  # every attempt carried the same key


async def test_provider_timeout_is_retried_and_sends_one_sms(
    fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim
) -> None:
    sim.set_mode("slow", delay=30)
    to = phone()
    row_id = await queue(fresh_engine, to)
    async with running(http_dispatcher(fresh_engine, fresh_db, sim, sms_http_timeout_seconds=0.3)):
        await until(lambda: _attempts_at_least(fresh_engine, row_id, 2), what="two timed-out attempts")
        assert "timed out" in (await row(fresh_engine, row_id)).last_error
        sim.set_mode("ok")  # the hanging requests complete too: the provider dedups them on the key
        await until(lambda: delivered(fresh_engine, row_id), what="delivery after recovery")
    assert len(sim.sent_to(to)) == 1


async def test_unreachable_provider_is_retried_until_it_is_back(
    fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim
) -> None:
    sim.stop()
    to = phone()
    row_id = await queue(fresh_engine, to)
    async with running(http_dispatcher(fresh_engine, fresh_db, sim)):
        await until(lambda: _attempts_at_least(fresh_engine, row_id, 2), what="two refused attempts")
        assert "unreachable" in (await row(fresh_engine, row_id)).last_error
        sim.start()
        await until(lambda: delivered(fresh_engine, row_id), what="delivery after the provider is back")
    assert len(sim.sent_to(to)) == 1


async def test_invalid_phone_goes_straight_to_dead_letter(
    fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim
) -> None:
    bad = await queue(fresh_engine, "+38067123")
    good_phone = phone()
    good = await queue(fresh_engine, good_phone)
    dead = await row(fresh_engine, bad)
    assert dead.status == "dead" and dead.attempts == 0
    assert dead.last_error == "invalid phone number '+38067123': expected +380XXXXXXXXX"
    async with running(http_dispatcher(fresh_engine, fresh_db, sim)):
        await until(lambda: delivered(fresh_engine, good), what="the valid message")
    assert [m["to"] for m in sim.state.sent] == [good_phone]
    assert (await row(fresh_engine, bad)).status == "dead"


async def test_provider_rejection_dead_letters_with_its_reason(
    fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim
) -> None:
    sim.set_mode("reject")
    row_id = await queue(fresh_engine, phone())
    async with running(http_dispatcher(fresh_engine, fresh_db, sim)):
        dead = await until(lambda: _with_status(fresh_engine, row_id, "dead"), what="dead-letter")
    assert dead.attempts == 1
    assert dead.last_error.startswith("provider rejected the message: 400")


async def test_gives_up_after_max_attempts_and_retry_requeues(
    fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim
) -> None:
    sim.set_mode("error")
    to = phone()
    row_id = await queue(fresh_engine, to)
    async with running(http_dispatcher(fresh_engine, fresh_db, sim, outbox_max_attempts=3)):
        dead = await until(lambda: _with_status(fresh_engine, row_id, "dead"), what="dead-letter")
        assert dead.attempts == 3
        assert dead.last_error == "gave up after 3 attempts: provider answered 500"
        metrics = await _metrics(fresh_engine)
        assert metrics["dead"] == 1 and metrics["channels"]["sms"]["dead"] == 1
        sim.set_mode("ok")
        async with fresh_engine.begin() as conn:
            assert await ob.retry(conn, [row_id]) == 1
        await until(lambda: delivered(fresh_engine, row_id), what="delivery after retry")
    assert len(sim.sent_to(to)) == 1


async def test_delivery_receipt_reaches_the_message(fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim) -> None:
    app_settings = delivery_settings(fresh_db, inprocess_worker=False, sms_receipt_token="s3cret")
    with AppServer(app_settings) as app:
        kind, body = templates.medication_request_sign("0000-AB12-CD34-EF56", "5309")
        async with fresh_engine.begin() as conn:
            row_id = await service.queue_sms(conn, phone=phone(), text=body, kind=kind)
        dispatcher = http_dispatcher(
            fresh_engine, fresh_db, sim, sms_receipt_base_url=app.url, sms_receipt_token="s3cret"
        )
        async with running(dispatcher):
            done = await until(lambda: _with_receipt(fresh_engine, row_id), what="the receipt")
    assert done.receipt_status == "DELIVERED"
    assert done.provider_message_id.startswith("sim-")


async def test_backlog_metrics_report_size_and_age(fresh_engine: AsyncEngine, fresh_db: str) -> None:
    for _ in range(3):
        await queue(fresh_engine, phone())
    async with fresh_engine.begin() as conn:
        await conn.execute(
            text("UPDATE outbox SET created_at = now() - interval '10 minutes' WHERE status = 'pending'")
        )
    metrics = await _metrics(fresh_engine)
    assert metrics["backlog"] == 3 and metrics["channels"]["sms"]["pending"] == 3
    assert metrics["oldest_pending_age_seconds"] >= 600


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+380671234567", "+380671234567"),
        ("380671234567", "+380671234567"),
        ("067 123-45-67", "+380671234567"),
        ("(067) 123 45 67", "+380671234567"),
        ("00380671234567", "+380671234567"),
        ("+38067123456", None),
        ("+380071234567", None),
        ("+48601234567", None),
        ("", None),
    ],
)
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    from esoz.notifications.phones import normalise

    assert normalise(raw) == expected


async def _attempts_at_least(engine: AsyncEngine, row_id: Any, n: int) -> bool:
    return (await row(engine, row_id)).attempts >= n


async def _with_status(engine: AsyncEngine, row_id: Any, status: str) -> Any:
    found = await row(engine, row_id)
    return found if found.status == status else None


async def _with_receipt(engine: AsyncEngine, row_id: Any) -> Any:
    found = await row(engine, row_id)
    return found if found.receipt_status else None


async def _metrics(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        return await ob.metrics(conn)


async def test_custom_body_auth_header_and_message_id_path(
    fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim
) -> None:
    sim.state.auth = "Bearer k-123"
    custom = {
        "sms_http_auth_header": "Authorization: Bearer k-123",
        "sms_http_body_template": '{"to": "$phone", "text": "$text", "meta": {"from": "$sender", "type": "$kind"}}',
        "sms_http_idempotency_header": "Idempotency-Key",
        "sms_http_message_id_path": "id",
        "sms_sender": "MOZ-UA",
    }
    to = phone()
    row_id = await queue(fresh_engine, to)
    async with running(http_dispatcher(fresh_engine, fresh_db, sim, **custom)):
        done = await until(lambda: delivered(fresh_engine, row_id), what="delivery with credentials")
    assert done.provider_message_id == sim.sent_to(to)[0]["id"]
    assert sim.requests_for(done.idempotency_key) == 1  # the key travelled in the header


async def test_wrong_credentials_are_retried_not_dead_lettered(
    fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim
) -> None:
    sim.state.auth = "Bearer right"
    row_id = await queue(fresh_engine, phone())
    dispatcher = http_dispatcher(fresh_engine, fresh_db, sim, sms_http_auth_header="Authorization: Bearer wrong")
    async with running(dispatcher):
        await until(lambda: _attempts_at_least(fresh_engine, row_id, 2), what="two refused attempts")
    failing = await row(fresh_engine, row_id)
    assert failing.status == "pending" and failing.last_error == "provider answered 401"
