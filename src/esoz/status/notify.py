"""E-mail to confirmed subscribers, through the outbox, in the caller's transaction.

Each message names the components it is about and carries the subscriber's one-click unsubscribe link;
the idempotency key makes a repeated call (a retried job) send nothing new.
"""

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.notifications.service import queue_email
from esoz.status.components import COMPONENTS
from esoz.status.models import status_subscribers


def unsubscribe_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/status/unsubscribe?token={token}"


async def subscribers_of(conn: AsyncConnection, components: list[str]) -> list[Any]:
    s = status_subscribers
    return list(
        await conn.execute(
            select(s.c.id, s.c.email, s.c.unsubscribe_token).where(
                s.c.confirmed_at.is_not(None),
                s.c.unsubscribed_at.is_(None),
                or_(s.c.components == [], s.c.components.overlap(components)),
            )
        )
    )


async def fan_out(
    conn: AsyncConnection,
    *,
    components: list[str],
    subject: str,
    body: str,
    kind: str,
    key: str,
    base_url: str,
) -> int:
    """Queue one e-mail per interested subscriber; returns how many were queued."""
    names = ", ".join(COMPONENTS[c] for c in components)
    sent = 0
    for sub in await subscribers_of(conn, components):
        link = unsubscribe_link(base_url, sub.unsubscribe_token)
        text = f"{body}\n\nКомпоненти: {names}\nСторінка стану: {base_url.rstrip('/')}/status\n\nВідписатися: {link}\n"
        await queue_email(
            conn,
            to=sub.email,
            subject=subject,
            text=text,
            kind=kind,
            idempotency_key=f"{key}:{sub.id}",
            unsubscribe_url=link,
        )
        sent += 1
    return sent


def public_url(settings: Any) -> str:
    """Where people reach this esoz: links in e-mail must not depend on who made the request."""
    return settings.status_public_url or f"http://{settings.host}:{settings.port}"
