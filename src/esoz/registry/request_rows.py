"""The rows of the registry's requests (person, declaration, confidant, authentication method requests): found for
the legal entity that made them, and moved from one status to the next. Each flow adds its own audit and events."""

import uuid
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.auth import AuthContext
from esoz.core.errors import NotFound


async def visible(
    conn: AsyncConnection,
    table: Table,
    *,
    id_: uuid.UUID,
    auth: AuthContext,
    not_found: str,
    lock: bool = False,
    person_id: uuid.UUID | None = None,
) -> RowMapping:
    """The request made by the caller's legal entity (НСЗУ sees every one), of `person_id` when given; 404 with
    `not_found` otherwise, so another clinic's request looks the same as none."""
    query = select(table).where(table.c.id == id_)
    if person_id is not None:
        query = query.where(table.c.person_id == person_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    if row is None or (auth.legal_entity_filter is not None and row["legal_entity_id"] != auth.legal_entity_id):
        raise NotFound(not_found)
    return row


async def set_status(
    conn: AsyncConnection, table: Table, row: RowMapping, status: str, *, user: uuid.UUID | None, **values: Any
) -> RowMapping:
    """The request in its new status (and `values`), stamped with who and when; the updated row."""
    stmt = (
        table.update()
        .where(table.c.id == row["id"])
        .values(status=status, updated_at=clock.now(), updated_by=user, **values)
        .returning(*table.c)
    )
    return (await conn.execute(stmt)).mappings().one()
