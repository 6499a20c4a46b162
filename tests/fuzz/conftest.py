"""The fuzzer's world: a database of its own with the demo data, its own live server, and two real tokens.

The fuzzer writes whatever the schema allows (legal entities, persons, incidents, ...), so it gets a
database of its own: the other tests never see its rows, and it never sees theirs. The demo seed gives it
clinics, pharmacies, staff with sign-ins and certificates, patients, declarations and the prescription
catalogue, so generated requests reach real code paths instead of stopping at "not found".
"""

import asyncio
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_support import FuzzWorld, doctor_account, mint_headers, real_ids

from esoz.core.db import libpq_url
from esoz.core.migrations import upgrade
from esoz.demo import seed_demo
from esoz.registry.reference import load_reference_data
from esoz.settings import Settings
from esoz.signatures.devpki import DevPki
from esoz.signatures.service import pki_dir


@contextmanager
def _own_database(db_url: str) -> Iterator[str]:
    """A new database next to `db_url` (which only locates the server), migrated, with reference data."""
    admin = libpq_url(db_url)
    name = f"esoz_fuzz_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = admin.partition("?")
    url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    try:
        upgrade(url)
        asyncio.run(load_reference_data(url))
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def fuzz_world(db_url: str, live_server: type[Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    with _own_database(db_url) as url:
        settings = Settings(
            env="dev",
            database_url=url,
            data_dir=tmp_path_factory.mktemp("esoz-fuzz"),
            log_level="WARNING",  # as the session's server: the logging configuration is the process's
            db_pool_size=5,
            # Every request comes from one address with two tokens: with the limits on, most of the run would
            # stop at 429 before the code under test. The limits have tests of their own.
            ratelimit_auth_per_ip=0,
            ratelimit_api_per_client=0,
            ratelimit_api_per_ip=0,
            status_limit_per_ip=0,
        )
        DevPki.init(pki_dir(settings))
        path = asyncio.run(seed_demo(url, settings))
        assert path is not None, "the fuzz database is new, so the demo seed must run"
        accounts = orjson.loads(path.read_bytes())
        doctor = doctor_account(accounts)
        nhs = mint_headers(url, settings)
        doctor_headers = mint_headers(
            url, settings, legal_entity_id=uuid.UUID(doctor["legal_entity_id"]), user_id=uuid.UUID(doctor["user_id"])
        )
        ids = real_ids(url, spare={doctor["user_id"], doctor["employee_id"]})
        with live_server(settings) as live:
            world = FuzzWorld(live.url, url, settings, accounts, nhs, doctor_headers, ids)
            dashboards = httpx.get(f"{live.url}/api/dashboards", timeout=30).json()["data"]
            world.ids["dashboard"] = [d["id"] for d in dashboards]
            world.ids["chart"] = sorted(
                {
                    c["id"]
                    for d in world.ids["dashboard"]
                    for c in httpx.get(f"{live.url}/api/dashboards/{d}", timeout=30).json()["data"]["charts"]
                }
            )
            yield world
