"""Business rules of medical conclusions (compositions, contract §5), type TEMP_DISABILITY (МВТН).

    PRELIMINARY --sign (author's КЕП)--> FINAL --prolongation signed (relates_to replaces)--> AMENDED
                                         FINAL --mark_in_error (signed, reason)--> ENTERED_IN_ERROR

A FINAL conclusion queues the ПФУ integration task (outbox, `pfu.py`) and an SMS to the patient in the same
transaction; cancelling it queues the cancellation for the registry.
"""

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.conclusions import pfu
from esoz.conclusions.models import composition_titles, compositions
from esoz.conclusions.schemas import (
    CATEGORIES_SYSTEM,
    MARK_IN_ERROR_SYSTEM,
    TEMP_DISABILITY,
    TEMP_DISABILITY_CATEGORIES,
    TYPES_SYSTEM,
    VALIDITY_PERIOD,
    CompositionContent,
    MarkInError,
)
from esoz.core import audit, clock, numbers
from esoz.core.auth import AuthContext
from esoz.core.errors import ENTRY_QUERY, Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.core.fastsql import FastQuery
from esoz.core.pagination import PageParams
from esoz.core.rows import RowLike, first
from esoz.medical_events import async_jobs
from esoz.medical_events import service as medical_events
from esoz.medical_events.refs import parse, reference
from esoz.notifications import templates
from esoz.registry import repository
from esoz.registry.repository import ClinicianRecord
from esoz.settings import Settings
from esoz.signatures.flow import (
    AuditEntry,
    Effects,
    ExpectedSigner,
    SignedWrite,
    Sms,
    StatusChange,
    Written,
    read_nothing,
    record_effects,
    signed_write,
)
from esoz.signatures.service import VerifiedDocument

KYIV = ZoneInfo("Europe/Kyiv")
PRELIMINARY, FINAL, AMENDED, ENTERED_IN_ERROR = "PRELIMINARY", "FINAL", "AMENDED", "ENTERED_IN_ERROR"
ENTITY = "Composition"
TITLE_ALPHABET = numbers.ALPHABET

# The reads of create, sign and GET are built once and run through core.fastsql: built per call, SQLAlchemy
# would re-key and execute them on its slow path (bench/README.md).
_C = compositions
_BY_ID = FastQuery(select(_C).where(_C.c.id == bindparam("id_"), _C.c.person_id == bindparam("person_id")))
_BY_ID_LOCKED = FastQuery(_BY_ID.stmt.with_for_update())
_ID_TAKEN = FastQuery(select(_C.c.id).where(_C.c.id == bindparam("id_")))
_TITLE_LOCKED = FastQuery(
    select(composition_titles).where(composition_titles.c.title == bindparam("title")).with_for_update()
)


# --- titles -----------------------------------------------------------------------------------------


def _draw_title(groups: int) -> str:
    return "-".join("".join(secrets.choice(TITLE_ALPHABET) for _ in range(4)) for _ in range(groups))


async def create_title(
    conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID, composition_type: str
) -> dict[str, str]:
    """Reserve a conclusion number (`XXXX-XXXX-XXXX-XXXX`) for this patient; the composition must carry it."""
    if composition_type != TEMP_DISABILITY:
        raise ValidationFailed(
            [invalid_entry("composition_type", "inclusion", "value is not allowed in enum", [TEMP_DISABILITY],
                           ENTRY_QUERY)]
        )  # fmt: skip
    await repository.active_patient(conn, person_id=person_id)
    title = await numbers.issue(conn, "composition_title", 4, draw=_draw_title)
    await conn.execute(
        composition_titles.insert().values(
            title=title, person_id=person_id, type=composition_type, legal_entity_id=auth.legal_entity_id
        )
    )
    return {"title": title}


# --- rendering --------------------------------------------------------------------------------------


def render(row: RowLike) -> dict[str, Any]:
    """The composition as the API returns it; sign and mark_in_error sign exactly this plus their changes."""
    data = dict(row["content"])
    data |= {
        "id": str(row["id"]),
        "title": row["title"],
        "status": row["status"],
        "subject": reference("patient", row["person_id"]),
    }
    if row["status_reason"] is not None:
        data["status_reason"] = row["status_reason"]
        data["explanatory_letter"] = row["explanatory_letter"]
    return data


def kyiv_day(value: datetime) -> date:
    return value.astimezone(KYIV).date()


def validity_days(row: RowLike) -> int:
    return (row["validity_end"] - row["validity_start"]).days + 1


# --- validation -------------------------------------------------------------------------------------


async def _validate(
    conn: AsyncConnection, body: CompositionContent, person_id: uuid.UUID, auth: AuthContext
) -> tuple[repository.ClinicianRecord, Mapping[str, Any] | None, date, date]:
    errors: list[dict[str, Any]] = []
    if body.type.system != TYPES_SYSTEM or body.type.code != TEMP_DISABILITY:
        errors.append(invalid_entry("$.type.coding[0].code", "inclusion", "value is not allowed in enum",
                                    [TEMP_DISABILITY]))  # fmt: skip
    if body.category.system != CATEGORIES_SYSTEM or body.category.code not in TEMP_DISABILITY_CATEGORIES:
        errors.append(invalid_entry("$.category.coding[0].code", "inclusion", "value is not allowed in enum",
                                    list(TEMP_DISABILITY_CATEGORIES)))  # fmt: skip
    if body.subject is not None and body.subject.id != person_id:
        errors.append(invalid_entry("$.subject.identifier.value", "invalid", "Must be the patient of the request"))
    if body.custodian.id != auth.legal_entity_id:
        errors.append(invalid_entry("$.custodian.identifier.value", "invalid", "Must be current legal entity"))
    periods = [(i, e) for i, e in enumerate(body.event) if e.code.code == VALIDITY_PERIOD]
    start = end = None
    if len(periods) != 1:
        errors.append(invalid_entry("$.event", "invalid", f"exactly one {VALIDITY_PERIOD} event is required"))
    else:
        i, event = periods[0]
        if event.period.end is None:
            errors.append(
                invalid_entry(f"$.event[{i}].period.end", "required", "required property end was not present")
            )
        elif event.period.end < event.period.start:
            errors.append(invalid_entry(f"$.event[{i}].period.end", "invalid",
                                        "Validity period end must be greater than or equal to start"))  # fmt: skip
        else:
            start, end = kyiv_day(event.period.start), kyiv_day(event.period.end)
    if errors:
        raise ValidationFailed(errors)
    assert start is not None and end is not None
    author = await repository.active_clinician(
        conn, employee_id=body.author.id, legal_entity_id=auth.legal_entity_id, entry="$.author"
    )
    await _check_title(conn, body.title, person_id)
    if await _ID_TAKEN.first(conn, id_=body.id) is not None:
        raise Conflict("Composition with such id already exists")
    target = None
    if body.relates_to:
        target = await _prolongation_target(conn, body.relates_to[0].resource_reference.id, person_id)
    return author, target, start, end


async def _check_title(conn: AsyncConnection, title: str, person_id: uuid.UUID) -> None:
    row = await _TITLE_LOCKED.first(conn, title=title)
    if row is None or row.person_id != person_id:
        raise ValidationFailed([invalid_entry("$.title", "invalid", "Composition title not found")])
    if row.composition_id is not None:
        raise ValidationFailed([invalid_entry("$.title", "invalid", "Composition title is already used")])


async def _prolongation_target(conn: AsyncConnection, target_id: uuid.UUID, person_id: uuid.UUID) -> Mapping[str, Any]:
    target = await first(_BY_ID_LOCKED, conn, id_=target_id, person_id=person_id)
    if target is None:
        raise ValidationFailed(
            [invalid_entry("$.relates_to[0].resource_reference.identifier.value", "invalid", "Composition not found")]
        )
    if target["status"] != FINAL:
        raise Conflict(f"Composition in status {target['status']} cannot be prolonged")
    return target


# --- create and sign --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NewComposition:
    """A composition's content that passed its checks, with what they looked up."""

    draft: dict[str, Any]
    body: CompositionContent
    author: ClinicianRecord
    target: Mapping[str, Any] | None  # the FINAL conclusion a prolongation replaces
    start: date
    end: date


async def submit(
    conn: AsyncConnection,
    settings: Settings,
    auth: AuthContext,
    person_id: uuid.UUID,
    *,
    draft: dict[str, Any] | None = None,
    signed_data: str | None = None,
) -> dict[str, Any]:
    """An unsigned draft becomes PRELIMINARY; signed content (status FINAL) becomes FINAL at once."""
    person = await repository.active_patient(conn, person_id=person_id)
    if signed_data is None:
        assert draft is not None
        new = await _read_new(conn, draft, PRELIMINARY, person_id=person_id, auth=auth)
        _, effects = await _insert(conn, new, person_id=person_id, auth=auth)
        await record_effects(conn, effects, auth=auth)
        composition_id = new.body.id
    else:
        plan: SignedWrite[_NewComposition, uuid.UUID] = SignedWrite(
            stored_as="composition",
            read=lambda doc: _read_new(
                conn, doc.content if isinstance(doc.content, dict) else {}, FINAL, person_id=person_id, auth=auth
            ),
            find_signer=_author_of_new,
            write=lambda _doc, new: _insert_final(conn, new, settings=settings, auth=auth, person=person),
        )
        composition_id = await signed_write(conn, signed_data=signed_data, plan=plan, auth=auth, settings=settings)
    return await _job(conn, auth, "composition.create", person_id, composition_id)


async def _read_new(
    conn: AsyncConnection, draft: dict[str, Any], wanted: str, *, person_id: uuid.UUID, auth: AuthContext
) -> _NewComposition:
    body = parse(CompositionContent, draft)
    if body.status != wanted:
        raise ValidationFailed([invalid_entry("$.status", "inclusion", "value is not allowed in enum", [wanted])])
    author, target, start, end = await _validate(conn, body, person_id, auth)
    return _NewComposition(draft, body, author, target, start, end)


async def _author_of_new(new: _NewComposition) -> ExpectedSigner:
    return ExpectedSigner(tax_id=new.author.party.tax_id)


async def _author_of(
    conn: AsyncConnection, row: Mapping[str, Any], *, legal_entity_id: uuid.UUID | None
) -> ExpectedSigner:
    author = await repository.active_clinician(
        conn, employee_id=row["author_id"], legal_entity_id=legal_entity_id, entry="$.author"
    )
    return ExpectedSigner(tax_id=author.party.tax_id)


async def _insert(
    conn: AsyncConnection, new: _NewComposition, *, person_id: uuid.UUID, auth: AuthContext
) -> tuple[dict[str, Any], Effects]:
    """The PRELIMINARY composition, holding its title."""
    body = new.body
    now = clock.now()
    row = {
        "id": body.id,
        "person_id": person_id,
        "title": body.title,
        "type": body.type.code,
        "category": body.category.code,
        "status": PRELIMINARY,
        "author_id": body.author.id,
        "custodian_id": body.custodian.id,
        "validity_start": new.start,
        "validity_end": new.end,
        "replaces_id": new.target["id"] if new.target else None,
        "content": {k: v for k, v in new.draft.items() if k not in ("id", "title", "status", "subject")},
        "inserted_by": auth.user_id,
        "updated_by": auth.user_id,
        "inserted_at": now,
        "updated_at": now,
    }
    await conn.execute(compositions.insert().values(row))
    t = composition_titles
    await conn.execute(t.update().where(t.c.title == body.title).values(composition_id=body.id))
    effects = Effects(
        changes=(
            StatusChange(
                entity_type=ENTITY, entity_id=body.id, new_status=PRELIMINARY, legal_entity_id=auth.legal_entity_id
            ),
        ),
        audit=(AuditEntry(action="composition.create", resource_type="composition", resource_id=body.id),),
    )
    return row, effects


async def _insert_final(
    conn: AsyncConnection,
    new: _NewComposition,
    *,
    settings: Settings,
    auth: AuthContext,
    person: repository.PersonRecord,
) -> Written[uuid.UUID]:
    row, created = await _insert(conn, new, person_id=person["id"], auth=auth)
    finalized = await _finalize(conn, settings, auth, person, row)
    return Written(document_id=row["id"], result=row["id"], effects=created + finalized)


async def sign(
    conn: AsyncConnection,
    settings: Settings,
    auth: AuthContext,
    person_id: uuid.UUID,
    composition_id: uuid.UUID,
    signed_data: str,
) -> dict[str, Any]:
    """PRELIMINARY → FINAL: the author signs the render with `status: FINAL`."""
    person = await repository.active_patient(conn, person_id=person_id)
    row = await _row(conn, composition_id, person_id, auth, lock=True)
    if row["status"] != PRELIMINARY:
        raise Conflict(f"Composition in status {row['status']} cannot be signed")
    plan: SignedWrite[None, None] = SignedWrite(
        stored_as="composition",
        read=read_nothing,
        expected=lambda _doc, _read: render(row) | {"status": FINAL},
        find_signer=lambda _read: _author_of(conn, row, legal_entity_id=auth.legal_entity_id),
        write=lambda _doc, _read: _sign_rows(conn, settings, auth, person, row),
    )
    await signed_write(conn, signed_data=signed_data, plan=plan, auth=auth, settings=settings)
    return await _job(conn, auth, "composition.sign", person_id, composition_id)


async def _sign_rows(
    conn: AsyncConnection,
    settings: Settings,
    auth: AuthContext,
    person: repository.PersonRecord,
    row: Mapping[str, Any],
) -> Written[None]:
    if row["replaces_id"] is not None:  # the conclusion it prolongs may have changed since the draft
        await _prolongation_target(conn, row["replaces_id"], row["person_id"])
    effects = await _finalize(conn, settings, auth, person, row)
    return Written(document_id=row["id"], result=None, effects=effects)


async def _finalize(
    conn: AsyncConnection,
    settings: Settings,
    auth: AuthContext,
    person: repository.PersonRecord,
    row: Mapping[str, Any],
) -> Effects:
    """FINAL (and the conclusion it prolongs AMENDED), queued for the registry and texted to the patient."""
    now = clock.now()
    integration = [pfu.task_entry(pfu.CREATE, now)]
    updated, effects = await _update(conn, row, auth, FINAL, {"signed_at": now, "integration_data": integration})
    if row["replaces_id"] is not None:
        target = await first(_BY_ID, conn, id_=row["replaces_id"], person_id=row["person_id"])
        assert target is not None  # locked by _prolongation_target earlier in this transaction
        _, amended = await _update(conn, target, auth, AMENDED, {"replaced_by_id": row["id"]})
        effects += amended
    await pfu.queue_create(conn, await _erln_record(conn, updated, person))
    if settings.composition_sms:
        effects += Effects(messages=(_sms(person, updated, f"composition-final:{row['id']}"),))
    return effects


async def _erln_record(conn: AsyncConnection, row: RowLike, person: repository.PersonRecord) -> dict[str, Any]:
    author = await repository.active_clinician(
        conn, employee_id=row["author_id"], legal_entity_id=None, entry="$.author"
    )
    le = await repository.get_legal_entity(conn, legal_entity_id=row["custodian_id"])
    assert le is not None  # the custodian is a registered legal entity (it was the author's at create)
    return pfu.erln_record(row, person, author, le, validity_days(row))


def _sms(person: Mapping[str, Any], row: RowLike, key: str) -> Sms:
    return Sms(
        phone=repository.sms_phone(person, row["content"].get("inform_with")),
        template=templates.composition_created(row["title"]),
        idempotency_key=key,
    )


async def _update(
    conn: AsyncConnection,
    row: Mapping[str, Any],
    auth: AuthContext,
    new_status: str,
    values: dict[str, Any] | None = None,
) -> tuple[RowLike, Effects]:
    t = compositions
    stmt = (
        t.update()
        .where(t.c.person_id == row["person_id"], t.c.id == row["id"])
        .values((values or {}) | {"status": new_status, "updated_at": clock.now(), "updated_by": auth.user_id})
        .returning(*t.c)
    )
    updated = (await conn.execute(stmt)).mappings().one()
    change = StatusChange(
        entity_type=ENTITY,
        entity_id=row["id"],
        new_status=new_status,
        legal_entity_id=row["custodian_id"],
        old_status=row["status"],
    )
    entry = AuditEntry(action=f"composition.{new_status.lower()}", resource_type="composition", resource_id=row["id"])
    return updated, Effects(changes=(change,), audit=(entry,))


async def _job(
    conn: AsyncConnection, auth: AuthContext, kind: str, person_id: uuid.UUID, composition_id: uuid.UUID
) -> dict[str, Any]:
    href = f"/api/patients/{person_id}/compositions/{composition_id}"
    return await async_jobs.record_processed(
        conn, kind=kind, legal_entity_id=auth.legal_entity_id, links=[async_jobs.link("composition", href)]
    )


# --- cancel (mark in error) -------------------------------------------------------------------------


async def mark_in_error(
    conn: AsyncConnection,
    settings: Settings,
    auth: AuthContext,
    person_id: uuid.UUID,
    composition_id: uuid.UUID,
    signed_data: str,
) -> dict[str, Any]:
    """FINAL → ENTERED_IN_ERROR, signed by the author with a reason; the registry is told to cancel."""
    await repository.active_patient(conn, person_id=person_id)
    row = await _row(conn, composition_id, person_id, auth, lock=True)
    if row["status"] != FINAL:
        raise Conflict(f"Composition in status {row['status']} cannot be marked in error")
    plan: SignedWrite[MarkInError, None] = SignedWrite(
        stored_as="composition_mark_in_error",
        read=_read_mark_in_error,
        expected=lambda doc, change: _expected_in_error(row, doc, change),
        find_signer=lambda _change: _author_of(conn, row, legal_entity_id=None),
        write=lambda doc, change: _write_in_error(conn, row, doc, change, auth=auth),
    )
    await signed_write(conn, signed_data=signed_data, plan=plan, auth=auth, settings=settings)
    return await _job(conn, auth, "composition.mark_in_error", person_id, composition_id)


async def _read_mark_in_error(doc: VerifiedDocument) -> MarkInError:
    change = parse(MarkInError, doc.content if isinstance(doc.content, dict) else {})
    if change.status_reason.system != MARK_IN_ERROR_SYSTEM:
        raise ValidationFailed([invalid_entry("$.status_reason.coding[0].system", "inclusion",
                                              "value is not allowed in enum", [MARK_IN_ERROR_SYSTEM])])  # fmt: skip
    return change


def _expected_in_error(row: Mapping[str, Any], doc: VerifiedDocument, change: MarkInError) -> dict[str, Any]:
    expected = render(row) | {"status": ENTERED_IN_ERROR, "status_reason": doc.content["status_reason"]}
    if "explanatory_letter" in doc.content:
        expected["explanatory_letter"] = change.explanatory_letter
    return expected


async def _write_in_error(
    conn: AsyncConnection, row: Mapping[str, Any], doc: VerifiedDocument, change: MarkInError, *, auth: AuthContext
) -> Written[None]:
    integration = list(row["integration_data"])
    integration.append(pfu.task_entry(pfu.CANCEL, clock.now()))
    reason = doc.content["status_reason"]
    values = {"status_reason": reason, "explanatory_letter": change.explanatory_letter, "integration_data": integration}
    _, effects = await _update(conn, row, auth, ENTERED_IN_ERROR, values)
    await pfu.queue_cancel(conn, row["id"], reason, change.explanatory_letter)
    return Written(document_id=row["id"], result=None, effects=effects)


# --- reads and resends ------------------------------------------------------------------------------


async def _row(
    conn: AsyncConnection, composition_id: uuid.UUID, person_id: uuid.UUID, auth: AuthContext, lock: bool = False
) -> Mapping[str, Any]:
    row = await first(_BY_ID_LOCKED if lock else _BY_ID, conn, id_=composition_id, person_id=person_id)
    if row is None or (auth.legal_entity_filter is not None and row["custodian_id"] != auth.legal_entity_filter):
        raise NotFound("Composition not found")
    return row


async def get(
    conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID, composition_id: uuid.UUID
) -> dict[str, Any]:
    return render(await _row(conn, composition_id, person_id, auth))


async def get_row(
    conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID, composition_id: uuid.UUID
) -> Mapping[str, Any]:
    return await _row(conn, composition_id, person_id, auth)


async def integration_data(
    conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID, composition_id: uuid.UUID
) -> list[dict[str, Any]]:
    return list((await _row(conn, composition_id, person_id, auth))["integration_data"])


async def search(
    conn: AsyncConnection,
    auth: AuthContext,
    person_id: uuid.UUID,
    page: PageParams,
    filters: dict[str, Any],
) -> tuple[list[dict[str, Any]], int]:
    await repository.active_patient(conn, person_id=person_id)
    t = compositions
    cond = [t.c.person_id == person_id]
    if auth.legal_entity_filter is not None:
        cond.append(t.c.custodian_id == auth.legal_entity_filter)
    columns = {"type": t.c.type, "category": t.c.category, "status": t.c.status, "title": t.c.title,
               "author": t.c.author_id, "custodian": t.c.custodian_id}  # fmt: skip
    for name, value in filters.items():
        if value is not None and name in columns:
            cond.append(columns[name] == value)
    if filters.get("date_from") is not None:
        cond.append(t.c.validity_end >= filters["date_from"])
    if filters.get("date_to") is not None:
        cond.append(t.c.validity_start <= filters["date_to"])
    if filters.get("encounter_id") is not None:
        cond.append(t.c.content.contains({"encounter": {"identifier": {"value": str(filters["encounter_id"])}}}))
    if filters.get("attester") is not None:
        party = {"party": {"identifier": {"value": str(filters["attester"])}}}
        cond.append(t.c.content.contains({"attester": [party]}))
    if filters.get("date") is not None:
        # The day as the MIS wrote the composition's `date` (ISO 8601, its own offset): a text prefix, which no
        # stored value can make fail the way a cast could.
        cond.append(t.c.content["date"].astext.startswith(filters["date"].isoformat(), autoescape=True))
    if filters.get("context_episode_id") is not None:
        encounters = await _encounters_of_episode(conn, person_id, filters["context_episode_id"])
        cond.append(t.c.content["encounter"]["identifier"]["value"].astext.in_([str(e) for e in encounters]))
    where = and_(*cond)
    total = (await conn.execute(select(func.count()).select_from(t).where(where))).scalar_one()
    rows = await conn.execute(
        select(t).where(where).order_by(t.c.inserted_at.desc(), t.c.id).limit(page.page_size).offset(page.offset)
    )
    return [render(r) for r in rows.mappings()], total


async def _encounters_of_episode(
    conn: AsyncConnection, person_id: uuid.UUID, episode_id: uuid.UUID
) -> list[uuid.UUID]:
    """The encounters the patient's compositions name that belong to the episode (the medical events' record)."""
    t = compositions
    named = t.c.content["encounter"]["identifier"]["value"].astext
    values = (
        await conn.execute(select(named).where(t.c.person_id == person_id, named.is_not(None)).distinct())
    ).scalars()
    found = []
    for value in values:
        try:
            encounter_id = uuid.UUID(value)
        except ValueError:
            continue
        episode = await medical_events.episode_of(
            conn, kind="encounters", person_id=person_id, record_id=encounter_id
        )
        if episode == episode_id:
            found.append(encounter_id)
    return found


async def resend_sms(
    conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID, composition_id: uuid.UUID
) -> dict[str, Any]:
    person = await repository.active_patient(conn, person_id=person_id)
    row = await _row(conn, composition_id, person_id, auth)
    if row["status"] != FINAL:
        raise Conflict(f"Composition in status {row['status']} cannot be resent")
    await record_effects(
        conn, Effects(messages=(_sms(person, row, f"composition-resend:{composition_id}:{uuid.uuid4()}"),)), auth=auth
    )
    return await _job(conn, auth, "composition.resend", person_id, composition_id)


async def resend_erln(
    conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID, composition_id: uuid.UUID
) -> dict[str, Any]:
    """Send the conclusion to the ПФУ registry again (only while FINAL); the registry dedups on its id."""
    person = await repository.active_patient(conn, person_id=person_id)
    row = await _row(conn, composition_id, person_id, auth, lock=True)
    if row["status"] != FINAL:
        raise Conflict(f"Composition in status {row['status']} cannot be sent to ERLN")
    integration = [e for e in row["integration_data"] if e.get("type") != pfu.CREATE]
    integration.append(pfu.task_entry(pfu.CREATE, clock.now()))
    t = compositions
    await conn.execute(
        t.update().where(t.c.person_id == person_id, t.c.id == composition_id).values(integration_data=integration)
    )
    await pfu.queue_create(conn, await _erln_record(conn, row, person), resend=True)
    await audit.record(conn, action="composition.resend_erln", resource_type="composition",
                       resource_id=composition_id, actor=auth.actor)  # fmt: skip
    return await _job(conn, auth, "composition.resend_erln", person_id, composition_id)
