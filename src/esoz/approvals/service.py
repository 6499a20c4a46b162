"""Business rules of approvals (contract: medical events, Approvals).

A doctor (or their MIS) asks for access to a patient's records: `create` stores an unverified approval and sends
the patient an SMS code; the doctor enters the code the patient reads out (`verify`), which makes the approval
active until `expires_at`. `resend` sends a fresh code, `cancel` ends the approval. Readers of medical events ask
`active_approval` whether an employee (or a legal entity) holds an active approval for the patient, or for one of
the patient's episodes.

    new --verify(code)--> active --cancel--> cancelled ;  new --cancel--> cancelled
    new | active, past expires_at: expired (derived, nothing rewrites the row)
"""

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.approvals.models import approvals
from esoz.approvals.schemas import RESOURCES, ApprovalRequest, Reference
from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.ids import uuid7
from esoz.core.pagination import PageParams, total_from_page
from esoz.core.rows import RowLike
from esoz.events import service as events
from esoz.notifications.service import queue_sms
from esoz.registry import repository
from esoz.settings import Settings

NEW, ACTIVE, CANCELLED = "new", "active", "cancelled"
EMPLOYEE, LEGAL_ENTITY = "employee", "legal_entity"

_T = approvals


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """An approval as other domains see it: who holds access to which of the patient's records, until when."""

    id: uuid.UUID
    person_id: uuid.UUID
    granted_to_type: str  # "employee" | "legal_entity"
    granted_to_id: uuid.UUID
    episode_ids: tuple[uuid.UUID, ...]  # empty: every record of the patient
    access_level: str
    expires_at: datetime

    @property
    def whole_record(self) -> bool:
        return not self.episode_ids


# An active approval of the patient held by the employee or the legal entity (either may be a never-matching
# zero UUID), that covers the whole record or the episode (a zero UUID: only whole-record approvals match).
_ACTIVE = FastQuery(
    select(_T.c.id, _T.c.person_id, _T.c.granted_to_type, _T.c.granted_to_id, _T.c.episode_ids, _T.c.access_level,
           _T.c.expires_at)
    .where(
        _T.c.person_id == bindparam("person_id"),
        _T.c.status == ACTIVE,
        _T.c.expires_at > bindparam("now"),
        or_(
            (_T.c.granted_to_type == EMPLOYEE) & (_T.c.granted_to_id == bindparam("employee_id")),
            (_T.c.granted_to_type == LEGAL_ENTITY) & (_T.c.granted_to_id == bindparam("legal_entity_id")),
        ),
        or_(func.cardinality(_T.c.episode_ids) == 0, _T.c.episode_ids.any(bindparam("episode_id"))),
    )
    .order_by(func.cardinality(_T.c.episode_ids), _T.c.expires_at.desc())
    .limit(1)
)  # fmt: skip
_NONE = uuid.UUID(int=0)


async def active_approval(
    conn: AsyncConnection,
    *,
    person_id: uuid.UUID,
    granted_to_employee_id: uuid.UUID | None = None,
    granted_to_legal_entity_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    access_level: str = "read",
) -> ApprovalRecord | None:
    """The active approval that lets the employee (or anyone of the legal entity) read the patient's records.

    Without `episode_id`, only an approval of the whole record counts; with it, an approval of that episode
    counts too. A whole-record approval is preferred when both exist. `access_level="read"` is met by a
    `read` or a `write` approval; `write` only by `write`.
    """
    if granted_to_employee_id is None and granted_to_legal_entity_id is None:
        return None
    row = await _ACTIVE.first(
        conn,
        person_id=person_id,
        now=clock.now(),
        employee_id=granted_to_employee_id or _NONE,
        legal_entity_id=granted_to_legal_entity_id or _NONE,
        episode_id=episode_id or _NONE,
    )
    if row is None or (access_level == "write" and row.access_level != "write"):
        return None
    return ApprovalRecord(
        id=row.id,
        person_id=row.person_id,
        granted_to_type=row.granted_to_type,
        granted_to_id=row.granted_to_id,
        episode_ids=tuple(row.episode_ids),
        access_level=row.access_level,
        expires_at=row.expires_at,
    )


# --- the code ---------------------------------------------------------------------------------------------------
# A 4-digit code (the contract's `code` is a number, so no leading zero) reaches the patient only inside the SMS.
# It is kept as an argon2id hash salted per row and bound to the approval, and it is cleared once used up: a code
# opens one approval once, and `approval_code_max_attempts` wrong codes burn it (a new one takes `resend`).

_hasher = PasswordHasher()
SMS_TEXT = "Код {code} надає доступ до ваших медичних записів: {whom}. Повідомте його лікарю, лише якщо згодні."
WRONG_CODE = "Invalid verification code"
ATTEMPTS_EXCEEDED = "Maximum attempts exceed: request a new code"
CODE_EXPIRED = "Verification code expired"
ALREADY_VERIFIED = "Approval is already verified"
NO_CODE = "No valid verification code: request a new one"
UNSUPPORTED = ("service_request", "forbidden_group", "diagnoses_group", "service_group", "resource_types",
               "composition", "child_resource")  # fmt: skip


def _new_code() -> int:
    return 1000 + secrets.randbelow(9000)


def _hash_sync(approval_id: uuid.UUID, code: int) -> str:
    return _hasher.hash(f"{approval_id}:{code}")


def _matches_sync(code_hash: str, approval_id: uuid.UUID, code: int) -> bool:
    try:
        return _hasher.verify(code_hash, f"{approval_id}:{code}")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class CodeRefused(ValidationFailed):
    """A wrong code that was counted: the route answers it without raising, so the count commits."""


def _mask(phone: str | None) -> str | None:
    return None if not phone else phone[:6] + "*" * max(len(phone) - 8, 0) + phone[-2:]


# --- rendering --------------------------------------------------------------------------------------------------


def _ref(resource: str, value: object) -> dict[str, Any]:
    identifier = {"type": {"coding": [{"system": RESOURCES, "code": resource}], "text": ""}, "value": str(value)}
    return {"identifier": identifier, "display_value": None}


def status_of(row: RowLike, now: datetime | None = None) -> str:
    if row["status"] in (NEW, ACTIVE) and row["expires_at"] <= (now or clock.now()):
        return "expired"
    return str(row["status"])


def render(row: RowLike) -> dict[str, Any]:
    """Get_Approval_Details, plus **esoz:** `status`."""
    creator = row["created_by_employee_id"]
    return {
        "id": str(row["id"]),
        "granted_resources": row["granted_resources"],
        "granted_resource_types": [],
        "granted_to": _ref(row["granted_to_type"], row["granted_to_id"]),
        "expires_at": row["expires_at"].isoformat(),
        "reason": row["reason"],
        "created_by": None if creator is None else _ref(EMPLOYEE, creator),
        "is_verified": row["is_verified"],
        "access_level": row["access_level"],
        "authorize_with": None if row["authorize_with"] is None else str(row["authorize_with"]),
        "authentication_method_current": {"type": row["auth_method_type"], "number": row["phone_masked"]},
        "status": status_of(row),
    }


# --- create -----------------------------------------------------------------------------------------------------


def _require_legal_entity(auth: AuthContext) -> uuid.UUID:
    if auth.legal_entity_id is None:
        raise Forbidden("Only a legal entity's client may ask for an approval")
    return auth.legal_entity_id


def _granted(body: ApprovalRequest, person_id: uuid.UUID) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    """(granted_resources as rendered, episode ids); 422 for what esoz does not grant."""
    extra = set(body.model_extra or {})
    errors = [invalid_entry(f"$.{name}", "invalid", "esoz: this kind of approval is not supported yet")
              for name in UNSUPPORTED if name in extra]  # fmt: skip
    errors += [invalid_entry(f"$.{name}", "schema", "unexpected property") for name in sorted(extra - set(UNSUPPORTED))]
    if (body.resources is None) == (body.patient is None) and not errors:
        errors.append(invalid_entry("$", "oneOf", "exactly one of resources, patient is required"))
    if body.patient is not None:
        if body.patient.resource != "patient" or body.patient.system != RESOURCES:
            errors.append(invalid_entry("$.patient.identifier.type.coding[0].code", "inclusion", "must be patient"))
        elif body.patient.id != person_id:
            errors.append(invalid_entry("$.patient.identifier.value", "invalid", "Must be the patient of the request"))
    episodes: list[uuid.UUID] = []
    for i, resource in enumerate(body.resources or []):
        if resource.resource != "episode_of_care" or resource.system != RESOURCES:
            entry = f"$.resources[{i}].identifier.type.coding[0].code"
            errors.append(
                invalid_entry(entry, "inclusion", "esoz: only episode_of_care is granted", ["episode_of_care"])
            )
        episodes.append(resource.id)
    if errors:
        raise ValidationFailed(errors)
    if body.patient is not None:
        return [_ref("patient", person_id)], []
    unique = list(dict.fromkeys(episodes))
    return [_ref("episode_of_care", e) for e in unique], unique


async def _grantee(conn: AsyncConnection, ref: Reference, legal_entity_id: uuid.UUID) -> tuple[str, uuid.UUID]:
    """The employee (a doctor or specialist of the caller's legal entity) or the caller's legal entity itself."""
    entry = "$.granted_to.identifier.value"
    if ref.system != RESOURCES or ref.resource not in (EMPLOYEE, LEGAL_ENTITY):
        code_entry = "$.granted_to.identifier.type.coding[0].code"
        raise ValidationFailed([invalid_entry(code_entry, "inclusion", "value is not allowed in enum",
                                              [EMPLOYEE, LEGAL_ENTITY])])  # fmt: skip
    if ref.resource == EMPLOYEE:
        await repository.active_clinician(conn, employee_id=ref.id, legal_entity_id=legal_entity_id, entry=entry)
        return EMPLOYEE, ref.id
    if ref.id != legal_entity_id:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Must be current legal entity")])
    await repository.active_legal_entity(conn, legal_entity_id=ref.id, entry=entry)
    return LEGAL_ENTITY, ref.id


async def _creator(
    conn: AsyncConnection, ref: Reference | None, grantee: tuple[str, uuid.UUID], legal_entity_id: uuid.UUID
) -> uuid.UUID | None:
    if ref is None:
        return grantee[1] if grantee[0] == EMPLOYEE else None
    entry = "$.created_by.identifier.value"
    if ref.resource != EMPLOYEE or ref.system != RESOURCES:
        raise ValidationFailed([invalid_entry("$.created_by.identifier.type.coding[0].code", "inclusion",
                                              "value is not allowed in enum", [EMPLOYEE])])  # fmt: skip
    employee = await repository.get_clinician(conn, employee_id=ref.id)
    if employee is None:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee not found")])
    if employee.employee.legal_entity_id != legal_entity_id:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Employee does not belong to your legal entity")])
    return ref.id


def _phone(person: RowLike, authorize_with: uuid.UUID | None) -> str:
    methods = [m for m in person["authentication_methods"] or [] if m.get("type") == "OTP" and m.get("phone_number")]
    if authorize_with is not None:
        methods = [m for m in methods if str(m.get("id")) == str(authorize_with)]
        if not methods:
            message = "Authentication method of the patient with type OTP not found"
            raise ValidationFailed([invalid_entry("$.authorize_with", "invalid", message)])
    if not methods:
        raise Conflict("The patient has no authentication method of type OTP to send the code to")
    return str(methods[0]["phone_number"])


async def _send_code(
    conn: AsyncConnection, *, approval_id: uuid.UUID, phone: str, whom: str, settings: Settings, sends: int
) -> tuple[str, datetime]:
    code = _new_code()
    await queue_sms(
        conn,
        phone=phone,
        text=SMS_TEXT.format(code=code, whom=whom),
        kind="approval_code",
        idempotency_key=f"approval:{approval_id}:{sends}",
    )
    return await asyncio.to_thread(_hash_sync, approval_id, code), clock.now() + timedelta(
        seconds=settings.approval_code_lifetime_seconds
    )


async def _whom(conn: AsyncConnection, grantee: tuple[str, uuid.UUID]) -> str:
    """Who gets access, as the patient reads it in the SMS: the doctor's name, or the clinic's."""
    kind, id_ = grantee
    if kind == EMPLOYEE:
        clinician = await repository.get_clinician(conn, employee_id=id_)
        if clinician is not None:
            party = clinician.party
            return f"лікар {party.last_name} {party.first_name[:1]}."
        return "лікар"
    le = await repository.get_legal_entity(conn, legal_entity_id=id_)
    return f"заклад {le.short_name or le.name}" if le is not None else "заклад"


async def create(
    conn: AsyncConnection, *, settings: Settings, auth: AuthContext, person_id: uuid.UUID, body: ApprovalRequest
) -> dict[str, Any]:
    """Store an unverified approval and send the patient its code; nothing is written when a check fails."""
    legal_entity_id = _require_legal_entity(auth)
    person = await repository.active_patient(conn, person_id=person_id)
    granted_resources, episode_ids = _granted(body, person_id)
    grantee = await _grantee(conn, body.granted_to, legal_entity_id)
    creator = await _creator(conn, body.created_by, grantee, legal_entity_id)
    phone = _phone(person, body.authorize_with)
    now, approval_id = clock.now(), uuid7()
    code_hash, code_expires_at = await _send_code(
        conn, approval_id=approval_id, phone=phone, whom=await _whom(conn, grantee), settings=settings, sends=1
    )
    row = {
        "id": approval_id,
        "person_id": person_id,
        "status": NEW,
        "granted_to_type": grantee[0],
        "granted_to_id": grantee[1],
        "episode_ids": episode_ids,
        "granted_resources": granted_resources,
        "access_level": body.access_level,
        "reason": None,
        "created_by_employee_id": creator,
        "legal_entity_id": legal_entity_id,
        "authorize_with": body.authorize_with,
        "auth_method_type": "OTP",
        "phone_masked": _mask(phone),
        "is_verified": False,
        "expires_at": now + timedelta(hours=settings.approval_expiration_hours),
        "code_hash": code_hash,
        "code_expires_at": code_expires_at,
        "code_attempts": 0,
        "codes_sent": 1,
        "inserted_by": auth.user_id,
        "updated_by": auth.user_id,
        "inserted_at": now,
        "updated_at": now,
    }
    await conn.execute(approvals.insert().values(row))
    await _audit(conn, "approval.create", row, auth)
    await _status_event(conn, row, auth)
    return render(row)


async def _status_event(conn: AsyncConnection, row: RowLike, auth: AuthContext) -> None:
    """The holder clinic's MIS sees its approvals change (the real Event Manager's `Approval` entity)."""
    await events.record_status_change(
        conn,
        entity_type="Approval",
        entity_id=row["id"],
        new_status=str(row["status"]),
        changed_by=auth.user_id,
        legal_entity_id=row["legal_entity_id"],
    )


async def _audit(conn: AsyncConnection, action: str, row: RowLike, auth: AuthContext, outcome: str = "success") -> None:
    await audit.record(
        conn,
        action=action,
        resource_type="approval",
        resource_id=row["id"],
        outcome=outcome,
        actor=auth.actor,
        details={"granted_to_type": row["granted_to_type"], "granted_to_id": str(row["granted_to_id"])},
        person_id=row["person_id"],  # in the patient's access history: who asked for access to their records
    )


# --- reads and access -------------------------------------------------------------------------------------------

_BY_ID = {
    lock: FastQuery(
        (lambda s: s.with_for_update() if lock else s)(
            select(_T).where(_T.c.person_id == bindparam("person_id"), _T.c.id == bindparam("id_"))
        )
    )
    for lock in (False, True)
}


async def _row(conn: AsyncConnection, person_id: uuid.UUID, approval_id: uuid.UUID, lock: bool = False) -> RowLike:
    row = await _BY_ID[lock].first(conn, person_id=person_id, id_=approval_id)
    if row is None:
        raise NotFound("Approval not found")
    return row._mapping


async def _sees_all(conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID) -> bool:
    """НСЗУ, and the clinic that holds the patient's active declaration, see and cancel every approval."""
    if auth.sees_everything:
        return True
    if auth.legal_entity_id is None:
        return False
    return await repository.has_active_declaration(conn, person_id=person_id, legal_entity_id=auth.legal_entity_id)


async def _may_see(conn: AsyncConnection, auth: AuthContext, row: RowLike) -> bool:
    """The clinic that asked for the approval (and so holds it), or one that sees all of the patient's."""
    return row["legal_entity_id"] == auth.legal_entity_id or await _sees_all(conn, auth, row["person_id"])


async def get(
    conn: AsyncConnection, *, auth: AuthContext, person_id: uuid.UUID, approval_id: uuid.UUID
) -> dict[str, Any]:
    row = await _row(conn, person_id, approval_id)
    if not await _may_see(conn, auth, row):
        raise NotFound("Approval not found")
    return render(row)


async def list_for_patient(
    conn: AsyncConnection,
    *,
    auth: AuthContext,
    person_id: uuid.UUID,
    page: PageParams,
    granted_to: uuid.UUID | None = None,
    granted_resources: uuid.UUID | None = None,
    granted_resource_type: str | None = None,
    is_verified: bool | None = None,
    reason: uuid.UUID | None = None,
    is_expired: bool | None = None,
    access_level: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The patient's approvals: all of them for НСЗУ and the declaration's clinic, else the caller's own."""
    if await repository.get_person(conn, person_id=person_id) is None:
        raise NotFound("Patient not found")
    now = clock.now()
    cond: list[ColumnElement[bool]] = [_T.c.person_id == person_id]
    if not await _sees_all(conn, auth, person_id):
        cond.append(_T.c.legal_entity_id == auth.legal_entity_id)
    if granted_to is not None:
        cond.append(_T.c.granted_to_id == granted_to)
    if granted_resources is not None:
        cond.append(_T.c.episode_ids.any(granted_resources))
    if granted_resource_type is not None:
        cond.append(func.cardinality(_T.c.episode_ids) > 0 if granted_resource_type == "episode_of_care"
                    else func.cardinality(_T.c.episode_ids) == 0 if granted_resource_type == "patient"
                    else _T.c.id.is_(None))  # fmt: skip
    if is_verified is not None:
        cond.append(_T.c.is_verified.is_(is_verified))
    if reason is not None:
        cond.append(_T.c.reason["identifier"]["value"].astext == str(reason))
    if is_expired is not None:
        cond.append(_T.c.expires_at <= now if is_expired else _T.c.expires_at > now)
    if access_level is not None:
        cond.append(_T.c.access_level == access_level)
    query = select(_T).where(and_(*cond)).order_by(_T.c.inserted_at.desc(), _T.c.id)
    rows = (await conn.execute(query.limit(page.page_size).offset(page.offset))).mappings().all()
    total = total_from_page(len(rows), page.offset, page.page_size)
    if total is None:
        total = (await conn.execute(select(func.count()).select_from(_T).where(and_(*cond)))).scalar_one()
    return [render(r) for r in rows], total


# --- verify, resend, cancel ------------------------------------------------------------------------------------


def _own(row: RowLike, auth: AuthContext) -> None:
    """Only the clinic that asked may enter the patient's code or have it sent again."""
    if row["legal_entity_id"] != auth.legal_entity_id:
        raise Forbidden("Approval was requested by another legal entity")


def _open(row: RowLike, now: datetime) -> None:
    status = status_of(row, now)
    if status == ACTIVE:
        raise Conflict(ALREADY_VERIFIED)
    if status != NEW:
        raise Conflict(f"Approval is {status}")


async def verify(
    conn: AsyncConnection,
    *,
    settings: Settings,
    auth: AuthContext,
    person_id: uuid.UUID,
    approval_id: uuid.UUID,
    code: int,
) -> dict[str, Any]:
    """The patient's code makes the approval active for `approval_expiration_hours` from now.

    Raises CodeRefused for a wrong code after counting it (the caller must let the count commit)."""
    row = await _row(conn, person_id, approval_id, lock=True)
    _own(row, auth)
    now = clock.now()
    _open(row, now)
    if row["code_hash"] is None:
        raise Conflict(NO_CODE)
    if row["code_expires_at"] is None or row["code_expires_at"] <= now:
        raise Conflict(CODE_EXPIRED)
    if not await asyncio.to_thread(_matches_sync, row["code_hash"], approval_id, code):
        attempts = row["code_attempts"] + 1
        burnt = attempts >= settings.approval_code_max_attempts
        values: dict[str, Any] = {"code_attempts": attempts, "updated_at": now}
        if burnt:
            values |= {"code_hash": None, "code_expires_at": None}
        await conn.execute(update(_T).where(_T.c.person_id == person_id, _T.c.id == approval_id).values(values))
        await _audit(conn, "approval.code_incorrect", row, auth, outcome="denied")
        raise CodeRefused([invalid_entry("$.code", "invalid", ATTEMPTS_EXCEEDED if burnt else WRONG_CODE)])
    values = {
        "status": ACTIVE,
        "is_verified": True,
        "code_hash": None,
        "code_expires_at": None,
        "expires_at": now + timedelta(hours=settings.approval_expiration_hours),
        "updated_at": now,
        "updated_by": auth.user_id,
    }
    await conn.execute(update(_T).where(_T.c.person_id == person_id, _T.c.id == approval_id).values(values))
    updated = dict(row) | values
    await _audit(conn, "approval.verify", updated, auth)
    await _status_event(conn, updated, auth)
    return render(updated)


async def resend(
    conn: AsyncConnection,
    *,
    settings: Settings,
    auth: AuthContext,
    person_id: uuid.UUID,
    approval_id: uuid.UUID,
) -> dict[str, Any]:
    """A new code replaces the old one (which stops working) and the wrong-code count starts again."""
    row = await _row(conn, person_id, approval_id, lock=True)
    _own(row, auth)
    now = clock.now()
    _open(row, now)
    if row["codes_sent"] >= settings.approval_code_max_sends:
        raise ApiError(429, "otp_timeout", "Sending OTP timeout. Try later.")
    person = await repository.active_patient(conn, person_id=person_id)
    phone = _phone(person, row["authorize_with"])
    sends = row["codes_sent"] + 1
    grantee = (row["granted_to_type"], row["granted_to_id"])
    code_hash, code_expires_at = await _send_code(
        conn, approval_id=approval_id, phone=phone, whom=await _whom(conn, grantee), settings=settings, sends=sends
    )
    values = {
        "code_hash": code_hash,
        "code_expires_at": code_expires_at,
        "code_attempts": 0,
        "codes_sent": sends,
        "phone_masked": _mask(phone),
        "updated_at": now,
        "updated_by": auth.user_id,
    }
    await conn.execute(update(_T).where(_T.c.person_id == person_id, _T.c.id == approval_id).values(values))
    updated = dict(row) | values
    await _audit(conn, "approval.resend", updated, auth)
    return render(updated)


async def cancel(
    conn: AsyncConnection, *, auth: AuthContext, person_id: uuid.UUID, approval_id: uuid.UUID
) -> dict[str, Any]:
    """The clinic that holds the approval, the declaration's clinic or НСЗУ end it; anyone else gets 403."""
    row = await _row(conn, person_id, approval_id, lock=True)
    if not await _may_see(conn, auth, row):
        raise Forbidden("Approval can be cancelled only by its holder or the doctor of the patient's declaration")
    now = clock.now()
    if row["status"] == CANCELLED:
        raise Conflict("Approval is already cancelled")
    values = {"status": CANCELLED, "code_hash": None, "code_expires_at": None, "updated_at": now,
              "updated_by": auth.user_id}  # fmt: skip
    await conn.execute(update(_T).where(_T.c.person_id == person_id, _T.c.id == approval_id).values(values))
    updated = dict(row) | values
    await _audit(conn, "approval.cancel", updated, auth)
    await _status_event(conn, updated, auth)
    return render(updated)
