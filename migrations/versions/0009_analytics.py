"""Dashboards: rollup tables maintained from the event feed, the consumer's high-water mark.

Revision ID: 0009_analytics
Revises: 0001_foundation
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_analytics"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = {
    "analytics_state": """
        name TEXT PRIMARY KEY, event_time TIMESTAMPTZ NOT NULL, event_id UUID NOT NULL, updated_at TIMESTAMPTZ NOT NULL
    """,
    "analytics_skip": "event_id UUID PRIMARY KEY, event_time TIMESTAMPTZ NOT NULL",
    "analytics_records_monthly": """
        month DATE NOT NULL, kind TEXT NOT NULL, region TEXT NOT NULL, n BIGINT NOT NULL,
        CONSTRAINT pk_analytics_records_monthly PRIMARY KEY (month, kind, region)
    """,
    "analytics_rx_monthly": """
        month DATE NOT NULL, region TEXT NOT NULL, program TEXT NOT NULL,
        prescriptions BIGINT NOT NULL, dispenses BIGINT NOT NULL,
        CONSTRAINT pk_analytics_rx_monthly PRIMARY KEY (month, region, program)
    """,
    "analytics_rx_innm_monthly": """
        month DATE NOT NULL, region TEXT NOT NULL, program TEXT NOT NULL, innm_id UUID NOT NULL,
        prescriptions BIGINT NOT NULL,
        CONSTRAINT pk_analytics_rx_innm_monthly PRIMARY KEY (region, program, month, innm_id)
    """,
    "analytics_rx_patients": """
        year SMALLINT NOT NULL, region TEXT NOT NULL, program TEXT NOT NULL, person_id UUID NOT NULL,
        CONSTRAINT pk_analytics_rx_patients PRIMARY KEY (year, region, program, person_id)
    """,
    "analytics_rx_patients_count": """
        year SMALLINT NOT NULL, region TEXT NOT NULL, program TEXT NOT NULL, n BIGINT NOT NULL,
        CONSTRAINT pk_analytics_rx_patients_count PRIMARY KEY (year, region, program)
    """,
    "analytics_abx_monthly": """
        month DATE NOT NULL, region TEXT NOT NULL, aware TEXT NOT NULL, ddd NUMERIC(20, 4) NOT NULL,
        dispenses BIGINT NOT NULL,
        CONSTRAINT pk_analytics_abx_monthly PRIMARY KEY (month, region, aware)
    """,
    "analytics_conclusions_monthly": """
        month DATE NOT NULL, region TEXT NOT NULL, category TEXT NOT NULL, signed BIGINT NOT NULL,
        delivered BIGINT NOT NULL, ack_seconds DOUBLE PRECISION NOT NULL,
        CONSTRAINT pk_analytics_conclusions_monthly PRIMARY KEY (month, region, category)
    """,
    "analytics_pfu_pending": "composition_id UUID PRIMARY KEY, person_id UUID NOT NULL",
    "analytics_active": """
        day DATE NOT NULL, kind TEXT NOT NULL, id UUID NOT NULL,
        CONSTRAINT pk_analytics_active PRIMARY KEY (day, kind, id)
    """,
    "analytics_active_count": """
        day DATE NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL,
        CONSTRAINT pk_analytics_active_count PRIMARY KEY (day, kind)
    """,
}


def upgrade() -> None:
    for name, body in TABLES.items():
        op.execute(f"CREATE TABLE {name} ({body})")


def downgrade() -> None:
    for name in reversed(TABLES):
        op.execute(f"DROP TABLE IF EXISTS {name}")
