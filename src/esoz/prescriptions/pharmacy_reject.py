"""A pharmacist voids a prescription they cannot dispense (signed): `PATCH /api/pharmacy/medication_requests/{id}/
actions/reject`.

Any pharmacy may reject any ACTIVE prescription, as any pharmacy may find and dispense it; what it signs is the
prescription as a pharmacy sees it without the patient's code (the contract's pharmacist shape) plus the reason.
A prescription another pharmacy has reserved (blocked), one with a dispense under way or done, and one this
pharmacy is locked out of by wrong codes are refused before the signature is even decoded.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock, envelope
from esoz.core.auth import AuthContext
from esoz.core.errors import Conflict, Forbidden, ValidationFailed, invalid_entry
from esoz.core.rows import RowLike
from esoz.notifications import templates
from esoz.prescriptions import codes, people, prescriptions, render, schemas
from esoz.prescriptions.models import medication_dispenses, medication_requests
from esoz.registry import repository
from esoz.registry.reference import dictionary_codes
from esoz.settings import Settings
from esoz.signatures.flow import (
    AuditEntry,
    Effects,
    ExpectedSigner,
    SignedWrite,
    Sms,
    StatusChange,
    Written,
    signed_write,
)
from esoz.signatures.service import VerifiedDocument

PHARMACY_TYPES = ("PHARMACY", "MSP_PHARMACY")
REASONS = "MEDICATION_REQUEST_REJECT_REASON"
REJECT_FIELDS = ("reject_reason_code", "reject_reason")
ENTRY = "$.signed_medication_reject"
BLOCKED_ELSEWHERE = "Medication request is blocked by another legal entity"
HAS_DISPENSES = "Medication request with connected processed medication dispenses can not be rejected"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str | None


async def reject(
    conn: AsyncConnection,
    *,
    id_: uuid.UUID,
    body: schemas.SignedReject,
    auth: AuthContext,
    settings: Settings,
) -> dict[str, Any]:
    le_id = await _pharmacy_of(conn, auth)
    row = await prescriptions.get_row(conn, id_, None, lock=True)
    codes.refuse_if_locked(await codes.attempts_of(conn, mr=row, auth=auth))
    await _check_rejectable(conn, row, le_id)
    party = await people.caller_party(conn, auth)
    if party is None or not await people.caller_employees(conn, auth):
        raise Forbidden("Employee is not allowed to reject medication request")
    plan: SignedWrite[Reason, None] = SignedWrite(
        stored_as="medication_request_reject",
        entry=ENTRY,
        content_entry=ENTRY,
        # A pharmacist signs in their own name, as for a dispense.
        signer=ExpectedSigner(tax_id=party["tax_id"], last_name=party["last_name"] or ""),
        read=_reason,
        expected=lambda _doc, _reason: signable(row),
        unsigned_fields=REJECT_FIELDS,
        write=lambda _doc, reason: _write(conn, row, reason, auth=auth),
    )
    await signed_write(conn, signed_data=body.signed_medication_reject, plan=plan, auth=auth, settings=settings)
    return answer(await prescriptions.get_row(conn, id_, None))


def signable(row: RowLike) -> dict[str, Any]:
    """What the pharmacist signs (besides the reason): the prescription as GET without a code returns it."""
    return orjson.loads(envelope.dumps(render.medication_request_public(row)))


def answer(row: RowLike) -> dict[str, Any]:
    return render.medication_request_public(row) | {
        "rejected_at": row["rejected_at"],
        "rejected_by": row["rejected_by"],
    }


async def _pharmacy_of(conn: AsyncConnection, auth: AuthContext) -> uuid.UUID:
    le_id = people.require_legal_entity(auth)
    le = await repository.get_legal_entity(conn, legal_entity_id=le_id)
    if le is None or le["status"] != "ACTIVE" or not le["is_active"]:
        raise Conflict("Legal entity is not active")
    if le["type"] not in PHARMACY_TYPES:
        raise Conflict("Invalid legal entity type")
    return le_id


async def _check_rejectable(conn: AsyncConnection, row: RowLike, le_id: uuid.UUID) -> None:
    if row["status"] != "ACTIVE":
        raise Conflict("Invalid status Medication request for reject transition!")
    if row["is_blocked"] and row["blocked_by_legal_entity"] not in (None, le_id):
        raise Conflict(BLOCKED_ELSEWHERE)
    t = medication_dispenses
    active = await conn.execute(
        select(t.c.id).where(t.c.medication_request_id == row["id"], t.c.status.in_(("NEW", "PROCESSED"))).limit(1)
    )
    if active.first() is not None:
        raise Conflict(HAS_DISPENSES)


async def _reason(doc: VerifiedDocument) -> Reason:
    content = doc.content if isinstance(doc.content, dict) else {}
    code = content.get("reject_reason_code")
    entry = f"{ENTRY}.reject_reason_code"
    if not isinstance(code, str) or not code:
        raise ValidationFailed([invalid_entry(entry, "required", "required property")])
    allowed = sorted(dictionary_codes(REASONS))
    if code not in allowed:
        raise ValidationFailed([invalid_entry(entry, "inclusion", "value is not allowed in enum", allowed)])
    text = content.get("reject_reason")
    if text is not None and (not isinstance(text, str) or len(text) > 2000):
        raise ValidationFailed([invalid_entry(f"{ENTRY}.reject_reason", "type", "type mismatch. Expected string")])
    return Reason(code, text)


async def _write(conn: AsyncConnection, row: RowLike, reason: Reason, *, auth: AuthContext) -> Written[None]:
    id_ = row["id"]
    now = clock.now()
    await conn.execute(
        medication_requests.update()
        .where(medication_requests.c.id == id_)
        .values(
            status="REJECTED",
            is_active=False,
            rejected_at=now,
            rejected_by=auth.user_id,
            reject_reason=reason.text,
            reject_reason_code=reason.code,
            updated_at=now,
            updated_by=auth.user_id,
        )
    )
    phone = await repository.patient_sms_phone(conn, person_id=row["person_id"])
    effects = Effects(
        changes=(
            StatusChange(
                entity_type="MedicationRequest",
                entity_id=id_,
                new_status="REJECTED",
                legal_entity_id=row["legal_entity_id"],
            ),
        ),
        audit=(
            AuditEntry(
                action="medication_request.reject_pharm",
                resource_type="medication_request",
                resource_id=id_,
                details={"reject_reason_code": reason.code, "legal_entity_id": str(auth.legal_entity_id)},
            ),
        ),
        messages=(
            Sms(
                phone=phone,
                template=templates.medication_request_reject(row["request_number"], row["created_at"]),
                idempotency_key=f"mr-reject:{id_}",
            ),
        ),
    )
    return Written(document_id=id_, result=None, effects=effects)
