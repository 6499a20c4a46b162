"""security.md tests 13–15: sessions and logout, refresh rotation, token forgeries, OAuth redirect and PKCE misuse;
the standard endpoints (RFC 6749 form token endpoint, 7009, 7662, 8414)."""

import base64
import hashlib
import secrets

import httpx
import psycopg
import pytest
from identity_flow import authorize, bearer, code_from, count, exchange, session_token
from identity_world import World


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _form_token(api: httpx.Client, world: World, **fields: str) -> httpx.Response:
    return api.post("/oauth/token", data=fields, auth=(world.client_id, world.secret))


def _pkce_code(api, pg, world, user, scope: str = "employee:read") -> tuple[str, str]:
    verifier, challenge = _pkce()
    session = session_token(api, pg, world, user)
    code = code_from(authorize(api, world, session, scope, code_challenge=challenge, code_challenge_method="S256"))
    return code, verifier


def test_standard_code_flow_with_pkce_refresh_rotation_and_replay(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    code, verifier = _pkce_code(api, pg, world, user)
    issued = _form_token(
        api, world, grant_type="authorization_code", code=code, redirect_uri=world.redirect_uri, code_verifier=verifier
    )
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "employee:read"
    assert issued.headers["cache-control"] == "no-store"
    assert api.get("/api/employees", headers=bearer(body["access_token"])).status_code == 200

    rotated = _form_token(api, world, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != body["refresh_token"]
    assert api.get("/api/employees", headers=bearer(body["access_token"])).status_code == 401  # replaced

    # the rotated-out refresh token comes back: the whole family ends
    replay = _form_token(api, world, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert api.get("/api/employees", headers=bearer(new["access_token"])).status_code == 401
    again = _form_token(api, world, grant_type="refresh_token", refresh_token=new["refresh_token"])
    assert again.status_code == 400
    assert (
        count(pg, "SELECT count(*) FROM audit_log WHERE action = 'token.revoked' AND actor_user_id = %s", user.id) >= 1
    )


def test_code_replay_revokes_the_first_tokens(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    code, verifier = _pkce_code(api, pg, world, user)
    fields = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": world.redirect_uri,
        "code_verifier": verifier,
    }
    first = _form_token(api, world, **fields)
    assert first.status_code == 200
    second = _form_token(api, world, **fields)
    assert (second.status_code, second.json()["error"]) == (400, "invalid_grant")
    assert api.get("/api/employees", headers=bearer(first.json()["access_token"])).status_code == 401


def test_pkce_and_redirect_misuse(api: httpx.Client, pg: psycopg.Connection, world: World, make_user) -> None:
    user = make_user()
    session = session_token(api, pg, world, user)
    _, challenge = _pkce()
    codes = "SELECT count(*) FROM tokens WHERE user_id = %s AND name = 'authorization_code'"
    bad_redirect = api.post(
        "/oauth/apps/authorize",
        json={
            "app": {"client_id": world.client_id, "redirect_uri": world.redirect_uri + "x", "scope": "employee:read"}
        },
        headers=bearer(session),
    )
    assert (bad_redirect.status_code, bad_redirect.json()["error"]["type"]) == (422, "validation_failed")
    plain = authorize(api, world, session, "employee:read", code_challenge=challenge, code_challenge_method="plain")
    assert plain.status_code == 422
    assert count(pg, codes, user.id) == 0

    code, verifier = _pkce_code(api, pg, world, user)
    base = {"grant_type": "authorization_code", "code": code}
    missing = _form_token(api, world, **base, redirect_uri=world.redirect_uri)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    wrong = _form_token(api, world, **base, redirect_uri=world.redirect_uri, code_verifier=_pkce()[0])
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    redirect = _form_token(api, world, **base, redirect_uri=world.redirect_uri + "/", code_verifier=verifier)
    assert (redirect.status_code, redirect.json()["error"]) == (400, "invalid_grant")
    password = _form_token(api, world, grant_type="password", username=user.email, password=user.password)
    assert (password.status_code, password.json()["error"]) == (400, "unsupported_grant_type")
    bad_secret = api.post(
        "/oauth/token", data={**base, "redirect_uri": world.redirect_uri}, auth=(world.client_id, "x")
    )
    assert (bad_secret.status_code, bad_secret.json()["error"]) == (401, "invalid_client")
    # a code without PKCE is refused at the standard endpoint
    plain_code = code_from(authorize(api, world, session_token(api, pg, world, user), "employee:read"))
    no_pkce = _form_token(api, world, grant_type="authorization_code", code=plain_code, redirect_uri=world.redirect_uri)
    assert (no_pkce.status_code, no_pkce.json()["error"]) == (400, "invalid_grant")
    issued = "SELECT count(*) FROM tokens WHERE user_id = %s AND details->>'grant_type' = 'authorization_code'"
    assert count(pg, issued, user.id) == 0


def test_logout_revocation_and_introspection(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    tokens = exchange(
        api, world, code_from(authorize(api, world, session_token(api, pg, world, user), "employee:read"))
    )
    access, refresh = tokens.json()["data"]["value"], tokens.json()["data"]["details"]["refresh_token"]

    def introspect(token: str) -> dict:
        return api.post("/oauth/introspect", data={"token": token}, auth=(world.client_id, world.secret)).json()

    live = introspect(access)
    assert live["active"] is True and live["scope"] == "employee:read" and live["sub"] == str(user.id)
    assert api.post("/auth/logout", headers=bearer(access)).status_code == 200
    assert api.get("/api/employees", headers=bearer(access)).json()["error"]["type"] == "token_expired"
    assert introspect(access) == {"active": False}
    refreshed = exchange_refresh(api, world, refresh)
    assert (refreshed.status_code, refreshed.json()["error"]["type"]) == (401, "invalid_grant")

    other = exchange(api, world, code_from(authorize(api, world, session_token(api, pg, world, user), "employee:read")))
    value = other.json()["data"]["value"]
    revoked = api.post("/oauth/revoke", data={"token": value}, auth=(world.client_id, world.secret))
    assert revoked.status_code == 200
    assert introspect(value) == {"active": False}
    assert api.post("/oauth/revoke", data={"token": "unknown"}, auth=(world.client_id, world.secret)).status_code == 200
    assert api.post("/oauth/introspect", data={"token": value}, auth=(world.client_id, "wrong")).status_code == 401


def exchange_refresh(api: httpx.Client, world: World, refresh: str) -> httpx.Response:
    token = {"grant_type": "refresh_token", "client_id": world.client_id, "client_secret": world.secret}
    return api.post("/oauth/tokens", json={"token": {**token, "refresh_token": refresh}})


def test_contract_refresh_rotates(api: httpx.Client, pg: psycopg.Connection, world: World, make_user) -> None:
    user = make_user()
    tokens = exchange(
        api, world, code_from(authorize(api, world, session_token(api, pg, world, user), "employee:read"))
    )
    refreshed = exchange_refresh(api, world, tokens.json()["data"]["details"]["refresh_token"])
    assert refreshed.status_code == 201, refreshed.text
    assert refreshed.json()["data"]["details"]["refresh_token"] != tokens.json()["data"]["details"]["refresh_token"]
    assert api.get("/api/employees", headers=bearer(refreshed.json()["data"]["value"])).status_code == 200


@pytest.mark.parametrize(
    "forged",
    [
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiJ9.",  # alg: none
        "eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLy4uL2V0Yy9wYXNzd2QifQ.eyJzdWIiOiJhZG1pbiJ9.c2ln",  # unknown kid
        "eyJhbGciOiJSUzI1NiIsImprdSI6Imh0dHA6Ly8xMjcuMC4wLjEvai5qc29uIn0.e30.c2ln",  # attacker jku
        "' OR 1=1 --",
        "A" * 4000,
    ],
)
def test_forged_tokens_are_401(api: httpx.Client, forged: str) -> None:
    response = api.get("/api/employees", headers={"Authorization": f"Bearer {forged}"})
    assert (response.status_code, response.json()["error"]["type"]) == (401, "token_not_found")


def test_server_metadata(api: httpx.Client) -> None:
    meta = api.get("/.well-known/oauth-authorization-server").json()
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert meta["token_endpoint"].endswith("/oauth/token")
    assert "employee:read" in meta["scopes_supported"]
