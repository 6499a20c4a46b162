"""НСЗУ admin API of prescriptions: dictionaries, programmes, programme medications, contracts, antibiotic
restrictions and consumption statistics (`/admin/...`)."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.openapi import errors
from esoz.core.schemas import Envelope
from esoz.prescriptions import programs, render, schemas, stewardship
from esoz.prescriptions.auth import (
    ConsumptionRead,
    ContractRead,
    ContractWrite,
    MedicationWrite,
    ProgramMedicationWrite,
    ProgramWrite,
    RestrictionRead,
    RestrictionWrite,
)
from esoz.prescriptions.catalogue import load_catalogue

router = APIRouter(prefix="/admin", tags=["prescriptions admin (НСЗУ)"])


WRITE = errors(401, 403, 404, 422, _409="request_conflict")
READ = errors(401, 403, 404, 422)


# --- dictionaries ---------------------------------------------------------------------------------------


@router.post("/innms", response_model=Envelope[schemas.InnmOut], status_code=201, summary="Add an INN", responses=WRITE)
async def create_innm(request: Request, conn: WriteConn, auth: MedicationWrite, body: schemas.InnmCreate) -> Response:
    return envelope.ok(request, render.innm(await programs.create_innm(conn, body, auth.actor)), status=201)


@router.post(
    "/innm_dosages",
    response_model=Envelope[schemas.MedicationOut],
    status_code=201,
    summary="Add an INN dosage (what doctors prescribe)",
    responses=WRITE,
)
async def create_innm_dosage(
    request: Request, conn: WriteConn, auth: MedicationWrite, body: schemas.InnmDosageCreate
) -> Response:
    dosage = await programs.create_innm_dosage(conn, body, auth.actor)
    return envelope.ok(request, render.medication(dosage), status=201)


@router.post(
    "/medications",
    response_model=Envelope[schemas.MedicationOut],
    status_code=201,
    summary="Add a brand (what pharmacies dispense)",
    responses=WRITE,
)
async def create_brand(request: Request, conn: WriteConn, auth: MedicationWrite, body: schemas.BrandCreate) -> Response:
    return envelope.ok(request, render.medication(await programs.create_brand(conn, body, auth.actor)), status=201)


@router.get(
    "/medications/{id}",
    response_model=Envelope[schemas.MedicationOut],
    summary="An INN dosage or brand with its ingredients",
    responses=READ,
)
async def get_medication(request: Request, conn: ReadConn, auth: MedicationWrite, id: uuid.UUID) -> Response:
    return envelope.ok(request, render.medication(await programs.get_medication(conn, id)))


@router.post(
    "/prescriptions/demo_catalogue",
    response_model=Envelope[schemas.CatalogueCountsOut],
    summary="Load the shipped demo catalogue (idempotent)",
    responses=WRITE,
)
async def demo_catalogue(request: Request, conn: WriteConn, auth: MedicationWrite) -> Response:
    return envelope.ok(request, await load_catalogue(conn))


# --- programmes -----------------------------------------------------------------------------------------


@router.post(
    "/medical_programs",
    response_model=Envelope[schemas.MedicalProgramOut],
    status_code=201,
    summary="Create a medical programme",
    responses=WRITE,
)
async def create_program(
    request: Request, conn: WriteConn, auth: ProgramWrite, body: schemas.MedicalProgramCreate
) -> Response:
    return envelope.ok(
        request, render.medical_program(await programs.create_program(conn, body, auth.actor)), status=201
    )


@router.patch(
    "/medical_programs/{id}/actions/activation",
    response_model=Envelope[schemas.MedicalProgramOut],
    summary="Activate or deactivate a programme",
    responses=WRITE,
)
async def program_activation(
    request: Request, conn: WriteConn, auth: ProgramWrite, id: uuid.UUID, body: schemas.Activation
) -> Response:
    row = await programs.set_program_active(conn, id, body.is_active, auth.actor)
    return envelope.ok(request, render.medical_program(row))


@router.post(
    "/program_medications",
    response_model=Envelope[schemas.ProgramMedicationOut],
    status_code=201,
    summary="Add a brand to a programme",
    responses=WRITE,
)
async def create_program_medication(
    request: Request, conn: WriteConn, auth: ProgramMedicationWrite, body: schemas.ProgramMedicationCreate
) -> Response:
    row = await programs.create_program_medication(conn, body, auth.actor)
    return envelope.ok(request, render.program_medication(row), status=201)


@router.get(
    "/program_medications",
    response_model=Envelope[list[schemas.ProgramMedicationOut]],
    summary="Programme medications (brands with reimbursement)",
    responses=READ,
)
async def list_program_medications(
    request: Request,
    conn: ReadConn,
    auth: ProgramMedicationWrite,
    medical_program_id: uuid.UUID | None = None,
    medication_id: uuid.UUID | None = None,
) -> Response:
    rows = await programs.list_program_medications(conn, medical_program_id, medication_id)
    return envelope.ok(request, [render.program_medication(r) for r in rows])


@router.patch(
    "/program_medications/{id}/actions/activation",
    response_model=Envelope[schemas.ProgramMedicationOut],
    summary="Activate or deactivate a programme medication",
    responses=WRITE,
)
async def program_medication_activation(
    request: Request, conn: WriteConn, auth: ProgramMedicationWrite, id: uuid.UUID, body: schemas.Activation
) -> Response:
    row = await programs.set_program_medication_active(conn, id, body.is_active, auth.actor)
    return envelope.ok(request, render.program_medication(row))


# --- contracts ------------------------------------------------------------------------------------------


@router.post(
    "/contracts/reimbursement",
    response_model=Envelope[schemas.ContractOut],
    status_code=201,
    summary="Register a pharmacy's reimbursement contract",
    responses=WRITE,
)
async def create_contract(
    request: Request, conn: WriteConn, auth: ContractWrite, body: schemas.ContractCreate
) -> Response:
    return envelope.ok(request, render.contract(await programs.create_contract(conn, body, auth.actor)), status=201)


@router.patch(
    "/contracts/reimbursement/{id}",
    response_model=Envelope[schemas.ContractOut],
    summary="Suspend, terminate or change a contract",
    responses=WRITE,
)
async def update_contract(
    request: Request, conn: WriteConn, auth: ContractWrite, id: uuid.UUID, body: schemas.ContractUpdate
) -> Response:
    return envelope.ok(request, render.contract(await programs.update_contract(conn, id, body, auth.actor)))


@router.get(
    "/contracts/reimbursement",
    response_model=Envelope[list[schemas.ContractOut]],
    summary="Reimbursement contracts",
    responses=READ,
)
async def list_contracts(
    request: Request,
    conn: ReadConn,
    auth: ContractRead,
    legal_entity_id: uuid.UUID | None = None,
    medical_program_id: uuid.UUID | None = None,
) -> Response:
    rows = await programs.list_contracts(conn, legal_entity_id, medical_program_id)
    return envelope.ok(request, [render.contract(r) for r in rows])


# --- antibiotic stewardship -----------------------------------------------------------------------------


def _restriction(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["max_qty"] = float(row["max_qty"]) if row["max_qty"] is not None else None
    return out


@router.post(
    "/antibiotic_restrictions",
    response_model=Envelope[schemas.RestrictionOut],
    status_code=201,
    summary="Restrict an antibiotic",
    responses=WRITE,
)
async def create_restriction(
    request: Request, conn: WriteConn, auth: RestrictionWrite, body: schemas.RestrictionCreate
) -> Response:
    return envelope.ok(request, _restriction(await stewardship.create_restriction(conn, body, auth.actor)), status=201)


@router.get(
    "/antibiotic_restrictions",
    response_model=Envelope[list[schemas.RestrictionOut]],
    summary="Antibiotic restrictions",
    responses=READ,
)
async def list_restrictions(
    request: Request, conn: ReadConn, auth: RestrictionRead, active_on: date | None = None
) -> Response:
    return envelope.ok(request, [_restriction(r) for r in await stewardship.list_restrictions(conn, active_on)])


@router.patch(
    "/antibiotic_restrictions/{id}/actions/deactivate",
    response_model=Envelope[schemas.RestrictionOut],
    summary="Lift a restriction",
    responses=WRITE,
)
async def deactivate_restriction(request: Request, conn: WriteConn, auth: RestrictionWrite, id: uuid.UUID) -> Response:
    return envelope.ok(request, _restriction(await stewardship.deactivate_restriction(conn, id, auth.actor)))


@router.get(
    "/antibiotic_consumption",
    response_model=Envelope[list[schemas.ConsumptionOut]],
    summary="Antibacterials dispensed per oblast: DDD per 1,000 inhabitants per day, by AWaRe group",
    responses=READ,
)
async def antibiotic_consumption(
    request: Request,
    conn: ReadConn,
    auth: ConsumptionRead,
    date_from: date,
    date_to: date,
    region: Annotated[str | None, Query(pattern=r"^UA[0-9]{17}$")] = None,
) -> Response:
    return envelope.ok(
        request, await stewardship.consumption(conn, date_from=date_from, date_to=date_to, region=region)
    )
