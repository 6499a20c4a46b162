"""Bad input on the sign-in endpoints: exact status and error type, and nothing written."""

import uuid

import httpx
import psycopg
import pytest
from identity_flow import bearer, count
from identity_world import World


def _writes(pg: psycopg.Connection) -> tuple[int, int, int]:
    return (
        count(pg, "SELECT count(*) FROM tokens"),
        count(pg, "SELECT count(*) FROM login_failures"),
        count(pg, "SELECT count(*) FROM otps"),
    )


BASE = {"grant_type": "password", "email": "a@b.ua", "password": "x", "client_id": "{client}", "scope": "app:authorize"}


@pytest.mark.parametrize(
    ("changes", "status", "error_type"),
    [
        ({"client_id": None}, 422, "validation_failed"),
        ({"grant_type": "implicit"}, 422, "validation_failed"),
        ({"email": "not-an-email"}, 422, "validation_failed"),
        ({"scope": "person:read"}, 422, "validation_failed"),
        ({"client_id": str(uuid.uuid4())}, 401, "invalid_client"),
        ({"is_admin": True}, 422, "validation_failed"),
    ],
)
def test_login_bad_input(
    api: httpx.Client, pg: psycopg.Connection, world: World, changes: dict, status: int, error_type: str
) -> None:
    token = {k: v for k, v in {**BASE, "client_id": world.client_id, **changes}.items() if v is not None}
    before = _writes(pg)
    response = api.post("/auth/login", json={"token": token})
    assert (response.status_code, response.json()["error"]["type"]) == (status, error_type)
    assert _writes(pg) == before


def test_second_step_without_or_with_a_wrong_token(api: httpx.Client, pg: psycopg.Connection) -> None:
    before = _writes(pg)
    body = {"token": {"grant_type": "authorize_2fa_access_token", "otp": "123456"}}
    missing = api.post("/auth/login", json=body)
    assert (missing.status_code, missing.json()["error"]["type"]) == (401, "access_denied")
    unknown = api.post("/auth/login", json=body, headers=bearer("nope"))
    assert (unknown.status_code, unknown.json()["error"]["type"]) == (401, "token_not_found")
    assert _writes(pg) == before


def test_non_json_and_form_bodies(api: httpx.Client, world: World) -> None:
    assert api.post("/auth/login", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    form = api.post("/auth/login", data={"grant_type": "password"})
    assert (form.status_code, form.json()["error"]["type"]) == (415, "content_type_invalid")
    json_token = api.post(
        "/oauth/token", json={"grant_type": "authorization_code"}, auth=(world.client_id, world.secret)
    )
    assert (json_token.status_code, json_token.json()["error"]) == (400, "invalid_request")
