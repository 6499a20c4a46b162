"""Public JSON API of the dashboards (open data): every chart's data as JSON and CSV; no token needed."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from esoz.analytics import queries, service
from esoz.analytics.schemas import MAX_PAGE, ChartDataOut, DashboardLinkOut, DashboardOut
from esoz.core import envelope
from esoz.core.replica import ReplicaConn
from esoz.core.schemas import Envelope

router = APIRouter(prefix="/api/dashboards", tags=["dashboards"])
CACHE = {"Cache-Control": "public, max-age=10"}

From = Annotated[str | None, Query(alias="from", max_length=7, description="first month, YYYY-MM")]
To = Annotated[str | None, Query(alias="to", max_length=7, description="last month, YYYY-MM (default: this month)")]
Region = Annotated[str | None, Query(max_length=19, description="oblast, a KATOTTG code (GET /api/dictionaries)")]
Program = Annotated[str | None, Query(max_length=36, description="medical programme id")]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page of paged charts (top INNs)")]
PageSize = Annotated[int, Query(ge=1, le=100)]


async def _filters(  # async: a plain def dependency would run in the thread pool
    month_from: From = None,
    month_to: To = None,
    region: Region = None,
    program: Program = None,
    page: Page = 1,
    page_size: PageSize = 20,
) -> dict[str, Any]:
    """The query filters every dashboard route takes, as keyword arguments for service.dashboard."""
    return {"month_from": month_from, "month_to": month_to, "region": region, "program": program, "page": page,
            "page_size": page_size}  # fmt: skip


Filters = Annotated[dict[str, Any], Depends(_filters)]


class CsvResponse(Response):
    """Documents a chart's CSV download as `text/csv` (the route builds its own Response)."""

    media_type = "text/csv"


@router.get("", response_model=Envelope[list[DashboardLinkOut]], summary="The dashboards and their charts")
async def list_dashboards(request: Request) -> Response:
    data = [
        {"id": k, "title": t, "url": f"/api/dashboards/{k}", "page": f"/dashboards/{k}"}
        for k, t in queries.DASHBOARDS.items()
    ]
    return envelope.ok(request, data)


@router.get(
    "/{dashboard}",
    response_model=Envelope[DashboardOut],
    summary="Figures and charts of one dashboard",
    description='Counts under 5 are published as `"<5"`; rates and shares computed from fewer than 5 records as '
    "null. Period at most 120 months.",
)
async def get_dashboard(
    request: Request,
    conn: ReplicaConn,
    dashboard: str,
    filters: Filters,
) -> Response:
    found = await service.dashboard(conn, dashboard, **filters)
    response = envelope.ok(request, found.as_dict())
    response.headers.update(CACHE)
    return response


async def _chart(
    conn: ReplicaConn, dashboard: str, chart: str, filters: dict[str, Any]
) -> tuple[queries.Dashboard, service.Chart]:
    found = await service.dashboard(conn, dashboard, **filters)
    return found, service.chart_of(found, chart)


@router.get(
    "/{dashboard}/{chart}.csv",
    response_class=CsvResponse,
    summary="One chart's data as CSV (UTF-8, header of column keys)",
)
async def get_chart_csv(
    conn: ReplicaConn,
    dashboard: str,
    chart: str,
    filters: Filters,
) -> Response:
    found, data = await _chart(conn, dashboard, chart, filters)
    name = service.download_name(found, data, "csv")
    headers = CACHE | {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(service.to_csv(data), media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/{dashboard}/{chart}.json",
    response_model=Envelope[ChartDataOut],
    summary="One chart's data as JSON (in the envelope)",
)
async def get_chart_json(
    request: Request,
    conn: ReplicaConn,
    dashboard: str,
    chart: str,
    filters: Filters,
) -> Response:
    found, data = await _chart(conn, dashboard, chart, filters)
    response = envelope.ok(request, service.chart_payload(found, data))
    name = service.download_name(found, data, "json")
    response.headers.update(CACHE | {"Content-Disposition": f'attachment; filename="{name}"'})
    return response
