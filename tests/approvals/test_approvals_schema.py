"""The migration creates exactly the table models.py describes (no drift between the two)."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from esoz.approvals.models import approvals
from esoz.core.db import libpq_url, metadata


def test_migration_matches_the_model(db_url: str) -> None:
    engine = create_engine("postgresql+psycopg://" + libpq_url(db_url).split("://", 1)[1])

    def include_name(name: str | None, type_: str, parent: Any) -> bool:
        if type_ == "table":
            return name == approvals.name
        return True

    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
            diffs = [d for d in compare_metadata(context, metadata) if _concerns_approvals(d)]
    finally:
        engine.dispose()
    assert diffs == []


def _concerns_approvals(diff: Any) -> bool:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if getattr(table, "name", None) == approvals.name or getattr(part, "name", None) == approvals.name:
            return True
        if part == approvals.name:
            return True
    return False
