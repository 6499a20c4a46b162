"""Admin writes for the payer (НСЗУ) and for seeding: /admin/...

Mounted only in dev mode until the identity issue lands. Creates answer 201; PATCH bodies carry only
the fields to change (objects merge, lists are replaced) and the merged result is validated like a create.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.openapi import errors
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope
from esoz.registry import declarations, employees, persons, render, schemas, service
from esoz.registry.auth import (
    DeclarationWrite,
    DivisionWrite,
    EmployeeDeactivate,
    EmployeeWrite,
    LegalEntityWrite,
    PersonRead,
    PersonWrite,
)
from esoz.registry.schemas import DeclarationOut, DivisionOut, EmployeeOut, LegalEntityOut, PersonOut

router = APIRouter(prefix="/admin", tags=["registry admin"])

Patch = Annotated[dict[str, Any], Body(description="only the fields to change; same shape as the create body")]

WRITE_ERRORS = errors(401, 403, 422, _400="request_malformed", _413="request_too_large", _415="content_type_invalid")
PATCH_ERRORS = WRITE_ERRORS | errors(404)


def _conflict(text: str) -> dict[int | str, dict[str, Any]]:
    return errors(_409=f"request_conflict: {text}")


# --- legal entities ---------------------------------------------------------------------------------


@router.post(
    "/legal_entities",
    response_model=Envelope[LegalEntityOut],
    status_code=201,
    summary="Register a legal entity",
    responses=WRITE_ERRORS | _conflict("EDRPOU + type already registered"),
)
async def create_legal_entity(
    request: Request, conn: WriteConn, auth: LegalEntityWrite, body: schemas.LegalEntityCreate
) -> Response:
    row = await service.create_legal_entity(conn, body, auth.actor, created_by_mis=auth.created_by_filter)
    return envelope.ok(request, render.legal_entity_v2(row), status=201)


@router.patch(
    "/legal_entities/{id}",
    response_model=Envelope[LegalEntityOut],
    summary="Change a legal entity",
    responses=PATCH_ERRORS | _conflict("EDRPOU"),
)
async def update_legal_entity(
    request: Request, conn: WriteConn, auth: LegalEntityWrite, id: uuid.UUID, patch: Patch
) -> Response:
    row = await service.update_legal_entity(conn, id, patch, auth.actor)
    return envelope.ok(request, render.legal_entity_v2(row))


# --- divisions --------------------------------------------------------------------------------------


@router.post(
    "/divisions",
    response_model=Envelope[DivisionOut],
    status_code=201,
    summary="Create a division",
    responses=WRITE_ERRORS | _conflict("legal entity not active"),
)
async def create_division(
    request: Request, conn: WriteConn, auth: DivisionWrite, body: schemas.DivisionCreate
) -> Response:
    return envelope.ok(request, render.division(await service.create_division(conn, body, auth.actor)), status=201)


@router.patch(
    "/divisions/{id}",
    response_model=Envelope[DivisionOut],
    summary="Change a division",
    responses=PATCH_ERRORS | _conflict("legal entity"),
)
async def update_division(
    request: Request, conn: WriteConn, auth: DivisionWrite, id: uuid.UUID, patch: Patch
) -> Response:
    return envelope.ok(request, render.division(await service.update_division(conn, id, patch, auth.actor)))


# --- employees --------------------------------------------------------------------------------------


@router.post(
    "/employees",
    response_model=Envelope[EmployeeOut],
    status_code=201,
    summary="Create an employee with its party",
    description="A party with the same tax id is reused (one person, several employments).",
    responses=WRITE_ERRORS | _conflict("legal entity not active"),
)
async def create_employee(
    request: Request, conn: WriteConn, auth: EmployeeWrite, body: schemas.EmployeeCreate
) -> Response:
    row = await employees.create_employee(conn, body, auth.actor)
    return envelope.ok(request, render.employee(row, full=True), status=201)


@router.patch(
    "/employees/{id}",
    response_model=Envelope[EmployeeOut],
    summary="Change an employee and its party",
    responses=PATCH_ERRORS | _conflict("dismissed"),
)
async def update_employee(
    request: Request, conn: WriteConn, auth: EmployeeWrite, id: uuid.UUID, patch: Patch
) -> Response:
    row = await employees.update_employee(conn, id, patch, auth.actor)
    return envelope.ok(request, render.employee(row, full=True))


@router.patch(
    "/employees/{id}/actions/deactivate",
    response_model=Envelope[EmployeeOut],
    summary="Dismiss an employee",
    description="The employee becomes DISMISSED; a doctor's active declarations are terminated.",
    responses=PATCH_ERRORS | _conflict("already dismissed"),
)
async def deactivate_employee(
    request: Request,
    conn: WriteConn,
    auth: EmployeeDeactivate,
    id: uuid.UUID,
    body: schemas.EmployeeDeactivate | None = None,
) -> Response:
    row = await employees.deactivate_employee(conn, id, body or schemas.EmployeeDeactivate(), auth.actor)
    return envelope.ok(request, render.employee(row, full=True))


# --- persons ----------------------------------------------------------------------------------------


@router.post(
    "/persons",
    response_model=Envelope[PersonOut],
    status_code=201,
    summary="Create a person (MPI)",
    responses=WRITE_ERRORS,
)
async def create_person(request: Request, conn: WriteConn, auth: PersonWrite, body: schemas.PersonCreate) -> Response:
    return envelope.ok(request, render.person(await persons.create_person(conn, body, auth.actor)), status=201)


@router.get(
    "/persons/{id}",
    response_model=Envelope[PersonOut],
    summary="A person's full record (audited)",
    responses=errors(401, 403, 404, 422),
    openapi_extra=patient_data("person", person="path:id", id="path:id"),
)
async def get_person(request: Request, conn: ReadConn, auth: PersonRead, id: uuid.UUID) -> Response:
    return envelope.ok(request, render.person(await persons.get_person(conn, id, auth.actor)))


@router.patch("/persons/{id}", response_model=Envelope[PersonOut], summary="Change a person", responses=PATCH_ERRORS)
async def update_person(request: Request, conn: WriteConn, auth: PersonWrite, id: uuid.UUID, patch: Patch) -> Response:
    return envelope.ok(request, render.person(await persons.update_person(conn, id, patch, auth.actor)))


# --- declarations -----------------------------------------------------------------------------------


@router.post(
    "/declarations",
    response_model=Envelope[DeclarationOut],
    status_code=201,
    summary="Create a declaration (terminates the patient's previous one)",
    description="**esoz:** the signed declaration-request flow with the patient's SMS code comes later.",
    responses=WRITE_ERRORS
    | _conflict("doctor's limit reached (unless `overlimit`), person or legal entity not active"),
)
async def create_declaration(
    request: Request, conn: WriteConn, auth: DeclarationWrite, body: schemas.DeclarationCreate
) -> Response:
    term = getattr(request.app.state.settings, "declaration_term_days", declarations.DEFAULT_TERM_DAYS)
    row = await declarations.create_declaration(conn, body, auth.actor, term)
    return envelope.ok(request, render.declaration(row, full=True), status=201)


@router.patch(
    "/declarations/{id}/actions/terminate",
    response_model=Envelope[DeclarationOut],
    summary="Terminate a declaration",
    responses=PATCH_ERRORS | _conflict("declaration not active"),
)
async def terminate_declaration(
    request: Request,
    conn: WriteConn,
    auth: DeclarationWrite,
    id: uuid.UUID,
    body: schemas.DeclarationTerminate | None = None,
) -> Response:
    row = await declarations.terminate_declaration(conn, id, body or schemas.DeclarationTerminate(), auth.actor)
    return envelope.ok(request, render.declaration(row, full=True))
