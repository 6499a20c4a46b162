"""MIS-facing routes of e-referrals (`service_requests`, contract §4). Writes answer 202 with a job (the jobs
are the medical-events domain's: esoz.medical_events.async_jobs)."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.pagination import Pagination, Paging
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.medical_events import async_jobs
from esoz.medical_events.schemas import JobOut, SignedData
from esoz.referrals import service
from esoz.referrals.auth import SrCancel, SrComplete, SrProcess, SrRead, SrRecall, SrUse, SrWrite
from esoz.referrals.schemas import CompleteBody, ServiceRequestOut, UseBody

router = APIRouter(prefix="/api", tags=["service requests"])

Status = Literal["active", "in_progress", "completed", "recalled", "entered_in_error"]

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "request_malformed: the signature could not be verified"},
    404: {"description": "not_found: patient or service request"},
    409: {"description": "request_conflict: the status does not allow the action"},
    422: {"description": "validation_failed: content, signer (DRFO) or dictionary checks"},
}


@router.post(
    "/patients/{patient_id}/service_requests",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def create(request: Request, conn: WriteConn, auth: SrWrite, patient_id: uuid.UUID, body: SignedData) -> Response:
    """Create a service request signed by the requesting doctor (`signed_data` = CMS of `Service_Request_Create`).
    **esoz:** validated before answering; errors come back directly, the job is already processed."""
    job = await service.create(conn, request.app.state.settings, auth, patient_id, body.signed_data)
    return async_jobs.accepted(request, job)


@router.get(
    "/patients/{patient_id}/service_requests",
    response_model=ListEnvelope[ServiceRequestOut],
    responses={404: WRITE_ERRORS[404]},
    openapi_extra=patient_data("service_request", person="path:patient_id", id="data:id"),
)
async def list_(
    request: Request,
    conn: ReadConn,
    auth: SrRead,
    patient_id: uuid.UUID,
    page: Pagination,
    status: Status | None = None,
    requester_legal_entity: uuid.UUID | None = None,
    used_by_legal_entity: uuid.UUID | None = None,
    code: uuid.UUID | None = None,
    episode_id: Annotated[
        uuid.UUID | None, Query(description="the episode its `supporting_info` names (`episode_of_care`)")
    ] = None,
    care_plan_id: Annotated[uuid.UUID | None, Query(description="the care plan its `based_on` names")] = None,
) -> Response:
    rows, total = await service.list_for_patient(
        conn, auth, patient_id, page, status=status, requester_legal_entity=requester_legal_entity,
        used_by_legal_entity=used_by_legal_entity, code=code, episode_id=episode_id, care_plan_id=care_plan_id,
    )  # fmt: skip
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/service_requests",
    response_model=ListEnvelope[ServiceRequestOut],
    responses={404: WRITE_ERRORS[404]},
    openapi_extra=patient_data("service_request", person="path:patient_id", id="data:id"),
)
async def list_in_episode(
    request: Request,
    conn: ReadConn,
    auth: SrRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    page: Pagination,
    status: Status | None = None,
) -> Response:
    """The patient's service requests of one episode.
    esoz deviation: a referral belongs to the episode its `supporting_info` names (`episode_of_care`)."""
    rows, total = await service.list_for_patient(conn, auth, patient_id, page, status=status, episode_id=episode_id)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/service_requests/{service_request_id}",
    response_model=Envelope[ServiceRequestOut],
    responses={404: WRITE_ERRORS[404]},
    openapi_extra=patient_data("service_request", person="path:patient_id", id="path:service_request_id"),
)
async def get_in_episode(
    request: Request, conn: ReadConn, auth: SrRead, patient_id: uuid.UUID, episode_id: uuid.UUID,
    service_request_id: uuid.UUID,
) -> Response:  # fmt: skip
    """One service request of the episode (404 when it belongs to another)."""
    return envelope.ok(request, await service.get(conn, auth, patient_id, service_request_id, episode_id=episode_id))


@router.get(
    "/patients/{patient_id}/service_requests/{service_request_id}",
    response_model=Envelope[ServiceRequestOut],
    responses={404: WRITE_ERRORS[404]},
    openapi_extra=patient_data("service_request", person="path:patient_id", id="path:service_request_id"),
)
async def get(
    request: Request, conn: ReadConn, auth: SrRead, patient_id: uuid.UUID, service_request_id: uuid.UUID
) -> Response:
    return envelope.ok(request, await service.get(conn, auth, patient_id, service_request_id))


@router.get(
    "/service_requests",
    response_model=ListEnvelope[ServiceRequestOut],
    summary="Search service requests by requisition number",
    openapi_extra=patient_data("service_request", person="data:subject.identifier.value", id="data:id"),
)
async def search(
    request: Request,
    conn: ReadConn,
    auth: SrRead,
    page: Pagination,
    requisition: Annotated[str, Query(min_length=4, max_length=40)],
    status: Status | None = None,
) -> Response:
    rows, total = await service.search_by_requisition(conn, requisition, status, page)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.patch(
    "/patients/{patient_id}/service_requests/{service_request_id}/actions/recall",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def recall(
    request: Request, conn: WriteConn, auth: SrRecall, patient_id: uuid.UUID, service_request_id: uuid.UUID,
    body: SignedData,
) -> Response:  # fmt: skip
    """Signed: the current render with `status: recalled`, `status_reason`, `explanatory_letter`."""
    settings = request.app.state.settings
    job = await service.recall(conn, settings, auth, patient_id, service_request_id, body.signed_data)
    return async_jobs.accepted(request, job)


@router.patch(
    "/patients/{patient_id}/service_requests/{service_request_id}/actions/cancel",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def cancel(
    request: Request, conn: WriteConn, auth: SrCancel, patient_id: uuid.UUID, service_request_id: uuid.UUID,
    body: SignedData,
) -> Response:  # fmt: skip
    """Signed: the current render with `status: entered_in_error`, `status_reason`, `explanatory_letter`."""
    settings = request.app.state.settings
    job = await service.cancel(conn, settings, auth, patient_id, service_request_id, body.signed_data)
    return async_jobs.accepted(request, job)


@router.patch(
    "/patients/{patient_id}/service_requests/{service_request_id}/actions/resend",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def resend(
    request: Request, conn: WriteConn, auth: SrUse, patient_id: uuid.UUID, service_request_id: uuid.UUID
) -> Response:
    """Send the patient the referral's number again (SMS)."""
    return async_jobs.accepted(request, await service.resend(conn, auth, patient_id, service_request_id))


@router.patch(
    "/service_requests/{service_request_id}/actions/use",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def use(request: Request, conn: WriteConn, auth: SrUse, service_request_id: uuid.UUID, body: UseBody) -> Response:
    """The performing legal entity takes the referral; of two performers at once, one wins. Under a programme:
    `program` (an active programme of services, the referral's own if it was written under one, that covers its
    service) and/or `program_service` (the programme's entry that pays); both are stored and answered by GET.
    esoz deviation: `program` is optional (a referral used outside any programme), and `program_service` is taken
    here as well as on `complete`."""
    return async_jobs.accepted(request, await service.use(conn, auth, service_request_id, body))


@router.patch(
    "/service_requests/{service_request_id}/actions/release",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def release(request: Request, conn: WriteConn, auth: SrUse, service_request_id: uuid.UUID) -> Response:
    """Deprecated in 2026, still served: give the referral back (used_by_* cleared)."""
    return async_jobs.accepted(request, await service.release(conn, auth, service_request_id))


@router.patch(
    "/service_requests/{service_request_id}/actions/process",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def process(request: Request, conn: WriteConn, auth: SrProcess, service_request_id: uuid.UUID) -> Response:
    """Deprecated in 2026, still served: active (used by the caller) → in_progress."""
    return async_jobs.accepted(request, await service.process(conn, auth, service_request_id))


@router.patch(
    "/service_requests/{service_request_id}/actions/complete",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def complete(
    request: Request, conn: WriteConn, auth: SrComplete, service_request_id: uuid.UUID, body: CompleteBody
) -> Response:
    """`program_service`, if given, is checked as on `use` and stored."""
    return async_jobs.accepted(request, await service.complete(conn, auth, service_request_id, body))
