"""The audit log: append-only, sealed in commit order, and tamper-evident."""

import asyncio
import uuid

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from esoz.cli import app as cli
from esoz.core import audit
from esoz.core.audit import Actor
from esoz.core.db import libpq_url, make_engine
from esoz.settings import Settings


async def _record(url: str, n: int, action: str = "test.action") -> None:
    engine = make_engine(url, 1)
    try:
        async with engine.begin() as conn:
            for i in range(n):
                await audit.record(
                    conn,
                    action=action,
                    resource_type="thing",
                    resource_id=i,
                    actor=Actor(user_id=uuid.uuid4()),
                    details={"i": i, "text": "\r\nFAKE admin login"},
                )
    finally:
        await engine.dispose()


async def _seal(url: str) -> int:
    engine = make_engine(url, 1)
    try:
        async with engine.begin() as conn:
            return await audit.seal(conn)
    finally:
        await engine.dispose()


async def _verify(url: str) -> audit.ChainReport:
    engine = make_engine(url, 1)
    try:
        async with engine.connect() as conn:
            return await audit.verify_chain(conn)
    finally:
        await engine.dispose()


def test_chain_seals_and_verifies(fresh_db_url: str) -> None:
    asyncio.run(_record(fresh_db_url, 25))
    assert asyncio.run(_seal(fresh_db_url)) == 25
    assert asyncio.run(_seal(fresh_db_url)) == 0
    report = asyncio.run(_verify(fresh_db_url))
    assert report.ok and report.checked == 25 and report.unsealed == 0
    with psycopg.connect(libpq_url(fresh_db_url)) as conn:
        stored = conn.execute("SELECT details->>'text' FROM audit_log LIMIT 1").fetchone()
    assert stored == ("\r\nFAKE admin login",)  # kept as data in JSON, never interpreted


def test_sealing_in_chunks_keeps_one_chain_and_honours_the_batch(fresh_db_url: str) -> None:
    asyncio.run(_record(fresh_db_url, 2 * audit.SEAL_CHUNK + 7))

    async def seal(batch: int) -> int:
        engine = make_engine(fresh_db_url, 1)
        try:
            async with engine.begin() as conn:
                return await audit.seal(conn, batch=batch)
        finally:
            await engine.dispose()

    assert asyncio.run(seal(audit.SEAL_CHUNK + 1)) == audit.SEAL_CHUNK + 1  # stops at the batch, mid-chunk
    assert asyncio.run(seal(5000)) == audit.SEAL_CHUNK + 6
    report = asyncio.run(_verify(fresh_db_url))
    assert report.ok and report.checked == 2 * audit.SEAL_CHUNK + 7 and report.unsealed == 0


def test_rows_cannot_be_updated_or_deleted(fresh_db_url: str) -> None:
    asyncio.run(_record(fresh_db_url, 2))
    asyncio.run(_seal(fresh_db_url))
    with psycopg.connect(libpq_url(fresh_db_url), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM audit_log")
        with pytest.raises(psycopg.errors.RaiseException, match="never changed"):
            conn.execute("UPDATE audit_log SET outcome = 'failure'")
        with pytest.raises(psycopg.errors.RaiseException, match="never changed"):
            conn.execute("UPDATE audit_log SET hash = 'x'")


def test_unfinished_transaction_is_sealed_after_it_commits(fresh_db_url: str) -> None:
    with psycopg.connect(libpq_url(fresh_db_url)) as open_tx:
        open_tx.execute("INSERT INTO audit_log (action, resource_type, outcome) VALUES ('slow', 'thing', 'success')")
        asyncio.run(_record(fresh_db_url, 3))
        # The open transaction's row is invisible to the sealer: the three committed rows are sealed first.
        assert asyncio.run(_seal(fresh_db_url)) == 3
        open_tx.commit()
    assert asyncio.run(_seal(fresh_db_url)) == 1
    assert asyncio.run(_verify(fresh_db_url)).ok


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_log SET outcome = 'failure' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 2",
        "UPDATE audit_log SET details = '{\"i\": 99}' WHERE seq = 4",
    ],
)
def test_cli_detects_edit_or_deletion(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, tamper: str) -> None:
    asyncio.run(_record(fresh_db_url, 5))
    monkeypatch.setenv("ESOZ_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("ESOZ_LOG_LEVEL", "WARNING")
    from esoz.settings import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        intact = runner.invoke(cli, ["audit", "verify"])
        assert intact.exit_code == 0, intact.output
        assert "intact: 5 sealed rows" in intact.output
        # A superuser can switch the guard off; the chain still tells.
        with psycopg.connect(libpq_url(fresh_db_url), autocommit=True) as conn:
            conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            conn.execute(tamper)
        broken = runner.invoke(cli, ["audit", "verify"])
        assert broken.exit_code == 1
        assert "BROKEN" in broken.output
    finally:
        get_settings.cache_clear()


# --- reads' audit rows in batches (ReadAuditBuffer) ----------------------------------------------------


def _count(pg: psycopg.Connection, action: str) -> int:
    return pg.execute("SELECT count(*) FROM audit_log WHERE action = %s", [action]).fetchone()[0]


async def _record_on(conn: object, action: str) -> None:
    await audit.record(conn, action=action, resource_type="thing", actor=Actor(user_id=uuid.uuid4()))  # type: ignore[arg-type]


async def test_read_rows_are_queued_then_written_in_one_insert(db_url: str, pg: psycopg.Connection) -> None:
    engine = make_engine(db_url, 2)
    buffer = audit.ReadAuditBuffer(engine, interval=60).start()  # flushed by hand below
    action = f"test.read.{uuid.uuid4().hex}"
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for _ in range(3):
                await _record_on(conn, action)
        assert buffer.pending == 3 and _count(pg, action) == 0
        assert await buffer.flush() == 3
        assert _count(pg, action) == 3
        # Rows of a transaction are never buffered: they commit or roll back with the business rows.
        async with engine.connect() as conn:
            trans = await conn.begin()
            await _record_on(conn, action + ".tx")
            assert buffer.pending == 0
            await trans.rollback()
        assert _count(pg, action + ".tx") == 0
    finally:
        await buffer.close()
        await engine.dispose()


async def test_the_buffer_flushes_on_its_own_and_on_close(db_url: str, pg: psycopg.Connection) -> None:
    engine = make_engine(db_url, 2)
    buffer = audit.ReadAuditBuffer(engine, interval=0.05).start()
    action = f"test.read.{uuid.uuid4().hex}"
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await _record_on(conn, action)
            for _ in range(100):
                if _count(pg, action) == 1:
                    break
                await asyncio.sleep(0.02)
            assert _count(pg, action) == 1
            buffer.interval = 60  # the next row waits for close()
            await asyncio.sleep(0.1)
            await _record_on(conn, action)
    finally:
        await buffer.close()
        await engine.dispose()
    assert _count(pg, action) == 2


async def test_a_failed_flush_keeps_the_rows_and_a_full_buffer_writes_synchronously(
    db_url: str, pg: psycopg.Connection
) -> None:
    engine = make_engine(db_url, 2)
    dead = make_engine("postgresql://postgres@127.0.0.1:1/nowhere", 1)
    buffer = audit.ReadAuditBuffer(engine, interval=60, max_pending=2).start()
    action = f"test.read.{uuid.uuid4().hex}"
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await _record_on(conn, action)
            await _record_on(conn, action)
            await _record_on(conn, action)  # over max_pending: written at once, with the read
            assert buffer.pending == 2 and _count(pg, action) == 1
            buffer.engine = dead  # the database cannot be written
            with pytest.raises(OSError):
                await buffer.flush()
            assert buffer.pending == 2
            buffer.engine = engine
            assert await buffer.flush() == 2
        assert _count(pg, action) == 3
    finally:
        await buffer.close()
        await engine.dispose()
        await dead.dispose()


def test_a_stopping_server_writes_the_reads_it_has_queued(
    live_server: type, settings: Settings, nhs_headers: dict[str, str], pg: psycopg.Connection
) -> None:
    request_id = f"audit-flush-{uuid.uuid4().hex}"
    params = {"first_name": "Ніхто", "last_name": "Ніхтенко", "birth_date": "1990-01-01"}
    with live_server(settings.model_copy(update={"audit_read_flush_ms": 10_000})) as live:
        response = httpx.get(
            f"{live.url}/api/persons", params=params, headers=nhs_headers | {"X-Request-Id": request_id}
        )
        assert response.status_code == 200 and response.json()["data"] == []
        row = "SELECT action FROM audit_log WHERE request_id = %s"
        assert pg.execute(row, [request_id]).fetchall() == []  # queued, not yet written
    assert pg.execute(row, [request_id]).fetchall() == [("person.search",)]
