"""The sign actions of declaration requests (v3) and person requests (v2).

The registry (below the signatures domain) prepares and completes each request; this package, above both, runs
the one signed-write flow between: the CMS verified, the signer checked (the request's doctor; for a person
request an employee of the caller's legal entity), the signed content compared with `data_to_be_signed`, the
CMS kept, then the events, audit rows and the patient's SMS.
"""

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import envelope
from esoz.core.auth import AuthContext
from esoz.core.db import WriteConn
from esoz.core.errors import ValidationFailed, invalid_entry
from esoz.core.schemas import Envelope
from esoz.registry import declaration_requests as dr
from esoz.registry import person_requests
from esoz.registry.auth import DeclarationRequestSign, PersonRequestWrite
from esoz.registry.request_schemas import (
    DeclarationShortOut,
    PersonRequestSignedOut,
    SignedDeclarationRequest,
    SignedPersonRequest,
)
from esoz.settings import Settings, settings_of
from esoz.signatures.flow import (
    AuditEntry,
    Effects,
    ExpectedSigner,
    SignedWrite,
    Sms,
    Written,
    read_nothing,
    signed_write,
)
from esoz.signatures.service import VerifiedDocument

router = APIRouter(prefix="/api", tags=["declaration requests", "person requests"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "request_malformed: the signature could not be verified"},
    404: {"description": "not_found: the request (of your legal entity)"},
    409: {"description": "request_conflict: the doctor's limit, the person's status, a duplicate person"},
    422: {"description": "validation_failed: status, signer (DRFO) or signed content"},
}


async def _write_declaration(
    conn: AsyncConnection, target: dr.SignTarget, auth: AuthContext, settings: Settings
) -> Written[dict[str, Any]]:
    signed = await dr.complete_sign(conn, target=target, auth=auth, settings=settings)
    declaration = signed.declaration
    effects = Effects(
        # The request's SIGNED event and audit row are written by complete_sign with the status.
        audit=(
            AuditEntry(
                action="declaration_request.sign",
                resource_type="declaration_request",
                resource_id=signed.request_id,
                details={"declaration_id": str(declaration["id"]), "terminated": [str(t) for t in signed.terminated]},
            ),
        ),
        messages=(
            Sms(
                phone=signed.patient_phone,
                template=("declaration_signed", signed.sms_text),
                idempotency_key=f"declaration-signed:{declaration['id']}",
            ),
        ),
    )
    return Written(document_id=signed.request_id, result=declaration, effects=effects)


@router.patch(
    "/v3/declaration_requests/{id}/actions/sign", response_model=Envelope[DeclarationShortOut], responses=ERRORS
)
async def sign_declaration_request(
    request: Request, conn: WriteConn, auth: DeclarationRequestSign, id: uuid.UUID, body: SignedDeclarationRequest
) -> Response:
    """The doctor signs the approved request's `data_to_be_signed` with КЕП: the declaration becomes active with
    the request's number (pending_verification on the documents path), the patient's previous declaration is
    terminated (reason `manual_person`), and the patient gets an SMS."""
    declaration = await sign_declaration(
        conn, id_=id, signed=body.signed_declaration_request, auth=auth, settings=settings_of(request)
    )
    return envelope.ok(request, declaration)


async def sign_declaration(
    conn: AsyncConnection,
    *,
    id_: uuid.UUID,
    signed: str,
    auth: AuthContext,
    settings: Settings,
    unsigned_fields: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The approved request signed by its doctor becomes the declaration. `unsigned_fields` are what an older
    version's answer adds to `data_to_be_signed` and its MIS may sign along (left out of the comparison)."""
    target = await dr.for_sign(conn, id_=id_, auth=auth)
    plan: SignedWrite[None, dict[str, Any]] = SignedWrite(
        stored_as="declaration_request",
        signer=ExpectedSigner(tax_id=target.doctor_tax_id),
        read=read_nothing,
        expected=lambda _doc, _read: target.row["data_to_be_signed"],
        write=lambda _doc, _read: _write_declaration(conn, target, auth, settings),
        unsigned_fields=unsigned_fields,
        entry="$.signed_declaration_request",
    )
    return await signed_write(conn, signed_data=signed, plan=plan, auth=auth, settings=settings)


async def _person_signer(conn: AsyncConnection, doc: VerifiedDocument, auth: AuthContext) -> ExpectedSigner:
    drfo = doc.signer.drfo if doc.signer is not None else None
    assert auth.legal_entity_id is not None
    if not await person_requests.signer_works_here(conn, legal_entity_id=auth.legal_entity_id, tax_id=drfo):
        raise ValidationFailed(
            [invalid_entry("$.signed_content", "invalid", "Signer is not an employee of your legal entity")]
        )
    return ExpectedSigner(tax_id=drfo)


async def _write_person(
    conn: AsyncConnection, target: person_requests.SignTarget, auth: AuthContext
) -> Written[RowMapping]:
    row = await person_requests.complete_sign(conn, target=target, auth=auth)
    effects = Effects(
        audit=(AuditEntry(action="person_request.sign", resource_type="person_request", resource_id=row["id"]),),
    )
    return Written(document_id=row["id"], result=row, effects=effects)


@router.patch(
    "/v2/person_requests/{id}/actions/sign", response_model=Envelope[PersonRequestSignedOut], responses=ERRORS
)
async def sign_person_request(
    request: Request, conn: WriteConn, auth: PersonRequestWrite, id: uuid.UUID, body: SignedPersonRequest
) -> Response:
    """An employee of the caller's legal entity signs the approved request's `data_to_be_signed` with КЕП; the
    person is then created (or updated). A human the index already holds is refused with the match (409)."""
    row = await sign_person(
        conn, id_=id, signed=body.signed_content, auth=auth, settings=settings_of(request), expected=None
    )
    return envelope.ok(request, {k: row[k] for k in ("id", "status", "person_id", "inserted_at", "updated_at")})


async def sign_person(
    conn: AsyncConnection,
    *,
    id_: uuid.UUID,
    signed: str,
    auth: AuthContext,
    settings: Settings,
    expected: Callable[[RowMapping], dict[str, Any]] | None,
    unsigned_fields: tuple[str, ...] = (),
) -> RowMapping:
    """The approved request signed by an employee of the caller's legal entity creates (or updates) the person.
    `expected` renders what the signed content must equal (v2: `data_to_be_signed`); `unsigned_fields` are left
    out of the comparison."""
    target = await person_requests.for_sign(conn, id_=id_, auth=auth)
    render = expected or person_requests.data_to_be_signed
    content = render(target.row)
    plan: SignedWrite[VerifiedDocument, RowMapping] = SignedWrite(
        stored_as="person_request",
        read=_identity,
        find_signer=lambda doc: _person_signer(conn, doc, auth),
        expected=lambda _doc, _read: content,
        write=lambda _doc, _read: _write_person(conn, target, auth),
        unsigned_fields=unsigned_fields,
        entry="$.signed_content",
    )
    return await signed_write(conn, signed_data=signed, plan=plan, auth=auth, settings=settings)


async def _identity(doc: VerifiedDocument) -> VerifiedDocument:
    return doc
