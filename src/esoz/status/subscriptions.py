"""E-mail subscriptions with double opt-in: nothing is sent to an address but the confirmation link until
its owner follows it. The answer never says whether an address was already subscribed."""

import hashlib
import secrets
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.errors import NotFound
from esoz.core.ids import uuid7
from esoz.notifications.service import queue_email
from esoz.status import validation
from esoz.status.components import COMPONENTS
from esoz.status.models import status_subscribers

UNCONFIRMED_DAYS = 7


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def confirm_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/status/subscriptions/confirm?token={token}"


async def subscribe(conn: AsyncConnection, *, email: str, components: list[str], base_url: str) -> dict[str, Any]:
    address = validation.email(email)
    chosen = validation.components(components, allow_empty=True)
    token = secrets.token_urlsafe(24)
    s = status_subscribers
    now = clock.now()
    stmt = insert(s).values(
        id=uuid7(),
        email=address,
        components=chosen,
        confirm_hash=_hash(token),
        unsubscribe_token=secrets.token_urlsafe(24),
        created_at=now,
    )
    # An active subscriber's change waits in pending_components until confirmed; anyone else starts over.
    active = s.c.confirmed_at.is_not(None) & s.c.unsubscribed_at.is_(None)
    row = (
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[s.c.email],
                set_={
                    "confirm_hash": stmt.excluded.confirm_hash,
                    "pending_components": stmt.excluded.components,
                    "components": text(
                        "CASE WHEN status_subscribers.confirmed_at IS NOT NULL"
                        " AND status_subscribers.unsubscribed_at IS NULL"
                        " THEN status_subscribers.components ELSE EXCLUDED.components END"
                    ),
                    "confirmed_at": text(
                        "CASE WHEN status_subscribers.unsubscribed_at IS NULL THEN status_subscribers.confirmed_at END"
                    ),
                    "unsubscribed_at": None,
                    "created_at": now,
                },
            ).returning(s.c.id, active.label("active"))
        )
    ).one()
    names = ", ".join(COMPONENTS[c] for c in chosen) if chosen else "усі компоненти"
    await queue_email(
        conn,
        to=address,
        subject="Підтвердіть підписку на стан eHealth",
        text=(
            "Хтось (сподіваємося, ви) підписав цю адресу на повідомлення про стан центральної бази даних eHealth.\n"
            f"Компоненти: {names}\n\n"
            f"Щоб підтвердити підписку, перейдіть за посиланням:\n{confirm_link(base_url, token)}\n\n"
            "Якщо ви не підписувалися, просто проігноруйте цей лист."
        ),
        kind="status_subscription_confirm",
        idempotency_key=f"status-confirm:{row.id}:{_hash(token)[:16]}",
    )
    return {"email": address, "components": chosen, "status": "confirmation_sent"}


async def confirm(conn: AsyncConnection, token: str) -> dict[str, Any]:
    s = status_subscribers
    row = (
        await conn.execute(
            s.update()
            .where(s.c.confirm_hash == _hash(token), s.c.unsubscribed_at.is_(None))
            .values(
                confirmed_at=func.coalesce(s.c.confirmed_at, clock.now()),
                components=func.coalesce(s.c.pending_components, s.c.components),
                pending_components=None,
                confirm_hash=_hash(secrets.token_urlsafe(24)),  # a link works once
            )
            .returning(s.c.email, s.c.components, s.c.unsubscribe_token)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Subscription confirmation not found")
    return {"email": row.email, "components": list(row.components), "status": "confirmed"}


async def unsubscribe(conn: AsyncConnection, token: str) -> dict[str, Any]:
    s = status_subscribers
    row = (
        await conn.execute(
            s.update()
            .where(s.c.unsubscribe_token == token)
            .values(unsubscribed_at=func.coalesce(s.c.unsubscribed_at, clock.now()))
            .returning(s.c.email)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Subscription not found")
    return {"email": row.email, "status": "unsubscribed"}


async def purge_unconfirmed(conn: AsyncConnection) -> int:
    s = status_subscribers
    result = await conn.execute(
        s.delete().where(
            s.c.confirmed_at.is_(None), s.c.created_at < func.now() - text(f"interval '{UNCONFIRMED_DAYS} days'")
        )
    )
    return result.rowcount or 0


async def count_active(conn: AsyncConnection) -> int:
    s = status_subscribers
    query = select(func.count()).where(s.c.confirmed_at.is_not(None), s.c.unsubscribed_at.is_(None))
    return (await conn.execute(query)).scalar_one()
