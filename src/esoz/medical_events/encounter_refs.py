"""What another domain asks of an encounter it references (a prescription's `context`): that it is the patient's,
its status and its episode.

Kept apart from service.py so that it depends on this domain's tables alone: the prescriptions domain imports it,
and must not reach, through it, what service.py imports from the referrals domain.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.fastsql import FastQuery
from esoz.medical_events.models import encounters

ENTERED_IN_ERROR = "entered_in_error"

_ENCOUNTER = FastQuery(
    select(encounters.c.id, encounters.c.person_id, encounters.c.episode_id, encounters.c.status).where(
        encounters.c.person_id == bindparam("person_id"), encounters.c.id == bindparam("id_")
    )
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EncounterRef:
    id: uuid.UUID
    person_id: uuid.UUID
    episode_id: uuid.UUID
    status: str

    @property
    def entered_in_error(self) -> bool:
        return self.status == ENTERED_IN_ERROR


async def encounter_of_person(
    conn: AsyncConnection, *, person_id: uuid.UUID, encounter_id: uuid.UUID
) -> EncounterRef | None:
    """The patient's encounter; None when there is none (or it is another patient's)."""
    row = await _ENCOUNTER.first(conn, person_id=person_id, id_=encounter_id)
    if row is None:
        return None
    return EncounterRef(id=row.id, person_id=row.person_id, episode_id=row.episode_id, status=row.status)
