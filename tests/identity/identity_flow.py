"""Steps of the sign-in flow over real HTTP, shared by the identity tests."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import psycopg
from identity_world import User, World

from esoz.core.db import make_engine

T = TypeVar("T")


def run_db(db_url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def sms_code(pg: psycopg.Connection, phone: str) -> str:
    row = pg.execute(
        "SELECT payload->>'text' FROM outbox WHERE recipient = %s AND kind = 'auth_otp' ORDER BY seq DESC LIMIT 1",
        (phone,),
    ).fetchone()
    assert row is not None, "no SMS code was queued"
    match = re.search(r"(\d{6})", row[0])
    assert match
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def password_login(
    api: httpx.Client, world: World, email: str, password: str, grant: str = "password", scope: str | None = None
) -> httpx.Response:
    scope = scope or ("app:authorize" if grant == "password" else "user:change_password")
    body = {
        "token": {
            "grant_type": grant,
            "email": email,
            "password": password,
            "client_id": world.client_id,
            "scope": scope,
        }
    }
    return api.post("/auth/login", json=body)


def second_step(api: httpx.Client, two_fa: str, otp: str) -> httpx.Response:
    return api.post(
        "/auth/login", json={"token": {"grant_type": "authorize_2fa_access_token", "otp": otp}}, headers=bearer(two_fa)
    )


def session_token(api: httpx.Client, pg: psycopg.Connection, world: World, user: User) -> str:
    """Password → SMS code → the app:authorize session token."""
    first = password_login(api, world, user.email, user.password)
    assert first.status_code == 201, first.text
    assert first.json()["urgent"]["next_step"] == "REQUEST_OTP"
    second = second_step(api, first.json()["data"]["value"], sms_code(pg, user.phone))
    assert second.status_code == 201, second.text
    return second.json()["data"]["value"]


def step_up(api: httpx.Client, pg: psycopg.Connection, world: World, user: User, code: str | None = None) -> str:
    """Password with scope user:change_factor → the current second factor (the SMS code unless `code`) → the
    change-factor token."""
    first = password_login(api, world, user.email, user.password, scope="user:change_factor")
    assert first.status_code == 201, first.text
    assert first.json()["urgent"]["next_step"] == "REQUEST_OTP"
    second = second_step(api, first.json()["data"]["value"], code or sms_code(pg, user.phone))
    assert second.status_code == 201, second.text
    assert second.json()["data"]["name"] == "change_factor_token"
    assert second.json()["urgent"]["next_step"] == "REQUEST_FACTOR"
    return second.json()["data"]["value"]


def authorize(
    api: httpx.Client, world: World, session: str, scope: str = "person:read", **extra: str
) -> httpx.Response:
    app = {"client_id": world.client_id, "redirect_uri": world.redirect_uri, "scope": scope, **extra}
    return api.post("/oauth/apps/authorize", json={"app": app}, headers=bearer(session))


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    return response.headers["location"].split("code=", 1)[1]


def exchange(api: httpx.Client, world: World, code: str, **extra: str) -> httpx.Response:
    token = {
        "grant_type": "authorization_code",
        "client_id": world.client_id,
        "client_secret": world.secret,
        "code": code,
        "redirect_uri": world.redirect_uri,
        **extra,
    }
    return api.post("/oauth/tokens", json={"token": token})


def count(pg: psycopg.Connection, sql: str, *params: Any) -> int:
    return pg.execute(sql, params).fetchone()[0]
