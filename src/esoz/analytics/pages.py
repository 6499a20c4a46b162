"""The public dashboard pages at /dashboards, server-rendered in Ukrainian: filters are a GET form, charts are SVG
drawn here, every chart has its data table and CSV/JSON links. No JavaScript."""

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from esoz.analytics import charts, queries, service
from esoz.analytics.schemas import MAX_PAGE, program_names, region_names
from esoz.core.errors import ApiError
from esoz.core.replica import ReplicaConn

router = APIRouter(prefix="/dashboards", tags=["dashboard pages"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "web" / "templates")
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
FIELDS = {"from": "Період з", "to": "Період по", "region": "Область", "program": "Програма", "page": "Сторінка"}


def _number(value: Any, kind: str = "count") -> str:
    """A figure or a cell for people: Ukrainian separators; None = hidden (fewer than 5 records) or no data."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if kind == "share":
        return f"{value * 100:.1f} %".replace(".", ",")
    if kind == "seconds":
        return f"{value:.1f} с".replace(".", ",")
    if isinstance(value, float):
        return (
            f"{value:,.4g}".replace(",", " ").replace(".", ",") if value < 1000 else f"{value:,.0f}".replace(",", " ")
        )
    return f"{value:,}".replace(",", " ")


templates.env.filters["num"] = _number
templates.env.globals.update(DASHBOARDS=queries.DASHBOARDS)


def _render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    response = templates.TemplateResponse(request, f"dashboards/{template}", context, status_code=status)
    response.headers.update(HEADERS)
    return response


def _messages(exc: ApiError) -> list[str]:
    entries = [i["entry"].removeprefix("$.") for i in exc.invalid or []]
    texts = {
        "greater_than": "Кінець періоду не може бути раніше за початок.",
        "max_period": "Період не може бути довшим за 10 років.",
    }
    rules = [i["rules"][0]["rule"] for i in exc.invalid or []]
    out = [texts.get(r) or f"Перевірте поле «{FIELDS.get(e, e)}»." for e, r in zip(entries, rules, strict=True)]
    return out or ["Не вдалося показати дані."]


@router.get("")
async def index(request: Request, conn: ReplicaConn) -> Response:
    cards = []
    for name in queries.DASHBOARDS:
        found = await service.dashboard(conn, name)
        cards.append(found)
    return _render(request, "index.html", cards=cards)


@router.get("/{dashboard}")
async def dashboard_page(request: Request, conn: ReplicaConn, dashboard: str) -> Response:
    if dashboard not in queries.DASHBOARDS:
        return _render(request, "message.html", 404, title="Панель не знайдено", text="Перевірте посилання.")
    q = request.query_params
    raw = {k: q.get(k) or None for k in ("from", "to", "region", "program")}
    page = int(q["page"]) if q.get("page", "").isdigit() and 1 <= int(q["page"]) <= MAX_PAGE else 1
    context: dict[str, Any] = {
        "name": dashboard,
        "raw": raw,
        "regions": await region_names(conn),
        "programs": await program_names(conn),
        "errors": [],
    }
    try:
        found = await service.dashboard(conn, dashboard, month_from=raw["from"], month_to=raw["to"],
                                        region=raw["region"], program=raw["program"], page=page)  # fmt: skip
    except ApiError as exc:
        return _render(
            request, "dashboard.html", exc.status, found=None, drawn=[], **context | {"errors": _messages(exc)}
        )
    query = found.filters.query() if found.filters else {}
    drawn = [
        {
            "chart": c,
            "wide": charts.draw(c, 720),
            "narrow": charts.draw(c, 360),
            "csv": f"/api/dashboards/{dashboard}/{c.id}.csv?{urlencode(query | {'page': page})}",
            "json": f"/api/dashboards/{dashboard}/{c.id}.json?{urlencode(query | {'page': page})}",
            "next": (
                f"?{urlencode(query | {'page': page + 1})}" if c.total_rows and page * 20 < c.total_rows else None
            ),
            "prev": f"?{urlencode(query | {'page': page - 1})}" if c.total_rows is not None and page > 1 else None,
        }
        for c in found.charts
    ]
    return _render(request, "dashboard.html", found=found, drawn=drawn, **context)
