"""E-mail over SMTP against a real SMTP server on loopback (aiosmtpd)."""

import asyncio
import email
from email.message import Message
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from delivery_helpers import delivery_settings, until
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.processes import free_port

from esoz.core import outbox as ob
from esoz.notifications import jobs, service


class Inbox:
    """aiosmtpd handler: keeps what it accepts; refuses recipients at `nobody.example`."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list) -> str:
        if address.endswith("@nobody.example"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"


async def _row(engine: AsyncEngine, row_id: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(ob.outbox).where(ob.outbox.c.id == row_id))).one()


async def _settle(dispatcher: Any, engine: AsyncEngine, row_id: Any, status: str) -> Any:
    async def check() -> Any:
        await dispatcher.run_once()
        found = await _row(engine, row_id)
        return found if found.status == status else None

    return await until(check, what=f"the e-mail to be {status}")


async def test_email_is_retried_while_the_relay_is_down_then_delivered(
    fresh_engine: AsyncEngine, fresh_db: str
) -> None:
    port, inbox = free_port(), Inbox()
    settings = delivery_settings(fresh_db, email_provider="smtp", smtp_port=port, smtp_timeout_seconds=2)
    dispatcher = jobs.dispatcher(fresh_engine, settings)
    to = "likar@clinic.example"
    async with fresh_engine.begin() as conn:
        row_id = await service.queue_email(
            conn,
            to=to,
            subject="Відновлення доступу до eHealth",
            text="Щоб змінити пароль, перейдіть за посиланням.",
            html="<p>Щоб змінити пароль, перейдіть за посиланням.</p>",
            kind="credentials_recovery",
        )

    await until(lambda: _attempted(dispatcher, fresh_engine, row_id), what="a failed attempt")
    assert "unreachable" in (await _row(fresh_engine, row_id)).last_error

    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        done = await _settle(dispatcher, fresh_engine, row_id, "delivered")
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    received = inbox.messages[0]
    assert received["To"] == to and received["Subject"] == "Відновлення доступу до eHealth"
    assert received["X-Esoz-Idempotency-Key"] == done.idempotency_key
    assert received.get_body(("plain",)).get_content().strip() == "Щоб змінити пароль, перейдіть за посиланням."
    assert received.get_body(("html",)) is not None
    assert received["List-Unsubscribe"] is None  # a personal message, not a subscription
    assert done.provider == "smtp" and done.provider_message_id == received["Message-ID"]


async def test_subscription_mail_carries_one_click_unsubscribe_headers(
    fresh_engine: AsyncEngine, fresh_db: str
) -> None:
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    link = "https://esoz.example/status/unsubscribe?token=abc_DEF-123"
    try:
        settings = delivery_settings(fresh_db, email_provider="smtp", smtp_port=port)
        dispatcher = jobs.dispatcher(fresh_engine, settings)
        async with fresh_engine.begin() as conn:
            row_id = await service.queue_email(
                conn, to="fan@clinic.example", subject="Інцидент", text="t", kind="status", unsubscribe_url=link
            )
        await _settle(dispatcher, fresh_engine, row_id, "delivered")
    finally:
        controller.stop()
    (received,) = inbox.messages
    assert received["List-Unsubscribe"] == f"<{link}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_refused_recipient_is_dead_lettered(fresh_engine: AsyncEngine, fresh_db: str) -> None:
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = delivery_settings(fresh_db, email_provider="smtp", smtp_port=port)
        dispatcher = jobs.dispatcher(fresh_engine, settings)
        async with fresh_engine.begin() as conn:
            row_id = await service.queue_email(conn, to="ghost@nobody.example", subject="s", text="t", kind="test")
        dead = await _settle(dispatcher, fresh_engine, row_id, "dead")
    finally:
        controller.stop()
    assert dead.last_error.startswith("SMTP relay refused the recipient: 550")
    assert inbox.messages == []


async def _attempted(dispatcher: Any, engine: AsyncEngine, row_id: Any) -> bool:
    await dispatcher.run_once()
    await asyncio.sleep(0)
    return (await _row(engine, row_id)).attempts >= 1
