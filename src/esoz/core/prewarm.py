"""Read the hot indexes into memory before a node takes traffic (`esoz db prewarm`).

After a restart or a failover every first read of an index page is a disk read: on ten million patients the MIS
hot reads answered at p95 132 ms for their first 30 s instead of 4.5 ms (bench/README.md). `pg_prewarm` reads
the indexes those reads descend, in order, at disk speed, before the first request waits for them.
"""

import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# The indexes (and the small tables) of the MIS hot reads: person search, a person's declaration, a declaration
# by id, prescription by number, referral by requisition, the event poll. About 2.3 GB at ten million patients.
HOT_RELATIONS = (
    "ix_persons_search",
    "pk_persons",
    "uq_declarations_person_id_active",
    "pk_declarations",
    "ix_medication_requests_request_number",
    "medication_requests",
    "ix_service_requests_requisition",
    "ix_events_legal_entity_id_event_time",
    "events",
)


class UnknownRelation(ValueError):
    pass


@dataclass(frozen=True, kw_only=True)
class Warmed:
    relation: str
    blocks: int
    seconds: float


async def prewarm(conn: AsyncConnection, *, relations: tuple[str, ...] = HOT_RELATIONS) -> list[Warmed]:
    """pg_prewarm each relation into the operating system's page cache ('read': shared_buffers is usually far
    smaller than the hot set and would evict its own start); the extension is created if missing (on a primary)."""
    exists = text("SELECT to_regclass(r) IS NOT NULL FROM unnest(CAST(:r AS text[])) AS r")
    found = (await conn.execute(exists, {"r": list(relations)})).scalars().all()
    if missing := [rel for rel, ok in zip(relations, found, strict=True) if not ok]:
        raise UnknownRelation(f"no such relation: {', '.join(missing)}")
    installed = (await conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'"))).first()
    if installed is None:
        # A replica gets the extension from its primary; there this statement would fail read-only.
        await conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
    warmed = []
    for relation in relations:
        started = time.perf_counter()
        blocks = (
            await conn.execute(text("SELECT pg_prewarm(CAST(:rel AS regclass), 'read')"), {"rel": relation})
        ).scalar_one()
        warmed.append(Warmed(relation=relation, blocks=int(blocks), seconds=time.perf_counter() - started))
    return warmed
