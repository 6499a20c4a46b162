"""Foundation: audit log, human numbers, and the registry (regions, dictionaries, legal entities,
divisions, parties, employees, persons, declarations).

Revision ID: 0001_foundation
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_foundation"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit log is append-only: a row may be sealed once (seq/prev_hash/hash set from NULL), never
# edited or deleted. A superuser can still bypass triggers; the hash chain makes that detectable.
AUDIT_GUARD = """
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit_log is append-only';
  END IF;
  IF OLD.seq IS NOT NULL
     OR (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash')
        IS DISTINCT FROM (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash')
  THEN
    RAISE EXCEPTION 'audit_log rows can only be sealed, never changed';
  END IF;
  RETURN NEW;
END $$
"""
AUDIT_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("legal_entity_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("prev_hash", sa.Text(), nullable=True),
        sa.Column("hash", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_log_seq")),
    )
    op.create_index("ix_audit_log_unsealed", "audit_log", ["id"], unique=False, postgresql_where=sa.text("seq IS NULL"))
    op.create_table(
        "dictionaries",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "values",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "labels",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_dictionaries")),
    )
    op.create_table(
        "human_numbers",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_human_numbers")),
    )
    op.create_table(
        "parties",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("second_name", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.Text(), nullable=False),
        sa.Column("tax_id", sa.Text(), nullable=False),
        sa.Column("no_tax_id", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("about_myself", sa.Text(), nullable=True),
        sa.Column("working_experience", sa.Integer(), nullable=True),
        sa.Column("declaration_limit", sa.Integer(), nullable=True),
        sa.Column(
            "documents",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "phones",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "educations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "qualifications",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "specialities",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "science_degree",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'null'::jsonb"),
            nullable=False,
        ),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parties")),
    )
    op.create_index(op.f("ix_parties_tax_id"), "parties", ["tax_id"], unique=False)
    op.create_table(
        "regions",
        sa.Column("katottg", sa.Text(), nullable=False),
        sa.Column("name_uk", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("iso", sa.Text(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("katottg", name=op.f("pk_regions")),
    )
    op.create_table(
        "legal_entities",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("edrpou", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=True),
        sa.Column("public_name", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("legal_form", sa.Text(), nullable=True),
        sa.Column("owner_property_type", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("beneficiary", sa.Text(), nullable=True),
        sa.Column("receiver_funds_code", sa.Text(), nullable=True),
        sa.Column("nhs_verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("nhs_reviewed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("nhs_comment", sa.Text(), nullable=True),
        sa.Column("mis_verified", sa.Text(), server_default=sa.text("'NOT_VERIFIED'"), nullable=False),
        sa.Column("edr_verified", sa.Boolean(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("created_by_mis_client_id", sa.UUID(), nullable=True),
        sa.Column(
            "kveds",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "addresses",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "phones",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "accreditation",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'null'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "licenses",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "archive",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(["region"], ["regions.katottg"], name=op.f("fk_legal_entities_region_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_entities")),
    )
    op.create_index("uq_legal_entities_edrpou_type", "legal_entities", ["edrpou", "type"], unique=True)
    op.create_index(
        op.f("ix_legal_entities_created_by_mis_client_id"), "legal_entities", ["created_by_mis_client_id"], unique=False
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("second_name", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_country", sa.Text(), nullable=False),
        sa.Column("birth_settlement", sa.Text(), nullable=False),
        sa.Column("gender", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("tax_id", sa.Text(), nullable=True),
        sa.Column("no_tax_id", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("unzr", sa.Text(), nullable=True),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("preferred_way_communication", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("patient_signed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("process_disclosure_data_consent", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column(
            "documents",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "phones",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "addresses",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "authentication_methods",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "emergency_contact",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'null'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "confidant_person",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("inserted_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(["region"], ["regions.katottg"], name=op.f("fk_persons_region_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    op.create_index(
        "ix_persons_search",
        "persons",
        [sa.literal_column("lower(last_name)"), sa.literal_column("lower(first_name)"), "birth_date"],
        unique=False,
    )
    op.create_index("ix_persons_tax_id", "persons", ["tax_id"], unique=False)
    op.create_table(
        "divisions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("legal_entity_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("mountain_group", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("dls_id", sa.Text(), nullable=True),
        sa.Column("dls_verified", sa.Boolean(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column(
            "addresses",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "phones",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "location",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'null'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "working_hours",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'null'::jsonb"),
            nullable=False,
        ),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["legal_entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_divisions_legal_entity_id_legal_entities"),
        ),
        sa.ForeignKeyConstraint(["region"], ["regions.katottg"], name=op.f("fk_divisions_region_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_divisions")),
    )
    op.create_index(op.f("ix_divisions_legal_entity_id"), "divisions", ["legal_entity_id"], unique=False)
    op.create_table(
        "employees",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("legal_entity_id", sa.UUID(), nullable=False),
        sa.Column("division_id", sa.UUID(), nullable=True),
        sa.Column("party_id", sa.UUID(), nullable=False),
        sa.Column("employee_type", sa.Text(), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "speciality",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'null'::jsonb"),
            nullable=False,
        ),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["division_id"], ["divisions.id"], name=op.f("fk_employees_division_id_divisions")),
        sa.ForeignKeyConstraint(
            ["legal_entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_employees_legal_entity_id_legal_entities"),
        ),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name=op.f("fk_employees_party_id_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employees")),
    )
    op.create_index(op.f("ix_employees_division_id"), "employees", ["division_id"], unique=False)
    op.create_index(op.f("ix_employees_legal_entity_id"), "employees", ["legal_entity_id"], unique=False)
    op.create_index(op.f("ix_employees_party_id"), "employees", ["party_id"], unique=False)
    op.create_table(
        "declarations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("declaration_number", sa.Text(), nullable=False),
        sa.Column("employee_id", sa.UUID(), nullable=False),
        sa.Column("division_id", sa.UUID(), nullable=False),
        sa.Column("legal_entity_id", sa.UUID(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), server_default=sa.text("'family_doctor'"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reason_description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("overlimit", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("declaration_request_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column("inserted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["division_id"], ["divisions.id"], name=op.f("fk_declarations_division_id_divisions")),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"], name=op.f("fk_declarations_employee_id_employees")),
        sa.ForeignKeyConstraint(
            ["legal_entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_declarations_legal_entity_id_legal_entities"),
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_declarations_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declarations")),
    )
    op.create_index("ix_declarations_employee_id_status", "declarations", ["employee_id", "status"], unique=False)
    op.create_index(
        "ix_declarations_legal_entity_id_inserted_at",
        "declarations",
        ["legal_entity_id", "inserted_at", "id"],
        unique=False,
    )
    op.create_index("ix_declarations_inserted_at_id", "declarations", ["inserted_at", "id"], unique=False)
    op.create_index(
        "uq_declarations_person_id_active",
        "declarations",
        ["person_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('active', 'pending_verification')"),
    )
    op.create_index(
        "uq_declarations_person_id_number", "declarations", ["person_id", "declaration_number"], unique=True
    )
    op.execute(AUDIT_GUARD)
    op.execute(AUDIT_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_guard()")
    for table in (
        "declarations",
        "persons",
        "employees",
        "parties",
        "divisions",
        "legal_entities",
        "dictionaries",
        "regions",
        "human_numbers",
        "audit_log",
    ):
        op.drop_table(table)
