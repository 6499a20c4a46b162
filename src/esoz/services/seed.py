"""Loads the demo catalogue (catalogue.py) into the database: groups, services, the service programme and what it
covers. Idempotent. The demo seed runs it (`add_services`, an `esoz.demo` hook), and so does the bench generator,
which goes through the demo seed.
"""

from typing import Any

from sqlalchemy import Boolean, Text, column, table
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from esoz.core.db import async_url
from esoz.services.catalogue import load
from esoz.services.models import program_services, service_groups, services

# The service programme is a row of the programmes table (the prescriptions domain's): written here by name, as
# service.py reads it, so that the catalogue does not depend on the prescriptions domain.
_programs = table(
    "medical_programs",
    column("id", UUID(as_uuid=True)),
    column("name", Text),
    column("type", Text),
    column("funding_source", Text),
    column("mr_blank_type", Text),
    column("medication_request_allowed", Boolean),
    column("medication_dispense_allowed", Boolean),
    column("medical_program_settings", JSONB),
)


async def load_catalogue(conn: AsyncConnection) -> dict[str, int]:
    """Insert whatever of the shipped catalogue is missing; returns the catalogue's counts."""
    cat = load()
    group_ids = {g.code: g.id for g in cat.groups}
    service_ids = {s.code: s.id for s in cat.services}
    # Parents before children: the file lists each top-level group before its subgroups.
    for g in cat.groups:
        await conn.execute(
            insert(service_groups).on_conflict_do_nothing(),
            [{"id": g.id, "code": g.code, "name": g.name, "request_allowed": g.request_allowed,
              "parent_id": group_ids[g.parent] if g.parent else None}],
        )  # fmt: skip
    await conn.execute(
        insert(services).on_conflict_do_nothing(),
        [
            {"id": s.id, "code": s.code, "name": s.name, "category": s.category, "group_id": group_ids[s.group],
             "is_composition": s.is_composition, "request_allowed": s.request_allowed}
            for s in cat.services
        ],
    )  # fmt: skip
    entries = 0
    for p in cat.programs:
        await conn.execute(
            insert(_programs).on_conflict_do_nothing(),
            [{"id": p.id, "name": p.name, "type": "SERVICE", "funding_source": p.funding_source,
              # The column is required of every programme; a service programme prescribes nothing.
              "mr_blank_type": "F-1", "medication_request_allowed": False, "medication_dispense_allowed": False,
              "medical_program_settings": {}}],
        )  # fmt: skip
        rows: list[dict[str, Any]] = [
            {"id": e.id, "medical_program_id": p.id, "consumer_price": e.consumer_price, "description": e.description,
             "service_id": service_ids[e.service] if e.service else None,
             "service_group_id": group_ids[e.group] if e.group else None}
            for e in p.services
        ]  # fmt: skip
        await conn.execute(insert(program_services).on_conflict_do_nothing(), rows)
        entries += len(rows)
    return {"service_groups": len(cat.groups), "services": len(cat.services), "program_services": entries}


async def load_catalogue_into(url: str) -> dict[str, int]:
    """The catalogue into the database at `url` (tests, scripts)."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            return await load_catalogue(conn)
    finally:
        await engine.dispose()


async def add_services(conn: AsyncConnection, data: Any, accounts: dict[str, Any], settings: Any) -> None:
    """The demo hook (`esoz.demo.HOOKS`): the catalogue, and its programmes in the accounts file."""
    summary = await load_catalogue(conn)
    accounts["services"] = {
        **summary,
        "programs": [{"id": str(p.id), "name": p.name, "type": "SERVICE"} for p in load().programs],
    }
