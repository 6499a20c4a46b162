"""The demo's walk-in patients are registered through person requests and declaration requests (the services
the routes run), not inserted beside them."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.db import libpq_url
from esoz.core.migrations import upgrade
from esoz.enrolment.seed import WALK_INS, add_enrolments
from esoz.registry.reference import load_reference_data
from esoz.registry.seed import seed_demo
from esoz.settings import Settings


@pytest.fixture(scope="module")
def seeded(db_url: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    admin = libpq_url(db_url)
    name = f"esoz_enrol_seed_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = admin.partition("?")
    url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")

    async def hook(conn: AsyncConnection, data: Any, accounts: dict[str, Any]) -> None:
        await add_enrolments(conn, data, accounts, settings)

    try:
        upgrade(url)
        asyncio.run(load_reference_data(url))
        accounts = tmp_path_factory.mktemp("enrol-seed") / "demo-accounts.json"
        assert asyncio.run(seed_demo(url, accounts, extend=hook)) == accounts
        yield url, accounts
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_walk_ins_are_registered_through_requests(seeded: tuple[str, Path]) -> None:
    url, accounts_path = seeded
    enrolments = json.loads(accounts_path.read_text())["enrolments"]
    assert len(enrolments) == WALK_INS
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for e in enrolments:
            request = conn.execute(
                "SELECT status, person_id::text FROM person_requests WHERE id = %s", [e["person_request_id"]]
            ).fetchone()
            assert request == ("SIGNED", e["person_id"])
            declaration = conn.execute(
                "SELECT d.status, d.declaration_request_id::text, r.status FROM declarations d "
                "JOIN declaration_requests r ON r.id = d.declaration_request_id WHERE d.id = %s",
                [e["declaration_id"]],
            ).fetchone()
            assert declaration == ("pending_verification", e["declaration_request_id"], "SIGNED")
