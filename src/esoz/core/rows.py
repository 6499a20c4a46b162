"""Fetching one row by id within the caller's legal entity, the way every domain's reads and actions do."""

import uuid

from sqlalchemy import Table, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import NotFound


async def get_scoped_row(
    conn: AsyncConnection,
    table: Table,
    id_: uuid.UUID,
    message: str,
    *,
    legal_entity_filter: uuid.UUID | None = None,
    lock: bool = False,
) -> RowMapping:
    """The row, or 404 with `message` — also when it belongs to another legal entity (its existence stays hidden)."""
    query = select(table).where(table.c.id == id_)
    if legal_entity_filter is not None:
        query = query.where(table.c.legal_entity_id == legal_entity_filter)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(message)
    return row
