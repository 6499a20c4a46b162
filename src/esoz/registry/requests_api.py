"""Routes of declaration requests (v3), person requests (v2) and the MPI's operator actions, but the signing.

The sign actions run the signed-write flow of the signatures domain, which sits above the registry in the import
order; they are served by `esoz.enrolment.api` over the service functions here.
"""

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.errors import Forbidden
from esoz.core.pagination import Pagination
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.registry import declaration_requests as dr
from esoz.registry import mpi, person_requests, render, request_codes
from esoz.registry.auth import (
    DeclarationRequestApprove,
    DeclarationRequestRead,
    DeclarationRequestReject,
    DeclarationRequestWrite,
    DeclarationTerminate,
    OtpWrite,
    PersonMerge,
    PersonRead,
    PersonRequestRead,
    PersonRequestWrite,
)
from esoz.registry.request_schemas import (
    CabinetTerminate,
    DeclarationRequestCreate,
    DeclarationRequestOut,
    DeclarationTerminateBy,
    MergeCandidateOut,
    MergeDecision,
    MergedPersonOut,
    OtpOut,
    PersonMergeOut,
    PersonRequestCreate,
    PersonRequestOut,
    RequestReject,
    VerificationCode,
)
from esoz.registry.schemas import DeclarationOut
from esoz.settings import settings_of

router = APIRouter(prefix="/api", tags=["declaration requests", "person requests"])
admin_router = APIRouter(prefix="/admin", tags=["master patient index"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not_found: the request (of your legal entity)"},
    409: {"description": "request_conflict: the request's status, the doctor's limit, an inactive legal entity"},
    422: {"description": "validation_failed: the body, the person, the doctor, the division or the SMS code"},
}


# --- declaration requests ----------------------------------------------------------------------------


@router.post(
    "/v3/declaration_requests", response_model=Envelope[DeclarationRequestOut], status_code=201, responses=ERRORS
)
async def create_declaration_request(
    request: Request, conn: WriteConn, auth: DeclarationRequestWrite, body: DeclarationRequestCreate
) -> Response:
    """Create a declaration request for an existing person; the patient gets an SMS code (OTP) unless the
    person has no phone (then the documents path: the employee confirms having seen the documents)."""
    row, urgent = await dr.create(conn, body=body, auth=auth, settings=settings_of(request))
    return envelope.ok(request, dr.render(row), status=201, urgent=urgent)


@router.get(
    "/v3/declaration_requests",
    response_model=ListEnvelope[DeclarationRequestOut],
    openapi_extra=patient_data("declaration_request", person="data:person_id", id="data:id"),
)
async def list_declaration_requests(
    request: Request,
    conn: ReadConn,
    auth: DeclarationRequestRead,
    page: Pagination,
    status: Literal["NEW", "APPROVED", "SIGNED", "REJECTED", "EXPIRED", "CANCELLED"] | None = None,
    employee_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    legal_entity_id: uuid.UUID | None = None,
    channel: Literal["MIS", "PIS", "CABINET"] | None = None,
) -> Response:
    """A clinic's token sees its own legal entity's requests whatever `legal_entity_id` says (another's: none)."""
    rows, paging = await dr.list_(
        conn,
        auth=auth,
        page=page,
        status=status,
        employee_id=employee_id,
        person_id=person_id,
        legal_entity_id=legal_entity_id,
        channel=channel,
    )
    return envelope.ok(request, [dr.render(r) for r in rows], paging=paging)


@router.get(
    "/v3/declaration_requests/{id}",
    response_model=Envelope[DeclarationRequestOut],
    responses={404: ERRORS[404]},
    openapi_extra=patient_data("declaration_request", person="data:person_id", id="path:id"),
)
async def get_declaration_request(
    request: Request, conn: ReadConn, auth: DeclarationRequestRead, id: uuid.UUID
) -> Response:
    row = await dr.get(conn, id_=id, auth=auth)
    return envelope.ok(request, dr.render(row, with_signed_data=row["status"] == dr.APPROVED), urgent=dr.urgent(row))


@router.patch(
    "/v3/declaration_requests/{id}/actions/approve",
    status_code=201,
    response_model=Envelope[DeclarationRequestOut],
    responses=ERRORS,
)
async def approve_declaration_request(
    request: Request, conn: WriteConn, auth: DeclarationRequestApprove, id: uuid.UUID, body: VerificationCode
) -> Response:
    """The patient's SMS code confirms the request; the answer carries `data_to_be_signed` (its `content` is
    the printout the patient reads) for the doctor to sign. A wrong code is counted: after `otp_max_attempts`
    the request's code is refused even when right (ask for a new one with resend_otp)."""
    try:
        row = await dr.approve(conn, id_=id, code=body.verification_code, auth=auth, settings=settings_of(request))
    except request_codes.CodeRefused as refused:  # answered, not raised: the wrong try's count is committed
        return envelope.error(request, refused.status, refused.body())
    return envelope.ok(request, dr.render(row, with_signed_data=True), status=201)


@router.patch(
    "/v3/declaration_requests/{id}/actions/reject",
    status_code=201,
    response_model=Envelope[DeclarationRequestOut],
    responses=ERRORS,
)
async def reject_declaration_request(
    request: Request, conn: WriteConn, auth: DeclarationRequestReject, id: uuid.UUID, body: RequestReject | None = None
) -> Response:
    row = await dr.reject(conn, id_=id, reason=body.status_reason if body else None, auth=auth)
    return envelope.ok(request, dr.render(row), status=201)


@router.post(
    "/v3/declaration_requests/{id}/actions/resend_otp",
    response_model=Envelope[OtpOut],
    responses=ERRORS,
)
async def resend_declaration_request_otp(request: Request, conn: WriteConn, auth: OtpWrite, id: uuid.UUID) -> Response:
    """A new SMS code for the patient; the earlier one stops working and the tries start again."""
    row = await dr.resend_otp(conn, id_=id, auth=auth, settings=settings_of(request))
    answer = {"id": row["id"], "status": "NEW", "code_expired_at": row["otp_expires_at"], "active": True}
    return envelope.ok(request, answer, urgent=dr.urgent(row))


# --- person requests ---------------------------------------------------------------------------------


@router.post("/v2/person_requests", response_model=Envelope[PersonRequestOut], status_code=201, responses=ERRORS)
async def create_person_request(
    request: Request, conn: WriteConn, auth: PersonRequestWrite, body: PersonRequestCreate
) -> Response:
    """Create or update a person through a request the patient confirms (SMS code to the authentication phone,
    or the documents path without one) and an employee signs. A request for a human the index already holds
    (same РНОКПП, same document, or the same names, birth date and phone) is refused with the match.
    **esoz deviation:** an update names the person in `person_id` of the body."""
    row, urgent = await person_requests.create(conn, body=body, auth=auth, settings=settings_of(request))
    return envelope.ok(request, person_requests.render(row), status=201, urgent=urgent)


@router.get(
    "/v2/person_requests/{id}",
    response_model=Envelope[PersonRequestOut],
    responses={404: ERRORS[404]},
    openapi_extra=patient_data("person_request", person="data:person_id", id="path:id"),
)
async def get_person_request(request: Request, conn: ReadConn, auth: PersonRequestRead, id: uuid.UUID) -> Response:
    row = await person_requests.get(conn, id_=id, auth=auth)
    return envelope.ok(request, person_requests.render(row, with_signed_data=row["status"] == "APPROVED"))


@router.patch(
    "/v2/person_requests/{id}/actions/approve",
    status_code=201,
    response_model=Envelope[PersonRequestOut],
    responses=ERRORS,
)
async def approve_person_request(
    request: Request, conn: WriteConn, auth: PersonRequestWrite, id: uuid.UUID, body: VerificationCode
) -> Response:
    try:
        row = await person_requests.approve(
            conn, id_=id, code=body.verification_code, auth=auth, settings=settings_of(request)
        )
    except request_codes.CodeRefused as refused:  # answered, not raised: the wrong try's count is committed
        return envelope.error(request, refused.status, refused.body())
    return envelope.ok(request, person_requests.render(row, with_signed_data=True), status=201)


@router.patch(
    "/v2/person_requests/{id}/actions/reject",
    status_code=201,
    response_model=Envelope[PersonRequestOut],
    responses=ERRORS,
)
async def reject_person_request(
    request: Request, conn: WriteConn, auth: PersonRequestWrite, id: uuid.UUID, body: RequestReject | None = None
) -> Response:
    row = await person_requests.reject(conn, id_=id, reason=body.status_reason if body else None, auth=auth)
    return envelope.ok(request, person_requests.render(row), status=201)


# --- master patient index (operators) ----------------------------------------------------------------


def _candidate(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "person_id", "master_person_id", "status", "reasons", "inserted_at")}


def _merge(row: Any) -> dict[str, Any]:
    keys = ("id", "person_id", "master_person_id", "merge_candidate_id", "terminated_declarations", "undone_at")
    return {k: row[k] for k in (*keys, "inserted_at")}


@admin_router.get("/merge_candidates", response_model=ListEnvelope[MergeCandidateOut])
async def list_merge_candidates(
    request: Request,
    conn: ReadConn,
    auth: PersonMerge,
    page: Pagination,
    status: Literal["NEW", "MERGED", "DECLINED"] | None = "NEW",
) -> Response:
    """Near matches of the index (same names and birth date, nothing else in common) for an operator."""
    rows, paging = await mpi.list_candidates(conn, page=page, status=status)
    return envelope.ok(request, [_candidate(r) for r in rows], paging=paging)


@admin_router.patch(
    "/merge_candidates/{id}/actions/resolve", response_model=Envelope[MergeCandidateOut], responses=ERRORS
)
async def resolve_merge_candidate(
    request: Request, conn: WriteConn, auth: PersonMerge, id: uuid.UUID, body: MergeDecision
) -> Response:
    """MERGE: the candidate is merged into the master (deactivated, its declarations terminated, audited);
    DECLINED: they are different humans."""
    row = await mpi.resolve_candidate(conn, candidate_id=id, decision=body.status, auth=auth)
    return envelope.ok(request, _candidate(row))


@admin_router.get("/person_merges", response_model=ListEnvelope[PersonMergeOut])
async def list_person_merges(
    request: Request, conn: ReadConn, auth: PersonMerge, page: Pagination, person_id: uuid.UUID | None = None
) -> Response:
    rows, paging = await mpi.list_merges(conn, page=page, person_id=person_id)
    return envelope.ok(request, [_merge(r) for r in rows], paging=paging)


@admin_router.patch("/person_merges/{id}/actions/undo", response_model=Envelope[PersonMergeOut], responses=ERRORS)
async def undo_person_merge(request: Request, conn: WriteConn, auth: PersonMerge, id: uuid.UUID) -> Response:
    """Undo a merge: the merged-away person is active again; audited."""
    row = await mpi.undo_merge(conn, merge_id=id, auth=auth)
    return envelope.ok(request, _merge(row))


# --- termination -------------------------------------------------------------------------------------


@router.patch(
    "/declarations/{id}/actions/terminate",
    response_model=Envelope[DeclarationOut],
    responses=ERRORS,
)
async def terminate_by_doctor(
    request: Request, conn: WriteConn, auth: DeclarationTerminate, id: uuid.UUID, body: DeclarationTerminateBy
) -> Response:
    """The doctor's legal entity ends a declaration (reason `manual_employee`). **esoz deviation:** the published
    contract documents no MIS-side termination; the real system's older MIS API had one."""
    row = await dr.terminate(
        conn, declaration_id=id, auth=auth, by_patient=False, reason_description=body.reason_description
    )
    return envelope.ok(request, render.declaration(row, full=True))


@router.patch(
    "/cabinet/declarations/{id}/actions/terminate",
    response_model=Envelope[DeclarationOut],
    responses=ERRORS,
)
async def terminate_by_patient(
    request: Request, conn: WriteConn, auth: DeclarationTerminate, id: uuid.UUID, body: CabinetTerminate
) -> Response:
    """The patient ends their declaration (reason `manual_person`) through the patient portal. **esoz deviation:**
    esoz has no patient sign-in yet, so the portal's client (type CABINET) names the patient in `person_id`."""
    if auth.client_type not in ("CABINET", "NHS"):
        raise Forbidden("Only the patient portal terminates a declaration for the patient")
    row = await dr.terminate(
        conn,
        declaration_id=id,
        auth=auth,
        by_patient=True,
        person_id=body.person_id,
        reason_description=body.reason_description,
    )
    return envelope.ok(request, render.declaration(row, full=True))


@router.get(
    "/persons/{id}/merged_persons",
    response_model=ListEnvelope[MergedPersonOut],
    openapi_extra=patient_data("person", person="path:id", id="data:id", action="person.merged_persons.read"),
)
async def merged_persons(
    request: Request,
    conn: ReadConn,
    auth: PersonRead,
    id: uuid.UUID,
    page: Pagination,
    status: Literal["MERGED", "UNDONE"] | None = None,
) -> Response:
    """The records merged into this person (the master), newest first; `status` MERGED keeps the merges that
    stand, UNDONE those an operator undid."""
    undone = None if status is None else status == "UNDONE"
    rows, paging = await mpi.list_merges(conn, page=page, person_id=id, as_master=True, undone=undone)
    data = [
        {
            "id": r["id"],
            "merge_person_id": r["person_id"],
            "master_person_id": r["master_person_id"],
            "status": "MERGED" if r["undone_at"] is None else "UNDONE",
            "inserted_at": r["inserted_at"],
            "updated_at": r["updated_at"],
        }
        for r in rows
    ]
    return envelope.ok(request, data, paging=paging)
