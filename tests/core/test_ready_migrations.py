"""`/ready` knows whether the schema is current by ancestry, not by comparing the version table with the heads."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from esoz.core.db import libpq_url
from esoz.core.migrations import head_revisions, missing_heads
from esoz.settings import Settings


def test_a_migrated_database_is_current_even_where_a_head_was_absorbed_by_a_dependant(db_url: str) -> None:
    with psycopg.connect(libpq_url(db_url)) as conn:
        current = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
    assert missing_heads(current) == set()
    # every head is either in the version table or an ancestor (down revision or dependency) of one that is
    assert current <= head_revisions()


def test_ready_names_the_heads_not_applied(live_server, settings: Settings, fresh_db_url: str) -> None:
    with psycopg.connect(libpq_url(fresh_db_url), autocommit=True) as conn:
        conn.execute("DELETE FROM alembic_version WHERE version_num = '0005_status'")
    own = settings.model_copy(update={"database_url": fresh_db_url, "inprocess_worker": False})
    with live_server(own) as live:
        answer = httpx.get(live.url + "/ready")
    assert answer.status_code == 503
    assert answer.json()["data"]["checks"]["migrations"] == "behind: ['0005_status'] not applied"
    assert missing_heads({"no_such_revision"}) == head_revisions()


def test_ready_answers_while_every_api_connection_is_busy(live_server, settings: Settings, db_url: str) -> None:
    """A busy node is not an unhealthy one: the probe has a connection of its own."""
    own = settings.model_copy(update={"db_pool_size": 2, "inprocess_worker": False})
    with live_server(own) as live, psycopg.connect(libpq_url(db_url)) as locker:
        # the dictionaries' table locked: reads of it hold the API pool's two connections until the lock goes
        locker.execute("LOCK TABLE dictionaries IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(2) as pool:
            stuck = [pool.submit(httpx.get, live.url + "/api/dictionaries", timeout=60) for _ in range(2)]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                waiting = locker.execute(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'dictionaries'::regclass AND NOT granted"
                ).fetchone()
                if waiting == (2,):
                    break
                time.sleep(0.05)
            assert waiting == (2,), "the reads never reached the lock"
            answer = httpx.get(live.url + "/ready", timeout=5)
            assert answer.status_code == 200
            assert answer.json()["data"]["checks"]["database"] == "ok"
            locker.rollback()
            assert [f.result().status_code for f in stuck] == [200, 200]
