"""Delivery: the transactional outbox, maintenance windows of delivery channels, the status-change event feed.

Revision ID: 0004_delivery
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_delivery"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("payload", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("leased_until", TS, nullable=True),
        sa.Column("lease_token", sa.UUID(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.Text(), nullable=True),
        sa.Column("receipt_status", sa.Text(), nullable=True),
        sa.Column("receipt_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("dead_at", TS, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name=op.f("ck_outbox_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("seq", name=op.f("uq_outbox_seq")),
    )
    # The claim query walks this small index in seq order; delivered/dead rows leave it.
    op.create_index("ix_outbox_pending", "outbox", ["seq"], postgresql_where=sa.text("status = 'pending'"))
    op.create_index("uq_outbox_channel_idempotency_key", "outbox", ["channel", "idempotency_key"], unique=True)
    op.create_index("ix_outbox_recipient", "outbox", ["recipient", "channel"])
    op.create_index(
        "ix_outbox_provider_message_id",
        "outbox",
        ["provider_message_id"],
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )

    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_maintenance_windows_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    op.create_index("ix_maintenance_windows_ends_at", "maintenance_windows", ["ends_at"])

    op.create_table(
        "events",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column("properties", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("event_time", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("changed_by", sa.UUID(), nullable=True),
        sa.Column("legal_entity_id", sa.UUID(), nullable=True),
        sa.Column("published_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_event_time", "events", ["event_time"])
    op.create_index("ix_events_entity_type_event_time", "events", ["entity_type", "event_time"])
    op.create_index("ix_events_unpublished", "events", ["event_time"], postgresql_where=sa.text("published_at IS NULL"))


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("maintenance_windows")
    op.drop_table("outbox")
