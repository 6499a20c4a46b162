"""Helpers of the status tests (a module name of its own, so it never clashes with another conftest)."""

import uuid

import psycopg


def fake_ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250 + 1}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 1}"


def count(pg: psycopg.Connection, sql: str, *params: object) -> int:
    row = pg.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def unique_email(tag: str = "likar") -> str:
    return f"{tag}+{uuid.uuid4().hex[:10]}@clinic.example"
