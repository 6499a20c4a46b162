"""Dictionaries (INN, INN dosages, brands), medical programmes, programme medications and pharmacy contracts.

НСЗУ writes them through the admin API; MIS read programmes and drugs. Writes are audited in the caller's
transaction.
"""

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit
from esoz.core.audit import Actor
from esoz.core.errors import Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.ids import uuid7
from esoz.core.rows import first
from esoz.prescriptions import schemas
from esoz.prescriptions.common import settings_of
from esoz.prescriptions.models import (
    contracts,
    ingredients,
    innms,
    medical_programs,
    medications,
    program_medications,
)
from esoz.registry import repository

CONTRACT_LE_TYPES = ("PHARMACY", "MSP_PHARMACY")


async def _exists(conn: AsyncConnection, table: Any, id_: uuid.UUID, **where: Any) -> RowMapping | None:
    query = select(table).where(table.c.id == id_, *(table.c[k] == v for k, v in where.items()))
    return (await conn.execute(query)).mappings().first()


# --- dictionaries ---------------------------------------------------------------------------------------


async def create_innm(
    conn: AsyncConnection, body: schemas.InnmCreate, actor: Actor, id_: uuid.UUID | None = None
) -> Any:
    taken = await conn.execute(select(innms.c.id).where(innms.c.name_original == body.name_original))
    if taken.first() is not None:
        raise Conflict("INNM with such name_original already exists")
    id_ = id_ or uuid7()
    await conn.execute(innms.insert().values(id=id_, **body.model_dump(), inserted_by=actor.user_id))
    await audit.record(conn, action="innm.create", resource_type="innm", resource_id=id_, actor=actor)
    return await _exists(conn, innms, id_)


async def _check_children(conn: AsyncConnection, items: list[schemas.Ingredient], table: Any, **where: Any) -> None:
    for i, item in enumerate(items):
        if await _exists(conn, table, item.id, is_active=True, **where) is None:
            raise ValidationFailed(
                [invalid_entry(f"$.ingredients[{i}].id", "invalid", "ingredient not found or inactive")]
            )


async def _insert_medication(
    conn: AsyncConnection, values: dict[str, Any], items: list[schemas.Ingredient], child: str, actor: Actor
) -> uuid.UUID:
    id_ = values.pop("id", None) or uuid7()
    await conn.execute(medications.insert().values(id=id_, inserted_by=actor.user_id, **values))
    await conn.execute(
        ingredients.insert(),
        [
            {
                "id": uuid7(),
                "parent_id": id_,
                child: item.id,
                "dosage": item.dosage.model_dump(),
                "is_primary": item.is_primary,
            }
            for item in items
        ],
    )
    await audit.record(conn, action="medication.create", resource_type="medication", resource_id=id_, actor=actor)
    return id_


async def create_innm_dosage(
    conn: AsyncConnection, body: schemas.InnmDosageCreate, actor: Actor, id_: uuid.UUID | None = None
) -> dict[str, Any]:
    await _check_children(conn, body.ingredients, innms)
    values = {"id": id_, "type": "INNM_DOSAGE", "name": body.name, "form": body.form}
    return await get_medication(conn, await _insert_medication(conn, values, body.ingredients, "innm_child_id", actor))


async def create_brand(
    conn: AsyncConnection, body: schemas.BrandCreate, actor: Actor, id_: uuid.UUID | None = None
) -> dict[str, Any]:
    await _check_children(conn, body.ingredients, medications, type="INNM_DOSAGE")
    values = body.model_dump(exclude={"ingredients"}) | {"id": id_, "type": "BRAND"}
    return await get_medication(
        conn, await _insert_medication(conn, values, body.ingredients, "medication_child_id", actor)
    )


async def get_medication(conn: AsyncConnection, id_: uuid.UUID) -> dict[str, Any]:
    row = await _exists(conn, medications, id_)
    if row is None:
        raise NotFound("Medication not found")
    rows = await conn.execute(
        select(ingredients, innms.c.name.label("innm_name"), medications.c.name.label("dosage_name"))
        .outerjoin(innms, innms.c.id == ingredients.c.innm_child_id)
        .outerjoin(medications, medications.c.id == ingredients.c.medication_child_id)
        .where(ingredients.c.parent_id == id_)
    )
    out = dict(row)
    out["ingredients"] = [
        {
            "id": r.innm_child_id or r.medication_child_id,
            "name": r.innm_name or r.dosage_name,
            "dosage": r.dosage,
            "is_primary": r.is_primary,
        }
        for r in rows
    ]
    return out


# Built once and run through core.fastsql: every prescription create and sign looks its dosage up
# (bench/README.md).
_DOSAGE_INFO = FastQuery(
    select(
        medications.c.id,
        medications.c.name,
        medications.c.form,
        ingredients.c.dosage,
        innms.c.id.label("innm_id"),
        innms.c.name.label("innm_name"),
        innms.c.name_original.label("innm_name_original"),
        innms.c.sctid.label("innm_sctid"),
        innms.c.atc_code,
        innms.c.ddd,
        innms.c.ddd_unit,
        innms.c.aware,
    )
    .join(ingredients, and_(ingredients.c.parent_id == medications.c.id, ingredients.c.is_primary))
    .join(innms, innms.c.id == ingredients.c.innm_child_id)
    .where(medications.c.id == bindparam("medication_id"), medications.c.type == "INNM_DOSAGE", medications.c.is_active)
)


async def dosage_info(conn: AsyncConnection, medication_id: uuid.UUID) -> Mapping[str, Any] | None:
    """An active INNM_DOSAGE with its primary INN (name, ATC, DDD, AWaRe) in one query."""
    return await first(_DOSAGE_INFO, conn, medication_id=medication_id)


# --- programmes -----------------------------------------------------------------------------------------


async def create_program(
    conn: AsyncConnection, body: schemas.MedicalProgramCreate, actor: Actor, id_: uuid.UUID | None = None
) -> RowMapping:
    if (await conn.execute(select(medical_programs.c.id).where(medical_programs.c.name == body.name))).first():
        raise Conflict("Medical program with such name already exists")
    id_ = id_ or uuid7()
    await conn.execute(
        medical_programs.insert().values(
            id=id_, **body.model_dump(), inserted_by=actor.user_id, updated_by=actor.user_id
        )
    )
    await audit.record(
        conn, action="medical_program.create", resource_type="medical_program", resource_id=id_, actor=actor
    )
    return await get_program(conn, id_)


async def get_program(conn: AsyncConnection, id_: uuid.UUID) -> RowMapping:
    row = await _exists(conn, medical_programs, id_)
    if row is None:
        raise NotFound("Medical program not found")
    return row


async def list_programs(
    conn: AsyncConnection,
    *,
    id_: uuid.UUID | None = None,
    name: str | None = None,
    is_active: bool | None = None,
    mr_blank_type: str | None = None,
    type_: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[RowMapping], int]:
    """One page of the programmes the filters select, by name, and how many they select in all."""
    t = medical_programs
    conditions = []
    if id_ is not None:
        conditions.append(t.c.id == id_)
    if name:
        conditions.append(func.lower(t.c.name).contains(name.lower()))
    if is_active is not None:
        conditions.append(t.c.is_active.is_(is_active))
    if mr_blank_type:
        conditions.append(t.c.mr_blank_type == mr_blank_type)
    if type_:
        conditions.append(t.c.type == type_)
    page = select(t).where(*conditions).order_by(t.c.name, t.c.id).limit(limit).offset(offset)
    total = (await conn.execute(select(func.count()).select_from(t).where(*conditions))).scalar_one()
    return list((await conn.execute(page)).mappings()), total


async def _set_active(
    conn: AsyncConnection, table: Table, id_: uuid.UUID, active: bool, actor: Actor, resource_type: str
) -> None:
    values = {"is_active": active, "updated_at": func.now(), "updated_by": actor.user_id}
    await conn.execute(table.update().where(table.c.id == id_).values(values))
    await audit.record(
        conn,
        action=f"{resource_type}.update",
        resource_type=resource_type,
        resource_id=id_,
        actor=actor,
        details={"is_active": active},
    )


async def set_program_active(conn: AsyncConnection, id_: uuid.UUID, active: bool, actor: Actor) -> RowMapping:
    await get_program(conn, id_)
    await _set_active(conn, medical_programs, id_, active, actor, "medical_program")
    return await get_program(conn, id_)


async def create_program_medication(
    conn: AsyncConnection, body: schemas.ProgramMedicationCreate, actor: Actor, id_: uuid.UUID | None = None
) -> RowMapping:
    await get_program(conn, body.medical_program_id)
    if await _exists(conn, medications, body.medication_id, type="BRAND", is_active=True) is None:
        raise ValidationFailed([invalid_entry("$.medication_id", "invalid", "Medication is not active BRAND")])
    taken = await conn.execute(
        select(program_medications.c.id).where(
            program_medications.c.medical_program_id == body.medical_program_id,
            program_medications.c.medication_id == body.medication_id,
        )
    )
    if taken.first() is not None:
        raise Conflict("Program medication already exists")
    id_ = id_ or uuid7()
    values = body.model_dump() | {"reimbursement": body.reimbursement.model_dump()}
    await conn.execute(program_medications.insert().values(id=id_, inserted_by=actor.user_id, **values))
    await audit.record(
        conn, action="program_medication.create", resource_type="program_medication", resource_id=id_, actor=actor
    )
    return await get_program_medication(conn, id_)


async def get_program_medication(conn: AsyncConnection, id_: uuid.UUID) -> RowMapping:
    row = await _exists(conn, program_medications, id_)
    if row is None:
        raise NotFound("Program medication not found")
    return row


async def list_program_medications(
    conn: AsyncConnection, medical_program_id: uuid.UUID | None, medication_id: uuid.UUID | None
) -> list[RowMapping]:
    query = select(program_medications).order_by(program_medications.c.inserted_at).limit(1000)
    if medical_program_id is not None:
        query = query.where(program_medications.c.medical_program_id == medical_program_id)
    if medication_id is not None:
        query = query.where(program_medications.c.medication_id == medication_id)
    return list((await conn.execute(query)).mappings())


async def set_program_medication_active(
    conn: AsyncConnection, id_: uuid.UUID, active: bool, actor: Actor
) -> RowMapping:
    await get_program_medication(conn, id_)
    await _set_active(conn, program_medications, id_, active, actor, "program_medication")
    return await get_program_medication(conn, id_)


# --- contracts ------------------------------------------------------------------------------------------


async def create_contract(
    conn: AsyncConnection, body: schemas.ContractCreate, actor: Actor, id_: uuid.UUID | None = None
) -> RowMapping:
    le = await repository.get_legal_entity(conn, legal_entity_id=body.legal_entity_id)
    if le is None:
        raise ValidationFailed([invalid_entry("$.legal_entity_id", "invalid", "legal entity not found")])
    if le["type"] not in CONTRACT_LE_TYPES:
        raise Conflict("Invalid legal entity type")
    await get_program(conn, body.medical_program_id)
    owned = await repository.count_divisions_of(
        conn, legal_entity_id=body.legal_entity_id, division_ids=body.contract_divisions
    )
    if owned != len(set(body.contract_divisions)):
        raise ValidationFailed(
            [invalid_entry("$.contract_divisions", "invalid", "division not found in this legal entity")]
        )
    id_ = id_ or uuid7()
    number = body.contract_number or f"{body.medical_program_id.hex[:4]}-{id_.hex[-8:]}".upper()
    values = body.model_dump() | {"contract_number": number}
    await conn.execute(contracts.insert().values(id=id_, status="VERIFIED", inserted_by=actor.user_id, **values))
    await audit.record(conn, action="contract.create", resource_type="contract", resource_id=id_, actor=actor)
    return await get_contract(conn, id_)


async def get_contract(conn: AsyncConnection, id_: uuid.UUID) -> RowMapping:
    row = await _exists(conn, contracts, id_)
    if row is None:
        raise NotFound("Contract not found")
    return row


async def update_contract(
    conn: AsyncConnection, id_: uuid.UUID, body: schemas.ContractUpdate, actor: Actor
) -> RowMapping:
    await get_contract(conn, id_)
    changes = body.model_dump(exclude_none=True)
    if changes:
        await conn.execute(
            contracts.update()
            .where(contracts.c.id == id_)
            .values(**changes, updated_at=func.now(), updated_by=actor.user_id)
        )
    await audit.record(
        conn,
        action="contract.update",
        resource_type="contract",
        resource_id=id_,
        actor=actor,
        details={k: str(v) for k, v in changes.items()},
    )
    return await get_contract(conn, id_)


async def list_contracts(
    conn: AsyncConnection, legal_entity_filter: uuid.UUID | None, medical_program_id: uuid.UUID | None
) -> list[RowMapping]:
    query = select(contracts).order_by(contracts.c.inserted_at.desc()).limit(500)
    if legal_entity_filter is not None:
        query = query.where(contracts.c.legal_entity_id == legal_entity_filter)
    if medical_program_id is not None:
        query = query.where(contracts.c.medical_program_id == medical_program_id)
    return list((await conn.execute(query)).mappings())


# --- qualifying a prescription --------------------------------------------------------------------------

PHARMACY_LE_TYPES = CONTRACT_LE_TYPES
# The brands of an INN dosage that take part in a programme, with what a pharmacy needs to sell one of them.
_QUALIFY_PARTICIPANTS = FastQuery(
    select(
        program_medications.c.id,
        medications.c.id.label("medication_id"),
        medications.c.name.label("medication_name"),
        medications.c.form,
        medications.c.manufacturer,
        medications.c.container,
        medications.c.package_qty,
        medications.c.package_min_qty,
        medications.c.certificate,
        program_medications.c.reimbursement,
        program_medications.c.wholesale_price,
        program_medications.c.consumer_price,
        program_medications.c.reimbursement_daily_dosage,
        program_medications.c.estimated_payment_amount,
    )
    .join(ingredients, and_(ingredients.c.parent_id == medications.c.id, ingredients.c.is_primary))
    .join(program_medications, program_medications.c.medication_id == medications.c.id)
    .where(
        ingredients.c.medication_child_id == bindparam("dosage_id"),
        medications.c.type == "BRAND",
        medications.c.is_active,
        program_medications.c.medical_program_id == bindparam("program_id"),
        program_medications.c.is_active,
    )
    .order_by(medications.c.name)
)
_RUNNING_CONTRACTS = FastQuery(
    select(contracts.c.is_suspended, contracts.c.contract_divisions).where(
        contracts.c.legal_entity_id == bindparam("legal_entity_id"),
        contracts.c.medical_program_id == bindparam("program_id"),
        contracts.c.status == "VERIFIED",
        contracts.c.start_date <= bindparam("on", type_=contracts.c.start_date.type),
        contracts.c.end_date >= bindparam("on", type_=contracts.c.end_date.type),
    )
)


async def program_participants(
    conn: AsyncConnection, *, dosage_id: uuid.UUID, program_id: uuid.UUID
) -> list[Mapping[str, Any]]:
    """Active brands of the INN dosage under the programme, with their programme prices (qualify's participants)."""
    return [row._mapping for row in await _QUALIFY_PARTICIPANTS.fetch(conn, dosage_id=dosage_id, program_id=program_id)]


async def contract_problem(
    conn: AsyncConnection, program: Mapping[str, Any], *, legal_entity_id: uuid.UUID, division_id: uuid.UUID, on: date
) -> str | None:
    """Why the pharmacy's division cannot dispense under the programme's reimbursement contract; None if it can."""
    if settings_of(program)["skip_contract_provision_verify"]:
        return None
    rows = await _RUNNING_CONTRACTS.fetch(conn, legal_entity_id=legal_entity_id, program_id=program["id"], on=on)
    if not rows:
        return "Program cannot be used - no active contract exists"
    running = [r for r in rows if not r.is_suspended]
    if not running:
        return "Contract is suspended"
    if not any(division_id in r.contract_divisions for r in running):
        return "Division should be participant of a contract to create dispense"
    return None
