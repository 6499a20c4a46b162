"""Prescription drafts and prescriptions keep the clinical references they were made in: the encounter
(`context`), its episode, and the care plan and activity (`based_on`), so that the documented list filters
(`encounter_id`, `episode_id`, `care_plan_id`, `activity_id`) run on columns.

Revision ID: 0014_prescription_fields
Revises: 0013_audit_person
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0014_prescription_fields"
down_revision: str | Sequence[str] | None = "0013_audit_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("encounter_id", "episode_id", "care_plan_id", "activity_id")
TABLES = ("medication_request_requests", "medication_requests")


def upgrade() -> None:
    # Nullable columns without defaults: adding them rewrites no row. The lists filter a patient's rows, which the
    # (person_id, status) indexes already narrow to a handful, so no index is added for them.
    for table in TABLES:
        for column in COLUMNS:
            op.add_column(table, sa.Column(column, UUID(as_uuid=True)))


def downgrade() -> None:
    for table in TABLES:
        for column in COLUMNS:
            op.drop_column(table, column)
