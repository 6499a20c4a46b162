"""Runs the Alembic migrations in `migrations/` and reports whether a database is current."""

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.db import async_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revisions() -> set[str]:
    return set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


@functools.cache
def _scripts() -> ScriptDirectory:
    """Parsed once per process: readiness probes ask every second, the scripts do not change under a process."""
    return ScriptDirectory(str(MIGRATIONS_DIR))


def missing_heads(current: set[str]) -> set[str]:
    """The heads of the migration scripts the database has not reached.

    Not `current == heads`: a revision that another one `depends_on` is a head of the scripts but leaves the
    version table once its dependant is applied, so the comparison is by ancestry.
    """
    script = _scripts()
    try:
        applied = {r.revision for r in script.iterate_revisions(tuple(current), "base") if r is not None}
    except Exception:  # a revision this code does not know (the database is ahead of it): not current either
        return set(script.get_heads())
    return set(script.get_heads()) - applied


async def current_revisions(conn: AsyncConnection) -> set[str]:
    rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
    return {r[0] for r in rows}
