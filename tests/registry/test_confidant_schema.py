"""The migration creates exactly the confidant tables confidant_models.py describes (no drift between the two)."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from esoz.core.db import libpq_url, metadata
from esoz.registry.confidant_models import confidant_relationship_requests, confidant_relationships

TABLES = {confidant_relationship_requests.name, confidant_relationships.name}


def test_migration_matches_the_models(db_url: str) -> None:
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


def _concerns_ours(diff: Any) -> bool:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if getattr(table, "name", None) in TABLES or getattr(part, "name", None) in TABLES or part in TABLES:
            return True
    return False
