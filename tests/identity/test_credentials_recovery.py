"""security.md test 12: credentials recovery by e-mail — no account discovery (the answer comes before any
look-up), a per-account limit, single use, expiry, MFA kept."""

import re
import time
from collections.abc import Callable

import httpx
import psycopg
from identity_flow import authorize, bearer, code_from, count, exchange, password_login, session_token
from identity_world import World

from esoz.core.db import libpq_url
from esoz.settings import Settings

NEW = "Kobzar-Trembita-Karpaty-92"
UNKNOWN = "SELECT count(*) FROM audit_log WHERE action = 'recovery.requested' AND details->>'reason' = 'unknown_email'"


def _eventually(check: Callable[[], bool], what: str) -> None:
    """The mail is queued after the answer: wait for it (a deadline only against hanging, not a measurement)."""
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _handled(pg: psycopg.Connection, user_id) -> int:
    actions = "('recovery.requested', 'recovery.throttled')"
    return count(pg, f"SELECT count(*) FROM audit_log WHERE actor_user_id = %s AND action IN {actions}", user_id)


def _request(api: httpx.Client, email: str) -> httpx.Response:
    return api.post("/api/credentials_recovery_requests", json={"credentials_recovery_request": {"email": email}})


def _link(pg: psycopg.Connection, email: str) -> tuple[str, str]:
    query = (
        "SELECT payload->>'text' FROM outbox WHERE recipient = %s AND kind = 'credentials_recovery' ORDER BY seq DESC"
    )
    _eventually(lambda: pg.execute(query, (email,)).fetchone() is not None, "no recovery e-mail was queued")
    row = pg.execute(query, (email,)).fetchone()
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
    unknown_before = count(pg, UNKNOWN)
    known, unknown = _request(api, user.email), _request(api, "nobody.here@clinic.ua")
    assert known.status_code == unknown.status_code == 201
    assert known.json()["data"].keys() == unknown.json()["data"].keys() == {"is_active", "expires_at"}

    request_id, token = _link(pg, user.email)
    _eventually(lambda: count(pg, UNKNOWN) == unknown_before + 1, "the unknown address was not looked up")
    assert count(pg, "SELECT count(*) FROM outbox WHERE recipient = 'nobody.here@clinic.ua'") == 0
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


def test_known_and_unknown_addresses_are_answered_before_any_look_up(
    server: str, db_url: str, pg: psycopg.Connection, make_user
) -> None:
    """Both paths answer while the users table cannot even be read: nothing of the look-up or the mail runs
    before the answer, so the answer's time cannot tell a known address from an unknown one."""
    user = make_user()
    unknown_before = count(pg, UNKNOWN)
    with psycopg.connect(libpq_url(db_url)) as locker:
        locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        with httpx.Client(base_url=server, timeout=10) as api:
            known, unknown = _request(api, user.email), _request(api, "nobody.else@clinic.ua")
        assert known.status_code == unknown.status_code == 201
        assert known.json()["data"].keys() == unknown.json()["data"].keys()
        assert count(pg, "SELECT count(*) FROM outbox WHERE recipient = %s", user.email) == 0
        locker.rollback()
    _link(pg, user.email)  # the work went on once the table was free
    _eventually(lambda: count(pg, UNKNOWN) == unknown_before + 1, "the unknown address was not looked up")
    assert count(pg, "SELECT count(*) FROM outbox WHERE recipient = 'nobody.else@clinic.ua'") == 0


def test_recovery_mails_are_limited_per_account_from_any_address(
    server: str, pg: psycopg.Connection, settings: Settings, make_user
) -> None:
    user = make_user()
    asked = settings.recovery_max_per_account + 3
    for i in range(asked):  # each from another client address; the limit belongs to the account
        with httpx.Client(base_url=server, timeout=30, headers={"X-Forwarded-For": f"10.77.{i}.{i + 1}"}) as api:
            answer = _request(api, user.email)
        assert answer.status_code == 201, answer.text
        assert answer.json()["data"]["is_active"] is True
    _eventually(lambda: _handled(pg, user.id) == asked, "not every request was handled")
    mails = "SELECT count(*) FROM outbox WHERE recipient = %s AND kind = 'credentials_recovery'"
    assert count(pg, mails, user.email) == settings.recovery_max_per_account
    throttled = "SELECT count(*) FROM audit_log WHERE actor_user_id = %s AND action = 'recovery.throttled'"
    assert count(pg, throttled, user.id) == asked - settings.recovery_max_per_account
