"""The medical-events records as other modules read them: typed records, renders and look-ups by patient.

Writes live in episodes.py (episodes of care) and packages.py (the encounter package and its correction);
the reads and the access rule build on the functions here. Every look-up takes the patient: a record is
found only under the patient it belongs to.

Other domains ask here what they reference of a patient's medical events (a prescription's encounter). The
referrals domain sits above this one (it uses this domain's jobs and shapes), so the referral a medical event is
based on is looked up through the function referrals registers with `serve_referrals`.
"""

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.auth import AuthContext
from esoz.core.fastsql import FastQuery
from esoz.core.rows import RowLike, first
from esoz.medical_events.models import RECORD_TABLES, encounters, episodes
from esoz.medical_events.refs import reference

ENTERED_IN_ERROR = "entered_in_error"
# The key of the status inside each record's content (conditions and allergies: the verification status).
STATUS_FIELD = {
    "conditions": "verification_status",
    "allergy_intolerances": "verification_status",
    "observations": "status",
    "immunizations": "status",
    "diagnostic_reports": "status",
    "procedures": "status",
}
# Entity names of the status events and of the stored CMS.
ENTITY = {
    "episodes": "episode",
    "encounters": "encounter",
    "conditions": "condition",
    "observations": "observation",
    "immunizations": "immunization",
    "allergy_intolerances": "allergy_intolerance",
    "diagnostic_reports": "diagnostic_report",
    "procedures": "procedure",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeRecord:
    id: uuid.UUID
    person_id: uuid.UUID
    status: str
    type: str
    name: str
    legal_entity_id: uuid.UUID
    care_manager_id: uuid.UUID
    period_start: datetime
    period_end: datetime | None
    content: dict[str, Any]
    inserted_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class EncounterRecord:
    id: uuid.UUID
    person_id: uuid.UUID
    episode_id: uuid.UUID
    status: str
    legal_entity_id: uuid.UUID
    division_id: uuid.UUID | None
    performer_id: uuid.UUID
    encounter_class: str
    type: str
    incoming_referral_id: uuid.UUID | None
    period_start: datetime
    period_end: datetime | None
    content: dict[str, Any]
    inserted_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MedicalRecord:
    """A record an encounter package produced; `kind` is its table (`conditions`, `immunizations` ...)."""

    kind: str
    id: uuid.UUID
    person_id: uuid.UUID
    episode_id: uuid.UUID
    encounter_id: uuid.UUID
    status: str
    legal_entity_id: uuid.UUID
    author_id: uuid.UUID | None
    content: dict[str, Any]
    inserted_at: datetime
    updated_at: datetime


def episode_record(row: RowLike) -> EpisodeRecord:
    return EpisodeRecord(**{f: row[f] for f in EpisodeRecord.__slots__})


def encounter_record(row: RowLike) -> EncounterRecord:
    return EncounterRecord(**{f: row[f] for f in EncounterRecord.__slots__})


def medical_record(kind: str, row: RowLike) -> MedicalRecord:
    return MedicalRecord(kind=kind, **{f: row[f] for f in MedicalRecord.__slots__ if f != "kind"})


# --- renders: what the API returns ---------------------------------------------------------------------------


def render_episode(episode: EpisodeRecord) -> dict[str, Any]:
    """The episode as the API returns it: the request as accepted, its current status and period."""
    data = dict(episode.content)
    period: dict[str, Any] = {"start": episode.period_start.isoformat()}
    if episode.period_end is not None:
        period["end"] = episode.period_end.isoformat()
    data |= {
        "id": str(episode.id),
        "status": episode.status,
        "name": episode.name,
        "period": period,
        "care_manager": reference("employee", episode.care_manager_id),
        "managing_organization": reference("legal_entity", episode.legal_entity_id),
        "inserted_at": episode.inserted_at.isoformat(),
        "updated_at": episode.updated_at.isoformat(),
    }
    return data


def render_encounter(encounter: EncounterRecord) -> dict[str, Any]:
    """The encounter as signed, with its current status."""
    return dict(encounter.content) | {
        "id": str(encounter.id),
        "status": encounter.status,
        "inserted_at": encounter.inserted_at.isoformat(),
        "updated_at": encounter.updated_at.isoformat(),
    }


def render_record(record: MedicalRecord) -> dict[str, Any]:
    """A record as signed, with its current status (conditions, allergies: `verification_status`)."""
    return dict(record.content) | {
        "id": str(record.id),
        STATUS_FIELD[record.kind]: record.status,
        "inserted_at": record.inserted_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
    }


# --- look-ups --------------------------------------------------------------------------------------------------


def _by_person_and_id(table: Table, lock: bool) -> FastQuery:
    stmt = select(table).where(table.c.person_id == bindparam("person_id"), table.c.id == bindparam("id_"))
    return FastQuery(stmt.with_for_update() if lock else stmt)


_GET: dict[tuple[str, bool], FastQuery] = {
    (name, lock): _by_person_and_id(table, lock)
    for name, table in {"episodes": episodes, "encounters": encounters, **RECORD_TABLES}.items()
    for lock in (False, True)
}


async def _row(
    conn: AsyncConnection, kind: str, person_id: uuid.UUID, id_: uuid.UUID, lock: bool = False
) -> Mapping[str, Any] | None:
    return await first(_GET[kind, lock], conn, person_id=person_id, id_=id_)


async def get_episode(
    conn: AsyncConnection, *, person_id: uuid.UUID, episode_id: uuid.UUID, lock: bool = False
) -> EpisodeRecord | None:
    row = await _row(conn, "episodes", person_id, episode_id, lock)
    return None if row is None else episode_record(row)


async def get_encounter(
    conn: AsyncConnection, *, person_id: uuid.UUID, encounter_id: uuid.UUID, lock: bool = False
) -> EncounterRecord | None:
    row = await _row(conn, "encounters", person_id, encounter_id, lock)
    return None if row is None else encounter_record(row)


async def get_record(
    conn: AsyncConnection, *, kind: str, person_id: uuid.UUID, record_id: uuid.UUID, lock: bool = False
) -> MedicalRecord | None:
    """A record of `kind` (a key of models.RECORD_TABLES) of the patient; None when there is none."""
    row = await _row(conn, kind, person_id, record_id, lock)
    return None if row is None else medical_record(kind, row)


async def existing_ids(
    conn: AsyncConnection, *, kind: str, person_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of `ids` the patient already has among the records of `kind` (one statement for a package)."""
    if not ids:
        return set()
    table = RECORD_TABLES[kind]
    rows = await conn.execute(select(table.c.id).where(table.c.person_id == person_id, table.c.id.in_(list(ids))))
    return {r[0] for r in rows}


async def episode_of(
    conn: AsyncConnection, *, kind: str, person_id: uuid.UUID, record_id: uuid.UUID
) -> uuid.UUID | None:
    """The episode an encounter (`kind` "encounters") or a record belongs to; None when there is no such row.
    An approval for one episode opens the records this answers that episode for."""
    table = encounters if kind == "encounters" else RECORD_TABLES[kind]
    row = (
        await conn.execute(select(table.c.episode_id).where(table.c.person_id == person_id, table.c.id == record_id))
    ).first()
    return None if row is None else row[0]


async def records_of_encounter(
    conn: AsyncConnection, *, person_id: uuid.UUID, encounter_id: uuid.UUID, lock: bool = False
) -> list[MedicalRecord]:
    """Every record the encounter's package produced, by kind in the package's order."""
    out: list[MedicalRecord] = []
    for kind, table in RECORD_TABLES.items():
        stmt = (
            select(table)
            .where(table.c.person_id == person_id, table.c.encounter_id == encounter_id)
            .order_by(table.c.inserted_at, table.c.id)
        )
        rows = (await conn.execute(stmt.with_for_update() if lock else stmt)).mappings().all()
        out += [medical_record(kind, r) for r in rows]
    return out


async def authors_of_person(conn: AsyncConnection, *, person_id: uuid.UUID) -> set[uuid.UUID]:
    """The employees who wrote any of the patient's medical records: care managers of the episodes, performers
    of the encounters, asserters / performers / recorders of the records (the authors the access rule lets read)."""
    parts = [
        select(episodes.c.care_manager_id.label("employee_id")).where(episodes.c.person_id == person_id),
        select(encounters.c.performer_id).where(encounters.c.person_id == person_id),
        *(
            select(t.c.author_id).where(t.c.person_id == person_id, t.c.author_id.is_not(None))
            for t in RECORD_TABLES.values()
        ),
    ]
    rows = (await conn.execute(union(*parts))).all()
    return {r[0] for r in rows}


async def is_author(conn: AsyncConnection, *, person_id: uuid.UUID, employee_ids: set[uuid.UUID]) -> bool:
    """Whether any of `employee_ids` wrote one of the patient's medical records."""
    return bool(employee_ids & await authors_of_person(conn, person_id=person_id))


# --- what other domains reference ---------------------------------------------------------------------------

_ENCOUNTER_REF = FastQuery(
    select(encounters.c.id, encounters.c.person_id, encounters.c.episode_id, encounters.c.status).where(
        encounters.c.person_id == bindparam("person_id"), encounters.c.id == bindparam("id_")
    )
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EncounterRef:
    """What another domain asks of an encounter it references (a prescription's `context`)."""

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
    row = await _ENCOUNTER_REF.first(conn, person_id=person_id, id_=encounter_id)
    if row is None:
        return None
    return EncounterRef(id=row.id, person_id=row.person_id, episode_id=row.episode_id, status=row.status)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralRef:
    """What a medical event asks of the referral (service request) it names: that the caller may see it as the
    patient's, and its status."""

    id: uuid.UUID
    status: str

    @property
    def active(self) -> bool:
        return self.status not in ("recalled", ENTERED_IN_ERROR)


class ReferralLookup(Protocol):
    async def __call__(
        self, conn: AsyncConnection, *, auth: AuthContext, person_id: uuid.UUID, referral_id: uuid.UUID
    ) -> ReferralRef | None: ...


_referral_lookups: list[ReferralLookup] = []


def serve_referrals(lookup: ReferralLookup) -> None:
    """Called by the referrals domain when it is loaded; a later call replaces the earlier one."""
    _referral_lookups[:] = [lookup]


async def referral_of_person(
    conn: AsyncConnection, *, auth: AuthContext, person_id: uuid.UUID, referral_id: uuid.UUID
) -> ReferralRef | None:
    """The patient's referral as the caller may see it; None when there is none (or it is another patient's)."""
    if not _referral_lookups:
        raise RuntimeError("esoz.referrals is not loaded: nothing answers referral look-ups")
    return await _referral_lookups[0](conn, auth=auth, person_id=person_id, referral_id=referral_id)
