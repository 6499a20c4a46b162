"""Prescriptions: wrong patient codes counted per prescription and pharmacy.

Revision ID: 0012_prescription_code_attempts
Revises: 0006_prescriptions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_prescription_code_attempts"
down_revision: str | Sequence[str] | None = "0006_prescriptions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "medication_request_code_attempts",
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("medication_request_id", sa.UUID(), nullable=False),
        sa.Column("legal_entity_id", sa.UUID(), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint(
            "person_id",
            "medication_request_id",
            "legal_entity_id",
            name=op.f("pk_medication_request_code_attempts"),
        ),
    )


def downgrade() -> None:
    op.drop_table("medication_request_code_attempts")
