"""Subscriptions over the JSON API: double opt-in, a change waits for confirmation, one-click unsubscribe."""

import hashlib
import uuid

import httpx
import psycopg
from status_support import count, unique_email


def _confirm_token(pg: psycopg.Connection, email: str) -> str:
    """The token as the e-mail carries it (the table keeps only its hash)."""
    text = pg.execute(
        "SELECT payload->>'text' FROM outbox WHERE kind = 'status_subscription_confirm' AND recipient = %s"
        " ORDER BY seq DESC LIMIT 1",
        (email,),
    ).fetchone()[0]
    return text.split("confirm?token=")[1].split()[0]


def test_double_opt_in_then_unsubscribe(public: httpx.Client, pg: psycopg.Connection) -> None:
    email = unique_email("sub")
    answer = public.post("/api/status/subscriptions", json={"email": email, "components": ["sms", "api"]})
    assert answer.status_code == 202, answer.text
    assert answer.json()["data"] == {"email": email, "components": ["api", "sms"], "status": "confirmation_sent"}
    row = pg.execute("SELECT confirmed_at, confirm_hash FROM status_subscribers WHERE email = %s", (email,)).fetchone()
    token = _confirm_token(pg, email)
    assert row[0] is None and row[1] == hashlib.sha256(token.encode()).hexdigest()

    assert public.post("/api/status/subscriptions/confirm", json={"token": "nope"}).status_code == 404
    confirmed = public.post("/api/status/subscriptions/confirm", json={"token": token})
    assert confirmed.status_code == 200 and confirmed.json()["data"]["status"] == "confirmed"
    assert public.post("/api/status/subscriptions/confirm", json={"token": token}).status_code == 404  # used once

    # A confirmed subscriber's change applies only once confirmed again.
    public.post("/api/status/subscriptions", json={"email": email, "components": ["database"]})
    current = pg.execute("SELECT components, pending_components FROM status_subscribers WHERE email = %s", (email,))
    assert current.fetchone() == (["api", "sms"], ["database"])
    public.post("/api/status/subscriptions/confirm", json={"token": _confirm_token(pg, email)})
    assert pg.execute("SELECT components FROM status_subscribers WHERE email = %s", (email,)).fetchone() == (
        ["database"],
    )

    unsubscribe = pg.execute("SELECT unsubscribe_token FROM status_subscribers WHERE email = %s", (email,)).fetchone()
    page = public.get(f"/status/unsubscribe?token={unsubscribe[0]}")
    assert page.status_code == 200 and "Ви відписалися" in page.text
    assert count(pg, "SELECT count(*) FROM status_subscribers WHERE email = %s AND unsubscribed_at IS NULL", email) == 0
    assert public.get(f"/status/unsubscribe?token={uuid.uuid4().hex}").status_code == 404


def test_unknown_component_is_refused(public: httpx.Client, pg: psycopg.Connection) -> None:
    email = unique_email("comp")
    answer = public.post("/api/status/subscriptions", json={"email": email, "components": ["coffee"]})
    assert answer.status_code == 422
    assert answer.json()["error"]["invalid"][0]["entry"] == "$.components[0]"
    assert count(pg, "SELECT count(*) FROM status_subscribers WHERE email = %s", email) == 0
