"""The real system's JSON flow, end to end: password → SMS code → app approval → code → tokens → API."""

import time

import httpx
import psycopg
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
)
from identity_world import World


def test_mis_script_signs_in_and_calls_the_api(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    first = password_login(api, world, user.email, user.password)
    assert first.status_code == 201
    body = first.json()
    assert body["data"]["name"] == "2fa_access_token"
    assert body["data"]["details"]["scope"] == ""
    assert body["urgent"] == {"next_step": "REQUEST_OTP", "factor_type": "SMS"}
    # the 2FA token opens nothing but the second step
    assert api.get("/api/employees", headers=bearer(body["data"]["value"])).json()["error"]["type"] == (
        "token_invalid_type"
    )

    second = second_step(api, body["data"]["value"], sms_code(pg, user.phone))
    assert second.status_code == 201
    assert second.json()["data"]["name"] == "access_token"
    assert second.json()["data"]["details"]["scope"] == "app:authorize"
    assert second.json()["urgent"]["next_step"] == "REQUEST_APPS"
    session = second.json()["data"]["value"]

    approval = authorize(api, world, session, scope="employee:read person:read")
    code = code_from(approval)
    assert approval.json()["urgent"]["redirect_uri"] == f"{world.redirect_uri}?code={code}"
    assert approval.json()["data"]["name"] == "authorization_code"

    tokens = exchange(api, world, code)
    assert tokens.status_code == 201, tokens.text
    data = tokens.json()["data"]
    assert data["name"] == "access_token"
    assert data["details"]["scope"] == "employee:read person:read"
    assert data["details"]["refresh_token"]
    access = data["value"]

    listed = api.get("/api/employees", headers=bearer(access))
    assert listed.status_code == 200, listed.text
    # the token is stored only as a digest
    assert count(pg, "SELECT count(*) FROM tokens WHERE value_hash = %s OR value_hash = %s", access, session) == 0


def test_missing_scope_is_403_naming_the_allowances(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    session = session_token(api, pg, world, user)
    access = exchange(api, world, code_from(authorize(api, world, session, scope="person:read"))).json()["data"][
        "value"
    ]
    response = api.get("/api/employees", headers=bearer(access))
    assert response.status_code == 403
    assert response.json()["error"] == {
        "type": "forbidden",
        "message": "Your scope does not allow to access this resource. Missing allowances: employee:read",
    }
    assert (
        count(pg, "SELECT count(*) FROM audit_log WHERE action = 'authz.denied' AND actor_user_id = %s", user.id) == 1
    )


def test_no_token_unknown_token_expired_token(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    assert api.get("/api/employees").json()["error"]["type"] == "access_denied"
    assert api.get("/api/employees").status_code == 401
    unknown = api.get("/api/employees", headers=bearer("not-a-token"))
    assert (unknown.status_code, unknown.json()["error"]["type"]) == (401, "token_not_found")
    user = make_user()
    session = session_token(api, pg, world, user)
    access = exchange(api, world, code_from(authorize(api, world, session, scope="employee:read"))).json()["data"][
        "value"
    ]
    pg.execute("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE user_id = %s", (user.id,))
    expired = api.get("/api/employees", headers=bearer(access))
    assert (expired.status_code, expired.json()["error"]["type"]) == (401, "token_expired")


def test_scope_beyond_role_or_client_type_is_refused(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user(role="RECEPTIONIST")
    session = session_token(api, pg, world, user)
    codes_before = count(pg, "SELECT count(*) FROM tokens WHERE user_id = %s AND name = 'authorization_code'", user.id)
    by_role = authorize(api, world, session, scope="medication_request_request:write")
    assert by_role.status_code == 422
    assert by_role.json()["error"]["invalid"][0]["rules"][0]["description"] == (
        "User requested scope that is not allowed by role based access policies."
    )
    by_type = authorize(api, world, session, scope="medication_dispense:write")
    assert by_type.status_code == 422
    assert by_type.json()["error"]["invalid"][0]["rules"][0]["description"] == "Scope is not allowed by client type."
    after = count(pg, "SELECT count(*) FROM tokens WHERE user_id = %s AND name = 'authorization_code'", user.id)
    assert after == codes_before


def test_one_live_session_per_user_and_client(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    first = exchange(api, world, code_from(authorize(api, world, session_token(api, pg, world, user), "employee:read")))
    second = exchange(
        api, world, code_from(authorize(api, world, session_token(api, pg, world, user), "employee:read"))
    )
    old, new = first.json()["data"]["value"], second.json()["data"]["value"]
    assert api.get("/api/employees", headers=bearer(old)).json()["error"]["type"] == "token_expired"
    assert api.get("/api/employees", headers=bearer(new)).status_code == 200


def test_idle_access_token_expires(api: httpx.Client, pg: psycopg.Connection, world: World, make_user) -> None:
    user = make_user()
    session = session_token(api, pg, world, user)
    tokens = exchange(api, world, code_from(authorize(api, world, session, scope="employee:read")))
    access = tokens.json()["data"]["value"]
    assert api.get("/api/employees", headers=bearer(access)).status_code == 200
    # 31 minutes without a call (moved in the database instead of waited for)
    pg.execute(
        "UPDATE tokens SET inserted_at = now() - interval '31 minutes', last_used_at = now() - interval '31 minutes'"
        " WHERE user_id = %s AND name = 'access_token' AND revoked_at IS NULL",
        (user.id,),
    )
    # the worker's token cache drops the token when PostgreSQL delivers the trigger's NOTIFY, which may come a
    # moment after the UPDATE above has committed
    deadline = time.monotonic() + 5
    idle = api.get("/api/employees", headers=bearer(access))
    while idle.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.02)
        idle = api.get("/api/employees", headers=bearer(access))
    assert (idle.status_code, idle.json()["error"]["type"]) == (401, "token_expired")
    # the MIS renews with its refresh token (absolute lifetime, not subject to idleness)
    token = {"grant_type": "refresh_token", "client_id": world.client_id, "client_secret": world.secret}
    renewed = api.post(
        "/oauth/tokens", json={"token": {**token, "refresh_token": tokens.json()["data"]["details"]["refresh_token"]}}
    )
    assert api.get("/api/employees", headers=bearer(renewed.json()["data"]["value"])).status_code == 200
