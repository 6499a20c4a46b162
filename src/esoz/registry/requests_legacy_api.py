"""Routes of the other published versions of the request calls, over the service functions of v2/v3.

Person requests v1 (`/api/person_requests`, current in the contract), the deprecated declaration request calls
(`/api/declaration_requests/...` and the v2 create) and the termination of a declaration through a patient
information system (PIS). Each answers in its version's shape; the rules (documents, the master patient index,
the doctor's limit, the patient's SMS code and its resends) are those of person_requests and
declaration_requests. The sign actions are served by `esoz.enrolment.legacy_api`.
"""

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.errors import Forbidden, ValidationFailed, invalid_entry
from esoz.core.pagination import Pagination
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.registry import declaration_requests as dr
from esoz.registry import person_requests, render, request_codes
from esoz.registry.auth import (
    DeclarationRequestApprove,
    DeclarationRequestRead,
    DeclarationRequestWrite,
    DeclarationTerminatePis,
    OtpWrite,
    PersonRequestRead,
    PersonRequestWrite,
)
from esoz.registry.legacy_request_schemas import (
    DeclarationRequestCreateV2,
    DeclarationRequestV1ActionOut,
    DeclarationRequestV1CreatedOut,
    DeclarationRequestV1ListItem,
    DeclarationRequestV1Out,
    PersonRequestCreateV1,
    PersonRequestV1CreatedOut,
    PersonRequestV1ListItem,
    PersonRequestV1Out,
    PisTerminate,
)
from esoz.registry.request_schemas import (
    DeclarationRequestCreate,
    OtpOut,
    PersonRequestCreate,
    RequestReject,
    VerificationCode,
)
from esoz.registry.schemas import DeclarationOut, Person
from esoz.settings import settings_of

router = APIRouter(prefix="/api", tags=["person requests", "declaration requests"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not_found: the request (of your legal entity)"},
    409: {"description": "request_conflict: the request's status, a duplicate person, an expired request"},
    422: {"description": "validation_failed: the body, the person, the doctor, the division or the SMS code"},
}
RESEND_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    429: {"description": "otp_timeout: the request has sent as many codes as it may"},
}
RequestStatus = Literal["NEW", "APPROVED", "SIGNED", "REJECTED", "CANCELLED"]


def _otp(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "status": "NEW", "code_expired_at": row["otp_expires_at"], "active": True}


# --- person requests v1 ------------------------------------------------------------------------------


@router.post("/person_requests", response_model=Envelope[PersonRequestV1CreatedOut], status_code=201, responses=ERRORS)
async def create_person_request_v1(
    request: Request, conn: WriteConn, auth: PersonRequestWrite, body: PersonRequestCreateV1
) -> Response:
    """Create or update (`person.id`) a person through a request the patient confirms (SMS code, or the documents
    path without a phone) and an employee signs; the rules of v2. `authorize_with` names the known person's
    authentication method that confirms."""
    v2 = PersonRequestCreate(
        person=Person.model_validate(body.person.model_dump(exclude={"id"})),
        patient_signed=body.patient_signed,
        process_disclosure_data_consent=body.process_disclosure_data_consent,
        person_id=body.person.id,
    )
    row, urgent = await person_requests.create(
        conn, body=v2, auth=auth, settings=settings_of(request), authorize_with=body.authorize_with
    )
    data = person_requests.render_v1(row)
    del data["content"]
    return envelope.ok(request, data, status=201, urgent=urgent)


@router.get(
    "/person_requests",
    response_model=ListEnvelope[PersonRequestV1ListItem],
    openapi_extra=patient_data("person_request", person="data:person.id", id="data:id"),
)
async def list_person_requests_v1(
    request: Request,
    conn: ReadConn,
    auth: PersonRequestRead,
    page: Pagination,
    status: RequestStatus | None = None,
    legal_entity_id: uuid.UUID | None = None,
) -> Response:
    """The person requests of your legal entity, newest first."""
    rows, paging = await person_requests.list_(
        conn, auth=auth, page=page, status=status, legal_entity_id=legal_entity_id
    )
    data = [{k: v for k, v in person_requests.render_v1(r).items() if k in ("id", "status", "person")} for r in rows]
    return envelope.ok(request, data, paging=paging)


@router.get(
    "/person_requests/{id}",
    response_model=Envelope[PersonRequestV1Out],
    responses={404: ERRORS[404]},
    openapi_extra=patient_data("person_request", person="data:person.id", id="path:id"),
)
async def get_person_request_v1(request: Request, conn: ReadConn, auth: PersonRequestRead, id: uuid.UUID) -> Response:
    row = await person_requests.get(conn, id_=id, auth=auth)
    return envelope.ok(request, person_requests.render_v1(row))


@router.patch(
    "/person_requests/{id}/actions/approve",
    status_code=201,
    response_model=Envelope[PersonRequestV1Out],
    responses=ERRORS,
)
async def approve_person_request_v1(
    request: Request, conn: WriteConn, auth: PersonRequestWrite, id: uuid.UUID, body: VerificationCode
) -> Response:
    """The patient's SMS code confirms the request; the answer (its `content` the printout) is what the employee
    signs with КЕП in the sign action."""
    try:
        row = await person_requests.approve(
            conn, id_=id, code=body.verification_code, auth=auth, settings=settings_of(request)
        )
    except request_codes.CodeRefused as refused:  # answered, not raised: the wrong try's count is committed
        return envelope.error(request, refused.status, refused.body())
    return envelope.ok(request, person_requests.render_v1(row), status=201)


@router.patch(
    "/person_requests/{id}/actions/reject",
    status_code=201,
    response_model=Envelope[PersonRequestV1Out],
    responses=ERRORS,
)
async def reject_person_request_v1(
    request: Request, conn: WriteConn, auth: PersonRequestWrite, id: uuid.UUID, body: RequestReject | None = None
) -> Response:
    row = await person_requests.reject(conn, id_=id, reason=body.status_reason if body else None, auth=auth)
    return envelope.ok(request, person_requests.render_v1(row), status=201)


@router.post("/person_requests/{id}/actions/resend_otp", response_model=Envelope[OtpOut], responses=RESEND_ERRORS)
async def resend_person_request_otp(
    request: Request, conn: WriteConn, auth: PersonRequestWrite, id: uuid.UUID
) -> Response:
    """A new SMS code for the patient; the earlier one stops working and the tries start again. A request sends
    at most `ESOZ_REQUEST_CODE_MAX_SENDS` codes (429 `otp_timeout`)."""
    row = await person_requests.resend_otp(conn, id_=id, auth=auth, settings=settings_of(request))
    return envelope.ok(request, _otp(row))


# --- declaration requests v1/v2 (deprecated) ---------------------------------------------------------


@router.post(
    "/v2/declaration_requests",
    response_model=Envelope[DeclarationRequestV1CreatedOut],
    status_code=201,
    responses=ERRORS,
    deprecated=True,
)
async def create_declaration_request_v2(
    request: Request, conn: WriteConn, auth: DeclarationRequestWrite, body: DeclarationRequestCreateV2
) -> Response:
    """Deprecated: use `POST /api/v3/declaration_requests`. The person must be registered (`person.id`; a new
    person is registered through a person request first) and the object's names, birth date and РНОКПП must be
    the record's; `overlimit` true is refused."""
    inner = body.declaration_request
    entry = "$.declaration_request"
    if inner.overlimit:
        raise ValidationFailed(
            [invalid_entry(f"{entry}.overlimit", "invalid", "A request over the doctor's limit is not accepted")]
        )
    person_id = await dr.registered_person(conn, person=inner.person, entry=f"{entry}.person")
    v3 = DeclarationRequestCreate.model_validate(
        {
            "person_id": person_id,
            "employee_id": inner.employee_id,
            "division_id": inner.division_id,
            "scope": inner.scope,
        }
    )
    row, urgent = await dr.create(conn, body=v3, auth=auth, settings=settings_of(request))
    data = dr.render_v1(row)
    del data["authorize_with"]
    data["preferred_way_communication"] = await dr.preferred_way_communication(conn, person_id=person_id)
    return envelope.ok(request, data, status=201, urgent=urgent)


@router.get(
    "/declaration_requests",
    response_model=ListEnvelope[DeclarationRequestV1ListItem],
    openapi_extra=patient_data("declaration_request", person="data:person.id", id="data:id"),
    deprecated=True,
)
async def list_declaration_requests_v1(
    request: Request,
    conn: ReadConn,
    auth: DeclarationRequestRead,
    page: Pagination,
    employee_id: uuid.UUID | None = None,
    legal_entity_id: uuid.UUID | None = None,
    status: RequestStatus | None = None,
) -> Response:
    """Deprecated: use `GET /api/v3/declaration_requests`."""
    rows, paging = await dr.list_(
        conn, auth=auth, page=page, status=status, employee_id=employee_id, legal_entity_id=legal_entity_id
    )
    keys = ("id", "start_date", "end_date", "status", "person", "employee", "legal_entity", "division")
    return envelope.ok(request, [{k: dr.render_v1(r)[k] for k in keys} for r in rows], paging=paging)


@router.get(
    "/declaration_requests/{id}",
    response_model=Envelope[DeclarationRequestV1Out],
    responses={404: ERRORS[404]},
    openapi_extra=patient_data("declaration_request", person="data:person.id", id="path:id"),
    deprecated=True,
)
async def get_declaration_request_v1(
    request: Request, conn: ReadConn, auth: DeclarationRequestRead, id: uuid.UUID
) -> Response:
    """Deprecated: use `GET /api/v3/declaration_requests/{id}`."""
    row = await dr.get(conn, id_=id, auth=auth)
    return envelope.ok(request, dr.render_v1(row), urgent=dr.urgent(row))


def _action(row: Any) -> dict[str, Any]:
    data = dr.render_v1(row)
    del data["authorize_with"]
    return data


@router.patch(
    "/declaration_requests/{id}/actions/approve",
    status_code=201,
    response_model=Envelope[DeclarationRequestV1ActionOut],
    responses=ERRORS,
    deprecated=True,
)
async def approve_declaration_request_v1(
    request: Request, conn: WriteConn, auth: DeclarationRequestApprove, id: uuid.UUID, body: VerificationCode
) -> Response:
    """Deprecated: use the v3 approve. The patient's SMS code confirms the request; the answer is the document
    the doctor signs in the v1 sign action."""
    try:
        row = await dr.approve(conn, id_=id, code=body.verification_code, auth=auth, settings=settings_of(request))
    except request_codes.CodeRefused as refused:  # answered, not raised: the wrong try's count is committed
        return envelope.error(request, refused.status, refused.body())
    return envelope.ok(request, _action(row), status=201)


@router.patch(
    "/declaration_requests/{id}/actions/reject",
    status_code=201,
    response_model=Envelope[DeclarationRequestV1ActionOut],
    responses=ERRORS,
    deprecated=True,
)
async def reject_declaration_request_v1(
    request: Request, conn: WriteConn, auth: DeclarationRequestWrite, id: uuid.UUID, body: RequestReject | None = None
) -> Response:
    """Deprecated: use the v3 reject."""
    row = await dr.reject(conn, id_=id, reason=body.status_reason if body else None, auth=auth)
    return envelope.ok(request, _action(row), status=201)


@router.post(
    "/declaration_requests/{id}/actions/resend_otp",
    response_model=Envelope[OtpOut],
    responses=RESEND_ERRORS,
    deprecated=True,
)
async def resend_declaration_request_otp_v1(
    request: Request, conn: WriteConn, auth: OtpWrite, id: uuid.UUID
) -> Response:
    """Deprecated: use the v3 resend_otp. A request sends at most `ESOZ_REQUEST_CODE_MAX_SENDS` codes."""
    row = await dr.resend_otp(conn, id_=id, auth=auth, settings=settings_of(request))
    return envelope.ok(request, _otp(row), urgent=dr.urgent(row))


# --- termination through a patient information system ------------------------------------------------


@router.patch("/pis/declarations/{id}/actions/terminate", response_model=Envelope[DeclarationOut], responses=ERRORS)
async def terminate_by_pis(
    request: Request, conn: WriteConn, auth: DeclarationTerminatePis, id: uuid.UUID, body: PisTerminate
) -> Response:
    """The patient ends their declaration (reason `manual_person`) through a patient information system.
    **esoz deviation:** esoz has no patient sign-in yet, so the system (client type CABINET) names the patient in
    `person_id`."""
    if auth.client_type not in ("CABINET", "NHS"):
        raise Forbidden("Only a patient information system terminates a declaration for the patient")
    row = await dr.terminate(
        conn,
        declaration_id=id,
        auth=auth,
        by_patient=True,
        person_id=body.person_id,
        reason_description=body.reason_description,
    )
    return envelope.ok(request, render.declaration(row, full=True))
