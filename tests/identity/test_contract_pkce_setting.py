"""`POST /oauth/tokens` (the contract's JSON endpoint) and codes issued without PKCE: accepted by default, as
the real system does; refused when ESOZ_OAUTH_CONTRACT_CODES_WITHOUT_PKCE is off."""

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from identity_flow import authorize, code_from, count, exchange, session_token
from identity_world import World

from esoz.settings import Settings


@pytest.fixture(scope="module")
def strict_server(settings: Settings, live_server: Any) -> Iterator[str]:
    own = settings.model_copy(update={"oauth_contract_codes_without_pkce": False, "inprocess_worker": False})
    with live_server(own) as live:
        yield live.url


@pytest.fixture
def strict_api(strict_server: str, ip: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=strict_server, timeout=30, headers={"X-Forwarded-For": ip}) as c:
        yield c


def test_code_without_pkce_is_accepted_by_default(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    issued = exchange(api, world, code_from(authorize(api, world, session_token(api, pg, world, user))))
    assert issued.status_code == 201, issued.text
    assert issued.json()["data"]["name"] == "access_token"


def test_code_without_pkce_is_refused_when_the_setting_is_off(
    strict_api: httpx.Client, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    code = code_from(authorize(strict_api, world, session_token(strict_api, pg, world, user)))
    refused = exchange(strict_api, world, code)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["type"] == "invalid_grant"
    assert count(pg, "SELECT count(*) FROM tokens WHERE user_id = %s AND name = 'refresh_token'", user.id) == 0

    # a code issued with a challenge still works there, with its verifier
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    session = session_token(strict_api, pg, world, user)
    code = code_from(authorize(strict_api, world, session, code_challenge=challenge, code_challenge_method="S256"))
    issued = exchange(strict_api, world, code, code_verifier=verifier)
    assert issued.status_code == 201, issued.text
