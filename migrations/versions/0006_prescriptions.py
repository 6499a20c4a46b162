"""Prescriptions: drug dictionaries, programmes, contracts, requests, prescriptions, dispenses, restrictions.

Revision ID: 0006_prescriptions
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0006_prescriptions"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "innms",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("sctid", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_original", sa.Text(), nullable=False),
        sa.Column("atc_code", sa.Text(), nullable=True),
        sa.Column("ddd", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("ddd_unit", sa.Text(), nullable=True),
        sa.Column("aware", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_innms")),
    )
    op.create_table(
        "medications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column(
            "code_atc", postgresql.JSONB(astext_type=Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column(
            "container", postgresql.JSONB(astext_type=Text()), server_default=sa.text("'null'::jsonb"), nullable=False
        ),
        sa.Column(
            "manufacturer",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'null'::jsonb"),
            nullable=False,
        ),
        sa.Column("package_qty", sa.Integer(), nullable=True),
        sa.Column("package_min_qty", sa.Integer(), nullable=True),
        sa.Column("daily_dosage", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("certificate", sa.Text(), nullable=True),
        sa.Column("certificate_expired_at", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medications")),
    )
    op.create_table(
        "ingredients",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("parent_id", sa.UUID(), nullable=False),
        sa.Column("innm_child_id", sa.UUID(), nullable=True),
        sa.Column("medication_child_id", sa.UUID(), nullable=True),
        sa.Column(
            "dosage", postgresql.JSONB(astext_type=Text()), server_default=sa.text("'null'::jsonb"), nullable=False
        ),
        sa.Column("is_primary", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(["innm_child_id"], ["innms.id"], name=op.f("fk_ingredients_innm_child_id_innms")),
        sa.ForeignKeyConstraint(
            ["medication_child_id"], ["medications.id"], name=op.f("fk_ingredients_medication_child_id_medications")
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["medications.id"], name=op.f("fk_ingredients_parent_id_medications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingredients")),
    )
    op.create_table(
        "medical_programs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), server_default=sa.text("'MEDICATION'"), nullable=False),
        sa.Column("funding_source", sa.Text(), nullable=False),
        sa.Column("mr_blank_type", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("medication_request_allowed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("medication_request_allowed_text", sa.Text(), nullable=True),
        sa.Column("medication_dispense_allowed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("medication_dispense_allowed_text", sa.Text(), nullable=True),
        sa.Column(
            "medical_program_settings",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("medical_program_settings_text", sa.Text(), nullable=True),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_programs")),
    )
    op.create_table(
        "program_medications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("medical_program_id", sa.UUID(), nullable=False),
        sa.Column("medication_id", sa.UUID(), nullable=False),
        sa.Column(
            "reimbursement", postgresql.JSONB(astext_type=Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("wholesale_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("consumer_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("reimbursement_daily_dosage", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("estimated_payment_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("medication_request_allowed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["medical_program_id"],
            ["medical_programs.id"],
            name=op.f("fk_program_medications_medical_program_id_medical_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["medication_id"], ["medications.id"], name=op.f("fk_program_medications_medication_id_medications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_medications")),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("contract_number", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), server_default=sa.text("'REIMBURSEMENT'"), nullable=False),
        sa.Column("legal_entity_id", sa.UUID(), nullable=False),
        sa.Column("medical_program_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'VERIFIED'"), nullable=False),
        sa.Column("is_suspended", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column(
            "contract_divisions",
            postgresql.ARRAY(postgresql.UUID(as_uuid=True)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["legal_entity_id"], ["legal_entities.id"], name=op.f("fk_contracts_legal_entity_id_legal_entities")
        ),
        sa.ForeignKeyConstraint(
            ["medical_program_id"],
            ["medical_programs.id"],
            name=op.f("fk_contracts_medical_program_id_medical_programs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
    )
    op.create_table(
        "medication_request_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("request_number", sa.Text(), nullable=False),
        sa.Column("verification_code", sa.Text(), nullable=True),
        sa.Column("medication_request_id", sa.UUID(), nullable=False),
        sa.Column("employee_id", sa.UUID(), nullable=False),
        sa.Column("legal_entity_id", sa.UUID(), nullable=False),
        sa.Column("medication_id", sa.UUID(), nullable=False),
        sa.Column("medical_program_id", sa.UUID(), nullable=True),
        sa.Column("intent", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_medication_request_requests_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medication_request_requests")),
    )
    op.create_table(
        "medication_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("request_number", sa.Text(), nullable=False),
        sa.Column("verification_code", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("employee_id", sa.UUID(), nullable=False),
        sa.Column("division_id", sa.UUID(), nullable=False),
        sa.Column("legal_entity_id", sa.UUID(), nullable=False),
        sa.Column("medication_id", sa.UUID(), nullable=False),
        sa.Column("innm_id", sa.UUID(), nullable=False),
        sa.Column("medication_qty", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("medical_program_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.Date(), nullable=False),
        sa.Column("started_at", sa.Date(), nullable=False),
        sa.Column("ended_at", sa.Date(), nullable=False),
        sa.Column("dispense_valid_from", sa.Date(), nullable=False),
        sa.Column("dispense_valid_to", sa.Date(), nullable=False),
        sa.Column("intent", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("medication_request_requests_id", sa.UUID(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_by", sa.UUID(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("reject_reason_code", sa.Text(), nullable=True),
        sa.Column("is_blocked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("block_reason", sa.Text(), nullable=True),
        sa.Column("block_reason_code", sa.Text(), nullable=True),
        sa.Column("blocked_to", sa.Date(), nullable=True),
        sa.Column("blocked_by_legal_entity", sa.UUID(), nullable=True),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_medication_requests_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medication_requests")),
    )
    op.create_table(
        "medication_dispenses",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("medication_request_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("dispensed_at", sa.Date(), nullable=False),
        sa.Column("dispensed_by", sa.Text(), nullable=True),
        sa.Column("party_id", sa.UUID(), nullable=False),
        sa.Column("legal_entity_id", sa.UUID(), nullable=False),
        sa.Column("division_id", sa.UUID(), nullable=False),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("medical_program_id", sa.UUID(), nullable=True),
        sa.Column("payment_id", sa.Text(), nullable=True),
        sa.Column("payment_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["medication_request_id"],
            ["medication_requests.id"],
            name=op.f("fk_medication_dispenses_medication_request_id_medication_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medication_dispenses")),
    )
    op.create_table(
        "medication_dispense_details",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("medication_dispense_id", sa.UUID(), nullable=False),
        sa.Column("medication_id", sa.UUID(), nullable=False),
        sa.Column("program_medication_id", sa.UUID(), nullable=True),
        sa.Column("medication_qty", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("sell_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("sell_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("discount_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("reimbursement_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("ddd_count", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["medication_dispense_id"],
            ["medication_dispenses.id"],
            name=op.f("fk_medication_dispense_details_medication_dispense_id_medication_dispenses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medication_dispense_details")),
    )
    op.create_table(
        "antibiotic_restrictions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("innm_id", sa.UUID(), nullable=True),
        sa.Column("atc_prefix", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("forbidden", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "allowed_specialities",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("max_qty", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("max_days", sa.Integer(), nullable=True),
        sa.Column(
            "required_diagnoses",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(["innm_id"], ["innms.id"], name=op.f("fk_antibiotic_restrictions_innm_id_innms")),
        sa.ForeignKeyConstraint(
            ["region"], ["regions.katottg"], name=op.f("fk_antibiotic_restrictions_region_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_antibiotic_restrictions")),
    )
    op.create_index("uq_innms_name_original", "innms", ["name_original"], unique=True)
    op.create_index("ix_medications_type_name", "medications", ["type", "name"], unique=False)
    op.create_index(op.f("ix_ingredients_innm_child_id"), "ingredients", ["innm_child_id"], unique=False)
    op.create_index(op.f("ix_ingredients_medication_child_id"), "ingredients", ["medication_child_id"], unique=False)
    op.create_index(op.f("ix_ingredients_parent_id"), "ingredients", ["parent_id"], unique=False)
    op.create_index(
        "uq_ingredients_parent_id_primary",
        "ingredients",
        ["parent_id"],
        unique=True,
        postgresql_where=sa.text("is_primary"),
    )
    op.create_index("uq_medical_programs_name", "medical_programs", ["name"], unique=True)
    op.create_index(
        op.f("ix_program_medications_medication_id"), "program_medications", ["medication_id"], unique=False
    )
    op.create_index(
        "uq_program_medications_program_medication",
        "program_medications",
        ["medical_program_id", "medication_id"],
        unique=True,
    )
    op.create_index(op.f("ix_contracts_legal_entity_id"), "contracts", ["legal_entity_id"], unique=False)
    op.create_index("uq_contracts_contract_number", "contracts", ["contract_number"], unique=True)
    op.create_index(
        "ix_medication_request_requests_new_inserted_at",
        "medication_request_requests",
        ["inserted_at"],
        unique=False,
        postgresql_where=sa.text("status = 'NEW'"),
    )
    op.create_index(
        "ix_medication_request_requests_person_id_status",
        "medication_request_requests",
        ["person_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_medication_requests_active_ends",
        "medication_requests",
        ["dispense_valid_to"],
        unique=False,
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.create_index(
        "ix_medication_requests_person_id_innm_id",
        "medication_requests",
        ["person_id", "innm_id", "medical_program_id"],
        unique=False,
    )
    op.create_index(
        "ix_medication_requests_person_id_status", "medication_requests", ["person_id", "status"], unique=False
    )
    op.create_index("ix_medication_requests_request_number", "medication_requests", ["request_number"], unique=False)
    op.create_index(
        "uq_medication_requests_person_id_mrr",
        "medication_requests",
        ["person_id", "medication_request_requests_id"],
        unique=True,
    )
    op.create_index(
        "ix_medication_dispenses_legal_entity_id_dispensed_at",
        "medication_dispenses",
        ["legal_entity_id", "dispensed_at"],
        unique=False,
    )
    op.create_index(
        "ix_medication_dispenses_medication_request_id", "medication_dispenses", ["medication_request_id"], unique=False
    )
    op.create_index(
        "ix_medication_dispenses_new",
        "medication_dispenses",
        ["inserted_at"],
        unique=False,
        postgresql_where=sa.text("status = 'NEW'"),
    )
    op.create_index(
        "uq_medication_dispenses_mr_new",
        "medication_dispenses",
        ["person_id", "medication_request_id"],
        unique=True,
        postgresql_where=sa.text("status = 'NEW'"),
    )
    op.create_index(
        "ix_medication_dispense_details_dispense",
        "medication_dispense_details",
        ["medication_dispense_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("antibiotic_restrictions")
    op.drop_table("medication_dispense_details")
    op.drop_table("medication_dispenses")
    op.drop_table("medication_requests")
    op.drop_table("medication_request_requests")
    op.drop_table("contracts")
    op.drop_table("program_medications")
    op.drop_table("medical_programs")
    op.drop_table("ingredients")
    op.drop_table("medications")
    op.drop_table("innms")
