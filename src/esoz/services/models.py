"""Tables of the service catalogue (DDL in migrations/versions/0016_services.py)."""

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Numeric, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID

from esoz.core.columns import timestamps
from esoz.core.db import metadata

service_groups = Table(
    "service_groups",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("parent_id", UUID(as_uuid=True), ForeignKey("service_groups.id")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("request_allowed", Boolean, nullable=False, server_default=text("false")),
    *timestamps(authors=True),
)

services = Table(
    "services",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("group_id", UUID(as_uuid=True), ForeignKey("service_groups.id"), nullable=False),
    Column("parent_id", UUID(as_uuid=True), ForeignKey("services.id")),
    Column("is_composition", Boolean, nullable=False, server_default=text("false")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("request_allowed", Boolean, nullable=False, server_default=text("true")),
    *timestamps(authors=True),
    Index("ix_services_group", "group_id"),
)

program_services = Table(
    "program_services",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    # The programme is the prescriptions domain's row: a foreign key by name, no import of its table.
    Column("medical_program_id", UUID(as_uuid=True), ForeignKey("medical_programs.id"), nullable=False),
    Column("service_id", UUID(as_uuid=True), ForeignKey("services.id")),
    Column("service_group_id", UUID(as_uuid=True), ForeignKey("service_groups.id")),
    Column("consumer_price", Numeric(12, 2), nullable=False),
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("request_allowed", Boolean, nullable=False, server_default=text("true")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *timestamps(authors=True),
    CheckConstraint("(service_id IS NULL) <> (service_group_id IS NULL)", name="one_target"),
    Index(
        "uq_program_services_service",
        "medical_program_id",
        "service_id",
        unique=True,
        postgresql_where=text("service_id IS NOT NULL"),
    ),
    Index(
        "uq_program_services_group",
        "medical_program_id",
        "service_group_id",
        unique=True,
        postgresql_where=text("service_group_id IS NOT NULL"),
    ),
)
