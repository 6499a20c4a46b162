"""Incidents and their updates (investigating → identified → monitoring → resolved).

Every new incident and update is e-mailed to the subscribers of the affected components, in the same
transaction; reports from facilities can be linked to an incident.
"""

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.errors import Conflict, NotFound, field_error
from esoz.core.ids import uuid7
from esoz.status import notify, validation
from esoz.status.components import IMPACTS, INCIDENT_STATUSES
from esoz.status.models import status_incident_updates, status_incidents, status_reports


def _plain(value: uuid.UUID) -> uuid.UUID:
    return uuid.UUID(int=value.int)  # asyncpg's UUID subclass does not encode with orjson


def _incident(r: Any, updates: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    found = {
        "id": _plain(r.id),
        "title": r.title,
        "status": r.status,
        "impact": r.impact,
        "components": list(r.components),
        "started_at": r.started_at,
        "resolved_at": r.resolved_at,
        "updated_at": r.updated_at,
    }
    if updates is not None:
        found["updates"] = updates
    return found


def _update(r: Any) -> dict[str, Any]:
    return {"id": _plain(r.id), "status": r.status, "body": r.body, "created_at": r.created_at}


def _check(status: str, impact: str | None = None) -> None:
    if status not in INCIDENT_STATUSES:
        raise field_error("$.status", "inclusion", f"must be one of {list(INCIDENT_STATUSES)}", list(INCIDENT_STATUSES))
    if impact is not None and impact not in IMPACTS:
        raise field_error("$.impact", "inclusion", f"must be one of {list(IMPACTS)}", list(IMPACTS))


async def _notify(conn: AsyncConnection, incident: dict[str, Any], update: dict[str, Any], base_url: str) -> int:
    label = INCIDENT_STATUSES[update["status"]]
    return await notify.fan_out(
        conn,
        components=incident["components"],
        subject=f"[{label}] {incident['title']}",
        body=f"{incident['title']}\n{label}: {update['body']}\n\n"
        f"Докладніше: {base_url.rstrip('/')}/status/incidents/{incident['id']}",
        kind="status_incident",
        key=f"status-incident:{update['id']}",
        base_url=base_url,
    )


async def create(
    conn: AsyncConnection,
    *,
    title: str,
    status: str,
    impact: str,
    components: list[str],
    message: str,
    base_url: str,
) -> dict[str, Any]:
    _check(status, impact)
    components = validation.components(components)
    now = clock.now()
    row = (
        await conn.execute(
            status_incidents.insert()
            .values(
                id=uuid7(),
                title=title,
                status=status,
                impact=impact,
                components=components,
                started_at=now,
                resolved_at=now if status == "resolved" else None,
                created_at=now,
                updated_at=now,
            )
            .returning(*status_incidents.c)
        )
    ).one()
    incident = _incident(row)
    update = await _add_update(conn, incident["id"], status, message)
    await _notify(conn, incident, update, base_url)
    return {**incident, "updates": [update]}


async def _add_update(conn: AsyncConnection, incident_id: uuid.UUID, status: str, body: str) -> dict[str, Any]:
    row = (
        await conn.execute(
            status_incident_updates.insert()
            .values(id=uuid7(), incident_id=incident_id, status=status, body=body, created_at=clock.now())
            .returning(*status_incident_updates.c)
        )
    ).one()
    return _update(row)


async def add_update(
    conn: AsyncConnection,
    incident_id: uuid.UUID,
    *,
    status: str,
    message: str,
    impact: str | None = None,
    base_url: str,
) -> dict[str, Any]:
    _check(status, impact)
    t = status_incidents
    current = (await conn.execute(select(t).where(t.c.id == incident_id).with_for_update())).one_or_none()
    if current is None:
        raise NotFound("Incident not found")
    if current.status == "resolved":
        raise Conflict("Incident is already resolved")
    now = clock.now()
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if impact is not None:
        values["impact"] = impact
    if status == "resolved":
        values["resolved_at"] = now
    row = (await conn.execute(t.update().where(t.c.id == incident_id).values(**values).returning(*t.c))).one()
    incident = _incident(row)
    update = await _add_update(conn, incident_id, status, message)
    await _notify(conn, incident, update, base_url)
    return await get(conn, incident_id)


async def get(conn: AsyncConnection, incident_id: uuid.UUID) -> dict[str, Any]:
    row = (await conn.execute(select(status_incidents).where(status_incidents.c.id == incident_id))).one_or_none()
    if row is None:
        raise NotFound("Incident not found")
    u = status_incident_updates
    updates = await conn.execute(select(u).where(u.c.incident_id == incident_id).order_by(u.c.created_at.desc()))
    return _incident(row, [_update(r) for r in updates])


async def list_incidents(
    conn: AsyncConnection, *, active: bool | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    t = status_incidents
    query = select(t)
    if active is True:
        query = query.where(t.c.status != "resolved")
    elif active is False:
        query = query.where(t.c.status == "resolved")
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = list(await conn.execute(query.order_by(t.c.started_at.desc()).limit(limit).offset(offset)))
    updates: dict[uuid.UUID, list[dict[str, Any]]] = {r.id: [] for r in rows}
    if rows:
        u = status_incident_updates
        for r in await conn.execute(
            select(u).where(u.c.incident_id.in_(list(updates))).order_by(u.c.created_at.desc())
        ):
            updates[r.incident_id].append(_update(r))
    return [_incident(r, updates[r.id]) for r in rows], total


async def link_report(conn: AsyncConnection, report_id: uuid.UUID, incident_id: uuid.UUID | None) -> dict[str, Any]:
    if incident_id is not None:
        exists = (await conn.execute(select(status_incidents.c.id).where(status_incidents.c.id == incident_id))).first()
        if exists is None:
            raise field_error("$.incident_id", "existence", "incident not found")
    r = status_reports
    row = (
        await conn.execute(r.update().where(r.c.id == report_id).values(incident_id=incident_id).returning(r.c.id))
    ).first()
    if row is None:
        raise NotFound("Report not found")
    return {"id": _plain(row.id), "incident_id": incident_id}
