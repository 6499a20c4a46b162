"""Medication request requests (MRR): the doctor's unsigned draft, its validations (§3.3), sign and reject.

Create validates and stores the render it returns; sign accepts only a CMS by the same doctor over exactly
that render, then creates the prescription (MR) ACTIVE with its number and code and texts the patient.
"""

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
from sqlalchemy import Text, and_, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock, envelope, numbers
from esoz.core.auth import AuthContext
from esoz.core.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.ids import uuid7
from esoz.core.rows import all_rows, get_row_by_id, get_scoped_row
from esoz.medical_events.service import encounter_of_person
from esoz.notifications import templates
from esoz.prescriptions import people, prescriptions, printout, programs, render, schemas, stewardship
from esoz.prescriptions.common import dispense_window, settings_of, today
from esoz.prescriptions.expiry import expire_batch
from esoz.prescriptions.models import (
    ingredients,
    medical_programs,
    medication_request_requests,
    medication_requests,
    medications,
    program_medications,
)
from esoz.registry import repository
from esoz.registry.repository import DivisionRecord, EmployeeRecord, LegalEntityRecord, PartyRecord, PersonRecord
from esoz.settings import Settings
from esoz.signatures.flow import (
    AuditEntry,
    Effects,
    ExpectedSigner,
    SignedWrite,
    Sms,
    StatusChange,
    Written,
    read_nothing,
    record_effects,
    signed_write,
)

MRR_LEGAL_ENTITY_TYPES = ("MSP", "MSP_PHARMACY", "PRIMARY_CARE", "OUTPATIENT")
SAME_INN = (
    "It can be only 1 active/ completed medication request request or "
    "medication request per one innm for the same patient at the same period of time!"
)
TOO_EARLY = "It's to early to create new medication request for such innm_dosage and medical_program_id"
NOT_OWN_EMPLOYEE = "Employee id doesn't match the current user: a draft names one of the user's own employees"


# The look-ups of create and sign are built once and run through core.fastsql: built per call, SQLAlchemy
# would re-key and execute each on its slow path (bench/README.md).
_PARTICIPANTS = FastQuery(
    select(
        medications.c.id,
        medications.c.name,
        medications.c.form,
        medications.c.manufacturer,
        medications.c.package_qty,
        medications.c.package_min_qty,
        medications.c.container,
        program_medications.c.id.label("program_medication_id"),
        program_medications.c.reimbursement,
    )
    .join(ingredients, and_(ingredients.c.parent_id == medications.c.id, ingredients.c.is_primary))
    .join(program_medications, program_medications.c.medication_id == medications.c.id)
    .where(
        ingredients.c.medication_child_id == bindparam("dosage_id"),
        medications.c.type == "BRAND",
        medications.c.is_active,
        program_medications.c.medical_program_id == bindparam("program_id"),
        program_medications.c.is_active,
        program_medications.c.medication_request_allowed,
    )
    .order_by(medications.c.name)
)
_MR = medication_requests
_LAST_OF_SAME_INN = FastQuery(
    select(_MR.c.started_at, _MR.c.ended_at)
    .where(
        _MR.c.person_id == bindparam("person_id"),
        _MR.c.innm_id == bindparam("innm_id"),
        _MR.c.medical_program_id == bindparam("program_id"),
        # = ANY(array) rather than IN (...): an expanding IN list needs SQLAlchemy's execute path.
        _MR.c.status == any_(bindparam("statuses", value=["ACTIVE", "COMPLETED"], type_=ARRAY(Text))),
        _MR.c.started_at <= bindparam("ended_at", type_=_MR.c.started_at.type),
    )
    .order_by(_MR.c.ended_at.desc())
    .limit(1)
)


def _bad(field: str, description: str, rule: str = "invalid") -> ValidationFailed:
    return ValidationFailed([invalid_entry(f"$.data.{field}", rule, description)])


@dataclass(frozen=True, slots=True)
class References:
    """The clinical records a draft names, as the list filters find them."""

    encounter_id: uuid.UUID | None = None
    episode_id: uuid.UUID | None = None
    care_plan_id: uuid.UUID | None = None
    activity_id: uuid.UUID | None = None

    def columns(self) -> dict[str, uuid.UUID | None]:
        return {
            "encounter_id": self.encounter_id,
            "episode_id": self.episode_id,
            "care_plan_id": self.care_plan_id,
            "activity_id": self.activity_id,
        }


@dataclass
class Checked:
    """Everything create/prequalify looked up, for the render."""

    legal_entity: LegalEntityRecord
    division: DivisionRecord
    employee: EmployeeRecord
    party: PartyRecord
    person: PersonRecord
    program: Mapping[str, Any]
    dosage: Mapping[str, Any]
    participants: list[Mapping[str, Any]]
    references: References


# --- validations (§3.3) ---------------------------------------------------------------------------------


async def check_own_employee(conn: AsyncConnection, employee_id: uuid.UUID, auth: AuthContext) -> None:
    """The draft's employee must be the user's own: a doctor never prescribes in a colleague's name (the
    signature is checked only at sign, and a draft already reads the colleague's patients' declarations)."""
    found = await repository.get_clinician(conn, employee_id=employee_id)
    if found is None:
        raise _bad("employee_id", "Employee not found", "required")
    caller = await people.caller_party(conn, auth)
    if caller is None or found.party.id != caller.id:
        raise _bad("employee_id", NOT_OWN_EMPLOYEE)


INACTIVE_PERSON = "Only for active MPI record can create medication request!"
# The contract's wording for prequalify.
INACTIVE_PERSON_PREQUALIFY = "Only for active MPI record can create Medication request Request!"


async def _subjects(
    conn: AsyncConnection,
    data: schemas.MedicationRequestRequestDraft,
    legal_entity_id: uuid.UUID,
    inactive_person: str = INACTIVE_PERSON,
) -> tuple[LegalEntityRecord, EmployeeRecord, PartyRecord, PersonRecord, DivisionRecord]:
    le = await repository.get_legal_entity(conn, legal_entity_id=legal_entity_id)
    if le is None or le["status"] != "ACTIVE" or not le["is_active"]:
        raise Conflict("Legal entity is not active")
    if le["type"] not in MRR_LEGAL_ENTITY_TYPES:
        raise Conflict("Invalid legal entity type")
    found = await repository.get_clinician(conn, employee_id=data.employee_id)
    if found is None:
        raise _bad("employee_id", "Employee not found", "required")
    emp, party = found.employee, found.party
    if emp["legal_entity_id"] != legal_entity_id or emp["status"] != "APPROVED" or not emp["is_active"]:
        raise _bad("employee_id", "Only active employee with type DOCTOR can create medication request!", "required")
    person = await repository.get_person(conn, person_id=data.person_id)
    if person is None:
        raise _bad("person_id", "Person not found", "required")
    if not person["is_active"] or person["status"] != "active":
        raise ApiError(422, "unverified", inactive_person)
    division = await repository.get_division(conn, division_id=data.division_id)
    if division is None:
        raise _bad("division_id", "Division not found", "required")
    if division["legal_entity_id"] != legal_entity_id or division["status"] != "ACTIVE" or not division["is_active"]:
        raise _bad("division_id", "Only employee of active divisions can create medication request!", "required")
    return le, emp, party, person, division


def _check_employee_for_program(emp: Any, program: Any) -> None:
    settings = settings_of(program)
    if settings["skip_employee_validation"]:
        return
    if emp["employee_type"] not in settings["employee_types_to_create_medication_request"]:
        raise _bad("employee_id", "Only active employee with type DOCTOR can create medication request!", "required")
    allowed = settings["speciality_types_allowed"]
    if allowed and repository.speciality_of(emp) not in allowed:
        raise Conflict("Employee speciality is not allowed for this medical program")


async def _check_declaration(conn: AsyncConnection, emp: Any, person_id: uuid.UUID, program: Any) -> None:
    settings = settings_of(program)
    if settings["skip_medication_request_legal_entity_declaration_verify"]:
        return
    if settings["skip_medication_request_employee_declaration_verify"]:
        found = await repository.has_active_declaration(
            conn, person_id=person_id, legal_entity_id=emp["legal_entity_id"]
        )
    else:
        found = await repository.has_active_declaration(conn, person_id=person_id, employee_id=emp["id"])
    if not found:
        raise _bad(
            "employee_id", "Only doctors with an active declaration with the patient can create medication request!"
        )


def _check_dates(data: schemas.MedicationRequestRequestDraft, program: Any, settings: Settings) -> None:
    now = today()
    if data.ended_at < data.started_at:
        raise _bad("ended_at", "Ended date must be >= Started date!")
    if data.started_at < data.created_at:
        raise _bad("started_at", "Started date must be >= Created date!")
    if data.started_at < now:
        raise _bad("started_at", "Started date must be >= Current date!")
    if data.created_at < now - timedelta(days=settings.mrr_delay_input_days):
        raise _bad("created_at", "Create date must be >= Current date - MRR delay input!")
    if data.created_at > now:
        raise _bad("created_at", "Create date must be <= Current date!")
    max_days = settings_of(program)["medication_request_max_period_day"]
    if max_days and (data.ended_at - data.started_at).days + 1 > int(max_days):
        raise _bad("ended_at", f"Treatment period cannot be more than {max_days} days")


async def _program(conn: AsyncConnection, program_id: uuid.UUID) -> Mapping[str, Any]:
    program = await get_row_by_id(conn, medical_programs, program_id)
    if program is None:
        raise _bad("medical_program_id", "Medical program not found", "required")
    if not program["is_active"]:
        raise Conflict("Medical program is not active")
    if not program["medication_request_allowed"]:
        raise Conflict(
            program["medication_request_allowed_text"] or "Medication request is not allowed for this program"
        )
    return program


async def participants(conn: AsyncConnection, dosage_id: uuid.UUID, program_id: uuid.UUID) -> list[Mapping[str, Any]]:
    """Active brands of this INN dosage that take part in the programme."""
    return await all_rows(_PARTICIPANTS, conn, dosage_id=dosage_id, program_id=program_id)


def _check_qty(qty: float, brands: list[Mapping[str, Any]]) -> None:
    if not any(b["package_min_qty"] and divisible(qty, b["package_min_qty"]) for b in brands):
        raise _bad(
            "medication_qty",
            "The amount of medications in medication request must be divisible to package minimum quantity",
        )


def divisible(qty: float, by: float) -> bool:
    ratio = qty / by
    return abs(ratio - round(ratio)) < 1e-9


async def check_same_inn(
    conn: AsyncConnection,
    *,
    person_id: uuid.UUID,
    innm_id: uuid.UUID,
    program: Any,
    created_at: date,
    started_at: date,
    ended_at: date,
    settings: Settings,
) -> None:
    """One ACTIVE/COMPLETED prescription per person × INN × programme per period, with the renewal window."""
    if settings_of(program)["skip_mnn_in_treatment_period"]:
        return
    last = await _LAST_OF_SAME_INN.first(
        conn, person_id=person_id, innm_id=innm_id, program_id=program["id"], ended_at=ended_at
    )
    if last is None:
        return
    if started_at <= last.ended_at:
        raise _bad("started_at", SAME_INN)
    if last.ended_at >= today():
        long_course = (last.ended_at - last.started_at).days >= settings.mr_standard_duration_days
        window = settings.mr_max_renew_days if long_course else settings.mr_min_renew_days
        if created_at < last.ended_at - timedelta(days=window):
            raise _bad("created_at", TOO_EARLY)


def _check_conditions(data: schemas.MedicationRequestRequestDraft, program: Any) -> None:
    s = settings_of(program)
    allowed = [*s["conditions_icd10_am_allowed"], *s["conditions_icpc2_allowed"]]
    if allowed and not any(c.upper().startswith(a.upper()) for c in data.diagnosis_codes for a in allowed):
        raise Conflict("Diagnosis is not allowed for this medical program")


_PRIOR_PRESCRIPTION = FastQuery(
    select(_MR.c.id).where(_MR.c.person_id == bindparam("person_id"), _MR.c.id == bindparam("id_"))
)
REFERENCE_VALUE = "identifier.value"


async def check_references(
    conn: AsyncConnection, data: schemas.MedicationRequestRequestDraft, program: Any
) -> References:
    """The draft's encounter and prior prescription exist and are the patient's; the programme's care plan rule.

    esoz keeps no care plans yet: a `based_on` care plan or activity is checked for its shape and stored as given.
    """
    episode_id = None
    if data.context is not None:
        encounter = await encounter_of_person(conn, person_id=data.person_id, encounter_id=data.context.id)
        if encounter is None:
            raise _bad(f"context.{REFERENCE_VALUE}", "Encounter not found")
        if encounter.entered_in_error:
            raise _bad(f"context.{REFERENCE_VALUE}", 'Entity in status "entered_in_error" can not be referenced')
        episode_id = encounter.episode_id
    if data.prior_prescription is not None:
        found = await _PRIOR_PRESCRIPTION.first(conn, person_id=data.person_id, id_=data.prior_prescription.id)
        if found is None:
            raise _bad(f"prior_prescription.{REFERENCE_VALUE}", "Medication request not found")
    care_plan_id = data.reference_id("care_plan")
    if settings_of(program)["care_plan_required"] and care_plan_id is None:
        raise _bad("based_on", "Care plan is required for this medical program", "required")
    return References(data.reference_id("encounter"), episode_id, care_plan_id, data.reference_id("activity"))


def same_container(brand: Mapping[str, Any], container: schemas.ContainerDosage) -> bool:
    """The brand's primary package holds the dosage the doctor asked for (`container_dosage`)."""
    held = brand["container"] or {}
    value = held.get("numerator_value")
    return held.get("numerator_unit") == container.code and value is not None and float(value) == container.value


async def validate(
    conn: AsyncConnection,
    data: schemas.MedicationRequestRequestDraft,
    legal_entity_id: uuid.UUID,
    settings: Settings,
    *,
    program_id: uuid.UUID,
) -> Checked:
    le, emp, party, person, division = await _subjects(conn, data, legal_entity_id)
    program = await _program(conn, program_id)
    _check_employee_for_program(emp, program)
    await _check_declaration(conn, emp, data.person_id, program)
    _check_dates(data, program, settings)
    _check_conditions(data, program)
    references = await check_references(conn, data, program)
    dosage = await programs.dosage_info(conn, data.medication_id)
    brands = await participants(conn, data.medication_id, program["id"]) if dosage is not None else []
    if dosage is None or not brands:
        raise _bad(
            "medication_id", "Not found any medications allowed for create medication request for this medical program!"
        )
    if data.container_dosage is not None:
        container = data.container_dosage
        brands = [b for b in brands if same_container(b, container)]
        if not brands:
            raise _bad("container_dosage", "No medication of the medical program has such container dosage")
    _check_qty(data.medication_qty, brands)
    await check_same_inn(
        conn,
        person_id=data.person_id,
        innm_id=dosage["innm_id"],
        program=program,
        created_at=data.created_at,
        started_at=data.started_at,
        ended_at=data.ended_at,
        settings=settings,
    )
    await stewardship.check_restrictions(
        conn,
        innm_id=dosage["innm_id"],
        atc_code=dosage["atc_code"],
        region=division["region"] or le["region"],
        speciality=repository.speciality_of(emp),
        qty=data.medication_qty,
        days=(data.ended_at - data.started_at).days + 1,
        diagnoses=data.diagnosis_codes,
    )
    return Checked(le, division, emp, party, person, program, dosage, brands, references)


# --- render ---------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return orjson.loads(envelope.dumps(value))


def _dumped(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [_dumped(v) for v in value]
    return value.model_dump(mode="json", exclude_none=True)


def render_draft(
    mrr_id: uuid.UUID, number: str, data: schemas.MedicationRequestRequestData, c: Checked
) -> dict[str, Any]:
    valid_from, valid_to = dispense_window(data.created_at, c.program)
    return _jsonable(
        {
            "id": mrr_id,
            "status": "NEW",
            "request_number": number,
            "created_at": data.created_at,
            "started_at": data.started_at,
            "ended_at": data.ended_at,
            "dispense_valid_from": valid_from,
            "dispense_valid_to": valid_to,
            "legal_entity": render.legal_entity(c.legal_entity),
            "division": render.division(c.division),
            "employee": render.employee(c.employee, c.party),
            "person": render.person(c.person, today()),
            "inform_with": data.inform_with,
            "medication_info": render.medication_info(c.dosage, data.medication_qty),
            "medical_program": render.medical_program_short(c.program),
            "intent": data.intent,
            "category": data.category,
            "based_on": _dumped(data.based_on),
            "context": _dumped(data.context),
            "dosage_instruction": data.dosage_instruction,
            "priority": data.priority,
            "prior_prescription": _dumped(data.prior_prescription),
            "container_dosage": _dumped(data.container_dosage),
            "note": data.note,
            "diagnosis_codes": data.diagnosis_codes,
        }
    )


# --- create, prequalify, reads --------------------------------------------------------------------------


async def create(
    conn: AsyncConnection, body: schemas.MedicationRequestRequestCreate, auth: AuthContext, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any]]:
    data = body.medication_request_request
    legal_entity_id = people.require_legal_entity(auth)
    await check_own_employee(conn, data.employee_id, auth)
    checked = await validate(conn, data, legal_entity_id, settings, program_id=data.medical_program_id)
    mrr_id = uuid7()
    number = await numbers.issue(conn, "medication_request")
    phone = repository.sms_phone(checked.person)
    # 4 digits 1–9, only when the patient can receive it (an OTP authentication method).
    code = "".join(secrets.choice("123456789") for _ in range(4)) if phone else None
    rendered = render_draft(mrr_id, number, data, checked)
    now = clock.now()
    await conn.execute(
        medication_request_requests.insert().values(
            id=mrr_id,
            person_id=data.person_id,
            status="NEW",
            request_number=number,
            verification_code=code,
            medication_request_id=uuid7(),
            employee_id=data.employee_id,
            legal_entity_id=checked.legal_entity["id"],
            medication_id=data.medication_id,
            medical_program_id=checked.program["id"],
            intent=data.intent,
            **checked.references.columns(),
            data=rendered,
            inserted_at=now,
            updated_at=now,
            inserted_by=auth.user_id,
            updated_by=auth.user_id,
        )
    )
    await audit.record(
        conn,
        action="medication_request_request.create",
        resource_type="medication_request_request",
        resource_id=mrr_id,
        actor=auth.actor,
    )
    urgent = {
        "authentication_method_current": {"type": "OTP" if phone else "NA", "phone_number": people.mask_phone(phone)}
    }
    return rendered, urgent


async def prequalify(
    conn: AsyncConnection, body: schemas.Prequalify, auth: AuthContext, settings: Settings
) -> list[dict[str, Any]]:
    data = body.medication_request_request
    if data.intent == "plan":
        raise Conflict("Plan can't be qualified")
    legal_entity_id = people.require_legal_entity(auth)
    await check_own_employee(conn, data.employee_id, auth)
    # The patient, doctor and division are the draft's, whatever the programme: refused once, not per programme.
    await _subjects(conn, data, legal_entity_id, INACTIVE_PERSON_PREQUALIFY)
    found = []
    for i, ref in enumerate(body.programs):
        program = await get_row_by_id(conn, medical_programs, ref.id)
        if program is None:
            raise ValidationFailed([invalid_entry(f"$.programs[{i}].id", "required", "Medical program not found")])
        found.append(program)
    out = []
    for program in found:
        ref = schemas.ProgramRef(id=program["id"])
        try:
            async with conn.begin_nested():  # a failed check must not poison the rest
                checked = await validate(conn, data, legal_entity_id, settings, program_id=ref.id)
        except ApiError as exc:
            reason = exc.invalid[0]["rules"][0]["description"] if exc.invalid else exc.message
            out.append(
                {
                    "program_id": ref.id,
                    "program_name": program["name"],
                    "status": "INVALID",
                    "rejection_reason": reason,
                    "participants": [],
                }
            )
            continue
        out.append(
            {
                "program_id": ref.id,
                "program_name": program["name"],
                "status": "VALID",
                "rejection_reason": "",
                "participants": [
                    {
                        "id": b["id"],
                        "name": b["name"],
                        "form": b["form"],
                        "manufacturer": b["manufacturer"],
                        "reimbursement_amount": b["reimbursement"].get("reimbursement_amount"),
                    }
                    for b in checked.participants
                ],
            }
        )
    return out


async def _get(
    conn: AsyncConnection, id_: uuid.UUID, legal_entity_filter: uuid.UUID | None, lock: bool = False
) -> Mapping[str, Any]:
    return await get_scoped_row(
        conn,
        medication_request_requests,
        id_,
        "Medication request request not found",
        legal_entity_filter=legal_entity_filter,
        lock=lock,
    )


def render_row(row: Any) -> dict[str, Any]:
    return dict(row["data"]) | {"status": row["status"]}


async def get(
    conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext, person_id: uuid.UUID | None = None
) -> dict[str, Any]:
    row = await _get(conn, id_, auth.legal_entity_filter)
    if person_id is not None and row["person_id"] != person_id:
        raise NotFound("Medication request request not found")
    return render_row(row)


async def list_for_person(
    conn: AsyncConnection,
    person_id: uuid.UUID,
    auth: AuthContext,
    *,
    status: str | None,
    employee_id: uuid.UUID | None,
    intent: str | None,
    limit: int,
    offset: int,
    legal_entity_id: uuid.UUID | None = None,
    references: References = References(),
) -> tuple[list[dict[str, Any]], int]:
    t = medication_request_requests
    where = [t.c.person_id == person_id]
    if auth.legal_entity_filter is not None:
        where.append(t.c.legal_entity_id == auth.legal_entity_filter)
    if status:
        where.append(t.c.status == status)
    if employee_id:
        where.append(t.c.employee_id == employee_id)
    if intent:
        where.append(t.c.intent == intent)
    if legal_entity_id:
        where.append(t.c.legal_entity_id == legal_entity_id)
    for column, value in references.columns().items():
        if value is not None:
            where.append(t.c[column] == value)
    rows = (
        await conn.execute(select(t).where(*where).order_by(t.c.inserted_at.desc()).limit(limit).offset(offset))
    ).mappings()
    total = (await conn.execute(select(func.count()).select_from(t).where(*where))).scalar_one()
    return [render_row(r) for r in rows], total


# --- sign and reject ------------------------------------------------------------------------------------


def _expired(row: Any, settings: Settings) -> bool:
    return row["inserted_at"] <= clock.now() - timedelta(minutes=settings.mrr_expiration_minutes)


async def sign(
    conn: AsyncConnection,
    id_: uuid.UUID,
    body: schemas.SignMedicationRequestRequest,
    auth: AuthContext,
    settings: Settings,
) -> dict[str, Any]:
    """The doctor's CMS over the draft's render creates the prescription (MR) ACTIVE and texts its code."""
    row = await _get(conn, id_, auth.legal_entity_filter, lock=True)
    party = await _signing_doctor(conn, row, auth, settings)
    entry = "$.signed_medication_request_request"
    plan: SignedWrite[None, uuid.UUID] = SignedWrite(
        stored_as="medication_request_request",
        entry=entry,
        content_entry=entry,
        signer=ExpectedSigner(tax_id=party["tax_id"], entry="$.employee_id.drfo"),
        read=read_nothing,
        expected=lambda _doc, _read: row["data"],
        write=lambda _doc, _read: _create_prescription(conn, row, auth=auth, settings=settings),
    )
    mr_id = await signed_write(
        conn, signed_data=body.signed_medication_request_request, plan=plan, auth=auth, settings=settings
    )
    return printout.with_printout(await prescriptions.get_row(conn, mr_id, None))


async def _signing_doctor(
    conn: AsyncConnection, row: Mapping[str, Any], auth: AuthContext, settings: Settings
) -> Mapping[str, Any]:
    """The party of the draft's doctor, who must be the caller and still an active employee."""
    # The expiry job may not have run yet: a draft past its lifetime is expired, whoever looks first.
    if row["status"] != "NEW" or _expired(row, settings):
        raise Conflict("Invalid status Medication request Request for sign transition!")
    if row["employee_id"] not in {e["id"] for e in await people.caller_employees(conn, auth)}:
        raise Forbidden("Only doctor that in Medication request Request can sign it")
    found = await repository.get_clinician(conn, employee_id=row["employee_id"])
    assert found is not None
    emp, party = found.employee, found.party
    if emp["status"] != "APPROVED" or not emp["is_active"]:
        raise _bad("employee_id", "Only active employee with type DOCTOR can create medication request!", "required")
    return party


async def _create_prescription(
    conn: AsyncConnection, row: Mapping[str, Any], *, auth: AuthContext, settings: Settings
) -> Written[uuid.UUID]:
    """The signed draft becomes the prescription, once no other one of its INN took the period meanwhile."""
    program = await get_row_by_id(conn, medical_programs, row["medical_program_id"])
    assert program is not None  # create checked the draft's programme (`.one()` before)
    dosage = await programs.dosage_info(conn, row["medication_id"])
    if dosage is None:
        raise _bad(
            "medication_id", "Not found any medications allowed for create medication request for this medical program!"
        )
    await _recheck_same_inn(conn, row, program=program, innm_id=dosage["innm_id"], settings=settings)
    mr_id = await _insert_prescription(conn, row, program=program, innm_id=dosage["innm_id"], auth=auth)
    await _update_status(conn, [row], "SIGNED", auth.user_id)
    phone = await repository.patient_sms_phone(conn, person_id=row["person_id"])
    notify = row["verification_code"] and not settings_of(program)["medication_request_notification_disabled"]
    sms = Sms(
        phone=phone,
        template=templates.medication_request_sign(row["request_number"], row["verification_code"]),
        idempotency_key=f"mr-sign:{mr_id}",
    )
    prescribed = StatusChange(
        entity_type="MedicationRequest", entity_id=mr_id, new_status="ACTIVE", legal_entity_id=row["legal_entity_id"]
    )
    signed = AuditEntry(
        action="medication_request_request.sign",
        resource_type="medication_request_request",
        resource_id=row["id"],
        details={"medication_request_id": str(mr_id)},
    )
    effects = Effects(
        changes=(*_status_changes([row], "SIGNED"), prescribed), audit=(signed,), messages=(sms,) if notify else ()
    )
    return Written(document_id=row["id"], result=mr_id, effects=effects)


def _draft_dates(draft: Mapping[str, Any]) -> tuple[date, date, date]:
    created_at, started_at, ended_at = (date.fromisoformat(draft[k]) for k in ("created_at", "started_at", "ended_at"))
    return created_at, started_at, ended_at


async def _recheck_same_inn(
    conn: AsyncConnection, row: Mapping[str, Any], *, program: Any, innm_id: uuid.UUID, settings: Settings
) -> None:
    # Two drafts for one INN may both have passed create; the lock makes their signs take turns.
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"mr:{row['person_id']}:{innm_id}:{program['id']}"},
    )
    created_at, started_at, ended_at = _draft_dates(row["data"])
    await check_same_inn(
        conn,
        person_id=row["person_id"],
        innm_id=innm_id,
        program=program,
        created_at=created_at,
        started_at=started_at,
        ended_at=ended_at,
        settings=settings,
    )


async def _insert_prescription(
    conn: AsyncConnection, row: Mapping[str, Any], *, program: Any, innm_id: uuid.UUID, auth: AuthContext
) -> uuid.UUID:
    draft = row["data"]
    created_at, started_at, ended_at = _draft_dates(draft)
    mr_id: uuid.UUID = row["medication_request_id"]
    now = clock.now()
    await conn.execute(
        medication_requests.insert().values(
            id=mr_id,
            person_id=row["person_id"],
            request_number=row["request_number"],
            verification_code=row["verification_code"],
            status="ACTIVE",
            employee_id=row["employee_id"],
            division_id=uuid.UUID(draft["division"]["id"]),
            legal_entity_id=row["legal_entity_id"],
            medication_id=row["medication_id"],
            innm_id=innm_id,
            medication_qty=draft["medication_info"]["medication_qty"],
            medical_program_id=program["id"],
            created_at=created_at,
            started_at=started_at,
            ended_at=ended_at,
            dispense_valid_from=date.fromisoformat(draft["dispense_valid_from"]),
            dispense_valid_to=date.fromisoformat(draft["dispense_valid_to"]),
            intent=row["intent"],
            category=draft["category"],
            medication_request_requests_id=row["id"],
            encounter_id=row["encounter_id"],
            episode_id=row["episode_id"],
            care_plan_id=row["care_plan_id"],
            activity_id=row["activity_id"],
            data={k: v for k, v in draft.items() if k != "status"} | {"id": str(mr_id)},
            inserted_at=now,
            updated_at=now,
            inserted_by=auth.user_id,
            updated_by=auth.user_id,
        )
    )
    return mr_id


async def reject(conn: AsyncConnection, id_: uuid.UUID, auth: AuthContext) -> dict[str, Any]:
    row = await _get(conn, id_, auth.legal_entity_filter, lock=True)
    if row["status"] != "NEW":
        raise Conflict("Invalid status Request for Medication request for reject transition!")
    await _update_status(conn, [row], "REJECTED", auth.user_id)
    audit_entry = AuditEntry(
        action="medication_request_request.reject",
        resource_type="medication_request_request",
        resource_id=row["id"],
    )
    await record_effects(conn, Effects(changes=_status_changes([row], "REJECTED"), audit=(audit_entry,)), auth=auth)
    return render_row(await _get(conn, id_, None))


async def _update_status(conn: AsyncConnection, rows: list[Any], status: str, by: uuid.UUID | None) -> None:
    t = medication_request_requests
    ids = [r["id"] for r in rows]
    await conn.execute(t.update().where(t.c.id.in_(ids)).values(status=status, updated_at=clock.now(), updated_by=by))


def _status_changes(rows: list[Any], status: str) -> tuple[StatusChange, ...]:
    return tuple(
        StatusChange(
            entity_type="MedicationRequestRequest",
            entity_id=r["id"],
            new_status=status,
            legal_entity_id=r["legal_entity_id"],
        )
        for r in rows
    )


async def expire(conn: AsyncConnection, settings: Settings, batch: int = 1000) -> int:
    """NEW drafts older than the expiration become EXPIRED (the real cron, every minute)."""
    t = medication_request_requests
    cutoff = clock.now() - timedelta(minutes=settings.mrr_expiration_minutes)
    due = (t.c.status == "NEW") & (t.c.inserted_at <= cutoff)
    return await expire_batch(conn, t, entity_type="MedicationRequestRequest", due=due, batch=batch)
