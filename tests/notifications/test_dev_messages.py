"""SMS and e-mail queued in a business transaction reach the log providers and the dev view."""

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.db import make_engine
from esoz.notifications import service, templates


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url, 2)
    yield engine
    await engine.dispose()


def _phone() -> str:
    return "+38067" + str(uuid.uuid4().int)[:7]


def wait_for_messages(client: httpx.Client, **params: str) -> list[dict]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        data = client.get("/admin/dev/messages", params=params).json()["data"]
        if data:
            return data
        time.sleep(0.1)
    raise AssertionError(f"no dev messages for {params}")


async def test_sms_reaches_dev_view(engine: AsyncEngine, client: httpx.Client) -> None:
    phone = _phone()
    kind, text = templates.medication_request_sign("0000-1234-5678-9012", "1234")
    async with engine.begin() as conn:
        message_id = await service.queue_sms(
            conn, phone=f"0{phone[4:6]} {phone[6:9]}-{phone[9:]}", text=text, kind=kind
        )
    messages = wait_for_messages(client, phone=phone)
    assert [m["id"] for m in messages] == [str(message_id)]
    assert messages[0]["text"] == "Ваш рецепт: 0000-1234-5678-9012. Код підтвердження: 1234"
    assert messages[0]["kind"] == "medication_request_sign"
    assert messages[0]["to"] == phone
    async with engine.connect() as conn:
        assert (await service.dev_messages(conn, phone=phone))[0]["id"] == message_id


async def test_email_reaches_dev_view(engine: AsyncEngine, client: httpx.Client) -> None:
    to = f"doc-{uuid.uuid4().hex[:8]}@clinic.example"
    async with engine.begin() as conn:
        await service.queue_email(conn, to=to, subject="Відновлення пароля", text="Посилання: …", kind="recovery")
    messages = wait_for_messages(client, email=to)
    assert messages[0]["subject"] == "Відновлення пароля"


async def test_rolled_back_transaction_sends_nothing(engine: AsyncEngine, client: httpx.Client) -> None:
    phone = _phone()
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await service.queue_sms(conn, phone=phone, text="x", kind="test")
            raise RuntimeError("business rule failed")
    later = _phone()
    async with engine.begin() as conn:
        await service.queue_sms(conn, phone=later, text="y", kind="test")
    wait_for_messages(client, phone=later)  # the worker has run past the point where the first would be
    async with engine.connect() as conn:
        assert await service.dev_messages(conn, phone=phone) == []


async def test_same_idempotency_key_queues_once(engine: AsyncEngine, client: httpx.Client) -> None:
    phone, key = _phone(), f"otp:{uuid.uuid4()}"
    async with engine.begin() as conn:
        first = await service.queue_sms(
            conn, phone=phone, text="Код підтвердження: 111111", kind="user_otp", idempotency_key=key
        )
        second = await service.queue_sms(
            conn, phone=phone, text="Код підтвердження: 111111", kind="user_otp", idempotency_key=key
        )
    assert first == second
    assert len(wait_for_messages(client, phone=phone)) == 1


def test_browser_gets_a_page(client: httpx.Client) -> None:
    page = client.get("/admin/dev/messages", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Надіслані повідомлення" in page.text
