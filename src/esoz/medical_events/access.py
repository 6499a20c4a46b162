"""Who may read a patient's medical records: the real system's rules (its ABAC for medical events).

A caller reads a record when
1. one of their employees (the user behind the token, in the token's legal entity) has the patient's active
   declaration: the whole record;
2. the record was made in the caller's legal entity, or one of their employees is its author;
3. the record's episode is managed by the caller's legal entity: everything in that episode;
4. the patient granted an approval, active now, to one of their employees or to their legal entity: of the
   whole record, or of the episode the record belongs to.

A list is answered only when every record it can hold is readable: with the whole record, inside one readable
episode, or limited to the caller's own legal entity (`managing_organization_id`); anything else is refused
rather than silently shortened. A refusal says which approval is missing.

The patient summary (summary.py routes) is not gated here: it shows only what the real system shows to any
doctor (short episodes and encounters, whitelisted diagnoses and observations, allergies, immunizations).
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.approvals.service import ApprovalRecord, active_approval
from esoz.core.auth import AuthContext
from esoz.core.errors import Forbidden
from esoz.identity.users import party_id_of_user
from esoz.registry.repository import CallerLookups, has_active_declaration

_CALLER = CallerLookups(party_id_of_user())


@dataclass(frozen=True, slots=True)
class Reader:
    """The caller as the access rule sees them, for one patient."""

    person_id: uuid.UUID
    legal_entity_id: uuid.UUID | None
    employee_ids: frozenset[uuid.UUID]
    declaration: bool  # one of the employees has the patient's active declaration
    approval: ApprovalRecord | None  # an active approval of the whole record

    @property
    def whole_record(self) -> bool:
        return self.declaration or self.approval is not None

    def made_here(self, *, legal_entity_id: uuid.UUID | None, author_id: uuid.UUID | None = None) -> bool:
        """A record made in the caller's legal entity, or authored by one of their employees."""
        if self.legal_entity_id is not None and legal_entity_id == self.legal_entity_id:
            return True
        return author_id is not None and author_id in self.employee_ids


async def reader_of(conn: AsyncConnection, auth: AuthContext, *, person_id: uuid.UUID) -> Reader:
    """What the caller may read of the patient's records, decided once per request."""
    employee_ids: frozenset[uuid.UUID] = frozenset()
    if auth.user_id is not None and auth.legal_entity_id is not None:
        employees = await _CALLER.employees(conn, user_id=auth.user_id, legal_entity_id=auth.legal_entity_id)
        employee_ids = frozenset(e.id for e in employees)
    declaration = False
    for employee_id in sorted(employee_ids):
        if await has_active_declaration(conn, person_id=person_id, employee_id=employee_id):
            declaration = True
            break
    approval = None
    if not declaration:
        approval = await _approval(conn, auth, person_id=person_id, employee_ids=employee_ids, episode_id=None)
    return Reader(person_id, auth.legal_entity_id, employee_ids, declaration, approval)


async def _approval(
    conn: AsyncConnection,
    auth: AuthContext,
    *,
    person_id: uuid.UUID,
    employee_ids: Collection[uuid.UUID],
    episode_id: uuid.UUID | None,
) -> ApprovalRecord | None:
    """An active approval held by one of the employees or by the legal entity (of the episode, when given)."""
    holders: list[uuid.UUID | None] = [*sorted(employee_ids)] or [None]
    for employee_id in holders:
        found = await active_approval(
            conn,
            person_id=person_id,
            granted_to_employee_id=employee_id,
            granted_to_legal_entity_id=auth.legal_entity_id,
            episode_id=episode_id,
        )
        if found is not None:
            return found
    return None


async def may_read_episode(
    conn: AsyncConnection,
    auth: AuthContext,
    reader: Reader,
    *,
    episode_id: uuid.UUID,
    episode_legal_entity_id: uuid.UUID | None,
    care_manager_id: uuid.UUID | None = None,
) -> bool:
    """Everything in the episode is readable: the whole record, the caller's own episode, or its approval."""
    if reader.whole_record or reader.made_here(legal_entity_id=episode_legal_entity_id, author_id=care_manager_id):
        return True
    found = await _approval(
        conn, auth, person_id=reader.person_id, employee_ids=reader.employee_ids, episode_id=episode_id
    )
    return found is not None


async def approved(conn: AsyncConnection, auth: AuthContext, reader: Reader, *, episode_id: uuid.UUID) -> bool:
    """The episode is open to the caller through an active approval (of it, or of the whole record)."""
    found = await _approval(
        conn, auth, person_id=reader.person_id, employee_ids=reader.employee_ids, episode_id=episode_id
    )
    return found is not None


def refused(*, person_id: uuid.UUID, episode_id: uuid.UUID | None = None) -> Forbidden:
    """The 403 of a read the caller may not make, naming the approval that would open it."""
    ask = f"(request one: POST /api/patients/{person_id}/approvals)"
    if episode_id is None:
        return Forbidden(
            "Access denied: no active declaration with the patient and no active approval of the patient's "
            f"medical records granted to your employee or legal entity {ask}"
        )
    return Forbidden(
        f"Access denied: no active approval of episode {episode_id} or of the patient's medical records granted "
        f"to your employee or legal entity, and no active declaration with the patient {ask}"
    )
