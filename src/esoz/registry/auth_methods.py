"""A patient's authentication methods and the requests that change them.

    NEW --approve (the SMS codes, or the documents path)--> COMPLETED ;  NEW --a day unapproved--> EXPIRED

A person's active methods are the `authentication_methods` of the person row (each with its id): at most one OTP
(an SMS phone) and one OFFLINE (the documents). A request adds one (INSERT), changes a method's alias (UPDATE) or
ends one (DEACTIVATE).

Who confirms, as the real system does (ehealth-ua's Confluence pages "Create/Approve authentication method
request"): the patient's current method, `authentication_method_current` (their OTP phone if they have one, else
the documents), confirms every request: a code sent to the current phone, or the documents the employee saw.
A new phone must also be shown to be the patient's. The real system accepts only a phone verified beforehand
through its OTP verification calls (`/api/verifications`, outside the published MIS contract esoz serves) and
refuses another with 422 "Unverified phone number"; esoz instead sends the new phone a code of its own once the
current phone has confirmed, so a request that brings a new phone to a patient who has one is approved twice:
the first code (current phone) answers NEW with the masked new phone in `urgent`, the second COMPLETED.
As in the real system (`AUTH_REQUEST_SECURITY_REDUCTION` off) a patient with a phone cannot go down to the
documents, and only a confidant's method (THIRD_PERSON) is ended by a request: a patient who lost the phone is
reset by НСЗУ (or, deprecated, by the legal entity of their declaration: `reset`).

A confidant (THIRD_PERSON: another active adult person with an SMS phone of their own, `value`) confirms for the
patient when the patient has no method of their own (a child): adding one takes the patient's consent (their
current method; a child without one needs none) and the confidant's, a code to the confidant's phone. The method
lasts `THIRD_PERSON_TERM_YEARS`, for a child at most until they come of age.

A wrong code is counted on the row and answered without raising (request_codes), so tries stay bounded; resends
are bounded per request (`request_code_max_sends`).
"""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import and_, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed, invalid_entry
from esoz.core.ids import uuid7
from esoz.notifications.service import queue_sms
from esoz.registry import person_links, request_codes, request_rows, validators
from esoz.registry.confidants import NO_SELF_AUTH_AGE
from esoz.registry.models import authentication_method_requests, declarations, persons
from esoz.registry.reference import rules
from esoz.registry.render import mask_phone
from esoz.registry.schemas import Strict
from esoz.settings import Settings

NEW, COMPLETED, EXPIRED = "NEW", "COMPLETED", "EXPIRED"
INSERT, UPDATE, DEACTIVATE = "INSERT", "UPDATE", "DEACTIVATE"
OTP, OFFLINE, THIRD_PERSON, NA = "OTP", "OFFLINE", "THIRD_PERSON", "NA"
EXPIRATION = timedelta(days=1)
# The real system's global parameters, with esoz's values: `third_person_term` (how long a confidant's method
# lasts), `third_person_limit` (for how many patients one person may be a confidant) and
# `person_with_third_person_limit` (how many confidants one patient may have). `no_self_auth_age`
# (NO_SELF_AUTH_AGE, as the confidant relationships use it): a younger patient has no method of their own.
ADULT_AGE: int = rules()["person_age_limits"]["adult_age"]
THIRD_PERSON_TERM_YEARS = 2
THIRD_PERSON_LIMIT = 10
PERSON_WITH_THIRD_PERSON_LIMIT = 3
ACTIVE_DECLARATION = ("active", "pending_verification")
T = authentication_method_requests
METHOD = "$.authentication_method"
NOT_FOUND = "Authentication method request not found"
PERSON_NOT_FOUND = "Such person doesn't exist"
SMS_CURRENT = "Код підтвердження зміни способу автентифікації в ЕСОЗ: {code}"
SMS_NEW = "Код підтвердження нового номера телефону для ЕСОЗ: {code}"
SMS_CONFIDANT = "Код згоди стати довіреною особою пацієнта в ЕСОЗ: {code}"
SMS_RESET = "Ваш номер телефону більше не використовується для підтвердження дій в ЕСОЗ (скинуто закладом)."


class MethodBody(Strict):
    """`authentication_method` of a request: its fields depend on `action` (checked by the service)."""

    id: uuid.UUID | None = Field(None, description="UPDATE, DEACTIVATE: the method (GET .../authentication_methods)")
    type: Literal["OTP", "OFFLINE", "THIRD_PERSON"] | None = Field(None, description="INSERT: the new method's type")
    phone_number: str | None = Field(None, max_length=20, description="INSERT of OTP: the phone, +380XXXXXXXXX")
    value: uuid.UUID | None = Field(None, description="INSERT of THIRD_PERSON: the confidant's person id")
    alias: str | None = Field(None, min_length=1, max_length=255, description="a name the patient gives the method")


class AuthenticationMethodRequestCreate(Strict):
    action: Literal["INSERT", "UPDATE", "DEACTIVATE"]
    authentication_method: MethodBody


# --- the person's methods ---------------------------------------------------------------------------


def _is_active(method: dict[str, Any], now: datetime) -> bool:
    ended = method.get("ended_at")
    return ended is None or datetime.fromisoformat(ended) > now


def active_methods(person: RowMapping) -> list[dict[str, Any]]:
    now = clock.now()
    return [m for m in person["authentication_methods"] or [] if _is_active(m, now)]


def own_method(methods: list[dict[str, Any]]) -> dict[str, Any]:
    """The patient's own method that confirms their actions: their phone, else the documents, else none (NA)."""
    for method in methods:
        if method.get("type") == OTP and method.get("phone_number"):
            return {"type": OTP, "number": method["phone_number"], "id": method.get("id")}
    for method in methods:
        if method.get("type") == OFFLINE:
            return {"type": OFFLINE, "id": method.get("id")}
    return {"type": NA}


async def current_method(conn: AsyncConnection, methods: list[dict[str, Any]]) -> dict[str, Any]:
    """The method that confirms the patient's actions (the real system's default method): their own, else the
    first-added confidant's phone (`number`), else none (NA)."""
    own = own_method(methods)
    if own["type"] != NA:
        return own
    for method in methods:
        if method.get("type") == THIRD_PERSON and method.get("value"):
            confidant = await _person(conn, uuid.UUID(str(method["value"])))
            phone = own_method(active_methods(confidant)).get("number") if confidant is not None else None
            if phone is not None:
                return {"type": THIRD_PERSON, "number": phone, "id": method.get("id")}
    return {"type": NA}


def render_method(person: RowMapping, method: dict[str, Any]) -> dict[str, Any]:
    """Person_auth_methods_v2 (and, for a confidant, Person_auth_methods): the phone masked."""
    out: dict[str, Any] = {
        "id": method.get("id"),
        "type": method.get("type"),
        "phone_number": mask_phone(method.get("phone_number")),
        "alias": method.get("alias"),
        "started_at": method.get("started_at") or person["inserted_at"].isoformat(),
        "ended_at": method.get("ended_at"),
        "is_active": _is_active(method, clock.now()),
        "person_id": person["id"],
        "inserted_at": method.get("inserted_at") or person["inserted_at"].isoformat(),
        "inserted_by": method.get("inserted_by") or person["inserted_by"],
        "updated_at": method.get("updated_at") or method.get("inserted_at") or person["inserted_at"].isoformat(),
        "updated_by": method.get("updated_by") or method.get("inserted_by") or person["inserted_by"],
    }
    if method.get("type") == THIRD_PERSON:
        out["value"] = method.get("value")
    return out


def _urgent_current(current: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`urgent.authentication_method_current`: none when the patient has no method (NA)."""
    if current["type"] == NA:
        return None
    # A confidant's phone is told as an OTP (the contract's types here are OTP and OFFLINE): a code goes to it.
    kind = OTP if current.get("number") else current["type"]
    return [{"type": kind, "phone_number": mask_phone(current.get("number"))}]


async def _person(conn: AsyncConnection, person_id: uuid.UUID, *, lock: bool = False) -> RowMapping | None:
    query = select(persons).where(persons.c.id == person_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def readable_person(conn: AsyncConnection, *, person_id: uuid.UUID) -> RowMapping:
    """The person whose methods are read: a merged-away id leads to its survivor, as every person read does;
    403 "Such person not found" (the contract's answer) when unknown, inactive or deceased."""
    person = await _person(conn, await person_links.current_id(conn, person_id=person_id))
    if person is None or person["status"] != "active" or not person["is_active"] or person["death_date"] is not None:
        raise Forbidden("Such person not found")
    return person


async def _writable_person(conn: AsyncConnection, person_id: uuid.UUID) -> RowMapping:
    """The person a request changes, locked: 404 when unknown, 409 when merged away, inactive or deceased."""
    survivor = await person_links.merged_into(conn, person_id=person_id)
    if survivor is not None:
        raise Conflict(f"Such person isn't active: merged into {survivor}")
    person = await _person(conn, person_id, lock=True)
    if person is None:
        raise NotFound(PERSON_NOT_FOUND)
    if person["death_date"] is not None:
        raise Conflict("Such person isn't active: deceased")
    if person["status"] != "active" or not person["is_active"]:
        raise Conflict("Such person isn't active")
    return person


# --- requests ---------------------------------------------------------------------------------------


def _bad(entry: str, description: str, rule: str = "invalid") -> ValidationFailed:
    return ValidationFailed([invalid_entry(entry, rule, description)])


def _not_set(method: MethodBody, *names: str) -> None:
    for name in names:
        if getattr(method, name) is not None:
            raise _bad(f"{METHOD}.{name}", f"{name} must not be set for this action and type", "not_allowed")


def _owned(methods: list[dict[str, Any]], method_id: uuid.UUID | None) -> dict[str, Any]:
    if method_id is None:
        raise _bad(f"{METHOD}.id", "required property id was not present", "required")
    for method in methods:
        if str(method.get("id")) == str(method_id):
            return method
    raise _bad(f"{METHOD}.id", "Such authentication method does not belong to this person")


# The real system's global parameter `phone_number_auth_limit`: how many people may confirm with one phone
# (parents confirm for several children with theirs).
PHONE_AUTH_LIMIT = 10


async def _phone_taken_elsewhere(conn: AsyncConnection, person_id: uuid.UUID, phone: str) -> bool:
    """Whether PHONE_AUTH_LIMIT other active persons already confirm with this phone."""
    query = select(func.count()).where(
        persons.c.id != person_id,
        persons.c.status == "active",
        persons.c.authentication_methods.contains([{"type": OTP, "phone_number": phone}]),
    )
    return int((await conn.execute(query)).scalar_one()) >= PHONE_AUTH_LIMIT


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 3, 1)


def _third_person_end(person: RowMapping, start: date) -> datetime:
    """`third_person_term` from today; for a child, at most until the day before they come of age."""
    end = _plus_years(start, THIRD_PERSON_TERM_YEARS)
    born: date = person["birth_date"]
    if _age(born, start) < ADULT_AGE:
        end = min(end, _plus_years(born, ADULT_AGE) - timedelta(days=1))
    return datetime.combine(end, time(23, 59, 59), tzinfo=validators.KYIV)


async def _confidant(
    conn: AsyncConnection, person: RowMapping, method: "MethodBody", methods: list[dict[str, Any]]
) -> tuple[dict[str, Any], str]:
    """A THIRD_PERSON method to add (the real system's checks), and the confidant's phone that confirms it."""
    entry = f"{METHOD}.value"
    if method.value is None:
        raise _bad(entry, "required property value was not present", "required")
    if method.alias is None:
        raise _bad(f"{METHOD}.alias", "required property alias was not present", "required")
    if method.value == person["id"]:
        raise _bad(entry, "Person cannot be their own third person")
    confidant = await _person(conn, method.value)
    if confidant is None:
        raise _bad(entry, "Such person doesn't exist")
    if confidant["status"] != "active" or not confidant["is_active"] or confidant["death_date"] is not None:
        raise _bad(entry, "Third person must be active")
    if _age(confidant["birth_date"], validators.today()) < ADULT_AGE:
        raise _bad(entry, "Third person must be adult")
    own = own_method(active_methods(confidant))
    if own["type"] == NA:
        raise _bad(entry, "Third person must have an authentication method OTP or OFFLINE")
    if own["type"] != OTP:
        raise _bad(entry, "THIRD PERSON can't have OFFLINE self auth method type")
    if method.phone_number is not None and method.phone_number != own["number"]:
        raise _bad(f"{METHOD}.phone_number", "The phone number is not the third person's authentication phone")
    if any(m.get("type") == THIRD_PERSON and str(m.get("value")) == str(method.value) for m in methods):
        raise _bad(entry, "This person is already a third person of the patient")
    if sum(m.get("type") == THIRD_PERSON for m in methods) >= PERSON_WITH_THIRD_PERSON_LIMIT:
        raise _bad(entry, "Limit of authentication methods with THIRD_PERSON type is exhausted")
    if await _confidant_of(conn, method.value) >= THIRD_PERSON_LIMIT:
        raise _bad(entry, f"This fiduciary person is present more than {THIRD_PERSON_LIMIT} times in the system")
    stored = {"type": THIRD_PERSON, "value": str(method.value), "alias": method.alias}
    stored["ended_at"] = _third_person_end(person, validators.today()).isoformat()
    return stored, str(own["number"])


async def _confidant_of(conn: AsyncConnection, confidant_id: uuid.UUID) -> int:
    """For how many active persons `confidant_id` is a confidant (ended methods included: they are few)."""
    query = select(func.count()).where(
        persons.c.status == "active",
        persons.c.authentication_methods.contains([{"type": THIRD_PERSON, "value": str(confidant_id)}]),
    )
    return int((await conn.execute(query)).scalar_one())


async def _plan(
    conn: AsyncConnection, person: RowMapping, body: AuthenticationMethodRequestCreate
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """The method the request stores, the phones still to confirm with a code (in order), and the patient's
    current method that confirms it."""
    methods = active_methods(person)
    current = await current_method(conn, methods)
    method = body.authentication_method
    consent = [current["number"]] if current.get("number") else []  # the documents path needs no code
    if body.action == INSERT:
        if method.type is None:
            raise _bad(f"{METHOD}.type", "required property type was not present", "required")
        _not_set(method, "id")
        if method.type == THIRD_PERSON:
            if current["type"] == NA and _age(person["birth_date"], validators.today()) >= NO_SELF_AUTH_AGE:
                raise _bad(METHOD, "Person can't be authorized with NA authentication method")
            stored, confidant_phone = await _confidant(conn, person, method, methods)
            return stored, list(dict.fromkeys([*consent, confidant_phone])), current
        if _age(person["birth_date"], validators.today()) < NO_SELF_AUTH_AGE:
            raise _bad(f"{METHOD}.type", "Such person cannot have self authentication method")
        if method.type == OTP:
            _not_set(method, "value")
            if method.phone_number is None:
                raise _bad(f"{METHOD}.phone_number", "required property phone_number was not present", "required")
            bad_phone = validators.check_phone_number(f"{METHOD}.phone_number", method.phone_number)
            if bad_phone:
                raise ValidationFailed(bad_phone)
            if current["type"] == OTP and current["number"] == method.phone_number:
                raise _bad(f"{METHOD}.phone_number", "Person already has this authentication method")
            stored = {"type": OTP, "phone_number": method.phone_number, "alias": method.alias}
            return stored, list(dict.fromkeys([*consent, method.phone_number])), current
        _not_set(method, "phone_number", "value")
        if current["type"] == OFFLINE:
            raise _bad(f"{METHOD}.type", "Person already has auth method OFFLINE")
        if current["type"] == OTP:
            raise _bad(f"{METHOD}.type", "Person cannot set OFFLINE auth method if person had OTP")
        return {"type": OFFLINE, "alias": method.alias}, [], current
    _not_set(method, "type", "phone_number", "value")
    if current["type"] == NA:
        raise _bad(METHOD, "Person can't be authorized with NA authentication method")
    target = _owned(methods, method.id)
    if body.action == UPDATE:
        if method.alias is None:
            raise _bad(f"{METHOD}.alias", "required property alias was not present", "required")
        return {"id": str(method.id), "type": target.get("type"), "alias": method.alias}, consent, current
    _not_set(method, "alias")
    if target.get("type") != THIRD_PERSON:
        raise _bad(f"{METHOD}.id", "Only a THIRD_PERSON authentication method can be deactivated")
    if str(target.get("id")) == str(current.get("id")):
        raise _bad(f"{METHOD}.id", "The method that confirms the person's actions cannot be deactivated")
    return {"id": str(method.id), "type": THIRD_PERSON}, consent, current


def _text(row: RowMapping, phone: str) -> str:
    """The SMS of a code: to the phone that confirms for the patient, to a confidant, or to a new phone."""
    if (row["authentication_method_current"] or {}).get("number") == phone:
        return SMS_CURRENT
    return SMS_CONFIDANT if (row["authentication_method"] or {}).get("type") == THIRD_PERSON else SMS_NEW


async def _send(conn: AsyncConnection, row: RowMapping, phone: str, code: str) -> None:
    await queue_sms(
        conn,
        phone=phone,
        text=_text(row, phone).format(code=code),
        kind="authentication_method_request_otp",
        idempotency_key=f"authentication-method-request-otp:{row['id']}:{uuid.uuid4()}",
    )


def _code_values(row_id: uuid.UUID, phone: str | None, settings: Settings) -> tuple[dict[str, Any], str | None]:
    if phone is None:
        return {"otp_phone": None, "otp_hash": None, "otp_expires_at": None, "otp_attempts": 0}, None
    code = request_codes.issue(row_id, settings)
    values = {"otp_phone": phone, "otp_hash": code.hash, "otp_expires_at": code.expires_at, "otp_attempts": 0}
    return values, code.code


def urgent(row: RowMapping) -> dict[str, Any]:
    """What the MIS tells the patient: which method confirms the request now (the phone masked)."""
    current = row["authentication_method_current"] or {"type": NA}
    if row["status"] == NEW and row["otp_phone"] is not None:  # the phone the code of the step under way went to
        return {"authentication_method_current": [{"type": OTP, "phone_number": mask_phone(row["otp_phone"])}]}
    return {"authentication_method_current": _urgent_current(current)}


def render(row: RowMapping) -> dict[str, Any]:
    return {"id": row["id"], "status": row["status"], "channel": row["channel"]}


async def create(
    conn: AsyncConnection,
    *,
    person_id: uuid.UUID,
    body: AuthenticationMethodRequestCreate,
    auth: AuthContext,
    settings: Settings,
) -> RowMapping:
    if auth.legal_entity_id is None:
        raise Conflict("An authentication method request is made by a legal entity's employee")
    person = await _writable_person(conn, person_id)
    stored, phones, current = await _plan(conn, person, body)
    if stored["type"] == OTP and body.action == INSERT:
        if await _phone_taken_elsewhere(conn, person_id, stored["phone_number"]):
            raise _bad(f"{METHOD}.phone_number", f"Such a phone already exists more than {PHONE_AUTH_LIMIT} times")
    id_, now = uuid7(), clock.now()
    code_values, code = _code_values(id_, phones[0] if phones else None, settings)
    values = {
        "id": id_,
        "person_id": person_id,
        "legal_entity_id": auth.legal_entity_id,
        "action": body.action,
        "status": NEW,
        "authentication_method": stored,
        "authentication_method_current": current,
        "pending_phones": phones,
        **code_values,
        "otp_sends": 1 if code else 0,
        "expires_at": now + EXPIRATION,
        "inserted_at": now,
        "updated_at": now,
        "inserted_by": auth.user_id,
        "updated_by": auth.user_id,
    }
    row = (await conn.execute(T.insert().values(values).returning(*T.c))).mappings().one()
    if code is not None:
        await _send(conn, row, phones[0], code)
    await audit.record(
        conn, action="authentication_method_request.create", resource_type="authentication_method_request",
        resource_id=id_, actor=auth.actor, person_id=person_id,
        details={"action": body.action, "type": stored.get("type"), "confirm_with": current["type"]},
    )  # fmt: skip
    return row


async def _row(
    conn: AsyncConnection, person_id: uuid.UUID, id_: uuid.UUID, auth: AuthContext, *, lock: bool = False
) -> RowMapping:
    """The request of this person made by the caller's legal entity (НСЗУ sees every one); 404 otherwise."""
    return await request_rows.visible(conn, T, id_=id_, auth=auth, person_id=person_id, lock=lock, not_found=NOT_FOUND)


async def _open(conn: AsyncConnection, row: RowMapping) -> None:
    if row["status"] != NEW:
        raise Conflict(f"Invalid authentication method request status: {row['status']}")
    if row["expires_at"] <= clock.now():
        await conn.execute(T.update().where(T.c.id == row["id"]).values(status=EXPIRED, otp_hash=None))
        raise ExpiredRequest()


class ExpiredRequest(ApiError):
    """Answered by the route (not raised through), so the EXPIRED status is committed."""

    def __init__(self) -> None:
        super().__init__(409, "request_conflict", "Authentication method request has expired")


def _stamp(method: dict[str, Any], auth: AuthContext, now: datetime, *, new: bool) -> dict[str, Any]:
    stamp = {"updated_at": now.isoformat(), "updated_by": str(auth.user_id) if auth.user_id else None}
    if new:
        stamp |= {"inserted_at": stamp["updated_at"], "inserted_by": stamp["updated_by"]}
        stamp["started_at"] = stamp["updated_at"]
    return {**method, **stamp}


def _apply(
    methods: list[dict[str, Any]], row: RowMapping, auth: AuthContext, now: datetime
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The person's methods after the request, and the method it ended (if any)."""
    method = row["authentication_method"]
    current = row["authentication_method_current"] or {"type": NA}
    if row["action"] == INSERT:
        added = _stamp({"id": str(uuid7()), **{k: v for k, v in method.items() if v is not None}}, auth, now, new=True)
        if added["type"] == THIRD_PERSON:  # added beside the others, last: it confirms only when nothing else does
            return [*methods, added], None
        # The patient's own method that confirmed until now gives way (one OTP at a time; a phone replaces the
        # documents); a confidant's method stays.
        own = current.get("id") if current["type"] in (OTP, OFFLINE) else None
        ended = next((m for m in methods if own is not None and str(m.get("id")) == str(own)), None)
        kept = [m for m in methods if m is not ended and m.get("type") != added["type"]]
        return [added, *kept], ended
    if row["action"] == UPDATE:
        changed = [
            _stamp({**m, "alias": method["alias"]}, auth, now, new=False) if str(m.get("id")) == method["id"] else m
            for m in methods
        ]
        return changed, None
    ended = next((m for m in methods if str(m.get("id")) == method["id"]), None)
    if ended is None:
        raise Conflict("The authentication method has already ended")
    return [m for m in methods if m is not ended], _stamp({**ended, "ended_at": now.isoformat()}, auth, now, new=False)


async def _write_methods(
    conn: AsyncConnection, person: RowMapping, methods: list[dict[str, Any]], auth: AuthContext, action: str
) -> RowMapping:
    stmt = (
        persons.update()
        .where(persons.c.id == person["id"])
        .values(authentication_methods=methods, updated_at=func.now(), updated_by=auth.user_id)
        .returning(*persons.c)
    )
    updated = (await conn.execute(stmt)).mappings().one()
    await audit.record(
        conn, action="person.update", resource_type="person", resource_id=person["id"], actor=auth.actor,
        details={"fields": ["authentication_methods"], "by": action},
    )  # fmt: skip
    return updated


async def approve(
    conn: AsyncConnection,
    *,
    person_id: uuid.UUID,
    id_: uuid.UUID,
    code: int | str | None,
    auth: AuthContext,
    settings: Settings,
) -> RowMapping:
    """The patient's confirmation. With a phone still to confirm, the code is checked (a wrong one counted); when
    another phone follows, it gets its code and the request stays NEW; else the person's methods change."""
    row = await _row(conn, person_id, id_, auth, lock=True)
    await _open(conn, row)
    person = await _writable_person(conn, person_id)
    confirmed_by = row["authentication_method_current"] or {"type": NA}
    if (await current_method(conn, active_methods(person))).get("id") != confirmed_by.get("id"):
        raise Conflict("The person's authentication method has changed since the request was made")
    pending: list[str] = list(row["pending_phones"] or [])
    if pending:
        await request_codes.check(conn, T, row, None if code is None else str(code), settings)
        pending = pending[1:]
    now = clock.now()
    if pending:
        code_values, next_code = _code_values(row["id"], pending[0], settings)
        stmt = (
            T.update()
            .where(T.c.id == row["id"])
            .values(pending_phones=pending, **code_values, otp_sends=1, updated_at=now, updated_by=auth.user_id)
            .returning(*T.c)
        )
        updated = (await conn.execute(stmt)).mappings().one()
        await _send(conn, updated, pending[0], str(next_code))
        await audit.record(
            conn, action="authentication_method_request.confirm", resource_type="authentication_method_request",
            resource_id=row["id"], actor=auth.actor, person_id=person_id, details={"next": "new_phone"},
        )  # fmt: skip
        return updated
    methods, ended = _apply(active_methods(person), row, auth, now)
    await _write_methods(conn, person, methods, auth, f"authentication_method_request.{row['action'].lower()}")
    updated = await request_rows.set_status(
        conn, T, row, COMPLETED, user=auth.user_id,
        pending_phones=[], otp_phone=None, otp_hash=None, otp_expires_at=None, ended_method=ended,
    )  # fmt: skip
    await audit.record(
        conn, action="authentication_method_request.completed", resource_type="authentication_method_request",
        resource_id=row["id"], actor=auth.actor, person_id=person_id,
        details={"action": row["action"], "ended": (ended or {}).get("id")},
    )  # fmt: skip
    return updated


async def resend_otp(
    conn: AsyncConnection, *, person_id: uuid.UUID, id_: uuid.UUID, auth: AuthContext, settings: Settings
) -> RowMapping:
    """A new code to the phone the request waits for; the earlier code stops working and the tries start again.
    At most `request_code_max_sends` codes per phone of a request (429 otp_timeout)."""
    row = await _row(conn, person_id, id_, auth, lock=True)
    await _open(conn, row)
    await _writable_person(conn, person_id)
    if row["otp_phone"] is None:
        raise Conflict("Authentication method request has no code to resend: it is confirmed with documents")
    code, updated = await request_codes.reissue(conn, T, row, settings)
    await _send(conn, updated, row["otp_phone"], code.code)
    await audit.record(
        conn, action="authentication_method_request.resend_otp", resource_type="authentication_method_request",
        resource_id=row["id"], actor=auth.actor, person_id=person_id, details={"sends": updated["otp_sends"]},
    )  # fmt: skip
    return updated


# --- the deprecated reset and the personal data -------------------------------------------------------


async def _has_active_declaration(conn: AsyncConnection, person_id: uuid.UUID, legal_entity_id: uuid.UUID) -> bool:
    query = (
        select(declarations.c.id)
        .where(
            and_(
                declarations.c.person_id == person_id,
                declarations.c.legal_entity_id == legal_entity_id,
                declarations.c.status.in_(ACTIVE_DECLARATION),
            )
        )
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None


async def reset(conn: AsyncConnection, *, person_id: uuid.UUID, auth: AuthContext) -> RowMapping:
    """Deprecated: the person's OTP and OFFLINE methods end at once (the person is left with NA), for the legal
    entity of the person's active declaration (НСЗУ for anyone). The phone that ends is told by SMS."""
    person = await _writable_person(conn, person_id)
    if auth.legal_entity_filter is not None and not await _has_active_declaration(
        conn, person_id, auth.legal_entity_filter
    ):
        raise Forbidden("Not found active declaration with person for this legal entity!")
    methods = active_methods(person)
    current = own_method(methods)
    kept = [m for m in methods if m.get("type") not in (OTP, OFFLINE)]
    updated = await _write_methods(conn, person, kept, auth, "reset_authentication_method")
    if current["type"] == OTP:
        await queue_sms(
            conn, phone=current["number"], text=SMS_RESET, kind="authentication_method_reset",
            idempotency_key=f"authentication-method-reset:{person_id}:{uuid.uuid4()}",
        )  # fmt: skip
    return updated


async def personal_data(conn: AsyncConnection, *, person_id: uuid.UUID, auth: AuthContext) -> RowMapping:
    """The person's full record for the legal entity of their active declaration (НСЗУ for anyone): 403 "Access
    denied" otherwise, and for an unknown, inactive or deceased id. A merged-away id leads to its survivor."""
    person = await _person(conn, await person_links.current_id(conn, person_id=person_id))
    if person is None or person["status"] != "active" or not person["is_active"]:
        raise Forbidden("Access denied")
    if auth.legal_entity_filter is not None and not await _has_active_declaration(
        conn, person["id"], auth.legal_entity_filter
    ):
        raise Forbidden("Access denied")
    return person
