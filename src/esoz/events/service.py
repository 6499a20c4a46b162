"""The status-change event feed (the real system's Event Manager, pull model).

Domains call `record_status_change` in the same transaction as the status update, e.g.

    await events.record_status_change(conn, entity_type="Declaration", entity_id=id_, new_status="terminated",
                                      changed_by=actor.user_id, legal_entity_id=le_id)

MIS read them with `GET /api/events` (a window of at most 3 hours); with ESOZ_NATS_URL set the worker
also publishes each event to JetStream (see `esoz.events.fanout`).
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, Integer, Row, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import ENTRY_QUERY, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery, FastRow
from esoz.core.ids import uuid7
from esoz.core.pagination import PageParams, total_from_page
from esoz.events.models import events

# The query filters take these as Literal types, so the OpenAPI lists the allowed values.
EventType = Literal["StatusChangeEvent", "StateChangeEvent"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
STATUS_CHANGE: EventType = "StatusChangeEvent"
STATE_CHANGE: EventType = "StateChangeEvent"
# The real Event Manager's entity types, plus the esoz domains that produce status changes.
EntityType = Literal[
    "Approval",
    "CarePlan",
    "Composition",
    "Contract",
    "ContractRequest",
    "Declaration",
    "DeclarationRequest",
    "DeviceDispense",
    "DeviceRequest",
    "Division",
    "Employee",
    "EmployeeRequest",
    "Encounter",
    "Episode",
    "LegalEntity",
    "MedicalProgram",
    "MedicationDispense",
    "MedicationRequest",
    "MedicationRequestRequest",
    "Person",
    "Preperson",
    "ServiceRequest",
]
ENTITY_TYPES: tuple[EntityType, ...] = get_args(EntityType)


def _properties(new_status: str | None, properties: dict[str, Any] | None) -> dict[str, Any]:
    # The contract carries only the new value of each changed attribute.
    props = {name: {"new_value": value} for name, value in (properties or {}).items()}
    if new_status is not None:
        props["status"] = {"new_value": new_status}
    return props


def _check_entity_type(entity_type: str) -> None:
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"unknown event entity_type {entity_type!r}; add it to esoz.events.service.ENTITY_TYPES")


async def record_status_change(
    conn: AsyncConnection,
    *,
    entity_type: str,
    entity_id: uuid.UUID | str,
    new_status: str,
    changed_by: uuid.UUID | str | None = None,
    properties: dict[str, Any] | None = None,
    legal_entity_id: uuid.UUID | str | None = None,
    old_status: str | None = None,
) -> uuid.UUID | None:
    """Write one StatusChangeEvent in the caller's transaction; None (no event) if the status did not change.

    `properties` adds other changed attributes ({"employee_id": "…"} → {"employee_id": {"new_value": "…"}});
    `legal_entity_id` is the legal entity whose MIS may read the event.
    """
    if old_status is not None and old_status == new_status:
        return None
    ids = await record_status_changes(
        conn,
        entity_type=entity_type,
        entity_ids=[entity_id],
        new_status=new_status,
        changed_by=changed_by,
        properties=properties,
        legal_entity_id=legal_entity_id,
    )
    return ids[0]


async def record_status_changes(
    conn: AsyncConnection,
    *,
    entity_type: str,
    entity_ids: Iterable[uuid.UUID | str],
    new_status: str,
    changed_by: uuid.UUID | str | None = None,
    properties: dict[str, Any] | None = None,
    legal_entity_id: uuid.UUID | str | None = None,
    event_type: str = STATUS_CHANGE,
) -> list[uuid.UUID]:
    """Many entities moved to one status at once (e.g. a dismissal ends ~2000 declarations): one INSERT."""
    _check_entity_type(entity_type)
    props = _properties(new_status, properties)
    ids = [(uuid7(), entity_id) for entity_id in entity_ids]
    rows = [
        {
            "id": event_id,
            "event_type": event_type,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "properties": props,
            "changed_by": changed_by,
            "legal_entity_id": legal_entity_id,
        }
        for event_id, entity_id in ids
    ]
    if rows:
        await conn.execute(events.insert(), rows)
    return [event_id for event_id, _ in ids]


async def record_state_change(
    conn: AsyncConnection,
    *,
    entity_type: str,
    entity_id: uuid.UUID | str,
    properties: dict[str, Any],
    changed_by: uuid.UUID | str | None = None,
    legal_entity_id: uuid.UUID | str | None = None,
) -> uuid.UUID:
    """Write one StateChangeEvent: attributes other than the status changed (e.g. a contract's is_suspended).

    It carries no `status`, so feeds that count status changes (the dashboards) pass over it.
    """
    _check_entity_type(entity_type)
    event_id = uuid7()
    row = {
        "id": event_id,
        "event_type": STATE_CHANGE,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "properties": _properties(None, properties),
        "changed_by": changed_by,
        "legal_entity_id": legal_entity_id,
    }
    await conn.execute(events.insert(), [row])
    return event_id


def as_dict(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "event_type": row.event_type,
        "entity_type": row.entity_type,
        "entity_id": str(row.entity_id),
        "properties": row.properties,
        "event_time": row.event_time,
        "changed_by": None if row.changed_by is None else str(row.changed_by),
    }


def _query_error(entry: str, rule: str, description: str, params: Any = None) -> ValidationFailed:
    return ValidationFailed([invalid_entry(entry, rule, description, params, entry_type=ENTRY_QUERY)])


def resolve_window(
    date: datetime | None, date_to: datetime | None, now: datetime, max_hours: float
) -> tuple[datetime, datetime]:
    """`date`..`date_to`, at most `max_hours` wide; missing ends default to the newest window."""
    start, end = [v if v is None or v.tzinfo else v.replace(tzinfo=now.tzinfo) for v in (date, date_to)]
    width = timedelta(hours=max_hours)
    if start is None:
        end = now if end is None else end
        start = end - width
    elif end is None:
        end = min(start + width, max(now, start))
    date, date_to = start, end
    if date_to < date:
        raise _query_error("$.date_to", "greater_than", "date_to must not be earlier than date")
    if date_to - date > width:
        raise _query_error(
            "$.date_to", "max_window", f"the window between date and date_to must not exceed {max_hours:g} hours"
        )
    return date, date_to


# An MIS polls its events every few seconds (8 % of the national mix, bench/README.md): the poll's
# statements are built once per combination of the scalar filters and run through core.fastsql. The total is
# still the contract's `paging.total_entries`, but a partial page (the usual poll) gives it without a COUNT.
_LIST: dict[tuple[bool, bool, bool], tuple[FastQuery, FastQuery]] = {}


def _list_queries(by_legal_entity: bool, by_event_type: bool, by_entity_type: bool) -> tuple[FastQuery, FastQuery]:
    """(page, count) for the window and the given scalar filters (the JSON-path filters stay per call)."""
    key = (by_legal_entity, by_event_type, by_entity_type)
    queries = _LIST.get(key)
    if queries is None:
        e = events
        where: list[ColumnElement[bool]] = [
            e.c.event_time >= bindparam("date", type_=e.c.event_time.type),
            e.c.event_time <= bindparam("date_to", type_=e.c.event_time.type),
        ]
        if by_legal_entity:
            where.append(e.c.legal_entity_id == bindparam("legal_entity_id"))
        if by_event_type:
            where.append(e.c.event_type == bindparam("event_type"))
        if by_entity_type:
            where.append(e.c.entity_type == bindparam("entity_type"))
        condition = and_(*where)
        page = (
            select(e)
            .where(condition)
            .order_by(e.c.event_time, e.c.id)
            .offset(bindparam("offset", type_=Integer))
            .limit(bindparam("limit", type_=Integer))
        )
        count = select(func.count().label("total")).select_from(e).where(condition)
        queries = _LIST[key] = (FastQuery(page), FastQuery(count))
    return queries


async def list_events(
    conn: AsyncConnection,
    *,
    date: datetime,
    date_to: datetime,
    page: PageParams,
    legal_entity_filter: uuid.UUID | None,
    event_type: str | None = None,
    entity_type: str | None = None,
    attribute_name: str | None = None,
    new_value: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    e = events
    page_query, count_query = _list_queries(
        legal_entity_filter is not None, event_type is not None, entity_type is not None
    )
    params: dict[str, Any] = {"date": date, "date_to": date_to}
    for name, value in (
        ("legal_entity_id", legal_entity_filter),
        ("event_type", event_type),
        ("entity_type", entity_type),
    ):
        if value is not None:
            params[name] = value
    paging = {"offset": page.offset, "limit": page.page_size}
    json_filter: ColumnElement[bool] | None = None
    if new_value is not None:
        json_filter = e.c.properties[attribute_name or "status"]["new_value"].astext == new_value
    elif attribute_name is not None:
        json_filter = e.c.properties.has_key(attribute_name)
    rows: Sequence[FastRow | Row[Any]]
    if json_filter is None:
        rows = await page_query.fetch(conn, **params, **paging)
    else:
        rows = (await conn.execute(page_query.stmt.where(json_filter), params | paging)).all()
    total = total_from_page(len(rows), page.offset, page.page_size)
    if total is None:
        if json_filter is None:
            total = (await count_query.one(conn, **params)).total
        else:
            total = (await conn.execute(count_query.stmt.where(json_filter), params)).scalar_one()
    return [as_dict(r) for r in rows], total


async def get_event(
    conn: AsyncConnection, event_id: uuid.UUID, legal_entity_filter: uuid.UUID | None
) -> dict[str, Any]:
    query = select(events).where(events.c.id == event_id)
    if legal_entity_filter is not None:
        query = query.where(events.c.legal_entity_id == legal_entity_filter)
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        raise NotFound("Event not found")
    return as_dict(row)


async def purge(conn: AsyncConnection, *, retention_days: float, limit: int = 10000) -> int:
    """Delete events older than the retention period, in bounded batches."""
    old = select(events.c.id).where(events.c.event_time < func.now() - timedelta(days=retention_days)).limit(limit)
    return (await conn.execute(events.delete().where(events.c.id.in_(old.scalar_subquery())))).rowcount
