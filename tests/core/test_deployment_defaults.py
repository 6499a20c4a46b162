"""A deployer who sets nothing gets production: no SMS codes without a token, no dev PKI, no trust in
X-Forwarded-For. The dev sandbox is opt-in, and stays on loopback unless told otherwise."""

import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from esoz.cli import is_loopback
from esoz.core.proxies import forwarded_client, parse_networks
from esoz.settings import Settings


@pytest.fixture
def no_env_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings as a fresh deployment reads them: no ESOZ_ENV, no .env file in the working folder."""
    monkeypatch.delenv("ESOZ_ENV", raising=False)
    monkeypatch.delenv("ESOZ_TRUSTED_PROXIES", raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_production(no_env_file: None) -> None:
    settings = Settings()
    assert settings.env == "prod"
    assert settings.trusted_proxies == []
    assert settings.dev_allow_non_loopback_bind is False
    assert "without auth" not in (Settings.model_fields["env"].description or "")


def test_default_server_serves_no_dev_pages(
    no_env_file: None, db_url: str, tmp_path: Any, live_server: Any, nhs_headers: dict[str, str]
) -> None:
    default = Settings(database_url=db_url, data_dir=tmp_path / "var", log_level="WARNING", inprocess_worker=False)
    with live_server(default) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        assert client.get("/health").status_code == 200
        for path in ("/admin/dev/messages", "/admin/dev/messages?phone=%2B380501234567"):
            answer = client.get(path)
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["type"] == "not_found"
        # Not even with a token: the route does not exist in production.
        assert client.get("/admin/dev/messages", headers=nhs_headers).status_code == 404
        assert client.get("/dev/ocsp/MAA=").status_code == 404  # the dev CA answers no OCSP either
        # Nor is a forwarded scheme believed from a peer nobody named as a proxy.
        told = client.get("/health", headers={"X-Forwarded-Proto": "https"}).json()["meta"]["url"]
        assert told.startswith("http://")


def test_dev_server_still_serves_them(client: httpx.Client) -> None:
    # The test fixtures run env=dev explicitly.
    assert client.get("/admin/dev/messages").status_code == 200


def test_a_trusted_proxy_tells_the_scheme(client: httpx.Client) -> None:
    # The session's server names 127.0.0.1 as its proxy (tests/conftest.py).
    told = client.get("/health", headers={"X-Forwarded-Proto": "https"}).json()["meta"]["url"]
    assert told.startswith("https://")


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ESOZ_")}
    clean.update(ESOZ_DATABASE_URL="postgresql://unused@127.0.0.1:1/none", **env)
    return subprocess.run(
        [sys.executable, "-m", "esoz", "serve", *args], env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--host", "0.0.0.0"), {"ESOZ_ENV": "dev"}),
        (("--host", "::"), {"ESOZ_ENV": "dev"}),
        (("--demo", "--host", "0.0.0.0"), {}),
        (("--demo",), {"ESOZ_HOST": "192.0.2.10"}),
        (("--demo", "--host", "esoz.example.org"), {}),
    ],
)
def test_dev_refuses_a_non_loopback_bind(args: tuple[str, ...], env: dict[str, str]) -> None:
    # Refused before anything starts: the database URL points nowhere and is never dialled.
    done = _serve(*args, **env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refusing to serve ESOZ_ENV=dev" in done.stderr


def test_demo_does_not_run_in_an_explicit_prod() -> None:
    done = _serve("--demo", ESOZ_ENV="prod")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "does not run with ESOZ_ENV=prod" in done.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("", False), ("esoz.example.org", False)],
)  # fmt: skip
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- forwarded client addresses -------------------------------------------------------------------------


def _api_ip_limited(
    settings: Settings, live_server: Any, headers: dict[str, str], trusted: list[str]
) -> list[int]:
    """Six gated requests from loopback, each claiming another client address, against a per-IP limit of 3."""
    limited = {"ratelimit_api_per_ip": 3, "trusted_proxies": trusted, "inprocess_worker": False}
    own = settings.model_copy(update=limited)
    run = uuid.uuid4().int % 250
    statuses = []
    with live_server(own) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        for i in range(6):
            forwarded = {"X-Forwarded-For": f"10.{run}.{i}.9"}
            statuses.append(client.get("/api/v2/legal_entities?page_size=1", headers=headers | forwarded).status_code)
    return statuses


def test_forwarded_for_from_loopback_is_not_believed_by_default(
    settings: Settings, live_server: Any, nhs_headers: dict[str, str]
) -> None:
    statuses = _api_ip_limited(settings, live_server, nhs_headers, trusted=[])
    assert set(statuses) <= {200, 429}
    assert statuses.count(429) >= 3, statuses  # one address (the peer's) for all six: the limit holds


def test_forwarded_for_from_a_trusted_proxy_is_the_client(
    settings: Settings, live_server: Any, nhs_headers: dict[str, str]
) -> None:
    statuses = _api_ip_limited(settings, live_server, nhs_headers, trusted=["127.0.0.0/8"])
    assert statuses == [200] * 6  # six clients, one request each


TRUSTED = parse_networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("10.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # what the client wrote itself is left of it
        ("10.0.0.1", "203.0.113.7, 10.2.3.4", "203.0.113.7"),  # through two trusted proxies
        ("10.0.0.1", "10.9.9.9, 10.2.3.4", "10.9.9.9"),  # all hops trusted: the farthest
        ("10.0.0.1", "unknown, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.1", "203.0.113.7, garbage", None),  # an unreadable hop: the peer stands
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("203.0.113.9", "198.51.100.1", None),  # an untrusted peer tells nothing
        ("127.0.0.1", "198.51.100.1", None),  # loopback is not trusted for being local
        ("10.0.0.1", None, None),
    ],
)
def test_forwarded_client(peer: str, header: str | None, client: str | None) -> None:
    assert forwarded_client(peer, header, TRUSTED) == client


def test_readiness_names_no_exception(settings: Settings, live_server: Any) -> None:
    down = settings.model_copy(
        update={
            "database_url": "postgresql://postgres@127.0.0.1:1/none",
            "inprocess_worker": False,
            "token_cache_seconds": 0,
            "audit_read_flush_ms": 0,
        }
    )
    with live_server(down) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["data"] == {"status": "not_ready", "checks": {"database": "unreachable"}}
