"""Delivery fixtures: fresh databases (cloned from a migrated template), the stand-in SMS provider.

Fault tests run their own dispatchers against a database of their own, so the app's in-process worker
(which delivers the shared database's SMS through the log provider) never touches their rows.
"""

import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.db import libpq_url, make_engine
from esoz.core.migrations import upgrade
from esoz.notifications.sim import SmsSim


def _on_server(url: str, name: str) -> str:
    base, _, query = libpq_url(url).partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def delivery_template(db_url: str) -> Iterator[str]:
    """A migrated database nobody connects to, so CREATE DATABASE … TEMPLATE can copy it in milliseconds."""
    name = f"esoz_delivery_tpl_{uuid.uuid4().hex[:8]}"
    admin = _on_server(db_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(_on_server(db_url, name))
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_db(db_url: str, delivery_template: str) -> Iterator[str]:
    name = f"esoz_delivery_{uuid.uuid4().hex[:10]}"
    admin = _on_server(db_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{delivery_template}"')
    try:
        yield _on_server(db_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fresh_engine(fresh_db: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(fresh_db, 4)
    yield engine
    await engine.dispose()


@pytest.fixture
def sim() -> Iterator[SmsSim]:
    with SmsSim() as running:
        yield running
