"""Who acts and on whom: the caller's party (the user behind the token), employees, persons, clinics.

Every prescription and dispense request runs these look-ups: they are statements built once and run through
core.fastsql (bench/README.md). Rows are plain mappings (`core.rows.first`).
"""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.auth import AuthContext
from esoz.core.errors import Forbidden
from esoz.core.fastsql import FastQuery
from esoz.core.rows import all_rows, first, get_row_by_id
from esoz.identity.models import users
from esoz.registry.models import divisions, employees, legal_entities, parties, persons

_CALLER_PARTY = FastQuery(
    select(parties).join(users, users.c.party_id == parties.c.id).where(users.c.id == bindparam("user_id"))
)
_CALLER_EMPLOYEES = FastQuery(
    select(employees)
    .join(users, users.c.party_id == employees.c.party_id)
    .where(
        users.c.id == bindparam("user_id"),
        employees.c.legal_entity_id == bindparam("legal_entity_id"),
        employees.c.status == "APPROVED",
        employees.c.is_active,
    )
)


async def caller_party(conn: AsyncConnection, auth: AuthContext) -> Mapping[str, Any] | None:
    """The registry party of the user behind the token (None for service users without one)."""
    if auth.user_id is None:
        return None
    return await first(_CALLER_PARTY, conn, user_id=auth.user_id)


async def caller_employees(conn: AsyncConnection, auth: AuthContext) -> list[Mapping[str, Any]]:
    """The caller's APPROVED, active employees in the legal entity of the token."""
    if auth.user_id is None or auth.legal_entity_id is None:
        return []
    return await all_rows(_CALLER_EMPLOYEES, conn, user_id=auth.user_id, legal_entity_id=auth.legal_entity_id)


def require_legal_entity(auth: AuthContext) -> uuid.UUID:
    if auth.legal_entity_id is None:
        raise Forbidden("Only a legal entity's client may do this")
    return auth.legal_entity_id


async def row(conn: AsyncConnection, table: Any, id_: uuid.UUID) -> Mapping[str, Any] | None:
    return await get_row_by_id(conn, table, id_)


async def legal_entity(conn: AsyncConnection, id_: uuid.UUID) -> Mapping[str, Any] | None:
    return await row(conn, legal_entities, id_)


async def division(conn: AsyncConnection, id_: uuid.UUID) -> Mapping[str, Any] | None:
    return await row(conn, divisions, id_)


async def person(conn: AsyncConnection, id_: uuid.UUID) -> Mapping[str, Any] | None:
    return await row(conn, persons, id_)


async def employee_with_party(
    conn: AsyncConnection, id_: uuid.UUID
) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    emp = await row(conn, employees, id_)
    if emp is None:
        return None
    party = await row(conn, parties, emp["party_id"])
    assert party is not None
    return emp, party


def speciality_of(emp: Any) -> str | None:
    spec = emp["speciality"]
    return spec.get("speciality") if isinstance(spec, dict) else None


def otp_phone(person_row: Any) -> str | None:
    """The patient's phone for prescription SMS: an OTP authentication method (the real system's rule)."""
    for method in person_row["authentication_methods"] or []:
        if method.get("type") == "OTP" and method.get("phone_number"):
            return method["phone_number"]
    return None


def mask_phone(phone: str | None) -> str | None:
    return None if not phone else phone[:6] + "*" * max(len(phone) - 8, 0) + phone[-2:]
