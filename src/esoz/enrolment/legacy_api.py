"""The sign actions of person requests v1 and of the deprecated declaration requests (v1), through the same
signed-write steps as v2/v3 (`esoz.enrolment.api`): only what the signed content is compared with is the
version's own, the document each version's approve answer shows."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import WriteConn
from esoz.core.schemas import Envelope
from esoz.enrolment.api import ERRORS, sign_declaration, sign_person
from esoz.registry import declaration_requests as dr
from esoz.registry import person_requests
from esoz.registry.auth import DeclarationRequestSign, PersonRequestWrite
from esoz.registry.legacy_request_schemas import DeclarationSignedV1Out, SignedDeclarationRequestV1
from esoz.registry.request_schemas import PersonRequestSignedOut, SignedPersonRequest
from esoz.settings import settings_of

router = APIRouter(prefix="/api", tags=["person requests", "declaration requests"])

# What the v1 answers add to the document and a v1 MIS may sign along with it.
PERSON_V1_UNSIGNED = ("status", "channel", "authorize_with")
DECLARATION_V1_UNSIGNED = ("seed", "authorize_with")
SIGNED_V1_KEYS = (
    "id start_date end_date signed_at status declaration_request_id person_id legal_entity_id employee_id "
    "division_id inserted_at is_active reason reason_description"
).split()


@router.patch("/person_requests/{id}/actions/sign", response_model=Envelope[PersonRequestSignedOut], responses=ERRORS)
async def sign_person_request_v1(
    request: Request, conn: WriteConn, auth: PersonRequestWrite, id: uuid.UUID, body: SignedPersonRequest
) -> Response:
    """An employee of the caller's legal entity signs the approved request as the v1 approve answered it (its
    `status`, `channel` and `authorize_with` may be signed along or left out); the person is then created (or
    updated). A human the index already holds is refused with the match (409)."""
    row = await sign_person(
        conn,
        id_=id,
        signed=body.signed_content,
        auth=auth,
        settings=settings_of(request),
        expected=person_requests.render_v1,
        unsigned_fields=PERSON_V1_UNSIGNED,
    )
    return envelope.ok(request, {k: row[k] for k in ("id", "status", "person_id", "inserted_at", "updated_at")})


@router.patch(
    "/declaration_requests/{id}/actions/sign",
    response_model=Envelope[DeclarationSignedV1Out],
    responses=ERRORS,
    deprecated=True,
)
async def sign_declaration_request_v1(
    request: Request, conn: WriteConn, auth: DeclarationRequestSign, id: uuid.UUID, body: SignedDeclarationRequestV1
) -> Response:
    """Deprecated: use the v3 sign. The doctor signs the approved request as the v1 approve answered it (its
    `seed` and `authorize_with` may be signed along or left out); the declaration becomes active as in v3."""
    declaration: dict[str, Any] = await sign_declaration(
        conn,
        id_=id,
        signed=body.signed_declaration_request,
        auth=auth,
        settings=settings_of(request),
        unsigned_fields=DECLARATION_V1_UNSIGNED,
    )
    signed = await dr.get(conn, id_=id, auth=auth)
    return envelope.ok(request, {**{k: declaration[k] for k in SIGNED_V1_KEYS}, "scope": signed["scope"]})
