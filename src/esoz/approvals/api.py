"""MIS-facing routes of approvals: a doctor asks for access to a patient's records, the patient's SMS code opens it.

**esoz:** every action is processed at once and answers 201 (or 200) with the approval, the blueprint's
synchronous option; no job is created.
"""

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esoz.approvals import service
from esoz.approvals.auth import ApprovalCancel, ApprovalCreate, ApprovalRead
from esoz.approvals.schemas import ApprovalOut, ApprovalRequest, VerifyBody
from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.pagination import Pagination, Paging
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope, ListEnvelope

router = APIRouter(prefix="/api", tags=["approvals"])

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "forbidden: the approval belongs to another legal entity"},
    404: {"description": "not_found: patient or approval"},
    409: {"description": "request_conflict: patient not active, approval already verified, cancelled or expired, "
                         "code expired or used up"},
    422: {"description": "validation_failed: the body, the grantee, or a wrong code (`$.code`)"},
    429: {"description": "otp_timeout: too many codes sent for this approval"},
}  # fmt: skip


@router.post(
    "/patients/{patient_id}/approvals",
    response_model=Envelope[ApprovalOut],
    status_code=201,
    responses=ERRORS,
    summary="Create approval",
)
async def create(
    request: Request, conn: WriteConn, auth: ApprovalCreate, patient_id: uuid.UUID, body: ApprovalRequest
) -> Response:
    """Ask the patient for access to their records (`patient`) or to episodes of care (`resources`), for an employee
    or the caller's legal entity (`granted_to`). The patient gets an SMS with the code; the approval opens access
    once the code is entered (`PATCH .../approvals/{id}`).

    The grantee is an approved doctor or specialist of the caller's legal entity, or that legal entity; the code
    goes to the patient's OTP authentication method (`authorize_with`, else the first one).

    esoz deviation: `resources` takes episodes of care only, and the other kinds of the blueprint's One Of
    (`service_request`, `forbidden_group`, `diagnoses_group`, `service_group`, `resource_types`, `composition`,
    `child_resource`) are refused with 422 until esoz keeps those records. The approval is created at once and
    answered with 201 (the blueprint's synchronous option), never a 202 job; the answer also carries `status`."""
    data = await service.create(
        conn, settings=request.app.state.settings, auth=auth, person_id=patient_id, body=body
    )  # fmt: skip
    return envelope.ok(request, data, status=201)


@router.patch(
    "/patients/{patient_id}/approvals/{id}",
    response_model=Envelope[ApprovalOut],
    responses=ERRORS,
    summary="Verify approval",
)
async def verify(
    request: Request, conn: WriteConn, auth: ApprovalCreate, patient_id: uuid.UUID, id: uuid.UUID, body: VerifyBody
) -> Response:
    """Enter the code the patient received: the approval becomes active for `ESOZ_APPROVAL_EXPIRATION_HOURS` from
    now. A wrong code is counted; after `ESOZ_APPROVAL_CODE_MAX_ATTEMPTS` the code stops working and a new one
    takes `actions/resend`. esoz deviation: answers with the approval (the blueprint documents no body)."""
    settings = request.app.state.settings
    try:
        data = await service.verify(conn, settings=settings, auth=auth, person_id=patient_id, approval_id=id,
                                    code=body.code)  # fmt: skip
    except service.CodeRefused as refused:  # answered, not raised: the transaction commits the wrong code's count
        return envelope.error(request, refused.status, refused.body())
    return envelope.ok(request, data)


@router.patch(
    "/patients/{patient_id}/approvals/{id}/actions/resend",
    response_model=Envelope[ApprovalOut],
    status_code=201,
    responses=ERRORS,
    summary="Resend SMS on approval",
)
async def resend(
    request: Request, conn: WriteConn, auth: ApprovalCreate, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    """Send the patient a new code; the previous one stops working and the wrong-code count starts again. At most
    `ESOZ_APPROVAL_CODE_MAX_SENDS` codes per approval (429 `otp_timeout`). esoz deviation: always 201 with the
    approval, never a 202 job."""
    settings = request.app.state.settings
    data = await service.resend(conn, settings=settings, auth=auth, person_id=patient_id, approval_id=id)
    return envelope.ok(request, data, status=201)


@router.get(
    "/patients/{patient_id}/approvals",
    response_model=ListEnvelope[ApprovalOut],
    responses={404: ERRORS[404]},
    summary="Get approvals",
    openapi_extra=patient_data("approval", person="path:patient_id", id="data:id"),
)
async def list_(
    request: Request,
    conn: ReadConn,
    auth: ApprovalRead,
    patient_id: uuid.UUID,
    page: Pagination,
    granted_to: uuid.UUID | None = None,
    granted_resources: uuid.UUID | None = None,
    granted_resource_type: Literal["episode_of_care", "patient"] | None = None,
    is_verified: bool | None = None,
    reason: uuid.UUID | None = None,
    is_expired: bool | None = None,
    access_level: Literal["read", "write"] | None = None,
) -> Response:
    """Every approval of the patient for НСЗУ and the clinic of the patient's active declaration; the caller's
    legal entity's own approvals for anyone else. esoz deviation: who sees an approval is decided per legal entity
    (the clinic that asked for it, or the declaration's clinic), not per user; `granted_resource_type` takes
    `episode_of_care` or `patient`."""
    rows, total = await service.list_for_patient(
        conn, auth=auth, person_id=patient_id, page=page, granted_to=granted_to, granted_resources=granted_resources,
        granted_resource_type=granted_resource_type, is_verified=is_verified, reason=reason, is_expired=is_expired,
        access_level=access_level,
    )  # fmt: skip
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/patients/{patient_id}/approvals/{id}",
    response_model=Envelope[ApprovalOut],
    responses={404: ERRORS[404]},
    summary="Get approval details",
    openapi_extra=patient_data("approval", person="path:patient_id", id="path:id"),
)
async def get(request: Request, conn: ReadConn, auth: ApprovalRead, patient_id: uuid.UUID, id: uuid.UUID) -> Response:
    """Visible to the clinic that asked for it, the clinic of the patient's declaration and НСЗУ (others: 404)."""
    return envelope.ok(request, await service.get(conn, auth=auth, person_id=patient_id, approval_id=id))


@router.patch(
    "/patients/{patient_id}/approvals/{id}/actions/cancel",
    response_model=Envelope[ApprovalOut],
    status_code=201,
    responses=ERRORS,
    summary="Cancel approval",
)
async def cancel(
    request: Request, conn: WriteConn, auth: ApprovalCancel, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    """End the approval at once: by the clinic that holds it, the clinic of the patient's declaration, or НСЗУ
    (anyone else: 403). esoz deviation: answers 201 with the approval details (the blueprint's synchronous
    option) rather than a 202 job."""
    return envelope.ok(request, await service.cancel(conn, auth=auth, person_id=patient_id, approval_id=id), status=201)
