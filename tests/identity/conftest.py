"""Fixtures for identity tests: a clinic and a MIS connected to it, and users with a party and a role
(the steps of the sign-in flow are in identity_flow.py). Each test speaks from its own IP (X-Forwarded-For,
honoured from loopback) so that the per-IP limits of one test do not touch another."""

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import psycopg
import pytest
from identity_flow import run_db
from identity_world import REDIRECT, STRONG, User, World, new_phone

from esoz.identity import users
from esoz.settings import Settings


def _legal_entity(pg: psycopg.Connection, type_: str, name: str) -> uuid.UUID:
    le_id = uuid.uuid4()
    pg.execute(
        "INSERT INTO legal_entities (id, edrpou, name, type, status) VALUES (%s, %s, %s, %s, 'ACTIVE')",
        (le_id, str(random.randint(10_000_000, 99_999_999)), name, type_),
    )
    return le_id


@pytest.fixture(scope="session")
def world(db_url: str, server: str) -> World:
    with psycopg.connect(db_url.replace("postgresql+asyncpg", "postgresql"), autocommit=True) as pg:
        clinic = _legal_entity(pg, "PRIMARY_CARE", "КНП «Центр ПМСД №1»")
        mis = _legal_entity(pg, "MIS", "ТОВ «Тестова МІС»")

    async def connect(conn: Any) -> str:
        await users.ensure_client(conn, clinic)
        await users.ensure_client(conn, mis)
        _, secret = await users.create_connection(
            conn, client_id=clinic, consumer_id=mis, redirect_uri=REDIRECT, actor=users.audit.SYSTEM
        )
        return secret

    return World(clinic, mis, run_db(db_url, connect))


@pytest.fixture
def make_user(db_url: str, settings: Settings, world: World, pg: psycopg.Connection) -> Callable[..., User]:
    def make(password: str = STRONG, role: str = "DOCTOR", phone: str | None = None, sms: bool = True) -> User:
        party_id = uuid.uuid4()
        pg.execute(
            "INSERT INTO parties (id, first_name, last_name, second_name, birth_date, gender, tax_id)"
            " VALUES (%s, 'Тарас', 'Шевченко', 'Григорович', %s, 'MALE', '3012345678')",
            (party_id, date(1985, 3, 12)),
        )
        pg.execute(
            "INSERT INTO employees (id, legal_entity_id, party_id, employee_type, position, status, start_date)"
            " VALUES (%s, %s, %s, %s, 'P1', 'APPROVED', '2020-01-01')",
            (uuid.uuid4(), world.clinic_id, party_id, role),
        )
        phone = phone or new_phone()
        email = f"doctor.{uuid.uuid4().hex[:10]}@clinic.ua"

        async def create(conn: Any) -> Any:
            return await users.create_user(
                conn, settings, email=email, password=password, party_id=party_id, phone=phone if sms else None
            )

        row = run_db(db_url, create)
        return User(row.id, email, password, phone, party_id)

    return make


@pytest.fixture
def ip() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.fixture
def api(server: str, ip: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30, headers={"X-Forwarded-For": ip}) as c:
        yield c
