"""A worker killed between sending and marking: the row is claimed again after its lease, sent again
with the same idempotency key, and the provider (which dedups on it) puts one SMS on the phone."""

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from delivery_helpers import delivery_settings, phone, until
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core import outbox as ob
from esoz.notifications import jobs, service
from esoz.notifications.sim import SmsSim

ESOZ = Path(sys.executable).with_name("esoz")


async def test_killed_worker_loses_nothing_and_sends_once(
    fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim, tmp_path: Path
) -> None:
    overrides = {
        "sms_provider": "http",
        "sms_http_url": sim.url,
        "sms_http_timeout_seconds": 5,
        "outbox_lease_seconds": 7,
    }
    env = os.environ | {f"ESOZ_{k.upper()}": str(v) for k, v in overrides.items()}
    env |= {"ESOZ_DATABASE_URL": fresh_db, "ESOZ_DATA_DIR": str(tmp_path), "ESOZ_LOG_LEVEL": "WARNING"}

    to = phone()
    async with fresh_engine.begin() as conn:
        row_id = await service.queue_sms(
            conn,
            phone=to,
            text="Ваш рецепт: 0000-1111-2222-3333. Код підтвердження: 4821",
            kind="medication_request_sign",
        )
    key = await _key(fresh_engine, row_id)

    log_file = tmp_path / "worker.log"
    sim.set_mode("stall", delay=120)  # the provider takes the SMS, then the answer never comes back
    worker = await asyncio.create_subprocess_exec(
        str(ESOZ), "worker", env=env, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=log_file.open("wb")
    )
    try:
        await until(lambda: _asleep_true(sim.requests_for(key) == 1), what="the worker to send", limit=60)
    except AssertionError:
        raise AssertionError(log_file.read_text()[-3000:]) from None
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    assert len(sim.sent_to(to)) == 1
    claimed = await _row(fresh_engine, row_id)
    assert claimed.status == "pending" and claimed.attempts == 1  # sent, never marked

    sim.set_mode("ok")
    dispatcher = jobs.dispatcher(fresh_engine, delivery_settings(fresh_db, **overrides))
    try:

        async def redelivered() -> object:
            await dispatcher.run_once()  # claims nothing until the dead worker's lease has run out
            found = await _row(fresh_engine, row_id)
            return found if found.status == "delivered" else None

        done = await until(redelivered, what="redelivery after the lease", limit=60)
    finally:
        await dispatcher.handlers["sms"].aclose()
    assert done.attempts == 2
    assert sim.requests_for(key) == 2  # sent twice, with the same idempotency key...
    assert len(sim.sent_to(to)) == 1  # ...so the patient got one SMS
    assert done.provider_message_id == sim.sent_to(to)[0]["id"]


async def _asleep_true(value: bool) -> bool:
    return value


async def _row(engine: AsyncEngine, row_id: object) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(ob.outbox).where(ob.outbox.c.id == row_id))).one()


async def _key(engine: AsyncEngine, row_id: object) -> str:
    return (await _row(engine, row_id)).idempotency_key
