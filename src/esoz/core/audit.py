"""Append-only audit log with a hash chain.

`record()` inserts an unsealed row inside the caller's transaction: no lock shared across requests. On an
AUTOCOMMIT connection (reads) there is no transaction to join, and with a `ReadAuditBuffer` running the row
is queued and written with others in one INSERT a moment later (see the class for the guarantee).
`seal()` (run by the worker every second) takes the rows of transactions that have finished, gives
them consecutive `seq` numbers and chains `hash = sha256(prev_hash + canonical row)`. `verify_chain()`
recomputes the chain: an edited, inserted or deleted row breaks it from that point on.
"""

import asyncio
import contextlib
import hashlib
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core.context import current_request_id
from esoz.core.db import is_autocommit, make_engine
from esoz.core.logging import get_logger
from esoz.core.models import audit_log

log = get_logger("esoz.audit")
GENESIS = "0" * 64
SEAL_BATCH = 5000
SEAL_CHUNK = 250


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
    person_id: uuid.UUID | None = None,
) -> None:
    row = {
        "request_id": current_request_id(),
        "actor_user_id": actor.user_id,
        "client_id": actor.client_id,
        "legal_entity_id": actor.legal_entity_id,
        "action": action,
        "resource_type": resource_type,
        "resource_id": None if resource_id is None else str(resource_id),
        "outcome": outcome,
        "details": details or {},
        # A row about a person concerns that patient, whoever wrote it.
        "person_id": person_id if person_id is not None or resource_type != "person" else _uuid_or_none(resource_id),
    }
    buffer = _BUFFERS.get(conn.sync_engine) if _BUFFERS else None
    if buffer is not None and buffer.accepts(conn):
        buffer.add(row)
        return
    await conn.execute(_INSERT, row)


async def record_reads(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    """Rows of reads made outside any connection the caller holds (the patient-data gate, after the route).

    Each row has the keys of `record()`'s row. With the engine's buffer running they are queued like any
    read's row; otherwise (or when the buffer is full) they are written now, so the read fails with its audit.
    """
    buffer = _BUFFERS.get(engine.sync_engine) if _BUFFERS else None
    if buffer is not None and buffer.has_room(len(rows)):
        for row in rows:
            buffer.add(row)
        return
    async with engine.begin() as conn:
        await conn.execute(_INSERT, rows)


def _uuid_or_none(value: object) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# The running buffer of each engine (an API process has one; tests run several apps in one process).
_BUFFERS: "weakref.WeakKeyDictionary[Engine, ReadAuditBuffer]" = weakref.WeakKeyDictionary()


class ReadAuditBuffer:
    """Audit rows of reads, written in batches: one multi-row INSERT every `interval` seconds.

    Why: nearly every read records who looked (a national system must show a patient who read their
    record), and as its own INSERT that was a round trip and a WAL flush per read — the largest single cost
    of a read after the read itself (bench/README.md). Only rows recorded on AUTOCOMMIT connections
    are buffered; rows of write transactions still commit or roll back with the business rows.

    The guarantee: a read's row reaches the table within `interval` (100 ms by default) with the time of the
    read, and the buffer is flushed when the process stops. A process killed hard loses at most that interval
    of read rows. When the table cannot be written (the database is down), rows are kept and retried; past
    `max_pending` rows `record()` writes synchronously again, so the read fails with its audit rather than
    succeeding without it.
    """

    def __init__(self, engine: AsyncEngine, interval: float, max_pending: int = 20_000) -> None:
        self.engine = engine
        self.interval = interval
        self.max_pending = max_pending
        self._rows: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False

    def has_room(self, count: int = 1) -> bool:
        return len(self._rows) + count <= self.max_pending and not self._closing

    def accepts(self, conn: AsyncConnection) -> bool:
        return self.has_room() and is_autocommit(conn)

    def add(self, row: dict[str, Any]) -> None:
        row["occurred_at"] = datetime.now(UTC)  # the read's time, not the flush's
        self._rows.append(row)

    @property
    def pending(self) -> int:
        return len(self._rows)

    def start(self) -> "ReadAuditBuffer":
        _BUFFERS[self.engine.sync_engine] = self
        self._task = asyncio.create_task(self._run(), name="audit-read-buffer")
        return self

    async def flush(self) -> int:
        """Write what is queued; on failure keep it (in order) for the next try and re-raise."""
        rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            async with self.engine.begin() as conn:
                await conn.execute(_INSERT, rows)
        except BaseException:
            self._rows[:0] = rows
            raise
        return len(rows)

    async def _run(self) -> None:
        backoff = self.interval
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff)
            try:
                await self.flush()
                backoff = self.interval
            except Exception:
                log.exception("read audit flush failed; rows kept for the next try", pending=len(self._rows))
                backoff = min(max(backoff * 2, self.interval), 5.0)

    async def close(self) -> None:
        """Stop taking rows, flush the rest; called before the engine is disposed."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        try:
            await self.flush()
        except Exception:
            log.exception("read audit rows lost at shutdown", lost=len(self._rows))
        finally:
            if _BUFFERS.get(self.engine.sync_engine) is self:
                del _BUFFERS[self.engine.sync_engine]


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
    # Chained only when set, so rows sealed before the column existed keep their hashes.
    if row.person_id is not None:
        payload["person_id"] = row.person_id
    payload["seq"] = seq
    canonical = orjson.dumps(payload, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    return hashlib.sha256(prev_hash.encode() + canonical).hexdigest()


_SELECT_FIELDS = ", ".join((*_FIELDS, "person_id"))

# A chunk's seals in one statement: one execution and one index pass instead of one UPDATE per row.
_SEAL_CHUNK = text(
    "UPDATE audit_log AS a SET seq = u.seq, prev_hash = u.prev, hash = u.hash"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]), CAST(:prevs AS text[]), CAST(:hashes AS text[]))"
    " AS u(id, seq, prev, hash) WHERE a.id = u.id"
)


async def seal(conn: AsyncConnection, batch: int = SEAL_BATCH) -> int:
    """Seal the rows of finished transactions; returns how many. Call inside a transaction."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('esoz.audit.seal'))"))
    head = (
        await conn.execute(text("SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"))
    ).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    # Only committed rows are visible here; a row whose transaction is still open is sealed on a later run,
    # so seq follows commit visibility rather than id order. Chunks of SEAL_CHUNK rows: hashing is CPU work on
    # the event loop of an API process (the in-process worker), and 5,000 rows at once stalled its requests
    # for ~100 ms after a burst (bench/README.md); between chunks the loop serves requests.
    sealed = 0
    while sealed < batch:
        rows = (
            await conn.execute(
                text(f"SELECT {_SELECT_FIELDS} FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT :batch"),
                {"batch": min(SEAL_CHUNK, batch - sealed)},
            )
        ).all()
        ids, seqs, prevs, hashes = [], [], [], []
        for row in rows:
            seq += 1
            digest = row_hash(prev, seq, row)
            ids.append(row.id)
            seqs.append(seq)
            prevs.append(prev)
            hashes.append(digest)
            prev = digest
        if ids:
            await conn.execute(_SEAL_CHUNK, {"ids": ids, "seqs": seqs, "prevs": prevs, "hashes": hashes})
        sealed += len(ids)
        if len(rows) < SEAL_CHUNK:
            break
    return sealed


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
