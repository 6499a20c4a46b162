"""The public status page and its forms, server-rendered in Ukrainian (no JavaScript needed).

Forms post to the same services as the JSON API; errors come back as the form with Ukrainian messages.
"""

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from esoz.core.auth import client_ip
from esoz.core.db import ReadConn
from esoz.core.errors import ApiError
from esoz.core.pagination import PageNumber
from esoz.core.replica import replica_of
from esoz.status import charts, feeds, incidents, maintenance, metrics, overview, reports, subscriptions, uptime
from esoz.status.api import PERIODS, limit_per_ip
from esoz.status.cache import TtlCache
from esoz.status.components import COMPONENTS, IMPACTS, INCIDENT_STATUSES, STATES
from esoz.status.notify import public_url
from esoz.status.schemas import ReportCreate, SubscriptionCreate
from esoz.status.timefmt import kyiv

router = APIRouter(prefix="/status", tags=["status pages"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "web" / "templates")
templates.env.filters["kyiv"] = kyiv
templates.env.globals.update(COMPONENTS=COMPONENTS, STATES=STATES, INCIDENT_STATUSES=INCIDENT_STATUSES, IMPACTS=IMPACTS)
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
FIELD_NAMES = {
    "email": "E-mail",
    "contact_email": "E-mail для відповіді",
    "facility": "Заклад",
    "mis": "МІС",
    "component": "Компонент",
    "description": "Опис проблеми",
    "components": "Компоненти",
}


def _render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    response = templates.TemplateResponse(request, f"status/{name}", context, status_code=status)
    response.headers.update(HEADERS)
    return response


def _cache(request: Request) -> TtlCache:
    state = request.app.state
    if not hasattr(state, "status_cache"):
        state.status_cache = TtlCache(30.0)
    return state.status_cache


def _messages(exc: Exception) -> list[str]:
    """Ukrainian messages for a failed form: which field, never the internals."""
    if isinstance(exc, ApiError) and exc.status == 429:
        return ["Забагато звернень з вашої адреси. Спробуйте за хвилину."]
    fields: list[str] = []
    if isinstance(exc, ValidationError):
        fields = [str(e["loc"][0]) for e in exc.errors() if e.get("loc")]
    elif isinstance(exc, ApiError) and exc.invalid:
        fields = [i["entry"].removeprefix("$.").split("[")[0] for i in exc.invalid]
    names = [FIELD_NAMES.get(f, f) for f in dict.fromkeys(fields)]
    return [f"Перевірте поле «{n}»." for n in names] or ["Не вдалося виконати дію. Спробуйте ще раз."]


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str) and k != "components"}
    data["components"] = [v for v in form.getlist("components") if isinstance(v, str)]
    return data


async def _page_data(request: Request, conn: Any) -> dict[str, Any]:
    settings = request.app.state.settings
    cache = _cache(request)
    summary = await overview.summary(conn, sample_seconds=settings.status_sample_seconds)
    days = await cache.get("uptime", lambda: uptime.daily(conn, 90))
    charts_: dict[str, Any] = {}
    for period, fmt in (("24h", "%H:%M"), ("7d", "%d.%m")):
        hours, step = PERIODS[period]

        async def series(hours: int = hours, step: int = step) -> list[metrics.Point]:
            return await metrics.series(conn, "api", hours=hours, step_minutes=step)

        points = await (series() if period == "24h" else cache.get("series-7d", series))
        label = "Час відповіді API за 24 години" if period == "24h" else "Час відповіді API за 7 днів"
        charts_[period] = charts.latency_chart(points, label, fmt)
        charts_[f"{period}-narrow"] = charts.latency_chart(points, label, fmt, width=360)
    for c in summary["components"]:
        c["uptime"] = uptime.overall(days[c["id"]])
        c["bars"] = charts.uptime_bars(days[c["id"]], f"{c['name']}: доступність за 90 днів")
    replica = replica_of(request)
    return {"summary": summary, "charts": charts_, "replica": replica.describe_uk() if replica else None}


@router.get("")
async def status_page(request: Request, conn: ReadConn) -> Response:
    return _render(request, "index.html", **(await _page_data(request, conn)), form={}, errors=[])


@router.get("/history")
async def history(request: Request, conn: ReadConn, page: PageNumber = 1) -> Response:
    found, total = await incidents.list_incidents(conn, active=None, limit=20, offset=(page - 1) * 20)
    past = await maintenance.past(conn) if page == 1 else []
    return _render(request, "history.html", incidents=found, maintenance=past, page=page, has_next=page * 20 < total)


@router.get("/incidents/{incident_id}")
async def incident_page(request: Request, conn: ReadConn, incident_id: uuid.UUID) -> Response:
    try:
        found = await incidents.get(conn, incident_id)
    except ApiError:
        return _render(request, "message.html", 404, title="Інцидент не знайдено", text="Перевірте посилання.")
    return _render(request, "incident.html", incident=found)


@router.get("/feed.atom")
async def feed(request: Request, conn: ReadConn) -> Response:
    found, _ = await incidents.list_incidents(conn, limit=50)
    planned = await maintenance.upcoming(conn)
    body = feeds.atom(public_url(request.app.state.settings), found, planned)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


async def _write(request: Request, action: Any) -> Any:
    """Run a service call in one transaction (the forms are not behind the WriteConn dependency
    because a refused form must still render the page)."""
    async with request.app.state.engine.begin() as conn:
        return await action(conn)


@router.post("/subscribe")
async def subscribe_form(request: Request) -> Response:
    data = await _form(request)
    settings = request.app.state.settings
    try:
        await limit_per_ip(request)
        body = SubscriptionCreate(email=data.get("email", ""), components=data["components"])
        found = await _write(
            request,
            lambda conn: subscriptions.subscribe(
                conn, email=body.email, components=list(body.components), base_url=public_url(settings)
            ),
        )
    except (ApiError, ValidationError) as exc:
        return await _form_error(request, exc, "subscribe", data)
    return _render(
        request,
        "message.html",
        202,
        title="Перевірте пошту",
        text=f"Ми надіслали лист на {found['email']}. Перейдіть за посиланням у листі, щоб підтвердити підписку.",
    )


@router.post("/report")
async def report_form(request: Request) -> Response:
    data = await _form(request)
    settings = request.app.state.settings
    try:
        await limit_per_ip(request)
        body = ReportCreate(**{k: data.get(k, "") for k in ReportCreate.model_fields})
        found = await _write(
            request,
            lambda conn: reports.create(
                conn,
                **body.model_dump(),
                ip=client_ip(request),
                max_chars=settings.status_report_max_chars,
                base_url=public_url(settings),
            ),
        )
    except (ApiError, ValidationError) as exc:
        return await _form_error(request, exc, "report", data)
    return _render(
        request,
        "message.html",
        201,
        title=f"Звернення {found['number']} прийнято",
        text=f"Дякуємо! Підтвердження надіслано на {found['contact_email']}. Черговий інженер розгляне звернення.",
    )


async def _form_error(request: Request, exc: Exception, which: str, data: dict[str, Any]) -> Response:
    status = exc.status if isinstance(exc, ApiError) else 422
    async with request.app.state.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        page = await _page_data(request, conn)
    response = _render(request, "index.html", status, **page, form={which: data}, errors={which: _messages(exc)})
    if isinstance(exc, ApiError) and exc.headers:
        response.headers.update(exc.headers)
    return response


@router.get("/subscriptions/confirm")
async def confirm_page(request: Request, token: str = "") -> Response:
    """Only a button: mail scanners that open every link must not confirm on the owner's behalf."""
    return _render(request, "confirm.html", token=token[:100])


@router.post("/subscriptions/confirm")
async def confirm_action(request: Request) -> Response:
    token = str((await request.form()).get("token", ""))[:100]
    try:
        found = await _write(request, lambda conn: subscriptions.confirm(conn, token))
    except ApiError:
        return _render(
            request, "message.html", 404, title="Посилання недійсне", text="Можливо, підписку вже підтверджено."
        )
    names = ", ".join(COMPONENTS[c] for c in found["components"]) or "усі компоненти"
    return _render(
        request, "message.html", title="Підписку підтверджено", text=f"{found['email']} отримуватиме листи: {names}."
    )


@router.get("/unsubscribe")
@router.post("/unsubscribe")  # RFC 8058 one-click: mail clients POST to the same link
async def unsubscribe_page(request: Request, token: str = "") -> Response:
    try:
        found = await _write(request, lambda conn: subscriptions.unsubscribe(conn, token[:100]))
    except ApiError:
        return _render(request, "message.html", 404, title="Посилання недійсне", text="Перевірте посилання з листа.")
    return _render(request, "message.html", title="Ви відписалися", text=f"Листів на {found['email']} більше не буде.")
