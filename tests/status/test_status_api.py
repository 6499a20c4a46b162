"""Incidents, maintenance and reports through the JSON API over real HTTP; e-mail goes to the outbox."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from status_support import count, unique_email

from esoz.core.db import make_engine
from esoz.status import maintenance


def _subscribe_confirmed(pg: psycopg.Connection, email: str, components: list[str]) -> None:
    """A confirmed subscriber, arranged directly (the opt-in itself is tested through SMTP in the browser test)."""
    pg.execute(
        "INSERT INTO status_subscribers (id, email, components, confirm_hash, unsubscribe_token, confirmed_at)"
        " VALUES (%s, %s, %s, %s, %s, now())",
        (uuid.uuid4(), email, components, uuid.uuid4().hex, uuid.uuid4().hex),
    )


def test_admin_writes_need_a_token_with_the_scope(
    public: httpx.Client, pg: psycopg.Connection, nhs_headers_with: Callable[[list[str]], dict[str, str]]
) -> None:
    title = f"t-{uuid.uuid4().hex[:8]}"
    body = {"title": title, "impact": "minor", "components": ["api"], "message": "m"}
    response = public.post("/api/status/incidents", json=body)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "access_denied"
    # A valid operator token without status:write is refused, naming the missing allowance.
    reader = public.post("/api/status/incidents", json=body, headers=nhs_headers_with(["status:read"]))
    assert reader.status_code == 403
    assert reader.json()["error"]["type"] == "forbidden"
    assert "status:write" in reader.json()["error"]["message"]
    assert count(pg, "SELECT count(*) FROM status_incidents WHERE title = %s", title) == 0


def test_incident_lifecycle_shows_on_the_page_and_emails_subscribers(
    public: httpx.Client, pg: psycopg.Connection, nhs_headers: dict[str, str]
) -> None:
    sms_fan, all_fan, api_fan = unique_email("sms"), unique_email("all"), unique_email("api")
    _subscribe_confirmed(pg, sms_fan, ["sms"])
    _subscribe_confirmed(pg, all_fan, [])
    _subscribe_confirmed(pg, api_fan, ["api"])
    title = f"Затримки SMS {uuid.uuid4().hex[:6]}"
    created = public.post(
        "/api/status/incidents",
        headers=nhs_headers,
        json={"title": title, "impact": "major", "components": ["sms"], "message": "Розслідуємо затримки SMS."},
    )
    assert created.status_code == 201, created.text
    incident = created.json()["data"]
    assert incident["status"] == "investigating" and incident["components"] == ["sms"]

    summary = public.get("/api/status/summary").json()["data"]
    assert any(i["id"] == incident["id"] for i in summary["incidents"])
    sms = next(c for c in summary["components"] if c["id"] == "sms")
    assert sms["state"] == "outage"
    page = public.get("/status").text
    assert title in page and "Розслідуємо затримки SMS." in page

    for status in ("identified", "monitoring", "resolved"):
        step = public.post(
            f"/api/status/incidents/{incident['id']}/updates",
            headers=nhs_headers,
            json={"status": status, "message": f"Крок {status}"},
        )
        assert step.status_code == 201, step.text
    done = public.get(f"/api/status/incidents/{incident['id']}").json()["data"]
    assert [u["status"] for u in done["updates"]] == ["resolved", "monitoring", "identified", "investigating"]
    assert done["resolved_at"] is not None
    again = public.post(
        f"/api/status/incidents/{incident['id']}/updates",
        headers=nhs_headers,
        json={"status": "monitoring", "message": "x"},
    )
    assert again.status_code == 409 and again.json()["error"]["type"] == "request_conflict"

    mails = "SELECT count(*) FROM outbox WHERE channel = 'email' AND kind = 'status_incident' AND recipient = %s"
    assert count(pg, mails, sms_fan) == 4 and count(pg, mails, all_fan) == 4
    assert count(pg, mails, api_fan) == 0
    text, unsubscribe_url = pg.execute(
        "SELECT payload->>'text', payload->>'unsubscribe_url' FROM outbox"
        " WHERE kind = 'status_incident' AND recipient = %s LIMIT 1",
        (sms_fan,),
    ).fetchone()
    assert "/status/unsubscribe?token=" in unsubscribe_url and unsubscribe_url in text
    # RFC 8058 one-click: the mail client POSTs `List-Unsubscribe=One-Click` to the header's link.
    path = "/status/unsubscribe?" + unsubscribe_url.split("?", 1)[1]
    clicked = public.post(path, content=b"List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert clicked.status_code == 200
    active = "SELECT count(*) FROM status_subscribers WHERE email = %s AND unsubscribed_at IS NULL"
    assert count(pg, active, sms_fan) == 0

    history = public.get("/status/history").text
    assert title in history
    feed = public.get("/status/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml") and title in feed.text


def test_delivery_window_shows_as_maintenance_and_is_announced(
    public: httpx.Client, pg: psycopg.Connection, nhs_headers: dict[str, str], db_url: str
) -> None:
    fan = unique_email("notice")
    _subscribe_confirmed(pg, fan, ["sms"])
    reason = f"Оновлення шлюзу {uuid.uuid4().hex[:6]}"
    starts = datetime.now(UTC) + timedelta(hours=2)
    window = public.post(
        "/admin/maintenance_windows",
        headers=nhs_headers,
        json={
            "channel": "sms",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "reason": reason,
        },
    )
    assert window.status_code == 201, window.text
    planned = public.get("/api/status/maintenances").json()["data"]
    ours = next(m for m in planned if m["id"] == window.json()["data"]["id"])
    assert ours["source"] == "delivery" and ours["components"] == ["sms"] and ours["description"] == reason
    assert reason in public.get("/status").text

    # What the worker's `status.maintenance_notice` job runs every minute; run once now instead of waiting.
    asyncio.run(_send_notices(db_url))
    asyncio.run(_send_notices(db_url))  # a second run announces nothing twice
    query = "SELECT count(*) FROM outbox WHERE kind = 'status_maintenance_notice' AND recipient = %s"
    assert count(pg, query, fan) == 1


async def _send_notices(db_url: str) -> None:
    engine = make_engine(db_url, 1)
    try:
        async with engine.begin() as conn:
            await maintenance.send_notices(conn, hours=24, base_url="http://status.example")
    finally:
        await engine.dispose()


def test_operator_links_a_report_to_an_incident(
    public: httpx.Client, pg: psycopg.Connection, nhs_headers: dict[str, str]
) -> None:
    report = public.post(
        "/api/status/reports",
        json={
            "facility": "КНП «Центр ПМСД №1»",
            "mis": "Моя МІС",
            "component": "signin",
            "description": "Не приходить код для входу",
            "contact_email": unique_email("report"),
        },
    )
    assert report.status_code == 201, report.text
    incident = public.post(
        "/api/status/incidents",
        headers=nhs_headers,
        json={"title": "Вхід", "impact": "minor", "components": ["signin"], "message": "Перевіряємо."},
    ).json()["data"]
    report_id = report.json()["data"]["id"]
    linked = public.patch(f"/api/status/reports/{report_id}", headers=nhs_headers, json={"incident_id": incident["id"]})
    assert linked.status_code == 200, linked.text
    listed = public.get(f"/api/status/reports?incident_id={incident['id']}", headers=nhs_headers).json()["data"]
    assert [r["id"] for r in listed] == [report_id]
    assert public.get("/api/status/reports").status_code == 401
    public.post(
        f"/api/status/incidents/{incident['id']}/updates",
        headers=nhs_headers,
        json={"status": "resolved", "message": "ok"},
    )


def test_planned_maintenance_shows_until_called_off(public: httpx.Client, nhs_headers: dict[str, str]) -> None:
    title = f"Оновлення бази даних {uuid.uuid4().hex[:6]}"
    starts = datetime.now(UTC) + timedelta(days=2)
    body = {"title": title, "components": ["database", "api"], "starts_at": starts.isoformat()}
    bad = public.post("/api/status/maintenances", headers=nhs_headers, json={**body, "ends_at": starts.isoformat()})
    assert bad.status_code == 422 and bad.json()["error"]["invalid"][0]["entry"] == "$.ends_at"
    created = public.post(
        "/api/status/maintenances",
        headers=nhs_headers,
        json={**body, "ends_at": (starts + timedelta(hours=2)).isoformat(), "description": "Без простою для МІС."},
    )
    assert created.status_code == 201, created.text
    found = created.json()["data"]
    assert found["components"] == ["api", "database"] and found["source"] == "status"
    assert title in public.get("/status").text
    cancelled = public.patch(f"/api/status/maintenances/{found['id']}/actions/cancel", headers=nhs_headers)
    assert cancelled.status_code == 200
    assert title not in public.get("/status").text
    assert all(m["id"] != found["id"] for m in public.get("/api/status/maintenances").json()["data"])


def test_unknown_incident_page_is_a_ukrainian_404(public: httpx.Client) -> None:
    page = public.get(f"/status/incidents/{uuid.uuid4()}")
    assert page.status_code == 404 and "Інцидент не знайдено" in page.text
