"""The patient's code guard: wrong codes are counted per prescription and per pharmacy, in PostgreSQL.

The code has 4 digits of 1–9 (6,561 values) and guards both the pharmacy look-up and the dispense. A
pharmacy (the caller's legal entity) that sends `mr_code_max_attempts` wrong codes for one prescription is
refused that prescription from then on, with any code or none; other pharmacies still serve the patient. The
lock is recorded once: a StateChangeEvent the prescribing clinic's MIS and НСЗУ read, and an audit row.

A correct code before the lock resets the count: it proves the pharmacy has the code, so the earlier misses
were typing errors, and a prescription dispensed in parts must not lock out its own pharmacy over months.

Race-free: a wrong code is counted by one upsert that holds the counter row, so concurrent wrong codes queue
and each is counted, and only the one that reaches the limit locks (its update applies to an unlocked row
only). A correct code is answered as of its read of the counter, where every refusal already answered is
counted; its reset applies only to a row still unlocked. The count runs on the request's own connection (a
second connection per request could exhaust the pool): a look-up's statements commit on their own; a
dispense raises `CodeRefused`, which its route answers without raising, so its transaction commits the count.
Look-ups and dispenses with the right code and no earlier misses write nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import Forbidden
from esoz.core.fastsql import FastQuery
from esoz.core.rows import RowLike
from esoz.events import service as event_service
from esoz.prescriptions.models import medication_request_code_attempts as attempts
from esoz.settings import Settings

INCORRECT = "Incorrect code"
# The real system's answer when a code's attempts are used up (otp_verification), with what it means here.
LOCKED = "Maximum attempts exceed: this pharmacy can no longer use the code of this medication request"
# Callers without a legal entity (НСЗУ) are counted together under one key.
NO_LEGAL_ENTITY = uuid.UUID(int=0)

_KEY = (
    attempts.c.person_id == bindparam("person_id"),
    attempts.c.medication_request_id == bindparam("mr_id"),
    attempts.c.legal_entity_id == bindparam("caller"),
)
_STATE = FastQuery(select(attempts.c.failures, attempts.c.locked_at).where(*_KEY))


@dataclass(frozen=True, slots=True)
class Attempts:
    """What a pharmacy's wrong codes for one prescription have come to so far."""

    failures: int = 0
    locked_at: datetime | None = None

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


def caller_of(auth: AuthContext) -> uuid.UUID:
    """The pharmacy that is counted: the caller's legal entity."""
    return auth.legal_entity_id or NO_LEGAL_ENTITY


async def attempts_of(conn: AsyncConnection, *, mr: RowLike, auth: AuthContext) -> Attempts:
    row = await _STATE.first(conn, person_id=mr["person_id"], mr_id=mr["id"], caller=caller_of(auth))
    return Attempts() if row is None else Attempts(row.failures, row.locked_at)


def refuse_if_locked(state: Attempts) -> None:
    if state.locked:
        raise Forbidden(LOCKED)


def code_matches(mr: RowLike, code: str | None) -> bool:
    """A prescription without a code (the patient has no SMS) takes none, "" or "0000" (the real rule)."""
    if mr["verification_code"]:
        return code == mr["verification_code"]
    return code in (None, "", "0000")


class CodeRefused(Forbidden):
    """A refusal that wrote its count: a route in a transaction answers it without raising, so it commits."""


async def check(
    conn: AsyncConnection,
    *,
    mr: RowLike,
    code: str | None,
    state: Attempts,
    auth: AuthContext,
    settings: Settings,
) -> None:
    """Let the caller through with `code`, or raise 403: locked out, or a wrong code (counted).

    `state` is the counter as read with the prescription (in the same transaction, if any).
    """
    refuse_if_locked(state)
    caller = caller_of(auth)
    if code_matches(mr, code):
        if state.failures and not await _reset(conn, mr=mr, caller=caller):
            raise Forbidden(LOCKED)  # locked by a concurrent wrong code after our read
        return
    if not code:
        raise Forbidden(INCORRECT)  # no code guesses nothing: not counted
    if await _count_failure(conn, mr=mr, caller=caller, auth=auth, settings=settings):
        raise CodeRefused(LOCKED)
    raise CodeRefused(INCORRECT)


def _key(mr: RowLike, caller: uuid.UUID) -> dict[str, Any]:
    return {"person_id": mr["person_id"], "medication_request_id": mr["id"], "legal_entity_id": caller}


async def _reset(conn: AsyncConnection, *, mr: RowLike, caller: uuid.UUID) -> bool:
    """Forget earlier misses unless the row is locked; False when it is."""
    where = [attempts.c[name] == value for name, value in _key(mr, caller).items()]
    done = await conn.execute(
        update(attempts).where(*where, attempts.c.locked_at.is_(None)).values(failures=0, updated_at=clock.now())
    )
    return done.rowcount == 1


async def _count_failure(
    conn: AsyncConnection, *, mr: RowLike, caller: uuid.UUID, auth: AuthContext, settings: Settings
) -> bool:
    """Count one wrong code; True when the caller is locked out (now, or by a concurrent wrong code)."""
    now, limit = clock.now(), settings.mr_code_max_attempts
    t = attempts
    new_row = insert(t).values(
        **_key(mr, caller), failures=1, locked_at=now if limit <= 1 else None, inserted_at=now, updated_at=now
    )
    stmt = new_row.on_conflict_do_update(
        index_elements=[t.c.person_id, t.c.medication_request_id, t.c.legal_entity_id],
        set_={
            "failures": t.c.failures + 1,
            "locked_at": case((t.c.failures + 1 >= limit, now), else_=None),
            "updated_at": now,
        },
        where=t.c.locked_at.is_(None),  # a locked row is left alone: then nothing is returned
    ).returning(t.c.failures, t.c.locked_at)
    row = (await conn.execute(stmt)).first()
    if row is None:
        return True  # locked meanwhile by a concurrent wrong code
    locks = row.locked_at is not None
    await audit.record(
        conn,
        action="medication_request.code_lockout" if locks else "medication_request.code_incorrect",
        resource_type="medication_request",
        resource_id=mr["id"],
        outcome="denied",
        actor=auth.actor,
        details={"pharmacy_legal_entity_id": str(caller), "failures": row.failures},
        person_id=mr["person_id"],  # in the patient's access history: who tried the code of their prescription
    )
    if locks:
        # The prescribing clinic's MIS (and НСЗУ) see that a pharmacy was locked out of its prescription.
        await event_service.record_state_change(
            conn,
            entity_type="MedicationRequest",
            entity_id=mr["id"],
            properties={"code_locked_for_legal_entity_id": str(caller)},
            changed_by=auth.user_id,
            legal_entity_id=mr["legal_entity_id"],
        )
    return locks
