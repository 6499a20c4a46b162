"""Signatures: stored CRLs, the verified-certificate cache and every accepted CMS.

Revision ID: 0002_signatures
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_signatures"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signature_crls",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("issuer_name_hash", sa.LargeBinary(), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("this_update", TS, nullable=False),
        sa.Column("next_update", TS, nullable=True),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("fetched_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_signature_crls"),
    )
    op.create_index(
        "ix_signature_crls_issuer_name_hash_this_update", "signature_crls", ["issuer_name_hash", "this_update"]
    )
    op.create_table(
        "signature_cert_checks",
        sa.Column("cert_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("trust_key", sa.Text(), nullable=False),
        sa.Column("checked_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("cert_sha256", "trust_key", name="pk_signature_cert_checks"),
    )
    op.create_table(
        "signed_contents",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("cms", sa.LargeBinary(), nullable=False),
        sa.Column("content_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("signers", postgresql.JSONB(), nullable=False),
        sa.Column("signed_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_signed_contents"),
    )
    op.create_index("ix_signed_contents_entity_type_entity_id", "signed_contents", ["entity_type", "entity_id"])


def downgrade() -> None:
    op.drop_table("signed_contents")
    op.drop_table("signature_cert_checks")
    op.drop_table("signature_crls")
