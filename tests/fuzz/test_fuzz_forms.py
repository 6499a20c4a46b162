"""Fuzzing what /openapi.json does not describe: the HTML pages and the HTML-form endpoints.

The OAuth 2.0 endpoints (RFC 6749/7009/7662) read an `application/x-www-form-urlencoded` body the OpenAPI
document cannot declare, and the sign-in, status and dashboard pages are left out of it on purpose, so
schemathesis sends them nothing worth parsing. Here Hypothesis builds their query strings, forms, cookies
and client credentials from the field names the handlers read, mixing arbitrary text (control characters,
NUL, any script) with real values of the demo (clients and their secrets, users' e-mails, the demo
redirect URI), and every answer must be below 500.
"""

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fuzz_support import MAX_EXAMPLES, FuzzWorld
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st

from esoz.identity.pages import COOKIE
from esoz.identity.seed import DEMO_REDIRECT_URI

OAUTH_CLIENT = ("client_id", "client_secret")
# (method, path, form fields the handler reads); pages take the query parameters of QUERY.
ENDPOINTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("POST", "/oauth/token", ("grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", *OAUTH_CLIENT)),
    ("POST", "/oauth/revoke", ("token", "token_type_hint", *OAUTH_CLIENT)),
    ("POST", "/oauth/introspect", ("token", "token_type_hint", *OAUTH_CLIENT)),
    ("GET", "/sign-in", ()),
    ("POST", "/sign-in", ("email", "password")),
    ("POST", "/sign-in/otp", ("otp", "resend")),
    ("POST", "/sign-in/password", ("password", "password_repeat")),
    ("POST", "/sign-in/approve", ("decision",)),
    ("GET", "/sign-in/forgot", ()),
    ("POST", "/sign-in/forgot", ("email",)),
    ("GET", "/sign-in/reset", ()),
    ("POST", "/sign-in/reset", ("request_id", "token", "password", "password_repeat")),
    ("GET", "/status", ()),
    ("GET", "/status/history", ()),
    ("GET", "/status/feed.atom", ()),
    ("POST", "/status/subscribe", ("email", "components")),
    ("POST", "/status/report", ("facility", "mis", "component", "description", "contact_email")),
    ("GET", "/status/subscriptions/confirm", ()),
    ("POST", "/status/subscriptions/confirm", ("token",)),
    ("GET", "/status/unsubscribe", ()),
    ("POST", "/status/unsubscribe", ("token",)),
    ("GET", "/dashboards", ()),
]
# Query parameters the pages read, by path prefix (sign-in: the OAuth authorization request; dashboards: filters).
QUERY = {
    "/sign-in": (
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "response_type",
        "code_challenge",
        "code_challenge_method",
        "request_id",
        "token",
    ),
    "/status": ("token", "days", "page"),
    "/dashboards": ("from", "to", "region", "program", "page"),
}
# Paths with a part of their own: the part is drawn like a value.
TEMPLATES = [("GET", "/status/incidents/{}"), ("GET", "/dashboards/{}")]

# Half the requests carry only text without control characters, so they get past the edge's refusal of those.
clean = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=40)
wild = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
# What a header can carry: visible ASCII, no surrounding blanks.
header_text = st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=40).map(str.strip)


def _values(world: FuzzWorld) -> dict[str, list[str]]:
    """Real values by field name, so that requests also get past "unknown client" and "unknown user"."""
    clients = world.accounts["clients"]
    return {
        "client_id": [c["client_id"] for c in clients] + [c["mis_client_id"] for c in clients],
        "client_secret": [c["client_secret"] for c in clients],
        "redirect_uri": [DEMO_REDIRECT_URI],
        "email": [u["email"] for u in world.accounts["users"][:5]],
        "contact_email": [u["email"] for u in world.accounts["users"][:2]],
        "grant_type": ["authorization_code", "refresh_token", "password", "client_credentials"],
        "scope": ["app:authorize", "person:read declaration:read"],
        "response_type": ["code"],
        "code_challenge_method": ["S256", "plain"],
        "decision": ["approve", "deny"],
        "component": ["api", "signin", "other"],
        "components": ["api", "signin"],
        "token_type_hint": ["access_token", "refresh_token"],
        "from": ["2026-01", "2026-13"],
        "to": ["2026-12"],
        "page": ["1", "10001", "-1"],
        "dashboard": world.ids.get("dashboard", []),
    }


def _field(name: str, real: dict[str, list[str]], text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(text, st.sampled_from(real[name])) if real.get(name) else text


def _fields(
    names: tuple[str, ...], real: dict[str, list[str]], text: st.SearchStrategy[str]
) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={name: _field(name, real, text) for name in names})


def _query(path: str) -> tuple[str, ...]:
    return next((names for prefix, names in QUERY.items() if path.startswith(prefix)), ())


@pytest.fixture(scope="module")
def pages(fuzz_world: FuzzWorld) -> Iterator[httpx.Client]:
    # Redirects are answers too (the sign-in pages redirect to the MIS): they are not followed.
    with httpx.Client(base_url=fuzz_world.url, timeout=30, follow_redirects=False) as client:
        yield client


def _requests(world: FuzzWorld, path: str, form: tuple[str, ...], text: Any) -> st.SearchStrategy[dict[str, Any]]:
    real = _values(world)
    basic = st.builds(
        lambda user, secret: "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode(),
        _field("client_id", real, text),
        _field("client_secret", real, text),
    )
    optional: dict[str, st.SearchStrategy[Any]] = {
        # The sign-in pages keep their session in a cookie scoped to /sign-in.
        "cookies": st.fixed_dictionaries({COOKIE: header_text}),
        "headers": st.fixed_dictionaries(
            {"Authorization": st.one_of(basic, header_text.map(lambda t: f"Basic {t}".strip()))}
        ),
    }
    if form:
        optional["data"] = _fields(form, real, text)
    return st.fixed_dictionaries({"params": _fields(_query(path), real, text)}, optional=optional)


def _send(client: httpx.Client, method: str, path: str, request: dict[str, Any]) -> httpx.Response:
    cookies = request.pop("cookies", None)
    client.cookies.clear()
    if cookies:
        client.cookies.update(cookies)
    return client.request(method, path, **request)


def _bounded(test: Any) -> Any:
    return settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )(test)


@pytest.mark.parametrize(("method", "path", "form"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_page_or_form(
    method: str, path: str, form: tuple[str, ...], fuzz_world: FuzzWorld, pages: httpx.Client
) -> None:
    @_bounded
    @given(request=st.one_of(_requests(fuzz_world, path, form, clean), _requests(fuzz_world, path, form, wild)))
    def run(request: dict[str, Any]) -> None:
        shown = dict(request)
        answer = _send(pages, method, path, request)
        assert answer.status_code < 500, (method, path, shown, answer.text[:500])

    run()


@pytest.mark.parametrize(("method", "template"), TEMPLATES, ids=[f"{m} {t}" for m, t in TEMPLATES])
def test_page_with_a_path_part(method: str, template: str, fuzz_world: FuzzWorld, pages: httpx.Client) -> None:
    real = _values(fuzz_world)
    parts = st.one_of(
        wild.filter(lambda t: t not in ("", ".", "..") and "/" not in t),
        st.sampled_from(real["dashboard"]),
        st.uuids().map(str),
    )
    query = _query(template)

    @_bounded
    @given(part=parts, params=st.one_of(_fields(query, real, clean), _fields(query, real, wild)))
    def run(part: str, params: dict[str, str]) -> None:
        path = template.format(quote(part, safe=""))  # sent percent-encoded, as a browser would
        answer = pages.request(method, path, params=params)
        assert answer.status_code < 500, (method, path, params, answer.text[:500])

    run()
