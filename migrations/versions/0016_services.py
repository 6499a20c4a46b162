"""The service catalogue (groups, services, programme services) and referrals under a programme.

Revision ID: 0016_services
Revises: 0013_audit_person
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0016_services"
down_revision: str | Sequence[str] | None = "0013_audit_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0006_prescriptions", "0007_referrals_conclusions")


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", UUID(as_uuid=True), nullable=True),
        sa.Column("updated_by", UUID(as_uuid=True), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "service_groups",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", UUID(as_uuid=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("request_allowed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["service_groups.id"], name=op.f("fk_service_groups_parent_id_service_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_groups")),
        sa.UniqueConstraint("code", name=op.f("uq_service_groups_code")),
    )
    op.create_table(
        "services",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("group_id", UUID(as_uuid=True), nullable=False),
        sa.Column("parent_id", UUID(as_uuid=True), nullable=True),
        sa.Column("is_composition", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("request_allowed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(["group_id"], ["service_groups.id"], name=op.f("fk_services_group_id_service_groups")),
        sa.ForeignKeyConstraint(["parent_id"], ["services.id"], name=op.f("fk_services_parent_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("code", name=op.f("uq_services_code")),
    )
    op.create_index("ix_services_group", "services", ["group_id"])
    op.create_table(
        "program_services",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("medical_program_id", UUID(as_uuid=True), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), nullable=True),
        sa.Column("service_group_id", UUID(as_uuid=True), nullable=True),
        sa.Column("consumer_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("request_allowed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *_stamps(),
        sa.CheckConstraint(
            "(service_id IS NULL) <> (service_group_id IS NULL)", name=op.f("ck_program_services_one_target")
        ),
        # The programme itself is the prescriptions domain's row; the database keeps the reference honest.
        sa.ForeignKeyConstraint(
            ["medical_program_id"],
            ["medical_programs.id"],
            name=op.f("fk_program_services_medical_program_id_medical_programs"),
        ),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_program_services_service_id_services")),
        sa.ForeignKeyConstraint(
            ["service_group_id"],
            ["service_groups.id"],
            name=op.f("fk_program_services_service_group_id_service_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_services")),
    )
    op.create_index(
        "uq_program_services_service",
        "program_services",
        ["medical_program_id", "service_id"],
        unique=True,
        postgresql_where=sa.text("service_id IS NOT NULL"),
    )
    op.create_index(
        "uq_program_services_group",
        "program_services",
        ["medical_program_id", "service_group_id"],
        unique=True,
        postgresql_where=sa.text("service_group_id IS NOT NULL"),
    )
    # A referral under a programme: nullable columns without defaults, so adding them rewrites no row.
    op.add_column("service_requests", sa.Column("program_id", UUID(as_uuid=True), nullable=True))
    op.add_column("service_requests", sa.Column("program_service_id", UUID(as_uuid=True), nullable=True))


def downgrade() -> None:
    op.drop_column("service_requests", "program_service_id")
    op.drop_column("service_requests", "program_id")
    op.drop_index("uq_program_services_group", table_name="program_services")
    op.drop_index("uq_program_services_service", table_name="program_services")
    op.drop_table("program_services")
    op.drop_index("ix_services_group", table_name="services")
    op.drop_table("services")
    op.drop_table("service_groups")
