"""Reads of a patient's medical records: lists with the contract's filters, one record, its context, the records
of one episode, and the patient summary.

Each record is answered as the contract resource stored with it (`content`), with the row's own id, status and
times laid over it (the columns are what a cancellation updates). Lists are newest first and page-numbered; every
filter the contract documents is applied (on a column, or on the stored resource for references the columns do
not carry). Who may read what is access.py's; the summary shows only what the real system's summary shows.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, false, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.auth import AuthContext
from esoz.core.errors import ApiError
from esoz.core.pagination import PageParams, total_from_page
from esoz.core.rows import RowLike
from esoz.medical_events import access
from esoz.medical_events.models import (
    allergy_intolerances,
    conditions,
    diagnostic_reports,
    encounters,
    episodes,
    immunizations,
    observations,
    procedures,
)
from esoz.medical_events.refs import concept, reference
from esoz.medical_events.service import (
    encounter_record,
    episode_record,
    medical_record,
    render_encounter,
    render_episode,
    render_record,
)
from esoz.registry.repository import get_clinician, get_person, speciality_of

# The real summary shows these codes only (its SUMMARY_CONDITIONS_ALLOWED and SUMMARY_OBSERVATIONS_ALLOWED): the
# summary is open to any doctor without the patient's approval, so it carries nothing sensitive. The diagnoses of
# the active episodes are filtered by the same condition codes; no diagnostic report is shown.
SUMMARY_CONDITION_CODES = ("R80",)
SUMMARY_OBSERVATION_CODES = ("8310-5", "8462-4", "8480-6", "80319-7")


SPECIALITY_TYPE = "SPECIALITY_TYPE"
_NOBODY = uuid.UUID(int=0)


def not_found(message: str) -> ApiError:
    """The medical-events 404: the contract documents `NOT_FOUND` (upper case) for these endpoints."""
    return ApiError(404, "NOT_FOUND", message)


# --- how a filter applies --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Eq:
    """The column equals the value."""

    column: str


@dataclass(frozen=True, slots=True)
class DayFrom:
    """The timestamp column is on the day or later (days are UTC)."""

    column: str


@dataclass(frozen=True, slots=True)
class DayTo:
    """The timestamp column is on the day or earlier."""

    column: str


@dataclass(frozen=True, slots=True)
class Holds:
    """The stored resource holds the value at `path` ("[]" marks a list: any item matches): JSONB containment."""

    path: tuple[str, ...]


Filter = Eq | DayFrom | DayTo | Holds


def ref(*field: str) -> Holds:
    """A reference field (`{"identifier": {"value": <id>}}`), or a list of them when the path ends with "[]"."""
    return Holds((*field, "identifier", "value"))


def coded(*field: str) -> Holds:
    """A codeable concept's code (`{"coding": [{"code": <code>}]}`)."""
    return Holds((*field, "coding", "[]", "code"))


def _nest(path: Sequence[str], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == "[]":
        return [_nest(rest, value)]
    return {head: _nest(rest, value)}


def _day(value: date) -> datetime:
    return datetime.combine(value, time.min, UTC)


def _condition(table: Table, rule: Filter, value: Any) -> ColumnElement[bool]:
    if isinstance(rule, Eq):
        equals: ColumnElement[bool] = table.c[rule.column] == value
        return equals
    if isinstance(rule, DayFrom):
        return table.c[rule.column] >= _day(value)
    if isinstance(rule, DayTo):
        return table.c[rule.column] < _day(value + timedelta(days=1))
    contains: ColumnElement[bool] = table.c.content.contains(_nest(rule.path, str(value)))
    return contains


# --- the record types ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kind:
    """A record type: its table, names and filters."""

    path: str  # "encounters": the path segment
    resource: str  # "encounter": eHealth/resources code, the audit's resource
    label: str  # "Encounter": in "Encounter not found"
    table: Table
    filters: Mapping[str, Filter]
    in_episode: bool = True  # the table has episode_id

    def row_data(self, row: RowLike) -> dict[str, Any]:
        """The contract resource of a row: as the writes render it (the stored resource, with the row's id,
        current status and times)."""
        if self.table is episodes:
            return render_episode(episode_record(row))
        if self.table is encounters:
            return render_encounter(encounter_record(row))
        return render_record(medical_record(self.path, row))


_EPISODE = Eq("episode_id")
_ENCOUNTER = Eq("encounter_id")
_ORG = Eq("legal_entity_id")

EPISODES = Kind(
    "episodes",
    "episode",
    "Episode",
    episodes,
    {
        "period_from": DayFrom("period_start"),
        "period_to": DayTo("period_start"),
        "period_start_from": DayFrom("period_start"),
        "period_start_to": DayTo("period_start"),
        "period_end_from": DayFrom("period_end"),
        "period_end_to": DayTo("period_end"),
        "status": Eq("status"),
        "code": Holds(("current_diagnoses", "[]", "code", "coding", "[]", "code")),
        "managing_organization_id": _ORG,
    },
    in_episode=False,
)
_ENCOUNTER_PERIODS: dict[str, Filter] = {
    "date_from": DayFrom("period_start"),
    "date_to": DayTo("period_start"),
    "period_start_from": DayFrom("period_start"),
    "period_start_to": DayTo("period_start"),
    "period_end_from": DayFrom("period_end"),
    "period_end_to": DayTo("period_end"),
}
ENCOUNTERS = Kind(
    "encounters",
    "encounter",
    "Encounter",
    encounters,
    {
        **_ENCOUNTER_PERIODS,
        "episode_id": _EPISODE,
        "incoming_referral_id": Eq("incoming_referral_id"),
        "incoming_referral": Eq("incoming_referral_id"),
        "origin_episode_id": ref("origin_episode"),
        "managing_organization_id": _ORG,
        # the summary's filters
        "status": Eq("status"),
        "type": Eq("type"),
        "class_": Eq("encounter_class"),
    },
)
CONDITIONS = Kind(
    "conditions",
    "condition",
    "Condition",
    conditions,
    {
        "encounter_id": _ENCOUNTER,
        "episode_id": _EPISODE,
        "onset_date_from": DayFrom("onset_date"),
        "onset_date_to": DayTo("onset_date"),
        "code": Eq("code"),
        "managing_organization_id": _ORG,
    },
)
OBSERVATIONS = Kind(
    "observations",
    "observation",
    "Observation",
    observations,
    {
        "encounter_id": _ENCOUNTER,
        "diagnostic_report_id": Eq("diagnostic_report_id"),
        "episode_id": _EPISODE,
        "code": Eq("code"),
        "issued_from": DayFrom("issued"),
        "issued_to": DayTo("issued"),
        "device_id": ref("device"),
        "managing_organization_id": _ORG,
        "specimen_id": ref("specimen"),
    },
)
ALLERGY_INTOLERANCES = Kind(
    "allergy_intolerances",
    "allergy_intolerance",
    "Allergy intolerance",
    allergy_intolerances,
    {
        "encounter_id": _ENCOUNTER,
        "episode_id": _EPISODE,
        "code": Eq("code"),
        "onset_date_time_from": DayFrom("onset_date_time"),
        "onset_date_time_to": DayTo("onset_date_time"),
    },
)
IMMUNIZATIONS = Kind(
    "immunizations",
    "immunization",
    "Immunization",
    immunizations,
    {
        "vaccine_code": Eq("vaccine_code"),
        "code": Eq("vaccine_code"),
        "date_from": DayFrom("date"),
        "date_to": DayTo("date"),
        "encounter_id": _ENCOUNTER,
        "episode_id": _EPISODE,
    },
)
DIAGNOSTIC_REPORTS = Kind(
    "diagnostic_reports",
    "diagnostic_report",
    "Diagnostic report",
    diagnostic_reports,
    {
        "issued_from": DayFrom("issued"),
        "issued_to": DayTo("issued"),
        "code": Eq("code"),
        "encounter_id": _ENCOUNTER,
        "context_episode_id": _EPISODE,
        "origin_episode_id": ref("origin_episode"),
        "initial_episode_id": ref("origin_episode"),
        "based_on": ref("based_on"),
        "managing_organization_id": _ORG,
        "specimen_id": ref("specimens", "[]"),
    },
)
PROCEDURES = Kind(
    "procedures",
    "procedure",
    "Procedure",
    procedures,
    {
        "id": Eq("id"),
        "status": Eq("status"),
        "episode_id": _EPISODE,
        "encounter_id": _ENCOUNTER,
        "code": Eq("code"),
        "based_on": ref("based_on"),
        "service_request_id": ref("based_on"),
        "recorded_by": ref("recorded_by"),
        "managing_organization_id": _ORG,
        "device_id": ref("focal_device", "manipulated"),
        "used_reference_id": ref("used_references", "[]"),
        "origin_episode_id": ref("origin_episode"),
    },
)

KINDS = {
    k.path: k
    for k in (
        EPISODES,
        ENCOUNTERS,
        CONDITIONS,
        OBSERVATIONS,
        ALLERGY_INTOLERANCES,
        IMMUNIZATIONS,
        DIAGNOSTIC_REPORTS,
        PROCEDURES,
    )
}


# --- the patient, the record, the episode ------------------------------------------------------------------------


async def _patient(conn: AsyncConnection, person_id: uuid.UUID) -> None:
    if await get_person(conn, person_id=person_id) is None:
        raise not_found("Patient not found")


async def _row(conn: AsyncConnection, kind: Kind, person_id: uuid.UUID, record_id: uuid.UUID) -> RowLike:
    t = kind.table
    row = (await conn.execute(select(t).where(t.c.person_id == person_id, t.c.id == record_id))).mappings().first()
    if row is None:
        raise not_found(f"{kind.label} not found")
    return row


async def _episode(conn: AsyncConnection, person_id: uuid.UUID, episode_id: uuid.UUID) -> RowLike | None:
    t = episodes
    query = select(t.c.id, t.c.legal_entity_id, t.c.care_manager_id, t.c.status).where(
        t.c.person_id == person_id, t.c.id == episode_id
    )
    return (await conn.execute(query)).mappings().first()


async def _may_read(conn: AsyncConnection, auth: AuthContext, reader: access.Reader, kind: Kind, row: RowLike) -> bool:
    """One record: the whole record, made here, or in a readable episode."""
    if reader.whole_record:
        return True
    author = row.get("author_id") or row.get("performer_id") or row.get("care_manager_id")
    if reader.made_here(legal_entity_id=row["legal_entity_id"], author_id=author):
        return True
    episode_id = row["id"] if kind is EPISODES else row.get("episode_id")
    if episode_id is None:
        return False
    episode = row if kind is EPISODES else await _episode(conn, reader.person_id, episode_id)
    return await access.may_read_episode(
        conn,
        auth,
        reader,
        episode_id=episode_id,
        episode_legal_entity_id=None if episode is None else episode["legal_entity_id"],
        care_manager_id=None if episode is None else episode["care_manager_id"],
    )


async def _readable_episode(
    conn: AsyncConnection, auth: AuthContext, reader: access.Reader, episode_id: uuid.UUID
) -> bool:
    episode = await _episode(conn, reader.person_id, episode_id)
    return await access.may_read_episode(
        conn,
        auth,
        reader,
        episode_id=episode_id,
        episode_legal_entity_id=None if episode is None else episode["legal_entity_id"],
        care_manager_id=None if episode is None else episode["care_manager_id"],
    )


# --- lists -----------------------------------------------------------------------------------------------------------


def _where(kind: Kind, person_id: uuid.UUID, filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    t = kind.table
    where: list[ColumnElement[bool]] = [t.c.person_id == person_id]
    for name, value in filters.items():
        if value is None:
            continue
        rule = kind.filters.get(name)
        if rule is None:
            raise ValueError(f"{kind.path}: no rule for the filter {name!r}")
        where.append(_condition(t, rule, value))
    return where


async def _page(
    conn: AsyncConnection, kind: Kind, where: Sequence[ColumnElement[bool]], page: PageParams
) -> tuple[list[dict[str, Any]], int]:
    t = kind.table
    query = (
        select(t)
        .where(*where)
        .order_by(t.c.inserted_at.desc(), t.c.id.desc())
        .limit(page.page_size)
        .offset(page.offset)
    )
    rows = (await conn.execute(query)).mappings().all()
    total = total_from_page(len(rows), page.offset, page.page_size)
    if total is None:
        total = (await conn.execute(select(func.count()).select_from(t).where(*where))).scalar_one()
    return [kind.row_data(r) for r in rows], total


async def list_records(
    conn: AsyncConnection,
    auth: AuthContext,
    *,
    kind: Kind,
    person_id: uuid.UUID,
    filters: Mapping[str, Any],
    page: PageParams,
) -> tuple[list[dict[str, Any]], int]:
    """A patient's records of one type: all of them for the whole record, else only a list every item of which
    the caller may read (one readable episode, or the caller's own legal entity)."""
    await _patient(conn, person_id)
    reader = await access.reader_of(conn, auth, person_id=person_id)
    if not reader.whole_record:
        episode_id = filters.get("episode_id") or filters.get("context_episode_id")
        own = filters.get("managing_organization_id")
        if own is not None and own == reader.legal_entity_id:
            pass
        elif episode_id is not None and kind.in_episode:
            if not await _readable_episode(conn, auth, reader, episode_id):
                raise access.refused(person_id=person_id, episode_id=episode_id)
        else:
            raise access.refused(person_id=person_id)
    return await _page(conn, kind, _where(kind, person_id, filters), page)


async def get_record(
    conn: AsyncConnection, auth: AuthContext, *, kind: Kind, person_id: uuid.UUID, record_id: uuid.UUID
) -> dict[str, Any]:
    await _patient(conn, person_id)
    row = await _row(conn, kind, person_id, record_id)
    reader = await access.reader_of(conn, auth, person_id=person_id)
    if not await _may_read(conn, auth, reader, kind, row):
        raise access.refused(person_id=person_id, episode_id=row["id"] if kind is EPISODES else row.get("episode_id"))
    return kind.row_data(row)


async def get_context(
    conn: AsyncConnection, auth: AuthContext, *, kind: Kind, person_id: uuid.UUID, record_id: uuid.UUID
) -> dict[str, Any]:
    """Where the record was made: its episode (observations: also their report; reports and procedures: also
    the episode they were first made for). Readable on the same terms as the record."""
    await _patient(conn, person_id)
    row = await _row(conn, kind, person_id, record_id)
    reader = await access.reader_of(conn, auth, person_id=person_id)
    if not await _may_read(conn, auth, reader, kind, row):
        raise access.refused(person_id=person_id, episode_id=row.get("episode_id"))
    context: dict[str, Any] = {"episode": reference("episode", row["episode_id"])}
    if kind is OBSERVATIONS and row.get("diagnostic_report_id") is not None:
        context["diagnostic_report"] = reference("diagnostic_report", row["diagnostic_report_id"])
    if kind in (DIAGNOSTIC_REPORTS, PROCEDURES):
        content = row["content"] if isinstance(row["content"], dict) else {}
        if content.get("origin_episode") is not None:
            context["origin_episode"] = content["origin_episode"]
    return context


async def approved_episodes(
    conn: AsyncConnection, auth: AuthContext, *, person_id: uuid.UUID, code: str | None, page: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """The patient's episodes the caller reads through an active approval (of the episode, or of the whole
    record), newest first. A patient has few episodes: each is asked in turn."""
    await _patient(conn, person_id)
    reader = await access.reader_of(conn, auth, person_id=person_id)
    t = episodes
    where = _where(EPISODES, person_id, {"code": code})
    rows = (await conn.execute(select(t).where(*where).order_by(t.c.inserted_at.desc(), t.c.id.desc()))).mappings()
    found = [row for row in rows.all() if await access.approved(conn, auth, reader, episode_id=row["id"])]
    return [EPISODES.row_data(r) for r in found[page.offset : page.offset + page.page_size]], len(found)


# --- the records of one episode ------------------------------------------------------------------------------------


async def _episode_gate(
    conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID, episode_id: uuid.UUID
) -> access.Reader:
    await _patient(conn, person_id)
    episode = await _episode(conn, person_id, episode_id)
    if episode is None:
        raise not_found("Episode not found")
    reader = await access.reader_of(conn, auth, person_id=person_id)
    readable = await access.may_read_episode(
        conn,
        auth,
        reader,
        episode_id=episode_id,
        episode_legal_entity_id=episode["legal_entity_id"],
        care_manager_id=episode["care_manager_id"],
    )
    if not readable:
        raise access.refused(person_id=person_id, episode_id=episode_id)
    return reader


async def list_in_episode(
    conn: AsyncConnection,
    auth: AuthContext,
    *,
    kind: Kind,
    person_id: uuid.UUID,
    episode_id: uuid.UUID,
    filters: Mapping[str, Any],
    page: PageParams,
) -> tuple[list[dict[str, Any]], int]:
    await _episode_gate(conn, auth, person_id, episode_id)
    where = [*_where(kind, person_id, filters), kind.table.c.episode_id == episode_id]
    return await _page(conn, kind, where, page)


async def get_in_episode(
    conn: AsyncConnection,
    auth: AuthContext,
    *,
    kind: Kind,
    person_id: uuid.UUID,
    episode_id: uuid.UUID,
    record_id: uuid.UUID,
) -> dict[str, Any]:
    await _episode_gate(conn, auth, person_id, episode_id)
    row = await _row(conn, kind, person_id, record_id)
    if row["episode_id"] != episode_id:
        raise not_found(f"{kind.label} not found")
    return kind.row_data(row)


# --- the patient summary -------------------------------------------------------------------------------------------


def _summary_where(kind: Kind) -> list[ColumnElement[bool]]:
    t = kind.table
    if kind is CONDITIONS:
        return [t.c.code.in_(SUMMARY_CONDITION_CODES)]
    if kind is OBSERVATIONS:
        return [t.c.code.in_(SUMMARY_OBSERVATION_CODES)]
    if kind is DIAGNOSTIC_REPORTS:
        return [false()]  # the real summary shows no diagnostic report
    return []


def _short_episode(row: RowLike) -> dict[str, Any]:
    """The episode's short form, from the full render (its period and status are the row's, kept current)."""
    full = EPISODES.row_data(row)
    return {key: full.get(key) for key in ("id", "name", "status", "period", "inserted_at", "updated_at")}


def _short_encounter(row: RowLike, specialities: Mapping[uuid.UUID, str | None]) -> dict[str, Any]:
    content = row["content"] if isinstance(row["content"], dict) else {}
    speciality = specialities.get(row["performer_id"])
    return {
        "id": row["id"],
        "status": row["status"],
        "period": content.get("period") or {"start": row["period_start"], "end": row["period_end"]},
        "episode": content.get("episode") or reference("episode", row["episode_id"]),
        "class": content.get("class"),
        "type": content.get("type"),
        "performer_speciality": None if speciality is None else concept(SPECIALITY_TYPE, speciality),
    }


async def _specialities(conn: AsyncConnection, person_id: uuid.UUID) -> dict[uuid.UUID, str | None]:
    """The speciality of each doctor who performed one of the patient's encounters (a patient sees few)."""
    t = encounters
    query = select(t.c.performer_id).where(t.c.person_id == person_id).distinct()
    out: dict[uuid.UUID, str | None] = {}
    for performer_id in (await conn.execute(query)).scalars():
        clinician = await get_clinician(conn, employee_id=performer_id)
        out[performer_id] = None if clinician is None else speciality_of(clinician.employee)
    return out


def shorten(kind: Kind, row: RowLike, specialities: Mapping[uuid.UUID, str | None]) -> dict[str, Any]:
    if kind is EPISODES:
        return _short_episode(row)
    if kind is ENCOUNTERS:
        return _short_encounter(row, specialities)
    return kind.row_data(row)


async def summary_list(
    conn: AsyncConnection, *, kind: Kind, person_id: uuid.UUID, filters: Mapping[str, Any], page: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """The summary's list of one type: short episodes and encounters; whitelisted conditions and observations;
    every allergy, immunization and procedure. Open to any clinic's doctor (scope `patient_summary:read`)."""
    await _patient(conn, person_id)
    t = kind.table
    wanted = dict(filters)
    speciality = wanted.pop("performer_speciality", None)
    where = [*_where(kind, person_id, wanted), *_summary_where(kind)]
    specialities = await _specialities(conn, person_id) if kind is ENCOUNTERS else {}
    if speciality is not None:
        where.append(t.c.performer_id.in_([p for p, s in specialities.items() if s == speciality] or [_NOBODY]))
    query = select(t).where(*where).order_by(t.c.inserted_at.desc(), t.c.id.desc())
    rows = (await conn.execute(query.limit(page.page_size).offset(page.offset))).mappings().all()
    total = total_from_page(len(rows), page.offset, page.page_size)
    if total is None:
        total = (await conn.execute(select(func.count()).select_from(t).where(*where))).scalar_one()
    return [shorten(kind, r, specialities) for r in rows], total


async def summary_get(
    conn: AsyncConnection, *, kind: Kind, person_id: uuid.UUID, record_id: uuid.UUID
) -> dict[str, Any]:
    await _patient(conn, person_id)
    t = kind.table
    where = [t.c.person_id == person_id, t.c.id == record_id, *_summary_where(kind)]
    row = (await conn.execute(select(t).where(*where))).mappings().first()
    if row is None:
        raise not_found(f"{kind.label} not found")
    specialities = await _specialities(conn, person_id) if kind is ENCOUNTERS else {}
    return shorten(kind, row, specialities)


async def summary_diagnoses(
    conn: AsyncConnection, *, person_id: uuid.UUID, code: str | None, page: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """The current diagnoses of the patient's active episodes, whitelisted codes only, newest episode first."""
    await _patient(conn, person_id)
    t = episodes
    query = (
        select(t.c.content)
        .where(t.c.person_id == person_id, t.c.status == "active")
        .order_by(t.c.inserted_at.desc(), t.c.id.desc())
    )
    found: list[dict[str, Any]] = []
    for content in (await conn.execute(query)).scalars():
        for diagnosis in (content or {}).get("current_diagnoses") or []:
            codes = {c.get("code") for c in ((diagnosis.get("code") or {}).get("coding") or [])}
            if not codes & set(SUMMARY_CONDITION_CODES):
                continue
            if code is not None and code not in codes:
                continue
            found.append(diagnosis)
    return found[page.offset : page.offset + page.page_size], len(found)
