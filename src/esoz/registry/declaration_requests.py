"""Declaration requests (v3): a patient chooses a primary-care doctor.

    NEW --approve (patient's SMS code, or the documents path)--> APPROVED --sign (doctor's КЕП)--> SIGNED
    NEW | APPROVED --reject--> REJECTED ;  NEW | APPROVED --expiry job--> EXPIRED

The request fixes the future declaration's id and number and the text the patient reads (`data_to_be_signed`,
whose `content` is the printout); the doctor signs exactly that object. The doctor's limit is checked when the
request is made (the answer shows the count) and again, binding, when it is signed: the declaration is written
under the doctor's party row lock (declarations.create_declaration), so two signings for the last free place
serialise and exactly one wins.

The signature check itself belongs to the signatures domain, which sits above the registry: `esoz.enrolment`
runs the signed-write flow with `for_sign` (the locked request and its expected signer) and `complete_sign`.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock, numbers
from esoz.core.auth import AuthContext
from esoz.core.errors import ApiError, Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.core.ids import uuid7
from esoz.core.pagination import PageParams, Paging
from esoz.events.service import record_status_change
from esoz.notifications.service import queue_sms
from esoz.registry import declarations, mpi, person_links, repository, request_codes, request_rows, schemas, validators
from esoz.registry.models import declaration_requests, employees, persons
from esoz.registry.models import declarations as declarations_table
from esoz.registry.reference import dictionary_file
from esoz.registry.render import mask_phone
from esoz.registry.service import fetch_page
from esoz.settings import Settings

NEW, APPROVED, SIGNED, REJECTED, EXPIRED = "NEW", "APPROVED", "SIGNED", "REJECTED", "EXPIRED"
OPEN = (NEW, APPROVED)
ENTITY = "DeclarationRequest"
# PRM global parameter `declaration_request_expiration` (1 day): an unsigned request expires then.
EXPIRATION = timedelta(days=1)
T = declaration_requests
D = declarations_table


@dataclass(frozen=True, kw_only=True)
class SignTarget:
    """An approved request, locked, ready for the doctor's signature."""

    row: RowMapping
    doctor_tax_id: str


@dataclass(frozen=True, kw_only=True)
class SignedDeclaration:
    declaration: dict[str, Any]
    request_id: uuid.UUID
    legal_entity_id: uuid.UUID
    patient_phone: str | None
    sms_text: str
    terminated: tuple[uuid.UUID, ...]


def _bad(entry: str, description: str) -> ValidationFailed:
    return ValidationFailed([invalid_entry(entry, "invalid", description)])


def _fmt(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _full_name(who: Any) -> str:
    return " ".join(p for p in (who["last_name"], who["first_name"], who["second_name"]) if p)


def render(row: RowMapping, *, with_signed_data: bool = False) -> dict[str, Any]:
    out = {
        name: row[name]
        for name in (
            "id start_date end_date person_id employee_id division_id legal_entity_id declaration_number "
            "declaration_id parent_declaration_id status status_reason system_declaration_limit "
            "current_declaration_count channel authorize_with scope inserted_at updated_at"
        ).split()
    }
    if with_signed_data:
        out["data_to_be_signed"] = row["data_to_be_signed"]
    return out


def seed(row: RowMapping) -> str:
    """The v1 answers' `seed`: the SHA-256 of the document the doctor signs, so a v1 MIS can tell the request
    it shows is the one it signs (v1 took it into the signed object; it is not compared)."""
    canonical = json.dumps(row["data_to_be_signed"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def render_v1(row: RowMapping) -> dict[str, Any]:
    """The v1 (deprecated) answer: the document to sign spread out (person, employee, division, legal entity,
    printout), the request's own status, its `authorize_with` and the `seed`. Signing it as given passes the v1
    sign's comparison (`seed` and `authorize_with` aside)."""
    return {
        **row["data_to_be_signed"],
        "status": row["status"],
        "authorize_with": str(row["authorize_with"]) if row["authorize_with"] is not None else None,
        "seed": seed(row),
    }


def urgent(row: RowMapping) -> dict[str, Any]:
    """What the MIS tells the patient: how the request is confirmed (the phone masked)."""
    method = row["authentication_method_current"] or {"type": "NA"}
    return {"authentication_method_current": {"type": method["type"], "number": mask_phone(method.get("number"))}}


async def _active_count(conn: AsyncConnection, party_id: uuid.UUID) -> int:
    query = (
        select(func.count())
        .select_from(D.join(employees, employees.c.id == D.c.employee_id))
        .where(employees.c.party_id == party_id, D.c.status.in_(declarations.ACTIVE_STATUSES))
    )
    return int((await conn.execute(query)).scalar_one())


async def _check_room(
    conn: AsyncConnection, *, party_id: uuid.UUID, limit: int | None, person_id: uuid.UUID, employee_id: uuid.UUID
) -> int:
    """The doctor's active declarations; refused when they reach the limit (re-signing with the same doctor
    adds none). Advisory before the signature: the binding check runs under the lock when it is signed."""
    count = await _active_count(conn, party_id)
    if limit is not None and count >= limit:
        if not await repository.has_active_declaration(conn, person_id=person_id, employee_id=employee_id):
            raise ApiError(422, "request_malformed", f"This doctor has {count} declarations and could not sign more")
    return count


async def _patient(conn: AsyncConnection, person_id: uuid.UUID) -> RowMapping:
    survivor = await mpi.merged_into(conn, person_id=person_id)
    if survivor is not None:
        raise _bad("$.person_id", f"Person was merged into another person record ({survivor})")
    person = (await conn.execute(select(persons).where(persons.c.id == person_id))).mappings().first()
    if person is None:
        raise ApiError(
            422, "unverified", "Person not found", [invalid_entry("$.person_id", "invalid", "Person not found")]
        )
    if person["death_date"] is not None:
        raise _bad("$.person_id", "Person is deceased")
    if person["status"] != "active" or not person["is_active"]:
        raise _bad("$.person_id", "Person is not active")
    return person


def _auth_method(person: RowMapping, authorize_with: uuid.UUID | None) -> dict[str, Any]:
    # A confidant's method (THIRD_PERSON) does not confirm a declaration in esoz yet: the patient's own methods do.
    methods = [m for m in person["authentication_methods"] or [] if m.get("type") != "THIRD_PERSON"]
    if authorize_with is not None:
        methods = [m for m in methods if str(m.get("id")) == str(authorize_with)]
        if not methods:
            raise _bad("$.authorize_with", "Authentication method not found")
    if not methods:
        return {"type": "NA"}
    method = methods[0]
    if method.get("type") == "OTP" and method.get("phone_number"):
        return {"type": "OTP", "number": method["phone_number"], "id": method.get("id")}
    return {"type": "OFFLINE", "id": method.get("id")}


def printout(
    *, number: str, person: Any, doctor: Any, speciality: str, legal_entity: Any, division: Any, start: date, end: date
) -> str:
    """The declaration text the patient reads before giving the code (Ukrainian, as the printed form)."""
    label = dictionary_file().get("SPECIALITY_TYPE", {}).get("values", {}).get(speciality, speciality)
    return (
        f"ДЕКЛАРАЦІЯ № {number}\n"
        "про вибір лікаря, який надає первинну медичну допомогу\n"
        f"Пацієнт: {_full_name(person)}, дата народження {_fmt(person['birth_date'])}\n"
        f"Лікар: {_full_name(doctor)} ({label})\n"
        f"Надавач медичних послуг: {legal_entity['name']} (ЄДРПОУ {legal_entity['edrpou']})\n"
        f"Місце надання послуг: {division['name']}\n"
        f"Строк дії: з {_fmt(start)} по {_fmt(end)}\n"
        "Я обираю цього лікаря для отримання первинної медичної допомоги і даю згоду на обробку моїх "
        "персональних даних у системі охорони здоров'я. Мою попередню декларацію, якщо вона є, буде припинено."
    )


# What a v2 (deprecated) request's person object must agree on with the registry's record.
_IDENTITY = ("first_name", "last_name", "second_name", "birth_date", "tax_id")


async def registered_person(conn: AsyncConnection, *, person: dict[str, Any], entry: str) -> uuid.UUID:
    """The registered person a v2 (deprecated) request's person object names (`id`, or `person_id` of the older
    body). The object's identity must be the record's: a declaration request does not change a person (a person
    request does), so what differs is refused rather than dropped."""
    raw = person.get("id") or person.get("person_id")
    try:
        person_id = uuid.UUID(str(raw))
    except ValueError:
        raise ValidationFailed(
            [
                invalid_entry(
                    f"{entry}.id",
                    "required",
                    "A registered person's id is required (register through a person request)",
                )
            ]
        ) from None
    record = await _patient(conn, person_id)
    for name in _IDENTITY:
        if name in person and person[name] is not None:
            stored = record[name].isoformat() if name == "birth_date" else record[name]
            if str(person[name]) != (stored or ""):
                raise _bad(
                    f"{entry}.{name}", "Does not match the registered person (change it through a person request)"
                )
    return person_id


async def preferred_way_communication(conn: AsyncConnection, *, person_id: uuid.UUID) -> str | None:
    found = await conn.execute(select(persons.c.preferred_way_communication).where(persons.c.id == person_id))
    value: str | None = found.scalar_one_or_none()
    return value


async def create(
    conn: AsyncConnection, *, body: Any, auth: AuthContext, settings: Settings
) -> tuple[RowMapping, dict[str, Any]]:
    """A new request (NEW) and the patient's SMS code; returns the row and the answer's `urgent`."""
    on = validators.today()
    person = await _patient(conn, body.person_id)
    doctor = await declarations._load_doctor(conn, body.employee_id)  # checks type, speciality, status; locks
    if auth.legal_entity_filter is not None and doctor["legal_entity_id"] != auth.legal_entity_id:
        raise _bad("$.employee_id", "Employee does not belong to your legal entity")
    division = await repository.get_division(conn, division_id=body.division_id)
    if division is None or division.legal_entity_id != doctor["legal_entity_id"]:
        raise _bad("$.division_id", "Division not found in the employee's legal entity")
    if division.status != "ACTIVE" or not division.is_active:
        raise _bad("$.division_id", "Division is not active")
    speciality = doctor["speciality"]["speciality"]
    if not validators.speciality_fits_age(speciality, person["birth_date"], on):
        raise _bad("$.person_id", "Doctor speciality doesn't match patient's age")
    start = body.start_date or on
    if start < on:
        raise _bad("$.start_date", "start date cannot be in the past")
    limit = doctor["declaration_limit"] or settings.declaration_limit(speciality)
    count = await _check_room(
        conn, party_id=doctor["party_id"], limit=limit, person_id=body.person_id, employee_id=body.employee_id
    )
    party = await repository.get_party(conn, party_id=doctor["party_id"])
    legal_entity = await repository.get_legal_entity(conn, legal_entity_id=doctor["legal_entity_id"])
    assert party is not None and legal_entity is not None
    method = _auth_method(person, body.authorize_with)

    id_, declaration_id = uuid7(), uuid7()
    number = await numbers.issue(conn, "declaration", groups=2)
    end = declarations._end_date(speciality, start, declarations.DEFAULT_TERM_DAYS, person["birth_date"])
    content = printout(
        number=number, person=person, doctor=party, speciality=speciality, legal_entity=legal_entity,
        division=division, start=start, end=end,
    )  # fmt: skip
    to_sign = {
        "id": str(id_),
        "declaration_id": str(declaration_id),
        "declaration_number": number,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "scope": body.scope,
        "channel": "MIS",
        "status": APPROVED,
        "person": {
            "id": str(person["id"]),
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "second_name": person["second_name"],
            "birth_date": person["birth_date"].isoformat(),
            "tax_id": person["tax_id"],
        },
        "employee": {
            "id": str(body.employee_id),
            "speciality": speciality,
            "party": {
                "first_name": party.first_name,
                "last_name": party.last_name,
                "second_name": party.second_name,
                "tax_id": party.tax_id,
            },
        },
        "division": {"id": str(division.id), "name": division.name},
        "legal_entity": {"id": str(legal_entity.id), "name": legal_entity.name, "edrpou": legal_entity.edrpou},
        "content": content,
    }
    code = request_codes.issue(id_, settings) if method["type"] == "OTP" else None
    now = clock.now()
    values = {
        "id": id_,
        "person_id": body.person_id,
        "employee_id": body.employee_id,
        "division_id": body.division_id,
        "legal_entity_id": doctor["legal_entity_id"],
        "start_date": start,
        "end_date": end,
        "scope": body.scope,
        "status": NEW,
        "declaration_id": declaration_id,
        "declaration_number": number,
        "parent_declaration_id": body.parent_declaration_id,
        "channel": "MIS",
        "authorize_with": body.authorize_with,
        "authentication_method_current": method,
        "data_to_be_signed": to_sign,
        "system_declaration_limit": limit,
        "current_declaration_count": count,
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
            text=f"Код підтвердження декларації з лікарем {_full_name(party)}: {code.code}",
            kind="declaration_request_otp",
            idempotency_key=f"declaration-request-otp:{id_}",
        )
    await record_status_change(
        conn, entity_type=ENTITY, entity_id=id_, new_status=NEW, changed_by=auth.user_id,
        legal_entity_id=doctor["legal_entity_id"],
    )  # fmt: skip
    await audit.record(
        conn, action="declaration_request.create", resource_type="declaration_request", resource_id=id_,
        actor=auth.actor, person_id=body.person_id,
    )  # fmt: skip
    return row, urgent(row)


async def _row(conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext, *, lock: bool = False) -> RowMapping:
    return await request_rows.visible(conn, T, id_=id_, auth=auth, not_found="Declaration request not found", lock=lock)


async def get(conn: AsyncConnection, *, id_: uuid.UUID, auth: AuthContext) -> RowMapping:
    return await _row(conn, id_, auth)


async def list_(
    conn: AsyncConnection,
    *,
    auth: AuthContext,
    page: PageParams,
    status: str | None = None,
    employee_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    legal_entity_id: uuid.UUID | None = None,
    channel: str | None = None,
) -> tuple[Sequence[RowMapping], Paging]:
    conditions: list[Any] = []
    if auth.legal_entity_filter is not None:
        conditions.append(T.c.legal_entity_id == auth.legal_entity_id)
    filters = (
        (T.c.status, status),
        (T.c.employee_id, employee_id),
        (T.c.person_id, person_id),
        (T.c.legal_entity_id, legal_entity_id),
        (T.c.channel, channel),
    )
    for column, value in filters:
        if value is not None:
            conditions.append(column == value)
    query = select(T).where(*conditions).order_by(T.c.inserted_at.desc(), T.c.id.desc())
    rows, paging = await fetch_page(conn, query, page, select(func.count()).select_from(T).where(*conditions))
    return rows, paging


async def _expire_if_due(conn: AsyncConnection, row: RowMapping) -> None:
    if row["status"] in OPEN and row["expires_at"] <= clock.now():
        raise Conflict("Declaration request has expired")


async def _set_status(
    conn: AsyncConnection, row: RowMapping, status: str, auth: AuthContext | None, **values: Any
) -> RowMapping:
    user = auth.user_id if auth is not None else None
    updated = await request_rows.set_status(conn, T, row, status, user=user, **values)
    await record_status_change(
        conn, entity_type=ENTITY, entity_id=row["id"], new_status=status, changed_by=user,
        legal_entity_id=row["legal_entity_id"], old_status=row["status"],
    )  # fmt: skip
    await audit.record(
        conn, action=f"declaration_request.{status.lower()}", resource_type="declaration_request",
        resource_id=row["id"], actor=auth.actor if auth is not None else audit.SYSTEM, person_id=row["person_id"],
    )  # fmt: skip
    return updated


async def approve(
    conn: AsyncConnection, *, id_: uuid.UUID, code: int | str | None, auth: AuthContext, settings: Settings
) -> RowMapping:
    """The patient's confirmation: the SMS code (OTP), or, without a phone, the documents the employee saw."""
    row = await _row(conn, id_, auth, lock=True)
    if row["status"] != NEW:
        raise Conflict(f"Invalid declaration request status: {row['status']}")
    await _expire_if_due(conn, row)
    clinician = await repository.get_clinician(conn, employee_id=row["employee_id"])
    if clinician is None:
        raise _bad("$.employee_id", "Employee not found")
    # Before the code: a full doctor does not use up the patient's code.
    await _check_room(
        conn,
        party_id=clinician.party.id,
        limit=row["system_declaration_limit"],
        person_id=row["person_id"],
        employee_id=row["employee_id"],
    )
    if (row["authentication_method_current"] or {}).get("type") == "OTP":
        await request_codes.check(conn, T, row, None if code is None else str(code), settings)
    return await _set_status(conn, row, APPROVED, auth, otp_hash=None, otp_expires_at=None)


async def reject(conn: AsyncConnection, *, id_: uuid.UUID, reason: str | None, auth: AuthContext) -> RowMapping:
    row = await _row(conn, id_, auth, lock=True)
    if row["status"] not in OPEN:
        raise Conflict(f"Invalid declaration request status: {row['status']}")
    return await _set_status(conn, row, REJECTED, auth, status_reason=reason or "rejected", otp_hash=None)


async def resend_otp(conn: AsyncConnection, *, id_: uuid.UUID, auth: AuthContext, settings: Settings) -> RowMapping:
    row = await _row(conn, id_, auth, lock=True)
    method = row["authentication_method_current"] or {}
    if row["status"] != NEW or method.get("type") != "OTP":
        raise Conflict("Declaration request has no code to resend")
    await _expire_if_due(conn, row)
    code, updated = await request_codes.reissue(conn, T, row, settings)
    await queue_sms(
        conn, phone=method["number"], text=f"Код підтвердження декларації: {code.code}",
        kind="declaration_request_otp", idempotency_key=f"declaration-request-otp:{row['id']}:{uuid.uuid4()}",
    )  # fmt: skip
    return updated


async def for_sign(conn: AsyncConnection, *, id_: uuid.UUID, auth: AuthContext) -> SignTarget:
    """The approved request, locked, and the tax id its doctor signs with (before the CMS is decoded)."""
    row = await _row(conn, id_, auth, lock=True)
    if row["status"] != APPROVED:
        raise ValidationFailed([invalid_entry("$.status", "invalid", "incorrect status")], "incorrect status")
    await _expire_if_due(conn, row)
    clinician = await repository.get_clinician(conn, employee_id=row["employee_id"])
    if clinician is None:
        raise _bad("$.employee_id", "Employee not found")
    return SignTarget(row=row, doctor_tax_id=clinician.party.tax_id)


async def complete_sign(
    conn: AsyncConnection, *, target: SignTarget, auth: AuthContext, settings: Settings
) -> SignedDeclaration:
    """The declaration the signed request becomes: the doctor's limit re-checked under the lock, the patient's
    previous declaration terminated, the request SIGNED. Events, audit and the SMS are the caller's effects."""
    row = target.row
    body = schemas.DeclarationCreate(
        person_id=row["person_id"],
        employee_id=row["employee_id"],
        division_id=row["division_id"],
        start_date=row["start_date"],
        scope=row["scope"],
        declaration_request_id=row["id"],
    )
    await _patient(conn, row["person_id"])  # died or merged away since the request: no declaration
    d = D
    before = (
        (
            await conn.execute(
                select(d.c.id).where(d.c.person_id == row["person_id"], d.c.status.in_(declarations.ACTIVE_STATUSES))
            )
        )
        .scalars()
        .all()
    )
    speciality = row["data_to_be_signed"]["employee"]["speciality"]
    created = await declarations.create_declaration(
        conn,
        body,
        auth.actor,
        preset=(row["declaration_id"], row["declaration_number"]),
        default_limit=settings.declaration_limit(speciality),
    )
    await _set_status(conn, row, SIGNED, auth)
    person = await repository.get_person(conn, person_id=row["person_id"])
    party = row["data_to_be_signed"]["employee"]["party"]
    text = (
        f"Ви підписали декларацію № {row['declaration_number']} з лікарем "
        f"{_full_name(party)}. Попередню декларацію припинено." if before else
        f"Ви підписали декларацію № {row['declaration_number']} з лікарем {_full_name(party)}."
    )  # fmt: skip
    declaration = {name.removeprefix("dc_"): value for name, value in created.items() if name.startswith("dc_")}
    return SignedDeclaration(
        declaration={
            k: declaration[k]
            for k in (
                "id declaration_number start_date end_date signed_at status declaration_request_id person_id "
                "legal_entity_id employee_id division_id inserted_at is_active reason reason_description"
            ).split()
        },
        request_id=row["id"],
        legal_entity_id=row["legal_entity_id"],
        patient_phone=repository.sms_phone(person, row["authorize_with"]) if person is not None else None,
        sms_text=text,
        terminated=tuple(before),
    )


async def expire(conn: AsyncConnection, *, limit: int = 500) -> int:
    """Unsigned requests past their time → EXPIRED (the worker's job)."""
    rows = (
        (
            await conn.execute(
                select(T)
                .where(T.c.status.in_(OPEN), T.c.expires_at <= clock.now())
                .order_by(T.c.expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    for row in rows:
        await _set_status(conn, row, EXPIRED, None, status_reason="expired", otp_hash=None)
    return len(rows)


# --- termination by the patient or the doctor --------------------------------------------------------------

BY_PATIENT, BY_DOCTOR = "manual_person", "manual_employee"


async def terminate(
    conn: AsyncConnection,
    *,
    declaration_id: uuid.UUID,
    auth: AuthContext,
    by_patient: bool,
    person_id: uuid.UUID | None = None,
    reason_description: str | None = None,
) -> RowMapping:
    """End an active declaration: the patient's own (through the patient portal, which names the patient) or
    one of the doctor's legal entity. The declaration stays readable, terminated with its reason."""
    row = (
        (
            await conn.execute(
                select(D.c.id, D.c.person_id, D.c.legal_entity_id, D.c.status)
                .where(D.c.id == declaration_id)
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("Declaration not found")
    if by_patient:
        if person_id is None or await person_links.current_id(conn, person_id=person_id) != row["person_id"]:
            raise NotFound("Declaration not found")
    elif auth.legal_entity_filter is not None and row["legal_entity_id"] != auth.legal_entity_id:
        raise NotFound("Declaration not found")
    if row["status"] not in declarations.ACTIVE_STATUSES:
        raise Conflict(f"Declaration is {row['status']}: only an active declaration can be terminated")
    body = schemas.DeclarationTerminate(
        reason=BY_PATIENT if by_patient else BY_DOCTOR, reason_description=reason_description
    )
    return await declarations.terminate_declaration(conn, declaration_id, body, auth.actor)
