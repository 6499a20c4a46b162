"""Tables of the conclusions domain (DDL in migrations/versions/0007_referrals_conclusions.py)."""

from sqlalchemy import Column, Date, DateTime, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from esoz.core.db import metadata

composition_titles = Table(
    "composition_titles",
    metadata,
    Column("title", Text, primary_key=True),
    Column("person_id", UUID(as_uuid=True), nullable=False),
    Column("type", Text, nullable=False),
    Column("legal_entity_id", UUID(as_uuid=True)),
    Column("composition_id", UUID(as_uuid=True)),
    Column("inserted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

compositions = Table(
    "compositions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), primary_key=True),
    Column("title", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("author_id", UUID(as_uuid=True), nullable=False),
    Column("custodian_id", UUID(as_uuid=True), nullable=False),
    Column("validity_start", Date, nullable=False),
    Column("validity_end", Date, nullable=False),
    Column("replaces_id", UUID(as_uuid=True)),
    Column("replaced_by_id", UUID(as_uuid=True)),
    Column("content", JSONB, nullable=False),
    Column("status_reason", JSONB),
    Column("explanatory_letter", Text),
    Column("integration_data", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("signed_at", DateTime(timezone=True)),
    Column("inserted_by", UUID(as_uuid=True)),
    Column("updated_by", UUID(as_uuid=True)),
    Column("inserted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
