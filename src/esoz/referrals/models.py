"""Tables of the referrals domain (DDL in migrations/versions/0007_referrals_conclusions.py,
0016_services.py)."""

from typing import Any

from sqlalchemy import Column, DateTime, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from esoz.core.columns import jsonb, timestamp
from esoz.core.db import metadata


def _jsonb(name: str, default: str | None = None, nullable: bool = True) -> Column[Any]:
    return jsonb(name, default, nullable)  # referral sub-records are optional by default


service_requests = Table(
    "service_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), primary_key=True),
    Column("status", Text, nullable=False),
    Column("requisition", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("requester_employee_id", UUID(as_uuid=True), nullable=False),
    Column("requester_legal_entity_id", UUID(as_uuid=True), nullable=False),
    Column("performer_legal_entity_id", UUID(as_uuid=True)),
    Column("used_by_legal_entity_id", UUID(as_uuid=True)),
    Column("used_by_employee_id", UUID(as_uuid=True)),
    Column("program_id", UUID(as_uuid=True)),
    Column("program_service_id", UUID(as_uuid=True)),
    Column("expiration_date", DateTime(timezone=True), nullable=False),
    _jsonb("content", nullable=False),
    _jsonb("status_reason"),
    Column("explanatory_letter", Text),
    _jsonb("completed_with"),
    _jsonb("status_history", "'[]'::jsonb", nullable=False),
    Column("inserted_by", UUID(as_uuid=True)),
    Column("updated_by", UUID(as_uuid=True)),
    timestamp("inserted_at"),
    timestamp("updated_at"),
)
