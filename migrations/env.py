"""Alembic environment: runs migrations over the asyncpg engine esoz itself uses."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `esoz db upgrade`")

try:
    asyncio.get_running_loop()
except RuntimeError:
    asyncio.run(_main())
else:  # called from inside a running loop (e.g. tests): run in a fresh thread's loop
    import threading

    thread = threading.Thread(target=lambda: asyncio.run(_main()))
    thread.start()
    thread.join()
