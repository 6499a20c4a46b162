"""The demo seed: valid by the registry rules, complete, idempotent and deterministic.

It runs in a database of its own so the other tests never see demo rows.
"""

import asyncio
import json
import re
import stat
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url
from stdnum.ua import edrpou, rntrc

from esoz.core.db import libpq_url
from esoz.core.migrations import upgrade
from esoz.registry.reference import dictionary_codes, load_reference_data, rules
from esoz.registry.seed import DEMO_MARKER_EDRPOU, KYIV, age_on, build_demo, seed_demo

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
TODAY = NOW.astimezone(KYIV).date()
TABLES = (
    "legal_entities",
    "divisions",
    "parties",
    "employees",
    "persons",
    "declarations",
    "human_numbers",
    "audit_log",
)
ACCOUNT_KEYS = {
    "generated_at",
    "database",
    "legal_entities",
    "employees",
    "patients",
    "users",
    "clients",
    "certificates",
    "notes",
}


@dataclass
class Seeded:
    url: str
    accounts: Path
    seconds: float


def _with_database(url: str, name: str) -> str:
    base, _, query = libpq_url(url).partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def seeded(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A fresh database of its own, migrated, with reference data, then seeded once.

    `db_url` only locates the server: its lifetime is the session's, and stopping an embedded server from
    here would stop it for every other test in this process.
    """
    admin = libpq_url(db_url)
    name = f"esoz_seed_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(db_url, name)
    try:
        upgrade(url)
        asyncio.run(load_reference_data(url))
        accounts = tmp_path_factory.mktemp("seed") / "nested" / "demo-accounts.json"
        started = time.perf_counter()
        path = asyncio.run(seed_demo(url, accounts, now=NOW))
        seconds = time.perf_counter() - started
        assert path == accounts
        yield Seeded(url, accounts, seconds)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(seeded: Seeded) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_url(seeded.url), autocommit=True, row_factory=dict_row) as conn:
        yield conn


def _all(db: psycopg.Connection, sql: str) -> list[dict]:
    return db.execute(sql).fetchall()


def _counts(db: psycopg.Connection) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in TABLES}


def test_counts_and_coverage(db: psycopg.Connection, seeded: Seeded) -> None:
    types = Counter(r["type"] for r in _all(db, "SELECT type FROM legal_entities"))
    assert 2 <= types["PRIMARY_CARE"] <= 3
    assert 1 <= types["OUTPATIENT"] <= 2
    assert types["PHARMACY"] == 2
    assert len({r["region"] for r in _all(db, "SELECT region FROM legal_entities")}) >= 3
    assert _counts(db)["persons"] >= 250
    roles = {
        (r["employee_type"], r["speciality"])
        for r in _all(db, "SELECT employee_type, speciality->>'speciality' AS speciality FROM employees")
    }
    for role in [
        ("OWNER", None),
        ("DOCTOR", "FAMILY_DOCTOR"),
        ("DOCTOR", "THERAPIST"),
        ("DOCTOR", "PEDIATRICIAN"),
        ("PHARMACY_OWNER", None),
        ("PHARMACIST", "PHARMACIST"),
    ]:
        assert role in roles
    assert any(t == "SPECIALIST" and s for t, s in roles)
    assert _counts(db)["declarations"] >= 200
    # Far below "a few seconds" on any machine; a loose bound only to catch row-by-row inserts.
    assert seeded.seconds < 20


def test_legal_entities_and_divisions(db: psycopg.Connection) -> None:
    allowed = rules()["allowed_division_types"]
    regions = {r["katottg"]: r["name_uk"] for r in _all(db, "SELECT katottg, name_uk FROM regions")}
    entities = _all(db, "SELECT * FROM legal_entities")
    assert DEMO_MARKER_EDRPOU in {e["edrpou"] for e in entities}
    for e in entities:
        assert edrpou.is_valid(e["edrpou"]), e["edrpou"]
        assert e["status"] == "ACTIVE" and e["name"] and e["email"]
        assert e["legal_form"] in dictionary_codes("LEGAL_FORM")
        assert e["owner_property_type"] in dictionary_codes("OWNER_PROPERTY_TYPE")
        assert all(re.fullmatch(r"\+380\d{9}", p["number"]) for p in e["phones"])
        assert {a["area"] for a in e["addresses"]} == {regions[e["region"]]}
    rows = _all(
        db,
        "SELECT d.type, d.location, d.region, l.type AS le_type"
        " FROM divisions d JOIN legal_entities l ON l.id = d.legal_entity_id",
    )
    assert {r["le_type"] for r in rows} == {"PRIMARY_CARE", "OUTPATIENT", "PHARMACY"}
    for r in rows:
        assert r["type"] in allowed[r["le_type"]]
        assert 44.3 < r["location"]["latitude"] < 52.4 and 22.1 < r["location"]["longitude"] < 40.3


def test_staff(db: psycopg.Connection) -> None:
    r = rules()
    positions = dictionary_codes("POSITION")
    rows = _all(
        db,
        "SELECT e.*, p.tax_id, p.documents, l.type AS le_type FROM employees e"
        " JOIN parties p ON p.id = e.party_id JOIN legal_entities l ON l.id = e.legal_entity_id",
    )
    for e in rows:
        assert e["status"] == "APPROVED" and e["position"] in positions
        assert e["employee_type"] in r["allowed_employee_types"][e["le_type"]]
        assert rntrc.is_valid(e["tax_id"])
        assert e["documents"] and e["documents"][0]["type"] in ("PASSPORT", "NATIONAL_ID")
        if e["speciality"]:
            assert e["speciality"]["speciality"] in r["speciality_types_by_employee_type"][e["employee_type"]]
            assert e["speciality"]["speciality_officio"] is True and e["speciality"]["level"] == "FIRST"
    by_entity: dict[str, set[str]] = {}
    for e in rows:
        by_entity.setdefault(e["legal_entity_id"], set()).add(e["employee_type"])
    for e in rows:
        owner = r["owner_employee_type"][e["le_type"]]
        assert owner in by_entity[e["legal_entity_id"]]
        if e["le_type"] == "PHARMACY":
            assert "PHARMACIST" in by_entity[e["legal_entity_id"]]


def test_persons_valid(db: psycopg.Connection) -> None:
    r = rules()
    name = re.compile(r["name_pattern"])
    patterns = {k: re.compile(v) for k, v in r["document_number_patterns"].items()}
    prefixes = tuple("+38" + p for p in r["mobile_prefixes"])
    entity_regions = {e["region"] for e in _all(db, "SELECT region FROM legal_entities")}
    people = _all(db, "SELECT * FROM persons")
    tax_ids = [p["tax_id"] for p in people if p["tax_id"]]
    assert len(tax_ids) == len(set(tax_ids))
    ages = [age_on(p["birth_date"], TODAY) for p in people]
    assert min(ages) == 0 and max(ages) >= 85
    for p, age in zip(people, ages, strict=True):
        assert all(name.fullmatch(p[k]) for k in ("first_name", "last_name", "second_name"))
        assert p["gender"] in ("MALE", "FEMALE") and p["birth_country"] == "Україна" and p["birth_settlement"]
        if p["tax_id"]:
            assert rntrc.is_valid(p["tax_id"]) and not p["no_tax_id"]
            assert int(p["tax_id"][8]) % 2 == (1 if p["gender"] == "MALE" else 0)
            assert date(1899, 12, 31) + timedelta(days=int(p["tax_id"][:5])) == p["birth_date"]
        else:
            assert p["no_tax_id"] or age < 14
        types = [d["type"] for d in p["documents"]]
        assert len(types) == len(set(types)), p["documents"]
        for d in p["documents"]:
            assert patterns[d["type"]].fullmatch(d["number"]), d
            if d["type"] in r["documents_requiring_expiration"]:
                assert date.fromisoformat(d["expiration_date"]) > TODAY
        if age < 14:
            assert "BIRTH_CERTIFICATE" in types
        else:
            assert {"PASSPORT", "NATIONAL_ID"} & set(types)
        if "NATIONAL_ID" in types:
            assert p["unzr"] and re.fullmatch(rf"{p['birth_date']:%Y%m%d}-\d{{5}}", p["unzr"])
        else:
            assert p["unzr"] is None
        assert len(p["phones"]) == 1 and p["phones"][0]["type"] == "MOBILE"
        assert p["phones"][0]["number"].startswith(prefixes) and len(p["phones"][0]["number"]) == 13
        assert p["region"] in entity_regions
        assert {a["type"] for a in p["addresses"]} == {"REGISTRATION", "RESIDENCE"}
        [method] = p["authentication_methods"]
        uuid.UUID(method["id"])
        assert method["type"] in ("OTP", "OFFLINE")
        assert method.get("phone_number") == (p["phones"][0]["number"] if method["type"] == "OTP" else None)
    assert {m["authentication_methods"][0]["type"] for m in people} == {"OTP", "OFFLINE"}


def test_declarations_fit(db: psycopg.Connection) -> None:
    r = rules()
    rows = _all(
        db,
        "SELECT d.*, p.birth_date, e.speciality->>'speciality' AS speciality, e.employee_type,"
        " e.division_id AS employee_division, l.type AS le_type, p.region AS person_region, l.region AS le_region"
        " FROM declarations d JOIN persons p ON p.id = d.person_id JOIN employees e ON e.id = d.employee_id"
        " JOIN legal_entities l ON l.id = d.legal_entity_id",
    )
    persons = _all(db, "SELECT count(*) AS n FROM persons")[0]["n"]
    assert len(rows) > persons / 2
    assert len({d["person_id"] for d in rows}) == len(rows)
    for d in rows:
        age = age_on(d["birth_date"], TODAY)
        assert d["status"] == "active" and d["employee_type"] == "DOCTOR" and d["le_type"] in ("PRIMARY_CARE", "MSP")
        assert d["speciality"] in ("FAMILY_DOCTOR", "PEDIATRICIAN" if age < 18 else "THERAPIST")
        assert d["division_id"] == d["employee_division"] and d["person_region"] == d["le_region"]
        assert re.fullmatch(r"0000-[0-9AEHKMPTX]{4}-[0-9AEHKMPTX]{4}", d["declaration_number"])
        assert TODAY - timedelta(days=731) <= d["start_date"] <= TODAY <= d["end_date"]
        # A declaration signed for a minor ends the day before 18 (the real system's request_end_date).
        minor_at_start = age_on(d["birth_date"], d["start_date"]) < 18
        assert (age_on(d["birth_date"], d["end_date"]) < 18) == minor_at_start
        assert d["birth_date"] <= d["start_date"] and d["signed_at"] <= NOW
    load = Counter((d["employee_id"], d["speciality"]) for d in rows)
    assert all(n <= r["declaration_limits"][s] for (_, s), n in load.items())
    numbers = {x["number"] for x in _all(db, "SELECT number FROM human_numbers WHERE kind = 'declaration'")}
    assert {d["declaration_number"] for d in rows} <= numbers


def test_audit_row(db: psycopg.Connection) -> None:
    [row] = _all(db, "SELECT * FROM audit_log WHERE action = 'seed.demo'")
    assert row["details"]["counts"]["persons"] == _counts(db)["persons"]


def test_accounts_file(seeded: Seeded, db: psycopg.Connection) -> None:
    assert stat.S_IMODE(seeded.accounts.stat().st_mode) == 0o600
    accounts = json.loads(seeded.accounts.read_text(encoding="utf-8"))
    assert set(accounts) == ACCOUNT_KEYS
    assert accounts["users"] == accounts["clients"] == accounts["certificates"] == []
    assert "@" not in accounts["database"]
    assert accounts["database"].endswith("/" + make_url(seeded.url).database)
    ids = {str(e["id"]) for e in _all(db, "SELECT id FROM employees")}
    assert {e["id"] for e in accounts["employees"]} == ids
    for e in accounts["employees"]:
        assert set(e) >= {"id", "legal_entity_id", "division_id", "employee_type", "speciality", "first_name"}
        assert set(e) >= {"last_name", "tax_id", "role"}
    assert {e["role"] for e in accounts["employees"]} >= {
        "owner",
        "family_doctor",
        "therapist",
        "pediatrician",
        "specialist",
        "pharmacy_owner",
        "pharmacist",
    }
    for le in accounts["legal_entities"]:
        assert set(le) >= {"id", "edrpou", "name", "type", "region", "divisions"}
    assert accounts["patients"]


def test_second_run_does_nothing(seeded: Seeded, db: psycopg.Connection, tmp_path: Path) -> None:
    before = _counts(db)
    other = tmp_path / "again.json"
    assert asyncio.run(seed_demo(seeded.url, other)) is None
    assert _counts(db) == before
    assert not other.exists()


def test_deterministic(db: psycopg.Connection) -> None:
    first, second = build_demo(NOW), build_demo(NOW)
    assert first == second
    # The database holds exactly what the generator gives for that moment.
    stored = {
        (p["last_name"], p["first_name"], p["birth_date"], p["tax_id"]) for p in _all(db, "SELECT * FROM persons")
    }
    assert stored == {(p["last_name"], p["first_name"], p["birth_date"], p["tax_id"]) for p in first.persons}
    # Another day: the same people and facilities; only dates move.
    later = build_demo(NOW + timedelta(days=40))
    assert [p["first_name"] for p in later.persons] == [p["first_name"] for p in first.persons]
    assert [e["edrpou"] for e in later.legal_entities] == [e["edrpou"] for e in first.legal_entities]
    assert later.counts()["persons"] == first.counts()["persons"]
