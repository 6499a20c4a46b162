"""Tables owned by core: the hash-chained audit log and the registry of issued human numbers."""

from sqlalchemy import BigInteger, Column, DateTime, Index, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from esoz.core.db import metadata

# Rows are written unsealed inside business transactions (no global lock on the request path);
# the sealer later assigns `seq` in commit order and chains `hash` over `prev_hash`.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("request_id", Text),
    Column("actor_user_id", UUID(as_uuid=True)),
    Column("client_id", UUID(as_uuid=True)),
    Column("legal_entity_id", UUID(as_uuid=True)),
    Column("action", Text, nullable=False),
    Column("resource_type", Text, nullable=False),
    Column("resource_id", Text),
    Column("outcome", Text, nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # The patient whose data the row concerns (reads and writes of patient data): a patient's access history.
    Column("person_id", UUID(as_uuid=True)),
    Column("seq", BigInteger, unique=True),
    Column("prev_hash", Text),
    Column("hash", Text),
    Index("ix_audit_log_unsealed", "id", postgresql_where=text("seq IS NULL")),
    Index("ix_audit_log_person", "person_id", "occurred_at", postgresql_where=text("person_id IS NOT NULL")),
    Index("ix_audit_log_request", "request_id"),
    Index("ix_audit_log_occurred", "occurred_at", postgresql_using="brin"),
)

# One row per human number ever issued, whatever the entity: global uniqueness without
# making every entity table carry a global unique index (which sharding by person_id forbids).
human_numbers = Table(
    "human_numbers",
    metadata,
    Column("number", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
