"""Tables of the status domain (created by migration 0005_status)."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from esoz.core.db import metadata

TS = DateTime(timezone=True)

# Requests measured by the service itself, merged per component and minute by every API process.
# `hist` counts requests per latency bucket (metrics.BUCKETS_MS) so percentiles survive merging.
status_metrics = Table(
    "status_metrics",
    metadata,
    Column("component", Text, primary_key=True),
    Column("minute", TS, primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("latency_sum_ms", Float, nullable=False),
    Column("hist", ARRAY(Integer), nullable=False),
    Index("ix_status_metrics_minute", "minute"),
)

# One health sample per component and minute: the source of the 90-day uptime bars.
status_samples = Table(
    "status_samples",
    metadata,
    Column("component", Text, primary_key=True),
    Column("minute", TS, primary_key=True),
    Column("state", Text, nullable=False),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_status_samples_minute", "minute"),
)

status_incidents = Table(
    "status_incidents",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("impact", Text, nullable=False),
    Column("components", ARRAY(Text), nullable=False),
    Column("started_at", TS, nullable=False),
    Column("resolved_at", TS),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Column("updated_at", TS, nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('investigating', 'identified', 'monitoring', 'resolved')", name="status"),
    CheckConstraint("impact IN ('none', 'minor', 'major', 'critical')", name="impact"),
    Index("ix_status_incidents_started_at", "started_at"),
)

status_incident_updates = Table(
    "status_incident_updates",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("incident_id", UUID(as_uuid=True), ForeignKey("status_incidents.id", ondelete="CASCADE"), nullable=False),
    Column("status", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Index("ix_status_incident_updates_incident_id", "incident_id"),
)

status_maintenances = Table(
    "status_maintenances",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("components", ARRAY(Text), nullable=False),
    Column("starts_at", TS, nullable=False),
    Column("ends_at", TS, nullable=False),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Column("cancelled_at", TS),
    CheckConstraint("ends_at > starts_at", name="period"),
    Index("ix_status_maintenances_ends_at", "ends_at"),
)

# Which maintenance (ours, or a delivery window) already had its advance notice e-mailed.
status_notices = Table(
    "status_notices",
    metadata,
    Column("source", Text, primary_key=True),  # "status" | "delivery"
    Column("ref_id", UUID(as_uuid=True), primary_key=True),
    Column("sent_at", TS, nullable=False, server_default=func.now()),
)

# The confirmation token is kept as SHA-256 only (it proves the address is yours); the unsubscribe token
# is kept as is, since every notice must carry it and it can do nothing but stop e-mail to that address.
status_subscribers = Table(
    "status_subscribers",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("components", ARRAY(Text), nullable=False),  # empty = every component
    Column("pending_components", ARRAY(Text)),  # a confirmed subscriber's change, applied on confirmation
    Column("confirm_hash", Text, nullable=False),
    Column("unsubscribe_token", Text, nullable=False, unique=True),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Column("confirmed_at", TS),
    Column("unsubscribed_at", TS),
    Index("ix_status_subscribers_confirm_hash", "confirm_hash"),
)

status_reports = Table(
    "status_reports",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("number", Text, nullable=False, unique=True),
    Column("facility", Text, nullable=False),
    Column("mis", Text, nullable=False),
    Column("component", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("contact_email", Text, nullable=False),
    Column("ip", Text, nullable=False),
    Column("incident_id", UUID(as_uuid=True), ForeignKey("status_incidents.id", ondelete="SET NULL")),
    Column("created_at", TS, nullable=False, server_default=func.now()),
    Index("ix_status_reports_created_at", "created_at"),
    Index("ix_status_reports_incident_id", "incident_id"),
)
