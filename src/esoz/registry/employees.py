"""Parties and employees: reads with party/division/legal-entity details in one query, admin writes, dismissal."""

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, case, false, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit
from esoz.core.audit import Actor
from esoz.core.errors import Conflict, NotFound, invalid_entry
from esoz.core.ids import uuid7
from esoz.core.pagination import PageParams, Paging
from esoz.events.service import record_status_change
from esoz.registry import declarations as declaration_service
from esoz.registry import render, schemas, validators
from esoz.registry.models import declarations, divisions, employees, legal_entities, parties
from esoz.registry.render import labelled
from esoz.registry.service import fetch_page, get_row

PARTY_JSONB = {"documents", "phones", "educations", "qualifications", "specialities", "science_degree"}
_LE_COLUMNS = ["id", "name", "short_name", "public_name", "type", "edrpou", "status"]
_LE_COLUMNS += ["legal_form", "owner_property_type", "mis_verified"]
_DIVISION_COLUMNS = ["id", "name", "legal_entity_id", "type", "status", "mountain_group", "dls_id", "dls_verified"]


def _declaration_count() -> Any:
    """Active declarations of the party across its employments; computed for doctors only."""
    e2 = employees.alias("e2")
    count = (
        select(func.count())
        .select_from(declarations.join(e2, e2.c.id == declarations.c.employee_id))
        .where(e2.c.party_id == parties.c.id, declarations.c.status.in_(declaration_service.ACTIVE_STATUSES))
        .scalar_subquery()
    )
    return case((employees.c.employee_type == "DOCTOR", count), else_=0).label("declaration_count")


@functools.cache  # the statement is immutable (`.where` returns a copy): build its labelled columns once
def _joined() -> Select[Any]:
    e = employees
    return select(
        *labelled(e, "e_"),
        *labelled(parties, "p_"),
        *labelled(legal_entities, "le_", _LE_COLUMNS),
        *labelled(divisions, "d_", _DIVISION_COLUMNS),
        _declaration_count(),
    ).select_from(
        e.join(parties, parties.c.id == e.c.party_id)
        .join(legal_entities, legal_entities.c.id == e.c.legal_entity_id)
        .outerjoin(divisions, divisions.c.id == e.c.division_id)
    )


async def list_employees(
    conn: AsyncConnection,
    page: PageParams,
    legal_entity_filter: uuid.UUID | None,
    *,
    legal_entity_id: uuid.UUID | None = None,
    division_id: uuid.UUID | None = None,
    party_id: uuid.UUID | None = None,
    employee_type: str | None = None,
    status: str | None = None,
    tax_id: str | None = None,
    no_tax_id: bool | None = None,
    edrpou: str | None = None,
    verification_status: str | None = None,
) -> tuple[Sequence[RowMapping], Paging]:
    e = employees
    query = _joined().order_by(e.c.inserted_at, e.c.id)
    if legal_entity_filter is not None:
        query = query.where(e.c.legal_entity_id == legal_entity_filter)
    if verification_status is not None and verification_status != render.NOT_VERIFIED:
        # No party is checked against the state registers yet: every one is NOT_VERIFIED.
        query = query.where(false())
    filters = {
        e.c.legal_entity_id: legal_entity_id,
        e.c.division_id: division_id,
        e.c.party_id: party_id,
        e.c.employee_type: employee_type,
        e.c.status: status,
        parties.c.tax_id: tax_id,
        parties.c.no_tax_id: no_tax_id,
        legal_entities.c.edrpou: edrpou,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    return await fetch_page(conn, query, page)


# Built once: every signed document looks its author up here; SQLAlchemy memoizes the cache key on the
# statement object instead of re-deriving it per request (bench/README.md).
_BY_ID = _joined().where(employees.c.id == bindparam("id_"))


async def get_employee(conn: AsyncConnection, id_: uuid.UUID, legal_entity_filter: uuid.UUID | None) -> RowMapping:
    row = (await conn.execute(_BY_ID, {"id_": id_})).mappings().first()
    if row is None or (legal_entity_filter is not None and row["e_legal_entity_id"] != legal_entity_filter):
        raise NotFound("Employee not found")
    return row


# --- writes -----------------------------------------------------------------------------------------


def _professional_key(employee_type: str) -> str | None:
    return {"DOCTOR": "doctor", "SPECIALIST": "doctor", "ASSISTANT": "doctor", "PHARMACIST": "pharmacist"}.get(
        employee_type
    )


def _validate_party(party: schemas.Party) -> validators.Invalid:
    on = validators.today()
    errors: validators.Invalid = []
    for name in ("first_name", "last_name", "second_name"):
        errors += validators.check_name(f"$.party.{name}", getattr(party, name))
    errors += validators.check_birth_date("$.party.birth_date", party.birth_date, on)
    if not party.no_tax_id:
        errors += validators.check_tax_id("$.party.tax_id", party.tax_id)
    errors += validators.check_documents("$.party.documents", party.documents, on)
    errors += validators.check_phones("$.party.phones", party.phones)
    return errors


def _validate_professional(body: schemas.EmployeeCreate) -> tuple[validators.Invalid, dict[str, Any] | None]:
    """Checks the doctor/pharmacist block; returns the officio speciality stored on the employee."""
    key = _professional_key(body.employee_type)
    errors: validators.Invalid = []
    for other in ("doctor", "pharmacist"):
        if other != key and getattr(body, other) is not None:
            errors.append(invalid_entry(f"$.{other}", "invalid", f"not allowed for {body.employee_type}"))
    if key is None:
        return errors, None
    block: schemas.Professional | None = getattr(body, key)
    if block is None:
        return [*errors, invalid_entry(f"$.{key}", "required", f"required for {body.employee_type}")], None
    for i, spec in enumerate(block.specialities):
        errors += validators.check_speciality(
            f"$.{key}.specialities[{i}].speciality", spec.speciality, body.employee_type
        )
    officio = [s for s in block.specialities if s.speciality_officio]
    if len(officio) != 1:
        errors.append(invalid_entry(f"$.{key}.specialities", "invalid", "exactly one speciality_officio is required"))
        return errors, None
    return errors, officio[0].model_dump(mode="json")


async def _validate(conn: AsyncConnection, body: schemas.EmployeeCreate) -> dict[str, Any] | None:
    le = (
        await conn.execute(
            select(legal_entities.c.type, legal_entities.c.status).where(legal_entities.c.id == body.legal_entity_id)
        )
    ).first()
    if le is None:
        validators.raise_if([invalid_entry("$.legal_entity_id", "invalid", "legal entity not found")])
    assert le is not None
    errors = validators.check_employee_type("$.employee_type", body.employee_type, le.type)
    errors += validators.check_dictionary("$.position", body.position, "POSITION")
    if body.division_id is not None:
        owner = (
            await conn.execute(select(divisions.c.legal_entity_id).where(divisions.c.id == body.division_id))
        ).scalar_one_or_none()
        if owner != body.legal_entity_id:
            errors.append(invalid_entry("$.division_id", "invalid", "division not found in this legal entity"))
    if body.end_date is not None and body.end_date < body.start_date:
        errors.append(invalid_entry("$.end_date", "invalid", "end date is before start date"))
    errors += _validate_party(body.party)
    professional_errors, speciality = _validate_professional(body)
    validators.raise_if(errors + professional_errors)
    if le.status != "ACTIVE":
        raise Conflict("Legal entity is not active")
    return speciality


def _party_values(body: schemas.EmployeeCreate) -> dict[str, Any]:
    values = schemas.columns(body.party, PARTY_JSONB)
    block = body.doctor or body.pharmacist
    if block is not None:
        values |= block.model_dump(mode="json")
    return values


async def _upsert_party(conn: AsyncConnection, body: schemas.EmployeeCreate) -> uuid.UUID:
    """One party per person: a doctor employed by a second legal entity keeps one party (and one limit)."""
    existing = (
        await conn.execute(
            select(parties.c.id)
            .where(parties.c.tax_id == body.party.tax_id, parties.c.no_tax_id == body.party.no_tax_id)
            .limit(1)
            .with_for_update()
        )
    ).scalar_one_or_none()
    values = _party_values(body)
    if existing is not None:
        await conn.execute(
            parties.update().where(parties.c.id == existing).values({**values, "updated_at": func.now()})
        )
        return existing
    party_id = uuid7()
    await conn.execute(parties.insert().values({**values, "id": party_id}))
    return party_id


async def create_employee(conn: AsyncConnection, body: schemas.EmployeeCreate, actor: Actor) -> RowMapping:
    speciality = await _validate(conn, body)
    party_id = await _upsert_party(conn, body)
    id_ = uuid7()
    await conn.execute(
        employees.insert().values(
            id=id_,
            legal_entity_id=body.legal_entity_id,
            division_id=body.division_id,
            party_id=party_id,
            employee_type=body.employee_type,
            position=body.position,
            status=body.status,
            is_active=True,
            start_date=body.start_date,
            end_date=body.end_date,
            speciality=speciality,
        )
    )
    await record_status_change(
        conn,
        entity_type="Employee",
        entity_id=id_,
        new_status=body.status,
        changed_by=actor.user_id,
        legal_entity_id=body.legal_entity_id,
    )
    await audit.record(
        conn,
        action="employee.create",
        resource_type="employee",
        resource_id=id_,
        actor=actor,
        details={"party_id": str(party_id)},
    )
    return await get_employee(conn, id_, None)


def _request_shape(row: RowMapping) -> dict[str, Any]:
    e, p = (
        {k[2:]: v for k, v in row.items() if k.startswith("e_")},
        {k[2:]: v for k, v in row.items() if k.startswith("p_")},
    )
    body = {name: e[name] for name in ("legal_entity_id", "division_id", "position", "employee_type", "status")}
    body |= {"start_date": e["start_date"], "end_date": e["end_date"]}
    body["party"] = {name: p[name] for name in schemas.Party.model_fields}
    key = _professional_key(e["employee_type"])
    if key:
        body[key] = {name: p[name] for name in schemas.Professional.model_fields}
    return body


async def update_employee(conn: AsyncConnection, id_: uuid.UUID, patch: dict[str, Any], actor: Actor) -> RowMapping:
    await get_row(conn, employees, id_, "Employee not found", lock=True)
    current = await get_employee(conn, id_, None)
    if current["e_status"] == "DISMISSED":
        raise Conflict("Employee is dismissed")
    body = schemas.parse(schemas.EmployeeCreate, schemas.deep_merge(_request_shape(current), patch))
    if body.legal_entity_id != current["e_legal_entity_id"] or body.party.tax_id != current["p_tax_id"]:
        validators.raise_if([invalid_entry("$.legal_entity_id", "invalid", "legal entity and tax id cannot change")])
    speciality = await _validate(conn, body)
    await conn.execute(
        parties.update()
        .where(parties.c.id == current["e_party_id"])
        .values({**_party_values(body), "updated_at": func.now()})
    )
    await conn.execute(
        employees.update()
        .where(employees.c.id == id_)
        .values(
            division_id=body.division_id,
            employee_type=body.employee_type,
            position=body.position,
            status=body.status,
            start_date=body.start_date,
            end_date=body.end_date,
            speciality=speciality,
            updated_at=func.now(),
        )
    )
    await record_status_change(
        conn,
        entity_type="Employee",
        entity_id=id_,
        new_status=body.status,
        old_status=current["e_status"],
        changed_by=actor.user_id,
        legal_entity_id=body.legal_entity_id,
    )
    await audit.record(
        conn,
        action="employee.update",
        resource_type="employee",
        resource_id=id_,
        actor=actor,
        details={"fields": sorted(patch)},
    )
    return await get_employee(conn, id_, None)


async def deactivate_employee(
    conn: AsyncConnection, id_: uuid.UUID, body: schemas.EmployeeDeactivate, actor: Actor
) -> RowMapping:
    """Dismissal: the employee becomes DISMISSED and the doctor's declarations are terminated."""
    row = await get_row(conn, employees, id_, "Employee not found", lock=True)
    if row["status"] == "DISMISSED":
        raise Conflict("Employee is already dismissed")
    await conn.execute(
        employees.update()
        .where(employees.c.id == id_)
        .values(
            status="DISMISSED",
            is_active=False,
            end_date=validators.today(),
            status_reason=body.reason,
            updated_at=func.now(),
        )
    )
    await record_status_change(
        conn,
        entity_type="Employee",
        entity_id=id_,
        new_status="DISMISSED",
        changed_by=actor.user_id,
        legal_entity_id=row["legal_entity_id"],
    )
    terminated = await declaration_service.terminate_for_employee(conn, id_, actor)
    await audit.record(
        conn,
        action="employee.deactivate",
        resource_type="employee",
        resource_id=id_,
        actor=actor,
        details={"terminated_declarations": terminated},
    )
    return await get_employee(conn, id_, None)
