"""What other domains call to notify people. Messages are outbox rows written in the caller's
transaction: they go out only if the business change commits, and exactly once as far as the
provider can tell (each carries an idempotency key).

    kind, text = templates.medication_request_sign(number, code)
    await queue_sms(conn, phone=person_phone, text=text, kind=kind, idempotency_key=f"mr-sign:{mr_id}")
"""

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import outbox as ob
from esoz.notifications import phones

SMS, EMAIL = "sms", "email"


async def queue_sms(
    conn: AsyncConnection, *, phone: str, text: str, kind: str, idempotency_key: str | None = None
) -> uuid.UUID:
    """Queue one SMS. An invalid number does not fail the caller: the row goes straight to dead-letter
    with the reason. A repeated idempotency key returns the first message's id (nothing new is sent)."""
    normalised = phones.normalise(phone)
    return await ob.enqueue(
        conn,
        channel=SMS,
        kind=kind,
        recipient=normalised or phone,
        payload={"text": text},
        idempotency_key=idempotency_key,
        dead_reason=None if normalised else f"invalid phone number {phone!r}: expected +380XXXXXXXXX",
    )


async def queue_email(
    conn: AsyncConnection,
    *,
    to: str,
    subject: str,
    text: str,
    kind: str,
    html: str | None = None,
    idempotency_key: str | None = None,
    unsubscribe_url: str | None = None,
) -> uuid.UUID:
    """`unsubscribe_url`: for mail people subscribed to; the SMTP provider turns it into RFC 8058 one-click
    `List-Unsubscribe` headers (the unsubscribe button mail clients show, required by large mailbox providers
    for bulk mail)."""
    address = to.strip()
    valid = "@" in address and " " not in address and not address.startswith("@") and not address.endswith("@")
    payload: dict[str, Any] = {"subject": subject, "text": text}
    if html is not None:
        payload["html"] = html
    if unsubscribe_url is not None:
        payload["unsubscribe_url"] = unsubscribe_url
    return await ob.enqueue(
        conn,
        channel=EMAIL,
        kind=kind,
        recipient=address,
        payload=payload,
        idempotency_key=idempotency_key,
        dead_reason=None if valid else f"invalid e-mail address {to!r}",
    )


def _message(row: Any) -> dict[str, Any]:
    return {
        "id": ob.plain_uuid(row.id),
        "channel": row.channel,
        "kind": row.kind,
        "to": row.recipient,
        "subject": row.payload.get("subject"),
        "text": row.payload.get("text"),
        "html": row.payload.get("html"),
        "idempotency_key": row.idempotency_key,
        "created_at": row.created_at,
        "delivered_at": row.delivered_at,
    }


async def dev_messages(
    conn: AsyncConnection, phone: str | None = None, email: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """What the `log` providers delivered, newest first (dev view, demo, tests)."""
    t = ob.outbox
    query = (
        select(t)
        .where(t.c.provider == "log", t.c.status == ob.DELIVERED)
        .order_by(t.c.delivered_at.desc(), t.c.seq.desc())
        .limit(limit)
    )
    if phone is not None:
        query = query.where(t.c.channel == SMS, t.c.recipient == (phones.normalise(phone) or phone))
    if email is not None:
        query = query.where(t.c.channel == EMAIL, t.c.recipient == email.strip())
    return [_message(r) for r in await conn.execute(query)]


async def record_receipt(conn: AsyncConnection, *, provider_message_id: str, status: str) -> bool:
    """A delivery receipt from the SMS provider; False if no message carries that provider id."""
    t = ob.outbox
    result = await conn.execute(
        t.update()
        .where(t.c.provider_message_id == provider_message_id, t.c.channel == SMS)
        .values(receipt_status=status[:64], receipt_at=func.now())
    )
    return result.rowcount > 0
