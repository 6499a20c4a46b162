"""Registry requests: declaration requests and person requests a patient confirms and an employee signs;
the master patient index's merge candidates and merges.

Revision ID: 0019_registry_requests
Revises: 0013_audit_person
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_registry_requests"
down_revision: str | Sequence[str] | None = "0013_audit_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The DDL as the tables were first shipped (the models may move on; this revision does not).
STATEMENTS = (
    """
    CREATE TABLE declaration_requests (
        id UUID NOT NULL,
        person_id UUID NOT NULL,
        employee_id UUID NOT NULL,
        division_id UUID NOT NULL,
        legal_entity_id UUID NOT NULL,
        start_date DATE NOT NULL,
        end_date DATE NOT NULL,
        scope TEXT NOT NULL,
        status TEXT NOT NULL,
        status_reason TEXT,
        declaration_id UUID NOT NULL,
        declaration_number TEXT NOT NULL,
        parent_declaration_id UUID,
        channel TEXT DEFAULT 'MIS' NOT NULL,
        authorize_with UUID,
        authentication_method_current JSONB DEFAULT 'null'::jsonb NOT NULL,
        data_to_be_signed JSONB DEFAULT 'null'::jsonb NOT NULL,
        system_declaration_limit INTEGER,
        current_declaration_count INTEGER,
        overlimit BOOLEAN DEFAULT false NOT NULL,
        otp_hash TEXT,
        otp_expires_at TIMESTAMP WITH TIME ZONE,
        otp_attempts INTEGER DEFAULT 0 NOT NULL,
        expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
        inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        inserted_by UUID,
        updated_by UUID,
        CONSTRAINT pk_declaration_requests PRIMARY KEY (id),
        CONSTRAINT fk_declaration_requests_person_id_persons FOREIGN KEY(person_id) REFERENCES persons (id),
        CONSTRAINT fk_declaration_requests_employee_id_employees FOREIGN KEY(employee_id) REFERENCES employees (id),
        CONSTRAINT fk_declaration_requests_division_id_divisions FOREIGN KEY(division_id) REFERENCES divisions (id),
        CONSTRAINT fk_declaration_requests_legal_entity_id_legal_entities FOREIGN KEY(legal_entity_id)
            REFERENCES legal_entities (id)
    )
    """,
    """
    CREATE INDEX ix_declaration_requests_legal_entity_id ON declaration_requests (legal_entity_id, inserted_at)
    """,
    """
    CREATE INDEX ix_declaration_requests_open_expires_at ON declaration_requests (expires_at)
    WHERE status IN ('NEW', 'APPROVED')
    """,
    """
    CREATE INDEX ix_declaration_requests_person_id ON declaration_requests (person_id, inserted_at)
    """,
    """
    CREATE TABLE person_requests (
        id UUID NOT NULL,
        person_id UUID,
        legal_entity_id UUID NOT NULL,
        status TEXT NOT NULL,
        status_reason TEXT,
        person JSONB DEFAULT '{}'::jsonb NOT NULL,
        patient_signed BOOLEAN DEFAULT false NOT NULL,
        process_disclosure_data_consent BOOLEAN DEFAULT true NOT NULL,
        authentication_method_current JSONB DEFAULT 'null'::jsonb NOT NULL,
        otp_hash TEXT,
        otp_expires_at TIMESTAMP WITH TIME ZONE,
        otp_attempts INTEGER DEFAULT 0 NOT NULL,
        expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
        inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        inserted_by UUID,
        updated_by UUID,
        CONSTRAINT pk_person_requests PRIMARY KEY (id),
        CONSTRAINT fk_person_requests_person_id_persons FOREIGN KEY(person_id) REFERENCES persons (id),
        CONSTRAINT fk_person_requests_legal_entity_id_legal_entities FOREIGN KEY(legal_entity_id)
            REFERENCES legal_entities (id)
    )
    """,
    """
    CREATE INDEX ix_person_requests_legal_entity_id ON person_requests (legal_entity_id, inserted_at)
    """,
    """
    CREATE INDEX ix_person_requests_person_id ON person_requests (person_id)
    """,
    """
    CREATE TABLE merge_candidates (
        id UUID NOT NULL,
        person_id UUID NOT NULL,
        master_person_id UUID NOT NULL,
        status TEXT DEFAULT 'NEW' NOT NULL,
        reasons JSONB DEFAULT '[]'::jsonb NOT NULL,
        resolved_by UUID,
        resolved_at TIMESTAMP WITH TIME ZONE,
        inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        CONSTRAINT pk_merge_candidates PRIMARY KEY (id),
        CONSTRAINT fk_merge_candidates_person_id_persons FOREIGN KEY(person_id) REFERENCES persons (id),
        CONSTRAINT fk_merge_candidates_master_person_id_persons FOREIGN KEY(master_person_id) REFERENCES persons (id)
    )
    """,
    """
    CREATE INDEX ix_merge_candidates_open ON merge_candidates (inserted_at) WHERE status = 'NEW'
    """,
    """
    CREATE UNIQUE INDEX uq_merge_candidates_pair ON merge_candidates (person_id, master_person_id)
    """,
    """
    CREATE TABLE person_merges (
        id UUID NOT NULL,
        person_id UUID NOT NULL,
        master_person_id UUID NOT NULL,
        merge_candidate_id UUID,
        previous_status TEXT NOT NULL,
        terminated_declarations JSONB DEFAULT '[]'::jsonb NOT NULL,
        merged_by UUID,
        undone_at TIMESTAMP WITH TIME ZONE,
        undone_by UUID,
        inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        CONSTRAINT pk_person_merges PRIMARY KEY (id),
        CONSTRAINT fk_person_merges_person_id_persons FOREIGN KEY(person_id) REFERENCES persons (id),
        CONSTRAINT fk_person_merges_master_person_id_persons FOREIGN KEY(master_person_id) REFERENCES persons (id),
        CONSTRAINT fk_person_merges_merge_candidate_id_merge_candidates FOREIGN KEY(merge_candidate_id)
            REFERENCES merge_candidates (id)
    )
    """,
    """
    CREATE INDEX ix_person_merges_master ON person_merges (master_person_id)
    """,
    """
    CREATE UNIQUE INDEX uq_person_merges_active ON person_merges (person_id) WHERE undone_at IS NULL
    """,
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("person_merges", "merge_candidates", "person_requests", "declaration_requests"):
        op.drop_table(table)
