"""The sign action of confidant person relationship requests.

The registry prepares and completes the request (esoz.registry.confidants); this package, above the registry,
identity and signatures, runs the one signed-write flow between: the signer must be the request's author (the
certificate's DRFO equals the tax id of the party behind the user who made the request), the signed content
must equal the approved request as its approve answered it (`$.data`), then the relationship is made or ended
and the CMS kept.
"""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import envelope
from esoz.core.auth import AuthContext
from esoz.core.db import WriteConn
from esoz.core.schemas import Envelope
from esoz.identity.users import party_id_of_user
from esoz.registry import confidants
from esoz.registry.auth import ConfidantRequestWrite
from esoz.registry.confidant_schemas import ConfidantRequestOut, SignedConfidantRequest
from esoz.registry.repository import CallerLookups
from esoz.settings import settings_of
from esoz.signatures.flow import AuditEntry, Effects, ExpectedSigner, SignedWrite, Written, read_nothing, signed_write

router = APIRouter(prefix="/api/persons/{id}", tags=["confidant persons"])
_CALLER = CallerLookups(party_id_of_user())

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "request_malformed: the signature could not be verified"},
    404: {"description": "not_found: the person, or the request (of your legal entity)"},
    409: {"description": "request_conflict: the request's expiry, an active relationship of the pair"},
    422: {
        "description": "validation_failed: status, signer (the request's author), signed content, the people; "
        "request_malformed: the number of confidants, a child's last confidant"
    },
}


async def _author(conn: AsyncConnection, target: confidants.SignTarget) -> ExpectedSigner:
    """The request's author signs it: the tax id of the party behind the user who made the request (none when
    that user is no registry party, and then no certificate matches)."""
    party = None
    if target.author_user_id is not None:
        party = await _CALLER.party(conn, user_id=target.author_user_id)
    return ExpectedSigner(tax_id=party.tax_id if party is not None else None)


async def _write(conn: AsyncConnection, target: confidants.SignTarget, auth: AuthContext) -> Written[RowMapping]:
    row = await confidants.complete_sign(conn, target=target, auth=auth)
    audit = AuditEntry(
        action="confidant_request.sign",
        resource_type="confidant_relationship_request",
        resource_id=row["id"],
        details={"action": row["action"], "person_id": str(row["person_id"])},
    )
    return Written(document_id=row["id"], result=row, effects=Effects(audit=(audit,)))


@router.patch(
    "/confidant_person_relationship_requests/{confidant_person_relationship_request_id}/actions/sign",
    response_model=Envelope[ConfidantRequestOut],
    responses=ERRORS,
)
async def sign_confidant_request(
    request: Request,
    conn: WriteConn,
    auth: ConfidantRequestWrite,
    id: uuid.UUID,
    confidant_person_relationship_request_id: uuid.UUID,
    body: SignedConfidantRequest,
) -> Response:
    """The request's author signs the approved request (the `data` of its approve answer) with КЕП; the
    relationship then becomes active (INSERT) or ends (DEACTIVATE), the rules checked again under the person's
    lock."""
    target = await confidants.for_sign(conn, person_id=id, id_=confidant_person_relationship_request_id, auth=auth)
    expected = confidants.data_to_be_signed(target.row)
    plan: SignedWrite[None, RowMapping] = SignedWrite(
        stored_as="confidant_relationship_request",
        signer=await _author(conn, target),
        read=read_nothing,
        expected=lambda _doc, _read: expected,
        write=lambda _doc, _read: _write(conn, target, auth),
        entry="$.signed_content",
    )
    row = await signed_write(conn, signed_data=body.signed_content, plan=plan, auth=auth, settings=settings_of(request))
    return envelope.ok(request, confidants.render(row))
