"""Maintenance windows of delivery channels: while one is active, the channel's messages stay queued
(in order) and go out when it ends. The status page reads `list_windows`."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import NotFound, field_error
from esoz.core.ids import uuid7
from esoz.notifications.models import maintenance_windows

CHANNELS = ("sms", "email")


def _row(r: Any) -> dict[str, Any]:
    return {
        "id": uuid.UUID(int=r.id.int),  # asyncpg's UUID subclass does not encode with orjson
        "channel": r.channel,
        "provider": r.provider,
        "starts_at": r.starts_at,
        "ends_at": r.ends_at,
        "reason": r.reason,
        "created_at": r.created_at,
        "cancelled_at": r.cancelled_at,
    }


async def create_window(
    conn: AsyncConnection,
    *,
    channel: str,
    starts_at: datetime,
    ends_at: datetime,
    provider: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    if channel not in CHANNELS:
        raise field_error("$.channel", "inclusion", f"must be one of {list(CHANNELS)}", list(CHANNELS))
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise field_error("$.starts_at", "format", "times must carry a UTC offset")
    if ends_at <= starts_at:
        raise field_error("$.ends_at", "greater_than", "ends_at must be after starts_at")
    row = await conn.execute(
        maintenance_windows.insert()
        .values(id=uuid7(), channel=channel, provider=provider, starts_at=starts_at, ends_at=ends_at, reason=reason)
        .returning(*maintenance_windows.c)
    )
    return _row(row.one())


async def cancel_window(conn: AsyncConnection, window_id: uuid.UUID) -> dict[str, Any]:
    """End a window now (or call off a planned one); held messages go out on the next tick."""
    row = await conn.execute(
        maintenance_windows.update()
        .where(maintenance_windows.c.id == window_id, maintenance_windows.c.cancelled_at.is_(None))
        .values(cancelled_at=func.now())
        .returning(*maintenance_windows.c)
    )
    found = row.one_or_none()
    if found is None:
        raise NotFound("Maintenance window not found")
    return _row(found)


async def list_windows(conn: AsyncConnection, *, include_past: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    query = select(maintenance_windows).order_by(maintenance_windows.c.starts_at).limit(limit)
    if not include_past:
        query = query.where(maintenance_windows.c.ends_at > func.now(), maintenance_windows.c.cancelled_at.is_(None))
    return [_row(r) for r in await conn.execute(query)]


async def paused_channels(conn: AsyncConnection, providers: dict[str, str]) -> set[str]:
    """Channels whose current provider (`providers`: channel -> provider) is inside an active window."""
    w = maintenance_windows
    active = await conn.execute(
        select(w.c.channel, w.c.provider).where(
            w.c.starts_at <= func.now(), w.c.ends_at > func.now(), w.c.cancelled_at.is_(None)
        )
    )
    return {
        channel
        for channel, provider in active
        if channel in providers and (provider is None or provider == providers[channel])
    }
