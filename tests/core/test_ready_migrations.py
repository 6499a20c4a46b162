"""`/ready` knows whether the schema is current by ancestry, not by comparing the version table with the heads."""

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
