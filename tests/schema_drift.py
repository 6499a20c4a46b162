"""The migrations against models.py: what alembic's autogenerate finds between the migrated test database and the
SQLAlchemy tables of one domain (a table, column, type or index on one side only)."""

from collections.abc import Iterable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, create_engine

from esoz.core.db import libpq_url, metadata


def drift(db_url: str, tables: Iterable[Table]) -> list[Any]:
    """The differences that concern `tables`; [] when the migrations create exactly what the models describe."""
    mine = {t.name for t in tables}
    engine = create_engine("postgresql+psycopg://" + libpq_url(db_url).split("://", 1)[1])

    def include_name(name: str | None, type_: str, parent: Any) -> bool:
        if type_ == "table":
            return name in mine
        return parent.get("table_name") in mine if isinstance(parent, dict) and "table_name" in parent else True

    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
            return [d for d in compare_metadata(context, metadata) if _table_of(d, mine) in mine]
    finally:
        engine.dispose()


def _table_of(diff: Any, mine: set[str]) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        if isinstance(part, Table):
            return part.name
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str) and part in mine:
            return part
    return None
