"""The shipped demo catalogue (data/*.csv, data/programs.json): INNs, dosages, brands, programmes, reimbursement.

Ids are derived from names (uuid5), so loading twice changes nothing and tests can name rows.
"""

import csv
import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.prescriptions.common import catalogue_id
from esoz.prescriptions.models import ingredients, innms, medical_programs, medications, program_medications

DATA = Path(__file__).with_name("data")

FORMS_UK = {
    "TABLET": "таблетки",
    "CAPSULE": "капсули",
    "AEROSOL_FOR_INHALATION_DOSED": "аерозоль для інгаляцій дозований",
    "SOLUTION_FOR_INJECTION": "розчин для ін'єкцій",
    "TEST_STRIP": "тест-смужки",
    "TRANSDERMAL_PATCH": "трансдермальний пластир",
}


@lru_cache
def innm_rows() -> list[dict[str, str]]:
    with (DATA / "innms.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache
def brand_rows() -> list[dict[str, str]]:
    with (DATA / "brands.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache
def program_rows() -> list[dict[str, Any]]:
    return json.loads((DATA / "programs.json").read_text(encoding="utf-8"))


def innm_id(name_original: str) -> uuid.UUID:
    return catalogue_id("innm", name_original)


def dosage_key(row: dict[str, str]) -> str:
    return f"{row['innm']}|{row['strength_value']}{row['strength_unit']}|{row['form']}"


def dosage_id(row: dict[str, str]) -> uuid.UUID:
    return catalogue_id("innm_dosage", dosage_key(row))


def brand_id(brand: str) -> uuid.UUID:
    return catalogue_id("brand", brand)


def program_id(name: str) -> uuid.UUID:
    return catalogue_id("program", name)


def program_medication_id(program: str, brand: str) -> uuid.UUID:
    return catalogue_id("program_medication", f"{program}|{brand}")


def _num(value: str) -> float | None:
    return float(value) if value else None


def _dosage(row: dict[str, str]) -> dict[str, Any]:
    return {
        "numerator_unit": row["strength_unit"],
        "numerator_value": float(row["strength_value"]),
        "denumerator_unit": row["per_unit"],
        "denumerator_value": float(row["per_value"]),
    }


async def load_catalogue(conn: AsyncConnection) -> dict[str, int]:
    """Insert whatever of the shipped catalogue is missing; returns counts of rows in the catalogue."""
    by_name = {r["name_original"]: r for r in innm_rows()}
    await conn.execute(
        insert(innms).on_conflict_do_nothing(),
        [
            {
                "id": innm_id(r["name_original"]),
                "name": r["name"],
                "name_original": r["name_original"],
                "sctid": r["sctid"] or None,
                "atc_code": r["atc_code"] or None,
                "ddd": _num(r["ddd"]),
                "ddd_unit": r["ddd_unit"] or None,
                "aware": r["aware"] or None,
            }
            for r in innm_rows()
        ],
    )
    await conn.execute(
        insert(medical_programs).on_conflict_do_nothing(),
        [
            {
                "id": program_id(p["name"]),
                "name": p["name"],
                "type": "MEDICATION",
                "funding_source": p["funding_source"],
                "mr_blank_type": p["mr_blank_type"],
                "medical_program_settings": p["medical_program_settings"],
            }
            for p in program_rows()
        ],
    )
    meds: dict[uuid.UUID, dict[str, Any]] = {}
    links: dict[uuid.UUID, dict[str, Any]] = {}
    for b in brand_rows():
        innm = by_name[b["innm"]]
        d_id = dosage_id(b)
        strength = f"{float(b['strength_value']):g} {b['strength_unit'].lower()}"
        meds[d_id] = {
            "id": d_id,
            "type": "INNM_DOSAGE",
            "name": f"{innm['name']} {strength} {FORMS_UK.get(b['form'], b['form'].lower())}",
            "form": b["form"],
        }
        links[d_id] = {
            "parent_id": d_id,
            "innm_child_id": innm_id(b["innm"]),
            "medication_child_id": None,
            "dosage": _dosage(b),
        }
        b_id = brand_id(b["brand"])
        meds[b_id] = {
            "id": b_id,
            "type": "BRAND",
            "name": b["brand"],
            "form": b["form"],
            "code_atc": [innm["atc_code"]] if innm["atc_code"] else [],
            "container": _dosage(b),
            "manufacturer": {"name": b["manufacturer"], "country": b["country"]},
            "package_qty": int(b["package_qty"]),
            "package_min_qty": int(b["package_min_qty"]),
        }
        links[b_id] = {"parent_id": b_id, "innm_child_id": None, "medication_child_id": d_id, "dosage": _dosage(b)}
    defaults: dict[str, Any] = {
        "code_atc": [], "container": None, "manufacturer": None, "package_qty": None, "package_min_qty": None
    }
    await conn.execute(insert(medications).on_conflict_do_nothing(), [defaults | m for m in meds.values()])
    await conn.execute(
        insert(ingredients).on_conflict_do_nothing(),
        [link | {"id": catalogue_id("ingredient", str(parent)), "is_primary": True} for parent, link in links.items()],
    )
    await conn.execute(
        insert(program_medications).on_conflict_do_nothing(),
        [
            {
                "id": program_medication_id(b["program"], b["brand"]),
                "medical_program_id": program_id(b["program"]),
                "medication_id": brand_id(b["brand"]),
                "reimbursement": {"type": "FIXED", "reimbursement_amount": float(b["reimbursement_amount"])},
                "consumer_price": float(b["consumer_price"]),
                "wholesale_price": round(float(b["consumer_price"]) / 1.25, 2),
                "estimated_payment_amount": round(float(b["consumer_price"]) - float(b["reimbursement_amount"]), 2),
            }
            for b in brand_rows()
        ],
    )
    return {"innms": len(innm_rows()), "programs": len(program_rows()), "medications": len(meds)}
