"""The migration creates exactly the authentication method requests table models.py describes, and the index that
keeps the look-ups of a method (who else confirms with a phone) off a scan of every person."""

from typing import Any

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from esoz.core.db import libpq_url, metadata
from esoz.registry.models import authentication_method_requests

TABLES = {authentication_method_requests.name}


def test_migration_matches_the_model(db_url: str) -> None:
    engine = create_engine("postgresql+psycopg://" + libpq_url(db_url).split("://", 1)[1])

    def include_name(name: str | None, type_: str, parent: Any) -> bool:
        return name in TABLES if type_ == "table" else True

    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
            diffs = [d for d in compare_metadata(context, metadata) if _concerns_ours(d)]
    finally:
        engine.dispose()
    assert diffs == []


def test_a_phone_look_up_uses_the_index(pg: psycopg.Connection) -> None:
    definition = pg.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_persons_authentication_methods'"
    ).fetchone()
    assert definition is not None and "gin (authentication_methods jsonb_path_ops)" in definition[0]


def _concerns_ours(diff: Any) -> bool:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if getattr(table, "name", None) in TABLES or getattr(part, "name", None) in TABLES or part in TABLES:
            return True
    return False
