"""Business rules of e-referrals (service requests, contract §4): create signed by the doctor, use / release /
process / complete by the performer, recall and cancel signed by the requester, expiry, SMS to the patient.

Status machine (2019 ME code; `process`/`release` are deprecated in 2026 but still served):

    active --use--> active (used_by_*) --release--> active ;  active(used) --process--> in_progress
    in_progress | active(used) --complete--> completed
    active --recall (signed)--> recalled ;  active | completed --cancel (signed)--> entered_in_error
    active, expired --scheduler--> recalled (autoexpired)
"""

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.pagination import PageParams, total_from_page
from esoz.core.rows import RowLike, all_rows, first
from esoz.medical_events import async_jobs
from esoz.medical_events import service as medical_events
from esoz.medical_events.refs import Reference, concept, parse, reference
from esoz.notifications import templates
from esoz.notifications.service import queue_sms
from esoz.referrals.models import service_requests
from esoz.referrals.schemas import CompleteBody, ServiceRequestContent, StatusChangeContent, UseBody
from esoz.registry import repository
from esoz.registry.repository import ClinicianRecord
from esoz.services import service as catalogue
from esoz.settings import Settings
from esoz.signatures.flow import (
    AuditEntry,
    Effects,
    ExpectedSigner,
    SignedWrite,
    Sms,
    StatusChange,
    Written,
    record_effects,
    signed_write,
)
from esoz.signatures.service import VerifiedDocument

KYIV = ZoneInfo("Europe/Kyiv")
ACTIVE, IN_PROGRESS, COMPLETED = "active", "in_progress", "completed"
RECALLED, ENTERED_IN_ERROR = "recalled", "entered_in_error"
RECALL_SYSTEM = "eHealth/service_request_recall_reasons"
CANCEL_SYSTEM = "eHealth/service_request_cancel_reasons"
ENTITY = "ServiceRequest"
SERVICE, SERVICE_GROUP, PROGRAM, PROGRAM_SERVICE = "service", "service_group", "medical_program", "program_service"

# The hot statements (the requisition look-up, the per-request reads of create and of the actions) are built
# once and run through core.fastsql: built per call, SQLAlchemy would re-key and execute them on its slow path
# (bench/README.md).
_T = service_requests
_ID_TAKEN = FastQuery(select(_T.c.id).where(_T.c.id == bindparam("id_")))


def _by_id(person: bool, lock: bool) -> FastQuery:
    stmt = select(_T).where(_T.c.id == bindparam("id_"))
    if person:
        stmt = stmt.where(_T.c.person_id == bindparam("person_id"))
    return FastQuery(stmt.with_for_update() if lock else stmt)


_BY_ID = {(person, lock): _by_id(person, lock) for person in (False, True) for lock in (False, True)}


def _paged(query: Select[Any]) -> Select[Any]:
    return (
        query.order_by(_T.c.inserted_at.desc(), _T.c.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


def _by_requisition(with_status: bool) -> tuple[FastQuery, FastQuery]:
    """(page, count) of the look-up by requisition number, optionally of one status."""
    cond: ColumnElement[bool] = _T.c.requisition == bindparam("requisition")
    if with_status:
        cond = and_(cond, _T.c.status == bindparam("status"))
    count = select(func.count().label("total")).select_from(_T).where(cond)
    return FastQuery(_paged(select(_T).where(cond))), FastQuery(count)


_BY_REQUISITION = {with_status: _by_requisition(with_status) for with_status in (False, True)}


# --- rendering --------------------------------------------------------------------------------------


def render(row: RowLike) -> dict[str, Any]:
    """The service request as the API returns it; recall/cancel sign exactly this plus their changes."""
    data = dict(row["content"])
    data |= {
        "id": str(row["id"]),
        "status": row["status"],
        "requisition": row["requisition"],
        "subject": reference("patient", row["person_id"]),
        "expiration_date": row["expiration_date"].isoformat(),
        "status_history": row["status_history"],
        "used_by_legal_entity": _ref_or_none("legal_entity", row["used_by_legal_entity_id"]),
        "used_by_employee": _ref_or_none("employee", row["used_by_employee_id"]),
        "completed_with": row["completed_with"],
        "program": data.get("program") or _ref_or_none(PROGRAM, row["program_id"]),
        "program_service": _ref_or_none(PROGRAM_SERVICE, row["program_service_id"]),
        "status_reason": row["status_reason"],
        "explanatory_letter": row["explanatory_letter"],
    }
    return data


def _ref_or_none(resource: str, value: uuid.UUID | None) -> dict[str, Any] | None:
    return reference(resource, value) if value is not None else None


def requisition_number(key: str, group: uuid.UUID) -> str:
    """Keyed Blake2b-128 of the group id (the episode, else the referral itself) in 16 decimal digits."""
    digest = hashlib.blake2b(group.bytes, key=key.encode()[:64], digest_size=16).digest()
    digits = f"{int.from_bytes(digest, 'big') % 10**16:016d}"
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def expiration_for(now: datetime, days: int) -> datetime:
    """today (Kyiv) + N days at 23:59:59 Kyiv."""
    last_day = now.astimezone(KYIV).date() + timedelta(days=days)
    return datetime.combine(last_day, time(23, 59, 59), KYIV)


# --- create -----------------------------------------------------------------------------------------


async def _validate_create(
    conn: AsyncConnection, body: ServiceRequestContent, person_id: uuid.UUID, auth: AuthContext
) -> repository.ClinicianRecord:
    errors: list[dict[str, Any]] = []
    known = catalogue.categories()
    if body.requester_legal_entity.id != auth.legal_entity_id:
        errors.append(
            invalid_entry("$.requester_legal_entity.identifier.value", "invalid", "Must be current legal enity")
        )
    if body.subject is not None and body.subject.id != person_id:
        errors.append(invalid_entry("$.subject.identifier.value", "invalid", "Must be the patient of the request"))
    category = body.category.coding[0]
    if category.system != known.system or category.code not in known.names:
        errors.append(
            invalid_entry("$.category.coding[0].code", "inclusion", "value is not allowed in enum", list(known.names))
        )
    errors += await _check_code(conn, body, category.code if category.code in known.names else None)
    if body.program is not None:
        errors += await _check_program_of_create(conn, body)
    if body.permitted_resources and category.code == known.laboratory:
        errors.append(
            invalid_entry("$.permitted_resources", "invalid", "Permitted resources are not allowed for laboratory")
        )
    period = body.occurrence_period
    if period is not None and period.end is not None and period.end < period.start:
        errors.append(invalid_entry("$.occurrence_period.end", "invalid", "End date must be greater than start date"))
    if body.authored_on is not None and body.authored_on > clock.now():
        errors.append(invalid_entry("$.authored_on", "invalid", "Authored on date must be in the past"))
    if errors:
        raise ValidationFailed(errors)
    if body.performer is not None:
        await repository.active_legal_entity(
            conn, legal_entity_id=body.performer.id, entry="$.performer.identifier.value"
        )
    return await repository.active_clinician(
        conn, employee_id=body.requester_employee.id, legal_entity_id=auth.legal_entity_id, entry="$.requester_employee"
    )


async def _check_code(conn: AsyncConnection, body: ServiceRequestContent, category: str | None) -> list[dict[str, Any]]:
    """The referral's `code` names an active service of the catalogue (of the referral's category), or a group."""
    entry = "$.code.identifier.value"
    if body.code.resource == SERVICE:
        service = await catalogue.find_service(conn, service_id=body.code.id)
        if service is None or not service.is_active:
            return [invalid_entry(entry, "invalid", "Service not found")]
        if not service.request_allowed:
            return [invalid_entry(entry, "invalid", "Service is not allowed to be requested")]
        if category is not None and service.category != category:
            return [invalid_entry(entry, "invalid", "Service does not belong to the category")]
        return []
    if body.code.resource == SERVICE_GROUP:
        group = await catalogue.find_group(conn, group_id=body.code.id)
        if group is None or not group.is_active:
            return [invalid_entry(entry, "invalid", "Service group not found")]
        if not group.request_allowed:
            return [invalid_entry(entry, "invalid", "Service group is not allowed to be requested")]
        return []
    entry = "$.code.identifier.type.coding[0].code"
    return [invalid_entry(entry, "inclusion", "value is not allowed in enum", [SERVICE, SERVICE_GROUP])]


def _code_target(code: dict[str, Any] | Reference) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(service id, group id) of a referral's `code`."""
    if isinstance(code, Reference):
        resource, value = code.resource, code.id
    else:
        resource, value = code["identifier"]["type"]["coding"][0]["code"], uuid.UUID(code["identifier"]["value"])
    return (value, None) if resource == SERVICE else (None, value)


async def _active_service_program(
    conn: AsyncConnection, program_id: uuid.UUID, entry: str
) -> tuple[catalogue.ProgramRecord | None, list[dict[str, Any]]]:
    program = await catalogue.find_program(conn, program_id=program_id)
    if program is None:
        return None, [invalid_entry(entry, "invalid", "Medical program not found")]
    if not program.is_active:
        return None, [invalid_entry(entry, "invalid", "Medical program is not active")]
    if program.type != catalogue.SERVICE_PROGRAM:
        return None, [invalid_entry(entry, "invalid", "Medical program is not a program of services")]
    return program, []


async def _check_program_of_create(conn: AsyncConnection, body: ServiceRequestContent) -> list[dict[str, Any]]:
    assert body.program is not None
    entry = "$.program.identifier.value"
    if body.program.resource != PROGRAM:
        return [invalid_entry("$.program.identifier.type.coding[0].code", "inclusion", "value is not allowed in enum",
                              [PROGRAM])]  # fmt: skip
    program, errors = await _active_service_program(conn, body.program.id, entry)
    if program is None:
        return errors
    service_id, group_id = _code_target(body.code)
    covering = await catalogue.program_service_for(
        conn, program_id=program.id, service_id=service_id, group_id=group_id
    )
    if covering is None or not covering.request_allowed:
        return [invalid_entry(entry, "invalid", "Medical program does not cover the service")]
    return []


@dataclass(frozen=True)
class _NewServiceRequest:
    """A signed service request that passed the checks of its content, with the requester it names."""

    body: ServiceRequestContent
    content: dict[str, Any]
    requester: ClinicianRecord


async def create(
    conn: AsyncConnection, settings: Settings, auth: AuthContext, person_id: uuid.UUID, signed_data: str
) -> dict[str, Any]:
    """Verify, validate and store a signed service request; returns the (processed) job."""
    person = await repository.active_patient(conn, person_id=person_id)
    plan: SignedWrite[_NewServiceRequest, uuid.UUID] = SignedWrite(
        stored_as="service_request",
        read=lambda doc: _read_new(conn, doc, person_id=person_id, auth=auth),
        find_signer=_requester_of_new,
        write=lambda _doc, new: _insert(conn, new, person_id=person_id, person=person, auth=auth, settings=settings),
    )
    sr_id = await signed_write(conn, signed_data=signed_data, plan=plan, auth=auth, settings=settings)
    return await async_jobs.record_processed(
        conn,
        kind="service_request.create",
        legal_entity_id=auth.legal_entity_id,
        links=[async_jobs.link("service_request", f"/api/patients/{person_id}/service_requests/{sr_id}")],
        status_code=201,
    )


async def _read_new(
    conn: AsyncConnection, doc: VerifiedDocument, *, person_id: uuid.UUID, auth: AuthContext
) -> _NewServiceRequest:
    if not isinstance(doc.content, dict):
        raise ValidationFailed([invalid_entry("$", "invalid", "Signed content must be a JSON object")])
    body = parse(ServiceRequestContent, doc.content)
    requester = await _validate_create(conn, body, person_id, auth)
    return _NewServiceRequest(body, doc.content, requester)


async def _requester_of_new(new: _NewServiceRequest) -> ExpectedSigner:
    return ExpectedSigner(tax_id=new.requester.party.tax_id)


async def _insert(
    conn: AsyncConnection,
    new: _NewServiceRequest,
    *,
    person_id: uuid.UUID,
    person: RowLike,
    auth: AuthContext,
    settings: Settings,
) -> Written[uuid.UUID]:
    body = new.body
    if await _ID_TAKEN.first(conn, id_=body.id) is not None:
        raise Conflict("Service request with such id already exists")
    now = clock.now()
    episodes = [r.id for r in body.supporting_info if r.resource == "episode_of_care"]
    requisition = requisition_number(settings.service_request_requisition_key, episodes[0] if episodes else body.id)
    content = {k: v for k, v in new.content.items() if k not in ("subject",)}
    history = [{"status": ACTIVE, "status_reason": None, "inserted_at": now.isoformat(), "inserted_by": _who(auth)}]
    row = {
        "id": body.id,
        "person_id": person_id,
        "status": ACTIVE,
        "requisition": requisition,
        "category": body.category.code,
        "service_id": body.code.id,
        "requester_employee_id": body.requester_employee.id,
        "requester_legal_entity_id": body.requester_legal_entity.id,
        "performer_legal_entity_id": body.performer.id if body.performer else None,
        "program_id": body.program.id if body.program else None,
        "expiration_date": expiration_for(now, settings.service_request_expiration_days),
        "content": content,
        "status_history": history,
        "inserted_by": auth.user_id,
        "updated_by": auth.user_id,
        "inserted_at": now,
        "updated_at": now,
    }
    await conn.execute(service_requests.insert().values(row))
    messages: tuple[Sms, ...] = ()
    if settings.service_request_sms_on_create:
        inform = body.inform_with.auth_method_id if body.inform_with else None
        template = templates.service_request_created(requisition)
        phone = repository.sms_phone(person, inform)
        messages = (Sms(phone=phone, template=template, idempotency_key=f"sr-create:{body.id}"),)
    effects = Effects(
        changes=(
            StatusChange(
                entity_type=ENTITY, entity_id=body.id, new_status=ACTIVE, legal_entity_id=auth.legal_entity_id
            ),
        ),
        audit=(AuditEntry(action="service_request.create", resource_type="service_request", resource_id=body.id),),
        messages=messages,
    )
    return Written(document_id=body.id, result=body.id, effects=effects)


def _who(auth: AuthContext) -> str | None:
    return str(auth.user_id) if auth.user_id else None


async def _sms(
    conn: AsyncConnection, person: RowLike, template: tuple[str, str], key: str, inform: uuid.UUID | None = None
) -> None:
    phone = repository.sms_phone(person, inform)
    if phone is not None:
        kind, text = template
        await queue_sms(conn, phone=phone, text=text, kind=kind, idempotency_key=key)


# --- reads ------------------------------------------------------------------------------------------


async def _row(
    conn: AsyncConnection, sr_id: uuid.UUID, person_id: uuid.UUID | None = None, lock: bool = False
) -> Mapping[str, Any]:
    params = {"id_": sr_id} if person_id is None else {"id_": sr_id, "person_id": person_id}
    row = await first(_BY_ID[person_id is not None, lock], conn, **params)
    if row is None:
        raise NotFound("Service request not found")
    return row


def _visible(row: RowLike, auth: AuthContext) -> bool:
    le = auth.legal_entity_filter
    return le is None or le in (
        row["requester_legal_entity_id"],
        row["used_by_legal_entity_id"],
        row["performer_legal_entity_id"],
    )


async def get(
    conn: AsyncConnection,
    auth: AuthContext,
    person_id: uuid.UUID,
    sr_id: uuid.UUID,
    *,
    episode_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    row = await _row(conn, sr_id, person_id)
    if not _visible(row, auth) or (episode_id is not None and episode_id not in _episodes(row["content"])):
        raise NotFound("Service request not found")
    return render(row)


async def referral_ref(
    conn: AsyncConnection, *, auth: AuthContext, person_id: uuid.UUID, referral_id: uuid.UUID
) -> medical_events.ReferralRef | None:
    """The referral a medical event names, as the caller sees it (what `get` shows, or None)."""
    try:
        found = await get(conn, auth, person_id, referral_id)
    except NotFound:
        return None
    return medical_events.ReferralRef(id=referral_id, status=found["status"])


# The medical-events domain sits below this one and cannot import it: it asks for referrals through this.
medical_events.serve_referrals(referral_ref)


def _episodes(content: RowLike) -> set[uuid.UUID]:
    found = set()
    for item in content.get("supporting_info") or []:
        identifier = item.get("identifier") or {}
        codes = [c.get("code") for c in (identifier.get("type") or {}).get("coding") or []]
        if "episode_of_care" in codes:
            try:
                found.add(uuid.UUID(str(identifier.get("value"))))
            except ValueError:
                continue
    return found


async def list_for_patient(
    conn: AsyncConnection,
    auth: AuthContext,
    person_id: uuid.UUID,
    page: PageParams,
    *,
    status: str | None = None,
    requester_legal_entity: uuid.UUID | None = None,
    used_by_legal_entity: uuid.UUID | None = None,
    code: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    care_plan_id: uuid.UUID | None = None,
) -> tuple[list[dict[str, Any]], int]:
    await repository.active_patient(conn, person_id=person_id)
    t = service_requests
    cond = [t.c.person_id == person_id]
    # The episode a referral belongs to is the one its supporting_info names (it also groups the requisition
    # number); a care plan is named in based_on. Within one patient's rows, a JSONB containment test is enough.
    if episode_id is not None:
        cond.append(t.c.content.contains({"supporting_info": [_ref_pattern("episode_of_care", episode_id)]}))
    if care_plan_id is not None:
        cond.append(t.c.content.contains({"based_on": [_ref_pattern("care_plan", care_plan_id)]}))
    if auth.legal_entity_filter is not None:
        le = auth.legal_entity_filter
        cond.append((t.c.requester_legal_entity_id == le) | (t.c.used_by_legal_entity_id == le))
    for column, value in (
        (t.c.status, status),
        (t.c.requester_legal_entity_id, requester_legal_entity),
        (t.c.used_by_legal_entity_id, used_by_legal_entity),
        (t.c.service_id, code),
    ):
        if value is not None:
            cond.append(column == value)
    return await _page(conn, and_(*cond), page)


def _ref_pattern(resource: str, value: uuid.UUID) -> dict[str, Any]:
    return {"identifier": {"type": {"coding": [{"code": resource}]}, "value": str(value)}}


async def search_by_requisition(
    conn: AsyncConnection, requisition: str, status: str | None, page: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """Any performer may look a referral up by the number the patient presents (§4)."""
    params: dict[str, Any] = {"requisition": requisition.strip()}
    if status is not None:
        params["status"] = status
    page_query, count_query = _BY_REQUISITION[status is not None]
    rows = await all_rows(page_query, conn, **params, limit=page.page_size, offset=page.offset)
    total = total_from_page(len(rows), page.offset, page.page_size)
    if total is None:
        total = (await count_query.one(conn, **params)).total
    return [render(r) for r in rows], total


async def _page(conn: AsyncConnection, cond: Any, page: PageParams) -> tuple[list[dict[str, Any]], int]:
    t = service_requests
    rows = (
        (await conn.execute(_paged(select(t).where(cond)), {"limit": page.page_size, "offset": page.offset}))
        .mappings()
        .all()
    )
    total = total_from_page(len(rows), page.offset, page.page_size)
    if total is None:
        total = (await conn.execute(select(func.count()).select_from(t).where(cond))).scalar_one()
    return [render(r) for r in rows], total


# --- status changes ---------------------------------------------------------------------------------


async def _set_status(
    conn: AsyncConnection,
    row: RowLike,
    auth: AuthContext | None,
    new_status: str,
    *,
    values: dict[str, Any] | None = None,
    status_reason: dict[str, Any] | None = None,
) -> RowMapping:
    updated, change = await _update_status(conn, row, auth, new_status, values=values, status_reason=status_reason)
    await record_effects(conn, Effects(changes=(change,)), auth=auth)
    return updated


async def _update_status(
    conn: AsyncConnection,
    row: RowLike,
    auth: AuthContext | None,
    new_status: str,
    *,
    values: dict[str, Any] | None = None,
    status_reason: dict[str, Any] | None = None,
) -> tuple[RowMapping, StatusChange]:
    """The row in its new status with the history entry; the event is the caller's to write."""
    now = clock.now()
    entry = {
        "status": new_status,
        "status_reason": status_reason,
        "inserted_at": now.isoformat(),
        "inserted_by": _who(auth) if auth else None,
    }
    changes = dict(values or {}) | {
        "status": new_status,
        "status_history": [*row["status_history"], entry],
        "updated_at": now,
        "updated_by": auth.user_id if auth else None,
    }
    if status_reason is not None:
        changes["status_reason"] = status_reason
    t = service_requests
    updated = (
        (
            await conn.execute(
                t.update().where(t.c.person_id == row["person_id"], t.c.id == row["id"]).values(changes).returning(*t.c)
            )
        )
        .mappings()
        .one()
    )
    change = StatusChange(
        entity_type=ENTITY,
        entity_id=row["id"],
        new_status=new_status,
        legal_entity_id=row["requester_legal_entity_id"],
        old_status=row["status"],
    )
    return updated, change


def _expired(row: RowLike) -> bool:
    return row["status"] == ACTIVE and row["expiration_date"] < clock.now()


async def use(conn: AsyncConnection, auth: AuthContext, sr_id: uuid.UUID, body: UseBody) -> dict[str, Any]:
    if body.used_by_legal_entity.id != auth.legal_entity_id:
        raise ValidationFailed(
            [invalid_entry("$.used_by_legal_entity.identifier.value", "invalid", "Must be current legal entity")]
        )
    row = await _row(conn, sr_id, lock=True)  # one performer at a time: the loser sees "already used"
    if _expired(row):
        raise Conflict("Service request is expired")
    if row["status"] != ACTIVE:
        raise Conflict("Can't use inactive service request")
    if row["used_by_legal_entity_id"] is not None:
        raise Conflict("Service request is already used")
    if row["performer_legal_entity_id"] not in (None, auth.legal_entity_id):
        raise Conflict("Service request is assigned to another performer")
    employee_id = None
    if body.used_by_employee is not None:
        employee = await repository.active_clinician(
            conn, employee_id=body.used_by_employee.id, legal_entity_id=auth.legal_entity_id, entry="$.used_by_employee"
        )
        employee_id = employee.employee.id
    program_id, program_service_id = await _program_choice(conn, row, body.program, body.program_service)
    values = {"used_by_legal_entity_id": auth.legal_entity_id, "used_by_employee_id": employee_id}
    if program_id is not None:
        values |= {"program_id": program_id, "program_service_id": program_service_id}
    updated = await _update(conn, row, auth, values)
    await audit.record(conn, action="service_request.use", resource_type="service_request", resource_id=sr_id,
                       actor=auth.actor)  # fmt: skip
    return await _job(conn, auth, "service_request.use", updated)


async def release(conn: AsyncConnection, auth: AuthContext, sr_id: uuid.UUID) -> dict[str, Any]:
    row = await _row(conn, sr_id, lock=True)
    if row["status"] != ACTIVE:
        raise Conflict(f"Service request in status {row['status']} cannot be released")
    _check_used_by_caller(row, auth)
    updated = await _update(conn, row, auth, {"used_by_legal_entity_id": None, "used_by_employee_id": None})
    await audit.record(conn, action="service_request.release", resource_type="service_request",
                       resource_id=sr_id, actor=auth.actor)  # fmt: skip
    return await _job(conn, auth, "service_request.release", updated)


async def process(conn: AsyncConnection, auth: AuthContext, sr_id: uuid.UUID) -> dict[str, Any]:
    row = await _row(conn, sr_id, lock=True)
    if _expired(row):
        raise Conflict("Service request is expired")
    if row["status"] != ACTIVE:
        raise Conflict(f"Service request in status {row['status']} cannot be processed")
    _check_used_by_caller(row, auth)
    updated = await _set_status(conn, row, auth, IN_PROGRESS)
    return await _job(conn, auth, "service_request.process", updated)


async def complete(conn: AsyncConnection, auth: AuthContext, sr_id: uuid.UUID, body: CompleteBody) -> dict[str, Any]:
    row = await _row(conn, sr_id, lock=True)
    if row["status"] not in (ACTIVE, IN_PROGRESS):
        raise Conflict(f"Service request in status {row['status']} cannot be completed")
    _check_used_by_caller(row, auth)
    reason = body.status_reason.model_dump(exclude_none=True) if body.status_reason else None
    completed_with = body.completed_with.model_dump(mode="json", exclude_none=True)
    values: dict[str, Any] = {"completed_with": completed_with}
    if body.program_service is not None:
        program = reference(PROGRAM, row["program_id"]) if row["program_id"] is not None else None
        program_id, program_service_id = await _program_choice(
            conn, row, Reference.model_validate(program) if program else None, body.program_service
        )
        values |= {"program_id": program_id, "program_service_id": program_service_id}
    updated = await _set_status(conn, row, auth, COMPLETED, values=values, status_reason=reason)
    return await _job(conn, auth, "service_request.complete", updated)


async def _program_choice(
    conn: AsyncConnection, row: RowLike, program: Reference | None, program_service: Reference | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The programme (and its programme service) the referral is used under, checked: the programme is an active
    programme of services, the referral's own if it was written under one, and covers the referral's service."""
    if program is None and program_service is None:
        return None, None
    errors: list[dict[str, Any]] = []
    if program is not None and program.resource != PROGRAM:
        errors.append(invalid_entry("$.program.identifier.type.coding[0].code", "inclusion",
                                    "value is not allowed in enum", [PROGRAM]))  # fmt: skip
    if program_service is not None and program_service.resource != PROGRAM_SERVICE:
        errors.append(invalid_entry("$.program_service.identifier.type.coding[0].code", "inclusion",
                                    "value is not allowed in enum", [PROGRAM_SERVICE]))  # fmt: skip
    if errors:
        raise ValidationFailed(errors)
    service_id, group_id = _code_target(row["content"]["code"])
    entry = "$.program.identifier.value"
    chosen = None
    if program_service is not None:
        ps_entry = "$.program_service.identifier.value"
        chosen = await catalogue.find_program_service(conn, program_service_id=program_service.id)
        if chosen is None:
            raise ValidationFailed([invalid_entry(ps_entry, "invalid", "Program service not found")])
        if not chosen.is_active:
            raise ValidationFailed([invalid_entry(ps_entry, "invalid", "Program service is not active")])
        if program is not None and chosen.medical_program_id != program.id:
            raise ValidationFailed(
                [invalid_entry(ps_entry, "invalid", "Program service does not belong to the program")]
            )
        if not await catalogue.covers(conn, program_service=chosen, service_id=service_id, group_id=group_id):
            raise ValidationFailed(
                [invalid_entry(ps_entry, "invalid", "Program service does not cover the service of the request")]
            )
        if program is None:
            entry = ps_entry
    program_id = program.id if program is not None else chosen.medical_program_id if chosen is not None else None
    assert program_id is not None
    if row["program_id"] is not None and row["program_id"] != program_id:
        raise ValidationFailed([invalid_entry(entry, "invalid", "Must be the program of the service request")])
    found, errors = await _active_service_program(conn, program_id, entry)
    if found is None:
        raise ValidationFailed(errors)
    if chosen is None:
        covering = await catalogue.program_service_for(
            conn, program_id=program_id, service_id=service_id, group_id=group_id
        )
        if covering is None:
            raise ValidationFailed([invalid_entry(entry, "invalid", "Medical program does not cover the service")])
    if row["program_service_id"] is not None and chosen is not None and row["program_service_id"] != chosen.id:
        raise ValidationFailed(
            [invalid_entry("$.program_service.identifier.value", "invalid", "Service request is used under another "
                           "program service")]
        )  # fmt: skip
    return program_id, chosen.id if chosen is not None else row["program_service_id"]


def _check_used_by_caller(row: RowLike, auth: AuthContext) -> None:
    if row["used_by_legal_entity_id"] is None:
        raise Conflict("Service request is not used by your legal entity")
    if row["used_by_legal_entity_id"] != auth.legal_entity_id:
        raise Conflict("Service request is used by another legal entity")


async def _update(conn: AsyncConnection, row: RowLike, auth: AuthContext, values: dict[str, Any]) -> RowMapping:
    t = service_requests
    stmt = (
        t.update()
        .where(t.c.person_id == row["person_id"], t.c.id == row["id"])
        .values(values | {"updated_at": clock.now(), "updated_by": auth.user_id})
        .returning(*t.c)
    )
    return (await conn.execute(stmt)).mappings().one()


async def _job(conn: AsyncConnection, auth: AuthContext, kind: str, row: RowLike) -> dict[str, Any]:
    href = f"/api/patients/{row['person_id']}/service_requests/{row['id']}"
    return await async_jobs.record_processed(
        conn, kind=kind, legal_entity_id=auth.legal_entity_id, links=[async_jobs.link("service_request", href)]
    )


# --- recall and cancel (signed by the requester) ---------------------------------------------------


async def recall(
    conn: AsyncConnection, settings: Settings, auth: AuthContext, person_id: uuid.UUID, sr_id: uuid.UUID, signed: str
) -> dict[str, Any]:
    return await _signed_change(conn, settings, auth, person_id, sr_id, signed, RECALLED)


async def cancel(
    conn: AsyncConnection, settings: Settings, auth: AuthContext, person_id: uuid.UUID, sr_id: uuid.UUID, signed: str
) -> dict[str, Any]:
    return await _signed_change(conn, settings, auth, person_id, sr_id, signed, ENTERED_IN_ERROR)


async def _signed_change(
    conn: AsyncConnection,
    settings: Settings,
    auth: AuthContext,
    person_id: uuid.UUID,
    sr_id: uuid.UUID,
    signed: str,
    new_status: str,
) -> dict[str, Any]:
    """The requester's CMS over the referral as GET returns it, with the new status and its reason."""
    person = await repository.active_patient(conn, person_id=person_id)
    row = await _row(conn, sr_id, person_id, lock=True)
    if row["requester_legal_entity_id"] != auth.legal_entity_id:
        raise NotFound("Service request not found")
    allowed = (ACTIVE,) if new_status == RECALLED else (ACTIVE, COMPLETED)
    action = "recalled" if new_status == RECALLED else "cancelled"
    if row["status"] not in allowed:
        raise Conflict(f"Service request in status {row['status']} cannot be {action}")
    plan: SignedWrite[StatusChangeContent, RowMapping] = SignedWrite(
        stored_as=f"service_request_{action}",
        read=lambda doc: _read_change(doc, new_status),
        expected=lambda doc, change: _expected_after_change(row, doc, change),
        find_signer=lambda _change: _requester_of(conn, row),
        write=lambda doc, change: _write_change(conn, row, doc, change, person=person, auth=auth),
    )
    updated = await signed_write(conn, signed_data=signed, plan=plan, auth=auth, settings=settings)
    return await _job(conn, auth, f"service_request.{new_status}", updated)


async def _read_change(doc: VerifiedDocument, new_status: str) -> StatusChangeContent:
    change = parse(StatusChangeContent, doc.content if isinstance(doc.content, dict) else {})
    system = RECALL_SYSTEM if new_status == RECALLED else CANCEL_SYSTEM
    if change.status != new_status:
        raise ValidationFailed([invalid_entry("$.status", "inclusion", "value is not allowed in enum", [new_status])])
    if change.status_reason.system != system:
        raise ValidationFailed(
            [invalid_entry("$.status_reason.coding[0].system", "inclusion", "value is not allowed in enum", [system])]
        )
    return change


def _expected_after_change(
    row: RowLike, doc: VerifiedDocument, change: StatusChangeContent
) -> dict[str, Any]:
    expected = render(row) | {
        "status": change.status,
        "status_reason": doc.content["status_reason"],
        "explanatory_letter": change.explanatory_letter,
    }
    if "explanatory_letter" not in doc.content:
        expected.pop("explanatory_letter")
    return expected


async def _requester_of(conn: AsyncConnection, row: RowLike) -> ExpectedSigner:
    requester = await repository.active_clinician(
        conn, employee_id=row["requester_employee_id"], legal_entity_id=None, entry="$.requester_employee"
    )
    return ExpectedSigner(tax_id=requester.party.tax_id)


async def _write_change(
    conn: AsyncConnection,
    row: RowLike,
    doc: VerifiedDocument,
    change: StatusChangeContent,
    *,
    person: RowLike,
    auth: AuthContext,
) -> Written[RowMapping]:
    new_status = change.status
    reason = doc.content["status_reason"]
    updated, status_change = await _update_status(
        conn, row, auth, new_status, values={"explanatory_letter": change.explanatory_letter}, status_reason=reason
    )
    template = templates.service_request_recall if new_status == RECALLED else templates.service_request_cancel
    effects = Effects(
        changes=(status_change,),
        audit=(
            AuditEntry(action=f"service_request.{new_status}", resource_type="service_request", resource_id=row["id"]),
        ),
        messages=(
            Sms(
                phone=repository.sms_phone(person),
                template=template(row["requisition"]),
                idempotency_key=f"sr-{new_status}:{row['id']}",
            ),
        ),
    )
    return Written(document_id=row["id"], result=updated, effects=effects)


async def resend(conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID, sr_id: uuid.UUID) -> dict[str, Any]:
    person = await repository.active_patient(conn, person_id=person_id)
    row = await _row(conn, sr_id, person_id)
    if not _visible(row, auth):
        raise NotFound("Service request not found")
    if row["status"] != ACTIVE:
        raise Conflict(f"Service request in status {row['status']} cannot be resent")
    key = f"sr-resend:{sr_id}:{uuid.uuid4()}"
    await _sms(conn, person, templates.service_request_created(row["requisition"]), key)
    return await _job(conn, auth, "service_request.resend", row)


# --- expiry (worker) --------------------------------------------------------------------------------


async def expire(conn: AsyncConnection, now: datetime | None = None, limit: int = 500) -> int:
    """Active referrals past their expiration date → recalled (status_reason autoexpired)."""
    t = service_requests
    rows = (
        (
            await conn.execute(
                select(t)
                .where(t.c.status == ACTIVE, t.c.expiration_date < (now or clock.now()))
                .order_by(t.c.expiration_date)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    reason = concept(CANCEL_SYSTEM, "autoexpired")
    for row in rows:
        await _set_status(conn, row, None, RECALLED, status_reason=reason)
    return len(rows)
