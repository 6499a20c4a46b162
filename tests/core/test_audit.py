"""The audit log: append-only, sealed in commit order, and tamper-evident."""

import asyncio
import uuid

import psycopg
import pytest
from typer.testing import CliRunner

from esoz.cli import app as cli
from esoz.core import audit
from esoz.core.audit import Actor
from esoz.core.db import libpq_url, make_engine


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
