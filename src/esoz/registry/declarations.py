"""Declarations (the primary-care link doctor <-> patient): reads, admin creation, termination.

One active declaration per person (partial unique index); a new one terminates the previous one
("re-signing"). Rows are locked in a fixed order — person, then the doctor's party — so concurrent
signings for one patient or one doctor serialise instead of breaking the limit or the index.
"""

import functools
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, Text, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, numbers
from esoz.core.audit import Actor
from esoz.core.errors import Conflict, Forbidden, NotFound, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.ids import uuid7
from esoz.core.pagination import KeysetPaging, KeysetParams, PageParams, Paging, keyset_page
from esoz.core.rows import RowLike, first
from esoz.events.service import record_status_change, record_status_changes
from esoz.registry import person_links, schemas, validators
from esoz.registry.models import declarations, divisions, employees, legal_entities, parties, persons
from esoz.registry.reference import rules
from esoz.registry.render import labelled
from esoz.registry.service import fetch_page

ACTIVE_STATUSES = ("active", "pending_verification")
# PRM global parameter `declaration_term` (fixture value 365 DAYS, §6.2); callers may pass another term.
DEFAULT_TERM_DAYS = 365
LIMIT_REACHED = "This doctor reaches his limit and could not sign more declarations"
RESIGNED = "Пацієнт підписав декларацію з іншим лікарем"

_PERSON_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "second_name",
    "birth_date",
    "gender",
    "tax_id",
    "phones",
    "birth_country",
    "birth_settlement",
    "emergency_contact",
    "confidant_person",
]
_PARTY_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "second_name",
    "educations",
    "qualifications",
    "specialities",
    "science_degree",
]


@functools.cache  # the statement is immutable (`.where` returns a copy): build its ~100 labels once
def _joined() -> Select[Any]:
    d, e = declarations, employees
    return select(
        *labelled(d, "dc_"),
        *labelled(persons, "ps_", _PERSON_COLUMNS),
        *labelled(e, "e_"),
        *labelled(parties, "p_", _PARTY_COLUMNS),
        *labelled(divisions, "d_"),
        *labelled(legal_entities, "le_"),
    ).select_from(
        d.join(persons, persons.c.id == d.c.person_id)
        .join(e, e.c.id == d.c.employee_id)
        .join(parties, parties.c.id == e.c.party_id)
        .join(divisions, divisions.c.id == d.c.division_id)
        .join(legal_entities, legal_entities.c.id == d.c.legal_entity_id)
    )


# The two hottest reads as whole statements built once: SQLAlchemy memoizes the cache key on the statement
# object, so a request does not re-derive it over ~100 columns (bench/README.md).
# They run through core.fastsql (asyncpg directly): the SQLAlchemy execute path was most of a read's CPU.
_BY_ID = FastQuery(_joined().where(declarations.c.id == bindparam("id_")))
_ACTIVE_OF_PERSON = FastQuery(
    _joined().where(
        declarations.c.person_id == bindparam("person_id"),
        # = ANY(array) rather than IN (...): an expanding IN list needs SQLAlchemy's execute path.
        declarations.c.status == any_(bindparam("active", value=list(ACTIVE_STATUSES), type_=ARRAY(Text))),
    )
)


# --- reads ------------------------------------------------------------------------------------------


async def list_declarations(
    conn: AsyncConnection,
    page: PageParams,
    legal_entity_filter: uuid.UUID | None,
    actor: Actor,
    *,
    employee_id: uuid.UUID | None = None,
    legal_entity_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    status: str | None = None,
    declaration_number: str | None = None,
    reason: str | None = None,
    keyset: KeysetParams | None = None,
) -> tuple[Sequence[RowMapping], Paging | KeysetPaging]:
    d = declarations
    filters = {
        d.c.employee_id: employee_id,
        d.c.legal_entity_id: legal_entity_id,
        d.c.person_id: person_id,
        d.c.status: status,
        d.c.declaration_number: declaration_number,
        d.c.reason: reason,
    }
    conditions = [column == value for column, value in filters.items() if value is not None]
    if legal_entity_filter is not None:
        conditions.append(d.c.legal_entity_id == legal_entity_filter)
    paging: Paging | KeysetPaging
    if keyset is not None:  # huge lists (НСЗУ over the whole country): no COUNT, no OFFSET
        rows, paging = await keyset_page(
            conn, _joined().where(*conditions), (d.c.inserted_at, d.c.id), keyset, ("dc_inserted_at", "dc_id")
        )
    else:
        query = _joined().where(*conditions).order_by(d.c.inserted_at.desc(), d.c.id.desc())
        count_query = select(func.count()).select_from(d).where(*conditions)
        rows, paging = await fetch_page(conn, query, page, count_query)
    # Whose declarations were listed is recorded per patient by the route's declaration (core.patient_data).
    return rows, paging


async def get_declaration(
    conn: AsyncConnection, id_: uuid.UUID, legal_entity_filter: uuid.UUID | None, actor: Actor
) -> RowLike:
    row = await first(_BY_ID, conn, id_=id_)
    if row is None or (legal_entity_filter is not None and row["dc_legal_entity_id"] != legal_entity_filter):
        raise NotFound("Declaration not found")
    return row


async def get_person_declaration(
    conn: AsyncConnection, person_id: uuid.UUID, legal_entity_filter: uuid.UUID | None, actor: Actor
) -> RowLike:
    row = await first(_ACTIVE_OF_PERSON, conn, person_id=person_id)
    if row is None:  # a merged-away id leads to the survivor's declaration
        survivor = await person_links.merged_into(conn, person_id=person_id)
        row = None if survivor is None else await first(_ACTIVE_OF_PERSON, conn, person_id=survivor)
    if row is None:
        raise NotFound("Declaration not found")
    if legal_entity_filter is not None and row["dc_legal_entity_id"] != legal_entity_filter:
        # A refused look-up is recorded here; a successful one by the route's declaration (core.patient_data).
        await audit.record(
            conn,
            action="person.declaration.read",
            resource_type="person",
            resource_id=person_id,
            outcome="denied",
            actor=actor,
            details={"declaration_id": str(row["dc_id"])},
            person_id=person_id,
        )
        raise Forbidden("Active declaration belongs to another msp")
    return row


async def get_declaration_row(conn: AsyncConnection, id_: uuid.UUID) -> RowMapping:
    """The joined row for rendering after a write (no audit: the write is audited)."""
    return (await conn.execute(_BY_ID.stmt, {"id_": id_})).mappings().one()


# --- writes -----------------------------------------------------------------------------------------


def _bad(entry: str, description: str) -> validators.Invalid:
    return [invalid_entry(entry, "invalid", description)]


async def _load_doctor(conn: AsyncConnection, employee_id: uuid.UUID) -> RowMapping:
    e = employees
    query = (
        select(
            e.c.id,
            e.c.employee_type,
            e.c.status,
            e.c.is_active,
            e.c.speciality,
            e.c.legal_entity_id,
            e.c.party_id,
            parties.c.declaration_limit,
            legal_entities.c.type.label("le_type"),
            legal_entities.c.status.label("le_status"),
        )
        .select_from(
            e.join(parties, parties.c.id == e.c.party_id).join(
                legal_entities, legal_entities.c.id == e.c.legal_entity_id
            )
        )
        .where(e.c.id == employee_id)
        .with_for_update(of=parties)
    )
    doctor = (await conn.execute(query)).mappings().first()
    if doctor is None:
        validators.raise_if(_bad("$.employee_id", "employee not found"))
    assert doctor is not None
    speciality = (doctor["speciality"] or {}).get("speciality")
    errors: validators.Invalid = []
    if doctor["employee_type"] != "DOCTOR":
        errors += _bad("$.employee_id", "Employee ID must reference a doctor")
    elif speciality not in rules()["doctor_specialities_for_declarations"]:
        errors += _bad("$.employee_id", "Employee's speciality does not allow signing declarations")
    if doctor["status"] != "APPROVED" or not doctor["is_active"]:
        errors += _bad("$.employee_id", "Invalid employee status")
    if doctor["le_type"] not in rules()["declaration_legal_entity_types"]:
        errors += _bad("$.employee_id", f"Legal entity type {doctor['le_type']} cannot sign declarations")
    validators.raise_if(errors)
    if doctor["le_status"] != "ACTIVE":
        raise Conflict("Legal entity is not active")
    return doctor


async def _check_limit(
    conn: AsyncConnection, doctor: RowMapping, person_id: uuid.UUID, overlimit: bool, default: int | None = None
) -> None:
    """Per-doctor limit across all the doctor's employments (a party may work for several legal entities);
    `default` (the configured limit of the speciality) applies when the doctor has no limit of their own."""
    if default is None:
        default = validators.declaration_limit(doctor["speciality"]["speciality"])
    limit = doctor["declaration_limit"] or default
    if limit is None or overlimit:
        return
    count_query = (
        select(func.count())
        .select_from(declarations.join(employees, employees.c.id == declarations.c.employee_id))
        .where(
            employees.c.party_id == doctor["party_id"],
            declarations.c.status.in_(ACTIVE_STATUSES),
            declarations.c.person_id != person_id,  # re-signing with the same doctor does not add one
        )
    )
    if (await conn.execute(count_query)).scalar_one() >= limit:
        raise Conflict(LIMIT_REACHED)


async def create_declaration(
    conn: AsyncConnection,
    body: schemas.DeclarationCreate,
    actor: Actor,
    term_days: int = DEFAULT_TERM_DAYS,
    *,
    preset: tuple[uuid.UUID, str] | None = None,
    default_limit: int | None = None,
) -> RowMapping:
    """`preset`: the id and number a declaration request already showed the patient (else new ones);
    `default_limit`: the configured limit of the doctor's speciality (else the shipped rules)."""
    on = validators.today()
    person = (
        (await conn.execute(select(persons).where(persons.c.id == body.person_id).with_for_update())).mappings().first()
    )
    if person is None:
        validators.raise_if(_bad("$.person_id", "person not found"))
    assert person is not None
    if person["status"] != "active":
        raise Conflict("Person is not active")
    doctor = await _load_doctor(conn, body.employee_id)
    division = (
        await conn.execute(
            select(divisions.c.legal_entity_id, divisions.c.status).where(divisions.c.id == body.division_id)
        )
    ).first()
    errors: validators.Invalid = []
    if division is None or division.legal_entity_id != doctor["legal_entity_id"]:
        errors += _bad("$.division_id", "division not found in the employee's legal entity")
    elif division.status != "ACTIVE":
        errors += _bad("$.division_id", "division is not active")
    if not validators.speciality_fits_age(doctor["speciality"]["speciality"], person["birth_date"], on):
        errors += _bad("$.person_id", "Doctor speciality doesn't match patient's age")
    start = body.start_date or on
    if start < on:
        errors += _bad("$.start_date", "start date cannot be in the past")
    validators.raise_if(errors)
    await _check_limit(conn, doctor, body.person_id, body.overlimit, default_limit)

    previous = await _terminate(
        conn, declarations.c.person_id == body.person_id, "manual_person", RESIGNED, actor, audit_each=True
    )
    id_, number = preset if preset is not None else (uuid7(), await numbers.issue(conn, "declaration", groups=2))
    await conn.execute(
        declarations.insert().values(
            id=id_,
            person_id=body.person_id,
            declaration_number=number,
            employee_id=body.employee_id,
            division_id=body.division_id,
            legal_entity_id=doctor["legal_entity_id"],
            start_date=start,
            end_date=_end_date(doctor["speciality"]["speciality"], start, term_days, person["birth_date"]),
            signed_at=func.now(),
            status=_initial_status(person),
            scope=body.scope,
            overlimit=body.overlimit,
            declaration_request_id=body.declaration_request_id,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
    )
    await record_status_change(
        conn,
        entity_type="Declaration",
        entity_id=id_,
        new_status=_initial_status(person),
        changed_by=actor.user_id,
        legal_entity_id=doctor["legal_entity_id"],
    )
    await audit.record(
        conn,
        action="declaration.create",
        resource_type="declaration",
        resource_id=id_,
        actor=actor,
        details={
            "person_id": str(body.person_id),
            "terminated": [str(p) for p in previous],
            "overlimit": body.overlimit,
        },
        person_id=body.person_id,
    )
    return await get_declaration_row(conn, id_)


def _end_date(speciality: str, start: date, term_days: int, birth_date: date) -> date:
    """start + term; a pediatrician's declaration with a child ends the day before the 18th birthday (PRM rule)."""
    end = start + timedelta(days=term_days)
    adult_age = rules()["person_age_limits"]["adult_age"]
    if speciality == "PEDIATRICIAN" and validators.age_on(birth_date, start) < adult_age:
        try:
            adult = birth_date.replace(year=birth_date.year + adult_age)
        except ValueError:  # born on 29 February
            adult = date(birth_date.year + adult_age, 3, 1)
        end = min(end, adult - timedelta(days=1))
    return end


def _initial_status(person: RowMapping) -> str:
    """A patient identified by documents (OFFLINE) waits for НСЗУ verification, as in the real system."""
    methods = [m for m in person["authentication_methods"] or [] if m.get("type") != "THIRD_PERSON"]
    return "pending_verification" if methods and methods[0].get("type") == "OFFLINE" else "active"


async def _terminate(
    conn: AsyncConnection, condition: Any, reason: str, description: str | None, actor: Actor, *, audit_each: bool
) -> list[uuid.UUID]:
    stmt = (
        declarations.update()
        .where(condition, declarations.c.status.in_(ACTIVE_STATUSES))
        .values(
            status="terminated",
            reason=reason,
            reason_description=description,
            updated_at=func.now(),
            updated_by=actor.user_id,
        )
        .returning(declarations.c.id, declarations.c.legal_entity_id)
    )
    rows = (await conn.execute(stmt)).all()
    ids = [row.id for row in rows]
    by_entity: dict[uuid.UUID, list[uuid.UUID]] = {}
    for row in rows:
        by_entity.setdefault(row.legal_entity_id, []).append(row.id)
    for legal_entity_id, entity_ids in by_entity.items():  # one INSERT per legal entity, however many rows
        await record_status_changes(
            conn,
            entity_type="Declaration",
            entity_ids=entity_ids,
            new_status="terminated",
            changed_by=actor.user_id,
            legal_entity_id=legal_entity_id,
        )
    if audit_each:
        for id_ in ids:
            await audit.record(
                conn,
                action="declaration.terminate",
                resource_type="declaration",
                resource_id=id_,
                actor=actor,
                details={"reason": reason},
            )
    return ids


async def terminate_declaration(
    conn: AsyncConnection, id_: uuid.UUID, body: schemas.DeclarationTerminate, actor: Actor
) -> RowMapping:
    status = (
        await conn.execute(select(declarations.c.status).where(declarations.c.id == id_).with_for_update())
    ).scalar_one_or_none()
    if status is None:
        raise NotFound("Declaration not found")
    if status not in ACTIVE_STATUSES:
        raise Conflict(f"Declaration is {status}: only an active declaration can be terminated")
    await _terminate(conn, declarations.c.id == id_, body.reason, body.reason_description, actor, audit_each=True)
    return await get_declaration_row(conn, id_)


async def terminate_for_employee(conn: AsyncConnection, employee_id: uuid.UUID, actor: Actor) -> int:
    """Dismissal of a doctor ends their declarations (one audit row for the batch, which can be ~2000)."""
    ids = await _terminate(
        conn, declarations.c.employee_id == employee_id, "auto_employee_deactivate", None, actor, audit_each=False
    )
    return len(ids)
