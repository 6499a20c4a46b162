"""Where a person id leads: a merged-away record leads to its survivor while the merge stands.

Kept apart from mpi.py (which terminates declarations on a merge) so that the registry's reads can follow a
merge without importing the merge itself.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.registry.models import person_merges

MAX_CHAIN = 10  # merges chain rarely; a bound keeps a bad chain from looping


async def merged_into(conn: AsyncConnection, *, person_id: uuid.UUID) -> uuid.UUID | None:
    """The survivor a merged-away person leads to (following chains of merges), or None."""
    survivor: uuid.UUID | None = None
    current = person_id
    for _ in range(MAX_CHAIN):
        master = (
            await conn.execute(
                select(person_merges.c.master_person_id).where(
                    person_merges.c.person_id == current, person_merges.c.undone_at.is_(None)
                )
            )
        ).scalar()
        if master is None:
            break
        survivor = current = master
    return survivor


async def current_id(conn: AsyncConnection, *, person_id: uuid.UUID) -> uuid.UUID:
    """The id to read for `person_id`: its survivor when merged away, else itself."""
    return await merged_into(conn, person_id=person_id) or person_id
