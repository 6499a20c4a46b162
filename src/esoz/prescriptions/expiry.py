"""The domain's expiry crons (drafts, prescriptions, dispenses) share one shape: lock a batch, expire it,
record the status changes — one INSERT of events per legal entity rather than one per row."""

from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.events import service as event_service
from esoz.prescriptions.common import SYSTEM_USER


async def expire_batch(
    conn: AsyncConnection,
    table: Table,
    *,
    entity_type: str,
    due: ColumnElement[bool],
    batch: int,
    **values: Any,
) -> int:
    """Rows matching `due` (at most `batch`, skipping those another worker holds) become EXPIRED with `values`."""
    rows = (
        await conn.execute(
            select(table.c.id, table.c.legal_entity_id).where(due).limit(batch).with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return 0
    await conn.execute(
        table.update()
        .where(table.c.id.in_([r.id for r in rows]))
        .values(status="EXPIRED", updated_at=clock.now(), updated_by=SYSTEM_USER, **values)
    )
    by_legal_entity: dict[Any, list[Any]] = defaultdict(list)
    for r in rows:
        by_legal_entity[r.legal_entity_id].append(r.id)
    for legal_entity_id, ids in by_legal_entity.items():
        await event_service.record_status_changes(
            conn,
            entity_type=entity_type,
            entity_ids=ids,
            new_status="EXPIRED",
            changed_by=SYSTEM_USER,
            legal_entity_id=legal_entity_id,
        )
    return len(rows)
