"""MIS-facing routes of the service catalogue: the services a referral may order (`GET /api/services`, public
like the dictionaries) and what a programme covers at what price (`/api/program_services`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn
from esoz.core.pagination import Pagination, Paging
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.services import service
from esoz.services.auth import ProgramServiceRead
from esoz.services.schemas import ProgramServiceOut, ServiceInGroupOut

router = APIRouter(prefix="/api", tags=["services"])


@router.get("/services", response_model=ListEnvelope[ServiceInGroupOut], summary="Get Services Dictionary")
async def services(
    request: Request,
    conn: ReadConn,
    page: Pagination,
    code: Annotated[str | None, Query(max_length=50, description="a service's code, exact")] = None,
    name: Annotated[str | None, Query(max_length=200, description="part of a service's name, any case")] = None,
) -> Response:
    """The catalogue as a tree: top-level groups, their `groups`, and the `services` of each.
    `code` and `name` select services; only the branches that lead to a selected service are shown.

    esoz deviation: `data` is the list of top-level groups, paged (the contract's example shows one node)."""
    rows, total = await service.catalogue(conn, code=code, name=name, page=page)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/program_services",
    response_model=ListEnvelope[ProgramServiceOut],
    summary="Get Program services list",
)
async def program_services(
    request: Request,
    conn: ReadConn,
    auth: ProgramServiceRead,
    page: Pagination,
    medical_program_id: uuid.UUID,
) -> Response:
    """The services and groups a programme covers, with the price the programme pays (`consumer_price`)."""
    rows, total = await service.list_program_services(conn, medical_program_id=medical_program_id, page=page)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/program_services/{id}",
    response_model=Envelope[ProgramServiceOut],
    summary="Get Program service by id",
    responses={404: {"description": "not_found: no such programme service"}},
)
async def program_service(request: Request, conn: ReadConn, auth: ProgramServiceRead, id: uuid.UUID) -> Response:
    return envelope.ok(request, await service.get_program_service(conn, program_service_id=id))
