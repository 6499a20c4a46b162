"""security.md test 12: credentials recovery by e-mail — no account discovery, single use, expiry, MFA kept."""

import re

import httpx
import psycopg
from identity_flow import authorize, bearer, code_from, count, exchange, password_login, session_token
from identity_world import World

NEW = "Kobzar-Trembita-Karpaty-92"


def _request(api: httpx.Client, email: str) -> httpx.Response:
    return api.post("/api/credentials_recovery_requests", json={"credentials_recovery_request": {"email": email}})


def _link(pg: psycopg.Connection, email: str) -> tuple[str, str]:
    row = pg.execute(
        "SELECT payload->>'text' FROM outbox WHERE recipient = %s AND kind = 'credentials_recovery' ORDER BY seq DESC",
        (email,),
    ).fetchone()
    assert row is not None
    match = re.search(r"request=([0-9a-f-]+)&token=([A-Za-z0-9_-]+)", row[0])
    assert match
    return match.group(1), match.group(2)


def _reset(api: httpx.Client, request_id: str, token: str, password: str) -> httpx.Response:
    return api.patch(
        f"/api/credentials_recovery_requests/{request_id}/actions/reset_password",
        json={"reset_password_request": {"token": token, "password": password}},
    )


def test_recovery_link_is_single_use_and_keeps_mfa(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    access = exchange(
        api, world, code_from(authorize(api, world, session_token(api, pg, world, user), "employee:read"))
    )
    known, unknown = _request(api, user.email), _request(api, "nobody.here@clinic.ua")
    assert known.status_code == unknown.status_code == 201
    assert known.json()["data"].keys() == unknown.json()["data"].keys() == {"is_active", "expires_at"}
    assert count(pg, "SELECT count(*) FROM outbox WHERE recipient = 'nobody.here@clinic.ua'") == 0

    request_id, token = _link(pg, user.email)
    weak = _reset(api, request_id, token, "qwerty123456")
    assert (weak.status_code, weak.json()["error"]["type"]) == (422, "password_breached_or_common")
    wrong_token = _reset(api, request_id, token[:-2] + "xx", NEW)
    assert (wrong_token.status_code, wrong_token.json()["error"]["type"]) == (400, "invalid_recovery_request")
    done = _reset(api, request_id, token, NEW)
    assert done.status_code == 200, done.text
    reused = _reset(api, request_id, token, "Another-Kobzar-Trembita-17")
    assert (reused.status_code, reused.json()["error"]["type"]) == (400, "invalid_recovery_request")

    # other sessions ended, a notice went out, and the next sign-in still asks for the second factor
    assert api.get("/api/employees", headers=bearer(access.json()["data"]["value"])).status_code == 401
    assert count(pg, "SELECT count(*) FROM outbox WHERE recipient = %s AND kind = 'password_changed'", user.email) == 1
    assert password_login(api, world, user.email, NEW).json()["urgent"]["next_step"] == "REQUEST_OTP"


def test_expired_link(api: httpx.Client, pg: psycopg.Connection, make_user) -> None:
    user = make_user()
    _request(api, user.email)
    request_id, token = _link(pg, user.email)
    pg.execute(
        "UPDATE credentials_recovery_requests SET expires_at = now() - interval '1 second' WHERE id = %s", (request_id,)
    )
    hash_before = pg.execute("SELECT password_hash FROM users WHERE id = %s", (user.id,)).fetchone()[0]
    expired = _reset(api, request_id, token, NEW)
    assert (expired.status_code, expired.json()["error"]["type"]) == (400, "invalid_recovery_request")
    assert pg.execute("SELECT password_hash FROM users WHERE id = %s", (user.id,)).fetchone()[0] == hash_before
