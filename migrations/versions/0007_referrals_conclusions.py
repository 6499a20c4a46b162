"""Referrals and conclusions: async jobs, service requests (e-referrals), compositions (medical conclusions),
composition titles.

Revision ID: 0007_referrals_conclusions
Revises: 0001_foundation
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_referrals_conclusions"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DDL = [
    """
CREATE TABLE me_jobs (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'failed', 'failed_with_error')),
    status_code INTEGER NOT NULL DEFAULT 202,
    legal_entity_id UUID,
    request_hash TEXT,
    links JSONB NOT NULL DEFAULT '[]'::jsonb,
    error JSONB,
    inserted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)""",
    # Job dedup of the real ME: the same request gets the pending job back instead of a second one.
    "CREATE UNIQUE INDEX uq_me_jobs_pending_hash ON me_jobs (request_hash) WHERE status = 'pending'",
    """
CREATE TABLE service_requests (
    id UUID NOT NULL,
    person_id UUID NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'in_progress', 'completed', 'recalled', 'entered_in_error')),
    requisition TEXT NOT NULL,
    category TEXT NOT NULL,
    service_id UUID NOT NULL,
    requester_employee_id UUID NOT NULL,
    requester_legal_entity_id UUID NOT NULL,
    performer_legal_entity_id UUID,
    used_by_legal_entity_id UUID,
    used_by_employee_id UUID,
    expiration_date TIMESTAMPTZ NOT NULL,
    content JSONB NOT NULL,
    status_reason JSONB,
    explanatory_letter TEXT,
    completed_with JSONB,
    status_history JSONB NOT NULL DEFAULT '[]'::jsonb,
    inserted_by UUID,
    updated_by UUID,
    inserted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_service_requests PRIMARY KEY (person_id, id)
)""",
    # Sharding by person_id keeps unique keys person-scoped; ids are uuid7, looked up through this index.
    "CREATE INDEX ix_service_requests_id ON service_requests (id)",
    "CREATE INDEX ix_service_requests_requisition ON service_requests (requisition)",
    "CREATE INDEX ix_service_requests_active_expiry ON service_requests (expiration_date) WHERE status = 'active'",
    """
CREATE TABLE composition_titles (
    title TEXT PRIMARY KEY,
    person_id UUID NOT NULL,
    type TEXT NOT NULL,
    legal_entity_id UUID,
    composition_id UUID,
    inserted_at TIMESTAMPTZ NOT NULL DEFAULT now()
)""",
    """
CREATE TABLE compositions (
    id UUID NOT NULL,
    person_id UUID NOT NULL,
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PRELIMINARY', 'FINAL', 'AMENDED', 'ENTERED_IN_ERROR')),
    author_id UUID NOT NULL,
    custodian_id UUID NOT NULL,
    validity_start DATE NOT NULL,
    validity_end DATE NOT NULL,
    replaces_id UUID,
    replaced_by_id UUID,
    content JSONB NOT NULL,
    status_reason JSONB,
    explanatory_letter TEXT,
    integration_data JSONB NOT NULL DEFAULT '[]'::jsonb,
    signed_at TIMESTAMPTZ,
    inserted_by UUID,
    updated_by UUID,
    inserted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT pk_compositions PRIMARY KEY (person_id, id)
)""",
    "CREATE INDEX ix_compositions_id ON compositions (id)",
    "CREATE INDEX ix_compositions_title ON compositions (title)",  # titles are unique in composition_titles
]


def upgrade() -> None:
    for statement in DDL:
        op.execute(statement)


def downgrade() -> None:
    for table in ("compositions", "composition_titles", "service_requests", "me_jobs"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
