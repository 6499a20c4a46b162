"""MIS-facing routes of medical conclusions (`compositions`, contract §5). Writes answer 202 with a job."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from esoz.conclusions import printform, service
from esoz.conclusions.auth import (
    CompositionMarkInError,
    CompositionRead,
    CompositionResend,
    CompositionTitle,
    CompositionWrite,
)
from esoz.conclusions.schemas import CompositionOut, CompositionSubmit, CompositionTitleOut, IntegrationTaskOut
from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.errors import ENTRY_QUERY, ValidationFailed, invalid_entry
from esoz.core.pagination import Pagination, Paging
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.medical_events import async_jobs
from esoz.medical_events.schemas import JobOut, SignedData

router = APIRouter(prefix="/api/patients/{patient_id}", tags=["compositions"])

Status = Literal["PRELIMINARY", "FINAL", "AMENDED", "ENTERED_IN_ERROR"]

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "request_malformed: the signature could not be verified"},
    404: {"description": "not_found: patient or composition"},
    409: {"description": "request_conflict: the status does not allow the action"},
    422: {"description": "validation_failed: content, signer (DRFO), validity period or title"},
}


@router.post(
    "/composition_title",
    status_code=202,
    response_model=Envelope[CompositionTitleOut],
    summary="Reserve a composition title",
    responses=WRITE_ERRORS,
)
@router.get(
    "/composition_title",
    status_code=202,
    response_model=Envelope[CompositionTitleOut],
    summary="Reserve a composition title (GET, as esoz/apiary.apib)",
    responses=WRITE_ERRORS,
)
async def create_title(
    request: Request, conn: WriteConn, auth: CompositionTitle, patient_id: uuid.UUID,
    composition_type: Annotated[str, Query(max_length=50)],
) -> Response:  # fmt: skip
    """The contract answers 202 with `{"title"}` (no job): the number the composition must carry.
    Scope `composition:write` (api-spec) or `composition:create` (esoz/apiary.apib): either is accepted."""
    return envelope.ok(request, await service.create_title(conn, auth, patient_id, composition_type), status=202)


@router.post("/compositions", response_model=Envelope[JobOut], status_code=202, responses=WRITE_ERRORS)
async def submit(
    request: Request, conn: WriteConn, auth: CompositionWrite, patient_id: uuid.UUID, body: CompositionSubmit
) -> Response:
    """`{"signed_data"}`: the composition signed by its author (status FINAL), as the ESOZ contract.
    **esoz:** `{"composition": {...}}` (status PRELIMINARY) stores an unsigned draft to be signed with
    `actions/sign`. Validated before answering; errors come back directly, the job is already processed."""
    settings = request.app.state.settings
    job = await service.submit(conn, settings, auth, patient_id, draft=body.composition, signed_data=body.signed_data)
    return async_jobs.accepted(request, job)


@router.get(
    "/compositions/search",
    response_model=ListEnvelope[CompositionOut],
    openapi_extra=patient_data("composition", person="path:patient_id", id="data:id"),
)
async def search(
    request: Request,
    conn: ReadConn,
    auth: CompositionRead,
    patient_id: uuid.UUID,
    page: Pagination,
    type: Annotated[str | None, Query(max_length=50)] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    status: Status | None = None,
    title: Annotated[str | None, Query(max_length=40)] = None,
    author: uuid.UUID | None = None,
    custodian: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    encounter_id: Annotated[uuid.UUID | None, Query(description="the encounter the composition names")] = None,
    context_episode_id: Annotated[
        uuid.UUID | None, Query(description="the episode of the encounter the composition names")
    ] = None,
    attester: Annotated[uuid.UUID | None, Query(description="an employee among its `attester[].party`")] = None,
    date_: Annotated[date | None, Query(alias="date", description="the day of its `date` (as written)")] = None,
    patient_id_query: Annotated[
        uuid.UUID | None, Query(alias="patient_id", description="the patient of the path, if given")
    ] = None,
) -> Response:
    """Filters combine with AND. `date_from` / `date_to` bound the validity period."""
    if patient_id_query is not None and patient_id_query != patient_id:
        raise ValidationFailed([invalid_entry("patient_id", "invalid", "Must be the patient of the path", None,
                                              ENTRY_QUERY)])  # fmt: skip
    filters = {"type": type, "category": category, "status": status, "title": title, "author": author,
               "custodian": custodian, "date_from": date_from, "date_to": date_to, "encounter_id": encounter_id,
               "context_episode_id": context_episode_id, "attester": attester, "date": date_}  # fmt: skip
    rows, total = await service.search(conn, auth, patient_id, page, filters)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/compositions/{id}",
    response_model=Envelope[CompositionOut],
    responses={404: WRITE_ERRORS[404]},
    openapi_extra=patient_data("composition", person="path:patient_id", id="path:id"),
)
async def get(
    request: Request, conn: ReadConn, auth: CompositionRead, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    return envelope.ok(request, await service.get(conn, auth, patient_id, id))


@router.get(
    "/compositions/{id}/integration_data",
    response_model=Envelope[list[IntegrationTaskOut]],
    responses={404: WRITE_ERRORS[404]},
    openapi_extra=patient_data(
        "composition", person="path:patient_id", id="path:id", action="composition.integration_data.read"
    ),
)
async def integration_data(
    request: Request, conn: ReadConn, auth: CompositionRead, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    """Per-component results of the integration tasks, e.g. ERLN: the sick-leave number or the error."""
    return envelope.ok(request, await service.integration_data(conn, auth, patient_id, id))


@router.get(
    "/compositions/{id}/print_form",
    response_class=HTMLResponse,
    responses={404: WRITE_ERRORS[404]},
    openapi_extra=patient_data("composition", person="path:patient_id", id="path:id", action="composition.print"),
)
async def print_form(
    request: Request, conn: ReadConn, auth: CompositionRead, patient_id: uuid.UUID, id: uuid.UUID,
    form_type: Annotated[str, Query(max_length=50)] = "INFO_CERTIFICATE",
) -> Response:  # fmt: skip
    """The information certificate as HTML, to be shown unmodified."""
    if form_type not in printform.FORM_TYPES:
        raise ValidationFailed([invalid_entry("form_type", "inclusion", "value is not allowed in enum",
                                              list(printform.FORM_TYPES), ENTRY_QUERY)])  # fmt: skip
    row = await service.get_row(conn, auth, patient_id, id)
    return HTMLResponse(await printform.render_info_certificate(conn, row))


@router.patch(
    "/compositions/{id}/actions/sign",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def sign(
    request: Request, conn: WriteConn, auth: CompositionWrite, patient_id: uuid.UUID, id: uuid.UUID, body: SignedData
) -> Response:
    """**esoz** (SwaggerHub flow): PRELIMINARY → FINAL; the author signs the GET render with `status: FINAL`."""
    job = await service.sign(conn, request.app.state.settings, auth, patient_id, id, body.signed_data)
    return async_jobs.accepted(request, job)


@router.patch(
    "/compositions/{id}/actions/mark_in_error",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def mark_in_error(
    request: Request, conn: WriteConn, auth: CompositionMarkInError, patient_id: uuid.UUID, id: uuid.UUID,
    body: SignedData,
) -> Response:  # fmt: skip
    """Signed: the render with `status: ENTERED_IN_ERROR`, `status_reason`, `explanatory_letter`."""
    job = await service.mark_in_error(conn, request.app.state.settings, auth, patient_id, id, body.signed_data)
    return async_jobs.accepted(request, job)


@router.patch(
    "/compositions/{id}/actions/resend",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def resend(
    request: Request, conn: WriteConn, auth: CompositionResend, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    """Send the patient the SMS again. Scope `composition:resend` (api-spec) or `composition:resend_sms`
    (esoz/apiary.apib): either is accepted."""
    return async_jobs.accepted(request, await service.resend_sms(conn, auth, patient_id, id))


@router.patch(
    "/compositions/{id}/actions/resend_erln",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=WRITE_ERRORS,
)
async def resend_erln(
    request: Request, conn: WriteConn, auth: CompositionWrite, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    """**esoz** (SwaggerHub `PATCH …/erln`): send the conclusion to the ПФУ registry again (FINAL only)."""
    return async_jobs.accepted(request, await service.resend_erln(conn, auth, patient_id, id))
