"""Episodes and encounters found by their own id, without the patient: the status events name only the entity,
and the dashboards' consumer counts what an Encounter or Episode event created (as ix_service_requests_id does
for referrals).

Revision ID: 0021_medical_events_by_id
Revises: 0017_medical_events
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_medical_events_by_id"
down_revision: str | Sequence[str] | None = "0017_medical_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_episodes_id ON episodes (id)")
    op.execute("CREATE INDEX ix_encounters_id ON encounters (id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_encounters_id")
    op.execute("DROP INDEX IF EXISTS ix_episodes_id")
