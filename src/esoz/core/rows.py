"""Fetching one row by id (within the caller's legal entity), the way every domain's reads and actions do.

The by-id statements are built and compiled once per table and variant and run through core.fastsql: built
per call, SQLAlchemy would re-derive their cache key and run its execute path on every request
(bench/README.md). Rows come back as plain mappings whichever path FastQuery took.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import NotFound
from esoz.core.fastsql import FastQuery

# A row as the domains read it: a mapping from this module (FastQuery's rows) or SQLAlchemy's `.mappings()` rows,
# whose keys may also be columns (so it is no Mapping[str, Any]).
RowLike = Mapping[str, Any] | RowMapping

_BY_ID: dict[tuple[Table, bool, bool], FastQuery] = {}


def by_id(table: Table, *, scoped: bool = False, lock: bool = False) -> FastQuery:
    """`SELECT table.* WHERE id = :id_` (`AND legal_entity_id = :legal_entity_id` when scoped; FOR UPDATE)."""
    key = (table, scoped, lock)
    query = _BY_ID.get(key)
    if query is None:
        stmt = select(table).where(table.c.id == bindparam("id_"))
        if scoped:
            stmt = stmt.where(table.c.legal_entity_id == bindparam("legal_entity_id"))
        if lock:
            stmt = stmt.with_for_update()
        query = _BY_ID[key] = FastQuery(stmt)
    return query


async def first(query: FastQuery, conn: AsyncConnection, **params: Any) -> Mapping[str, Any] | None:
    """The first row as a mapping (keys iterate, `in` tests keys), like `.mappings().first()`.

    FastQuery's rows iterate over values like SQLAlchemy's `Row`; callers written for `.mappings()` get a dict.
    """
    row = await query.first(conn, **params)
    return None if row is None else row._mapping


async def all_rows(query: FastQuery, conn: AsyncConnection, **params: Any) -> list[Mapping[str, Any]]:
    """Every row as a mapping, like `.mappings().all()`."""
    return [row._mapping for row in await query.fetch(conn, **params)]


async def get_row_by_id(
    conn: AsyncConnection, table: Table, id_: uuid.UUID, lock: bool = False
) -> Mapping[str, Any] | None:
    return await first(by_id(table, lock=lock), conn, id_=id_)


async def get_scoped_row(
    conn: AsyncConnection,
    table: Table,
    id_: uuid.UUID,
    message: str,
    *,
    legal_entity_filter: uuid.UUID | None = None,
    lock: bool = False,
) -> Mapping[str, Any]:
    """The row, or 404 with `message` — also when it belongs to another legal entity (its existence stays hidden)."""
    if legal_entity_filter is not None:
        row = await first(by_id(table, scoped=True, lock=lock), conn, id_=id_, legal_entity_id=legal_entity_filter)
    else:
        row = await first(by_id(table, lock=lock), conn, id_=id_)
    if row is None:
        raise NotFound(message)
    return row
