"""Routes of confidant person relationships and their requests, but the signing.

The sign action runs the signed-write flow of the signatures domain, which sits above the registry in the
import order; it is served by `esoz.enrolment.confidants_api` over the service functions here.
"""

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.pagination import Pagination
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.registry import confidants, request_codes
from esoz.registry.auth import ConfidantRelationshipRead, ConfidantRequestRead, ConfidantRequestWrite
from esoz.registry.confidant_schemas import (
    ConfidantOtpOut,
    ConfidantRelationshipOut,
    ConfidantRequestCreate,
    ConfidantRequestDeactivate,
    ConfidantRequestOut,
    ConfidantRequestShortOut,
)
from esoz.registry.request_schemas import VerificationCode
from esoz.settings import settings_of

router = APIRouter(prefix="/api/persons/{id}", tags=["confidant persons"])
BASE = "/confidant_person_relationship_requests"

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not_found: the person, or the request (of your legal entity)"},
    409: {"description": "request_conflict: the request's status or expiry, an active relationship of the pair"},
    422: {
        "description": "validation_failed: the people, the documents, the SMS code; request_malformed: the number "
        "of confidants, a child's last confidant"
    },
    429: {"description": "otp_timeout: the request's codes are used up"},
}


@router.post(BASE, response_model=Envelope[ConfidantRequestOut], status_code=201, responses=ERRORS)
async def create_confidant_request(
    request: Request, conn: WriteConn, auth: ConfidantRequestWrite, id: uuid.UUID, body: ConfidantRequestCreate
) -> Response:
    """Ask that `confidant_person_id` (a person already in the index) act for person `id`, on the documents of
    the relationship. An adult's (18+) confidant needs a COURT_DECISION. The SMS code goes to the person's own
    phone from the age of 14; for a younger child to a confidant on record, or to the new confidant when the
    child has none. Without any phone the request goes the documents path (approve without a code)."""
    row, urgent = await confidants.create(conn, person_id=id, body=body, auth=auth, settings=settings_of(request))
    return envelope.ok(request, confidants.render(row), status=201, urgent=urgent)


@router.post(f"{BASE}/deactivate", response_model=Envelope[ConfidantRequestOut], status_code=201, responses=ERRORS)
async def deactivate_confidant_request(
    request: Request, conn: WriteConn, auth: ConfidantRequestWrite, id: uuid.UUID, body: ConfidantRequestDeactivate
) -> Response:
    """Ask that an active relationship end, on the documents that end it; confirmed and signed like a new one.
    A child under 14 keeps at least one confidant."""
    row, urgent = await confidants.deactivate(conn, person_id=id, body=body, auth=auth, settings=settings_of(request))
    return envelope.ok(request, confidants.render(row), status=201, urgent=urgent)


@router.get(
    BASE,
    response_model=ListEnvelope[ConfidantRequestShortOut],
    responses={404: ERRORS[404]},
    openapi_extra=patient_data("confidant_relationship_request", person="path:id", id="data:id"),
)
async def list_confidant_requests(
    request: Request,
    conn: ReadConn,
    auth: ConfidantRequestRead,
    id: uuid.UUID,
    page: Pagination,
    status: Literal["NEW", "APPROVED", "COMPLETED"] | None = None,
) -> Response:
    rows, paging = await confidants.list_requests(conn, person_id=id, auth=auth, page=page, status=status)
    return envelope.ok(request, [confidants.render_short(r) for r in rows], paging=paging)


@router.get(
    BASE + "/{confidant_person_relationship_request_id}",
    response_model=Envelope[ConfidantRequestOut],
    responses={404: ERRORS[404]},
    openapi_extra=patient_data(
        "confidant_relationship_request", person="path:id", id="path:confidant_person_relationship_request_id"
    ),
)
async def get_confidant_request(
    request: Request,
    conn: ReadConn,
    auth: ConfidantRequestRead,
    id: uuid.UUID,
    confidant_person_relationship_request_id: uuid.UUID,
) -> Response:
    row = await confidants.get(conn, person_id=id, id_=confidant_person_relationship_request_id, auth=auth)
    return envelope.ok(request, confidants.render(row))


@router.patch(
    BASE + "/{confidant_person_relationship_request_id}/actions/approve",
    response_model=Envelope[ConfidantRequestOut],
    responses=ERRORS,
)
async def approve_confidant_request(
    request: Request,
    conn: WriteConn,
    auth: ConfidantRequestWrite,
    id: uuid.UUID,
    confidant_person_relationship_request_id: uuid.UUID,
    body: VerificationCode,
) -> Response:
    """The SMS code confirms the request (no code on the documents path); the answer's `data` is what the
    request's author signs. A wrong code is counted: after `otp_max_attempts` the code is refused even when
    right (ask for a new one)."""
    try:
        row = await confidants.approve(
            conn,
            person_id=id,
            id_=confidant_person_relationship_request_id,
            code=body.verification_code,
            auth=auth,
            settings=settings_of(request),
        )
    except request_codes.CodeRefused as refused:  # answered, not raised: the wrong try's count is committed
        return envelope.error(request, refused.status, refused.body())
    return envelope.ok(request, confidants.render(row))


@router.post(
    BASE + "/{confidant_person_relationship_request_id}/actions/resend_otp",
    response_model=Envelope[ConfidantOtpOut],
    responses=ERRORS,
)
async def resend_confidant_request_otp(
    request: Request,
    conn: WriteConn,
    auth: ConfidantRequestWrite,
    id: uuid.UUID,
    confidant_person_relationship_request_id: uuid.UUID,
) -> Response:
    """A new SMS code; the earlier one stops working and the tries start again. A request sends at most
    `ESOZ_REQUEST_CODE_MAX_SENDS` codes in all (then 429 otp_timeout)."""
    row = await confidants.resend_otp(
        conn, person_id=id, id_=confidant_person_relationship_request_id, auth=auth, settings=settings_of(request)
    )
    answer = {"id": row["id"], "status": row["status"], "code_expired_at": row["otp_expires_at"], "active": True}
    return envelope.ok(request, answer)


@router.get(
    "/confidant_person_relationships",
    response_model=ListEnvelope[ConfidantRelationshipOut],
    responses={403: {"description": "forbidden: Such person not found"}},
    openapi_extra=patient_data("confidant_relationship", person="path:id", id="data:id"),
)
async def list_confidant_relationships(
    request: Request,
    conn: ReadConn,
    auth: ConfidantRelationshipRead,
    id: uuid.UUID,
    page: Pagination,
    is_expired: bool | None = None,
) -> Response:
    """The person's active confidants (their identifiers masked); `is_expired=true`: the ended and expired."""
    data, paging = await confidants.list_relationships(conn, person_id=id, page=page, is_expired=is_expired)
    return envelope.ok(request, data, paging=paging)
