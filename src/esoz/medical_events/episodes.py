"""Episodes of care: create, update, close, cancel (unsigned requests, answered 202 with a processed job).

Status machine:

    active --close--> closed ;  active | closed --cancel--> entered_in_error (only while no encounter of the
    episode stands: an episode with valid encounters is closed, not cancelled)

Only the episode's managing organization changes it; the care manager is an active doctor of that
organization.
"""

import uuid
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.medical_events import async_jobs, codes
from esoz.medical_events.models import encounters, episodes
from esoz.medical_events.schemas import EpisodeCancel, EpisodeClose, EpisodeCreate, EpisodeUpdate
from esoz.medical_events.service import ENTERED_IN_ERROR, EpisodeRecord, get_episode
from esoz.registry import repository
from esoz.signatures.flow import Effects, StatusChange, record_effects

ACTIVE, CLOSED = "active", "closed"
ENTITY = "Episode"
CLOSING_REASONS = "eHealth/episode_closing_reasons"
CANCELLATION_REASONS = "eHealth/cancellation_reasons"


def _href(person_id: uuid.UUID, episode_id: uuid.UUID) -> str:
    return f"/api/patients/{person_id}/episodes/{episode_id}"


async def _done(
    conn: AsyncConnection,
    auth: AuthContext,
    *,
    action: str,
    person_id: uuid.UUID,
    episode_id: uuid.UUID,
    old_status: str | None,
    new_status: str,
    status_code: int = 200,
) -> dict[str, Any]:
    change = StatusChange(
        entity_type=ENTITY,
        entity_id=episode_id,
        old_status=old_status,
        new_status=new_status,
        legal_entity_id=auth.legal_entity_id,
    )
    await record_effects(conn, Effects(changes=(change,)), auth=auth)
    await audit.record(
        conn,
        action=f"episode.{action}",
        resource_type="episode",
        resource_id=episode_id,
        actor=auth.actor,
        person_id=person_id,
    )
    return await async_jobs.record_processed(
        conn,
        kind=f"episode.{action}",
        legal_entity_id=auth.legal_entity_id,
        links=[async_jobs.link("episode", _href(person_id, episode_id))],
        status_code=status_code,
    )


async def _care_manager(conn: AsyncConnection, auth: AuthContext, employee_id: uuid.UUID) -> uuid.UUID:
    clinician = await repository.active_clinician(
        conn, employee_id=employee_id, legal_entity_id=auth.legal_entity_id, entry="$.care_manager.identifier.value"
    )
    return clinician.employee.id


async def create(
    conn: AsyncConnection, *, auth: AuthContext, person_id: uuid.UUID, body: EpisodeCreate
) -> dict[str, Any]:
    await repository.active_patient(conn, person_id=person_id)
    errors: list[dict[str, Any]] = []
    if not codes.load().episode_types.allows(body.type.system, body.type.code):
        errors.append(
            invalid_entry(
                "$.type.code", "inclusion", "value is not allowed in enum", list(codes.load().episode_types.names)
            )
        )
    if body.managing_organization.resource != "legal_entity" or body.managing_organization.id != auth.legal_entity_id:
        errors.append(
            invalid_entry("$.managing_organization.identifier.value", "invalid", "Must be current legal entity")
        )
    if body.care_manager.resource != "employee":
        errors.append(invalid_entry("$.care_manager.identifier.type", "invalid", "Must be an employee"))
    if body.period.start > clock.now():
        errors.append(invalid_entry("$.period.start", "invalid", "Start date must be in the past"))
    if body.period.end is not None:
        errors.append(invalid_entry("$.period.end", "invalid", "An episode is created open: close it to end it"))
    if errors:
        raise ValidationFailed(errors)
    await repository.active_legal_entity(
        conn, legal_entity_id=body.managing_organization.id, entry="$.managing_organization.identifier.value"
    )
    care_manager = await _care_manager(conn, auth, body.care_manager.id)
    if await get_episode(conn, person_id=person_id, episode_id=body.id) is not None:
        raise Conflict("Episode with such id already exists")
    now = clock.now()
    content = body.model_dump(mode="json", exclude_none=True)
    # The key check above answers the common case; the insert's own conflict answers a concurrent twin.
    inserted = await conn.execute(
        pg_insert(episodes)
        .values(
            id=body.id,
            person_id=person_id,
            status=ACTIVE,
            type=body.type.code,
            name=body.name,
            legal_entity_id=body.managing_organization.id,
            care_manager_id=care_manager,
            period_start=body.period.start,
            content=content,
            inserted_by=auth.user_id,
            updated_by=auth.user_id,
            inserted_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    if inserted.rowcount == 0:
        raise Conflict("Episode with such id already exists")
    return await _done(
        conn, auth, action="create", person_id=person_id, episode_id=body.id, old_status=None, new_status=ACTIVE,
        status_code=201,
    )  # fmt: skip


async def _own_episode(
    conn: AsyncConnection, auth: AuthContext, person_id: uuid.UUID, episode_id: uuid.UUID
) -> EpisodeRecord:
    """The episode, locked; 404 when the patient has none such, 409 when another clinic manages it."""
    await repository.active_patient(conn, person_id=person_id)
    episode = await get_episode(conn, person_id=person_id, episode_id=episode_id, lock=True)
    if episode is None:
        raise NotFound("Episode not found")
    if episode.legal_entity_id != auth.legal_entity_id:
        raise Conflict("Managing_organization does not correspond to user's legal_entity")
    return episode


async def _set(conn: AsyncConnection, auth: AuthContext, episode: EpisodeRecord, **values: Any) -> None:
    await conn.execute(
        update(episodes)
        .where(episodes.c.person_id == episode.person_id, episodes.c.id == episode.id)
        .values(updated_at=clock.now(), updated_by=auth.user_id, **values)
    )


async def update_episode(
    conn: AsyncConnection, *, auth: AuthContext, person_id: uuid.UUID, episode_id: uuid.UUID, body: EpisodeUpdate
) -> dict[str, Any]:
    episode = await _own_episode(conn, auth, person_id, episode_id)
    if episode.status != ACTIVE:
        raise Conflict("Episode is not active")
    values: dict[str, Any] = {}
    content = dict(episode.content)
    if body.care_manager is not None:
        if body.care_manager.resource != "employee":
            raise ValidationFailed([invalid_entry("$.care_manager.identifier.type", "invalid", "Must be an employee")])
        values["care_manager_id"] = await _care_manager(conn, auth, body.care_manager.id)
        content["care_manager"] = body.care_manager.model_dump(mode="json", exclude_none=True)
    if body.name is not None:
        values["name"] = content["name"] = body.name
    if not values:
        raise ValidationFailed([invalid_entry("$", "required", "Nothing to update: name or care_manager")])
    await _set(conn, auth, episode, content=content, **values)
    return await _done(
        conn, auth, action="update", person_id=person_id, episode_id=episode_id, old_status=ACTIVE, new_status=ACTIVE
    )


def _reason(reason: Any, system: str, entry: str) -> None:
    if reason.system != system:
        raise ValidationFailed([invalid_entry(entry, "inclusion", f"Must be a code of {system}", [system])])


async def close(
    conn: AsyncConnection, *, auth: AuthContext, person_id: uuid.UUID, episode_id: uuid.UUID, body: EpisodeClose
) -> dict[str, Any]:
    _reason(body.status_reason, CLOSING_REASONS, "$.status_reason.coding[0].system")
    episode = await _own_episode(conn, auth, person_id, episode_id)
    if episode.status != ACTIVE:
        raise Conflict("Episode is not active")
    if body.period.end < episode.period_start:
        raise ValidationFailed([invalid_entry("$.period.end", "invalid", "End date must be after the start date")])
    if body.period.end > clock.now():
        raise ValidationFailed([invalid_entry("$.period.end", "invalid", "End date must be in the past")])
    content = dict(episode.content) | {
        "closing_summary": body.closing_summary,
        "status_reason": body.status_reason.model_dump(mode="json", exclude_none=True),
    }
    await _set(conn, auth, episode, status=CLOSED, period_end=body.period.end, content=content)
    return await _done(
        conn, auth, action="close", person_id=person_id, episode_id=episode_id, old_status=ACTIVE, new_status=CLOSED
    )


async def cancel(
    conn: AsyncConnection, *, auth: AuthContext, person_id: uuid.UUID, episode_id: uuid.UUID, body: EpisodeCancel
) -> dict[str, Any]:
    _reason(body.status_reason, CANCELLATION_REASONS, "$.status_reason.coding[0].system")
    episode = await _own_episode(conn, auth, person_id, episode_id)
    if episode.status == ENTERED_IN_ERROR:
        raise Conflict("Episode is already cancelled")
    standing = select(
        exists().where(
            encounters.c.person_id == person_id,
            encounters.c.episode_id == episode_id,
            encounters.c.status != ENTERED_IN_ERROR,
        )
    )
    if (await conn.execute(standing)).scalar():
        raise Conflict("Episode has valid encounters: cancel them first, or close the episode")
    content = dict(episode.content) | {
        "explanatory_letter": body.explanatory_letter,
        "status_reason": body.status_reason.model_dump(mode="json", exclude_none=True),
    }
    await _set(conn, auth, episode, status=ENTERED_IN_ERROR, content=content)
    return await _done(
        conn, auth, action="cancel", person_id=person_id, episode_id=episode_id, old_status=episode.status,
        new_status=ENTERED_IN_ERROR,
    )  # fmt: skip
