"""Approvals: a patient's SMS-confirmed, time-limited consent that opens their records (or one episode).

Revision ID: 0018_approvals
Revises: 0013_audit_person
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision: str = "0018_approvals"
down_revision: str | Sequence[str] | None = "0013_audit_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("person_id", UUID(as_uuid=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("granted_to_type", sa.Text(), nullable=False),
        sa.Column("granted_to_id", UUID(as_uuid=True), nullable=False),
        sa.Column("episode_ids", ARRAY(UUID(as_uuid=True)), nullable=False),
        sa.Column("granted_resources", JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("access_level", sa.Text(), nullable=False),
        sa.Column("reason", JSONB(), nullable=True),
        sa.Column("created_by_employee_id", UUID(as_uuid=True), nullable=True),
        sa.Column("legal_entity_id", UUID(as_uuid=True), nullable=False),
        sa.Column("authorize_with", UUID(as_uuid=True), nullable=True),
        sa.Column("auth_method_type", sa.Text(), nullable=False),
        sa.Column("phone_masked", sa.Text(), nullable=True),
        sa.Column("is_verified", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_attempts", sa.Integer(), nullable=False),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("inserted_by", UUID(as_uuid=True), nullable=True),
        sa.Column("updated_by", UUID(as_uuid=True), nullable=True),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "id", name=op.f("pk_approvals")),
    )
    # Every access check asks "does this patient have an active approval for this grantee": one index range.
    op.create_index(
        "ix_approvals_grant",
        "approvals",
        ["person_id", "granted_to_id", "expires_at"],
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("ix_approvals_grant", table_name="approvals")
    op.drop_table("approvals")
