"""Authentication method requests: a patient adds, changes or ends a way to confirm actions (an SMS phone, the
documents), confirmed with an SMS code or the documents as person requests are.

Revision ID: 0024_auth_method_requests
Revises: 0023_confidant_relationships
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_auth_method_requests"
down_revision: str | Sequence[str] | None = "0023_confidant_relationships"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The DDL as the table was first shipped (the model may move on; this revision does not).
STATEMENTS = (
    """
    CREATE TABLE authentication_method_requests (
        id UUID NOT NULL,
        person_id UUID NOT NULL,
        legal_entity_id UUID NOT NULL,
        action TEXT NOT NULL,
        status TEXT NOT NULL,
        channel TEXT DEFAULT 'MIS' NOT NULL,
        authentication_method JSONB DEFAULT '{}'::jsonb NOT NULL,
        authentication_method_current JSONB DEFAULT 'null'::jsonb NOT NULL,
        pending_phones JSONB DEFAULT '[]'::jsonb NOT NULL,
        otp_phone TEXT,
        otp_hash TEXT,
        otp_expires_at TIMESTAMP WITH TIME ZONE,
        otp_attempts INTEGER DEFAULT 0 NOT NULL,
        otp_sends INTEGER DEFAULT 0 NOT NULL,
        ended_method JSONB DEFAULT 'null'::jsonb NOT NULL,
        expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
        inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        inserted_by UUID,
        updated_by UUID,
        CONSTRAINT pk_authentication_method_requests PRIMARY KEY (id),
        CONSTRAINT fk_authentication_method_requests_person_id_persons FOREIGN KEY(person_id) REFERENCES persons (id),
        CONSTRAINT fk_authentication_method_requests_legal_entity_id_legal_entities FOREIGN KEY(legal_entity_id)
            REFERENCES legal_entities (id)
    )
    """,
    """
    CREATE INDEX ix_authentication_method_requests_person_id ON authentication_method_requests (person_id, inserted_at)
    """,
)
# Who else confirms with a phone, for whom a person is a confidant: containment (@>) of a method. Built
# CONCURRENTLY, outside the migration's transaction: on a country's persons table a plain CREATE INDEX would block
# every write to it for the whole build.
PERSONS_INDEX = """
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_persons_authentication_methods
    ON persons USING gin (authentication_methods jsonb_path_ops)
"""


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
    with op.get_context().autocommit_block():
        op.execute(PERSONS_INDEX)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_persons_authentication_methods")
    op.execute("DROP TABLE IF EXISTS authentication_method_requests")
