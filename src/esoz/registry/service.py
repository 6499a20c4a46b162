"""Registry business rules (no HTTP)."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.registry.models import dictionaries


async def list_dictionaries(
    conn: AsyncConnection, name: str | None = None, is_active: bool | None = None
) -> list[dict[str, Any]]:
    query = select(dictionaries).order_by(dictionaries.c.name)
    if name is not None:
        query = query.where(dictionaries.c.name == name)
    if is_active is not None:
        query = query.where(dictionaries.c.is_active == is_active)
    return [dict(row._mapping) for row in await conn.execute(query)]
