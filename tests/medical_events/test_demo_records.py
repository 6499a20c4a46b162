"""The demo's medical records: episodes, encounters, diagnoses and vaccinations of the first patients with a
declaration, valid against the dictionaries, and a second seed adds nothing."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.db import libpq_url, make_engine
from esoz.core.migrations import upgrade
from esoz.medical_events import codes
from esoz.medical_events.seed import PATIENTS, add_medical_events
from esoz.registry.reference import load_reference_data
from esoz.registry.seed import seed_demo

TABLES = ("episodes", "encounters", "conditions", "observations", "immunizations")


@pytest.fixture(scope="module")
def seeded(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A database of its own with the registry demo and the medical-records hook."""
    admin = libpq_url(db_url)
    name = f"esoz_me_seed_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = admin.partition("?")
    url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")

    async def hook(conn: AsyncConnection, data: Any, accounts: dict[str, Any]) -> None:
        await add_medical_events(conn, data, accounts, None)

    try:
        upgrade(url)
        asyncio.run(load_reference_data(url))
        accounts = tmp_path_factory.mktemp("me-seed") / "demo-accounts.json"
        assert asyncio.run(seed_demo(url, accounts, extend=hook)) == accounts
        yield url, accounts
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]


def test_demo_patients_have_records(seeded: tuple[str, Path]) -> None:
    url, accounts = seeded
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        assert _counts(conn) == {
            "episodes": PATIENTS, "encounters": PATIENTS, "conditions": PATIENTS, "observations": PATIENTS,
            "immunizations": PATIENTS // 2,
        }  # fmt: skip
        dic = codes.load()
        for system, code in conn.execute("SELECT code_system, code FROM conditions"):
            assert dic.diagnosis(system, code), code
        for (code,) in conn.execute("SELECT vaccine_code FROM immunizations"):
            assert dic.vaccine_codes.allows("eHealth/vaccine_codes", code)
        # each episode's care manager is the doctor of the patient's active declaration
        mismatched = conn.execute(
            "SELECT count(*) FROM episodes e LEFT JOIN declarations d ON d.person_id = e.person_id"
            " AND d.employee_id = e.care_manager_id AND d.status = 'active' WHERE d.id IS NULL"
        ).fetchone()
        assert mismatched == (0,)
    written = json.loads(accounts.read_text(encoding="utf-8"))["medical_events"]
    assert len(written["patients_with_records"]) == PATIENTS


def test_seeding_again_adds_nothing(seeded: tuple[str, Path]) -> None:
    url, _ = seeded
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        before = _counts(conn)
        declarations = [
            {"person_id": p, "employee_id": e, "legal_entity_id": le, "division_id": d}
            for p, e, le, d in conn.execute(
                "SELECT person_id, employee_id, legal_entity_id, division_id FROM declarations"
                " WHERE status = 'active' AND person_id IN (SELECT person_id FROM episodes)"
            )
        ]
    assert len(declarations) == PATIENTS

    class Data:
        pass

    data = Data()
    data.declarations = declarations  # type: ignore[attr-defined]

    async def again() -> None:
        engine = make_engine(url, 1)
        try:
            async with engine.begin() as conn:
                await add_medical_events(conn, data, {}, None)
        finally:
            await engine.dispose()

    asyncio.run(again())
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        assert _counts(conn) == before
