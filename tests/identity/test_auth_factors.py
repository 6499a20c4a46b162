"""security.md tests 9 and 11: TOTP enrolment and replay, first-factor enrolment, MFA bypass attempts."""

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pyotp
from identity_flow import bearer, count, password_login, second_step, sms_code, step_up
from identity_world import World


def _enrol_totp(api: httpx.Client, pg: psycopg.Connection, world: World, user) -> pyotp.TOTP:
    session = step_up(api, pg, world, user)
    init = api.post("/oauth/users/actions/init_factor", json={"factor": {"type": "TOTP"}}, headers=bearer(session))
    assert init.status_code == 201, init.text
    assert init.json()["urgent"]["next_step"] == "APPROVE_FACTOR"
    totp = pyotp.TOTP(init.json()["data"]["secret"])
    approved = api.post(
        "/oauth/users/actions/approve_factor", json={"otp": totp.at(datetime.now(UTC) - timedelta(seconds=30))},
        headers=bearer(session),
    )  # fmt: skip
    assert approved.status_code == 201, approved.text
    # the change-factor token ended with the change, with every other session (ASVS 7.4.3)
    assert api.post("/auth/logout", headers=bearer(session)).status_code == 401
    return totp


def test_totp_replay_and_old_codes(api: httpx.Client, pg: psycopg.Connection, world: World, make_user) -> None:
    user = make_user()
    totp = _enrol_totp(api, pg, world, user)
    first = password_login(api, world, user.email, user.password)
    assert first.json()["urgent"] == {"next_step": "REQUEST_OTP", "factor_type": "TOTP"}
    two_fa = first.json()["data"]["value"]
    old = second_step(api, two_fa, totp.at(datetime.now(UTC) - timedelta(seconds=60)))  # two steps old
    assert (old.status_code, old.json()["error"]["type"]) == (401, "otp_invalid")
    code = totp.now()
    assert second_step(api, two_fa, code).status_code == 201
    again = password_login(api, world, user.email, user.password).json()["data"]["value"]
    replay = second_step(api, again, code)  # the same code within its step
    assert (replay.status_code, replay.json()["error"]["type"]) == (401, "otp_invalid")
    actions = [r[0] for r in pg.execute(
        "SELECT action FROM audit_log WHERE actor_user_id = %s AND action LIKE 'mfa.%%' ORDER BY id", (user.id,)
    )]  # fmt: skip
    assert actions[-3:] == ["mfa.failure", "mfa.success", "mfa.failure"]


def test_first_factor_enrolment_then_sign_in(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user(sms=False)
    first = password_login(api, world, user.email, user.password)
    assert first.json()["urgent"] == {"next_step": "REQUEST_FACTOR"}
    two_fa = first.json()["data"]["value"]
    # no code step is possible without a factor
    skipped = second_step(api, two_fa, "123456")
    assert (skipped.status_code, skipped.json()["error"]["type"]) == (409, "request_conflict")
    init = api.post(
        "/oauth/users/actions/init_factor",
        json={"factor": {"type": "SMS", "factor": user.phone}},
        headers=bearer(two_fa),
    )
    assert init.status_code == 201, init.text
    approved = api.post(
        "/oauth/users/actions/approve_factor", json={"otp": sms_code(pg, user.phone)}, headers=bearer(two_fa)
    )
    assert approved.status_code == 201, approved.text
    assert approved.json()["data"]["details"]["scope"] == "app:authorize"
    assert count(pg, "SELECT count(*) FROM authentication_factors WHERE user_id = %s AND is_active", user.id) == 1


def test_mfa_bypass_attempts(api: httpx.Client, pg: psycopg.Connection, world: World, make_user) -> None:
    user, other = make_user(), make_user()
    two_fa = password_login(api, world, user.email, user.password).json()["data"]["value"]
    tokens_before = count(pg, "SELECT count(*) FROM tokens WHERE user_id = %s", user.id)
    # the pending handle on the API, on app approval, on the token endpoint
    assert api.get("/api/employees", headers=bearer(two_fa)).status_code == 401
    app = {"client_id": world.client_id, "redirect_uri": world.redirect_uri, "scope": "employee:read"}
    assert api.post("/oauth/apps/authorize", json={"app": app}, headers=bearer(two_fa)).status_code == 401
    token = {"grant_type": "authorization_code", "client_id": world.client_id, "client_secret": world.secret}
    assert api.post("/oauth/tokens", json={"token": {**token, "code": two_fa}}).status_code == 401
    # enrolling a factor for itself while one is set (to skip the code), or touching another user's
    hijack = api.post("/oauth/users/actions/init_factor", json={"factor": {"type": "TOTP"}}, headers=bearer(two_fa))
    assert hijack.status_code == 403
    other_two_fa = password_login(api, world, other.email, other.password).json()["data"]["value"]
    assert second_step(api, other_two_fa, sms_code(pg, user.phone)).status_code == 401  # a code is bound to its user
    assert count(pg, "SELECT count(*) FROM tokens WHERE user_id = %s", user.id) == tokens_before
    assert count(pg, "SELECT count(*) FROM tokens WHERE user_id = %s AND name = 'access_token'", user.id) == 0
