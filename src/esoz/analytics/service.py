"""One entry point for the API and the pages: validated filters in, a dashboard with its charts out."""

import csv
import io
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.analytics import queries
from esoz.analytics.queries import Dashboard
from esoz.analytics.schemas import Chart, parse_filters
from esoz.core.errors import NotFound


async def dashboard(
    conn: AsyncConnection,
    name: str,
    *,
    month_from: str | None = None,
    month_to: str | None = None,
    region: str | None = None,
    program: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Dashboard:
    if name not in queries.DASHBOARDS:
        raise NotFound("Dashboard not found")
    if name == "activity":
        return await queries.activity(conn)
    filters = await parse_filters(conn, month_from, month_to, region, program)
    if name == "records":
        return await queries.records(conn, filters)
    if name == "prescriptions":
        return await queries.prescriptions(conn, filters, page, page_size)
    if name == "antibiotics":
        return await queries.antibiotics(conn, filters)
    return await queries.conclusions(conn, filters)


def chart_of(found: Dashboard, chart_id: str) -> Chart:
    chart = found.chart(chart_id)
    if chart is None:
        raise NotFound("Chart not found")
    return chart


def to_csv(chart: Chart) -> str:
    """Open data: UTF-8 with a BOM (spreadsheets then read Cyrillic right), a header of column keys."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    keys = [c.key for c in chart.columns]
    writer.writerow(keys)
    for row in chart.rows:
        writer.writerow(["" if row.get(k) is None else row.get(k) for k in keys])
    return out.getvalue()


def download_name(found: Dashboard, chart: Chart, ext: str) -> str:
    period = f"-{found.filters.query()['from']}-{found.filters.query()['to']}" if found.filters else ""
    return f"esoz-{found.id}-{chart.id}{period}.{ext}"


def chart_payload(found: Dashboard, chart: Chart) -> dict[str, Any]:
    return {"dashboard": found.id, "filters": found.filters.query() if found.filters else {}} | chart.as_dict()
