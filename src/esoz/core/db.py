"""Engine, connections and the FastAPI dependencies that hand them to routes.

Reads run in AUTOCOMMIT (no BEGIN/ROLLBACK round trips per use); writes run in one transaction
that commits after the route returns, so business rows, audit rows and outbox rows land together.
"""

from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from esoz.core.replica import caller_key, replica_of

# Stable constraint names so Alembic migrations can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def async_url(url: str) -> str:
    """Turn any libpq-style PostgreSQL URL into the SQLAlchemy asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def libpq_url(url: str) -> str:
    """The plain `postgresql://` form, for psycopg, psql and asyncpg.connect."""
    return "postgresql://" + url.split("://", 1)[1]


def _json_dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(
    url: str, pool_size: int = 10, max_overflow: int | None = None, *, pgbouncer: bool = False, pre_ping: bool = False
) -> AsyncEngine:
    """max_overflow: extra connections opened when the pool is empty and closed again on return (default
    pool_size); 0 for a pool whose users never hold one connection while waiting for another (no churn).

    pgbouncer: the URL is a PgBouncer in transaction mode, where consecutive transactions of one client may run on
    different server connections, so no statement may stay prepared on the server between them: asyncpg's and
    SQLAlchemy's statement caches are off (every statement is prepared unnamed, within its own exchange).

    pre_ping: test a pooled connection before handing it out (one short round trip), for a server that may go away
    while the service stays up (a read replica, whose readers fall back to the primary)."""
    statement_cache = 0 if pgbouncer else 500
    return create_async_engine(
        async_url(url) + ("?prepared_statement_cache_size=0" if pgbouncer else ""),
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=pre_ping,
        pool_reset_on_return=None,  # every unit of work ends with COMMIT/ROLLBACK itself
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        # asyncpg's per-connection cache of prepared statements (core.fastsql's hot reads) holds 100 by default;
        # the request paths use more than half of that already, and an evicted statement is parsed again.
        connect_args={"statement_cache_size": statement_cache},
    )


def is_autocommit(conn: AsyncConnection) -> bool:
    """A ReadConn (or the gate's connection): each statement commits on its own, there is no transaction to join."""
    sync = conn.sync_connection
    return sync is not None and sync.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def engine_of(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine  # set by create_app's lifespan
    return engine


async def read_conn(request: Request) -> AsyncIterator[AsyncConnection]:
    async with engine_of(request).connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


async def write_conn(request: Request) -> AsyncIterator[AsyncConnection]:
    async with engine_of(request).begin() as conn:
        yield conn
    replica = replica_of(request)
    if replica is not None:  # committed: this caller's next reads see it (read-your-writes)
        replica.wrote(caller_key(request))


ReadConn = Annotated[AsyncConnection, Depends(read_conn, scope="function")]
WriteConn = Annotated[AsyncConnection, Depends(write_conn, scope="function")]
