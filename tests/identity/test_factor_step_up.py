"""Changing a second factor takes a step-up: the password and the current factor, minutes ago, on a token made
for that alone. No access token (an MIS's, or the sign-in's own) opens the factor actions; the user is told of
every change on the old channel, and the change is audited."""

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pyotp
from identity_flow import (
    authorize,
    bearer,
    code_from,
    count,
    exchange,
    password_login,
    second_step,
    session_token,
    sms_code,
    step_up,
)
from identity_world import World, new_phone

from esoz.identity.tokens import digest

INIT = "/oauth/users/actions/init_factor"
APPROVE = "/oauth/users/actions/approve_factor"


def _factors(pg: psycopg.Connection, user_id) -> list[tuple]:
    return pg.execute(
        "SELECT type, factor, is_active, last_timecode FROM authentication_factors WHERE user_id = %s ORDER BY type",
        (user_id,),
    ).fetchall()


def _notices(pg: psycopg.Connection, recipient: str) -> list[str]:
    rows = pg.execute(
        "SELECT payload->>'text' FROM outbox WHERE recipient = %s AND kind = 'factor_changed' ORDER BY seq",
        (recipient,),
    )
    return [r[0] for r in rows]


def _actions(pg: psycopg.Connection, user_id, prefix: str = "factor.") -> list[str]:
    rows = pg.execute(
        "SELECT action FROM audit_log WHERE resource_id = %s AND action LIKE %s ORDER BY id",
        (str(user_id), prefix + "%"),
    )
    return [r[0] for r in rows]


def test_access_tokens_cannot_touch_factors(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    before = _factors(pg, user.id)

    def refused(token: str) -> None:
        for path, body in (
            (INIT, {"factor": {"type": "TOTP"}}),
            (INIT, {"factor": {"type": "SMS", "factor": new_phone()}}),
            (APPROVE, {"otp": "123456"}),
        ):
            answer = api.post(path, json=body, headers=bearer(token))
            assert (answer.status_code, answer.json()["error"]["type"]) == (401, "token_invalid_type"), answer.text

    session = session_token(api, pg, world, user)  # the sign-in's own app:authorize token
    code = code_from(authorize(api, world, session, "person:read"))
    refused(session)
    mis = exchange(api, world, code).json()["data"]["value"]  # an MIS token holding only person:read
    refused(mis)
    assert _factors(pg, user.id) == before
    assert count(pg, "SELECT count(*) FROM otps WHERE user_id = %s AND purpose = 'factor'", user.id) == 0
    assert _notices(pg, user.phone) == [] and _notices(pg, user.email) == []
    assert api.get("/api/persons?last_name=x", headers=bearer(mis)).status_code not in (401, 403)  # still works


def test_password_alone_is_refused(api: httpx.Client, pg: psycopg.Connection, world: World, make_user) -> None:
    user = make_user()
    first = password_login(api, world, user.email, user.password, scope="user:change_factor")
    assert first.status_code == 201, first.text
    two_fa = first.json()["data"]["value"]
    assert first.json()["data"]["name"] == "2fa_access_token"
    for path, body in ((INIT, {"factor": {"type": "TOTP"}}), (APPROVE, {"otp": "123456"})):
        answer = api.post(path, json=body, headers=bearer(two_fa))
        assert (answer.status_code, answer.json()["error"]["type"]) == (403, "forbidden"), answer.text
    assert _factors(pg, user.id) == [("SMS", user.phone, True, None)]
    assert _actions(pg, user.id) == ["factor.changed", "factor.change_denied", "factor.change_denied"]
    # the change-factor token opens nothing on the API either
    token = second_step(api, two_fa, sms_code(pg, user.phone)).json()["data"]["value"]
    assert api.get("/api/employees", headers=bearer(token)).status_code == 401


def test_step_up_older_than_the_window_is_refused(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    token = step_up(api, pg, world, user)
    phone = new_phone()
    init = api.post(INIT, json={"factor": {"type": "SMS", "factor": phone}}, headers=bearer(token))
    assert init.status_code == 201, init.text
    # the password and the code were proven 301 s ago (the window is 300 s); the token itself has not expired
    pg.execute(
        "UPDATE tokens SET details = details || jsonb_build_object("
        "'password_verified_at', extract(epoch FROM now()) - 301,"
        "'second_factor_verified_at', extract(epoch FROM now()) - 301),"
        " expires_at = now() + interval '1 hour' WHERE value_hash = %s",
        (digest(token),),
    )
    for path, body in ((INIT, {"factor": {"type": "TOTP"}}), (APPROVE, {"otp": sms_code(pg, phone)})):
        answer = api.post(path, json=body, headers=bearer(token))
        assert (answer.status_code, answer.json()["error"]["type"]) == (401, "token_expired"), answer.text
    assert _factors(pg, user.id) == [("SMS", user.phone, True, None)]
    assert _notices(pg, user.phone) == []
    assert _actions(pg, user.id)[-2:] == ["factor.change_denied", "factor.change_denied"]


def test_change_of_phone_tells_the_old_phone(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    token = step_up(api, pg, world, user)
    phone = new_phone()
    init = api.post(INIT, json={"factor": {"type": "SMS", "factor": phone}}, headers=bearer(token))
    assert init.status_code == 201, init.text
    assert init.json()["urgent"]["next_step"] == "APPROVE_FACTOR"
    approved = api.post(APPROVE, json={"otp": sms_code(pg, phone)}, headers=bearer(token))
    assert approved.status_code == 201, approved.text
    assert approved.json()["data"]["type"] == "SMS"
    assert _factors(pg, user.id) == [("SMS", phone, True, None)]

    notices = _notices(pg, user.phone)  # the old phone, not the new one
    assert len(notices) == 1 and "другий фактор" in notices[0]
    assert _notices(pg, phone) == []
    assert _actions(pg, user.id)[-3:] == ["factor.init", "factor.changed", "factor.approved"]
    approved_row = pg.execute(
        "SELECT details FROM audit_log WHERE resource_id = %s AND action = 'factor.approved'", (str(user.id),)
    ).fetchone()[0]
    assert approved_row["notified"] == "sms" and approved_row["token"] == "change_factor_token"
    assert _actions(pg, user.id, "factor.step_up") == ["factor.step_up"]

    # single use: the token ended with the change; the next sign-in asks the new phone
    again = api.post(APPROVE, json={"otp": "123456"}, headers=bearer(token))
    assert (again.status_code, again.json()["error"]["type"]) == (401, "token_expired")
    first = password_login(api, world, user.email, user.password)
    assert second_step(api, first.json()["data"]["value"], sms_code(pg, phone)).status_code == 201


def test_totp_without_sms_factor_is_told_by_email(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user(sms=False)
    # first enrolment during sign-in: the 2FA token of a user with no factor
    two_fa = password_login(api, world, user.email, user.password).json()["data"]["value"]
    init = api.post(INIT, json={"factor": {"type": "TOTP"}}, headers=bearer(two_fa))
    assert init.status_code == 201, init.text
    first_totp = pyotp.TOTP(init.json()["data"]["secret"])
    earlier = first_totp.at(datetime.now(UTC) - timedelta(seconds=30))
    approved = api.post(APPROVE, json={"otp": earlier}, headers=bearer(two_fa))
    assert approved.status_code == 201, approved.text
    assert approved.json()["data"]["name"] == "access_token"
    assert len(_notices(pg, user.email)) == 1

    # a change: step-up with the current TOTP; the new secret does not replace it before approval
    token = step_up(api, pg, world, user, code=first_totp.now())
    init = api.post(INIT, json={"factor": {"type": "TOTP"}}, headers=bearer(token))
    assert init.status_code == 201, init.text
    new_totp = pyotp.TOTP(init.json()["data"]["secret"])
    assert [(t, f, a) for t, f, a, _ in _factors(pg, user.id)] == [("TOTP", first_totp.secret, True)]
    wrong = api.post(APPROVE, json={"otp": first_totp.now()}, headers=bearer(token))
    assert (wrong.status_code, wrong.json()["error"]["type"]) == (401, "otp_invalid")
    approved = api.post(APPROVE, json={"otp": new_totp.now()}, headers=bearer(token))
    assert approved.status_code == 201, approved.text
    assert [(t, f, a) for t, f, a, _ in _factors(pg, user.id)] == [("TOTP", new_totp.secret, True)]
    notices = _notices(pg, user.email)
    assert len(notices) == 2 and "застосунок-автентифікатор" in notices[1]
    details = pg.execute(
        "SELECT details FROM audit_log WHERE resource_id = %s AND action = 'factor.approved' ORDER BY id",
        (str(user.id),),
    ).fetchall()
    assert [d[0]["notified"] for d in details] == ["email", "email"]


def test_operator_reset_is_told_on_the_old_phone(
    api: httpx.Client, pg: psycopg.Connection, make_user, nhs_headers_with
) -> None:
    user = make_user()
    reset = api.post(
        f"/admin/users/{user.id}/authentication_factors/actions/reset", headers=nhs_headers_with(["user:write"])
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["data"]["removed"] == 1
    assert _factors(pg, user.id) == []
    notices = _notices(pg, user.phone)
    assert len(notices) == 1 and "другий фактор" in notices[0]
    details = pg.execute(
        "SELECT details FROM audit_log WHERE resource_id = %s AND action = 'factor.reset'", (str(user.id),)
    ).fetchone()[0]
    assert details == {"removed": 1, "notified": "sms"}
