"""Column shapes every domain's tables repeat: JSONB with a server default, UTC timestamps."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID


def jsonb(name: str, default: str | None = "'{}'::jsonb", nullable: bool = False) -> Column[Any]:
    """A JSONB column; `default` is SQL (e.g. "'[]'::jsonb"), None for no server default."""
    return Column(name, JSONB, nullable=nullable, server_default=text(default) if default else None)


def timestamp(name: str, nullable: bool = False) -> Column[datetime]:
    """A timestamptz column; a NOT NULL one defaults to now()."""
    return Column(name, DateTime(timezone=True), nullable=nullable, server_default=None if nullable else func.now())


def timestamps(*, authors: bool = False) -> list[Column[Any]]:
    """inserted_at / updated_at (and, with `authors`, inserted_by / updated_by)."""
    columns: list[Column[Any]] = [timestamp("inserted_at"), timestamp("updated_at")]
    if authors:
        columns += [Column("inserted_by", UUID(as_uuid=True)), Column("updated_by", UUID(as_uuid=True))]
    return columns
