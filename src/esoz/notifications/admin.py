"""Operator API of delivery: outbox metrics and lists, maintenance windows, and (dev) the message view.

`GET /admin/outbox/metrics` is the place monitoring scrapes: backlog size and oldest pending age per channel.
"""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from esoz.core import envelope
from esoz.core import outbox as ob
from esoz.core.db import ReadConn, WriteConn
from esoz.core.schemas import Envelope
from esoz.notifications import devview, maintenance, service
from esoz.notifications.auth import OutboxRead, OutboxWrite, WindowsRead, WindowsWrite
from esoz.notifications.schemas import (
    DevMessageOut,
    MaintenanceWindowCreate,
    MaintenanceWindowOut,
    OutboxMetricsOut,
    OutboxRowOut,
    RetriedOut,
)

router = APIRouter(prefix="/admin", tags=["delivery admin"])
dev_router = APIRouter(prefix="/admin/dev", tags=["dev"])  # mounted in dev mode only; no token needed there


@router.get(
    "/outbox/metrics",
    response_model=Envelope[OutboxMetricsOut],
    summary="Outbox backlog: pending rows, oldest pending age, dead-letter rows",
)
async def outbox_metrics(request: Request, auth: OutboxRead, conn: ReadConn) -> Response:
    settings = request.app.state.settings
    providers = {service.SMS: settings.sms_provider, service.EMAIL: settings.email_provider}
    data = await ob.metrics(conn)
    data["paused_channels"] = sorted(await maintenance.paused_channels(conn, providers))  # held by a window
    return envelope.ok(request, data)


@router.get("/outbox", response_model=Envelope[list[OutboxRowOut]], summary="Outbox rows, newest first")
async def outbox_rows(
    request: Request,
    auth: OutboxRead,
    conn: ReadConn,
    status: Literal["pending", "delivered", "dead"] | None = None,
    channel: Annotated[str | None, Query(max_length=50)] = None,
    kind: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    return envelope.ok(request, await ob.list_rows(conn, status=status, channel=channel, kind=kind, limit=limit))


@router.post(
    "/outbox/{row_id}/actions/retry",
    response_model=Envelope[RetriedOut],
    summary="Put a dead-letter row back in the queue",
)
async def outbox_retry(request: Request, auth: OutboxWrite, conn: WriteConn, row_id: uuid.UUID) -> Response:
    return envelope.ok(request, {"retried": await ob.retry(conn, [row_id])})


@router.post(
    "/maintenance_windows",
    response_model=Envelope[MaintenanceWindowOut],
    status_code=201,
    summary="Plan a maintenance window of a delivery channel",
)
async def create_window(
    request: Request, auth: WindowsWrite, conn: WriteConn, body: MaintenanceWindowCreate
) -> Response:
    window = await maintenance.create_window(conn, **body.model_dump())
    return envelope.ok(request, window, status=201)


@router.get(
    "/maintenance_windows",
    response_model=Envelope[list[MaintenanceWindowOut]],
    summary="Current and planned maintenance windows (past ones with include_past)",
)
async def list_windows(request: Request, auth: WindowsRead, conn: ReadConn, include_past: bool = False) -> Response:
    return envelope.ok(request, await maintenance.list_windows(conn, include_past=include_past))


@router.patch(
    "/maintenance_windows/{window_id}/actions/cancel",
    response_model=Envelope[MaintenanceWindowOut],
    summary="End a window now; held messages go out",
)
async def cancel_window(request: Request, auth: WindowsWrite, conn: WriteConn, window_id: uuid.UUID) -> Response:
    return envelope.ok(request, await maintenance.cancel_window(conn, window_id))


@dev_router.get(
    "/messages",
    response_model=Envelope[list[DevMessageOut]],
    summary="Messages the log providers delivered, newest first (dev mode only)",
    responses={200: {"content": {"text/html": {}}, "description": "JSON; a browser (Accept: text/html) gets the page"}},
)
async def dev_messages(
    request: Request,
    conn: ReadConn,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    email: Annotated[str | None, Query(max_length=254)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    messages = await service.dev_messages(conn, phone=phone, email=email, limit=limit)
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:  # a browser: the page, not JSON
        return HTMLResponse(devview.render(messages))
    return envelope.ok(request, messages)
