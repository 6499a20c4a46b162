"""The event feed table: one row per status change, kept `events_retention_days`.

`published_at` doubles as the NATS fan-out outbox: NULL until the relay has published the event.
"""

from sqlalchemy import Column, DateTime, Index, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from esoz.core.db import metadata

events = Table(
    "events",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("entity_type", Text, nullable=False),
    Column("entity_id", UUID(as_uuid=True), nullable=False),
    Column("properties", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("event_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("changed_by", UUID(as_uuid=True)),
    Column("legal_entity_id", UUID(as_uuid=True)),  # whose MIS may read it; NULL = payer (NHS) only
    Column("published_at", DateTime(timezone=True)),
    Index("ix_events_event_time", "event_time"),
    Index("ix_events_entity_type_event_time", "entity_type", "event_time"),
    Index("ix_events_unpublished", "event_time", postgresql_where=text("published_at IS NULL")),
)
