"""The service catalogue's rules and reads: the tree of groups and services, programme coverage and prices.

Other domains read the catalogue only through the functions and records here (referrals: is a referral's `code`
a service or group of the catalogue; does a programme cover it).
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Text, column, func, or_, select, table
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import NotFound
from esoz.core.pagination import PageParams
from esoz.core.rows import RowLike
from esoz.services import catalogue as shipped
from esoz.services.models import program_services, service_groups, services

# The programmes are the prescriptions domain's rows, and referrals (which ask whether a programme is active) may
# not depend on prescriptions. The catalogue reads the four columns it needs from the shared table, read-only; the
# migration's foreign key keeps program_services pointing at real programmes.
_programs = table(
    "medical_programs",
    column("id", UUID(as_uuid=True)),
    column("name", Text),
    column("type", Text),
    column("is_active", Boolean),
)


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    id: uuid.UUID
    code: str
    name: str
    category: str
    group_id: uuid.UUID
    is_active: bool
    request_allowed: bool


@dataclass(frozen=True, slots=True)
class ServiceGroupRecord:
    id: uuid.UUID
    code: str
    name: str
    parent_id: uuid.UUID | None
    is_active: bool
    request_allowed: bool


@dataclass(frozen=True, slots=True)
class ProgramRecord:
    id: uuid.UUID
    name: str
    type: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class ProgramServiceRecord:
    id: uuid.UUID
    medical_program_id: uuid.UUID
    service_id: uuid.UUID | None
    service_group_id: uuid.UUID | None
    consumer_price: Decimal
    is_active: bool
    request_allowed: bool


def _service(row: RowLike) -> ServiceRecord:
    return ServiceRecord(
        row["id"], row["code"], row["name"], row["category"], row["group_id"], row["is_active"], row["request_allowed"]
    )


def _group(row: RowLike) -> ServiceGroupRecord:
    return ServiceGroupRecord(
        row["id"], row["code"], row["name"], row["parent_id"], row["is_active"], row["request_allowed"]
    )


def _program_service(row: RowLike) -> ProgramServiceRecord:
    return ProgramServiceRecord(
        row["id"],
        row["medical_program_id"],
        row["service_id"],
        row["service_group_id"],
        row["consumer_price"],
        row["is_active"],
        row["request_allowed"],
    )


# --- look-ups for other domains ---------------------------------------------------------------------

SERVICE_PROGRAM = "SERVICE"  # the programme type whose programme services a referral may be used under


@dataclass(frozen=True, slots=True)
class Categories:
    """The categories a service (and a referral) belongs to: SNOMED CT codes and their Ukrainian names."""

    system: str
    names: dict[str, str]
    laboratory: str


def categories() -> Categories:
    cat = shipped.load()
    return Categories(cat.category_system, dict(cat.categories), shipped.LABORATORY)


async def find_service(conn: AsyncConnection, *, service_id: uuid.UUID) -> ServiceRecord | None:
    row = (await conn.execute(select(services).where(services.c.id == service_id))).mappings().first()
    return None if row is None else _service(row)


async def find_group(conn: AsyncConnection, *, group_id: uuid.UUID) -> ServiceGroupRecord | None:
    row = (await conn.execute(select(service_groups).where(service_groups.c.id == group_id))).mappings().first()
    return None if row is None else _group(row)


async def find_program(conn: AsyncConnection, *, program_id: uuid.UUID) -> ProgramRecord | None:
    p = _programs
    row = (
        (await conn.execute(select(p.c.id, p.c.name, p.c.type, p.c.is_active).where(p.c.id == program_id)))
        .mappings()
        .first()
    )
    return None if row is None else ProgramRecord(row["id"], row["name"], row["type"], row["is_active"])


async def find_program_service(conn: AsyncConnection, *, program_service_id: uuid.UUID) -> ProgramServiceRecord | None:
    row = (
        (await conn.execute(select(program_services).where(program_services.c.id == program_service_id)))
        .mappings()
        .first()
    )
    return None if row is None else _program_service(row)


async def _group_chain(conn: AsyncConnection, group_id: uuid.UUID) -> list[uuid.UUID]:
    """The group and its ancestors, nearest first (the tree is at most four levels deep)."""
    chain: list[uuid.UUID] = []
    current: uuid.UUID | None = group_id
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = (
            await conn.execute(select(service_groups.c.parent_id).where(service_groups.c.id == current))
        ).scalar_one_or_none()
    return chain


async def covers(
    conn: AsyncConnection,
    *,
    program_service: ProgramServiceRecord,
    service_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
) -> bool:
    """Whether the programme's entry covers the service (itself or a group above it) or the group."""
    if service_id is not None:
        if program_service.service_id == service_id:
            return True
        service = await find_service(conn, service_id=service_id)
        if service is None or program_service.service_group_id is None:
            return False
        return program_service.service_group_id in await _group_chain(conn, service.group_id)
    if group_id is not None and program_service.service_group_id is not None:
        return program_service.service_group_id in await _group_chain(conn, group_id)
    return False


async def program_service_for(
    conn: AsyncConnection,
    *,
    program_id: uuid.UUID,
    service_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
) -> ProgramServiceRecord | None:
    """The programme's active entry that covers the service (or group), the most specific one first."""
    t = program_services
    targets: list[Any] = []
    groups: list[uuid.UUID] = []
    if service_id is not None:
        targets.append(t.c.service_id == service_id)
        service = await find_service(conn, service_id=service_id)
        if service is not None:
            groups = await _group_chain(conn, service.group_id)
    elif group_id is not None:
        groups = await _group_chain(conn, group_id)
    if groups:
        targets.append(t.c.service_group_id.in_(groups))
    if not targets:
        return None
    rows = (
        (await conn.execute(select(t).where(t.c.medical_program_id == program_id, t.c.is_active, or_(*targets))))
        .mappings()
        .all()
    )
    ranked = sorted(
        rows,
        key=lambda r: (r["service_id"] is None, groups.index(r["service_group_id"]) if r["service_group_id"] else 0),
    )
    return _program_service(ranked[0]) if ranked else None


# --- the API's reads --------------------------------------------------------------------------------


def _stamps(row: RowLike) -> dict[str, Any]:
    return {
        "inserted_at": row["inserted_at"],
        "inserted_by": row["inserted_by"],
        "updated_at": row["updated_at"],
        "updated_by": row["updated_by"],
    }


def _render_service(row: RowLike) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "code": row["code"],
        "is_active": row["is_active"],
        "parent_id": row["parent_id"],
        "category": row["category"],
        "is_composition": row["is_composition"],
        "request_allowed": row["request_allowed"],
        **_stamps(row),
    }


def _render_group(row: RowLike) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "code": row["code"],
        "is_active": row["is_active"],
        "request_allowed": row["request_allowed"],
        **_stamps(row),
    }


async def catalogue(
    conn: AsyncConnection, *, code: str | None, name: str | None, page: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """The tree, a page of top-level groups: each with its `groups`, each of those with its `services`.

    `code` (exact) and `name` (any part, any case) select services; a group is shown when a service under it
    is, so a filtered answer holds only the branches that lead to a match.
    """
    cond = []
    if code is not None:
        cond.append(services.c.code == code)
    if name is not None:
        cond.append(func.lower(services.c.name).contains(name.lower(), autoescape=True))
    found = (await conn.execute(select(services).where(*cond).order_by(services.c.code))).mappings().all()
    groups = {r["id"]: r for r in (await conn.execute(select(service_groups))).mappings().all()}
    by_group: dict[uuid.UUID, list[RowLike]] = {}
    for s in found:
        by_group.setdefault(s["group_id"], []).append(s)
    children: dict[uuid.UUID | None, list[RowLike]] = {}
    for g in groups.values():
        children.setdefault(g["parent_id"], []).append(g)

    def subtree(group: RowLike) -> dict[str, Any] | None:
        node = _render_group(group)
        subgroups = [n for c in sorted(children.get(group["id"], []), key=_code) if (n := subtree(c)) is not None]
        leaf = [_render_service(s) for s in by_group.get(group["id"], [])]
        if not subgroups and not leaf and (cond or group["parent_id"] is not None):
            return None
        if subgroups:
            node["groups"] = subgroups
        if leaf or group["parent_id"] is not None:
            node["services"] = leaf
        return node

    tops = [n for g in sorted(children.get(None, []), key=_code) if (n := subtree(g)) is not None]
    return tops[page.offset : page.offset + page.page_size], len(tops)


def _code(row: RowLike) -> str:
    return str(row["code"])


def render_program_service(row: RowLike) -> dict[str, Any]:
    return {
        "id": row["id"],
        "medical_program_id": row["medical_program_id"],
        "service_id": row["service_id"],
        "service_group_id": row["service_group_id"],
        "consumer_price": float(row["consumer_price"]),
        "description": row["description"],
        "request_allowed": row["request_allowed"],
        "is_active": row["is_active"],
        **_stamps(row),
    }


async def list_program_services(
    conn: AsyncConnection, *, medical_program_id: uuid.UUID, page: PageParams
) -> tuple[list[dict[str, Any]], int]:
    t = program_services
    where = t.c.medical_program_id == medical_program_id
    total = (await conn.execute(select(func.count()).select_from(t).where(where))).scalar_one()
    rows = await conn.execute(
        select(t).where(where).order_by(t.c.inserted_at, t.c.id).limit(page.page_size).offset(page.offset)
    )
    return [render_program_service(r) for r in rows.mappings()], total


async def get_program_service(conn: AsyncConnection, *, program_service_id: uuid.UUID) -> dict[str, Any]:
    t = program_services
    row = (await conn.execute(select(t).where(t.c.id == program_service_id))).mappings().first()
    if row is None:
        raise NotFound("Program service not found")
    return render_program_service(row)
