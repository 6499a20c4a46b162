"""Reading the audit log: operators' search, and a patient's access history ("who read my data").

The log grows by a row per read of patient data, so every search is bounded by an index: a patient
(`person_id`), a request id, or a period of at most MAX_PERIOD (a BRIN index on the time). Names of the people
and facilities come from their domains' services, never from their tables.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.errors import ENTRY_QUERY, ValidationFailed, invalid_entry
from esoz.core.models import audit_log
from esoz.core.pagination import PageParams, total_from_page
from esoz.identity import users
from esoz.registry import service as registry

MAX_PERIOD = timedelta(days=31)
DEFAULT_PERIOD = timedelta(days=1)

# What a patient reads in the portal: the kind of record that was looked at or changed.
_RESOURCE_UK = {
    "person": "дані пацієнта",
    "declaration": "декларація",
    "medication_request": "рецепт",
    "medication_request_request": "запит на рецепт",
    "medication_dispense": "погашення рецепта",
    "service_request": "направлення",
    "composition": "медичний висновок",
    "person_request": "запит на реєстрацію пацієнта",
    "confidant_relationship_request": "запит щодо законного представника",
    "confidant_relationship": "законні представники",
    "declaration_request": "запит на декларацію",
    "approval": "дозвіл на доступ до медичних записів",
    "episode": "епізод медичної допомоги",
    "encounter": "запис про взаємодію з лікарем",
    "condition": "стан або діагноз",
    "diagnosis": "діагнози пацієнта",
    "observation": "результат обстеження",
    "immunization": "щеплення",
    "allergy_intolerance": "алергія або непереносимість",
    "diagnostic_report": "діагностичний звіт",
    "procedure": "процедура",
    "vaccination_certificate": "сертифікат про вакцинацію",
}
RESOURCE_NAMES_UK = _RESOURCE_UK  # what every declared patient-data resource must have (tests hold routes to it)


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class AuditFilters:
    person_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    legal_entity_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    request_id: str | None = None
    action: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    occurred_at: datetime
    request_id: str | None
    actor_user_id: uuid.UUID | None
    client_id: uuid.UUID | None
    legal_entity_id: uuid.UUID | None
    person_id: uuid.UUID | None
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
    details: dict[str, Any]
    seq: int | None


@dataclass(frozen=True, slots=True)
class Who:
    user_id: uuid.UUID | None
    first_name: str | None
    last_name: str | None
    second_name: str | None


@dataclass(frozen=True, slots=True)
class Facility:
    id: uuid.UUID
    name: str | None
    edrpou: str | None


@dataclass(frozen=True, slots=True)
class AccessEntry:
    occurred_at: datetime
    action: str
    resource_type: str
    resource_id: str | None
    description: str
    outcome: str
    who: Who | None
    legal_entity: Facility | None


def resolve_period(
    occurred_from: datetime | None, occurred_to: datetime | None, *, bounded: bool, now: datetime | None = None
) -> Period | None:
    """The period searched. `bounded`: nothing else narrows the search, so the period is required to be short
    (the last DEFAULT_PERIOD when not given). None: no period at all."""
    now = now or clock.now()
    if not bounded and occurred_from is None and occurred_to is None:
        return None
    end = occurred_to or now
    start = occurred_from or (end - DEFAULT_PERIOD if bounded else datetime.min.replace(tzinfo=end.tzinfo))
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed(
            [invalid_entry("$.occurred_from", "format", "times must carry a UTC offset", entry_type=ENTRY_QUERY)]
        )
    if start > end:
        raise ValidationFailed(
            [
                invalid_entry(
                    "$.occurred_to", "invalid", "occurred_to must not be before occurred_from", entry_type=ENTRY_QUERY
                )
            ]
        )
    if bounded and end - start > MAX_PERIOD:
        raise ValidationFailed(
            [
                invalid_entry(
                    "$.occurred_from",
                    "invalid",
                    f"without person_id or request_id the period is at most {MAX_PERIOD.days} days",
                    entry_type=ENTRY_QUERY,
                )
            ]
        )
    return Period(start, end)


async def search(
    conn: AsyncConnection, *, filters: AuditFilters, page: PageParams
) -> tuple[list[AuditEntry], int]:
    """Operators' search of the whole log, newest first."""
    a = audit_log
    narrowed = filters.person_id is not None or filters.request_id is not None
    period = resolve_period(filters.occurred_from, filters.occurred_to, bounded=not narrowed)
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (a.c.person_id, filters.person_id),
        (a.c.actor_user_id, filters.user_id),
        (a.c.legal_entity_id, filters.legal_entity_id),
        (a.c.client_id, filters.client_id),
        (a.c.request_id, filters.request_id),
        (a.c.action, filters.action),
    ):
        if value is not None:
            conditions.append(column == value)
    if period is not None:
        conditions.append(a.c.occurred_at.between(period.start, period.end))
    rows = (
        await conn.execute(
            select(a)
            .where(*conditions)
            .order_by(a.c.occurred_at.desc(), a.c.id.desc())
            .offset(page.offset)
            .limit(page.page_size)
        )
    ).all()
    total = total_from_page(len(rows), page.offset, page.page_size)
    if total is None:
        total = (await conn.execute(select(func.count()).select_from(a).where(*conditions))).scalar_one()
    entries = [
        AuditEntry(
            id=r.id,
            occurred_at=r.occurred_at,
            request_id=r.request_id,
            actor_user_id=r.actor_user_id,
            client_id=r.client_id,
            legal_entity_id=r.legal_entity_id,
            person_id=r.person_id,
            action=r.action,
            resource_type=r.resource_type,
            resource_id=r.resource_id,
            outcome=r.outcome,
            details=r.details,
            seq=r.seq,
        )
        for r in rows
    ]
    return entries, total


async def access_history(
    conn: AsyncConnection,
    *,
    person_id: uuid.UUID,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
    page: PageParams,
) -> tuple[list[AccessEntry], int]:
    """Who looked at or changed a patient's records, from which facility, when, and what — newest first."""
    a = audit_log
    period = resolve_period(occurred_from, occurred_to, bounded=False)
    conditions: list[ColumnElement[bool]] = [a.c.person_id == person_id]
    if period is not None:
        conditions.append(a.c.occurred_at.between(period.start, period.end))
    rows = (
        await conn.execute(
            select(
                a.c.occurred_at,
                a.c.action,
                a.c.resource_type,
                a.c.resource_id,
                a.c.outcome,
                a.c.actor_user_id,
                a.c.legal_entity_id,
            )
            .where(*conditions)
            .order_by(a.c.occurred_at.desc(), a.c.id.desc())
            .offset(page.offset)
            .limit(page.page_size)
        )
    ).all()
    total = total_from_page(len(rows), page.offset, page.page_size)
    if total is None:
        total = (await conn.execute(select(func.count()).select_from(a).where(*conditions))).scalar_one()
    parties = await users.parties_of(conn, user_ids={r.actor_user_id for r in rows if r.actor_user_id})
    names = await registry.party_names(conn, party_ids=set(parties.values()))
    facilities = await registry.legal_entity_names(
        conn, legal_entity_ids={r.legal_entity_id for r in rows if r.legal_entity_id}
    )
    entries = []
    for r in rows:
        who = None
        if r.actor_user_id is not None:
            party_id = parties.get(r.actor_user_id)
            name = names.get(party_id) if party_id is not None else None
            who = Who(
                user_id=r.actor_user_id,
                first_name=name.first_name if name else None,
                last_name=name.last_name if name else None,
                second_name=name.second_name if name else None,
            )
        facility = None
        if r.legal_entity_id is not None:
            known = facilities.get(r.legal_entity_id)
            facility = Facility(r.legal_entity_id, known.name if known else None, known.edrpou if known else None)
        entries.append(
            AccessEntry(
                occurred_at=r.occurred_at,
                action=r.action,
                resource_type=r.resource_type,
                resource_id=r.resource_id,
                description=describe(r.action, r.resource_type),
                outcome=r.outcome,
                who=who,
                legal_entity=facility,
            )
        )
    return entries, total


def describe(action: str, resource_type: str) -> str:
    """«Перегляд: рецепт» — the line a patient reads."""
    what = _RESOURCE_UK.get(resource_type, resource_type)
    verb = action.rsplit(".", 1)[-1]
    if verb in ("read", "search", "print", "list"):
        label = "Друк" if verb == "print" else ("Пошук" if verb == "search" else "Перегляд")
    elif verb in ("create", "sign"):
        label = "Створення"
    else:
        label = "Зміна"
    return f"{label}: {what}"
