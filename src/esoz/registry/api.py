"""MIS-facing registry reads, as the real contract defines them.

Each route parses, declares its scope with a typed dependency, calls one service function and renders.
The caller's legal entity (`auth.legal_entity_filter`) limits what an MSP or pharmacy sees.
"""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import RowMapping

from esoz.core import envelope
from esoz.core.auth import AuthContext
from esoz.core.openapi import errors
from esoz.core.pagination import Cursor, PageParams, Pagination, Paging, keyset_of
from esoz.core.patient_data import patient_data
from esoz.core.replica import ReplicaConn
from esoz.core.schemas import CursorListEnvelope, Envelope, ListEnvelope
from esoz.registry import declarations, dictionaries, employees, persons, render, service
from esoz.registry.auth import (
    DeclarationRead,
    DivisionDetails,
    DivisionRead,
    EmployeeDetails,
    EmployeeRead,
    LegalEntityRead,
    PersonRead,
    RelatedLegalEntitiesRead,
)
from esoz.registry.schemas import (
    DeclarationOut,
    DictionaryOut,
    DivisionOut,
    EmployeeOut,
    LegalEntityOut,
    LegalEntityV1Out,
    PersonShortOut,
    RelatedLegalEntityOut,
)

router = APIRouter(prefix="/api", tags=["registry"])


LE_STATUS = Literal["ACTIVE", "SUSPENDED", "CLOSED", "REORGANIZED"]


# --- dictionaries -----------------------------------------------------------------------------------


@router.get(
    "/dictionaries",
    response_model=Envelope[list[DictionaryOut]],
    summary="Dictionaries (codes and their Ukrainian labels)",
)
async def get_dictionaries(
    request: Request,
    conn: ReplicaConn,
    name: Annotated[str | None, Query(max_length=100)] = None,
    is_active: bool | None = None,
) -> Response:
    return envelope.ok(request, await service.list_dictionaries(conn, name, is_active))


@router.get(
    "/v2/dictionaries",
    response_model=Envelope[list[dictionaries.DictionaryV2Out]],
    summary="Dictionaries with described values",
    description=(
        "`value_code` (exact), `value_description` (a part of the label, any case) and `value_is_active` keep "
        "the values that match and leave out dictionaries with none. esoz deviation: esoz keeps a dictionary's "
        "values as code and label, so no value has `child_values` and each is as active as its dictionary; "
        "`value_is_active` is a boolean."
    ),
    responses=errors(422),
)
async def get_dictionaries_v2(
    request: Request,
    conn: ReplicaConn,
    name: Annotated[str | None, Query(max_length=100)] = None,
    is_active: bool | None = None,
    value_code: Annotated[str | None, Query(max_length=100)] = None,
    value_description: Annotated[str | None, Query(max_length=255)] = None,
    value_is_active: bool | None = None,
) -> Response:
    found = await dictionaries.list_v2(
        conn,
        name=name,
        is_active=is_active,
        value_code=value_code,
        value_description=value_description,
        value_is_active=value_is_active,
    )
    return envelope.ok(request, found)


# --- legal entities ---------------------------------------------------------------------------------


async def _legal_entities(
    conn: ReplicaConn,
    auth: AuthContext,
    page: PageParams,
    edrpou: str | None,
    legal_entity_id: uuid.UUID | None,
    settlement_id: uuid.UUID | None,
    type: str | None,
    status: str | None,
    nhs_verified: bool | None,
    owner_property: str | None = None,
) -> tuple[Sequence[RowMapping], Paging]:
    return await service.list_legal_entities(
        conn,
        page,
        auth.legal_entity_filter,
        created_by_mis=auth.created_by_filter,
        edrpou=edrpou,
        legal_entity_id=legal_entity_id,
        settlement_id=settlement_id,
        type=type,
        status=status,
        nhs_verified=nhs_verified,
        owner_property=owner_property,
    )


@router.get(
    "/v2/legal_entities",
    response_model=ListEnvelope[LegalEntityOut],
    summary="Legal entities",
    responses=errors(401, 403, 422),
)
async def list_legal_entities_v2(
    request: Request,
    conn: ReplicaConn,
    auth: LegalEntityRead,
    page: Pagination,
    edrpou: Annotated[str | None, Query(max_length=10)] = None,
    legal_entity_id: uuid.UUID | None = None,
    settlement_id: uuid.UUID | None = None,
    type: Annotated[str | None, Query(max_length=32)] = None,
    status: LE_STATUS | None = None,
    nhs_verified: bool | None = None,
) -> Response:
    rows, paging = await _legal_entities(
        conn, auth, page, edrpou, legal_entity_id, settlement_id, type, status, nhs_verified
    )
    return envelope.ok(request, [render.legal_entity_v2(r) for r in rows], paging=paging)


@router.get(
    "/v2/legal_entities/{id}",
    response_model=Envelope[LegalEntityOut],
    summary="Legal entity details",
    responses=errors(401, 403, 404, 422),
)
async def get_legal_entity_v2(request: Request, conn: ReplicaConn, auth: LegalEntityRead, id: uuid.UUID) -> Response:
    row = await service.get_legal_entity(conn, id, auth.legal_entity_filter, auth.created_by_filter)
    return envelope.ok(request, render.legal_entity_v2(row))


@router.get(
    "/legal_entities",
    response_model=ListEnvelope[LegalEntityV1Out],
    summary="Legal entities (v1 shape)",
    description="Deprecated in the real contract in favour of `/api/v2/legal_entities`; served for older MIS.",
    responses=errors(401, 403, 422),
)
async def list_legal_entities(
    request: Request,
    conn: ReplicaConn,
    auth: LegalEntityRead,
    page: Pagination,
    edrpou: Annotated[str | None, Query(max_length=10)] = None,
    legal_entity_id: uuid.UUID | None = None,
    settlement_id: uuid.UUID | None = None,
    type: Annotated[str | None, Query(max_length=32)] = None,
    owner_property: Literal["state", "private", "STATE", "PRIVATE"] | None = None,
    status: LE_STATUS | None = None,
    nhs_verified: bool | None = None,
) -> Response:
    rows, paging = await _legal_entities(
        conn, auth, page, edrpou, legal_entity_id, settlement_id, type, status, nhs_verified, owner_property
    )
    return envelope.ok(request, [render.legal_entity_v1(r) for r in rows], paging=paging)


@router.get(
    "/legal_entities/{id}",
    response_model=Envelope[LegalEntityV1Out],
    summary="Legal entity details (v1 shape)",
    responses=errors(401, 403, 404, 422),
)
async def get_legal_entity(request: Request, conn: ReplicaConn, auth: LegalEntityRead, id: uuid.UUID) -> Response:
    row = await service.get_legal_entity(conn, id, auth.legal_entity_filter, auth.created_by_filter)
    return envelope.ok(request, render.legal_entity_v1(row))


@router.get(
    "/legal_entities/{id}/related",
    response_model=ListEnvelope[RelatedLegalEntityOut],
    summary="Legal entities merged into this one (its legators)",
    description=(
        "esoz deviation: esoz records no reorganisations of legal entities yet (it does not sync with the ЄДР), "
        "so the list of a legal entity the caller may see is empty; an unknown or foreign one is 404."
    ),
    responses=errors(401, 403, 404, 422),
)
async def list_related_legal_entities(
    request: Request, conn: ReplicaConn, auth: RelatedLegalEntitiesRead, page: Pagination, id: uuid.UUID
) -> Response:
    await service.get_legal_entity(conn, id, auth.legal_entity_filter, auth.created_by_filter)
    return envelope.ok(request, [], paging=Paging.of(page, 0))


# --- divisions --------------------------------------------------------------------------------------


@router.get(
    "/divisions",
    response_model=ListEnvelope[DivisionOut],
    summary="Divisions",
    responses=errors(401, 403, 422),
)
async def list_divisions(
    request: Request,
    conn: ReplicaConn,
    auth: DivisionRead,
    page: Pagination,
    ids: Annotated[str | None, Query(max_length=3700, description="comma-separated division ids")] = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    legal_entity_id: uuid.UUID | None = None,
    type: Annotated[str | None, Query(max_length=32)] = None,
    status: Literal["ACTIVE", "INACTIVE"] | None = None,
) -> Response:
    rows, paging = await service.list_divisions(
        conn,
        page,
        auth.legal_entity_filter,
        ids=service.parse_ids("ids", ids),
        name=name,
        legal_entity_id=legal_entity_id,
        type=type,
        status=status,
    )
    return envelope.ok(request, [render.division(r) for r in rows], paging=paging)


@router.get(
    "/divisions/{id}",
    response_model=Envelope[DivisionOut],
    summary="Division details",
    responses=errors(401, 403, 404, 422),
)
async def get_division(request: Request, conn: ReplicaConn, auth: DivisionDetails, id: uuid.UUID) -> Response:
    return envelope.ok(request, render.division(await service.get_division(conn, id, auth.legal_entity_filter)))


# --- employees --------------------------------------------------------------------------------------


@router.get(
    "/employees",
    response_model=ListEnvelope[EmployeeOut],
    summary="Employees",
    responses=errors(401, 403, 422),
)
async def list_employees(
    request: Request,
    conn: ReplicaConn,
    auth: EmployeeRead,
    page: Pagination,
    legal_entity_id: uuid.UUID | None = None,
    division_id: uuid.UUID | None = None,
    party_id: uuid.UUID | None = None,
    employee_type: Annotated[str | None, Query(max_length=32)] = None,
    status: Literal["NEW", "APPROVED", "DISMISSED", "REORGANIZED"] | None = None,
    tax_id: Annotated[str | None, Query(max_length=20)] = None,
    no_tax_id: bool | None = None,
    edrpou: Annotated[str | None, Query(max_length=10)] = None,
    verification_status: Annotated[
        Literal["VERIFIED", "NOT_VERIFIED", "VERIFICATION_NEEDED"] | None,
        Query(description="the party's check against the state registers; esoz checks none yet (NOT_VERIFIED)"),
    ] = None,
) -> Response:
    rows, paging = await employees.list_employees(
        conn,
        page,
        auth.legal_entity_filter,
        legal_entity_id=legal_entity_id,
        division_id=division_id,
        party_id=party_id,
        employee_type=employee_type,
        status=status,
        tax_id=tax_id,
        no_tax_id=no_tax_id,
        edrpou=edrpou,
        verification_status=verification_status,
    )
    return envelope.ok(request, [render.employee(r, full=False) for r in rows], paging=paging)


@router.get(
    "/employees/{employee_id}",
    response_model=Envelope[EmployeeOut],
    summary="Employee details",
    responses=errors(401, 403, 404, 422),
)
async def get_employee(request: Request, conn: ReplicaConn, auth: EmployeeDetails, employee_id: uuid.UUID) -> Response:
    row = await employees.get_employee(conn, employee_id, auth.legal_entity_filter)
    return envelope.ok(request, render.employee(row, full=True))


# --- persons ----------------------------------------------------------------------------------------


@router.get(
    "/persons",
    response_model=Envelope[list[PersonShortOut]],
    summary="Search a person (exact match)",
    description=(
        "All given fields must match exactly (names case-insensitively); only active persons. The answer holds "
        "the identification fields plus only the identifiers searched by. More than one match is 403 "
        "`too_many_results`."
    ),
    responses=errors(401, 403, 422, _403="too_many_results: more than one person matches"),
    openapi_extra=patient_data("person", person="data:id", id="data:id"),
)
async def search_persons(
    request: Request,
    conn: ReplicaConn,
    auth: PersonRead,
    first_name: Annotated[str, Query(min_length=1, max_length=255)],
    last_name: Annotated[str, Query(min_length=1, max_length=255)],
    birth_date: date,
    second_name: Annotated[str | None, Query(max_length=255)] = None,
    tax_id: Annotated[str | None, Query(max_length=10)] = None,
    unzr: Annotated[str | None, Query(max_length=14)] = None,
    phone_number: Annotated[str | None, Query(pattern=r"^\+38[0-9]{10}$")] = None,
    birth_certificate: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    rows, requested = await persons.search(
        conn,
        auth.actor,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        second_name=second_name,
        tax_id=tax_id,
        unzr=unzr,
        phone_number=phone_number,
        birth_certificate=birth_certificate,
    )
    return envelope.ok(request, [render.person_search_item(r, requested) for r in rows])


@router.get(
    "/persons/{id}/declaration",
    response_model=Envelope[list[DeclarationOut]],
    summary="The person's active declaration",
    responses=errors(401, 404, 422, _403="forbidden: Active declaration belongs to another msp"),
    openapi_extra=patient_data("declaration", person="path:id", id="data:id", action="person.declaration.read"),
)
async def get_person_declaration(request: Request, conn: ReplicaConn, auth: DeclarationRead, id: uuid.UUID) -> Response:
    row = await declarations.get_person_declaration(conn, id, auth.legal_entity_filter, auth.actor)
    # The 2026 contract answers with a list (of the one active declaration).
    return envelope.ok(request, [render.declaration(row, full=True)])


# --- declarations -----------------------------------------------------------------------------------


@router.get(
    "/declarations",
    response_model=CursorListEnvelope[DeclarationOut],
    summary="Declarations",
    responses=errors(401, 403, 422),
    openapi_extra=patient_data("declaration", person="data:person.id", id="data:id"),
)
async def list_declarations(
    request: Request,
    conn: ReplicaConn,
    auth: DeclarationRead,
    page: Pagination,
    cursor: Cursor = None,
    employee_id: uuid.UUID | None = None,
    legal_entity_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    status: Literal["active", "pending_verification", "terminated", "closed", "rejected"] | None = None,
    declaration_number: Annotated[str | None, Query(max_length=20)] = None,
    reason: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    rows, paging = await declarations.list_declarations(
        conn,
        page,
        auth.legal_entity_filter,
        auth.actor,
        employee_id=employee_id,
        legal_entity_id=legal_entity_id,
        person_id=person_id,
        status=status,
        declaration_number=declaration_number,
        reason=reason,
        keyset=keyset_of(page, cursor),
    )
    return envelope.ok(request, [render.declaration(r, full=False) for r in rows], paging=paging)


@router.get(
    "/declarations/{id}",
    response_model=Envelope[DeclarationOut],
    summary="Declaration details",
    responses=errors(401, 403, 404, 422),
    openapi_extra=patient_data("declaration", person="data:person.id", id="path:id"),
)
async def get_declaration(request: Request, conn: ReplicaConn, auth: DeclarationRead, id: uuid.UUID) -> Response:
    row = await declarations.get_declaration(conn, id, auth.legal_entity_filter, auth.actor)
    return envelope.ok(request, render.declaration(row, full=True))
