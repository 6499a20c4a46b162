"""Registry business rules (no HTTP): dictionaries, legal entities, divisions, and shared query helpers.

Employees, persons and declarations live in their own modules. Reads take the caller's
`legal_entity_filter` (None = all rows) and return row mappings; routes render them with `render`.
Writes run in the caller's transaction and add an audit row to it.
"""

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit
from esoz.core.audit import Actor
from esoz.core.errors import ENTRY_QUERY, Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.core.ids import uuid7
from esoz.core.pagination import PageParams, Paging, total_from_page
from esoz.core.rows import RowLike, get_row_by_id
from esoz.registry import models, schemas, validators
from esoz.registry.models import dictionaries, divisions, legal_entities
from esoz.registry.validators import raise_if

LE_JSONB = {"kveds", "addresses", "phones", "accreditation", "licenses", "archive"}
DIVISION_JSONB = {"addresses", "phones", "location", "working_hours"}


# --- shared helpers ---------------------------------------------------------------------------------


async def fetch_page(
    conn: AsyncConnection, query: Select[Any], page: PageParams, count_query: Select[Any] | None = None
) -> tuple[Sequence[RowMapping], Paging]:
    """A page and its total. A partial last page gives the total for free; otherwise one COUNT follows.

    `count_query` lets a joined list count its base table only: inner joins are not eliminated by the
    planner, and a window count would join every matching row just to count it.
    """
    rows = (await conn.execute(query.limit(page.page_size).offset(page.offset))).mappings().all()
    total = total_from_page(len(rows), page.offset, page.page_size)
    if total is None:
        counting = (
            count_query
            if count_query is not None
            else select(func.count()).select_from(query.order_by(None).subquery())
        )
        total = (await conn.execute(counting)).scalar_one()
    return rows, Paging.of(page, total)


async def get_row(
    conn: AsyncConnection, table: Table, id_: uuid.UUID, message: str, lock: bool = False
) -> Mapping[str, Any]:
    # The by-id statement is built once per table (core.rows, bench/README.md): patients and legal entities
    # are looked up on every referral, conclusion and prescription.
    row = await get_row_by_id(conn, table, id_, lock=lock)
    if row is None:
        raise NotFound(message)
    return row


def request_shape(row: RowLike, model: type[schemas.Strict]) -> dict[str, Any]:
    """The stored row as a request body of `model`, so that a PATCH can be merged and re-validated."""
    return {name: row[name] for name in model.model_fields if name in row}


def parse_ids(param: str, value: str | None) -> list[uuid.UUID] | None:
    """A comma-separated list of UUIDs in one query parameter (`?ids=a,b`)."""
    if not value:
        return None
    try:
        return [uuid.UUID(part.strip()) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValidationFailed(
            [invalid_entry(f"$.{param}", "cast", "expected comma-separated UUIDs", entry_type=ENTRY_QUERY)]
        ) from None


# --- dictionaries -----------------------------------------------------------------------------------


async def list_dictionaries(
    conn: AsyncConnection, name: str | None = None, is_active: bool | None = None
) -> list[dict[str, Any]]:
    query = select(dictionaries).order_by(dictionaries.c.name)
    if name is not None:
        query = query.where(dictionaries.c.name == name)
    if is_active is not None:
        query = query.where(dictionaries.c.is_active == is_active)
    return [dict(row._mapping) for row in await conn.execute(query)]


# --- legal entities ---------------------------------------------------------------------------------


async def list_legal_entities(
    conn: AsyncConnection,
    page: PageParams,
    legal_entity_filter: uuid.UUID | None,
    *,
    created_by_mis: uuid.UUID | None = None,
    edrpou: str | None = None,
    legal_entity_id: uuid.UUID | None = None,
    type: str | None = None,
    status: str | None = None,
    settlement_id: uuid.UUID | None = None,
    nhs_verified: bool | None = None,
    owner_property: str | None = None,
) -> tuple[Sequence[RowMapping], Paging]:
    t = legal_entities
    query = select(t).order_by(t.c.inserted_at, t.c.id)
    if created_by_mis is not None:  # an MIS: itself and the entities it registered
        query = query.where(or_(t.c.id == legal_entity_filter, t.c.created_by_mis_client_id == created_by_mis))
    elif legal_entity_filter is not None:
        query = query.where(t.c.id == legal_entity_filter)
    conditions = {
        t.c.edrpou: edrpou,
        t.c.id: legal_entity_id,
        t.c.type: type,
        t.c.status: status,
        t.c.nhs_verified: nhs_verified,
        t.c.owner_property_type: owner_property.upper() if owner_property else None,
    }
    for column, value in conditions.items():
        if value is not None:
            query = query.where(column == value)
    if settlement_id is not None:
        query = query.where(t.c.addresses.contains([{"settlement_id": str(settlement_id)}]))
    return await fetch_page(conn, query, page)


async def get_legal_entity(
    conn: AsyncConnection,
    id_: uuid.UUID,
    legal_entity_filter: uuid.UUID | None,
    created_by_mis: uuid.UUID | None = None,
) -> RowLike:
    row = await get_row(conn, legal_entities, id_, "Legal entity not found")
    if legal_entity_filter is not None and id_ != legal_entity_filter:
        if created_by_mis is None or row["created_by_mis_client_id"] != created_by_mis:
            raise NotFound("Legal entity not found")
    return row


def _validate_legal_entity(body: schemas.LegalEntityCreate) -> None:
    errors = validators.check_edrpou("$.edrpou", body.edrpou)
    errors += validators.check_dictionary("$.type", body.type, "LEGAL_ENTITY_TYPE")
    errors += validators.check_dictionary("$.legal_form", body.legal_form, "LEGAL_FORM")
    errors += validators.check_phones("$.phones", body.phones)
    errors += validators.check_one_per_type("$.addresses", body.addresses, "address")
    raise_if(errors)


async def _edrpou_taken(conn: AsyncConnection, edrpou: str, type_: str, except_id: uuid.UUID | None) -> None:
    query = select(legal_entities.c.id).where(legal_entities.c.edrpou == edrpou, legal_entities.c.type == type_)
    if except_id is not None:
        query = query.where(legal_entities.c.id != except_id)
    if (await conn.execute(query)).first() is not None:
        raise Conflict(f"Legal entity with EDRPOU {edrpou} and type {type_} already exists")


async def create_legal_entity(
    conn: AsyncConnection,
    body: schemas.LegalEntityCreate,
    actor: Actor,
    created_by_mis: uuid.UUID | None = None,
) -> RowMapping:
    _validate_legal_entity(body)
    await _edrpou_taken(conn, body.edrpou, body.type, None)
    values = schemas.columns(body, LE_JSONB)
    values |= {"id": uuid7(), "is_active": body.status == "ACTIVE", "inserted_by": actor.user_id}
    values["created_by_mis_client_id"] = created_by_mis
    values["updated_by"] = actor.user_id
    # ON CONFLICT covers the race between the check above and the insert.
    stmt = insert(legal_entities).values(values).on_conflict_do_nothing().returning(*legal_entities.c)
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        raise Conflict(f"Legal entity with EDRPOU {body.edrpou} and type {body.type} already exists")
    await audit.record(
        conn, action="legal_entity.create", resource_type="legal_entity", resource_id=row["id"], actor=actor
    )
    return row


async def update_legal_entity(conn: AsyncConnection, id_: uuid.UUID, patch: dict[str, Any], actor: Actor) -> RowMapping:
    current = await get_row(conn, legal_entities, id_, "Legal entity not found", lock=True)
    body = schemas.parse(
        schemas.LegalEntityCreate, schemas.deep_merge(request_shape(current, schemas.LegalEntityCreate), patch)
    )
    _validate_legal_entity(body)
    await _edrpou_taken(conn, body.edrpou, body.type, id_)
    values = schemas.columns(body, LE_JSONB) | {"is_active": body.status == "ACTIVE", "updated_by": actor.user_id}
    stmt = (
        legal_entities.update()
        .where(legal_entities.c.id == id_)
        .values({**values, "updated_at": func.now()})
        .returning(*legal_entities.c)
    )
    row = (await conn.execute(stmt)).mappings().one()
    await audit.record(
        conn,
        action="legal_entity.update",
        resource_type="legal_entity",
        resource_id=id_,
        actor=actor,
        details={"fields": sorted(patch)},
    )
    return row


# --- divisions --------------------------------------------------------------------------------------


async def list_divisions(
    conn: AsyncConnection,
    page: PageParams,
    legal_entity_filter: uuid.UUID | None,
    *,
    ids: list[uuid.UUID] | None = None,
    name: str | None = None,
    legal_entity_id: uuid.UUID | None = None,
    type: str | None = None,
    status: str | None = None,
) -> tuple[Sequence[RowMapping], Paging]:
    t = divisions
    query = select(t).order_by(t.c.inserted_at, t.c.id)
    if legal_entity_filter is not None:
        query = query.where(t.c.legal_entity_id == legal_entity_filter)
    if ids:
        query = query.where(t.c.id.in_(ids))
    if name:
        query = query.where(
            t.c.name.ilike("%" + name.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%")
        )
    for column, value in {t.c.legal_entity_id: legal_entity_id, t.c.type: type, t.c.status: status}.items():
        if value is not None:
            query = query.where(column == value)
    return await fetch_page(conn, query, page)


async def get_division(conn: AsyncConnection, id_: uuid.UUID, legal_entity_filter: uuid.UUID | None) -> RowLike:
    row = await get_row(conn, divisions, id_, "Division not found")
    if legal_entity_filter is not None and row["legal_entity_id"] != legal_entity_filter:
        raise NotFound("Division not found")
    return row


async def _validate_division(conn: AsyncConnection, body: schemas.DivisionCreate) -> None:
    le = (
        await conn.execute(
            select(legal_entities.c.type, legal_entities.c.status).where(legal_entities.c.id == body.legal_entity_id)
        )
    ).first()
    if le is None:
        raise_if([invalid_entry("$.legal_entity_id", "invalid", "legal entity not found")])
    assert le is not None
    errors = validators.check_division_type("$.type", body.type, le.type)
    errors += validators.check_phones("$.phones", body.phones)
    errors += validators.check_one_per_type("$.addresses", body.addresses, "address")
    raise_if(errors)
    if le.status != "ACTIVE":
        raise Conflict("Legal entity is not active")


async def create_division(conn: AsyncConnection, body: schemas.DivisionCreate, actor: Actor) -> RowMapping:
    await _validate_division(conn, body)
    values = schemas.columns(body, DIVISION_JSONB) | {"id": uuid7(), "is_active": body.status == "ACTIVE"}
    row = (await conn.execute(divisions.insert().values(values).returning(*divisions.c))).mappings().one()
    await audit.record(conn, action="division.create", resource_type="division", resource_id=row["id"], actor=actor)
    return row


async def update_division(conn: AsyncConnection, id_: uuid.UUID, patch: dict[str, Any], actor: Actor) -> RowMapping:
    current = await get_row(conn, divisions, id_, "Division not found", lock=True)
    body = schemas.parse(
        schemas.DivisionCreate, schemas.deep_merge(request_shape(current, schemas.DivisionCreate), patch)
    )
    if body.legal_entity_id != current["legal_entity_id"]:
        raise_if([invalid_entry("$.legal_entity_id", "invalid", "a division cannot move to another legal entity")])
    await _validate_division(conn, body)
    values = schemas.columns(body, DIVISION_JSONB) | {"is_active": body.status == "ACTIVE"}
    stmt = (
        divisions.update()
        .where(divisions.c.id == id_)
        .values({**values, "updated_at": func.now()})
        .returning(*divisions.c)
    )
    row = (await conn.execute(stmt)).mappings().one()
    await audit.record(
        conn,
        action="division.update",
        resource_type="division",
        resource_id=id_,
        actor=actor,
        details={"fields": sorted(patch)},
    )
    return row


# --- names for other domains ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartyName:
    id: uuid.UUID
    first_name: str
    last_name: str
    second_name: str | None


@dataclass(frozen=True, slots=True)
class LegalEntityName:
    id: uuid.UUID
    name: str
    edrpou: str


async def party_names(conn: AsyncConnection, *, party_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, PartyName]:
    """Names of the people behind the given parties (staff), for lists that say who did something."""
    if not party_ids:
        return {}
    p = models.parties
    rows = await conn.execute(
        select(p.c.id, p.c.first_name, p.c.last_name, p.c.second_name).where(p.c.id.in_(list(party_ids)))
    )
    return {r.id: PartyName(r.id, r.first_name, r.last_name, r.second_name) for r in rows}


async def legal_entity_names(
    conn: AsyncConnection, *, legal_entity_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, LegalEntityName]:
    if not legal_entity_ids:
        return {}
    le = legal_entities
    rows = await conn.execute(select(le.c.id, le.c.name, le.c.edrpou).where(le.c.id.in_(list(legal_entity_ids))))
    return {r.id: LegalEntityName(r.id, r.name, r.edrpou) for r in rows}
