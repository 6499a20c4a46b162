"""Antibiotic stewardship: НСЗУ restrictions checked at prescribing, and consumption in DDD per 1000 per day.

A restriction targets one INN or an ATC prefix (J01M = all fluoroquinolones), nationally or in one oblast,
for a date range; it can forbid the drug, allow it only to listed specialities, cap the quantity or the
treatment days, or require a diagnosis from a list. A request that breaks one gets 409 naming the rule.
"""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, String, and_, bindparam, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit
from esoz.core.audit import Actor
from esoz.core.errors import ENTRY_QUERY, Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.ids import uuid7
from esoz.core.rows import all_rows
from esoz.prescriptions import schemas
from esoz.prescriptions.common import today
from esoz.prescriptions.models import (
    antibiotic_restrictions,
    innms,
    medication_dispense_details,
    medication_dispenses,
    medication_requests,
)
from esoz.registry import repository

AWARE_GROUPS = ("ACCESS", "WATCH", "RESERVE")
_TO_GRAMS = {"g": Decimal(1), "mg": Decimal("0.001"), "mcg": Decimal("0.000001")}


# --- restrictions ---------------------------------------------------------------------------------------


async def create_restriction(conn: AsyncConnection, body: schemas.RestrictionCreate, actor: Actor) -> RowMapping:
    if (
        body.innm_id is not None
        and (await conn.execute(select(innms.c.id).where(innms.c.id == body.innm_id))).first() is None
    ):
        raise ValidationFailed([invalid_entry("$.innm_id", "invalid", "INNM not found")])
    if (
        body.region is not None
        and not await repository.region_exists(conn, katottg=body.region)
    ):
        raise ValidationFailed([invalid_entry("$.region", "invalid", "region not found")])
    id_ = uuid7()
    await conn.execute(antibiotic_restrictions.insert().values(id=id_, **body.model_dump(), inserted_by=actor.user_id))
    await audit.record(
        conn,
        action="antibiotic_restriction.create",
        resource_type="antibiotic_restriction",
        resource_id=id_,
        actor=actor,
        details=body.model_dump(mode="json"),
    )
    return await get_restriction(conn, id_)


async def get_restriction(conn: AsyncConnection, id_: uuid.UUID) -> RowMapping:
    row = (
        (await conn.execute(select(antibiotic_restrictions).where(antibiotic_restrictions.c.id == id_)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("Antibiotic restriction not found")
    return row


async def list_restrictions(conn: AsyncConnection, active_on: date | None) -> list[RowMapping]:
    query = select(antibiotic_restrictions).order_by(antibiotic_restrictions.c.inserted_at.desc()).limit(500)
    if active_on is not None:
        query = query.where(*_active_on(active_on))
    return list((await conn.execute(query)).mappings())


async def deactivate_restriction(conn: AsyncConnection, id_: uuid.UUID, actor: Actor) -> RowMapping:
    await get_restriction(conn, id_)
    await conn.execute(
        antibiotic_restrictions.update()
        .where(antibiotic_restrictions.c.id == id_)
        .values(is_active=False, updated_at=func.now(), updated_by=actor.user_id)
    )
    await audit.record(
        conn,
        action="antibiotic_restriction.deactivate",
        resource_type="antibiotic_restriction",
        resource_id=id_,
        actor=actor,
    )
    return await get_restriction(conn, id_)


def _active_on(on: date | BindParameter[date]) -> list[ColumnElement[bool]]:
    r = antibiotic_restrictions
    return [r.c.is_active, r.c.start_date <= on, or_(r.c.end_date.is_(None), r.c.end_date >= on)]


def _rule(row: Any) -> str:
    return f'Antibiotic restriction "{row["name"]}" ({row["id"]})'


def violation(row: Any, *, speciality: str | None, qty: float, days: int, diagnoses: list[str]) -> str | None:
    """What of the request breaks this restriction, in the 409 message; None if nothing."""
    if row["forbidden"]:
        return f"{_rule(row)}: the medication may not be prescribed"
    allowed = row["allowed_specialities"] or []
    if allowed and speciality not in allowed:
        return f"{_rule(row)}: only {', '.join(allowed)} may prescribe it"
    if row["max_qty"] is not None and Decimal(str(qty)) > row["max_qty"]:
        return f"{_rule(row)}: at most {row['max_qty']:g} units may be prescribed"
    if row["max_days"] is not None and days > row["max_days"]:
        return f"{_rule(row)}: treatment may last at most {row['max_days']} days"
    required = row["required_diagnoses"] or []
    if required and not any(code.upper().startswith(p.upper()) for code in diagnoses for p in required):
        return f"{_rule(row)}: a diagnosis from {', '.join(required)} is required"
    return None


def _restrictions_query(by_atc: bool) -> FastQuery:
    """The restrictions in force for an INN (or its ATC code) in a region, as of `on`."""
    r = antibiotic_restrictions
    target = r.c.innm_id == bindparam("innm_id")
    if by_atc:
        atc_code = bindparam("atc_code", type_=String)
        target = or_(target, and_(r.c.atc_prefix.is_not(None), atc_code.startswith(r.c.atc_prefix)))
    region = or_(r.c.region.is_(None), r.c.region == bindparam("region", type_=r.c.region.type))
    stmt = select(r).where(*_active_on(bindparam("on", type_=r.c.start_date.type)), target, region)
    return FastQuery(stmt.order_by(r.c.inserted_at))


# Checked on every prescription create: built once per shape, run through core.fastsql (bench/README.md).
_RESTRICTIONS = {by_atc: _restrictions_query(by_atc) for by_atc in (False, True)}


async def check_restrictions(
    conn: AsyncConnection,
    *,
    innm_id: uuid.UUID,
    atc_code: str | None,
    region: str | None,
    speciality: str | None,
    qty: float,
    days: int,
    diagnoses: list[str],
) -> None:
    params: dict[str, Any] = {"innm_id": innm_id, "on": today(), "region": region}
    if atc_code:
        params["atc_code"] = atc_code
    # A NULL region matches only the national restrictions, as `region IS NULL` did when built per call.
    for row in await all_rows(_RESTRICTIONS[bool(atc_code)], conn, **params):
        problem = violation(row, speciality=speciality, qty=qty, days=days, diagnoses=diagnoses)
        if problem:
            raise Conflict(problem)


# --- consumption ----------------------------------------------------------------------------------------


_DDD_COUNT_MAX = Decimal(10) ** 10 - Decimal("0.0001")  # medication_dispense_details.ddd_count NUMERIC(14, 4)


def ddd_count(
    qty: float, container: dict[str, Any] | None, ddd: Decimal | None, ddd_unit: str | None
) -> Decimal | None:
    """DDDs in `qty` units of a brand: units × strength per unit / DDD (mass units converted; U to U).

    None when there is nothing to count, or when the count would not fit the line's NUMERIC(14, 4) column (a
    catalogue with an absurd strength or DDD must not make the dispense itself fail).
    """
    if not container or ddd is None or ddd <= 0 or not ddd_unit:
        return None
    unit = str(container["numerator_unit"]).lower()
    per_unit = Decimal(str(container["numerator_value"])) / Decimal(str(container["denumerator_value"]))
    amount = Decimal(str(qty)) * per_unit
    if unit == ddd_unit.lower() == "u":
        count = amount / ddd
    elif unit in _TO_GRAMS and ddd_unit in _TO_GRAMS:
        count = amount * _TO_GRAMS[unit] / (ddd * _TO_GRAMS[ddd_unit])
    else:
        return None
    return count.quantize(Decimal("0.0001")) if count <= _DDD_COUNT_MAX else None


async def consumption(
    conn: AsyncConnection, *, date_from: date, date_to: date, region: str | None
) -> list[dict[str, Any]]:
    """Antibacterial use dispensed per oblast in the period: DDD per 1,000 inhabitants per day, by AWaRe group."""
    if date_to < date_from:
        raise ValidationFailed(
            [invalid_entry("$.date_to", "invalid", "date_to is before date_from", entry_type=ENTRY_QUERY)]
        )
    d, dd = medication_dispenses, medication_dispense_details
    query = (
        select(d.c.region, innms.c.aware, func.sum(dd.c.ddd_count).label("ddd"))
        .select_from(
            dd.join(d, d.c.id == dd.c.medication_dispense_id)
            .join(medication_requests, medication_requests.c.id == d.c.medication_request_id)
            .join(innms, innms.c.id == medication_requests.c.innm_id)
        )
        .where(
            d.c.status == "PROCESSED",
            d.c.dispensed_at.between(date_from, date_to),
            innms.c.aware.is_not(None),
            d.c.region.is_not(None),
        )
        .group_by(d.c.region, innms.c.aware)
    )
    if region is not None:
        query = query.where(d.c.region == region)
    used: dict[str, dict[str, Decimal]] = {}
    for row in await conn.execute(query):
        used.setdefault(row.region, {})[row.aware] = row.ddd or Decimal(0)
    days = (date_to - date_from).days + 1
    out = []
    for reg in await repository.regions_by_code(conn, katottgs=[region] if region else list(used)):
        groups = used.get(reg["katottg"], {})
        total = sum(groups.values(), Decimal(0))
        population = reg["population"]

        def did(ddd: Decimal, population: int | None = population) -> float | None:
            return float(round(ddd * 1000 / (population * days), 4)) if population else None

        out.append(
            {
                "region": reg["katottg"],
                "name": reg["name_uk"],
                "population": population,
                "days": days,
                "ddd": float(total),
                "did": did(total),
                "by_aware": {
                    g: {
                        "ddd": float(groups.get(g, 0)),
                        "did": did(groups.get(g, Decimal(0))),
                        "share": float(round(groups.get(g, Decimal(0)) / total, 4)) if total else None,
                    }
                    for g in AWARE_GROUPS
                },
            }
        )
    return out
