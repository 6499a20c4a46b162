"""Maintenance windows: messages due inside one are held, then go out in order when it ends."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from delivery_helpers import delivery_settings, phone, until
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core import outbox as ob
from esoz.core.outbox import Dispatcher
from esoz.notifications import jobs, maintenance, service
from esoz.notifications.models import maintenance_windows
from esoz.notifications.sim import SmsSim


@contextlib.asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[None]:
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            if not await dispatcher.run_once():
                await asyncio.sleep(0.02)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await task


async def test_window_holds_messages_then_sends_them_in_order(
    fresh_engine: AsyncEngine, fresh_db: str, sim: SmsSim
) -> None:
    settings = delivery_settings(fresh_db, sms_provider="http", sms_http_url=sim.url)
    dispatcher = jobs.dispatcher(fresh_engine, settings)
    now = datetime.now(UTC)
    async with fresh_engine.begin() as conn:
        window = await maintenance.create_window(
            conn,
            channel="sms",
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=2),
            reason="Оновлення SMS-шлюзу",
        )
    patients = [phone(), phone()]
    expected = {p: [f"Повідомлення {i}" for i in range(5)] for p in patients}
    for i in range(5):
        for p in patients:
            async with fresh_engine.begin() as conn:
                await service.queue_sms(conn, phone=p, text=expected[p][i], kind="test")

    assert await dispatcher.run_once() == 0  # held: nothing claimed, nothing sent
    assert sim.state.requests == []
    async with fresh_engine.connect() as conn:
        assert (await ob.metrics(conn))["channels"]["sms"]["pending"] == 10

    async with fresh_engine.begin() as conn:  # the window ends (as if its end time had come)
        await conn.execute(
            maintenance_windows.update().where(maintenance_windows.c.id == window["id"]).values(ends_at=func.now())
        )
    async with running(dispatcher):
        await until(lambda: _all_delivered(fresh_engine), what="held messages to go out")
    for p in patients:
        assert [m["text"] for m in sim.sent_to(p)] == expected[p]
    await dispatcher.handlers["sms"].aclose()


async def test_window_of_another_provider_does_not_hold(fresh_engine: AsyncEngine, fresh_db: str) -> None:
    dispatcher = jobs.dispatcher(fresh_engine, delivery_settings(fresh_db))  # the log provider
    now = datetime.now(UTC)
    async with fresh_engine.begin() as conn:
        await maintenance.create_window(
            conn, channel="sms", provider="http", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1)
        )
        await service.queue_sms(conn, phone=phone(), text="x", kind="test")
    assert await dispatcher.run_once() == 1


def test_admin_api_manages_windows(client: httpx.Client, nhs_headers: dict[str, str]) -> None:
    client.headers.update(nhs_headers)
    # Far in the future, so the shared database's SMS keep flowing for the other tests.
    starts = datetime(2099, 1, 1, 21, 0, tzinfo=UTC)
    body = {
        "channel": "sms",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "reason": "З 23:00 до 01:00 надсилання SMS недоступне",
    }
    created = client.post("/admin/maintenance_windows", json=body)
    assert created.status_code == 201, created.text
    window = created.json()["data"]
    assert window["provider"] is None and window["reason"] == body["reason"]
    listed = client.get("/admin/maintenance_windows").json()["data"]
    assert window["id"] in [w["id"] for w in listed]
    cancelled = client.patch(f"/admin/maintenance_windows/{window['id']}/actions/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["data"]["cancelled_at"] is not None
    assert window["id"] not in [w["id"] for w in client.get("/admin/maintenance_windows").json()["data"]]
    again = client.patch(f"/admin/maintenance_windows/{window['id']}/actions/cancel")
    assert again.status_code == 404 and again.json()["error"]["type"] == "not_found"


def test_admin_api_rejects_bad_windows(client: httpx.Client, nhs_headers: dict[str, str], pg: Any) -> None:
    client.headers.update(nhs_headers)
    count = pg.execute("SELECT count(*) FROM maintenance_windows").fetchone()[0]
    backwards = {"channel": "sms", "starts_at": "2099-01-02T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
    response = client.post("/admin/maintenance_windows", json=backwards)
    assert response.status_code == 422
    assert response.json()["error"]["invalid"][0]["entry"] == "$.ends_at"
    unknown = {"channel": "fax", "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-02T00:00:00Z"}
    response = client.post("/admin/maintenance_windows", json=unknown)
    assert response.status_code == 422 and response.json()["error"]["type"] == "validation_failed"
    assert response.json()["error"]["invalid"][0]["entry"] == "$.channel"
    assert pg.execute("SELECT count(*) FROM maintenance_windows").fetchone()[0] == count


async def _all_delivered(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        pending = await conn.execute(select(func.count()).where(ob.outbox.c.status != "delivered"))
        return pending.scalar_one() == 0


def test_admin_api_needs_a_token(client: httpx.Client) -> None:
    assert client.get("/admin/maintenance_windows").status_code == 401
    assert client.get("/admin/outbox/metrics").status_code == 401


def test_outbox_metrics_endpoint(client: httpx.Client, nhs_headers: dict[str, str]) -> None:
    body = client.get("/admin/outbox/metrics", headers=nhs_headers).json()["data"]
    assert set(body) == {"backlog", "oldest_pending_age_seconds", "dead", "channels", "paused_channels"}
