"""Reads' audit rows are written in batches (core.audit.ReadAuditBuffer): tests wait for them to land."""

import time
from collections.abc import Callable
from typing import Any

import psycopg


def wait_for_audit(
    pg: psycopg.Connection, sql: str, params: Any = None, until: Callable[[list[Any]], bool] = bool, timeout: float = 3
) -> list[Any]:
    """Run `sql` until `until(rows)` holds (the buffer flushes every 100 ms); the last rows either way."""
    deadline = time.monotonic() + timeout
    while True:
        rows = pg.execute(sql, params).fetchall()
        if until(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)
