"""Persons (MPI): exact-match search for MIS, admin create/update with the validation rules of §6.1."""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, String, bindparam, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit
from esoz.core.audit import Actor
from esoz.core.errors import TooManyResults, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.ids import uuid7
from esoz.core.rows import RowLike, all_rows
from esoz.registry import person_links, schemas, validators
from esoz.registry.models import persons
from esoz.registry.service import get_row

PERSON_JSONB = {"documents", "phones", "addresses", "emergency_contact", "confidant_person"}


# --- search -----------------------------------------------------------------------------------------


# The exact-match search is the mix's most frequent request (bench/README.md): its common shapes
# (names + birth date, optionally + second name / tax id / UNZR) are built and compiled once per shape and
# run through core.fastsql; the JSONB-contains variants (phone, birth certificate) stay on SQLAlchemy's path.
_SEARCH: dict[tuple[bool, bool, bool], FastQuery] = {}


def _search_base() -> Select[Any]:
    p = persons
    return select(p).where(
        func.lower(p.c.last_name) == bindparam("last_name", type_=String),
        func.lower(p.c.first_name) == bindparam("first_name", type_=String),
        p.c.birth_date == bindparam("birth_date"),
        p.c.status == "active",
    )


def _search_query(second_name: bool, tax_id: bool, unzr: bool) -> FastQuery:
    key = (second_name, tax_id, unzr)
    query = _SEARCH.get(key)
    if query is None:
        p = persons
        stmt = _search_base()
        if second_name:
            stmt = stmt.where(func.lower(p.c.second_name) == bindparam("second_name", type_=String))
        if tax_id:
            stmt = stmt.where(p.c.tax_id == bindparam("tax_id"))
        if unzr:
            stmt = stmt.where(p.c.unzr == bindparam("unzr"))
        # Two rows are enough to know the match is not exact.
        query = _SEARCH[key] = FastQuery(stmt.limit(2))
    return query


async def search(
    conn: AsyncConnection,
    actor: Actor,
    *,
    first_name: str,
    last_name: str,
    birth_date: date,
    second_name: str | None = None,
    tax_id: str | None = None,
    unzr: str | None = None,
    phone_number: str | None = None,
    birth_certificate: str | None = None,
) -> tuple[Sequence[RowLike], list[str]]:
    """Active persons matching every given field exactly (names case-insensitively); at most one.

    Returns the rows and the optional fields searched by, which the view echoes back (and only them).
    """
    params: dict[str, Any] = {
        "last_name": last_name.strip().lower(),
        "first_name": first_name.strip().lower(),
        "birth_date": birth_date,
    }
    if second_name is not None:
        params["second_name"] = second_name.strip().lower()
    if tax_id is not None:
        params["tax_id"] = tax_id
    if unzr is not None:
        params["unzr"] = unzr
    rows: Sequence[RowLike]
    if phone_number is None and birth_certificate is None:
        query = _search_query(second_name is not None, tax_id is not None, unzr is not None)
        rows = await all_rows(query, conn, **params)
    else:
        p = persons
        stmt = _search_query(second_name is not None, tax_id is not None, unzr is not None).stmt
        if phone_number is not None:
            stmt = stmt.where(p.c.phones.contains([{"type": "MOBILE", "number": phone_number}]))
        if birth_certificate is not None:
            stmt = stmt.where(p.c.documents.contains([{"type": "BIRTH_CERTIFICATE", "number": birth_certificate}]))
        rows = (await conn.execute(stmt, params)).mappings().all()
    optional = {
        "second_name": second_name,
        "tax_id": tax_id,
        "unzr": unzr,
        "phone_number": phone_number,
        "birth_certificate": birth_certificate,
    }
    requested = [name for name, value in optional.items() if value is not None]
    too_many = len(rows) > 1
    await audit.record(
        conn,
        action="person.search",
        resource_type="person",
        resource_id=rows[0]["id"] if len(rows) == 1 else None,
        outcome="too_many_results" if too_many else "success",
        actor=actor,
        # The criteria are personal data: only which fields were used goes to the log.
        details={"fields": ["first_name", "last_name", "birth_date", *requested], "found": min(len(rows), 2)},
        person_id=rows[0]["id"] if len(rows) == 1 else None,
    )
    if too_many:
        raise TooManyResults()
    return rows, [name for name in requested if name != "second_name"]


# --- admin ------------------------------------------------------------------------------------------


def _validate(person: schemas.Person) -> None:
    on = validators.today()
    base = "$.person"
    errors: validators.Invalid = []
    for name in ("first_name", "last_name", "second_name"):
        errors += validators.check_name(f"{base}.{name}", getattr(person, name))
    birth_errors = validators.check_birth_date(f"{base}.birth_date", person.birth_date, on)
    errors += birth_errors
    if person.tax_id is not None and not person.no_tax_id:
        errors += validators.check_tax_id(f"{base}.tax_id", person.tax_id)
    if not birth_errors:
        errors += validators.check_tax_id_presence(base, person.tax_id, person.no_tax_id, person.birth_date, on)
    if person.unzr is not None:
        errors += validators.check_unzr(f"{base}.unzr", person.unzr, person.birth_date)
    errors += validators.check_documents(f"{base}.documents", person.documents, on)
    errors += validators.check_phones(f"{base}.phones", person.phones)
    errors += validators.check_one_per_type(f"{base}.addresses", person.addresses, "address")
    errors += validators.check_one_per_type(f"{base}.authentication_methods", person.authentication_methods, "method")
    for i, method in enumerate(person.authentication_methods):
        path = f"{base}.authentication_methods[{i}].phone_number"
        if method.type == "OTP" and method.phone_number is None:
            errors.append(invalid_entry(path, "required", "required for OTP"))
        elif method.type == "OTP" and method.phone_number is not None:
            errors += validators.check_phone_number(path, method.phone_number)
        elif method.phone_number is not None:
            errors.append(invalid_entry(path, "invalid", "only OTP carries a phone number"))
    if person.emergency_contact is not None:
        errors += validators.check_phones(f"{base}.emergency_contact.phones", person.emergency_contact.phones)
    validators.raise_if(errors)


def _auth_methods(person: schemas.Person, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each method gets an id (MIS pass it as `authorize_with`); an unchanged method keeps its id and what an
    authentication method request recorded of it (alias, when and by whom it was added)."""
    known = {(m.get("type"), m.get("phone_number")): m for m in existing}
    out = []
    for m in person.authentication_methods:
        kept = known.get((m.type, m.phone_number)) or {}
        out.append({**kept, "id": kept.get("id") or str(uuid7()), "type": m.type, "phone_number": m.phone_number})
    return out


def _values(person: schemas.Person, existing_methods: list[dict[str, Any]], actor: Actor) -> dict[str, Any]:
    values = schemas.columns(person, PERSON_JSONB, exclude={"authentication_methods"})
    values["authentication_methods"] = _auth_methods(person, existing_methods)
    values["updated_by"] = actor.user_id
    return values


async def create_person(conn: AsyncConnection, body: schemas.PersonCreate, actor: Actor) -> RowMapping:
    _validate(body.person)
    values = _values(body.person, [], actor) | {"id": uuid7(), "inserted_by": actor.user_id}
    row = (await conn.execute(persons.insert().values(values).returning(*persons.c))).mappings().one()
    await audit.record(conn, action="person.create", resource_type="person", resource_id=row["id"], actor=actor)
    return row


async def get_person(conn: AsyncConnection, id_: uuid.UUID, actor: Actor) -> RowLike:
    # The read is recorded by the route's patient-data declaration (core.patient_data), once it succeeds.
    # A merged-away id leads to the survivor (the MPI keeps one record per human).
    return await get_row(conn, persons, await person_links.current_id(conn, person_id=id_), "Person not found")


async def update_person(conn: AsyncConnection, id_: uuid.UUID, patch: dict[str, Any], actor: Actor) -> RowMapping:
    current = await get_row(conn, persons, id_, "Person not found", lock=True)
    shape = {name: current[name] for name in schemas.Person.model_fields}
    # A confidant's methods (THIRD_PERSON) change only through authentication method requests: an update of the
    # person keeps them as they are.
    own = [m for m in current["authentication_methods"] if m.get("type") != "THIRD_PERSON"]
    confidants = [m for m in current["authentication_methods"] if m.get("type") == "THIRD_PERSON"]
    shape["authentication_methods"] = [{"type": m["type"], "phone_number": m.get("phone_number")} for m in own]
    body = schemas.parse(schemas.PersonCreate, schemas.deep_merge({"person": shape}, patch))
    _validate(body.person)
    values = _values(body.person, own, actor)
    values["authentication_methods"] += confidants
    stmt = (
        persons.update().where(persons.c.id == id_).values({**values, "updated_at": func.now()}).returning(*persons.c)
    )
    row = (await conn.execute(stmt)).mappings().one()
    fields = sorted((patch.get("person") or {}).keys()) if isinstance(patch.get("person"), dict) else []
    await audit.record(
        conn, action="person.update", resource_type="person", resource_id=id_, actor=actor, details={"fields": fields}
    )
    return row
