"""Medication dispenses (MD): the pharmacy's checks (§3.5), signed processing, reject, expiry, reads.

Concurrency: create locks the prescription row (`FOR UPDATE`) before it looks for other dispenses, so of two
pharmacies dispensing one prescription at once exactly one succeeds; a partial unique index on NEW dispenses
backs this up.
"""

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Text, and_, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock, envelope
from esoz.core.auth import AuthContext
from esoz.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.ids import uuid7
from esoz.core.rows import RowLike, get_row_by_id, get_scoped_row
from esoz.events import service as event_service
from esoz.prescriptions import codes, people, render, requests, schemas, stewardship
from esoz.prescriptions.common import money, num, settings_of, today
from esoz.prescriptions.expiry import expire_batch
from esoz.prescriptions.models import (
    contracts,
    innms,
    medical_programs,
    medication_dispense_details,
    medication_dispenses,
    medication_requests,
    medications,
)
from esoz.registry import repository
from esoz.settings import Settings
from esoz.signatures.flow import (
    AuditEntry,
    Effects,
    ExpectedSigner,
    SignedWrite,
    StatusChange,
    Written,
    read_nothing,
    record_effects,
    signed_write,
)
from esoz.signatures.service import VerifiedDocument

PHARMACY_TYPES = ("PHARMACY", "MSP_PHARMACY")
PAYMENT_FIELDS = ("payment_id", "payment_amount")
DISCOUNT_MISMATCH = "Requested discount price does not satisfy allowed reimbursement amount"
QTY_NOT_DIVISIBLE = "The amount of medications in medication dispense must be divisible to package minimum quantity"
NOT_OWN_NAME = "Does not match the current user's last name: a pharmacist dispenses in their own name"


# The look-ups of create and process are built once and run through core.fastsql: built per call, SQLAlchemy
# would re-key and execute each on its slow path (bench/README.md).
_D, _DD = medication_dispenses, medication_dispense_details
_DISPENSED_QTY = FastQuery(
    select(
        func.count(func.distinct(_D.c.id)).label("dispenses"),
        func.coalesce(func.sum(_DD.c.medication_qty), 0).label("qty"),
    )
    .select_from(_D.outerjoin(_DD, _DD.c.medication_dispense_id == _D.c.id))
    # = ANY(array) rather than IN (...): an expanding IN list needs SQLAlchemy's execute path.
    .where(
        _D.c.medication_request_id == bindparam("mr_id"), _D.c.status == any_(bindparam("statuses", type_=ARRAY(Text)))
    )
)
_CONTRACTS = FastQuery(
    select(contracts.c.is_suspended, contracts.c.contract_divisions).where(
        contracts.c.legal_entity_id == bindparam("legal_entity_id"),
        contracts.c.medical_program_id == bindparam("program_id"),
        contracts.c.status == "VERIFIED",
        contracts.c.start_date <= bindparam("on", type_=contracts.c.start_date.type),
        contracts.c.end_date >= bindparam("on", type_=contracts.c.end_date.type),
    )
)
_DDD_FACTS = FastQuery(select(innms.c.ddd, innms.c.ddd_unit).where(innms.c.id == bindparam("innm_id")))
_CONTAINERS = FastQuery(
    select(medications.c.id, medications.c.container).where(
        medications.c.id == any_(bindparam("ids", type_=ARRAY(medications.c.id.type)))
    )
)


def _bad(entry: str, description: str) -> ValidationFailed:
    return ValidationFailed([invalid_entry(f"$.medication_dispense.{entry}", "invalid", description)])


# --- create ---------------------------------------------------------------------------------------------


async def _pharmacy(conn: AsyncConnection, auth: AuthContext, division_id: uuid.UUID) -> tuple[Any, Any, Any]:
    le_id = people.require_legal_entity(auth)
    le = await repository.get_legal_entity(conn, legal_entity_id=le_id)
    if le is None or le["status"] != "ACTIVE" or not le["is_active"]:
        raise Conflict("Legal entity is not active")
    if le["type"] not in PHARMACY_TYPES:
        raise Conflict("Invalid legal entity type")
    party = await people.caller_party(conn, auth)
    if party is None or not await people.caller_employees(conn, auth):
        raise Forbidden("Employee id doesn't match")
    division = await repository.get_division(conn, division_id=division_id)
    if division is None or division["legal_entity_id"] != le_id:
        raise _bad("division_id", "Division not found")
    if division["status"] != "ACTIVE" or not division["is_active"]:
        raise Conflict("Division is not active")
    return le, party, division


def _words(text: str) -> list[str]:
    # One apostrophe for the three that Ukrainian names are written with (Мар'ян, Мар’ян, Марʼян).
    return text.replace("\u2019", "'").replace("\u02bc", "'").casefold().replace(",", " ").replace(".", " ").split()


def names_party(dispensed_by: str, party: Any) -> bool:
    """`dispensed_by` is free text (the pharmacist's full name, "Прізвище І. П." or "Прізвище Ім'я"): it must
    carry the caller's own last name, so a dispense is never written in a colleague's name. The dispense's
    party and its signer are the caller anyway."""
    last = " ".join(_words(party["last_name"] or ""))
    return bool(last) and f" {last} " in f" {' '.join(_words(dispensed_by))} "


def _check_prescription(mr: Any, dispensed_at: date) -> None:
    if mr["status"] != "ACTIVE" or not mr["is_active"]:
        raise Conflict("Medication request is not active")
    if mr["is_blocked"]:
        raise Conflict("Medication request is blocked")
    if mr["intent"] != "order":
        raise Conflict("Medication request with intent plan can not be dispensed")
    on = today()
    if not (mr["dispense_valid_from"] <= on <= mr["dispense_valid_to"]):
        raise Conflict("Invalid dispense period")
    if dispensed_at > on:
        raise _bad("dispensed_at", "Dispensed date can not be in the future")


async def _program(conn: AsyncConnection, mr: Any, program_id: uuid.UUID) -> Any:
    if program_id != mr["medical_program_id"]:
        raise Conflict("Medical program in medication dispense differs from the one in medication request")
    program = await get_row_by_id(conn, medical_programs, program_id)
    assert program is not None  # the prescription's own programme (`.one()` before)
    if not program["is_active"]:
        raise Conflict("Medical program is not active")
    if not program["medication_dispense_allowed"]:
        raise Conflict(
            program["medication_dispense_allowed_text"] or "Medication dispense is not allowed for this program"
        )
    return program


async def _check_contract(conn: AsyncConnection, program: Any, le_id: uuid.UUID, division_id: uuid.UUID) -> None:
    if settings_of(program)["skip_contract_provision_verify"]:
        return
    rows = await _CONTRACTS.fetch(conn, legal_entity_id=le_id, program_id=program["id"], on=today())
    if not rows:
        raise Conflict("Program cannot be used - no active contract exists")
    running = [r for r in rows if not r.is_suspended]
    if not running:
        raise Conflict("Contract is suspended")
    if not any(division_id in r.contract_divisions for r in running):
        raise Conflict("Division should be participant of a contract to create dispense")


async def _dispensed_qty(conn: AsyncConnection, mr_id: uuid.UUID, statuses: tuple[str, ...]) -> tuple[int, Decimal]:
    row = await _DISPENSED_QTY.one(conn, mr_id=mr_id, statuses=list(statuses))
    return row.dispenses, Decimal(row.qty)


def _check_discount(i: int, detail: schemas.DispenseDetail, brand: Any, settings: Settings) -> Decimal:
    """The reimbursement check: max = reimbursement per pack / pack size × qty; the discount must lie in
    [max × (1 − deviation), max + tolerance]. Returns the per-package reimbursement stored on the line."""
    per_pack = Decimal(str(brand["reimbursement"].get("reimbursement_amount", 0)))
    # multiply before dividing: 56.20 / 60 × 60 must stay 56.20
    maximum = money(per_pack * Decimal(str(detail.medication_qty)) / Decimal(brand["package_qty"]))
    discount = Decimal(str(detail.discount_amount))
    tolerance = Decimal(str(settings.md_discount_tolerance))
    ok = discount <= maximum + tolerance
    if ok and maximum > 0:
        ok = discount / maximum >= 1 - Decimal(str(settings.md_discount_deviation))
    if not ok or discount > Decimal(str(detail.sell_amount)):
        raise _bad(f"dispense_details[{i}].discount_amount", DISCOUNT_MISMATCH)
    return money(per_pack)


async def create(
    conn: AsyncConnection,
    body: schemas.MedicationDispenseCreate,
    code: str | None,
    auth: AuthContext,
    settings: Settings,
) -> dict[str, Any]:
    d = body.medication_dispense
    le, party, division = await _pharmacy(conn, auth, d.division_id)
    if d.dispensed_by is not None and not names_party(d.dispensed_by, party):
        raise _bad("dispensed_by", NOT_OWN_NAME)
    # The row lock serialises dispenses of one prescription: the loser waits, then sees the winner's row.
    mr = await get_row_by_id(conn, medication_requests, d.medication_request_id, lock=True)
    if mr is None:
        raise _bad("medication_request_id", "Medication request not found")
    # The code first: a pharmacy locked out, or without the code, learns nothing more of the prescription.
    state = await codes.attempts_of(conn, mr=mr, auth=auth)
    await codes.check(conn, mr=mr, code=code, state=state, auth=auth, settings=settings)
    _check_prescription(mr, d.dispensed_at)
    program = await _program(conn, mr, d.medical_program_id)
    await _check_contract(conn, program, le["id"], division["id"])
    multi = settings_of(program)["multi_medication_dispense_allowed"]
    active, _ = await _dispensed_qty(conn, mr["id"], ("NEW",) if multi else ("NEW", "PROCESSED"))
    if active:
        raise Forbidden("Active medication dispense already exists")
    brands = {b["id"]: b for b in await requests.participants(conn, mr["medication_id"], program["id"])}
    lines = []
    for i, detail in enumerate(d.dispense_details):
        brand = brands.get(detail.medication_id)
        if brand is None or detail.program_medication_id not in (None, brand["program_medication_id"]):
            raise _bad(f"dispense_details[{i}].medication_id", "Medication is not a participant of the medical program")
        if not requests.divisible(detail.medication_qty, brand["package_min_qty"]):
            raise _bad(f"dispense_details[{i}].medication_qty", QTY_NOT_DIVISIBLE)
        lines.append((detail, brand, _check_discount(i, detail, brand, settings)))
    total = sum((Decimal(str(x.medication_qty)) for x in d.dispense_details), Decimal(0))
    _, processed = await _dispensed_qty(conn, mr["id"], ("PROCESSED",))
    remaining = mr["medication_qty"] - processed
    if total > remaining or (not multi and total != remaining):
        raise _bad("dispense_details", "The amount of medications in medication dispense must match medication request")
    return await _insert(conn, d, mr, program, le, party, division, lines, auth, settings)


async def _ddd_facts(conn: AsyncConnection, mr: Any) -> Any:
    return await _DDD_FACTS.first(conn, innm_id=mr["innm_id"])


async def _insert(
    conn: AsyncConnection,
    d: schemas.MedicationDispenseData,
    mr: Any,
    program: Any,
    le: Any,
    party: Any,
    division: Any,
    lines: list[tuple[schemas.DispenseDetail, Any, Decimal]],
    auth: AuthContext,
    settings: Settings,
) -> dict[str, Any]:
    md_id = uuid7()
    now = clock.now()
    facts = await _ddd_facts(conn, mr)
    containers = {r.id: r.container for r in await _CONTAINERS.fetch(conn, ids=[b["id"] for _, b, _ in lines])}
    details = [
        {
            "id": uuid7(),
            "medication_dispense_id": md_id,
            "medication_id": brand["id"],
            "program_medication_id": brand["program_medication_id"],
            "medication_qty": detail.medication_qty,
            "sell_price": money(detail.sell_price),
            "sell_amount": money(detail.sell_amount),
            "discount_amount": money(detail.discount_amount),
            "reimbursement_amount": per_pack,
            "ddd_count": stewardship.ddd_count(
                detail.medication_qty,
                containers.get(brand["id"]),
                facts.ddd if facts else None,
                facts.ddd_unit if facts else None,
            ),
        }
        for detail, brand, per_pack in lines
    ]
    rendered = orjson.loads(
        envelope.dumps(
            {
                "id": md_id,
                "status": "NEW",
                "medication_request": {
                    k: v
                    for k, v in render.medication_request(mr, pharmacy=True).items()
                    if k
                    in (
                        "id",
                        "status",
                        "request_number",
                        "created_at",
                        "started_at",
                        "ended_at",
                        "dispense_valid_from",
                        "dispense_valid_to",
                        "person",
                        "medication_info",
                        "intent",
                    )
                },
                "dispensed_at": d.dispensed_at,
                "dispensed_by": d.dispensed_by,
                "party": {k: party[k] for k in ("id", "first_name", "last_name", "second_name")},
                "legal_entity": render.legal_entity(le),
                "division": render.division(division),
                "medical_program": render.medical_program_short(program),
                "details": [
                    {
                        "medication": {
                            "id": brand["id"],
                            "name": brand["name"],
                            "form": brand["form"],
                            "manufacturer": brand["manufacturer"],
                            "package_qty": brand["package_qty"],
                            "package_min_qty": brand["package_min_qty"],
                        },
                        "program_medication_id": brand["program_medication_id"],
                        "medication_qty": num(detail.medication_qty),
                        "sell_price": num(money(detail.sell_price)),
                        "sell_amount": num(money(detail.sell_amount)),
                        "discount_amount": num(money(detail.discount_amount)),
                        "reimbursement_amount": num(per_pack),
                    }
                    for detail, brand, per_pack in lines
                ],
                "payment_id": d.payment_id,
                "payment_amount": d.payment_amount,
                "note": d.note,
                "inserted_at": now,
                "inserted_by": auth.user_id,
                "updated_at": now,
                "updated_by": auth.user_id,
            }
        )
    )
    await conn.execute(
        medication_dispenses.insert().values(
            id=md_id,
            person_id=mr["person_id"],
            medication_request_id=mr["id"],
            status="NEW",
            dispensed_at=d.dispensed_at,
            dispensed_by=d.dispensed_by,
            party_id=party["id"],
            legal_entity_id=le["id"],
            division_id=division["id"],
            region=division["region"] or le["region"],
            medical_program_id=program["id"],
            payment_id=d.payment_id,
            payment_amount=d.payment_amount,
            note=d.note,
            data=rendered,
            inserted_at=now,
            updated_at=now,
            inserted_by=auth.user_id,
            updated_by=auth.user_id,
        )
    )
    await conn.execute(medication_dispense_details.insert(), details)
    await event_service.record_status_change(
        conn,
        entity_type="MedicationDispense",
        entity_id=md_id,
        new_status="NEW",
        changed_by=auth.user_id,
        legal_entity_id=le["id"],
    )
    await audit.record(
        conn,
        action="medication_dispense.create",
        resource_type="medication_dispense",
        resource_id=md_id,
        actor=auth.actor,
        details={"medication_request_id": str(mr["id"])},
    )
    if settings_of(program)["skip_medication_dispense_sign"]:
        await _complete(conn, await _get(conn, md_id, None), d.payment_id, d.payment_amount, auth)
    return await get(conn, md_id, auth)


# --- process, reject, expiry ----------------------------------------------------------------------------


async def _get(
    conn: AsyncConnection, id_: uuid.UUID, legal_entity_filter: uuid.UUID | None, lock: bool = False
) -> RowLike:
    return await get_scoped_row(
        conn,
        medication_dispenses,
        id_,
        "Medication dispense not found",
        legal_entity_filter=legal_entity_filter,
        lock=lock,
    )


def _as_contract(row: Any) -> dict[str, Any]:
    """The stored render (what the pharmacist signs while NEW) with the current status and payment."""
    out = dict(row["data"]) | {
        "status": row["status"],
        "payment_id": row["payment_id"],
        "payment_amount": num(row["payment_amount"]),
    }
    if row["status"] != "NEW":
        out |= {"updated_at": row["updated_at"], "updated_by": row["updated_by"]}
    return out


def _status_now(row: Any, settings: Settings) -> str:
    if row["status"] == "NEW" and row["inserted_at"] <= clock.now() - timedelta(minutes=settings.md_expiration_minutes):
        return "EXPIRED"  # past its lifetime even if the job has not run yet
    return row["status"]


async def process(
    conn: AsyncConnection, id_: uuid.UUID, body: schemas.ProcessDispense, auth: AuthContext, settings: Settings
) -> dict[str, Any]:
    """The pharmacist's CMS over the dispense's render (payment fields may be added) processes it."""
    row = await _get(conn, id_, auth.legal_entity_filter, lock=True)
    status = _status_now(row, settings)
    if status != "NEW":
        raise Conflict(f"Can't update medication dispense status from {status} to PROCESSED")
    party = await people.caller_party(conn, auth)
    if party is None or not await people.caller_employees(conn, auth):
        raise Forbidden("Employee id doesn't match")
    entry = "$.signed_medication_dispense"
    plan: SignedWrite[None, None] = SignedWrite(
        stored_as="medication_dispense",
        entry=entry,
        content_entry=entry,
        signer=ExpectedSigner(tax_id=party["tax_id"], last_name=party["last_name"] or ""),
        read=read_nothing,
        expected=lambda _doc, _read: row["data"],
        unsigned_fields=PAYMENT_FIELDS,
        write=lambda doc, _read: _process_signed(conn, row, doc, auth),
    )
    await signed_write(conn, signed_data=body.signed_medication_dispense, plan=plan, auth=auth, settings=settings)
    return await get(conn, id_, auth)


async def _process_signed(conn: AsyncConnection, row: Any, doc: VerifiedDocument, auth: AuthContext) -> Written[None]:
    # The payment is not in the render the pharmacy got: it comes with the signature, else stays as created.
    content = doc.content if isinstance(doc.content, dict) else {}
    payment_id = content.get("payment_id", row["payment_id"])
    payment_amount = content.get("payment_amount", row["payment_amount"])
    effects = await _complete_rows(conn, row, payment_id, payment_amount, auth)
    return Written(document_id=row["id"], result=None, effects=effects)


async def _complete(
    conn: AsyncConnection, row: Any, payment_id: str | None, payment_amount: Any, auth: AuthContext
) -> None:
    await record_effects(conn, await _complete_rows(conn, row, payment_id, payment_amount, auth), auth=auth)


async def _complete_rows(
    conn: AsyncConnection, row: Any, payment_id: str | None, payment_amount: Any, auth: AuthContext
) -> Effects:
    """MD → PROCESSED and, when everything prescribed has been dispensed, MR → COMPLETED: one transaction."""
    now = clock.now()
    mr = await get_row_by_id(conn, medication_requests, row["medication_request_id"], lock=True)
    assert mr is not None  # the dispense's own prescription (`.one()` before)
    await conn.execute(
        medication_dispenses.update()
        .where(medication_dispenses.c.id == row["id"])
        .values(
            status="PROCESSED",
            processed_at=now,
            payment_id=payment_id,
            payment_amount=payment_amount,
            updated_at=now,
            updated_by=auth.user_id,
        )
    )
    changes = [
        StatusChange(
            entity_type="MedicationDispense",
            entity_id=row["id"],
            new_status="PROCESSED",
            legal_entity_id=row["legal_entity_id"],
        )
    ]
    _, processed = await _dispensed_qty(conn, mr["id"], ("PROCESSED",))
    if processed >= mr["medication_qty"]:
        await conn.execute(
            medication_requests.update()
            .where(medication_requests.c.id == mr["id"])
            .values(status="COMPLETED", is_active=False, updated_at=now, updated_by=auth.user_id)
        )
        changes.append(
            StatusChange(
                entity_type="MedicationRequest",
                entity_id=mr["id"],
                new_status="COMPLETED",
                legal_entity_id=mr["legal_entity_id"],
            )
        )
    audit_entry = AuditEntry(
        action="medication_dispense.process",
        resource_type="medication_dispense",
        resource_id=row["id"],
        details={"medication_request_id": str(mr["id"])},
    )
    return Effects(changes=tuple(changes), audit=(audit_entry,))


async def reject(conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext, settings: Settings) -> dict[str, Any]:
    row = await _get(conn, id_, auth.legal_entity_filter, lock=True)
    status = _status_now(row, settings)
    if status != "NEW":
        raise Conflict(f"Can't update medication dispense status from {status} to REJECTED")
    await conn.execute(
        medication_dispenses.update()
        .where(medication_dispenses.c.id == id_)
        .values(status="REJECTED", is_active=False, updated_at=clock.now(), updated_by=auth.user_id)
    )
    await event_service.record_status_change(
        conn,
        entity_type="MedicationDispense",
        entity_id=id_,
        new_status="REJECTED",
        changed_by=auth.user_id,
        legal_entity_id=row["legal_entity_id"],
    )
    await audit.record(
        conn,
        action="medication_dispense.reject",
        resource_type="medication_dispense",
        resource_id=id_,
        actor=auth.actor,
    )
    return await get(conn, id_, auth)


async def expire(conn: AsyncConnection, settings: Settings, batch: int = 1000) -> int:
    t = medication_dispenses
    cutoff = clock.now() - timedelta(minutes=settings.md_expiration_minutes)
    due = (t.c.status == "NEW") & (t.c.inserted_at <= cutoff)
    return await expire_batch(conn, t, entity_type="MedicationDispense", due=due, batch=batch, is_active=False)


# --- reads ----------------------------------------------------------------------------------------------


async def get(conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext) -> dict[str, Any]:
    return _as_contract(await _get(conn, id_, auth.legal_entity_filter))


async def get_for_person(
    conn: AsyncConnection, *, person_id: uuid.UUID, id_: uuid.UUID, auth: AuthContext
) -> dict[str, Any]:
    """A patient's dispense: the pharmacy that dispensed it, or the clinic whose prescription it was."""
    t = medication_dispenses
    where: list[Any] = [t.c.id == id_, t.c.person_id == person_id]
    own = auth.legal_entity_filter
    if own is not None:
        where.append(or_(t.c.legal_entity_id == own, t.c.medication_request_id.in_(_prescribed_by(own, person_id))))
    row = (await conn.execute(select(t).where(*where))).mappings().first()
    if row is None:
        raise NotFound("Medication dispense not found")
    return _as_contract(row)


def _prescribed_by(legal_entity_id: uuid.UUID, person_id: uuid.UUID) -> Any:
    return select(medication_requests.c.id).where(
        and_(
            medication_requests.c.person_id == person_id,
            medication_requests.c.legal_entity_id == legal_entity_id,
        )
    )


def _based_on_care_plan(care_plan_id: uuid.UUID) -> Any:
    """Prescriptions whose `based_on` names the care plan (the contract's reference shape)."""
    reference = [{"identifier": {"type": {"coding": [{"code": "care_plan"}]}, "value": str(care_plan_id)}}]
    return select(medication_requests.c.id).where(medication_requests.c.data["based_on"].contains(reference))


async def list_dispenses(
    conn: AsyncConnection,
    auth: AuthContext,
    *,
    id_: uuid.UUID | None = None,
    medication_request_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    legal_entity_id: uuid.UUID | None = None,
    status: str | None = None,
    division_id: uuid.UUID | None = None,
    dispensed_from: date | None = None,
    dispensed_to: date | None = None,
    care_plan_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    t = medication_dispenses
    where: list[Any] = []
    if auth.legal_entity_filter is not None and person_id is None:
        where.append(t.c.legal_entity_id == auth.legal_entity_filter)
    if person_id is not None:
        where.append(t.c.person_id == person_id)
        if auth.legal_entity_filter is not None:  # a clinic sees dispenses of its own prescriptions
            where.append(t.c.medication_request_id.in_(_prescribed_by(auth.legal_entity_filter, person_id)))
    if care_plan_id is not None:
        where.append(t.c.medication_request_id.in_(_based_on_care_plan(care_plan_id)))
    for column, value in (
        ("id", id_),
        ("medication_request_id", medication_request_id),
        ("legal_entity_id", legal_entity_id),
        ("status", status),
        ("division_id", division_id),
    ):
        if value is not None:
            where.append(t.c[column] == value)
    if dispensed_from is not None:
        where.append(t.c.dispensed_at >= dispensed_from)
    if dispensed_to is not None:
        where.append(t.c.dispensed_at <= dispensed_to)
    rows = (
        await conn.execute(select(t).where(*where).order_by(t.c.inserted_at.desc()).limit(limit).offset(offset))
    ).mappings()
    total = (await conn.execute(select(func.count()).select_from(t).where(*where))).scalar_one()
    return [_as_contract(r) for r in rows], total


async def of_prescription(
    conn: AsyncConnection,
    auth: AuthContext,
    *,
    medication_request_id: uuid.UUID,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Dispenses of a prescription the caller's clinic wrote (the path without the patient's id)."""
    mr = await get_scoped_row(
        conn,
        medication_requests,
        medication_request_id,
        "Medication request not found",
        legal_entity_filter=auth.legal_entity_filter,
    )
    return await list_dispenses(
        conn,
        auth,
        person_id=mr["person_id"],
        medication_request_id=medication_request_id,
        status=status,
        limit=limit,
        offset=offset,
    )
