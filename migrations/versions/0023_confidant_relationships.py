"""Confidant persons: the requests that make or end a relationship, and the relationships.

Revision ID: 0023_confidant_relationships
Revises: 0022_request_code_sends
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_confidant_relationships"
down_revision: str | Sequence[str] | None = "0022_request_code_sends"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The DDL as the tables were first shipped (the models may move on; this revision does not).
STATEMENTS = (
    """
    CREATE TABLE confidant_relationship_requests (
        id UUID NOT NULL,
        person_id UUID NOT NULL,
        confidant_person_id UUID NOT NULL,
        legal_entity_id UUID NOT NULL,
        action TEXT NOT NULL,
        status TEXT NOT NULL,
        channel TEXT DEFAULT 'MIS' NOT NULL,
        documents_relationship JSONB DEFAULT '[]'::jsonb NOT NULL,
        relationship_id UUID,
        relationship_documents JSONB DEFAULT 'null'::jsonb NOT NULL,
        authorize_with UUID,
        authentication_method_current JSONB DEFAULT 'null'::jsonb NOT NULL,
        otp_hash TEXT,
        otp_expires_at TIMESTAMP WITH TIME ZONE,
        otp_attempts INTEGER DEFAULT 0 NOT NULL,
        otp_sends INTEGER DEFAULT 0 NOT NULL,
        expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
        inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        inserted_by UUID,
        updated_by UUID,
        CONSTRAINT pk_confidant_relationship_requests PRIMARY KEY (id),
        CONSTRAINT fk_confidant_relationship_requests_person_id_persons FOREIGN KEY(person_id) REFERENCES persons (id),
        CONSTRAINT fk_confidant_relationship_requests_confidant_person_id_persons FOREIGN KEY(confidant_person_id)
            REFERENCES persons (id),
        CONSTRAINT fk_confidant_relationship_requests_legal_entity_id_lega_8db1 FOREIGN KEY(legal_entity_id)
            REFERENCES legal_entities (id)
    )
    """,
    """
    CREATE INDEX ix_confidant_relationship_requests_person_id
        ON confidant_relationship_requests (person_id, inserted_at)
    """,
    """
    CREATE TABLE confidant_relationships (
        id UUID NOT NULL,
        person_id UUID NOT NULL,
        confidant_person_id UUID NOT NULL,
        documents_relationship JSONB DEFAULT '[]'::jsonb NOT NULL,
        active_to DATE,
        is_active BOOLEAN DEFAULT true NOT NULL,
        request_id UUID NOT NULL,
        ended_by_request_id UUID,
        ended_at TIMESTAMP WITH TIME ZONE,
        inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        inserted_by UUID,
        updated_by UUID,
        CONSTRAINT pk_confidant_relationships PRIMARY KEY (id),
        CONSTRAINT fk_confidant_relationships_person_id_persons FOREIGN KEY(person_id) REFERENCES persons (id),
        CONSTRAINT fk_confidant_relationships_confidant_person_id_persons FOREIGN KEY(confidant_person_id)
            REFERENCES persons (id)
    )
    """,
    """
    CREATE UNIQUE INDEX uq_confidant_relationships_active_pair
        ON confidant_relationships (person_id, confidant_person_id) WHERE is_active
    """,
    "CREATE INDEX ix_confidant_relationships_person_id ON confidant_relationships (person_id, is_active)",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS confidant_relationships")
    op.execute("DROP TABLE IF EXISTS confidant_relationship_requests")
