"""`GET /api/jobs/{id}`: the result of an async medical-events write (service requests, compositions)."""

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn
from esoz.referrals import me_jobs
from esoz.referrals.auth import JobRead

router = APIRouter(prefix="/api", tags=["jobs"])


@router.get(
    "/jobs/{id}",
    summary="Get job details",
    responses={404: {"description": "not_found: no such job for the caller's legal entity"}},
)
async def get_job(request: Request, conn: ReadConn, auth: JobRead, id: uuid.UUID) -> Response:
    """`status`: pending | processed | failed | failed_with_error; `links` name the created entity.
    **esoz:** answers 200 with the links rather than a 303 redirect."""
    return envelope.ok(request, await me_jobs.get_job(conn, id, auth.legal_entity_filter))
