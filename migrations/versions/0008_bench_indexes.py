"""Indexes the load test (bench/, issue #9) showed hot paths need.

- events (legal_entity_id, event_time, id): an MIS polls `GET /api/events` for its own legal entity over the last
  3 hours; with only (event_time) the count and the page scanned every event of every clinic in the window
  (thousands per minute at national load) to keep the caller's few.

Revision ID: 0008_bench_indexes
Revises: 0004_delivery (the events table is created there)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_bench_indexes"
down_revision: str | Sequence[str] | None = "0004_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_events_legal_entity_id_event_time ON events (legal_entity_id, event_time, id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_events_legal_entity_id_event_time")
