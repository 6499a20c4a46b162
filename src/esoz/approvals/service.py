"""Business rules of approvals (contract: medical events, Approvals).

A doctor (or their MIS) asks for access to a patient's records: `create` stores an unverified approval and sends
the patient an SMS code; the doctor enters the code the patient reads out (`verify`), which makes the approval
active until `expires_at`. `resend` sends a fresh code, `cancel` ends the approval. Readers of medical events ask
`active_approval` whether an employee (or a legal entity) holds an active approval for the patient, or for one of
the patient's episodes.

    new --verify(code)--> active --cancel--> cancelled ;  new --cancel--> cancelled
    new | active, past expires_at: expired (derived, nothing rewrites the row)
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.approvals.models import approvals
from esoz.core import clock
from esoz.core.fastsql import FastQuery

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
