"""Scheduled maintenance: planned by operators here, plus the delivery domain's channel windows, so that a
planned SMS-provider outage shows on the page (and is announced) without being entered twice."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.errors import NotFound, field_error
from esoz.core.ids import uuid7
from esoz.notifications import maintenance as delivery
from esoz.status import notify, validation
from esoz.status.components import CHANNEL_COMPONENTS, COMPONENTS
from esoz.status.models import status_maintenances, status_notices
from esoz.status.timefmt import kyiv

PROVIDER_NAMES = {"sms": "SMS-провайдера", "email": "поштового сервера", "pfu": "обміну з ПФУ"}


def _plain(value: uuid.UUID) -> uuid.UUID:
    return uuid.UUID(int=value.int)


def _row(r: Any) -> dict[str, Any]:
    return {
        "id": _plain(r.id),
        "source": "status",
        "title": r.title,
        "description": r.description,
        "components": list(r.components),
        "starts_at": r.starts_at,
        "ends_at": r.ends_at,
        "cancelled_at": r.cancelled_at,
    }


def _from_window(w: dict[str, Any]) -> dict[str, Any] | None:
    component = CHANNEL_COMPONENTS.get(w["channel"])
    if component is None:
        return None
    title = f"Планові роботи {PROVIDER_NAMES.get(component, component)}"
    if w.get("provider"):
        title += f" ({w['provider']})"
    return {
        "id": w["id"],
        "source": "delivery",
        "title": title,
        "description": w.get("reason") or "Повідомлення будуть надіслані після завершення робіт.",
        "components": [component],
        "starts_at": w["starts_at"],
        "ends_at": w["ends_at"],
        "cancelled_at": w["cancelled_at"],
    }


async def create(
    conn: AsyncConnection,
    *,
    title: str,
    description: str,
    components: list[str],
    starts_at: datetime,
    ends_at: datetime,
) -> dict[str, Any]:
    components = validation.components(components)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise field_error("$.starts_at", "format", "times must carry a UTC offset")
    if ends_at <= starts_at:
        raise field_error("$.ends_at", "greater_than", "ends_at must be after starts_at")
    row = await conn.execute(
        status_maintenances.insert()
        .values(
            id=uuid7(),
            title=title,
            description=description,
            components=components,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=clock.now(),
        )
        .returning(*status_maintenances.c)
    )
    return _row(row.one())


async def cancel(conn: AsyncConnection, maintenance_id: uuid.UUID) -> dict[str, Any]:
    m = status_maintenances
    row = await conn.execute(
        m.update()
        .where(m.c.id == maintenance_id, m.c.cancelled_at.is_(None))
        .values(cancelled_at=func.now())
        .returning(*m.c)
    )
    found = row.one_or_none()
    if found is None:
        raise NotFound("Maintenance not found")
    return _row(found)


async def upcoming(conn: AsyncConnection, *, limit: int = 100) -> list[dict[str, Any]]:
    """Maintenance that has not ended and was not called off, ours and the delivery windows, by start."""
    m = status_maintenances
    ours = [
        _row(r)
        for r in await conn.execute(
            select(m).where(m.c.ends_at > clock.now(), m.c.cancelled_at.is_(None)).order_by(m.c.starts_at).limit(limit)
        )
    ]
    windows = [w for w in map(_from_window, await delivery.list_windows(conn, limit=limit)) if w is not None]
    return sorted(ours + windows, key=lambda x: x["starts_at"])[:limit]


async def past(conn: AsyncConnection, *, days: int = 90, limit: int = 200) -> list[dict[str, Any]]:
    m = status_maintenances
    since = clock.now() - timedelta(days=days)
    ours = [
        _row(r)
        for r in await conn.execute(
            select(m).where(m.c.ends_at <= clock.now(), m.c.ends_at > since).order_by(m.c.starts_at.desc()).limit(limit)
        )
    ]
    windows = await delivery.list_windows(conn, include_past=True, limit=1000)
    theirs = [
        w
        for w in map(_from_window, windows)
        if w is not None and since < w["ends_at"] <= clock.now() and w["cancelled_at"] is None
    ]
    return sorted(ours + theirs, key=lambda x: x["starts_at"], reverse=True)[:limit]


def active_components(items: list[dict[str, Any]]) -> set[str]:
    now = clock.now()
    return {c for m in items if m["starts_at"] <= now < m["ends_at"] for c in m["components"]}


async def send_notices(conn: AsyncConnection, *, hours: float, base_url: str) -> int:
    """E-mail subscribers once about every maintenance that starts within `hours` (ours and delivery windows)."""
    soon = clock.now() + timedelta(hours=hours)
    sent = 0
    for item in await upcoming(conn):
        if item["starts_at"] > soon:
            break
        claimed = await conn.execute(
            insert(status_notices)
            .values(source=item["source"], ref_id=item["id"])
            .on_conflict_do_nothing()
            .returning(status_notices.c.ref_id)
        )
        if claimed.first() is None:
            continue  # already announced
        names = ", ".join(COMPONENTS[c] for c in item["components"])
        sent += await notify.fan_out(
            conn,
            components=item["components"],
            subject=f"Планові роботи: {item['title']}",
            body=f"{item['title']}\n{_when(item)}\nЗачіпає: {names}\n\n{item['description']}",
            kind="status_maintenance_notice",
            key=f"status-maintenance:{item['source']}:{item['id']}",
            base_url=base_url,
        )
    return sent


def _when(item: dict[str, Any]) -> str:
    return f"З {kyiv(item['starts_at'])} до {kyiv(item['ends_at'])} (за київським часом)"
