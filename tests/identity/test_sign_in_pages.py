"""The sign-in pages: in headless Chromium (Debian's, driven by Playwright) the demo doctor goes
password → SMS code → app approval and lands on the MIS with a code; the pages refuse bad redirects."""

import base64
import hashlib
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import psycopg
import pytest
from identity_flow import bearer, exchange, sms_code
from identity_world import World

CHROMIUM = Path(os.environ.get("ESOZ_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _query(world: World, **extra: str) -> str:
    params = {"client_id": world.client_id, "redirect_uri": world.redirect_uri, "scope": "employee:read", **extra}
    return urlencode(params)


@pytest.mark.parametrize(
    "extra",
    [
        {"redirect_uri": "https://mis.example.ua/callbacks"},
        {"redirect_uri": "https://evil.example.com/callback"},
        {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
        {"client_id": "not-a-client"},
    ],
)
def test_bad_authorization_requests_get_an_error_page(api: httpx.Client, world: World, extra: dict) -> None:
    response = api.get(f"/sign-in?{_query(world, **extra)}", follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "Помилка запиту" in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_wrong_password_page_is_ukrainian(api: httpx.Client, world: World, make_user) -> None:
    user = make_user()
    form = {"client_id": world.client_id, "redirect_uri": world.redirect_uri, "scope": "employee:read"}
    page = api.post("/sign-in", data={**form, "email": user.email, "password": "Wrong-Password-Zebra-1"})
    assert page.status_code == 401
    assert "Невірний e-mail або пароль." in page.text


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_doctor_signs_in_through_the_pages(
    server: str, api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    from playwright.sync_api import sync_playwright

    user = make_user()
    pg.execute("UPDATE users SET password_set_at = now() - interval '91 days' WHERE id = %s", (user.id,))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    start = f"{server}/sign-in?{_query(world, state='xyz-42', code_challenge=challenge, code_challenge_method='S256')}"
    landed: list[str] = []
    new_password = "Kobzar-Trembita-Karpaty-92"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="uk-UA", extra_http_headers={"X-Forwarded-For": "10.123.0.1"})
            # the MIS is not on this machine: catch the redirect to it instead of loading it
            page.route(
                "https://mis.example.ua/**",
                lambda route: (landed.append(route.request.url), route.fulfill(status=200, body="MIS"))[-1],
            )
            page.goto(start)
            assert "Вхід до електронної системи охорони здоров'я" in page.content()
            page.fill("#email", user.email)
            page.fill("#password", user.password)
            page.click("#submit")
            # expired password: the second factor first, then the new password
            page.wait_for_selector("#otp")
            assert "Ми надіслали SMS" in page.content()
            page.fill("#otp", sms_code(pg, user.phone))
            page.click("#submit")
            page.wait_for_selector("#password_repeat")
            page.fill("#password", "qwerty123456")
            page.fill("#password_repeat", "qwerty123456")
            page.click("#submit")
            assert "надто поширений" in page.inner_text("#error")
            page.fill("#password", new_password)
            page.fill("#password_repeat", new_password)
            page.click("#submit")
            assert "Пароль змінено" in page.inner_text("#notice")
            # sign in again with the new password, SMS code, approve the MIS
            page.fill("#email", user.email)
            page.fill("#password", new_password)
            page.click("#submit")
            page.wait_for_selector("#otp")
            page.fill("#otp", sms_code(pg, user.phone))
            page.click("#submit")
            page.wait_for_selector("#approve")
            assert "працівники — перегляд" in page.content()
            page.click("#approve")
            page.wait_for_url("https://mis.example.ua/**")
        finally:
            browser.close()

    assert len(landed) == 1
    query = parse_qs(urlparse(landed[0]).query)
    assert query["state"] == ["xyz-42"]
    # the MIS backend exchanges the code (with its PKCE verifier) and calls the API
    tokens = exchange(api, world, query["code"][0], code_verifier=verifier)
    assert tokens.status_code == 201, tokens.text
    assert api.get("/api/employees", headers=bearer(tokens.json()["data"]["value"])).status_code == 200
