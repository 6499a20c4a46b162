"""Tables of confidant persons: the requests that make or end a relationship, and the relationships.

A relationship links a person (a child, an incapacitated adult) to the person who acts for them. At most one
active relationship joins the same two people (the partial unique index), so two concurrent requests for the
same pair make one relationship.
"""

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID

from esoz.core.columns import jsonb, timestamps
from esoz.core.db import metadata

confidant_relationship_requests = Table(
    "confidant_relationship_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("confidant_person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("legal_entity_id", UUID(as_uuid=True), ForeignKey("legal_entities.id"), nullable=False),
    Column("action", Text, nullable=False),  # INSERT | DEACTIVATE
    Column("status", Text, nullable=False),  # NEW | APPROVED | COMPLETED | REJECTED
    Column("channel", Text, nullable=False, server_default=text("'MIS'")),
    jsonb("documents_relationship", "'[]'::jsonb"),
    Column("relationship_id", UUID(as_uuid=True)),  # the relationship a DEACTIVATE ends
    jsonb("relationship_documents", "'null'::jsonb"),  # the documents that end it
    Column("authorize_with", UUID(as_uuid=True)),
    jsonb("authentication_method_current", "'null'::jsonb"),
    Column("otp_hash", Text),
    Column("otp_expires_at", DateTime(timezone=True)),
    Column("otp_attempts", Integer, nullable=False, server_default=text("0")),
    Column("otp_sends", Integer, nullable=False, server_default=text("0")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    *timestamps(authors=True),
    Index("ix_confidant_relationship_requests_person_id", "person_id", "inserted_at"),
)

confidant_relationships = Table(
    "confidant_relationships",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    Column("confidant_person_id", UUID(as_uuid=True), ForeignKey("persons.id"), nullable=False),
    jsonb("documents_relationship", "'[]'::jsonb"),
    Column("active_to", Date),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("request_id", UUID(as_uuid=True), nullable=False),
    Column("ended_by_request_id", UUID(as_uuid=True)),
    Column("ended_at", DateTime(timezone=True)),
    *timestamps(authors=True),
    Index("ix_confidant_relationships_person_id", "person_id", "is_active"),
    Index(
        "uq_confidant_relationships_active_pair",
        "person_id",
        "confidant_person_id",
        unique=True,
        postgresql_where=text("is_active"),
    ),
)
