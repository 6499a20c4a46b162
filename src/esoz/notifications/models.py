"""Tables of the notifications domain. Messages themselves live in the core outbox table."""

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID

from esoz.core.db import metadata
from esoz.core.outbox import outbox

# A planned outage of a delivery channel (optionally of one provider): messages due inside it are held.
maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("channel", Text, nullable=False),
    Column("provider", Text),  # NULL = whichever provider the channel uses
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("cancelled_at", DateTime(timezone=True)),
    CheckConstraint("ends_at > starts_at", name="period"),
    Index("ix_maintenance_windows_ends_at", "ends_at"),
)

__all__ = ["maintenance_windows", "outbox"]
