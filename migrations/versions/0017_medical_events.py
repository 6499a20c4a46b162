"""Medical records: episodes of care, encounters and the records an encounter package produces.

Every key and index starts with person_id: a patient's records are read together, and the tables can be
split by person later without changing a key.

Revision ID: 0017_medical_events
Revises: 0013_audit_person
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017_medical_events"
down_revision: str | Sequence[str] | None = "0013_audit_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUDIT = """
    content JSONB NOT NULL DEFAULT '{}'::jsonb,
    inserted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    inserted_by UUID,
    updated_by UUID"""

_RECORD = """
    id UUID NOT NULL,
    person_id UUID NOT NULL,
    episode_id UUID NOT NULL,
    encounter_id UUID NOT NULL,
    legal_entity_id UUID NOT NULL,
    author_id UUID,"""


def _record(name: str, statuses: str, columns: str) -> list[str]:
    return [
        f"""
CREATE TABLE {name} ({_RECORD}
    status TEXT NOT NULL CHECK (status IN ({statuses})),{columns},{_AUDIT},
    CONSTRAINT pk_{name} PRIMARY KEY (person_id, id)
)""",
        f"CREATE INDEX ix_{name}_encounter ON {name} (person_id, encounter_id)",
        f"CREATE INDEX ix_{name}_episode ON {name} (person_id, episode_id)",
    ]


_CONDITION_STATUSES = "'provisional', 'differential', 'confirmed', 'refuted', 'entered_in_error'"

DDL = [
    f"""
CREATE TABLE episodes (
    id UUID NOT NULL,
    person_id UUID NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'closed', 'entered_in_error')),
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    legal_entity_id UUID NOT NULL,
    care_manager_id UUID NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    period_end TIMESTAMPTZ,{_AUDIT},
    CONSTRAINT pk_episodes PRIMARY KEY (person_id, id)
)""",
    "CREATE INDEX ix_episodes_period ON episodes (person_id, period_start)",
    f"""
CREATE TABLE encounters (
    id UUID NOT NULL,
    person_id UUID NOT NULL,
    episode_id UUID NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('finished', 'entered_in_error')),
    legal_entity_id UUID NOT NULL,
    division_id UUID,
    performer_id UUID NOT NULL,
    encounter_class TEXT NOT NULL,
    type TEXT NOT NULL,
    incoming_referral_id UUID,
    period_start TIMESTAMPTZ NOT NULL,
    period_end TIMESTAMPTZ,{_AUDIT},
    CONSTRAINT pk_encounters PRIMARY KEY (person_id, id)
)""",
    "CREATE INDEX ix_encounters_episode ON encounters (person_id, episode_id, period_start)",
    "CREATE INDEX ix_encounters_period ON encounters (person_id, period_start)",
    *_record(
        "conditions",
        _CONDITION_STATUSES,
        """
    clinical_status TEXT NOT NULL,
    code TEXT NOT NULL,
    code_system TEXT NOT NULL,
    onset_date TIMESTAMPTZ,
    asserted_date TIMESTAMPTZ""",
    ),
    "CREATE INDEX ix_conditions_code ON conditions (person_id, code)",
    *_record(
        "observations",
        "'valid', 'entered_in_error'",
        """
    code TEXT NOT NULL,
    diagnostic_report_id UUID,
    issued TIMESTAMPTZ,
    effective_at TIMESTAMPTZ""",
    ),
    "CREATE INDEX ix_observations_code ON observations (person_id, code, issued)",
    *_record(
        "immunizations",
        "'completed', 'entered_in_error'",
        """
    vaccine_code TEXT NOT NULL,
    date TIMESTAMPTZ""",
    ),
    "CREATE INDEX ix_immunizations_vaccine ON immunizations (person_id, vaccine_code, date)",
    *_record(
        "allergy_intolerances",
        "'unconfirmed', 'confirmed', 'refuted', 'entered_in_error'",
        """
    clinical_status TEXT NOT NULL,
    code TEXT NOT NULL,
    onset_date_time TIMESTAMPTZ""",
    ),
    *_record(
        "diagnostic_reports",
        "'final', 'entered_in_error'",
        """
    code TEXT NOT NULL,
    issued TIMESTAMPTZ""",
    ),
    *_record(
        "procedures",
        "'completed', 'not_done', 'entered_in_error'",
        """
    code TEXT NOT NULL,
    performed_at TIMESTAMPTZ""",
    ),
]

TABLES = (
    "procedures",
    "diagnostic_reports",
    "allergy_intolerances",
    "immunizations",
    "observations",
    "conditions",
    "encounters",
    "episodes",
)


def upgrade() -> None:
    for statement in DDL:
        op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
