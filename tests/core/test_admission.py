"""Admission control over real HTTP: a worker at its limit refuses at once (503, Retry-After, the contract's
envelope), lets a bounded line wait and hands a freed slot to the oldest waiter; probes are never refused.

A request is held "in flight" the honest way: it reads a table that the test has locked in PostgreSQL.
"""

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest

from esoz.core.admission import AdmissionMiddleware, Gate
from esoz.core.db import libpq_url
from esoz.settings import Settings


def _gate(live: Any) -> Gate:
    layer = live.server.config.loaded_app
    while layer is not None:
        if isinstance(layer, AdmissionMiddleware):
            return layer.gate
        layer = getattr(layer, "middleware_stack", None) or getattr(layer, "app", None)
    raise AssertionError("no admission middleware in the app")


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


URL = "/api/dictionaries"  # public, and it reads a table the test can lock
OVERLOADED = "The server is at capacity. Retry later."


@contextmanager
def _dictionaries_locked(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_url(db_url)) as lock:
        lock.execute("LOCK TABLE dictionaries IN ACCESS EXCLUSIVE MODE")
        try:
            yield lock
        finally:
            lock.rollback()


def _blocked(pg: psycopg.Connection) -> bool:
    row = pg.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%FROM dictionaries%'"
    ).fetchone()
    return bool(row and row[0])


class _Call(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.response: httpx.Response | None = None

    def run(self) -> None:
        self.response = httpx.get(self.url, timeout=60)

    def status(self) -> int | None:
        self.join(30)
        return None if self.response is None else self.response.status_code


def _settings(settings: Settings, **admission: int) -> Settings:
    return settings.model_copy(update={"inprocess_worker": False, **admission})


def _gate_after_first_request(live: Any) -> Gate:
    # Starlette builds its middleware stack on the first request.
    assert httpx.get(live.url + URL).status_code == 200
    return _gate(live)


def test_a_full_worker_refuses_at_once_and_probes_still_answer(
    live_server, settings: Settings, db_url: str, pg: psycopg.Connection, nhs_headers: dict
) -> None:
    own = _settings(settings, admission_max_in_flight=1, admission_max_queue=0, admission_retry_after_seconds=2)
    request_id = f"shed-{uuid.uuid4().hex[:8]}"
    with live_server(own) as live:
        gate = _gate_after_first_request(live)
        with _dictionaries_locked(db_url):
            holder = _Call(live.url + URL)
            holder.start()
            _until(lambda: _blocked(pg), "the first request to wait on the lock")
            assert gate.in_flight == 1

            refused = httpx.get(live.url + URL, headers={"X-Request-ID": request_id})
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "2"
            assert refused.headers["x-request-id"] == request_id
            body = refused.json()
            assert body["error"] == {"type": "service_unavailable", "message": OVERLOADED}
            assert body["meta"]["code"] == 503 and body["meta"]["request_id"] == request_id
            # a gated route is refused before its token is even read: no authz row, no audit row
            gated = httpx.get(live.url + "/admin/audit_log", headers={**nhs_headers, "X-Request-ID": request_id})
            assert gated.status_code == 503

            # probes and the status page are never shed
            assert httpx.get(live.url + "/health").status_code == 200
            assert httpx.get(live.url + "/status").status_code == 200
            assert gate.stats.shed == 2
        assert holder.status() == 200
        assert gate.in_flight == 0
        # the slot is free again
        assert httpx.get(live.url + URL).status_code == 200
    assert pg.execute("SELECT count(*) FROM audit_log WHERE request_id = %s", (request_id,)).fetchone() == (0,)


def test_a_waiting_request_gets_the_freed_slot_and_a_long_wait_is_refused(
    live_server, settings: Settings, db_url: str, pg: psycopg.Connection
) -> None:
    own = _settings(settings, admission_max_in_flight=1, admission_max_queue=1, admission_max_wait_ms=20_000)
    with live_server(own) as live:
        gate = _gate_after_first_request(live)
        with _dictionaries_locked(db_url):
            holder = _Call(live.url + URL)
            holder.start()
            _until(lambda: _blocked(pg), "the first request to wait on the lock")
            waiter = _Call(live.url + URL)
            waiter.start()
            _until(lambda: gate.waiting == 1, "the second request to queue")
            # the line is full: a third is refused without waiting
            assert httpx.get(live.url + URL).status_code == 503
        assert (holder.status(), waiter.status()) == (200, 200)
        assert (gate.in_flight, gate.waiting, gate.stats.waited, gate.stats.shed) == (0, 0, 1, 1)

    short = _settings(settings, admission_max_in_flight=1, admission_max_queue=4, admission_max_wait_ms=300)
    with live_server(short) as live:
        gate = _gate_after_first_request(live)
        with _dictionaries_locked(db_url):
            holder = _Call(live.url + URL)
            holder.start()
            _until(lambda: _blocked(pg), "the first request to wait on the lock")
            refused = httpx.get(live.url + URL)
            assert refused.status_code == 503 and refused.json()["error"]["type"] == "service_unavailable"
            assert (gate.waiting, gate.stats.shed, gate.stats.waited) == (0, 1, 0)
        assert holder.status() == 200
        assert gate.in_flight == 0


def test_admission_control_can_be_switched_off(live_server, settings: Settings) -> None:
    with live_server(_settings(settings, admission_max_in_flight=0)) as live:
        assert httpx.get(live.url + URL).status_code == 200
        with pytest.raises(AssertionError):
            _gate(live)


def test_a_place_in_line_longer_than_the_wait_allows_is_refused_at_once() -> None:
    """The k-th in line expects k x mean hold / slots; past max_wait it is refused without waiting for nothing."""

    async def run() -> tuple[list[bool | None], Gate]:
        gate = Gate(max_in_flight=2, max_wait=60.0, max_queue=100)
        assert await gate.acquire() and await gate.acquire()
        for _ in range(3):  # two requests that held their slot 40 s each: a slot frees every 20 s
            gate.release(40.0)
            assert await gate.acquire()
        line = [asyncio.ensure_future(gate.acquire()) for _ in range(4)]
        for _ in range(3):
            await asyncio.sleep(0)
        # 1st and 2nd expect 20 s and 40 s: they wait; 3rd expects 60 s: still within; 4th (80 s) refused at once
        settled = [f.result() if f.done() else None for f in line]
        gate.release(40.0)  # the oldest waiter gets the slot
        await asyncio.sleep(0)
        first = line[0].result() if line[0].done() else None
        for f in line:
            f.cancel()
        return [*settled, first], gate

    (a, b, c, d, first), gate = asyncio.run(run())
    assert (a, b, c, d) == (None, None, None, False)
    assert first is True
    assert gate.mean_hold == 40.0
    assert gate.expected_wait(3) == 60.0
