"""Medication requests (MR, the prescription): reads, signed reject, resend, block/unblock, expiry (§3.4)."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Integer, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock, envelope
from esoz.core.auth import AuthContext
from esoz.core.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.ids import uuid7
from esoz.core.pagination import total_from_page
from esoz.core.rows import RowLike, all_rows, first, get_row_by_id, get_scoped_row
from esoz.notifications import templates
from esoz.notifications.service import queue_sms
from esoz.prescriptions import codes, people, printout, programs, render, schemas
from esoz.prescriptions.common import num, today
from esoz.prescriptions.expiry import expire_batch
from esoz.prescriptions.models import (
    medical_programs,
    medication_dispenses,
    medication_request_code_attempts,
    medication_requests,
)
from esoz.registry import repository
from esoz.settings import Settings
from esoz.signatures.flow import (
    AuditEntry,
    Effects,
    ExpectedSigner,
    SignedWrite,
    Sms,
    StatusChange,
    Written,
    signed_write,
)
from esoz.signatures.service import VerifiedDocument

NUMBER_ALPHABET = set("0123456789AEHKMPTX")
# Filters of GET /api/persons/{id}/medication_requests: query name → (column, operator)
FILTERS: dict[str, tuple[str, str]] = {
    "legal_entity_id": ("legal_entity_id", "eq"),
    "employee_id": ("employee_id", "eq"),
    "request_number": ("request_number", "eq"),
    "medication_id": ("medication_id", "eq"),
    "medical_program_id": ("medical_program_id", "eq"),
    "intent": ("intent", "eq"),
    "created_from": ("created_at", "ge"),
    "created_to": ("created_at", "le"),
    "started_at_from": ("started_at", "ge"),
    "started_at_to": ("started_at", "le"),
    "ended_at_from": ("ended_at", "ge"),
    "ended_at_to": ("ended_at", "le"),
    "dispense_valid_from_start": ("dispense_valid_from", "ge"),
    "dispense_valid_from_end": ("dispense_valid_from", "le"),
    "dispense_valid_to_start": ("dispense_valid_to", "ge"),
    "dispense_valid_to_end": ("dispense_valid_to", "le"),
    "care_plan_id": ("care_plan_id", "eq"),
    "encounter_id": ("encounter_id", "eq"),
    "episode_id": ("episode_id", "eq"),
}


# A pharmacy's look-up by number and a patient's list are hot reads of the national mix
# (bench/README.md): built once and run through core.fastsql. A list with extra filters is built per call.
_T = medication_requests
_A = medication_request_code_attempts


def _pharmacy_lookup(where: Any) -> FastQuery:
    """The prescription with the caller's wrong-code counter for it, in one round trip."""
    counter = and_(
        _A.c.person_id == _T.c.person_id,
        _A.c.medication_request_id == _T.c.id,
        _A.c.legal_entity_id == bindparam("caller"),
    )
    return FastQuery(
        select(_T, _A.c.failures.label("code_failures"), _A.c.locked_at.label("code_locked_at"))
        .select_from(_T.outerjoin(_A, counter))
        .where(where)
        .limit(1)
    )


_BY_NUMBER = _pharmacy_lookup(_T.c.request_number == bindparam("number"))
_BY_ID = _pharmacy_lookup(_T.c.id == bindparam("id_"))


def _of_person_queries(by_legal_entity: bool) -> tuple[FastQuery, FastQuery]:
    """(page, count) of a patient's prescriptions in one status (and legal entity), newest first."""
    where = [_T.c.person_id == bindparam("person_id"), _T.c.status == bindparam("status")]
    if by_legal_entity:
        where.append(_T.c.legal_entity_id == bindparam("legal_entity_id"))
    page = (
        select(_T)
        .where(*where)
        .order_by(_T.c.inserted_at.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    count = select(func.count().label("total")).select_from(_T).where(*where)
    return FastQuery(page), FastQuery(count)


_OF_PERSON = {by_legal_entity: _of_person_queries(by_legal_entity) for by_legal_entity in (False, True)}


def looks_like_number(value: str) -> bool:
    parts = value.upper().split("-")
    return len(parts) == 4 and parts[0] == "0000" and all(len(p) == 4 and set(p) <= NUMBER_ALPHABET for p in parts[1:])


async def get_row(
    conn: AsyncConnection, id_: uuid.UUID, legal_entity_filter: uuid.UUID | None, lock: bool = False
) -> RowLike:
    return await get_scoped_row(
        conn,
        medication_requests,
        id_,
        "Medication request not found",
        legal_entity_filter=legal_entity_filter,
        lock=lock,
    )


async def _own_row(
    conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext, person_id: uuid.UUID | None = None
) -> RowLike:
    row = await get_row(conn, id_, auth.legal_entity_filter)
    if person_id is not None and row["person_id"] != person_id:
        raise NotFound("Medication request not found")
    return row


async def get(
    conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext, person_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """The prescriber's view of a prescription, with its printout."""
    return printout.with_printout(await _own_row(conn, id_, auth, person_id))


async def get_printout(
    conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext, person_id: uuid.UUID
) -> dict[str, Any]:
    printed = printout.with_printout(await _own_row(conn, id_, auth, person_id))
    return {"id": printed["id"], "printout_form": printed["printout_form"]}


async def list_for_person(
    conn: AsyncConnection,
    person_id: uuid.UUID,
    auth: AuthContext,
    filters: dict[str, Any],
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    if all(value is None for value in filters.values()):
        params: dict[str, Any] = {"person_id": person_id, "status": status or "ACTIVE"}
        if auth.legal_entity_filter is not None:
            params["legal_entity_id"] = auth.legal_entity_filter
        page_query, count_query = _OF_PERSON[auth.legal_entity_filter is not None]
        found = await all_rows(page_query, conn, **params, limit=limit, offset=offset)
        total = total_from_page(len(found), offset, limit)
        if total is None:
            total = (await count_query.one(conn, **params)).total
        return [render.medication_request(r) for r in found], total
    t = medication_requests
    where = [t.c.person_id == person_id, t.c.status == (status or "ACTIVE")]
    if auth.legal_entity_filter is not None:
        where.append(t.c.legal_entity_id == auth.legal_entity_filter)
    for name, value in filters.items():
        if value is None:
            continue
        column, op = FILTERS[name]
        where.append(
            t.c[column] >= value if op == "ge" else t.c[column] <= value if op == "le" else t.c[column] == value
        )
    rows = (
        await conn.execute(select(t).where(*where).order_by(t.c.inserted_at.desc()).limit(limit).offset(offset))
    ).mappings()
    total = (await conn.execute(select(func.count()).select_from(t).where(*where))).scalar_one()
    return [render.medication_request(r) for r in rows], total


@dataclass(frozen=True, slots=True)
class PharmacyView:
    """What a pharmacy's look-up answers with, and whose prescription it is (the answer may not show it)."""

    data: dict[str, Any]
    person_id: uuid.UUID
    id: uuid.UUID


async def pharmacy_get(
    conn: AsyncConnection, key: str, *, code: str | None, auth: AuthContext, settings: Settings
) -> PharmacyView:
    """A pharmacy finds a prescription by id or by its number; with `code`, the patient's code is checked.

    Without a code the answer is the contract's pharmacist shape (no patient id, no diagnoses); the right
    code opens the prescription as a pharmacy sees it. A pharmacy locked out by wrong codes is refused,
    with or without a code.
    """
    row: Mapping[str, Any] | None
    caller = codes.caller_of(auth)
    if looks_like_number(key):
        row = await first(_BY_NUMBER, conn, number=key.upper(), caller=caller)
    else:
        try:
            id_ = uuid.UUID(key)
        except ValueError:
            raise NotFound("Medication request not found") from None
        row = await first(_BY_ID, conn, id_=id_, caller=caller)
    if row is None:
        raise NotFound("Medication request not found")
    state = codes.Attempts(row["code_failures"] or 0, row["code_locked_at"])
    if code is None:
        codes.refuse_if_locked(state)
        return PharmacyView(render.medication_request_public(row), row["person_id"], row["id"])
    await codes.check(conn, mr=row, code=code, state=state, auth=auth, settings=settings)
    return PharmacyView(render.medication_request(row, pharmacy=True), row["person_id"], row["id"])


# --- actions --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectReason:
    code: str
    text: str | None


# The reason is what a reject adds to the prescription it signs; the printout may be signed along or left out.
REJECT_FIELDS = ("reject_reason_code", "reject_reason", "printout_form")


async def reject(
    conn: AsyncConnection, id_: uuid.UUID, body: schemas.SignedReject, auth: AuthContext, settings: Settings
) -> dict[str, Any]:
    """The prescriber's CMS over the prescription as GET returns it, plus the reason, rejects it."""
    row = await get_row(conn, id_, auth.legal_entity_filter, lock=True)
    await _check_rejectable(conn, row)
    party = await people.caller_party(conn, auth)
    if party is None or not {e["id"] for e in await people.caller_employees(conn, auth)}:
        raise Forbidden("Employee is not allowed to reject medication request")
    entry = "$.signed_medication_reject"
    plan: SignedWrite[RejectReason, None] = SignedWrite(
        stored_as="medication_request_reject",
        entry=entry,
        content_entry=entry,
        signer=ExpectedSigner(tax_id=party["tax_id"]),
        read=lambda doc: _reject_reason(doc, entry=entry),
        expected=lambda _doc, _reason: _signable(row),
        unsigned_fields=REJECT_FIELDS,
        write=lambda _doc, reason: _write_reject(conn, row, reason, auth=auth),
    )
    await signed_write(conn, signed_data=body.signed_medication_reject, plan=plan, auth=auth, settings=settings)
    return render.medication_request(await get_row(conn, id_, None))


async def _check_rejectable(conn: AsyncConnection, row: RowLike) -> None:
    if row["status"] != "ACTIVE":
        raise Conflict("Invalid status Medication request for reject transition!")
    active = await conn.execute(
        select(medication_dispenses.c.id)
        .where(
            medication_dispenses.c.medication_request_id == row["id"],
            medication_dispenses.c.status.in_(("NEW", "PROCESSED")),
        )
        .limit(1)
    )
    if active.first() is not None:
        raise Conflict("Medication request with connected processed medication dispenses can not be rejected")


async def _reject_reason(doc: VerifiedDocument, *, entry: str) -> RejectReason:
    content = doc.content if isinstance(doc.content, dict) else {}
    code = content.get("reject_reason_code")
    if not isinstance(code, str) or not code:
        raise ValidationFailed([invalid_entry(f"{entry}.reject_reason_code", "required", "required property")])
    return RejectReason(code, content.get("reject_reason"))


async def _write_reject(
    conn: AsyncConnection, row: RowLike, reason: RejectReason, *, auth: AuthContext
) -> Written[None]:
    id_ = row["id"]
    now = clock.now()
    await conn.execute(
        medication_requests.update()
        .where(medication_requests.c.id == id_)
        .values(
            status="REJECTED",
            is_active=False,
            rejected_at=now,
            rejected_by=auth.user_id,
            reject_reason=reason.text,
            reject_reason_code=reason.code,
            updated_at=now,
            updated_by=auth.user_id,
        )
    )
    phone = await repository.patient_sms_phone(conn, person_id=row["person_id"])
    effects = Effects(
        changes=(
            StatusChange(
                entity_type="MedicationRequest",
                entity_id=id_,
                new_status="REJECTED",
                legal_entity_id=row["legal_entity_id"],
            ),
        ),
        audit=(
            AuditEntry(
                action="medication_request.reject",
                resource_type="medication_request",
                resource_id=id_,
                details={"reject_reason_code": reason.code},
            ),
        ),
        messages=(
            Sms(
                phone=phone,
                template=templates.medication_request_reject(row["request_number"], row["created_at"]),
                idempotency_key=f"mr-reject:{id_}",
            ),
        ),
    )
    return Written(document_id=id_, result=None, effects=effects)


def _signable(row: Any) -> dict[str, Any]:
    """What a reject signs (besides its reason): the prescription as GET returns it."""
    return orjson.loads(envelope.dumps(render.medication_request(row)))


async def resend(conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext) -> dict[str, Any]:
    row = await get_row(conn, id_, auth.legal_entity_filter)
    if row["status"] != "ACTIVE" or row["intent"] != "order":
        raise Conflict("Invalid status Medication request for resend action!")
    phone = await repository.patient_sms_phone(conn, person_id=row["person_id"])
    if not row["verification_code"] or not phone:
        raise Forbidden("Can't resend Medication request without verification code!")
    kind, sms = templates.medication_request_sign(row["request_number"], row["verification_code"])
    await queue_sms(conn, phone=phone, text=sms, kind=kind, idempotency_key=f"mr-resend:{uuid7()}")
    await audit.record(
        conn, action="medication_request.resend", resource_type="medication_request", resource_id=id_, actor=auth.actor
    )
    return render.medication_request(row)


async def set_block(
    conn: AsyncConnection,
    id_: uuid.UUID,
    auth: AuthContext,
    *,
    block: bool,
    reason_code: str,
    reason: str | None,
    blocked_to: date | None = None,
    any_legal_entity: bool = False,
) -> dict[str, Any]:
    """Blocking is a flag on an ACTIVE prescription (doctor, pharmacist or НСЗУ), not a status."""
    row = await get_row(conn, id_, None if any_legal_entity else auth.legal_entity_filter, lock=True)
    if any_legal_entity:  # a pharmacy locked out by wrong codes may not touch the prescription either
        codes.refuse_if_locked(await codes.attempts_of(conn, mr=row, auth=auth))
    if row["status"] != "ACTIVE":
        raise Conflict("Invalid status Medication request for block transition!")
    if row["is_blocked"] == block:
        raise Conflict("Medication request is already blocked" if block else "Medication request is not blocked")
    await conn.execute(
        medication_requests.update()
        .where(medication_requests.c.id == id_)
        .values(
            is_blocked=block,
            block_reason_code=reason_code,
            block_reason=reason,
            blocked_to=blocked_to if block else None,
            blocked_by_legal_entity=auth.legal_entity_id if block else None,
            updated_at=clock.now(),
            updated_by=auth.user_id,
        )
    )
    await audit.record(
        conn,
        action="medication_request.block" if block else "medication_request.unblock",
        resource_type="medication_request",
        resource_id=id_,
        actor=auth.actor,
        details={"reason_code": reason_code},
    )
    return render.medication_request(await get_row(conn, id_, None))


async def expire(conn: AsyncConnection, batch: int = 1000) -> int:
    """ACTIVE prescriptions past their treatment end or dispense window become EXPIRED (every minute).

    esoz: the real cron looks at `ended_at` only; the dispense window (30/10/90 days) is the legal validity,
    so a prescription whose window has closed is expired too.
    """
    t = medication_requests
    on = today()
    due = (t.c.status == "ACTIVE") & ((t.c.dispense_valid_to < on) | (t.c.ended_at < on))
    return await expire_batch(conn, t, entity_type="MedicationRequest", due=due, batch=batch, is_active=False)


# --- qualify --------------------------------------------------------------------------------------------

ONE_DISPENSED_PER_INN = (
    "For the patient at the same term there can be only 1 dispensed medication request per one and the same innm!"
)
_DISPENSED_SAME_INN = FastQuery(
    select(_T.c.id)
    .where(
        _T.c.person_id == bindparam("person_id"),
        _T.c.innm_id == bindparam("innm_id"),
        _T.c.status == "COMPLETED",
        _T.c.id != bindparam("id_"),
        _T.c.started_at <= bindparam("ended_at", type_=_T.c.started_at.type),
        _T.c.ended_at >= bindparam("started_at", type_=_T.c.ended_at.type),
    )
    .limit(1)
)


async def _qualifiable(conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext) -> RowLike:
    """The prescription a caller may qualify: a pharmacy any (unless its wrong codes locked it out), a clinic
    its own legal entity's, НСЗУ any."""
    le = None if auth.legal_entity_id is None else await repository.get_legal_entity(
        conn, legal_entity_id=auth.legal_entity_id
    )
    pharmacy = le is not None and le["type"] in programs.PHARMACY_LE_TYPES
    row = await get_row(conn, id_, None if pharmacy else auth.legal_entity_filter)
    if pharmacy:
        codes.refuse_if_locked(await codes.attempts_of(conn, mr=row, auth=auth))
    return row


async def _qualify_division(conn: AsyncConnection, division_id: uuid.UUID, auth: AuthContext) -> Any:
    division = await repository.get_division(conn, division_id=division_id)
    if division is None or (auth.legal_entity_id is not None and division["legal_entity_id"] != auth.legal_entity_id):
        raise ValidationFailed([invalid_entry("$.division_id", "invalid", "Division not found")])
    if division["status"] != "ACTIVE" or not division["is_active"]:
        raise Conflict("Division is not active")
    return division


def _participant(brand: Mapping[str, Any], qty: Any) -> dict[str, Any]:
    min_qty = brand["package_min_qty"]
    return {
        "id": brand["id"],
        "medication_id": brand["medication_id"],
        "medication_name": brand["medication_name"],
        "form": brand["form"],
        "manufacturer": brand["manufacturer"],
        "reimbursement_amount": (brand["reimbursement"] or {}).get("reimbursement_amount"),
        "wholesale_price": num(brand["wholesale_price"]),
        "consumer_price": num(brand["consumer_price"]),
        "reimbursement_daily_dosage": num(brand["reimbursement_daily_dosage"]),
        "estimated_payment_amount": num(brand["estimated_payment_amount"]),
        "container_dosage": brand["container"],
        "package_min_qty": min_qty,
        "package_qty": brand["package_qty"],
        "start_date": None,
        "end_date": None,
        "registry_number": brand["certificate"],
        "drlz_sku_id": None,
        "package_qty_divisible": bool(min_qty) and _divisible(float(qty), float(min_qty)),
    }


def _divisible(qty: float, by: float) -> bool:
    ratio = qty / by
    return abs(ratio - round(ratio)) < 1e-9


async def _rejection(
    conn: AsyncConnection, row: RowLike, program: Mapping[str, Any], brands: list[Mapping[str, Any]], division: Any
) -> str | None:
    """Why the prescription cannot be dispensed under the programme at this division; None when it can."""
    if not program["is_active"]:
        return "Medical program is not active"
    if not program["medication_dispense_allowed"]:
        return program["medication_dispense_allowed_text"] or "Medication dispense is not allowed for this program"
    if not brands:
        return f"Innm not on the list of approved innms for program '{program['name']}' !"
    dispensed = await _DISPENSED_SAME_INN.first(
        conn,
        person_id=row["person_id"],
        innm_id=row["innm_id"],
        id_=row["id"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
    )
    if dispensed is not None:
        return ONE_DISPENSED_PER_INN
    le = await repository.get_legal_entity(conn, legal_entity_id=division["legal_entity_id"])
    if le is not None and le["type"] in programs.PHARMACY_LE_TYPES:
        return await programs.contract_problem(
            conn, program, legal_entity_id=le["id"], division_id=division["id"], on=today()
        )
    return None


async def qualify(
    conn: AsyncConnection, id_: uuid.UUID, body: schemas.Qualify, auth: AuthContext
) -> list[dict[str, Any]]:
    """Which of the given programmes the prescription can be dispensed under at the caller's division, and as
    which brands (programme participants) with what reimbursement."""
    row = await _qualifiable(conn, id_, auth)
    if row["intent"] == "plan":
        raise Conflict("Plan can't be qualified")
    if row["status"] != "ACTIVE":
        raise Conflict("Medication request is not active")
    if row["is_blocked"]:
        raise Conflict("Medication request is blocked")
    person = await repository.get_person(conn, person_id=row["person_id"])
    if person is None or not person["is_active"] or person["status"] != "active":
        raise ApiError(422, "unverified", "Only for active MPI record can create medication request!")
    division = await _qualify_division(conn, body.division_id, auth)
    found = []
    for i, ref in enumerate(body.programs):
        program = await get_row_by_id(conn, medical_programs, ref.id)
        if program is None:
            raise ValidationFailed([invalid_entry(f"$.programs[{i}].id", "required", "Medical program not found")])
        found.append(program)
    out = []
    for program in found:
        brands = await programs.program_participants(conn, dosage_id=row["medication_id"], program_id=program["id"])
        reason = await _rejection(conn, row, program, brands, division)
        out.append(
            {
                "program_id": program["id"],
                "program_name": program["name"],
                "status": "INVALID" if reason else "VALID",
                "rejection_reason": reason or "",
                "participants": [] if reason else [_participant(b, row["medication_qty"]) for b in brands],
            }
        )
    return out
