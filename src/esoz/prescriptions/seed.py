"""Prescriptions in the demo: the shipped catalogue and a reimbursement contract of every demo pharmacy for
every programme that needs one (all its divisions take part). Idempotent: run it after the registry seed.

    from esoz.prescriptions.seed import seed_prescriptions_demo
    async with engine.begin() as conn:
        summary = await seed_prescriptions_demo(conn)
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.prescriptions.catalogue import load_catalogue, program_id, program_rows
from esoz.prescriptions.common import catalogue_id, settings_of, today
from esoz.prescriptions.models import contracts
from esoz.registry import repository

PHARMACY_TYPES = ("PHARMACY", "MSP_PHARMACY")


async def seed_prescriptions_demo(conn: AsyncConnection, on: date | None = None) -> dict[str, Any]:
    summary = await load_catalogue(conn)
    on = on or today()
    pharmacies = await repository.active_legal_entities_of_types(conn, types=PHARMACY_TYPES)
    owned: dict[Any, list[Any]] = {}
    for row in await repository.active_divisions_of(conn, legal_entity_ids=[p.id for p in pharmacies]):
        owned.setdefault(row.legal_entity_id, []).append(row.id)
    needing = [
        p
        for p in program_rows()
        if not settings_of({"medical_program_settings": p["medical_program_settings"]})[
            "skip_contract_provision_verify"
        ]
    ]
    rows = [
        {
            "id": catalogue_id("contract", f"{pharmacy.id}|{program['name']}"),
            "contract_number": f"{pharmacy.edrpou}-{i + 1:02d}-{on.year}",
            "type": "REIMBURSEMENT",
            "legal_entity_id": pharmacy.id,
            "medical_program_id": program_id(program["name"]),
            "status": "VERIFIED",
            "start_date": on - timedelta(days=30),
            "end_date": date(on.year + 1, 12, 31),
            "contract_divisions": owned[pharmacy.id],
        }
        for pharmacy in pharmacies
        if owned.get(pharmacy.id)
        for i, program in enumerate(needing)
    ]
    if rows:
        await conn.execute(insert(contracts).on_conflict_do_nothing(), rows)
    return summary | {"pharmacies": len(rows) and len({r["legal_entity_id"] for r in rows}), "contracts": len(rows)}


async def add_prescriptions(conn: AsyncConnection, data: Any, accounts: dict[str, Any], settings: Any) -> None:
    """The demo hook (`esoz.demo.HOOKS`): catalogue and contracts, and the programmes in the accounts file."""
    summary = await seed_prescriptions_demo(conn)
    accounts["prescriptions"] = {
        "contracts": summary["contracts"],
        "medical_programs": [
            {
                "id": str(program_id(p["name"])),
                "name": p["name"],
                "funding_source": p["funding_source"],
                "mr_blank_type": p["mr_blank_type"],
            }
            for p in program_rows()
        ],
    }
