"""Status JSON API: public reads, subscriptions and problem reports; operator writes need `status:write`."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.auth import client_ip
from esoz.core.db import ReadConn, WriteConn
from esoz.core.pagination import Pagination, Paging
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.status import incidents, maintenance, metrics, overview, reports, subscriptions, uptime
from esoz.status.auth import StatusRead, StatusWrite
from esoz.status.components import COMPONENTS
from esoz.status.notify import public_url
from esoz.status.schemas import (
    IncidentCreate,
    IncidentOut,
    IncidentUpdateCreate,
    MaintenanceCreate,
    MaintenanceOut,
    ReportAckOut,
    ReportCreate,
    ReportLink,
    ReportLinkOut,
    ReportOut,
    ResponseTimeOut,
    SubscriptionCreate,
    SubscriptionOut,
    SummaryOut,
    TokenBody,
    UptimeOut,
)

router = APIRouter(prefix="/api/status", tags=["status"])
PERIODS = {"24h": (24, 15), "7d": (24 * 7, 120)}  # hours shown, minutes per point


async def limit_per_ip(request: Request) -> None:
    """The per-IP limit of the public writes (reports, subscriptions, and their forms). It counts every
    attempt, valid or not, so that the limit cannot be probed for free; 429 once passed."""
    settings = request.app.state.settings
    key = f"status:public:ip:{client_ip(request)}"
    await request.app.state.rate_limiter.hit(key, settings.status_limit_per_ip, settings.status_limit_window_seconds)


LimitedPerIp = Depends(limit_per_ip)


@router.get(
    "/summary",
    response_model=Envelope[SummaryOut],
    summary="Current state of every component, open incidents, planned maintenance",
)
async def get_summary(request: Request, conn: ReadConn) -> Response:
    settings = request.app.state.settings
    return envelope.ok(request, await overview.summary(conn, sample_seconds=settings.status_sample_seconds))


@router.get(
    "/uptime",
    response_model=Envelope[list[UptimeOut]],
    summary="Daily uptime (%) per component for the last 90 days",
)
async def get_uptime(request: Request, conn: ReadConn, days: Annotated[int, Query(ge=1, le=90)] = 90) -> Response:
    found = await uptime.daily(conn, days)
    data = [
        {
            "component": c,
            "uptime": uptime.overall(found[c]),
            "days": [{"date": d.day, "uptime": d.uptime, "level": d.level} for d in found[c]],
        }
        for c in COMPONENTS
    ]
    return envelope.ok(request, data)


@router.get(
    "/response_times",
    response_model=Envelope[list[ResponseTimeOut]],
    summary="p50 and p95 response time (ms) measured by the service itself",
)
async def get_response_times(
    request: Request,
    conn: ReadConn,
    component: Literal["api", "signin"] = "api",
    period: Literal["24h", "7d"] = "24h",
) -> Response:
    hours, step = PERIODS[period]
    points = await metrics.series(conn, component, hours=hours, step_minutes=step)
    data = [{"at": p.at, "requests": p.requests, "errors": p.errors, "p50_ms": p.p50, "p95_ms": p.p95} for p in points]
    return envelope.ok(request, data)


@router.get(
    "/incidents",
    response_model=ListEnvelope[IncidentOut],
    summary="Incidents with their updates, newest first",
)
async def list_incidents(request: Request, conn: ReadConn, paging: Pagination, active: bool | None = None) -> Response:
    found, total = await incidents.list_incidents(conn, active=active, limit=paging.page_size, offset=paging.offset)
    return envelope.ok(request, found, paging=Paging.of(paging, total))


@router.get("/incidents/{incident_id}", response_model=Envelope[IncidentOut], summary="One incident with its updates")
async def get_incident(request: Request, conn: ReadConn, incident_id: uuid.UUID) -> Response:
    return envelope.ok(request, await incidents.get(conn, incident_id))


@router.post(
    "/incidents",
    response_model=Envelope[IncidentOut],
    status_code=201,
    summary="Open an incident; subscribers of its components get e-mail",
)
async def create_incident(request: Request, auth: StatusWrite, conn: WriteConn, body: IncidentCreate) -> Response:
    found = await incidents.create(conn, **body.model_dump(), base_url=public_url(request.app.state.settings))
    return envelope.ok(request, found, status=201)


@router.post(
    "/incidents/{incident_id}/updates",
    response_model=Envelope[IncidentOut],
    status_code=201,
    summary="Post an update (or resolve)",
)
async def add_incident_update(
    request: Request, auth: StatusWrite, conn: WriteConn, incident_id: uuid.UUID, body: IncidentUpdateCreate
) -> Response:
    base_url = public_url(request.app.state.settings)
    found = await incidents.add_update(conn, incident_id, **body.model_dump(), base_url=base_url)
    return envelope.ok(request, found, status=201)


@router.get(
    "/maintenances",
    response_model=Envelope[list[MaintenanceOut]],
    summary="Planned maintenance, including delivery-channel windows",
)
async def list_maintenances(request: Request, conn: ReadConn, past: bool = False) -> Response:
    found = await (maintenance.past(conn) if past else maintenance.upcoming(conn))
    return envelope.ok(request, found)


@router.post(
    "/maintenances",
    response_model=Envelope[MaintenanceOut],
    status_code=201,
    summary="Plan maintenance; subscribers get a notice ahead of it",
)
async def create_maintenance(request: Request, auth: StatusWrite, conn: WriteConn, body: MaintenanceCreate) -> Response:
    return envelope.ok(request, await maintenance.create(conn, **body.model_dump()), status=201)


@router.patch(
    "/maintenances/{maintenance_id}/actions/cancel",
    response_model=Envelope[MaintenanceOut],
    summary="Call off planned maintenance",
)
async def cancel_maintenance(
    request: Request, auth: StatusWrite, conn: WriteConn, maintenance_id: uuid.UUID
) -> Response:
    return envelope.ok(request, await maintenance.cancel(conn, maintenance_id))


@router.post(
    "/subscriptions",
    response_model=Envelope[SubscriptionOut],
    status_code=202,
    dependencies=[LimitedPerIp],
    summary="Subscribe an e-mail address; nothing is sent but a confirmation link until it is followed",
)
async def subscribe(request: Request, conn: WriteConn, body: SubscriptionCreate) -> Response:
    base_url = public_url(request.app.state.settings)
    found = await subscriptions.subscribe(conn, email=body.email, components=list(body.components), base_url=base_url)
    return envelope.ok(request, found, status=202)


@router.post(
    "/subscriptions/confirm",
    response_model=Envelope[SubscriptionOut],
    summary="Confirm a subscription with the token from the e-mail",
)
async def confirm(request: Request, conn: WriteConn, body: TokenBody) -> Response:
    return envelope.ok(request, await subscriptions.confirm(conn, body.token))


@router.post(
    "/subscriptions/unsubscribe",
    response_model=Envelope[SubscriptionOut],
    summary="Stop e-mail to the address of this token",
)
async def unsubscribe(request: Request, conn: WriteConn, body: TokenBody) -> Response:
    return envelope.ok(request, await subscriptions.unsubscribe(conn, body.token))


@router.post(
    "/reports",
    response_model=Envelope[ReportAckOut],
    status_code=201,
    dependencies=[LimitedPerIp],
    summary="Report a problem (acknowledged)",
)
async def create_report(request: Request, conn: WriteConn, body: ReportCreate) -> Response:
    settings = request.app.state.settings
    found = await reports.create(
        conn,
        **body.model_dump(),
        ip=client_ip(request),
        max_chars=settings.status_report_max_chars,
        base_url=public_url(settings),
    )
    return envelope.ok(request, {"id": found["id"], "number": found["number"]}, status=201)


@router.get("/reports", response_model=ListEnvelope[ReportOut], summary="Problem reports for operators, newest first")
async def list_reports(
    request: Request, auth: StatusRead, conn: ReadConn, paging: Pagination, incident_id: uuid.UUID | None = None
) -> Response:
    found, total = await reports.list_reports(
        conn, incident_id=incident_id, limit=paging.page_size, offset=paging.offset
    )
    return envelope.ok(request, found, paging=Paging.of(paging, total))


@router.patch(
    "/reports/{report_id}",
    response_model=Envelope[ReportLinkOut],
    summary="Link a report to an incident (null unlinks)",
)
async def link_report(
    request: Request, auth: StatusWrite, conn: WriteConn, report_id: uuid.UUID, body: ReportLink
) -> Response:
    return envelope.ok(request, await incidents.link_report(conn, report_id, body.incident_id))
