"""How many medical records were created, per Kyiv month, type and legal entity: what the dashboards' records
by type show, read here so that analytics never reads this domain's tables.

A package's records are created with its encounter and counted with it: the feed has one `Encounter` event per
package (packages.py), and an episode one `Episode` event when it opens. A record counts once, whatever its
status later (cancelled records stay records, as cancelled prescriptions do).
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.medical_events.models import RECORD_TABLES, encounters, episodes
from esoz.medical_events.service import ENTITY

# The record types the counts name, in the order dashboards show them.
KINDS: tuple[str, ...] = ("episode", "encounter", *(ENTITY[t] for t in RECORD_TABLES))
# The status events that create them: (entity_type, new status).
CREATING_EVENTS = {("Episode", "active"): "episode", ("Encounter", "finished"): "encounter"}

_MONTH = "date_trunc('month', {}.inserted_at AT TIME ZONE 'Europe/Kyiv')::date"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordCount:
    month: date  # the Kyiv month the record was stored in
    kind: str  # one of KINDS
    legal_entity_id: uuid.UUID
    n: int


def _parts(by_ids: bool) -> tuple[str, str]:
    """(episodes' query, encounters' and their records' query); `:episode_ids` / `:encounter_ids` when by_ids."""
    ep_where = "WHERE t.id = ANY(:episode_ids)" if by_ids else ""
    enc_where = "WHERE id = ANY(:encounter_ids)" if by_ids else ""
    episodes_sql = (
        f"SELECT {_MONTH.format('t')} AS month, 'episode' AS kind, t.legal_entity_id, count(*) AS n"
        f" FROM {episodes.name} t {ep_where} GROUP BY 1, 3"
    )
    records = [
        f"SELECT {_MONTH.format('e')} AS month, 'encounter' AS kind, e.legal_entity_id, count(*) AS n FROM e"
        " GROUP BY 1, 3"
    ]
    for table_name, table in RECORD_TABLES.items():
        # Joined on the patient's key (person_id, encounter_id): every record index starts with person_id.
        join = f"FROM {table.name} t"
        if by_ids:
            join = f"FROM e JOIN {table.name} t ON t.person_id = e.person_id AND t.encounter_id = e.id"
        records.append(
            f"SELECT {_MONTH.format('t')} AS month, '{ENTITY[table_name]}' AS kind, t.legal_entity_id,"
            f" count(*) AS n {join} GROUP BY 1, 3"
        )
    encounters_sql = (
        f"WITH e AS (SELECT person_id, id, legal_entity_id, inserted_at FROM {encounters.name} {enc_where}) "
        + " UNION ALL ".join(records)
    )
    return episodes_sql, encounters_sql


_BY_IDS = _parts(True)
_ALL = _parts(False)


async def created_counts(
    conn: AsyncConnection, *, episode_ids: Sequence[uuid.UUID] = (), encounter_ids: Sequence[uuid.UUID] = ()
) -> list[RecordCount]:
    """The records the given episodes and encounters created: the episodes, the encounters and every record of
    the encounters' packages. Ids of no such row count nothing."""
    out: list[RecordCount] = []
    episodes_sql, encounters_sql = _BY_IDS
    ids_type = ARRAY(UUID(as_uuid=True))
    if episode_ids:
        stmt = text(episodes_sql).bindparams(bindparam("episode_ids", type_=ids_type))
        out += _counts(await conn.execute(stmt, {"episode_ids": list(episode_ids)}))
    if encounter_ids:
        stmt = text(encounters_sql).bindparams(bindparam("encounter_ids", type_=ids_type))
        out += _counts(await conn.execute(stmt, {"encounter_ids": list(encounter_ids)}))
    return out


async def all_counts(conn: AsyncConnection) -> list[RecordCount]:
    """Every medical record there is, counted as created_counts counts them (for a rebuild of the rollups)."""
    out: list[RecordCount] = []
    for sql in _ALL:
        out += _counts(await conn.execute(text(sql)))
    return out


def _counts(rows: Iterable[Any]) -> list[RecordCount]:
    return [RecordCount(month=r.month, kind=r.kind, legal_entity_id=r.legal_entity_id, n=int(r.n)) for r in rows]
