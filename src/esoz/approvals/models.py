"""Tables of the approvals domain (DDL in migrations/versions/0018_approvals.py)."""

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from esoz.core.columns import jsonb, timestamp
from esoz.core.db import metadata

# One row per approval. `episode_ids` empty = the patient's records as a whole; otherwise only those episodes.
# The code is kept as an argon2 hash; it is cleared once used, so a code opens one approval once.
approvals = Table(
    "approvals",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), primary_key=True),
    Column("status", Text, nullable=False),
    Column("granted_to_type", Text, nullable=False),
    Column("granted_to_id", UUID(as_uuid=True), nullable=False),
    Column("episode_ids", ARRAY(UUID(as_uuid=True)), nullable=False),
    jsonb("granted_resources", "'[]'::jsonb"),
    Column("access_level", Text, nullable=False),
    jsonb("reason", None, nullable=True),
    Column("created_by_employee_id", UUID(as_uuid=True)),
    Column("legal_entity_id", UUID(as_uuid=True), nullable=False),
    Column("authorize_with", UUID(as_uuid=True)),
    Column("auth_method_type", Text, nullable=False),
    Column("phone_masked", Text),
    Column("is_verified", Boolean, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("code_hash", Text),
    Column("code_expires_at", DateTime(timezone=True)),
    Column("code_attempts", Integer, nullable=False),
    Column("codes_sent", Integer, nullable=False),
    Column("inserted_by", UUID(as_uuid=True)),
    Column("updated_by", UUID(as_uuid=True)),
    timestamp("inserted_at"),
    timestamp("updated_at"),
    # Every access check asks "does this patient have an active approval for this grantee": one index range.
    Index("ix_approvals_grant", "person_id", "granted_to_id", "expires_at", postgresql_where=text("status = 'active'")),
)
