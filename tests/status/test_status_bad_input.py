"""Bad input to the public writes: exact status and error type, and nothing written."""

import time
import uuid

import httpx
import psycopg
import pytest
from status_support import count, unique_email

REPORTS_FROM = "SELECT count(*) FROM status_reports WHERE ip = %s"
MAILS_TO = "SELECT count(*) FROM outbox WHERE recipient = %s"


def report(**overrides: str) -> dict[str, str]:
    return {
        "facility": "Амбулаторія №3",
        "mis": "Тест-МІС",
        "component": "api",
        "description": "Запити до API повертають помилку 502",
        "contact_email": unique_email("report"),
    } | overrides


@pytest.mark.parametrize("email", ["not-an-email", "likar@", "@clinic.example", "a b@clinic.example", "x" * 300])
def test_subscription_with_an_invalid_email(public: httpx.Client, pg: psycopg.Connection, email: str) -> None:
    before = count(pg, "SELECT count(*) FROM status_subscribers")
    response = public.post("/api/status/subscriptions", json={"email": email, "components": ["sms"]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "validation_failed" and error["invalid"][0]["entry"] == "$.email"
    assert count(pg, "SELECT count(*) FROM status_subscribers") == before
    assert count(pg, MAILS_TO, email) == 0


def test_subscription_form_with_an_invalid_email_says_so_in_ukrainian(
    public: httpx.Client, pg: psycopg.Connection
) -> None:
    response = public.post("/status/subscribe", data={"email": "likar@@clinic", "components": "api"})
    assert response.status_code == 422
    assert "Перевірте поле «E-mail»." in response.text
    assert count(pg, "SELECT count(*) FROM status_subscribers WHERE email LIKE 'likar@@%%'") == 0


def test_a_hundred_reports_a_minute_from_one_ip(public: httpx.Client, pg: psycopg.Connection, ip: str) -> None:
    limit = 5  # ESOZ_STATUS_LIMIT_PER_IP default, per 60-second window
    if time.time() % 60 > 40:  # start inside one fixed window, so that the count below is exact
        time.sleep(61 - time.time() % 60)
    bodies = [report() for _ in range(100)]
    statuses = [public.post("/api/status/reports", json=body).status_code for body in bodies]
    assert statuses[:limit] == [201] * limit
    assert statuses[limit:] == [429] * (100 - limit)
    refused = public.post("/api/status/reports", json=report())
    assert refused.json()["error"]["type"] == "too_many_requests" and int(refused.headers["retry-after"]) >= 1
    assert count(pg, REPORTS_FROM, ip) == limit
    acks = [count(pg, MAILS_TO, body["contact_email"]) for body in bodies]
    assert acks == [1] * limit + [0] * (100 - limit)


def test_a_one_mib_description(public: httpx.Client, pg: psycopg.Connection, ip: str) -> None:
    email = unique_email("big")
    response = public.post(
        "/api/status/reports", json=report(description="я" * (1024 * 1024 // 2), contact_email=email)
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"
    long = public.post("/api/status/reports", json=report(description="a" * 5001, contact_email=email))
    assert long.status_code == 422
    assert long.json()["error"]["invalid"][0]["entry"] == "$.description"
    assert long.json()["error"]["invalid"][0]["rules"][0]["rule"] == "length"
    assert count(pg, REPORTS_FROM, ip) == 0 and count(pg, MAILS_TO, email) == 0


def test_html_and_script_in_a_report_are_stored_and_shown_escaped(
    public: httpx.Client, pg: psycopg.Connection, nhs_headers: dict[str, str]
) -> None:
    evil = f'<script>alert("x")</script><b onmouseover="steal()">{uuid.uuid4().hex}</b>'
    created = public.post("/api/status/reports", json=report(description=evil, facility="<i>Заклад</i>"))
    assert created.status_code == 201
    stored = pg.execute(
        "SELECT description, facility FROM status_reports WHERE id = %s", (created.json()["data"]["id"],)
    )
    assert stored.fetchone() == (evil, "<i>Заклад</i>")
    listed = public.get("/api/status/reports?page_size=100", headers=nhs_headers).json()["data"]
    assert any(r["description"] == evil for r in listed)
    # The form re-renders what was typed when it is refused: the text must come back escaped.
    page = public.post("/status/report", data=report(description=evil, contact_email="broken"))
    assert page.status_code == 422
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
