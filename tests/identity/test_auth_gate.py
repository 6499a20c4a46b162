"""security.md tests 16 and 20, and the gate's rate limits: legal-entity context, function-level checks,
mass assignment, audit rows, and no secret in any audit row or log line."""

import uuid

import httpx
import psycopg
import pytest
from identity_flow import authorize, bearer, code_from, count, exchange, password_login, session_token, sms_code
from identity_world import World

from esoz.settings import Settings


def _doctor_token(api: httpx.Client, pg: psycopg.Connection, world: World, user, scope: str) -> str:
    session = session_token(api, pg, world, user)
    return exchange(api, world, code_from(authorize(api, world, session, scope))).json()["data"]["value"]


def test_legal_entity_context_and_admin_routes(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user, nhs_headers: dict
) -> None:
    user = make_user()
    doctor = bearer(_doctor_token(api, pg, world, user, "legal_entity:read employee:read"))
    assert api.get(f"/api/v2/legal_entities/{world.clinic_id}", headers=doctor).status_code == 200
    foreign = api.get(f"/api/v2/legal_entities/{world.mis_id}", headers=doctor)
    assert (foreign.status_code, foreign.json()["error"]["type"]) == (404, "not_found")
    assert api.get(f"/api/v2/legal_entities/{world.mis_id}", headers=nhs_headers).status_code == 200
    listed = api.get("/api/v2/legal_entities", headers=doctor).json()["data"]
    assert {le["id"] for le in listed} == {str(world.clinic_id)}

    # function level: a doctor on the operator API
    admin = api.get(f"/admin/users/{user.id}", headers=doctor)
    assert admin.status_code == 403
    assert admin.json()["error"]["message"].endswith("Missing allowances: user:read")
    assert (
        count(pg, "SELECT count(*) FROM audit_log WHERE action = 'authz.denied' AND actor_user_id = %s", user.id) == 1
    )
    assert api.get(f"/admin/users/{user.id}", headers=nhs_headers).json()["data"]["roles"][0]["role"] == "DOCTOR"


def test_user_reads_stay_inside_the_callers_legal_entity(
    api: httpx.Client, world: World, make_user, headers_for, nhs_headers: dict
) -> None:
    user = make_user()  # a doctor of world.clinic
    own = api.get(f"/admin/users/{user.id}", headers=headers_for(world.clinic_id, scopes=["user:read"]))
    assert own.status_code == 200
    assert {r["client_id"] for r in own.json()["data"]["roles"]} == {str(world.clinic_id)}
    # another legal entity's token with the same scope learns nothing: not its e-mail, tax id or roles
    other = api.get(f"/admin/users/{user.id}", headers=headers_for(world.mis_id, scopes=["user:read"]))
    assert (other.status_code, other.json()["error"]["type"]) == (404, "not_found")
    assert user.email not in other.text
    unknown = api.get(f"/admin/users/{uuid.uuid4()}", headers=headers_for(world.clinic_id, scopes=["user:read"]))
    assert unknown.status_code == 404 and unknown.json()["error"] == other.json()["error"]
    assert api.get(f"/admin/users/{user.id}", headers=nhs_headers).status_code == 200


@pytest.mark.parametrize("field", ["legal_entity_id", "status", "role", "is_blocked"])
def test_mass_assignment_is_422(api: httpx.Client, pg: psycopg.Connection, nhs_headers: dict, field: str) -> None:
    email = f"mass.{uuid.uuid4().hex[:8]}@clinic.ua"
    body = {"user": {"email": email, "password": "Kobzar-Trembita-Karpaty-92", field: "x"}}
    response = api.post("/admin/users", json=body, headers=nhs_headers)
    assert (response.status_code, response.json()["error"]["type"]) == (422, "validation_failed")
    assert count(pg, "SELECT count(*) FROM users WHERE email = %s", email) == 0


def test_audit_trail_has_every_step_and_no_secret(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user, capfd: pytest.CaptureFixture[str]
) -> None:
    user = make_user()
    first = password_login(api, world, user.email, user.password)
    two_fa = first.json()["data"]["value"]
    code = sms_code(pg, user.phone)
    session = api.post(
        "/auth/login", json={"token": {"grant_type": "authorize_2fa_access_token", "otp": code}}, headers=bearer(two_fa)
    ).json()["data"]["value"]
    auth_code = code_from(authorize(api, world, session, "employee:read"))
    tokens = exchange(api, world, auth_code).json()["data"]
    password_login(api, world, user.email, "Wrong-Password-Zebra-1")
    api.post("/auth/logout", headers=bearer(tokens["value"]))

    rows = pg.execute(
        "SELECT action, outcome, client_id, request_id, occurred_at, details::text, coalesce(resource_id, '')"
        " FROM audit_log WHERE actor_user_id = %s OR resource_id = %s ORDER BY id",
        (user.id, str(user.id)),
    ).fetchall()
    actions = [r[0] for r in rows]
    for expected in (
        "user.created",
        "factor.changed",
        "login.password_ok",
        "mfa.sms_sent",
        "mfa.success",
        "login.success",
        "app.approved",
        "token.issued",
        "login.failure",
        "token.revoked",
        "logout",
    ):
        assert expected in actions, expected
    assert all(r[3] for r in rows if r[0] not in ("user.created", "factor.changed", "user.roles_granted"))
    assert all(r[4].tzinfo is not None for r in rows)
    secrets = [user.password, "Wrong-Password-Zebra-1", code, two_fa, session, auth_code, tokens["value"]]
    secrets += [tokens["details"]["refresh_token"], world.secret]
    dumped = " ".join(f"{r[5]} {r[6]}" for r in rows)
    everything = pg.execute(
        "SELECT string_agg(details::text || coalesce(resource_id, ''), ' ') FROM audit_log"
    ).fetchone()[0]
    logs = "".join(capfd.readouterr())
    for secret in secrets:
        assert secret not in dumped and secret not in everything and secret not in logs


def test_rate_limits_per_client_and_per_ip(
    server: str, pg: psycopg.Connection, world: World, headers_for, settings: Settings, monkeypatch
) -> None:
    le = uuid.uuid4()
    pg.execute(
        "INSERT INTO legal_entities (id, edrpou, name, type, status)"
        " VALUES (%s, '55501234', 'КНП ліміт', 'MSP', 'ACTIVE')",
        (le,),
    )
    headers = headers_for(le, scopes=["legal_entity:read"])
    monkeypatch.setattr(settings, "ratelimit_window_seconds", 3600)
    monkeypatch.setattr(settings, "ratelimit_api_per_client", 3)
    with httpx.Client(base_url=server, headers={"X-Forwarded-For": "10.99.0.1"}) as c:
        statuses = [c.get(f"/api/v2/legal_entities/{le}", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    monkeypatch.setattr(settings, "ratelimit_auth_per_ip", 2)
    with httpx.Client(base_url=server, headers={"X-Forwarded-For": "10.99.0.2"}) as c:
        statuses = [password_login(c, world, "x@clinic.ua", "Wrong-Password-1").status_code for _ in range(3)]
        assert c.post("/auth/login", json={}).json()["error"]["type"] == "too_many_requests"
    assert statuses == [401, 401, 429]


def test_an_mis_introspects_within_the_api_budget_of_its_address(
    server: str, world: World, settings: Settings, monkeypatch
) -> None:
    # The sign-in limit (here 2) does not cap an MIS server exchanging and verifying its doctors' tokens; the
    # API's per-IP budget (here 5, shared with its other calls) does.
    monkeypatch.setattr(settings, "ratelimit_window_seconds", 3600)
    monkeypatch.setattr(settings, "ratelimit_auth_per_ip", 2)
    monkeypatch.setattr(settings, "ratelimit_api_per_ip", 5)
    with httpx.Client(base_url=server, headers={"X-Forwarded-For": "10.99.0.3"}) as c:
        calls = [
            c.post("/oauth/introspect", data={"token": "no-such-token"}, auth=(world.client_id, world.secret))
            for _ in range(3)
        ]
        calls.append(c.post("/oauth/revoke", data={"token": "no-such-token"}, auth=(world.client_id, world.secret)))
        # a code exchange that fails counts too, in the same budget: the fifth call of the address
        exchange_ = {"grant_type": "authorization_code", "code": "no-such-code", "redirect_uri": "https://x.ua/cb"}
        spent = c.post("/oauth/token", data=exchange_, auth=(world.client_id, world.secret))
        over = c.post("/oauth/introspect", data={"token": "no-such-token"}, auth=(world.client_id, world.secret))
        # the sign-in limit of the same address is untouched by them
        logins = [password_login(c, world, "x@clinic.ua", "Wrong-Password-1").status_code for _ in range(3)]
    assert [r.status_code for r in calls] == [200, 200, 200, 200]
    assert calls[0].json() == {"active": False}
    assert (spent.status_code, spent.json()["error"]) == (400, "invalid_grant")
    assert over.status_code == 429 and over.json()["error"]["type"] == "too_many_requests"
    assert logins == [401, 401, 429]


def test_operator_actions(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user, nhs_headers: dict
) -> None:
    user = make_user()
    doctor = bearer(_doctor_token(api, pg, world, user, "employee:read"))
    reset = f"/admin/users/{user.id}/authentication_factors/actions/reset"
    assert api.post(reset, headers=doctor).status_code == 403
    assert count(pg, "SELECT count(*) FROM authentication_factors WHERE user_id = %s", user.id) == 1
    assert api.post(reset, headers=nhs_headers).json()["data"] == {"removed": 1}
    assert api.get("/api/employees", headers=doctor).status_code == 401  # sessions ended with the factor
    assert password_login(api, world, user.email, user.password).json()["urgent"]["next_step"] == "REQUEST_FACTOR"

    blocked = api.post(f"/admin/users/{user.id}/actions/block", json={"reason": "звільнений"}, headers=nhs_headers)
    assert blocked.status_code == 200 and blocked.json()["data"]["is_blocked"] is True
    login = password_login(api, world, user.email, user.password)
    assert (login.status_code, login.json()["error"]["type"]) == (401, "user_blocked")
    api.post(f"/admin/users/{user.id}/actions/unblock", headers=nhs_headers)
    assert password_login(api, world, user.email, user.password).status_code == 201
