"""Confidant persons: a parent or guardian who acts for a child or an incapacitated adult.

A relationship is made (INSERT) or ended (DEACTIVATE) only through a request:

    NEW --approve (SMS code, or the documents path without a phone)--> APPROVED --sign (КЕП)--> COMPLETED

The SMS code goes to whoever speaks for the person: their own OTP phone from the age of 14 (the real system's
`no_self_auth_age`); for a younger child the phone of a confidant already on record, or, for a child who has
none yet, of the person who is to become one. The request's author (the employee who made it) signs; the sign
step itself runs in `esoz.enrolment`, above the signatures domain.

Rules, checked when the request is made and again under the person's row lock when it is signed:
a person is not their own confidant; neither side is deceased, inactive or merged away; one active
relationship per pair; at most MAX_CONFIDANTS; an adult's (18+) relationship rests on a court decision;
a child under 14 keeps at least one confidant.
"""

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed, invalid_entry
from esoz.core.ids import uuid7
from esoz.core.pagination import PageParams, Paging
from esoz.notifications.service import queue_sms
from esoz.registry import person_links, request_codes, request_rows, validators
from esoz.registry.confidant_models import confidant_relationship_requests, confidant_relationships
from esoz.registry.confidant_schemas import ConfidantRequestCreate, ConfidantRequestDeactivate
from esoz.registry.models import persons
from esoz.registry.reference import rules
from esoz.registry.render import mask_phone
from esoz.registry.service import fetch_page
from esoz.settings import Settings

NEW, APPROVED, COMPLETED = "NEW", "APPROVED", "COMPLETED"
INSERT, DEACTIVATE = "INSERT", "DEACTIVATE"
EXPIRATION = timedelta(days=1)
MAX_CONFIDANTS = 2  # the person record's confidant_person list holds two
NO_SELF_AUTH_AGE = 14  # below it a child confirms nothing themselves: a confidant does
# Dictionary DOCUMENT_RELATIONSHIP_TYPE of the real system, with the 2026 deprivation of parental rights.
DOCUMENT_TYPES = (
    "BIRTH_CERTIFICATE",
    "COURT_DECISION",
    "CONFIDANT_CERTIFICATE",
    "DOCUMENT",
    "DEPRIVATION_OF_PARENTAL_RIGHTS",
)
COURT_DOCUMENTS = frozenset({"COURT_DECISION"})
T = confidant_relationship_requests
R = confidant_relationships
SMS_TEXT = {
    INSERT: "Код підтвердження запиту на встановлення законного представника в ЕСОЗ: {code}",
    DEACTIVATE: "Код підтвердження запиту на припинення законного представництва в ЕСОЗ: {code}",
}
PERSON_NOT_FOUND = "Such person not found"


@dataclass(frozen=True, kw_only=True)
class SignTarget:
    row: RowMapping
    author_user_id: uuid.UUID | None  # the employee's user who made the request: the one who signs it


# --- rendering ---------------------------------------------------------------------------------------


def _documents(values: Any) -> list[dict[str, Any]] | None:
    return None if values is None else list(values)


def render(row: RowMapping) -> dict[str, Any]:
    ending = None
    if row["relationship_id"] is not None:
        ending = {"id": row["relationship_id"], "documents_relationship": _documents(row["relationship_documents"])}
    return {
        "id": row["id"],
        "status": row["status"],
        "action": row["action"],
        "channel": row["channel"],
        "confidant_person_id": row["confidant_person_id"],
        "documents_relationship": _documents(row["documents_relationship"]),
        "confidant_person_relationship": ending,
        "authorize_with": row["authorize_with"],
    }


def render_short(row: RowMapping) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "status", "action", "channel")}


def data_to_be_signed(row: RowMapping) -> dict[str, Any]:
    """What the author signs: the approved request as its approve (or read) answered it, `$.data` as JSON."""
    data = render(row) | {"status": APPROVED}
    ending = data["confidant_person_relationship"]
    return data | {
        "id": str(data["id"]),
        "confidant_person_id": str(data["confidant_person_id"]),
        "confidant_person_relationship": None if ending is None else ending | {"id": str(ending["id"])},
        "authorize_with": None if data["authorize_with"] is None else str(data["authorize_with"]),
    }


def urgent(method: dict[str, Any] | None) -> dict[str, Any]:
    current = None
    if method is not None and method.get("type") != "OFFLINE":
        current = {"type": method["type"], "phone_number": mask_phone(method.get("number"))}
    return {"authentication_method_current": current, "documents": []}


# --- the two people ------------------------------------------------------------------------------------


async def _person(conn: AsyncConnection, person_id: uuid.UUID, *, lock: bool = False) -> RowMapping | None:
    query = select(persons).where(persons.c.id == person_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def _unusable(conn: AsyncConnection, row: RowMapping | None) -> str | None:
    """Why a person cannot be either side of a relationship, or None."""
    if row is None:
        return PERSON_NOT_FOUND
    survivor = await person_links.merged_into(conn, person_id=row["id"])
    if survivor is not None:
        return f"Person was merged into {survivor}"
    if row["death_date"] is not None:
        return "Person is deceased"
    if row["status"] != "active" or not row["is_active"]:
        return "Person is not active"
    return None


async def _subject(conn: AsyncConnection, person_id: uuid.UUID, *, lock: bool = False) -> RowMapping:
    """The person the path names: unknown is 404; one who cannot have a confidant is 422."""
    row = await _person(conn, person_id, lock=lock)
    if row is None:
        raise NotFound(PERSON_NOT_FOUND)
    reason = await _unusable(conn, row)
    if reason is not None:
        raise ValidationFailed([invalid_entry("$.person_id", "invalid", reason)], reason)
    return row


def _age(row: RowMapping) -> int:
    return validators.age_on(row["birth_date"], validators.today())


# --- the documents -------------------------------------------------------------------------------------


def _check_documents(base: str, documents: Sequence[Any], *, person: RowMapping) -> None:
    """Types from the dictionary, one of each, the birth certificate's number format, dates in order, and for
    an adult a court decision (an adult has a confidant only by a court's ruling)."""
    today = validators.today()
    errors = validators.check_one_per_type(base, documents, "document")
    birth_pattern = rules()["document_number_patterns"]["BIRTH_CERTIFICATE"]
    for i, doc in enumerate(documents):
        errors += validators.check_inclusion(f"{base}[{i}].type", doc.type, DOCUMENT_TYPES)
        if doc.type == "BIRTH_CERTIFICATE":
            if re.fullmatch(birth_pattern, doc.number) is None:
                errors.append(
                    invalid_entry(f"{base}[{i}].number", "format", "string does not match pattern", [birth_pattern])
                )
        if doc.issued_at > today:
            errors.append(invalid_entry(f"{base}[{i}].issued_at", "invalid", "issued_at cannot be in the future"))
        active_to = getattr(doc, "active_to", None)
        if active_to is not None and active_to < today:
            errors.append(invalid_entry(f"{base}[{i}].active_to", "invalid", "document has expired"))
        if active_to is not None and active_to < doc.issued_at:
            errors.append(invalid_entry(f"{base}[{i}].active_to", "invalid", "active_to is before issued_at"))
    adult = _age(person) >= rules()["person_age_limits"]["adult_age"]
    if adult and not any(doc.type in COURT_DOCUMENTS for doc in documents):
        errors.append(
            invalid_entry(base, "invalid", "An adult's confidant is appointed by a court: COURT_DECISION is required")
        )
    validators.raise_if(errors)


def _active_to(documents: Sequence[dict[str, Any]]) -> date | None:
    """The relationship lasts as long as its shortest-lived document."""
    ends = [date.fromisoformat(d["active_to"]) for d in documents if d.get("active_to")]
    return min(ends) if ends else None


# --- relationships -------------------------------------------------------------------------------------


def _live(today: date) -> Any:
    return and_(R.c.is_active, or_(R.c.active_to.is_(None), R.c.active_to >= today))


async def _active_relationships(conn: AsyncConnection, person_id: uuid.UUID) -> Sequence[RowMapping]:
    query = select(R).where(R.c.person_id == person_id, _live(validators.today())).order_by(R.c.inserted_at)
    return (await conn.execute(query)).mappings().all()


def _too_many() -> ApiError:
    message = f"This patient has {MAX_CONFIDANTS} confidants and can not have more"
    return ApiError(422, "request_malformed", message, [invalid_entry("$.confidant_person_id", "invalid", message)])


def _duplicate() -> ApiError:
    return Conflict("Such confidant person relationship is already active")


def _last_of_child() -> ApiError:
    message = f"A child under {NO_SELF_AUTH_AGE} must keep at least one confidant"
    return ApiError(
        422, "request_malformed", message, [invalid_entry("$.confidant_person_relationship.id", "invalid", message)]
    )


async def _check_insert(conn: AsyncConnection, *, person_id: uuid.UUID, confidant_id: uuid.UUID) -> None:
    active = await _active_relationships(conn, person_id)
    if any(r["confidant_person_id"] == confidant_id for r in active):
        raise _duplicate()
    if len(active) >= MAX_CONFIDANTS:
        raise _too_many()


async def _check_deactivate(conn: AsyncConnection, *, person: RowMapping, relationship_id: uuid.UUID) -> RowMapping:
    active = await _active_relationships(conn, person["id"])
    found = next((r for r in active if r["id"] == relationship_id), None)
    if found is None:
        message = "Active confidant person relationship not found"
        raise ValidationFailed([invalid_entry("$.confidant_person_relationship.id", "invalid", message)], message)
    if _age(person) < NO_SELF_AUTH_AGE and len(active) <= 1:
        raise _last_of_child()
    return found


# --- who confirms ---------------------------------------------------------------------------------------


def _otp(method: dict[str, Any]) -> str | None:
    return method.get("phone_number") or method.get("value") if method.get("type") == "OTP" else None


async def _phone_of(conn: AsyncConnection, person_id: Any) -> str | None:
    try:
        row = await _person(conn, uuid.UUID(str(person_id)))
    except ValueError:
        return None
    if row is None:
        return None
    return next((p for m in row["authentication_methods"] or [] if (p := _otp(m))), None)


async def _authorizer(
    conn: AsyncConnection,
    *,
    person: RowMapping,
    authorize_with: uuid.UUID | None,
    new_confidant: RowMapping | None,
) -> dict[str, Any]:
    """The authentication method the request is confirmed with: {"type": "OTP", "number"} or OFFLINE."""
    methods: list[dict[str, Any]] = list(person["authentication_methods"] or [])
    if authorize_with is not None:
        chosen = [m for m in methods if str(m.get("id")) == str(authorize_with)]
        if not chosen:
            message = "Authentication method not found"
            raise ValidationFailed([invalid_entry("$.authorize_with", "invalid", message)], message)
        methods = chosen
    if _age(person) >= NO_SELF_AUTH_AGE or authorize_with is not None:
        for method in methods:
            if phone := _otp(method):
                return {"type": "OTP", "number": phone}
    for method in methods:
        if method.get("type") == "THIRD_PERSON":
            phone = await _phone_of(conn, method.get("value") or method.get("confidant_person_id"))
            if phone:
                return {"type": "OTP", "number": phone}
    if _age(person) < NO_SELF_AUTH_AGE and authorize_with is None:
        for relationship in await _active_relationships(conn, person["id"]):
            if phone := await _phone_of(conn, relationship["confidant_person_id"]):
                return {"type": "OTP", "number": phone}
        if new_confidant is not None:
            phone = next((p for m in new_confidant["authentication_methods"] or [] if (p := _otp(m))), None)
            if phone:
                return {"type": "OTP", "number": phone}
    return {"type": "OFFLINE"}


# --- requests ----------------------------------------------------------------------------------------------


async def _insert_request(
    conn: AsyncConnection, *, values: dict[str, Any], method: dict[str, Any], auth: AuthContext, settings: Settings
) -> RowMapping:
    if auth.legal_entity_id is None:
        raise Conflict("A confidant request is made by a legal entity's employee")
    id_ = uuid7()
    code = request_codes.issue(id_, settings) if method["type"] == "OTP" else None
    now = clock.now()
    row = (
        (
            await conn.execute(
                T.insert()
                .values(
                    id=id_,
                    legal_entity_id=auth.legal_entity_id,
                    status=NEW,
                    channel="MIS",
                    authentication_method_current=method,
                    otp_hash=code.hash if code else None,
                    otp_expires_at=code.expires_at if code else None,
                    otp_sends=1 if code else 0,
                    expires_at=now + EXPIRATION,
                    inserted_at=now,
                    updated_at=now,
                    inserted_by=auth.user_id,
                    updated_by=auth.user_id,
                    **values,
                )
                .returning(*T.c)
            )
        )
        .mappings()
        .one()
    )
    if code is not None:
        await _send(conn, row, method, code.code, key=f"confidant-request-otp:{id_}")
    await audit.record(
        conn, action=f"confidant_request.{row['action'].lower()}", resource_type="confidant_relationship_request",
        resource_id=id_, actor=auth.actor, person_id=row["person_id"],
    )  # fmt: skip
    return row


async def _send(conn: AsyncConnection, row: RowMapping, method: dict[str, Any], code: str, *, key: str) -> None:
    await queue_sms(
        conn, phone=method["number"], text=SMS_TEXT[row["action"]].format(code=code),
        kind="confidant_request_otp", idempotency_key=key,
    )  # fmt: skip


async def create(
    conn: AsyncConnection, *, person_id: uuid.UUID, body: ConfidantRequestCreate, auth: AuthContext, settings: Settings
) -> tuple[RowMapping, dict[str, Any]]:
    person = await _subject(conn, person_id)
    if body.confidant_person_id == person_id:
        message = "A person cannot be their own confidant"
        raise ValidationFailed([invalid_entry("$.confidant_person_id", "invalid", message)], message)
    confidant = await _person(conn, body.confidant_person_id)
    reason = await _unusable(conn, confidant)
    if reason is not None:
        raise ValidationFailed([invalid_entry("$.confidant_person_id", "invalid", reason)], reason)
    assert confidant is not None
    _check_documents("$.documents_relationship", body.documents_relationship, person=person)
    await _check_insert(conn, person_id=person_id, confidant_id=body.confidant_person_id)
    method = await _authorizer(conn, person=person, authorize_with=body.authorize_with, new_confidant=confidant)
    documents = [d.model_dump(mode="json", exclude_none=True) for d in body.documents_relationship]
    values = {
        "person_id": person_id,
        "confidant_person_id": body.confidant_person_id,
        "action": INSERT,
        "documents_relationship": documents,
        "authorize_with": body.authorize_with,
    }
    row = await _insert_request(conn, values=values, method=method, auth=auth, settings=settings)
    return row, urgent(method)


async def deactivate(
    conn: AsyncConnection,
    *,
    person_id: uuid.UUID,
    body: ConfidantRequestDeactivate,
    auth: AuthContext,
    settings: Settings,
) -> tuple[RowMapping, dict[str, Any]]:
    person = await _subject(conn, person_id)
    ending = body.confidant_person_relationship
    _check_ending_documents(ending.documents_relationship)
    relationship = await _check_deactivate(conn, person=person, relationship_id=ending.id)
    method = await _authorizer(conn, person=person, authorize_with=body.authorize_with, new_confidant=None)
    values = {
        "person_id": person_id,
        "confidant_person_id": relationship["confidant_person_id"],
        "action": DEACTIVATE,
        "documents_relationship": list(relationship["documents_relationship"]),
        "relationship_id": ending.id,
        "relationship_documents": [d.model_dump(mode="json") for d in ending.documents_relationship],
        "authorize_with": body.authorize_with,
    }
    row = await _insert_request(conn, values=values, method=method, auth=auth, settings=settings)
    return row, urgent(method)


def _check_ending_documents(documents: Sequence[Any]) -> None:
    base = "$.confidant_person_relationship.documents_relationship"
    errors = validators.check_one_per_type(base, documents, "document")
    for i, doc in enumerate(documents):
        errors += validators.check_inclusion(f"{base}[{i}].type", doc.type, DOCUMENT_TYPES)
        if doc.issued_at > validators.today():
            errors.append(invalid_entry(f"{base}[{i}].issued_at", "invalid", "issued_at cannot be in the future"))
    validators.raise_if(errors)


async def _row(
    conn: AsyncConnection, person_id: uuid.UUID, id_: uuid.UUID, auth: AuthContext, *, lock: bool = False
) -> RowMapping:
    return await request_rows.visible(
        conn, T, id_=id_, auth=auth, person_id=person_id, lock=lock,
        not_found="Confidant person relationship request not found",
    )  # fmt: skip


async def get(conn: AsyncConnection, *, person_id: uuid.UUID, id_: uuid.UUID, auth: AuthContext) -> RowMapping:
    return await _row(conn, person_id, id_, auth)


async def list_requests(
    conn: AsyncConnection, *, person_id: uuid.UUID, auth: AuthContext, page: PageParams, status: str | None
) -> tuple[Sequence[RowMapping], Paging]:
    if await _person(conn, person_id) is None:
        raise NotFound(PERSON_NOT_FOUND)
    conditions: list[Any] = [T.c.person_id == person_id]
    if auth.legal_entity_filter is not None:
        conditions.append(T.c.legal_entity_id == auth.legal_entity_id)
    if status is not None:
        conditions.append(T.c.status == status)
    query = select(T).where(*conditions).order_by(T.c.inserted_at.desc(), T.c.id.desc())
    return await fetch_page(conn, query, page, select(func.count()).select_from(T).where(*conditions))


async def _set_status(
    conn: AsyncConnection, row: RowMapping, status: str, auth: AuthContext, **values: Any
) -> RowMapping:
    updated = await request_rows.set_status(conn, T, row, status, user=auth.user_id, **values)
    await audit.record(
        conn, action=f"confidant_request.{status.lower()}", resource_type="confidant_relationship_request",
        resource_id=row["id"], actor=auth.actor, person_id=row["person_id"],
    )  # fmt: skip
    return updated


def _open(row: RowMapping, status: str) -> None:
    if row["status"] != status:
        raise Conflict(f"Invalid confidant request status: {row['status']}")
    if row["expires_at"] <= clock.now():
        raise Conflict("Confidant request has expired")


async def approve(
    conn: AsyncConnection,
    *,
    person_id: uuid.UUID,
    id_: uuid.UUID,
    code: int | str | None,
    auth: AuthContext,
    settings: Settings,
) -> RowMapping:
    row = await _row(conn, person_id, id_, auth, lock=True)
    _open(row, NEW)
    if (row["authentication_method_current"] or {}).get("type") == "OTP":
        await request_codes.check(conn, T, row, None if code is None else str(code), settings)
    return await _set_status(conn, row, APPROVED, auth, otp_hash=None, otp_expires_at=None)


async def resend_otp(
    conn: AsyncConnection, *, person_id: uuid.UUID, id_: uuid.UUID, auth: AuthContext, settings: Settings
) -> RowMapping:
    """A new code; the earlier one stops working and the tries start again. A request sends at most
    `request_code_max_sends` codes, as the other requests do."""
    row = await _row(conn, person_id, id_, auth, lock=True)
    method = row["authentication_method_current"] or {}
    _open(row, NEW)
    if method.get("type") != "OTP":
        raise Conflict("Confidant request has no code to resend")
    code, updated = await request_codes.reissue(conn, T, row, settings)
    await _send(conn, updated, method, code.code, key=f"confidant-request-otp:{row['id']}:{updated['otp_sends']}")
    return updated


async def for_sign(conn: AsyncConnection, *, person_id: uuid.UUID, id_: uuid.UUID, auth: AuthContext) -> SignTarget:
    """The approved request, locked, and its author (before the CMS is decoded)."""
    row = await _row(conn, person_id, id_, auth, lock=True)
    if row["status"] != APPROVED:
        raise ValidationFailed([invalid_entry("$.status", "invalid", "incorrect status")], "incorrect status")
    if row["expires_at"] <= clock.now():
        raise Conflict("Confidant request has expired")
    return SignTarget(row=row, author_user_id=row["inserted_by"])


async def complete_sign(conn: AsyncConnection, *, target: SignTarget, auth: AuthContext) -> RowMapping:
    """The relationship made or ended: the rules again, under the person's row lock, so two requests signed at
    once cannot both pass the count."""
    row = target.row
    person = await _subject(conn, row["person_id"], lock=True)
    now = clock.now()
    if row["action"] == INSERT:
        reason = await _unusable(conn, await _person(conn, row["confidant_person_id"]))
        if reason is not None:
            raise ValidationFailed([invalid_entry("$.confidant_person_id", "invalid", reason)], reason)
        await _check_insert(conn, person_id=person["id"], confidant_id=row["confidant_person_id"])
        # A relationship of the pair whose documents ran out ends now: the new one takes its place.
        await conn.execute(
            R.update()
            .where(
                R.c.person_id == person["id"],
                R.c.confidant_person_id == row["confidant_person_id"],
                R.c.is_active,
                R.c.active_to < validators.today(),
            )
            .values(is_active=False, ended_at=now, ended_by_request_id=row["id"], updated_at=now)
        )
        documents = list(row["documents_relationship"])
        await conn.execute(
            R.insert().values(
                id=uuid7(), person_id=person["id"], confidant_person_id=row["confidant_person_id"],
                documents_relationship=documents, active_to=_active_to(documents), is_active=True,
                request_id=row["id"], inserted_at=now, updated_at=now, inserted_by=auth.user_id,
                updated_by=auth.user_id,
            )
        )  # fmt: skip
    else:
        await _check_deactivate(conn, person=person, relationship_id=row["relationship_id"])
        await conn.execute(
            R.update()
            .where(R.c.id == row["relationship_id"])
            .values(is_active=False, ended_at=now, ended_by_request_id=row["id"], updated_at=now,
                    updated_by=auth.user_id)
        )  # fmt: skip
    await _sync_person_record(conn, person)
    return await _set_status(conn, row, COMPLETED, auth)


async def _sync_person_record(conn: AsyncConnection, person: RowMapping) -> None:
    """The person record's `confidant_person` (what a read of the person shows) follows the relationships; an
    entry of someone no relationship row names (written with the record itself) is kept as it was."""
    named = set(
        (await conn.execute(select(R.c.confidant_person_id).where(R.c.person_id == person["id"]))).scalars().all()
    )
    kept = [e for e in person["confidant_person"] or [] if str(e.get("person_id")) not in {str(n) for n in named}]
    active = [
        {
            "person_id": str(r["confidant_person_id"]),
            "documents_relationship": [{"type": d["type"], "number": d["number"]} for d in r["documents_relationship"]],
        }
        for r in await _active_relationships(conn, person["id"])
    ]
    embedded = [e | {"relation_type": "PRIMARY" if i == 0 else "SECONDARY"} for i, e in enumerate(kept + active)]
    await conn.execute(
        persons.update().where(persons.c.id == person["id"]).values(confidant_person=embedded, updated_at=clock.now())
    )


# --- the person's relationships -------------------------------------------------------------------------


def _mask(value: str | None, keep: int = 2) -> str | None:
    if not value:
        return value
    return "*" * max(len(value) - keep, 0) + value[-keep:]


def _initials(person: Mapping[str, Any]) -> str:
    initials = "".join(f"{n[0]}." for n in (person["first_name"], person["second_name"]) if n)
    return f"{person['last_name']} {initials}"


def render_relationship(row: RowMapping, confidant: Mapping[str, Any]) -> dict[str, Any]:
    """The relationship as a clinic sees it: the confidant's identifiers masked (Confidant_Person_Masked)."""
    return {
        "id": row["id"],
        "active_to": row["active_to"],
        "documents_relationship": [
            {"type": d["type"], "number": _mask(d.get("number"))} for d in row["documents_relationship"]
        ],
        "relationship_verification_details": {
            "verification_status": "VERIFICATION_NEEDED",
            "verification_reason": "MANUAL_CREATED_BY_DOCTOR",
            "verification_comment": None,
        },
        "confidant_person": {
            "person_id": confidant["id"],
            "name": _initials(confidant),
            "gender": confidant["gender"],
            "tax_id": _mask(confidant["tax_id"]),
            "no_tax_id": confidant["no_tax_id"],
            "unzr": _mask(confidant["unzr"]),
            "documents_person": [
                {"type": d.get("type"), "number": _mask(d.get("number"))} for d in confidant["documents"] or []
            ],
            "phones": [
                {"type": p.get("type"), "number": mask_phone(p.get("number"))} for p in confidant["phones"] or []
            ],
        },
    }


async def list_relationships(
    conn: AsyncConnection, *, person_id: uuid.UUID, page: PageParams, is_expired: bool | None
) -> tuple[list[dict[str, Any]], Paging]:
    """Active relationships; with is_expired=true the ended and expired ones instead."""
    if await _person(conn, person_id) is None:
        raise Forbidden(PERSON_NOT_FOUND)
    live = _live(validators.today())
    conditions = [R.c.person_id == person_id, ~live if is_expired else live]
    C = persons.alias("confidant")
    query = (
        select(R, *[c.label(f"c_{c.name}") for c in C.c])
        .select_from(R.join(C, C.c.id == R.c.confidant_person_id))
        .where(*conditions)
        .order_by(R.c.inserted_at.desc(), R.c.id.desc())
    )
    rows, paging = await fetch_page(conn, query, page, select(func.count()).select_from(R).where(*conditions))
    out = []
    for row in rows:
        confidant = {c.name: row[f"c_{c.name}"] for c in C.c}
        out.append(render_relationship(row, confidant))
    return out, paging
