"""The master patient index: one person record per human.

A person request names a human; `find_match` answers with the record that is already that human (same РНОКПП,
same identity document, or the same names, birth date and phone), so no second record is made. Two concurrent
requests for the same new human serialise on an advisory lock keyed by the normalised identity, so the second
finds the first's record. Near matches (same names and birth date, nothing else in common) become merge
candidates an operator resolves; a merge deactivates the merged-away record, terminates its declarations and is
undone by restoring both; reads of a merged-away id lead to the survivor while the merge stands.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import Conflict, NotFound
from esoz.core.ids import uuid7
from esoz.core.pagination import PageParams, Paging
from esoz.registry import declarations
from esoz.registry.models import declarations as declarations_table
from esoz.registry.models import merge_candidates, person_merges, persons
from esoz.registry.person_links import merged_into
from esoz.registry.service import fetch_page

__all__ = ["Match", "add_candidates", "find_match", "merge", "merged_into", "near_matches", "undo_merge"]

P = persons


@dataclass(frozen=True, kw_only=True)
class Match:
    person_id: uuid.UUID
    reason: str  # tax_id | document | name_birth_date_phone


def _birth(person: dict[str, Any]) -> date | None:
    value = person.get("birth_date")
    return date.fromisoformat(value) if isinstance(value, str) else value


def _norm(value: str | None) -> str:
    return (value or "").strip().lower()


def _documents(person: dict[str, Any]) -> list[tuple[str, str]]:
    return [(d["type"], d["number"].strip().upper()) for d in person.get("documents") or [] if d.get("number")]


def _mobile(person: dict[str, Any]) -> list[str]:
    phones = [p["number"] for p in person.get("phones") or [] if p.get("number")]
    phones += [m["phone_number"] for m in person.get("authentication_methods") or [] if m.get("phone_number")]
    return phones


async def lock_identity(conn: AsyncConnection, person: dict[str, Any]) -> None:
    """Serialise requests for the same human until the transaction ends: one lock on names + birth date,
    the key every match rule shares (a РНОКПП or document match of another name waits on its own key)."""
    key = f"mpi:{_norm(person.get('last_name'))}:{_norm(person.get('first_name'))}:{_birth(person)}"
    await conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
    if person.get("tax_id"):
        await conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"mpi:tax:{person['tax_id']}", 0))))


async def find_match(
    conn: AsyncConnection, person: dict[str, Any], *, exclude: uuid.UUID | None = None
) -> Match | None:
    """The active person this human already is, by the MPI's rules in order of strength."""
    base = [P.c.status == "active"]
    if exclude is not None:
        base.append(P.c.id != exclude)
    if person.get("tax_id"):
        found = (await conn.execute(select(P.c.id).where(*base, P.c.tax_id == person["tax_id"]).limit(1))).scalar()
        if found is not None:
            return Match(person_id=found, reason="tax_id")
    for kind, number in _documents(person):
        found = (
            await conn.execute(
                select(P.c.id).where(*base, P.c.documents.contains([{"type": kind, "number": number}])).limit(1)
            )
        ).scalar()
        if found is not None:
            return Match(person_id=found, reason="document")
    same_name = [
        func.lower(P.c.last_name) == _norm(person.get("last_name")),
        func.lower(P.c.first_name) == _norm(person.get("first_name")),
        P.c.birth_date == _birth(person),
    ]
    phones = _mobile(person)
    if phones:
        phone_match = or_(
            *[P.c.phones.contains([{"number": n}]) for n in phones],
            *[P.c.authentication_methods.contains([{"phone_number": n}]) for n in phones],
        )
        found = (await conn.execute(select(P.c.id).where(*base, *same_name, phone_match).limit(1))).scalar()
        if found is not None:
            return Match(person_id=found, reason="name_birth_date_phone")
    return None


async def near_matches(conn: AsyncConnection, person_id: uuid.UUID, person: dict[str, Any]) -> Sequence[uuid.UUID]:
    """Other active records with the same names and birth date: maybe the same human, for an operator."""
    query = select(P.c.id).where(
        P.c.status == "active",
        P.c.id != person_id,
        func.lower(P.c.last_name) == _norm(person.get("last_name")),
        func.lower(P.c.first_name) == _norm(person.get("first_name")),
        P.c.birth_date == _birth(person),
    )
    return (await conn.execute(query.limit(10))).scalars().all()


async def add_candidates(conn: AsyncConnection, person_id: uuid.UUID, masters: Sequence[uuid.UUID]) -> None:
    for master in masters:
        await conn.execute(
            insert(merge_candidates)
            .values(id=uuid7(), person_id=person_id, master_person_id=master, reasons=["name_birth_date"])
            .on_conflict_do_nothing()
        )


# --- operator: candidates, merge, undo ----------------------------------------------------------------------


async def list_candidates(
    conn: AsyncConnection, *, page: PageParams, status: str | None
) -> tuple[Sequence[RowMapping], Paging]:
    t = merge_candidates
    conditions = [t.c.status == status] if status is not None else []
    query = select(t).where(*conditions).order_by(t.c.inserted_at.desc(), t.c.id.desc())
    return await fetch_page(conn, query, page, select(func.count()).select_from(t).where(*conditions))


async def resolve_candidate(
    conn: AsyncConnection, *, candidate_id: uuid.UUID, decision: str, auth: AuthContext
) -> RowMapping:
    t = merge_candidates
    candidate = (await conn.execute(select(t).where(t.c.id == candidate_id).with_for_update())).mappings().first()
    if candidate is None:
        raise NotFound("Merge candidate not found")
    if candidate["status"] != "NEW":
        raise Conflict(f"Merge candidate is {candidate['status']}")
    if decision == "MERGE":
        await merge(
            conn,
            person_id=candidate["person_id"],
            master_person_id=candidate["master_person_id"],
            candidate_id=candidate_id,
            auth=auth,
        )
    status = "MERGED" if decision == "MERGE" else "DECLINED"
    stmt = (
        t.update()
        .where(t.c.id == candidate_id)
        .values(status=status, resolved_by=auth.user_id, resolved_at=clock.now(), updated_at=clock.now())
        .returning(*t.c)
    )
    row = (await conn.execute(stmt)).mappings().one()
    await audit.record(
        conn, action=f"merge_candidate.{status.lower()}", resource_type="merge_candidate", resource_id=candidate_id,
        actor=auth.actor, person_id=candidate["person_id"],
    )  # fmt: skip
    return row


async def merge(
    conn: AsyncConnection,
    *,
    person_id: uuid.UUID,
    master_person_id: uuid.UUID,
    candidate_id: uuid.UUID | None,
    auth: AuthContext,
) -> RowMapping:
    """Merge `person_id` into `master_person_id`: the merged-away record is deactivated and its declarations
    terminated (reason `person_merged`); both person rows are locked in id order."""
    if person_id == master_person_id:
        raise Conflict("A person cannot be merged into itself")
    rows = {
        r["id"]: r
        for r in (
            await conn.execute(
                select(P.c.id, P.c.status)
                .where(P.c.id.in_([person_id, master_person_id]))
                .order_by(P.c.id)
                .with_for_update()
            )
        ).mappings()
    }
    if len(rows) != 2:
        raise NotFound("Person not found")
    if rows[person_id]["status"] != "active" or rows[master_person_id]["status"] != "active":
        raise Conflict("Both persons must be active to merge")
    terminated = await declarations._terminate(
        conn, declarations_table.c.person_id == person_id, "person_merged", None, auth.actor, audit_each=True
    )
    await conn.execute(
        P.update().where(P.c.id == person_id).values(status="inactive", is_active=False, updated_at=func.now())
    )
    merge_id = uuid7()
    stmt = person_merges.insert().values(
        id=merge_id,
        person_id=person_id,
        master_person_id=master_person_id,
        merge_candidate_id=candidate_id,
        previous_status=rows[person_id]["status"],
        terminated_declarations=[str(i) for i in terminated],
        merged_by=auth.user_id,
    )
    row = (await conn.execute(stmt.returning(*person_merges.c))).mappings().one()
    await audit.record(
        conn, action="person.merge", resource_type="person", resource_id=person_id, actor=auth.actor,
        details={"master_person_id": str(master_person_id), "merge_id": str(merge_id)}, person_id=person_id,
    )  # fmt: skip
    return row


async def undo_merge(conn: AsyncConnection, *, merge_id: uuid.UUID, auth: AuthContext) -> RowMapping:
    """Undo a merge: the merged-away record is active again and its reads lead to itself. Declarations the
    merge terminated stay terminated (the patient may have chosen again since)."""
    m = person_merges
    row = (await conn.execute(select(m).where(m.c.id == merge_id).with_for_update())).mappings().first()
    if row is None:
        raise NotFound("Merge not found")
    if row["undone_at"] is not None:
        raise Conflict("Merge was already undone")
    await conn.execute(
        P.update()
        .where(P.c.id == row["person_id"])
        .values(status=row["previous_status"], is_active=True, updated_at=func.now())
    )
    undone = (
        (
            await conn.execute(
                m.update()
                .where(m.c.id == merge_id)
                .values(undone_at=clock.now(), undone_by=auth.user_id, updated_at=clock.now())
                .returning(*m.c)
            )
        )
        .mappings()
        .one()
    )
    await audit.record(
        conn, action="person.merge_undo", resource_type="person", resource_id=row["person_id"], actor=auth.actor,
        details={"master_person_id": str(row["master_person_id"]), "merge_id": str(merge_id)},
        person_id=row["person_id"],
    )  # fmt: skip
    return undone


async def list_merges(
    conn: AsyncConnection,
    *,
    page: PageParams,
    person_id: uuid.UUID | None,
    as_master: bool = False,
    undone: bool | None = None,
) -> tuple[Sequence[RowMapping], Paging]:
    """Merges that involve the person (or, `as_master`, that merged another record into it); `undone`: only the
    merges undone (True) or standing (False)."""
    m = person_merges
    conditions: list[Any] = []
    if person_id is not None:
        mine = m.c.master_person_id == person_id
        conditions.append(mine if as_master else or_(m.c.person_id == person_id, mine))
    if undone is not None:
        conditions.append(m.c.undone_at.is_not(None) if undone else m.c.undone_at.is_(None))
    query = select(m).where(*conditions).order_by(m.c.inserted_at.desc(), m.c.id.desc())
    return await fetch_page(conn, query, page, select(func.count()).select_from(m).where(*conditions))
