"""Append-only audit log with a hash chain.

`record()` inserts an unsealed row inside the caller's transaction: no lock shared across requests.
`seal()` (run by the worker every second) takes the rows of transactions that have finished, gives
them consecutive `seq` numbers and chains `hash = sha256(prev_hash + canonical row)`. `verify_chain()`
recomputes the chain: an edited, inserted or deleted row breaks it from that point on.
"""

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.context import current_request_id
from esoz.core.db import make_engine
from esoz.core.models import audit_log

GENESIS = "0" * 64
SEAL_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the user, the OAuth client (MIS) and the legal entity they act for."""

    user_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    legal_entity_id: uuid.UUID | None = None


SYSTEM = Actor()


# Built once and executed with parameters: nearly every request records a row, and SQLAlchemy memoizes the
# cache key on the statement object instead of re-deriving it per `.values(...)` copy (bench/README.md).
_INSERT = audit_log.insert()


async def record(
    conn: AsyncConnection,
    *,
    action: str,
    resource_type: str,
    resource_id: object = None,
    outcome: str = "success",
    actor: Actor = SYSTEM,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        _INSERT,
        {
            "request_id": current_request_id(),
            "actor_user_id": actor.user_id,
            "client_id": actor.client_id,
            "legal_entity_id": actor.legal_entity_id,
            "action": action,
            "resource_type": resource_type,
            "resource_id": None if resource_id is None else str(resource_id),
            "outcome": outcome,
            "details": details or {},
        },
    )


_FIELDS = (
    "id",
    "occurred_at",
    "request_id",
    "actor_user_id",
    "client_id",
    "legal_entity_id",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "details",
)


def row_hash(prev_hash: str, seq: int, row: Any) -> str:
    payload = {name: getattr(row, name) for name in _FIELDS}
    payload["seq"] = seq
    canonical = orjson.dumps(payload, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    return hashlib.sha256(prev_hash.encode() + canonical).hexdigest()


_SELECT_FIELDS = ", ".join(_FIELDS)


async def seal(conn: AsyncConnection, batch: int = SEAL_BATCH) -> int:
    """Seal the rows of finished transactions; returns how many. Call inside a transaction."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('esoz.audit.seal'))"))
    head = (
        await conn.execute(text("SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"))
    ).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    # Only committed rows are visible here; a row whose transaction is still open is sealed on a later run,
    # so seq follows commit visibility rather than id order.
    rows = (
        await conn.execute(
            text(f"SELECT {_SELECT_FIELDS} FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT :batch"),
            {"batch": batch},
        )
    ).all()
    updates = []
    for row in rows:
        seq += 1
        digest = row_hash(prev, seq, row)
        updates.append({"id": row.id, "seq": seq, "prev": prev, "hash": digest})
        prev = digest
    if updates:
        await conn.execute(
            text("UPDATE audit_log SET seq = :seq, prev_hash = :prev, hash = :hash WHERE id = :id"), updates
        )
    return len(updates)


@dataclass
class ChainReport:
    checked: int = 0
    unsealed: int = 0
    broken_at: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken_at

    def summary(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} sealed rows, {self.unsealed} awaiting sealing"
        return f"audit chain BROKEN at seq {self.broken_at[:10]} ({self.checked} rows checked)"


async def verify_chain(conn: AsyncConnection, chunk: int = 10_000) -> ChainReport:
    report = ChainReport()
    prev, expected_seq = GENESIS, 1
    while True:
        rows = (
            await conn.execute(
                text(
                    f"SELECT seq, prev_hash, hash, {_SELECT_FIELDS} FROM audit_log"
                    " WHERE seq >= :from_seq ORDER BY seq LIMIT :chunk"
                ),
                {"from_seq": expected_seq, "chunk": chunk},
            )
        ).all()
        for row in rows:
            # A gap in seq means a deleted row; a wrong hash means an edited one.
            if row.seq != expected_seq or row.prev_hash != prev or row.hash != row_hash(prev, row.seq, row):
                report.broken_at.append(row.seq)
            prev, expected_seq = row.hash, row.seq + 1
            report.checked += 1
        if len(rows) < chunk:
            break
    report.unsealed = (await conn.execute(text("SELECT count(*) FROM audit_log WHERE seq IS NULL"))).scalar_one()
    return report


async def verify_chain_at(url: str) -> ChainReport:
    engine = make_engine(url, 1)
    try:
        async with engine.begin() as conn:
            await seal(conn)
        async with engine.connect() as conn:
            return await verify_chain(conn)
    finally:
        await engine.dispose()
