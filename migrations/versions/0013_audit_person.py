"""Audit rows name the patient whose data they concern: `person_id`, indexed for a patient's access history.

Revision ID: 0013_audit_person
Revises: 0001_foundation (audit_log is created there)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0013_audit_person"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: adding it rewrites nothing, however large the log.
    op.add_column("audit_log", sa.Column("person_id", UUID(as_uuid=True)))
    op.create_index(
        "ix_audit_log_person",
        "audit_log",
        ["person_id", "occurred_at"],
        postgresql_where=sa.text("person_id IS NOT NULL"),
    )
    op.create_index("ix_audit_log_request", "audit_log", ["request_id"])
    # BRIN: rows arrive in time order, so a period narrows to a few block ranges at almost no write cost.
    op.create_index("ix_audit_log_occurred", "audit_log", ["occurred_at"], postgresql_using="brin")


def downgrade() -> None:
    op.drop_index("ix_audit_log_occurred", table_name="audit_log")
    op.drop_index("ix_audit_log_request", table_name="audit_log")
    op.drop_index("ix_audit_log_person", table_name="audit_log")
    op.drop_column("audit_log", "person_id")
