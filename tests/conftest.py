"""Test fixtures: a fresh PostgreSQL database per run and the real app over real HTTP.

With ESOZ_DATABASE_URL set (CI: the machine's PostgreSQL), a new database is created on that server
for the run and dropped afterwards; without it, the embedded server in var/pg-test is used.
"""

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn

from esoz.app import create_app
from esoz.core.db import libpq_url
from esoz.core.embedded import embedded_server
from esoz.core.migrations import upgrade
from esoz.registry.reference import load_reference_data
from esoz.settings import Settings
from esoz.signatures.devpki import DevPki
from esoz.signatures.service import pki_dir

ROOT = Path(__file__).resolve().parents[1]


def _with_database(url: str, name: str) -> str:
    base, _, query = libpq_url(url).partition("?")
    server = base.rsplit("/", 1)[0]
    return f"{server}/{name}" + (f"?{query}" if query else "")


@contextmanager
def migrated_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new database on the server at `server_url`, migrated and with reference data; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    try:
        upgrade(url)
        asyncio.run(load_reference_data(url))
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    """URL of a migrated database that belongs to this test run alone."""
    configured = os.environ.get("ESOZ_DATABASE_URL")
    with (
        nullcontext(configured) if configured else embedded_server(ROOT / "var" / "pg-test") as server_url,
        migrated_database(server_url, "esoz_test") as url,
    ):
        yield url


@pytest.fixture(scope="session")
def settings(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(
        env="dev",
        database_url=db_url,
        data_dir=tmp_path_factory.mktemp("esoz-data"),
        log_level="WARNING",
        db_pool_size=5,
        # Tests speak for many clients from loopback: the test server stands behind a proxy on 127.0.0.1 that
        # tells each one's address in X-Forwarded-For.
        trusted_proxies=["127.0.0.1"],
    )
    # The dev PKI exists before the server starts, so its trust store includes the dev CA from the first request.
    DevPki.init(pki_dir(settings))
    return settings


@pytest.fixture(scope="session")
def dev_pki(settings: Settings) -> DevPki:
    """The dev CA the live server trusts (env=dev): tests issue signing certificates from it."""
    return DevPki.init(pki_dir(settings))


class LiveServer:
    """The real ASGI app in uvicorn on a free loopback port, in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        # proxy_headers off as in `esoz serve`: the app alone decides whose X-Forwarded-For to believe.
        config = uvicorn.Config(
            create_app(settings), log_config=None, access_log=False, lifespan="on", proxy_headers=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[str]:
    with LiveServer(settings) as live:
        yield live.url


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


@pytest.fixture
def pg(db_url: str) -> Iterator[psycopg.Connection]:
    """A plain autocommit connection for arranging data and asserting what was (not) written."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        yield conn


@pytest.fixture
def fresh_db_url(db_url: str) -> Iterator[str]:
    """A second, empty-but-migrated database on the same server, for tests that must not share state."""
    with migrated_database(db_url, "esoz_fresh") as url:
        yield url


@pytest.fixture(scope="session")
def live_server() -> type[LiveServer]:
    """The LiveServer class, for tests that need an app with settings of their own."""
    return LiveServer


# --- tokens (identity) ---
# Real access tokens minted straight into the database (esoz.identity.bootstrap), so that tests of any
# domain call the gated API the way a MIS does: `headers_for(legal_entity_id)` for a clinic's token,
# `nhs_headers` for НСЗУ with every scope any route declares.


def _mint_headers(db_url: str, settings: Settings, **kwargs: object) -> dict[str, str]:
    from esoz.core.db import make_engine
    from esoz.identity.bootstrap import mint_token

    async def mint() -> str:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return (await mint_token(conn, settings, **kwargs)).value  # type: ignore[arg-type]
        finally:
            await engine.dispose()

    return {"Authorization": f"Bearer {asyncio.run(mint())}"}


@pytest.fixture(scope="session")
def nhs_headers(db_url: str, settings: Settings, server: str) -> dict[str, str]:
    """An НСЗУ operator's token: sees every legal entity, holds every declared scope."""
    return _mint_headers(db_url, settings)


@pytest.fixture(scope="session")
def nhs_headers_with(db_url: str, settings: Settings, server: str) -> Callable[[list[str]], dict[str, str]]:
    """An НСЗУ operator's token narrowed to the given scopes."""
    return lambda scopes: _mint_headers(db_url, settings, scope=scopes)


@pytest.fixture(scope="session")
def headers_for(db_url: str, settings: Settings, server: str) -> Callable[..., dict[str, str]]:
    """`headers_for(legal_entity_id, client_type="MSP", scopes=None)`: a token of that legal entity's client
    (scopes=None = everything its client type may hold). The legal entity must exist."""

    def make(
        legal_entity_id: uuid.UUID, client_type: str | None = None, scopes: list[str] | None = None
    ) -> dict[str, str]:
        return _mint_headers(db_url, settings, legal_entity_id=legal_entity_id, client_type=client_type, scope=scopes)

    return make
