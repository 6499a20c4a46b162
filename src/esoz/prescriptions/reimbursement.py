"""Reimbursement report for НСЗУ: what a pharmacy dispensed under programmes in a period, and what it is owed.

НСЗУ owes the pharmacy the discount it gave (`discount_amount`, at most the reimbursement per pack × packs);
the patient paid `sell_amount − discount_amount`. Only PROCESSED dispenses count.
"""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import ENTRY_QUERY, ValidationFailed, invalid_entry
from esoz.prescriptions.common import num
from esoz.prescriptions.models import (
    medical_programs,
    medication_dispense_details,
    medication_dispenses,
    medication_requests,
    medications,
)

MAX_DAYS = 366


async def report(
    conn: AsyncConnection,
    *,
    legal_entity_id: uuid.UUID | None,
    date_from: date,
    date_to: date,
    medical_program_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    if date_to < date_from or (date_to - date_from).days >= MAX_DAYS:
        raise ValidationFailed(
            [invalid_entry("$.date_to", "invalid", f"the period must be 1..{MAX_DAYS} days", entry_type=ENTRY_QUERY)]
        )
    d, dd = medication_dispenses, medication_dispense_details
    query = (
        select(
            d.c.id.label("medication_dispense_id"),
            d.c.medication_request_id,
            medication_requests.c.request_number,
            d.c.legal_entity_id,
            d.c.division_id,
            d.c.dispensed_at,
            d.c.medical_program_id,
            medical_programs.c.name.label("medical_program_name"),
            medical_programs.c.funding_source,
            dd.c.medication_id,
            medications.c.name.label("medication_name"),
            dd.c.medication_qty,
            dd.c.sell_price,
            dd.c.sell_amount,
            dd.c.discount_amount,
            dd.c.reimbursement_amount,
        )
        .select_from(
            dd.join(d, d.c.id == dd.c.medication_dispense_id)
            .join(medication_requests, medication_requests.c.id == d.c.medication_request_id)
            .join(medical_programs, medical_programs.c.id == d.c.medical_program_id)
            .join(medications, medications.c.id == dd.c.medication_id)
        )
        .where(d.c.status == "PROCESSED", d.c.dispensed_at.between(date_from, date_to))
        .order_by(d.c.dispensed_at, d.c.id)
        .limit(10_000)
    )
    if legal_entity_id is not None:
        query = query.where(d.c.legal_entity_id == legal_entity_id)
    if medical_program_id is not None:
        query = query.where(d.c.medical_program_id == medical_program_id)
    items: list[dict[str, Any]] = []
    by_program: dict[uuid.UUID, dict[str, Any]] = {}
    dispenses: set[uuid.UUID] = set()
    totals = {"sell_amount": Decimal(0), "discount_amount": Decimal(0)}
    for r in (await conn.execute(query)).mappings():
        dispenses.add(r["medication_dispense_id"])
        copay = r["sell_amount"] - r["discount_amount"]
        items.append(
            {
                k: r[k]
                for k in r
                if k not in ("sell_price", "sell_amount", "discount_amount", "reimbursement_amount", "medication_qty")
            }
            | {
                "medication_qty": num(r["medication_qty"]),
                "sell_price": num(r["sell_price"]),
                "sell_amount": num(r["sell_amount"]),
                "discount_amount": num(r["discount_amount"]),
                "reimbursement_amount": num(r["reimbursement_amount"]),
                "patient_amount": num(copay),
            }
        )
        p = by_program.setdefault(
            r["medical_program_id"],
            {
                "medical_program_id": r["medical_program_id"],
                "name": r["medical_program_name"],
                "funding_source": r["funding_source"],
                "lines": 0,
                "sell_amount": Decimal(0),
                "discount_amount": Decimal(0),
            },
        )
        p["lines"] += 1
        for key in totals:
            p[key] += r[key]
            totals[key] += r[key]
    return {
        "legal_entity_id": legal_entity_id,
        "date_from": date_from,
        "date_to": date_to,
        "medical_program_id": medical_program_id,
        "totals": {"dispenses": len(dispenses), "lines": len(items)} | {k: num(v) for k, v in totals.items()},
        "programs": [
            p | {"sell_amount": num(p["sell_amount"]), "discount_amount": num(p["discount_amount"])}
            for p in by_program.values()
        ],
        "items": items,
    }
