"""Problem reports from facilities: rate-limited per IP, stored for operators, acknowledged by e-mail.

Text is stored exactly as sent; pages escape it when they show it (Jinja2 autoescape).
"""

import secrets
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.errors import field_error
from esoz.core.ids import uuid7
from esoz.notifications.service import queue_email
from esoz.status import validation
from esoz.status.components import COMPONENTS
from esoz.status.models import status_reports
from esoz.status.timefmt import KYIV

OTHER = "other"  # "не знаю / інше"
LIMITS = {"facility": 300, "mis": 200}


def _plain(value: uuid.UUID | None) -> uuid.UUID | None:
    return uuid.UUID(int=value.int) if value is not None else None


def _row(r: Any) -> dict[str, Any]:
    return {
        "id": _plain(r.id),
        "number": r.number,
        "facility": r.facility,
        "mis": r.mis,
        "component": r.component,
        "description": r.description,
        "contact_email": r.contact_email,
        "incident_id": _plain(r.incident_id),
        "created_at": r.created_at,
    }


def _text(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise field_error(f"$.{name}", "required", "must not be empty")
    if len(value) > limit:
        raise field_error(f"$.{name}", "length", f"must be at most {limit} characters", {"max": limit})
    return value


async def create(
    conn: AsyncConnection,
    *,
    facility: str,
    mis: str,
    component: str,
    description: str,
    contact_email: str,
    ip: str,
    max_chars: int,
    base_url: str,
) -> dict[str, Any]:
    values = {
        "facility": _text("facility", facility, LIMITS["facility"]),
        "mis": _text("mis", mis, LIMITS["mis"]),
        "description": _text("description", description, max_chars),
        "contact_email": validation.email(contact_email, "$.contact_email"),
    }
    if component not in COMPONENTS and component != OTHER:
        raise field_error("$.component", "inclusion", "unknown component", [*COMPONENTS, OTHER])
    now = clock.now()
    number = f"{now.astimezone(KYIV):%Y%m%d}-{secrets.token_hex(3).upper()}"
    row = (
        await conn.execute(
            status_reports.insert()
            .values(id=uuid7(), number=number, component=component, ip=ip, created_at=now, **values)
            .returning(*status_reports.c)
        )
    ).one()
    await queue_email(
        conn,
        to=values["contact_email"],
        subject=f"Звернення {number} отримано",
        text=(
            f"Дякуємо! Ваше звернення {number} щодо «{COMPONENTS.get(component, 'інше')}» отримано і передано "
            "черговим інженерам.\nСтан центральної бази даних і хід усунення збоїв: "
            f"{base_url.rstrip('/')}/status\n"
        ),
        kind="status_report_ack",
        idempotency_key=f"status-report:{row.id}",
    )
    return _row(row)


async def list_reports(
    conn: AsyncConnection, *, incident_id: uuid.UUID | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    r = status_reports
    query = select(r)
    if incident_id is not None:
        query = query.where(r.c.incident_id == incident_id)
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await conn.execute(query.order_by(r.c.created_at.desc()).limit(limit).offset(offset))
    return [_row(x) for x in rows], total
