"""MIS-facing prescription API (§3): programmes and drugs, prescribing, prescriptions, dispensing, the report.

Routes parse, authorise with a typed scope dependency, call one service function and render the envelope.
"""

import inspect
import uuid
from datetime import date
from typing import Annotated, Any, Literal, Protocol, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.openapi import errors
from esoz.core.pagination import Pagination, Paging
from esoz.core.patient_data import note as note_patient_read
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.prescriptions import (
    codes,
    dispenses,
    drugs,
    pharmacy_reject,
    prescriptions,
    programs,
    reimbursement,
    render,
    requests,
    schemas,
)
from esoz.prescriptions.auth import (
    DrugsRead,
    MdProcess,
    MdRead,
    MdReadPharm,
    MdReject,
    MdWrite,
    MrBlock,
    MrBlockPharm,
    MrDetails,
    MrPharmacy,
    MrRead,
    MrReject,
    MrRejectPharm,
    MrResend,
    MrrRead,
    MrrReject,
    MrrSign,
    MrrWrite,
    MrUnblock,
    MrUnblockPharm,
    ProgramRead,
    ReportRead,
)
from esoz.prescriptions.common import BlankType
from esoz.settings import settings_of

router = APIRouter(prefix="/api", tags=["prescriptions"])


READ = errors(401, 403, 404, 422)
WRITE = errors(401, 403, 404, 422, _409="request_conflict: status or business rule")
SIGNED = WRITE | errors(_400="request_malformed: the signature did not verify")


# --- programmes and drugs -------------------------------------------------------------------------------


@router.get(
    "/medical_programs",
    response_model=ListEnvelope[schemas.MedicalProgramOut],
    summary="Medical programmes",
    responses=READ,
)
async def list_programs(
    request: Request,
    conn: ReadConn,
    auth: ProgramRead,
    page: Pagination,
    id: uuid.UUID | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    is_active: bool | None = None,
    mr_blank_type: Literal["F-1", "F-3"] | None = None,
    type: Literal["MEDICATION", "SERVICE"] | None = None,
) -> Response:
    rows, total = await programs.list_programs(
        conn,
        id_=id,
        name=name,
        is_active=is_active,
        mr_blank_type=mr_blank_type,
        type_=type,
        limit=page.page_size,
        offset=page.offset,
    )
    return envelope.ok(request, [render.medical_program(r) for r in rows], paging=Paging.of(page, total))


@router.get(
    "/medical_programs/{id}",
    response_model=Envelope[schemas.MedicalProgramOut],
    summary="A medical programme with its settings",
    responses=READ,
)
async def get_program(request: Request, conn: ReadConn, auth: ProgramRead, id: uuid.UUID) -> Response:
    return envelope.ok(request, render.medical_program(await programs.get_program(conn, id)))


async def _drug_filters(
    innm_id: uuid.UUID | None = None,
    innm_name: Annotated[str | None, Query(max_length=255)] = None,
    innm_sctid: Annotated[str | None, Query(max_length=64)] = None,
    innm_dosage_form: Annotated[str | None, Query(max_length=64)] = None,
    innm_dosage_id: uuid.UUID | None = None,
    innm_dosage_name: Annotated[str | None, Query(max_length=255)] = None,
    medication_code_atc: Annotated[str | None, Query(max_length=16)] = None,
    medical_program_id: uuid.UUID | None = None,
    mr_blank_type: BlankType | None = None,
    dosage_form_is_dosed: bool | None = None,
    medication_request_allowed: bool | None = None,
    care_plan_activity_allowed: bool | None = None,
) -> drugs.DrugFilters:
    return drugs.DrugFilters(
        innm_id=innm_id,
        innm_name=innm_name,
        innm_sctid=innm_sctid,
        innm_dosage_form=innm_dosage_form,
        innm_dosage_id=innm_dosage_id,
        innm_dosage_name=innm_dosage_name,
        medication_code_atc=medication_code_atc,
        medical_program_id=medical_program_id,
        mr_blank_type=mr_blank_type,
        dosage_form_is_dosed=dosage_form_is_dosed,
        medication_request_allowed=medication_request_allowed,
        care_plan_activity_allowed=care_plan_activity_allowed,
    )


DrugFilters = Annotated[drugs.DrugFilters, Depends(_drug_filters)]
DRUGS_DEVIATION = (
    "esoz deviation: a dosage's `mr_blank_type` is its programme's; programme medications carry no "
    "`start_date`/`end_date` and no `max_request_dosage` (null); `care_plan_activity_allowed` is the programme "
    "medication's `medication_request_allowed`; each programme medication also names its brand "
    "(`medication_id`) and programme (`medical_program_id`)."
)


@router.get(
    "/v2/drugs",
    response_model=ListEnvelope[schemas.DrugV2Out],
    summary="INN dosages under programmes, with their packages",
    description=DRUGS_DEVIATION,
    responses=READ,
)
async def list_drugs(
    request: Request, conn: ReadConn, auth: DrugsRead, page: Pagination, filters: DrugFilters
) -> Response:
    rows, total = await drugs.search(conn, filters, limit=page.page_size, offset=page.offset, version=2)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/v3/drugs",
    response_model=ListEnvelope[schemas.DrugV3Out],
    summary="INN dosages under programmes, with their packages and programme medications",
    description=DRUGS_DEVIATION,
    responses=READ,
)
async def list_drugs_v3(
    request: Request, conn: ReadConn, auth: DrugsRead, page: Pagination, filters: DrugFilters
) -> Response:
    rows, total = await drugs.search(conn, filters, limit=page.page_size, offset=page.offset, version=3)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


# --- prescribing ----------------------------------------------------------------------------------------


@router.post(
    "/medication_request_requests/prequalify",
    response_model=Envelope[list[schemas.PrequalifyOut]],
    summary="Which programmes a prescription fits",
    description=(
        "Checks the draft against each programme of `programs[]` as create would, and answers per programme "
        "`program_id`, `program_name`, `status` (VALID or INVALID) and `rejection_reason`. esoz deviation: each "
        "item also lists the programme's brands of the INN dosage in `participants`; a `medical_program_id` in the "
        "draft is accepted and ignored."
    ),
    responses=WRITE,
)
async def prequalify(request: Request, conn: WriteConn, auth: MrrWrite, body: schemas.Prequalify) -> Response:
    return envelope.ok(request, await requests.prequalify(conn, body, auth, settings_of(request)))


@router.post(
    "/medication_request_requests",
    response_model=Envelope[schemas.MedicationRequestRequestOut],
    status_code=201,
    summary="Create a prescription draft",
    description=(
        "Validates the draft (§3.3), stores it NEW for 30 minutes and returns exactly what the doctor signs. "
        "`context` must be an encounter of the patient (not entered in error), `prior_prescription` a prescription "
        "of the patient, and `container_dosage` the primary package of one of the programme's brands. "
        "**esoz:** optional `diagnosis_codes` (ICD-10 / ICPC-2) feed programme conditions and antibiotic restrictions. "
        "esoz deviation: `context` is optional; esoz keeps no care plans yet, so a `based_on` care plan or activity "
        "is checked for its shape (one of each, an activity with its care plan) and stored, not looked up."
    ),
    responses=WRITE,
)
async def create_request(
    request: Request, conn: WriteConn, auth: MrrWrite, body: schemas.MedicationRequestRequestCreate
) -> Response:
    data, urgent = await requests.create(conn, body, auth, settings_of(request))
    return envelope.ok(request, data, status=201, urgent=urgent)


@router.get(
    "/persons/{person_id}/medication_request_requests",
    response_model=ListEnvelope[schemas.MedicationRequestRequestOut],
    summary="A patient's prescription drafts",
    description=(
        "`episode_id` finds the drafts made in an encounter of that episode. esoz deviation: without `status` "
        "drafts of every status are listed (the contract's default is NEW)."
    ),
    responses=READ,
    openapi_extra=patient_data("medication_request_request", person="path:person_id", id="data:id"),
)
async def list_requests(
    request: Request,
    conn: ReadConn,
    auth: MrrRead,
    person_id: uuid.UUID,
    page: Pagination,
    status: Literal["NEW", "SIGNED", "REJECTED", "EXPIRED"] | None = None,
    employee_id: uuid.UUID | None = None,
    intent: Literal["order", "plan"] | None = None,
    legal_entity_id: uuid.UUID | None = None,
    episode_id: Annotated[uuid.UUID | None, Query(description="the episode of the draft's encounter")] = None,
    encounter_id: uuid.UUID | None = None,
    care_plan_id: uuid.UUID | None = None,
    activity_id: uuid.UUID | None = None,
) -> Response:
    rows, total = await requests.list_for_person(
        conn,
        person_id,
        auth,
        status=status,
        employee_id=employee_id,
        intent=intent,
        legal_entity_id=legal_entity_id,
        references=requests.References(encounter_id, episode_id, care_plan_id, activity_id),
        limit=page.page_size,
        offset=page.offset,
    )
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/persons/{person_id}/medication_request_requests/{id}",
    response_model=Envelope[schemas.MedicationRequestRequestOut],
    summary="A prescription draft",
    responses=READ,
    openapi_extra=patient_data("medication_request_request", person="path:person_id", id="path:id"),
)
async def get_request(request: Request, conn: ReadConn, auth: MrrRead, person_id: uuid.UUID, id: uuid.UUID) -> Response:
    return envelope.ok(request, await requests.get(conn, id, auth, person_id))


@router.get(
    "/medication_request_requests/{id}",
    response_model=Envelope[schemas.MedicationRequestRequestOut],
    summary="A prescription draft (2019 path)",
    responses=READ,
    openapi_extra=patient_data("medication_request_request", person="data:person.id", id="path:id"),
)
async def get_request_v1(request: Request, conn: ReadConn, auth: MrrRead, id: uuid.UUID) -> Response:
    return envelope.ok(request, await requests.get(conn, id, auth))


@router.patch(
    "/medication_request_requests/{id}/actions/sign",
    response_model=Envelope[schemas.MedicationRequestPrintedOut],
    summary="Sign a draft: the prescription is created",
    description="Answers the prescription with its printout (`printout_form`, HTML in Ukrainian).",
    responses=SIGNED,
)
async def sign_request(
    request: Request, conn: WriteConn, auth: MrrSign, id: uuid.UUID, body: schemas.SignMedicationRequestRequest
) -> Response:
    return envelope.ok(request, await requests.sign(conn, id, body, auth, settings_of(request)))


@router.patch(
    "/medication_request_requests/{id}/actions/reject",
    response_model=Envelope[schemas.MedicationRequestRequestOut],
    summary="Reject a draft",
    responses=WRITE,
)
async def reject_request(request: Request, conn: WriteConn, auth: MrrReject, id: uuid.UUID) -> Response:
    return envelope.ok(request, await requests.reject(conn, id, auth))


# --- prescriptions --------------------------------------------------------------------------------------


async def _medication_request_filters(**fields: Any) -> schemas.MedicationRequestFilters:
    return schemas.MedicationRequestFilters(**fields)


# The dataclass's own fields are the query parameters; async because FastAPI runs a class or a plain `def`
# dependency in its thread pool, a thread hop per request (bench/README.md).
class _Signed(Protocol):
    __signature__: inspect.Signature


cast(_Signed, _medication_request_filters).__signature__ = inspect.signature(schemas.MedicationRequestFilters)


@router.get(
    "/persons/{person_id}/medication_requests",
    response_model=ListEnvelope[schemas.MedicationRequestOut],
    summary="A patient's prescriptions",
    responses=READ,
    openapi_extra=patient_data("medication_request", person="path:person_id", id="data:id"),
)
async def list_prescriptions(
    request: Request,
    conn: ReadConn,
    auth: MrRead,
    person_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[schemas.MedicationRequestFilters, Depends(_medication_request_filters)],
    status: Literal["ACTIVE", "COMPLETED", "REJECTED", "EXPIRED"] | None = None,
) -> Response:
    rows, total = await prescriptions.list_for_person(
        conn, person_id, auth, vars(filters), status, limit=page.page_size, offset=page.offset
    )
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/persons/{person_id}/medication_requests/{id}",
    response_model=Envelope[schemas.MedicationRequestPrintedOut],
    summary="A prescription",
    description="With its printout (`printout_form`, HTML in Ukrainian).",
    responses=READ,
    openapi_extra=patient_data("medication_request", person="path:person_id", id="path:id"),
)
async def get_prescription(
    request: Request, conn: ReadConn, auth: MrDetails, person_id: uuid.UUID, id: uuid.UUID
) -> Response:
    return envelope.ok(request, await prescriptions.get(conn, id, auth, person_id))


@router.get(
    "/persons/{person_id}/medication_requests/{id}/printout_form",
    response_model=Envelope[schemas.PrintoutOut],
    summary="A prescription's printout",
    description="The paper form of the prescription as HTML, in Ukrainian.",
    responses=READ,
    openapi_extra=patient_data("medication_request", person="path:person_id", id="path:id"),
)
async def get_prescription_printout(
    request: Request, conn: ReadConn, auth: MrDetails, person_id: uuid.UUID, id: uuid.UUID
) -> Response:
    return envelope.ok(request, await prescriptions.get_printout(conn, id, auth, person_id))


@router.get(
    "/medication_requests/{id}",
    response_model=Envelope[schemas.MedicationRequestPrintedOut],
    summary="A prescription",
    description="With its printout (`printout_form`, HTML in Ukrainian).",
    responses=READ,
    openapi_extra=patient_data("medication_request", person="data:person.id", id="data:id"),
)
async def get_prescription_by_id(request: Request, conn: ReadConn, auth: MrDetails, id: uuid.UUID) -> Response:
    return envelope.ok(request, await prescriptions.get(conn, id, auth))


@router.post(
    "/medication_requests/{id}/actions/qualify",
    response_model=Envelope[list[schemas.QualifyOut]],
    summary="Which programmes a prescription can be dispensed under, as which brands",
    description=(
        "For each programme of `programs[]`: VALID with its participants (programme medications of the prescribed "
        "INN dosage: brand, prices, reimbursement per package, package sizes) or INVALID with the "
        "`rejection_reason` (programme inactive or closed for dispensing, INN not in the programme, a dispensed "
        "prescription of the same INN in the period, no running reimbursement contract of the pharmacy covering "
        "`division_id`). A pharmacy may qualify any prescription (unless its wrong codes locked it out), a clinic "
        "its own; `division_id` is a division of the caller. A plan, a prescription that is not ACTIVE or is "
        "blocked: 409; an unknown programme: 422. Writes nothing."
    ),
    responses=WRITE,
)
async def qualify_prescription(
    request: Request, conn: ReadConn, auth: MrDetails, id: uuid.UUID, body: schemas.Qualify
) -> Response:
    return envelope.ok(request, await prescriptions.qualify(conn, id, body, auth))


@router.patch(
    "/medication_requests/{id}/actions/reject",
    response_model=Envelope[schemas.MedicationRequestOut],
    summary="Recall a prescription (signed)",
    responses=SIGNED,
)
async def reject_prescription(
    request: Request, conn: WriteConn, auth: MrReject, id: uuid.UUID, body: schemas.SignedReject
) -> Response:
    return envelope.ok(request, await prescriptions.reject(conn, id, body, auth, settings_of(request)))


@router.patch(
    "/medication_requests/{id}/actions/resend",
    response_model=Envelope[schemas.MedicationRequestOut],
    summary="Text the number and code again",
    responses=WRITE,
)
async def resend_prescription(request: Request, conn: WriteConn, auth: MrResend, id: uuid.UUID) -> Response:
    return envelope.ok(request, await prescriptions.resend(conn, id, auth))


@router.patch(
    "/medication_requests/{id}/actions/block",
    response_model=Envelope[schemas.MedicationRequestOut],
    summary="Block a prescription",
    responses=WRITE,
)
async def block_prescription(
    request: Request, conn: WriteConn, auth: MrBlock, id: uuid.UUID, body: schemas.Block
) -> Response:
    row = await prescriptions.set_block(
        conn,
        id,
        auth,
        block=True,
        reason_code=body.block_reason_code,
        reason=body.block_reason,
        blocked_to=body.blocked_to,
    )
    return envelope.ok(request, row)


@router.patch(
    "/medication_requests/{id}/actions/unblock",
    response_model=Envelope[schemas.MedicationRequestOut],
    summary="Unblock a prescription",
    responses=WRITE,
)
async def unblock_prescription(
    request: Request, conn: WriteConn, auth: MrUnblock, id: uuid.UUID, body: schemas.Unblock
) -> Response:
    row = await prescriptions.set_block(
        conn, id, auth, block=False, reason_code=body.block_reason_code, reason=body.block_reason
    )
    return envelope.ok(request, row)


# --- pharmacy -------------------------------------------------------------------------------------------


@router.get(
    "/pharmacy/medication_requests/{id}",
    response_model=Envelope[schemas.MedicationRequestOut | schemas.PharmacistMedicationRequestOut],
    summary="Find a prescription by id or number (with the patient's code)",
    description=(
        "`id` is the prescription's UUID or its number `0000-XXXX-XXXX-XXXX`. Without `code` the answer is the "
        "contract's pharmacist shape. **esoz:** `code`, when given, is checked (403 `Incorrect code`) and then "
        "opens the prescription as a pharmacy sees it; wrong codes are counted per prescription and pharmacy, "
        "and after ESOZ_MR_CODE_MAX_ATTEMPTS (5) that pharmacy is refused the prescription (403), with any code."
    ),
    responses=READ,
    openapi_extra=patient_data("medication_request", person="route", id="route"),
)
async def pharmacy_get_prescription(
    request: Request,
    conn: ReadConn,
    auth: MrPharmacy,
    id: Annotated[str, Path(max_length=64)],
    code: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    found = await prescriptions.pharmacy_get(conn, id, code=code, auth=auth, settings=settings_of(request))
    note_patient_read(request, person_id=found.person_id, record_id=found.id)
    return envelope.ok(request, found.data)


@router.patch(
    "/pharmacy/medication_requests/{id}/actions/block",
    response_model=Envelope[schemas.MedicationRequestOut],
    summary="Block a prescription (pharmacy)",
    responses=WRITE,
)
async def pharmacy_block(
    request: Request, conn: WriteConn, auth: MrBlockPharm, id: uuid.UUID, body: schemas.Block
) -> Response:
    row = await prescriptions.set_block(
        conn,
        id,
        auth,
        block=True,
        reason_code=body.block_reason_code,
        reason=body.block_reason,
        blocked_to=body.blocked_to,
        any_legal_entity=True,
    )
    return envelope.ok(request, row)


@router.patch(
    "/pharmacy/medication_requests/{id}/actions/unblock",
    response_model=Envelope[schemas.MedicationRequestOut],
    summary="Unblock a prescription (pharmacy)",
    responses=WRITE,
)
async def pharmacy_unblock(
    request: Request, conn: WriteConn, auth: MrUnblockPharm, id: uuid.UUID, body: schemas.Unblock
) -> Response:
    row = await prescriptions.set_block(
        conn, id, auth, block=False, reason_code=body.block_reason_code, reason=body.block_reason, any_legal_entity=True
    )
    return envelope.ok(request, row)


@router.patch(
    "/pharmacy/medication_requests/{id}/actions/reject",
    response_model=Envelope[schemas.PharmacyRejectedMedicationRequestOut],
    summary="Reject a prescription the pharmacy cannot dispense (signed)",
    description=(
        "The pharmacist signs the prescription as `GET /api/pharmacy/medication_requests/{id}` without a code "
        "returns it, plus `reject_reason_code` (dictionary MEDICATION_REQUEST_REJECT_REASON) and an optional "
        "`reject_reason`. Refused (409) while a dispense is under way or done, or when another pharmacy has "
        "blocked the prescription. The patient is told by SMS."
    ),
    responses=SIGNED,
)
async def pharmacy_reject_prescription(
    request: Request, conn: WriteConn, auth: MrRejectPharm, id: uuid.UUID, body: schemas.SignedReject
) -> Response:
    data = await pharmacy_reject.reject(conn, id_=id, body=body, auth=auth, settings=settings_of(request))
    return envelope.ok(request, data)


@router.post(
    "/pharmacy/medication_dispenses",
    response_model=Envelope[schemas.MedicationDispenseOut],
    status_code=201,
    summary="Dispense a prescription",
    responses=WRITE,
)
async def create_dispense(
    request: Request,
    conn: WriteConn,
    auth: MdWrite,
    body: schemas.MedicationDispenseCreate,
    code: Annotated[str | None, Query(max_length=8, description="the patient's code from the SMS")] = None,
) -> Response:
    try:
        created = await dispenses.create(conn, body, code, auth, settings_of(request))
    except codes.CodeRefused as refused:  # answered, not raised: the transaction commits the wrong code's count
        return envelope.error(request, refused.status, refused.body())
    return envelope.ok(request, created, status=201)


@router.patch(
    "/pharmacy/medication_dispenses/{id}/actions/process",
    response_model=Envelope[schemas.MedicationDispenseOut],
    summary="Process a dispense (signed)",
    responses=SIGNED,
)
async def process_dispense(
    request: Request, conn: WriteConn, auth: MdProcess, id: uuid.UUID, body: schemas.ProcessDispense
) -> Response:
    return envelope.ok(request, await dispenses.process(conn, id, body, auth, settings_of(request)))


@router.patch(
    "/pharmacy/medication_dispenses/{id}/actions/reject",
    response_model=Envelope[schemas.MedicationDispenseOut],
    summary="Reject a dispense",
    responses=WRITE,
)
async def reject_dispense(request: Request, conn: WriteConn, auth: MdReject, id: uuid.UUID) -> Response:
    return envelope.ok(request, await dispenses.reject(conn, id, auth, settings_of(request)))


DispenseStatus = Literal["NEW", "PROCESSED", "REJECTED", "EXPIRED"]


async def _dispense_filters(
    id: uuid.UUID | None = None,
    medication_request_id: uuid.UUID | None = None,
    legal_entity_id: uuid.UUID | None = None,
    division_id: uuid.UUID | None = None,
    status: DispenseStatus | None = None,
    dispensed_from: date | None = None,
    dispensed_to: date | None = None,
    care_plan_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id_": id,
        "medication_request_id": medication_request_id,
        "legal_entity_id": legal_entity_id,
        "division_id": division_id,
        "status": status,
        "dispensed_from": dispensed_from,
        "dispensed_to": dispensed_to,
        "care_plan_id": care_plan_id,
    }


DispenseFilters = Annotated[dict[str, Any], Depends(_dispense_filters)]
DISPENSE_LIST = (
    "A pharmacy sees its own dispenses (`legal_entity_id` of another pharmacy finds none); `care_plan_id` "
    "finds dispenses of prescriptions based on that care plan."
)


@router.get(
    "/pharmacy/medication_dispenses",
    response_model=ListEnvelope[schemas.MedicationDispenseOut],
    summary="The pharmacy's dispenses",
    description=DISPENSE_LIST,
    responses=READ,
    openapi_extra=patient_data("medication_dispense", person="data:medication_request.person.id", id="data:id"),
)
async def list_dispenses(
    request: Request, conn: ReadConn, auth: MdReadPharm, page: Pagination, filters: DispenseFilters
) -> Response:
    rows, total = await dispenses.list_dispenses(conn, auth, **filters, limit=page.page_size, offset=page.offset)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/pharmacy/medication_dispenses/{id}",
    response_model=Envelope[schemas.MedicationDispenseOut],
    summary="A dispense",
    responses=READ,
    openapi_extra=patient_data("medication_dispense", person="data:medication_request.person.id", id="path:id"),
)
async def get_dispense(request: Request, conn: ReadConn, auth: MdReadPharm, id: uuid.UUID) -> Response:
    return envelope.ok(request, await dispenses.get(conn, id, auth))


@router.get(
    "/persons/{person_id}/medication_requests/{id}/medication_dispenses",
    response_model=ListEnvelope[schemas.MedicationDispenseOut],
    summary="Dispenses of a prescription",
    responses=READ,
    openapi_extra=patient_data("medication_dispense", person="path:person_id", id="data:id"),
)
async def list_prescription_dispenses(
    request: Request,
    conn: ReadConn,
    auth: MrDetails,
    person_id: uuid.UUID,
    id: uuid.UUID,
    page: Pagination,
    status: DispenseStatus | None = None,
) -> Response:
    rows, total = await dispenses.list_dispenses(
        conn,
        auth,
        person_id=person_id,
        medication_request_id=id,
        status=status,
        limit=page.page_size,
        offset=page.offset,
    )
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/persons/{person_id}/medication_dispenses/{id}",
    response_model=Envelope[schemas.MedicationDispenseOut],
    summary="A patient's dispense",
    description="The pharmacy that dispensed it, or the clinic whose prescription it was, may read it.",
    responses=READ,
    openapi_extra=patient_data("medication_dispense", person="path:person_id", id="path:id"),
)
async def get_person_dispense(
    request: Request, conn: ReadConn, auth: MdRead, person_id: uuid.UUID, id: uuid.UUID
) -> Response:
    return envelope.ok(request, await dispenses.get_for_person(conn, person_id=person_id, id_=id, auth=auth))


# --- the 2019 dispense calls: older pharmacy MIS still use them ------------------------------------------
V1 = "Deprecated: the 2019 path of `{}`, answered by the same code."


@router.post(
    "/medication_dispenses",
    response_model=Envelope[schemas.MedicationDispenseOut],
    status_code=201,
    summary="Dispense a prescription (2019 path)",
    description=V1.format("POST /api/pharmacy/medication_dispenses"),
    responses=WRITE,
    deprecated=True,
)
async def create_dispense_v1(
    request: Request,
    conn: WriteConn,
    auth: MdWrite,
    body: schemas.MedicationDispenseCreate,
    code: Annotated[str | None, Query(max_length=8, description="the patient's code from the SMS")] = None,
) -> Response:
    return await create_dispense(request, conn, auth, body, code)


@router.patch(
    "/medication_dispenses/{id}/actions/process",
    response_model=Envelope[schemas.MedicationDispenseOut],
    summary="Process a dispense (signed; 2019 path)",
    description=V1.format("PATCH /api/pharmacy/medication_dispenses/{id}/actions/process"),
    responses=SIGNED,
    deprecated=True,
)
async def process_dispense_v1(
    request: Request, conn: WriteConn, auth: MdProcess, id: uuid.UUID, body: schemas.ProcessDispense
) -> Response:
    return await process_dispense(request, conn, auth, id, body)


@router.patch(
    "/medication_dispenses/{id}/actions/reject",
    response_model=Envelope[schemas.MedicationDispenseOut],
    summary="Reject a dispense (2019 path)",
    description=V1.format("PATCH /api/pharmacy/medication_dispenses/{id}/actions/reject")
    + " esoz deviation: the contract names no scope for it; esoz asks for `medication_dispense:reject`, "
    "as the current path does.",
    responses=WRITE,
    deprecated=True,
)
async def reject_dispense_v1(request: Request, conn: WriteConn, auth: MdReject, id: uuid.UUID) -> Response:
    return await reject_dispense(request, conn, auth, id)


@router.get(
    "/medication_dispenses",
    response_model=ListEnvelope[schemas.MedicationDispenseOut],
    summary="The pharmacy's dispenses (2019 path)",
    description=V1.format("GET /api/pharmacy/medication_dispenses") + " " + DISPENSE_LIST,
    responses=READ,
    deprecated=True,
    openapi_extra=patient_data("medication_dispense", person="data:medication_request.person.id", id="data:id"),
)
async def list_dispenses_v1(
    request: Request, conn: ReadConn, auth: MdRead, page: Pagination, filters: DispenseFilters
) -> Response:
    rows, total = await dispenses.list_dispenses(conn, auth, **filters, limit=page.page_size, offset=page.offset)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/medication_dispenses/{id}",
    response_model=Envelope[schemas.MedicationDispenseOut],
    summary="A dispense (2019 path)",
    description=V1.format("GET /api/pharmacy/medication_dispenses/{id}"),
    responses=READ,
    deprecated=True,
    openapi_extra=patient_data("medication_dispense", person="data:medication_request.person.id", id="path:id"),
)
async def get_dispense_v1(request: Request, conn: ReadConn, auth: MdRead, id: uuid.UUID) -> Response:
    return envelope.ok(request, await dispenses.get(conn, id, auth))


@router.get(
    "/medication_requests/{id}/dispenses",
    response_model=ListEnvelope[schemas.MedicationDispenseOut],
    summary="Dispenses of a prescription (2019 path)",
    description=V1.format("GET /api/persons/{person_id}/medication_requests/{id}/medication_dispenses")
    + " esoz deviation: the contract names no scope for it; esoz asks for `medication_request:details`, "
    "as the current path does.",
    responses=READ,
    deprecated=True,
    openapi_extra=patient_data("medication_dispense", person="data:medication_request.person.id", id="data:id"),
)
async def list_prescription_dispenses_v1(
    request: Request,
    conn: ReadConn,
    auth: MrDetails,
    id: uuid.UUID,
    page: Pagination,
    status: DispenseStatus | None = None,
) -> Response:
    rows, total = await dispenses.of_prescription(
        conn, auth, medication_request_id=id, status=status, limit=page.page_size, offset=page.offset
    )
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/reimbursement_report",
    response_model=Envelope[schemas.ReimbursementReportOut],
    summary="Dispenses under programmes in a period, with the amounts owed to the pharmacy",
    description="A pharmacy sees its own; НСЗУ any (`legal_entity_id`), or all pharmacies when omitted.",
    responses=READ,
)
async def reimbursement_report(
    request: Request,
    conn: ReadConn,
    auth: ReportRead,
    date_from: date,
    date_to: date,
    legal_entity_id: uuid.UUID | None = None,
    medical_program_id: uuid.UUID | None = None,
) -> Response:
    own = auth.legal_entity_filter
    data = await reimbursement.report(
        conn,
        legal_entity_id=own or legal_entity_id,
        date_from=date_from,
        date_to=date_to,
        medical_program_id=medical_program_id,
    )
    return envelope.ok(request, data)
