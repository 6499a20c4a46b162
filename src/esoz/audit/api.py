"""Routes: the operators' audit log search and a patient's access history."""

import dataclasses
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from esoz.audit import service
from esoz.audit.auth import AccessHistoryRead, AuditRead
from esoz.core import envelope
from esoz.core.db import ReadConn
from esoz.core.pagination import Pagination, Paging
from esoz.core.patient_data import patient_data
from esoz.core.schemas import ListEnvelope

router = APIRouter(tags=["audit"])

_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "access_denied: no or invalid token"},
    403: {"description": "forbidden: the token's scope does not allow this call"},
    422: {"description": "validation_failed: `error.invalid[]` names each bad query parameter"},
}
_TIME = "ISO 8601 with a UTC offset"


@router.get(
    "/admin/audit_log",
    summary="Search the audit log",
    description=(
        "**esoz:** every write and every read of a patient's data, newest first. Without `person_id` or "
        f"`request_id` the period (`occurred_from`..`occurred_to`) is at most {service.MAX_PERIOD.days} days "
        f"and defaults to the last {service.DEFAULT_PERIOD.days} day."
    ),
    response_model=ListEnvelope[service.AuditEntry],
    responses=_ERRORS,
)
async def search_audit_log(
    request: Request,
    conn: ReadConn,
    auth: AuditRead,
    page: Pagination,
    person_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    legal_entity_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    occurred_from: Annotated[datetime | None, Query(description=_TIME)] = None,
    occurred_to: Annotated[datetime | None, Query(description=_TIME)] = None,
) -> Response:
    filters = service.AuditFilters(
        person_id=person_id,
        user_id=user_id,
        legal_entity_id=legal_entity_id,
        client_id=client_id,
        request_id=request_id,
        action=action,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    entries, total = await service.search(conn, filters=filters, page=page)
    return envelope.ok(request, [dataclasses.asdict(e) for e in entries], paging=Paging.of(page, total))


@router.get(
    "/api/persons/{person_id}/access_history",
    summary="Who read or changed the patient's records",
    description=(
        "**esoz:** the patient's access history for the patient portal: who (the user and their name), from "
        "which facility, when and what (`description` in Ukrainian), newest first. Reading it is itself recorded."
    ),
    response_model=ListEnvelope[service.AccessEntry],
    responses=_ERRORS,
    openapi_extra=patient_data(
        "person", person="path:person_id", id="path:person_id", action="person.access_history.read"
    ),
)
async def get_access_history(
    request: Request,
    conn: ReadConn,
    auth: AccessHistoryRead,
    person_id: uuid.UUID,
    page: Pagination,
    occurred_from: Annotated[datetime | None, Query(description=_TIME)] = None,
    occurred_to: Annotated[datetime | None, Query(description=_TIME)] = None,
) -> Response:
    entries, total = await service.access_history(
        conn, person_id=person_id, occurred_from=occurred_from, occurred_to=occurred_to, page=page
    )
    return envelope.ok(request, [dataclasses.asdict(e) for e in entries], paging=Paging.of(page, total))
