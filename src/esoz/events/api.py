"""MIS-facing event feed: GET /api/events and GET /api/events/{id} (the real Event Manager's pull API)."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.pagination import Pagination, Paging
from esoz.core.replica import ReplicaConn
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.events import service
from esoz.events.auth import EventsRead
from esoz.events.schemas import EventOut

router = APIRouter(prefix="/api", tags=["events"])


@router.get(
    "/events",
    response_model=ListEnvelope[EventOut],
    summary="Get events list",
    description=(
        "Status changes of prescriptions, dispenses, referrals, conclusions, declarations, employees, … "
        "within `date`..`date_to` (at most 3 hours; times without an offset are UTC). Without `date` and "
        "`date_to`: the last 3 hours. `new_value` filters on `attribute_name` (default `status`). "
        "A legal entity's MIS sees its own entities' events; the payer sees all."
    ),
)
async def list_events(
    request: Request,
    auth: EventsRead,
    conn: ReplicaConn,
    paging: Pagination,
    date: datetime | None = None,
    date_to: datetime | None = None,
    event_type: service.EventType | None = None,
    entity_type: service.EntityType | None = None,
    attribute_name: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z_]+$")] = None,
    new_value: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    max_hours = request.app.state.settings.events_max_window_hours
    start, end = service.resolve_window(date, date_to, datetime.now(UTC), max_hours)
    data, total = await service.list_events(
        conn,
        date=start,
        date_to=end,
        page=paging,
        legal_entity_filter=auth.legal_entity_filter,
        event_type=event_type,
        entity_type=entity_type,
        attribute_name=attribute_name,
        new_value=new_value,
    )
    return envelope.ok(request, data, paging=Paging.of(paging, total))


@router.get(
    "/events/{id}",
    response_model=Envelope[EventOut],
    summary="Get events by ID",
    description="**esoz:** `data` is the event object (the published blueprint shows a one-item array).",
)
async def get_event(request: Request, auth: EventsRead, conn: ReplicaConn, id: uuid.UUID) -> Response:
    return envelope.ok(request, await service.get_event(conn, id, auth.legal_entity_filter))
