"""The drug catalogue as an MIS reads it (`GET /api/v2/drugs`, `GET /api/v3/drugs`): INN dosages a doctor can
prescribe under a programme, each with its packages and, per package, the programme medications (the brands'
participation) that a pharmacy dispenses against.

One page is the INN dosages that match, ordered by name; the packages of those dosages are read in a second
statement and grouped here. A package is what the brands of one dosage share: container dosage, package size
and the smallest part a pharmacy may sell.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.prescriptions.common import num
from esoz.prescriptions.models import ingredients, innms, medical_programs, medications, program_medications

# Forms whose dose is counted in whole units (a tablet, a puff, a patch): the contract's `dosage_form_is_dosed`.
DOSED_FORMS = ("TABLET", "CAPSULE", "AEROSOL_FOR_INHALATION_DOSED", "TRANSDERMAL_PATCH")


@dataclass(frozen=True, kw_only=True, slots=True)
class DrugFilters:
    """The documented query filters of both versions; None = not filtered."""

    innm_id: uuid.UUID | None = None
    innm_name: str | None = None
    innm_sctid: str | None = None
    innm_dosage_form: str | None = None
    innm_dosage_id: uuid.UUID | None = None
    innm_dosage_name: str | None = None
    medication_code_atc: str | None = None
    medical_program_id: uuid.UUID | None = None
    mr_blank_type: str | None = None
    dosage_form_is_dosed: bool | None = None
    medication_request_allowed: bool | None = None
    care_plan_activity_allowed: bool | None = None


_DOSAGE = medications.alias("dosage")
_BRAND = medications.alias("brand")
_TO_INNM = ingredients.alias("to_innm")
_TO_DOSAGE = ingredients.alias("to_dosage")
_PM = program_medications
_PROGRAM = medical_programs


def _joined(columns: list[Any]) -> Select[Any]:
    """INN dosage → its primary INN, its active brands, their active programme participations."""
    return (
        select(*columns)
        .select_from(_DOSAGE)
        .join(_TO_INNM, and_(_TO_INNM.c.parent_id == _DOSAGE.c.id, _TO_INNM.c.is_primary))
        .join(innms, innms.c.id == _TO_INNM.c.innm_child_id)
        .join(_TO_DOSAGE, and_(_TO_DOSAGE.c.medication_child_id == _DOSAGE.c.id, _TO_DOSAGE.c.is_primary))
        .join(_BRAND, and_(_BRAND.c.id == _TO_DOSAGE.c.parent_id, _BRAND.c.is_active))
        .join(_PM, and_(_PM.c.medication_id == _BRAND.c.id, _PM.c.is_active))
        .join(_PROGRAM, and_(_PROGRAM.c.id == _PM.c.medical_program_id, _PROGRAM.c.is_active))
        .where(_DOSAGE.c.type == "INNM_DOSAGE", _DOSAGE.c.is_active)
    )


def _contains(column: Any, text: str) -> Any:
    pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{pattern}%", escape="\\")


def _conditions(f: DrugFilters) -> list[Any]:
    where: list[Any] = []
    for column, value in (
        (innms.c.id, f.innm_id),
        (innms.c.sctid, f.innm_sctid),
        (_DOSAGE.c.form, f.innm_dosage_form),
        (_DOSAGE.c.id, f.innm_dosage_id),
        (_PM.c.medical_program_id, f.medical_program_id),
        (_PROGRAM.c.mr_blank_type, f.mr_blank_type),
        # esoz keeps one permission per programme medication: it answers for prescriptions and care plans alike.
        (_PM.c.medication_request_allowed, f.medication_request_allowed),
        (_PM.c.medication_request_allowed, f.care_plan_activity_allowed),
    ):
        if value is not None:
            where.append(column == value)
    if f.innm_name:
        where.append(_contains(innms.c.name, f.innm_name))
    if f.innm_dosage_name:
        where.append(_contains(_DOSAGE.c.name, f.innm_dosage_name))
    if f.medication_code_atc:
        where.append(
            or_(innms.c.atc_code == f.medication_code_atc, _BRAND.c.code_atc.contains([f.medication_code_atc]))
        )
    if f.dosage_form_is_dosed is not None:
        dosed = _DOSAGE.c.form.in_(DOSED_FORMS)
        where.append(dosed if f.dosage_form_is_dosed else ~dosed)
    return where


async def search(
    conn: AsyncConnection, filters: DrugFilters, *, limit: int, offset: int, version: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of INN dosages in the shape of `version` (2 or 3), and how many match in all."""
    where = _conditions(filters)
    matching = _joined([_DOSAGE.c.id, _DOSAGE.c.name]).where(*where).distinct().subquery()
    total = (await conn.execute(select(func.count()).select_from(matching))).scalar_one()
    page = (
        (await conn.execute(select(matching.c.id).order_by(matching.c.name, matching.c.id).limit(limit).offset(offset)))
        .scalars()
        .all()
    )
    if not page:
        return [], total
    rows = (
        await conn.execute(
            _joined(
                [
                    _DOSAGE.c.id.label("dosage_id"),
                    _DOSAGE.c.name.label("dosage_name"),
                    _DOSAGE.c.form.label("dosage_form"),
                    _DOSAGE.c.daily_dosage.label("dosage_daily_dosage"),
                    _TO_INNM.c.dosage.label("innm_dosage"),
                    innms.c.id.label("innm_id"),
                    innms.c.name.label("innm_name"),
                    innms.c.name_original.label("innm_name_original"),
                    innms.c.sctid.label("innm_sctid"),
                    _BRAND.c.container,
                    _BRAND.c.package_qty,
                    _BRAND.c.package_min_qty,
                    _BRAND.c.certificate,
                    _PM.c.id.label("program_medication_id"),
                    _PM.c.medication_id,
                    _PM.c.medical_program_id,
                    _PM.c.medication_request_allowed,
                    _PM.c.reimbursement_daily_dosage,
                    _PROGRAM.c.mr_blank_type,
                ]
            )
            .where(*where, _DOSAGE.c.id.in_(page))
            .order_by(_DOSAGE.c.name, _BRAND.c.package_qty, _BRAND.c.name, _PM.c.id)
        )
    ).mappings()
    items: dict[uuid.UUID, dict[str, Any]] = {i: {} for i in page}
    for r in rows:
        _add(items[r["dosage_id"]], r)
    return [_finish(item, version) for item in items.values() if item], total


def _add(item: dict[str, Any], r: Any) -> None:
    if not item:
        item.update(
            id=r["dosage_id"],
            name=r["dosage_name"],
            form=r["dosage_form"],
            mr_blank_type=r["mr_blank_type"],
            dosage_form_is_dosed=r["dosage_form"] in DOSED_FORMS,
            daily_dosage=num(r["dosage_daily_dosage"]),
            ingredients=[
                {
                    "id": r["innm_id"],
                    "name": r["innm_name"],
                    "name_original": r["innm_name_original"],
                    "sctid": r["innm_sctid"],
                    "dosage": r["innm_dosage"],
                    "is_primary": True,
                }
            ],
            packages={},
        )
    key = (repr(r["container"]), r["package_qty"], r["package_min_qty"])
    package = item["packages"].setdefault(
        key,
        {
            "container_dosage": r["container"],
            "package_qty": r["package_qty"],
            "package_min_qty": r["package_min_qty"],
            "max_request_dosage": None,
            "program_medications": [],
        },
    )
    package["program_medications"].append(
        {
            "id": r["program_medication_id"],
            "start_date": None,
            "end_date": None,
            "medication_request_allowed": r["medication_request_allowed"],
            "care_plan_activity_allowed": r["medication_request_allowed"],
            "registry_number": r["certificate"],
            "max_daily_dosage": num(r["reimbursement_daily_dosage"]),
            "package_qty_divisible": _divisible(r["package_qty"], r["package_min_qty"]),
            "medication_id": r["medication_id"],
            "medical_program_id": r["medical_program_id"],
        }
    )


def _divisible(package_qty: int | None, package_min_qty: int | None) -> bool:
    return package_qty is not None and package_min_qty is not None and package_min_qty < package_qty


def _finish(item: dict[str, Any], version: int) -> dict[str, Any]:
    packages = list(item.pop("packages").values())
    participations = [pm for p in packages for pm in p["program_medications"]]
    if version == 2:
        dosages = [Decimal(str(pm["max_daily_dosage"])) for pm in participations if pm["max_daily_dosage"] is not None]
        item["max_daily_dosage"] = num(max(dosages)) if dosages else None
    else:
        item["program_medications"] = participations
    item["packages"] = packages
    return item
