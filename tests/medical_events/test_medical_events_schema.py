"""The migration creates exactly the tables models.py describes (no drift between the two)."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from esoz.core.db import libpq_url, metadata
from esoz.medical_events.models import TABLES

MINE = {t.name for t in TABLES}


def test_migration_matches_the_models(db_url: str) -> None:
    engine = create_engine("postgresql+psycopg://" + libpq_url(db_url).split("://", 1)[1])

    def include_name(name: str | None, type_: str, parent: Any) -> bool:
        if type_ == "table":
            return name in MINE
        return parent.get("table_name") in MINE if isinstance(parent, dict) and "table_name" in parent else True

    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
            diffs = [d for d in compare_metadata(context, metadata) if _table_of(d) in MINE]
    finally:
        engine.dispose()
    assert diffs == []


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if isinstance(part, str) and part in MINE:
            return part
    return None
