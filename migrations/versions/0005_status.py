"""Status page: per-minute metrics and health samples, incidents, maintenance, subscribers, problem reports.

Revision ID: 0005_status
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_status"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
UUID = postgresql.UUID(as_uuid=True)
TEXTS = postgresql.ARRAY(sa.Text())


def upgrade() -> None:
    op.create_table(
        "status_metrics",
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("minute", TS, nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("hist", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint("component", "minute", name="pk_status_metrics"),
    )
    op.create_index("ix_status_metrics_minute", "status_metrics", ["minute"])
    op.create_table(
        "status_samples",
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("minute", TS, nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column(
            "detail", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.PrimaryKeyConstraint("component", "minute", name="pk_status_samples"),
    )
    op.create_index("ix_status_samples_minute", "status_samples", ["minute"])
    op.create_table(
        "status_incidents",
        sa.Column("id", UUID, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("impact", sa.Text(), nullable=False),
        sa.Column("components", TEXTS, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('investigating', 'identified', 'monitoring', 'resolved')", name="ck_status_incidents_status"
        ),
        sa.CheckConstraint("impact IN ('none', 'minor', 'major', 'critical')", name="ck_status_incidents_impact"),
        sa.PrimaryKeyConstraint("id", name="pk_status_incidents"),
    )
    op.create_index("ix_status_incidents_started_at", "status_incidents", ["started_at"])
    op.create_table(
        "status_incident_updates",
        sa.Column("id", UUID, nullable=False),
        sa.Column("incident_id", UUID, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["status_incidents.id"],
            name="fk_status_incident_updates_incident_id_status_incidents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_incident_updates"),
    )
    op.create_index("ix_status_incident_updates_incident_id", "status_incident_updates", ["incident_id"])
    op.create_table(
        "status_maintenances",
        sa.Column("id", UUID, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("components", TEXTS, nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name="ck_status_maintenances_period"),
        sa.PrimaryKeyConstraint("id", name="pk_status_maintenances"),
    )
    op.create_index("ix_status_maintenances_ends_at", "status_maintenances", ["ends_at"])
    op.create_table(
        "status_notices",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("ref_id", UUID, nullable=False),
        sa.Column("sent_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("source", "ref_id", name="pk_status_notices"),
    )
    op.create_table(
        "status_subscribers",
        sa.Column("id", UUID, nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("components", TEXTS, nullable=False),
        sa.Column("pending_components", TEXTS, nullable=True),
        sa.Column("confirm_hash", sa.Text(), nullable=False),
        sa.Column("unsubscribe_token", sa.Text(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.Column("unsubscribed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_status_subscribers"),
        sa.UniqueConstraint("email", name="uq_status_subscribers_email"),
        sa.UniqueConstraint("unsubscribe_token", name="uq_status_subscribers_unsubscribe_token"),
    )
    op.create_index("ix_status_subscribers_confirm_hash", "status_subscribers", ["confirm_hash"])
    op.create_table(
        "status_reports",
        sa.Column("id", UUID, nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("facility", sa.Text(), nullable=False),
        sa.Column("mis", sa.Text(), nullable=False),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact_email", sa.Text(), nullable=False),
        sa.Column("ip", sa.Text(), nullable=False),
        sa.Column("incident_id", UUID, nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["status_incidents.id"],
            name="fk_status_reports_incident_id_status_incidents",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_reports"),
        sa.UniqueConstraint("number", name="uq_status_reports_number"),
    )
    op.create_index("ix_status_reports_created_at", "status_reports", ["created_at"])
    op.create_index("ix_status_reports_incident_id", "status_reports", ["incident_id"])


def downgrade() -> None:
    for table in (
        "status_reports",
        "status_subscribers",
        "status_notices",
        "status_maintenances",
        "status_incident_updates",
        "status_incidents",
        "status_samples",
        "status_metrics",
    ):
        op.drop_table(table)
