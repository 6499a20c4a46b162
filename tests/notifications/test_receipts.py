"""The SMS provider's receipt callback: only with the shared secret, only for known messages."""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from delivery_helpers import AppServer, delivery_settings
from sqlalchemy import text

from esoz.core.db import make_engine
from esoz.notifications import service

TOKEN = "r3ceipt"


@pytest.fixture
def app(fresh_db: str) -> Iterator[httpx.Client]:
    settings = delivery_settings(fresh_db, inprocess_worker=False, sms_receipt_token=TOKEN)
    with AppServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


async def _delivered_row(url: str) -> str:
    engine = make_engine(url, 1)
    try:
        async with engine.begin() as conn:
            row_id = await service.queue_sms(conn, phone="+380671112233", text="x", kind="test")
            await conn.execute(
                text("UPDATE outbox SET status = 'delivered', provider_message_id = :p WHERE id = :id"),
                {"p": f"gw-{row_id}", "id": row_id},
            )
        return f"gw-{row_id}"
    finally:
        await engine.dispose()


def _receipts(fresh_db: str) -> list[tuple]:
    import psycopg

    from esoz.core.db import libpq_url

    with psycopg.connect(libpq_url(fresh_db)) as conn:
        return conn.execute(
            "SELECT provider_message_id, receipt_status FROM outbox WHERE receipt_at IS NOT NULL"
        ).fetchall()


def test_receipt_is_recorded(app: httpx.Client, fresh_db: str) -> None:
    import asyncio

    provider_id = asyncio.run(_delivered_row(fresh_db))
    path = f"/api/notifications/sms/receipts?token={TOKEN}"
    response = app.post(path, json={"message_id": provider_id, "status": "DELIVERED"})
    assert response.status_code == 200, response.text
    assert _receipts(fresh_db) == [(provider_id, "DELIVERED")]


@pytest.mark.parametrize(
    ("query", "body", "status", "error"),
    [
        ("", {"message_id": "gw-1", "status": "DELIVERED"}, 403, "forbidden"),
        ("?token=wrong", {"message_id": "gw-1", "status": "DELIVERED"}, 403, "forbidden"),
        (f"?token={TOKEN}", {"status": "DELIVERED"}, 422, "validation_failed"),
        (f"?token={TOKEN}", {"message_id": "gw-1"}, 422, "validation_failed"),
        (f"?token={TOKEN}", {"message_id": str(uuid.uuid4()), "status": "DELIVERED"}, 404, "not_found"),
    ],
)
def test_bad_receipts_change_nothing(
    app: httpx.Client, fresh_db: str, query: str, body: dict, status: int, error: str
) -> None:
    response = app.post(f"/api/notifications/sms/receipts{query}", json=body)
    assert response.status_code == status and response.json()["error"]["type"] == error
    assert _receipts(fresh_db) == []
