"""Tables of the medical-events domain (DDL in migrations/versions/0017_medical_events.py).

Every table is the patient's: the primary key is (person_id, id) and every index starts with person_id, so a
patient's records sit together and the tables can later be split by person. Each row keeps the whole contract
resource in `content`; the columns beside it are what lists filter on.

`status` is the value a record is cancelled through: `entered_in_error` on every table. Conditions and allergy
intolerances have no status of their own in the contract: there `status` holds the verification status (where
the contract marks them entered in error) and `clinical_status` sits beside it.

The CMS of an encounter package is kept by the signatures domain under (entity_type "encounter", the
encounter's id); every record a package produced carries that `encounter_id`.
"""

from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID

from esoz.core.columns import jsonb, timestamp, timestamps
from esoz.core.db import metadata


def _uuid(name: str, nullable: bool = True) -> Column[Any]:
    return Column(name, UUID(as_uuid=True), nullable=nullable)


def _at(name: str) -> Column[Any]:
    return Column(name, DateTime(timezone=True))


def _keys() -> list[Column[Any]]:
    return [
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("person_id", UUID(as_uuid=True), primary_key=True),
    ]


# The jobs every asynchronous medical-events write answers with (referrals and conclusions too): async_jobs.py.
# DDL in 0007_referrals_conclusions.py; not in TABLES, which are the patient-keyed record tables.
me_jobs = Table(
    "me_jobs",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("status_code", Integer, nullable=False, server_default=text("202")),
    Column("legal_entity_id", UUID(as_uuid=True)),
    Column("request_hash", Text),
    jsonb("links", "'[]'::jsonb", nullable=False),
    jsonb("error", None, nullable=True),
    timestamp("inserted_at"),
    timestamp("updated_at"),
)

episodes = Table(
    "episodes",
    metadata,
    *_keys(),
    Column("status", Text, nullable=False),  # active | closed | entered_in_error
    Column("type", Text, nullable=False),  # eHealth/episode_types code
    Column("name", Text, nullable=False),
    _uuid("legal_entity_id", nullable=False),  # managing_organization
    _uuid("care_manager_id", nullable=False),  # employee
    Column("period_start", DateTime(timezone=True), nullable=False),
    _at("period_end"),
    jsonb("content"),
    *timestamps(authors=True),
    Index("ix_episodes_period", "person_id", "period_start"),
    Index("ix_episodes_id", "id"),  # the status events name an episode without its patient
)

encounters = Table(
    "encounters",
    metadata,
    *_keys(),
    _uuid("episode_id", nullable=False),
    Column("status", Text, nullable=False),  # finished | entered_in_error
    _uuid("legal_entity_id", nullable=False),
    _uuid("division_id"),
    _uuid("performer_id", nullable=False),  # employee
    Column("encounter_class", Text, nullable=False),  # "class" is a Python keyword: FastQuery rows are namedtuples
    Column("type", Text, nullable=False),
    _uuid("incoming_referral_id"),
    Column("period_start", DateTime(timezone=True), nullable=False),
    _at("period_end"),
    jsonb("content"),
    *timestamps(authors=True),
    Index("ix_encounters_episode", "person_id", "episode_id", "period_start"),
    Index("ix_encounters_period", "person_id", "period_start"),
    Index("ix_encounters_id", "id"),  # the status events name an encounter without its patient
)


def _record(name: str, *columns: Column[Any], indexes: tuple[tuple[str, ...], ...] = ()) -> Table:
    """A record an encounter package produces: the patient's, the episode's and the encounter's."""
    return Table(
        name,
        metadata,
        *_keys(),
        _uuid("episode_id", nullable=False),
        _uuid("encounter_id", nullable=False),
        Column("status", Text, nullable=False),
        _uuid("legal_entity_id", nullable=False),
        _uuid("author_id"),  # the employee: asserter, performer or recorder
        *columns,
        jsonb("content"),
        *timestamps(authors=True),
        Index(f"ix_{name}_encounter", "person_id", "encounter_id"),
        Index(f"ix_{name}_episode", "person_id", "episode_id"),
        *(Index(f"ix_{name}_{label}", "person_id", *cols) for label, *cols in indexes),
    )


conditions = _record(
    "conditions",
    Column("clinical_status", Text, nullable=False),
    Column("code", Text, nullable=False),  # ICD-10 or ICPC-2
    Column("code_system", Text, nullable=False),
    _at("onset_date"),
    _at("asserted_date"),
    indexes=(("code", "code"),),
)
observations = _record(
    "observations",
    Column("code", Text, nullable=False),
    _uuid("diagnostic_report_id"),
    _at("issued"),
    _at("effective_at"),
    indexes=(("code", "code", "issued"),),
)
immunizations = _record(
    "immunizations",
    Column("vaccine_code", Text, nullable=False),
    _at("date"),
    indexes=(("vaccine", "vaccine_code", "date"),),
)
allergy_intolerances = _record(
    "allergy_intolerances",
    Column("clinical_status", Text, nullable=False),
    Column("code", Text, nullable=False),
    _at("onset_date_time"),
)
diagnostic_reports = _record(
    "diagnostic_reports",
    Column("code", Text, nullable=False),  # the service's id, as text
    _at("issued"),
)
procedures = _record(
    "procedures",
    Column("code", Text, nullable=False),  # the service's id, as text
    _at("performed_at"),
)

RECORD_TABLES: dict[str, Table] = {
    "conditions": conditions,
    "observations": observations,
    "immunizations": immunizations,
    "allergy_intolerances": allergy_intolerances,
    "diagnostic_reports": diagnostic_reports,
    "procedures": procedures,
}

TABLES = (episodes, encounters, *RECORD_TABLES.values())
