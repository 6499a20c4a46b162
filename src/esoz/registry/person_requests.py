"""Person requests (v2): a person is created or updated only through a request the patient confirms and an
employee signs.

    NEW --approve (SMS code to the authentication phone, or the documents path)--> APPROVED --sign--> SIGNED
    NEW | APPROVED --reject--> REJECTED

The documents are validated when the request is made (persons._validate: РНОКПП check digit, passport and
ID-card formats, birth certificate, УНЗР). The master patient index (mpi.py) is asked twice: when the request is
made (a human it already holds is refused with the match) and, under the identity lock, when it is signed, so two
concurrent requests for the same new human make one person. The signing itself runs in `esoz.enrolment`.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import ApiError, Conflict, ValidationFailed, invalid_entry
from esoz.core.ids import uuid7
from esoz.core.pagination import PageParams, Paging
from esoz.notifications.service import queue_sms
from esoz.registry import mpi, persons, repository, request_codes, request_rows, schemas
from esoz.registry.models import employees, parties, person_requests
from esoz.registry.render import mask_phone
from esoz.registry.service import fetch_page
from esoz.settings import Settings

NEW, APPROVED, SIGNED, REJECTED = "NEW", "APPROVED", "SIGNED", "REJECTED"
EXPIRATION = timedelta(days=1)
T = person_requests
DUPLICATE = "Such person already exists"


@dataclass(frozen=True, kw_only=True)
class SignTarget:
    row: RowMapping


def render(row: RowMapping, *, with_signed_data: bool = False) -> dict[str, Any]:
    keys = "id status status_reason person_id person patient_signed process_disclosure_data_consent"
    out = {k: row[k] for k in (*keys.split(), "inserted_at", "updated_at")}
    out["channel"], out["authorize_with"] = "MIS", None
    if with_signed_data:
        out["data_to_be_signed"] = data_to_be_signed(row)
        out["content"] = out["data_to_be_signed"]["content"]
    return out


def render_v1(row: RowMapping) -> dict[str, Any]:
    """The v1 answer: the person to update named inside `person` (its `id`), the printout once the patient
    confirmed. It is also what the v1 sign compares the signed content with (`status`, `channel` and
    `authorize_with` aside)."""
    person = dict(row["person"])
    if row["person_id"] is not None:
        person = {"id": str(row["person_id"]), **person}
    method = row["authentication_method_current"] or {}
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "person": person,
        "patient_signed": row["patient_signed"],
        "process_disclosure_data_consent": row["process_disclosure_data_consent"],
        "content": data_to_be_signed(row)["content"] if row["status"] in (APPROVED, SIGNED) else None,
        "channel": "MIS",
        "authorize_with": method.get("id"),
    }


def data_to_be_signed(row: RowMapping) -> dict[str, Any]:
    """What the employee signs: the request as the patient confirmed it."""
    person = row["person"]
    name = " ".join(p for p in (person["last_name"], person["first_name"], person.get("second_name")) if p)
    action = "зміну даних" if row["person_id"] is not None else "внесення до реєстру пацієнтів"
    return {
        "id": str(row["id"]),
        "person_id": str(row["person_id"]) if row["person_id"] is not None else None,
        "person": person,
        "patient_signed": row["patient_signed"],
        "process_disclosure_data_consent": row["process_disclosure_data_consent"],
        "content": f"Запит на {action}: {name}, дата народження {person['birth_date']}. "
        "Пацієнт підтвердив дані кодом із SMS або документами.",
    }


def _duplicate(match: mpi.Match) -> ApiError:
    return ApiError(
        409,
        "request_conflict",
        DUPLICATE,
        [invalid_entry("$.person", "duplicate", DUPLICATE, {"person_id": str(match.person_id), "by": match.reason})],
    )


def _method(person: dict[str, Any]) -> dict[str, Any]:
    for method in person.get("authentication_methods") or []:
        if method.get("type") == "OTP" and method.get("phone_number"):
            return {"type": "OTP", "number": method["phone_number"]}
    return {"type": "OFFLINE"}


async def create(
    conn: AsyncConnection,
    *,
    body: Any,
    auth: AuthContext,
    settings: Settings,
    authorize_with: uuid.UUID | None = None,
) -> tuple[RowMapping, dict[str, Any]]:
    """A new request (NEW) and the patient's SMS code. `authorize_with` names the known person's method that
    confirms (a new person has none on record yet, so it is refused for one)."""
    persons._validate(body.person)  # the registry's own person rules (РНОКПП, documents, УНЗР)
    person = body.person.model_dump(mode="json")
    # A new person confirms with the phone they give; a known person with the one already on record, so a
    # request cannot change the phone and confirm the change itself.
    method = _method(person)
    if body.person_id is not None:
        survivor = await mpi.merged_into(conn, person_id=body.person_id)
        if survivor is not None:
            raise ValidationFailed([invalid_entry("$.person_id", "invalid", f"Person was merged into {survivor}")])
        target = await repository.get_person(conn, person_id=body.person_id)
        if target is None or target.status != "active":
            raise ValidationFailed([invalid_entry("$.person_id", "invalid", "Person not found")])
        methods = list(target.authentication_methods or [])
        if authorize_with is not None:
            methods = [m for m in methods if str(m.get("id")) == str(authorize_with)]
            if not methods:
                raise ValidationFailed(
                    [invalid_entry("$.authorize_with", "invalid", "Authentication method not found")]
                )
        method = _method({"authentication_methods": methods})
        if authorize_with is not None:
            method["id"] = str(authorize_with)
    elif authorize_with is not None:
        raise ValidationFailed([invalid_entry("$.authorize_with", "invalid", "Authentication method not found")])
    match = await mpi.find_match(conn, person, exclude=body.person_id)
    if match is not None:
        raise _duplicate(match)
    if auth.legal_entity_id is None:
        raise Conflict("A person request is made by a legal entity's employee")
    id_ = uuid7()
    code = request_codes.issue(id_, settings) if method["type"] == "OTP" else None
    now = clock.now()
    values = {
        "id": id_,
        "person_id": body.person_id,
        "legal_entity_id": auth.legal_entity_id,
        "status": NEW,
        "person": person,
        "patient_signed": body.patient_signed,
        "process_disclosure_data_consent": body.process_disclosure_data_consent,
        "authentication_method_current": method,
        "otp_hash": code.hash if code else None,
        "otp_expires_at": code.expires_at if code else None,
        "otp_sends": 1 if code else 0,
        "expires_at": now + EXPIRATION,
        "inserted_at": now,
        "updated_at": now,
        "inserted_by": auth.user_id,
        "updated_by": auth.user_id,
    }
    row = (await conn.execute(T.insert().values(values).returning(*T.c))).mappings().one()
    if code is not None:
        await queue_sms(
            conn,
            phone=method["number"],
            text=f"Код підтвердження запиту на реєстрацію пацієнта в ЕСОЗ: {code.code}",
            kind="person_request_otp",
            idempotency_key=f"person-request-otp:{id_}",
        )
    await audit.record(
        conn, action="person_request.create", resource_type="person_request", resource_id=id_, actor=auth.actor,
        person_id=body.person_id,
    )  # fmt: skip
    return row, {"authentication_method_current": {"type": method["type"], "number": mask_phone(method.get("number"))}}


async def _row(conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext, *, lock: bool = False) -> RowMapping:
    return await request_rows.visible(conn, T, id_=id_, auth=auth, not_found="Person request not found", lock=lock)


async def get(conn: AsyncConnection, *, id_: uuid.UUID, auth: AuthContext) -> RowMapping:
    return await _row(conn, id_, auth)


async def list_(
    conn: AsyncConnection,
    *,
    auth: AuthContext,
    page: PageParams,
    status: str | None = None,
    legal_entity_id: uuid.UUID | None = None,
) -> tuple[Sequence[RowMapping], Paging]:
    """The requests of the caller's legal entity (an NHS caller: of any, or of `legal_entity_id`), newest first."""
    conditions: list[Any] = []
    if auth.legal_entity_filter is not None:
        conditions.append(T.c.legal_entity_id == auth.legal_entity_id)
    for column, value in ((T.c.status, status), (T.c.legal_entity_id, legal_entity_id)):
        if value is not None:
            conditions.append(column == value)
    query = select(T).where(*conditions).order_by(T.c.inserted_at.desc(), T.c.id.desc())
    return await fetch_page(conn, query, page, select(func.count()).select_from(T).where(*conditions))


async def resend_otp(conn: AsyncConnection, *, id_: uuid.UUID, auth: AuthContext, settings: Settings) -> RowMapping:
    """A new SMS code to the phone the request confirms with; the earlier one stops working."""
    row = await _row(conn, id_, auth, lock=True)
    method = row["authentication_method_current"] or {}
    if row["status"] != NEW or method.get("type") != "OTP":
        raise Conflict("Person request has no code to resend")
    if row["expires_at"] <= clock.now():
        raise Conflict("Person request has expired")
    code, updated = await request_codes.reissue(conn, T, row, settings)
    await queue_sms(
        conn, phone=method["number"], text=f"Код підтвердження запиту на реєстрацію пацієнта в ЕСОЗ: {code.code}",
        kind="person_request_otp", idempotency_key=f"person-request-otp:{row['id']}:{uuid.uuid4()}",
    )  # fmt: skip
    return updated


async def _set_status(
    conn: AsyncConnection, row: RowMapping, status: str, auth: AuthContext, **values: Any
) -> RowMapping:
    updated = await request_rows.set_status(conn, T, row, status, user=auth.user_id, **values)
    await audit.record(
        conn, action=f"person_request.{status.lower()}", resource_type="person_request", resource_id=row["id"],
        actor=auth.actor, person_id=updated["person_id"],
    )  # fmt: skip
    return updated


async def approve(
    conn: AsyncConnection, *, id_: uuid.UUID, code: int | str | None, auth: AuthContext, settings: Settings
) -> RowMapping:
    row = await _row(conn, id_, auth, lock=True)
    if row["status"] != NEW:
        raise Conflict(f"Invalid person request status: {row['status']}")
    if row["expires_at"] <= clock.now():
        raise Conflict("Person request has expired")
    if (row["authentication_method_current"] or {}).get("type") == "OTP":
        await request_codes.check(conn, T, row, None if code is None else str(code), settings)
    return await _set_status(conn, row, APPROVED, auth, otp_hash=None, otp_expires_at=None)


async def reject(conn: AsyncConnection, *, id_: uuid.UUID, reason: str | None, auth: AuthContext) -> RowMapping:
    row = await _row(conn, id_, auth, lock=True)
    if row["status"] not in (NEW, APPROVED):
        raise Conflict(f"Invalid person request status: {row['status']}")
    return await _set_status(conn, row, REJECTED, auth, status_reason=reason or "rejected", otp_hash=None)


async def for_sign(conn: AsyncConnection, *, id_: uuid.UUID, auth: AuthContext) -> SignTarget:
    row = await _row(conn, id_, auth, lock=True)
    if row["status"] != APPROVED:
        raise ValidationFailed([invalid_entry("$.status", "invalid", "incorrect status")], "incorrect status")
    return SignTarget(row=row)


async def signer_works_here(conn: AsyncConnection, *, legal_entity_id: uuid.UUID, tax_id: str | None) -> bool:
    """Whether the certificate's owner is an approved, active employee of the legal entity."""
    if not tax_id:
        return False
    query = (
        select(employees.c.id)
        .select_from(employees.join(parties, parties.c.id == employees.c.party_id))
        .where(
            employees.c.legal_entity_id == legal_entity_id,
            employees.c.status == "APPROVED",
            employees.c.is_active,
            parties.c.tax_id == tax_id,
        )
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None


async def complete_sign(conn: AsyncConnection, *, target: SignTarget, auth: AuthContext) -> RowMapping:
    """The person is created (or updated): the index is asked again under the identity lock."""
    row = target.row
    person = row["person"]
    await mpi.lock_identity(conn, person)
    match = await mpi.find_match(conn, person, exclude=row["person_id"])
    if match is not None:
        raise _duplicate(match)
    data = {**person, "patient_signed": row["patient_signed"]}
    data["process_disclosure_data_consent"] = row["process_disclosure_data_consent"]
    if row["person_id"] is None:
        created = await persons.create_person(conn, schemas.PersonCreate.model_validate({"person": data}), auth.actor)
        person_id = created["id"]
        await mpi.add_candidates(conn, person_id, await mpi.near_matches(conn, person_id, person))
    else:
        person_id = row["person_id"]
        await persons.update_person(conn, person_id, {"person": data}, auth.actor)
    return await _set_status(conn, row, SIGNED, auth, person_id=person_id)
