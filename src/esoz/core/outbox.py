"""Transactional outbox: rows written with the business transaction, delivered later by `esoz worker`.

Delivery is at-least-once; every row carries an idempotency key that the receiving side dedups on,
which makes it effectively once. A `Dispatcher`:

1. claims a batch in a short transaction (`FOR UPDATE SKIP LOCKED`, so workers never share a row) and
   stamps it with a lease (`leased_until`, `lease_token`) — the claim commits before anything is sent;
2. delivers outside any transaction (messages to one recipient in order, recipients concurrently);
3. marks each row delivered, or schedules a retry (exponential backoff with jitter), or dead-letters it.
   Marks only apply while the lease token still matches.

A worker killed between sending and marking loses nothing: once the lease runs out the row is claimed
again and sent again under the same idempotency key. `core` knows channels only as strings; domains
plug in their handlers (see `esoz.notifications.jobs`).
"""

import asyncio
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import tracing
from esoz.core.db import metadata
from esoz.core.ids import uuid7
from esoz.core.logging import get_logger

log = get_logger("esoz.outbox")

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATUSES = (PENDING, DELIVERED, DEAD)

outbox = Table(
    "outbox",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    # Commit-independent order of creation: "in order" means by seq (uuid7 ties within a millisecond).
    Column("seq", BigInteger, Identity(always=False), nullable=False, unique=True),
    Column("channel", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("idempotency_key", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("leased_until", DateTime(timezone=True)),
    Column("lease_token", UUID(as_uuid=True)),
    Column("last_error", Text),
    Column("provider", Text),
    Column("provider_message_id", Text),
    Column("receipt_status", Text),
    Column("receipt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    Column("dead_at", DateTime(timezone=True)),
    # W3C trace context of the writing request when tracing is on: the delivery span continues its trace.
    Column("traceparent", Text),
    Index("ix_outbox_pending", "seq", postgresql_where=text("status = 'pending'")),
    Index("uq_outbox_channel_idempotency_key", "channel", "idempotency_key", unique=True),
    Index("ix_outbox_recipient", "recipient", "channel"),
    Index(
        "ix_outbox_provider_message_id", "provider_message_id", postgresql_where=text("provider_message_id IS NOT NULL")
    ),
)


# --- writing (inside the caller's business transaction) ---


async def enqueue(
    conn: AsyncConnection,
    *,
    channel: str,
    kind: str,
    recipient: str,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
    dead_reason: str | None = None,
) -> uuid.UUID:
    """Insert one outbox row; a repeated (channel, idempotency_key) returns the first row's id.

    `dead_reason` files the row straight into dead-letter (e.g. an invalid phone number), so the
    business transaction still commits and operators see why nothing was sent.
    """
    row_id = uuid7()
    values: dict[str, Any] = {
        "id": row_id,
        "channel": channel,
        "kind": kind,
        "recipient": recipient,
        "payload": payload,
        "idempotency_key": idempotency_key or str(row_id),
    }
    traceparent = tracing.current_traceparent()
    if traceparent is not None:
        values["traceparent"] = traceparent
    if dead_reason is not None:
        values |= {"status": DEAD, "last_error": dead_reason, "dead_at": func.now()}
    stmt = (
        insert(outbox)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "idempotency_key"])
        .returning(outbox.c.id)
    )
    inserted = (await conn.execute(stmt)).scalar_one_or_none()
    if inserted is not None:
        return row_id
    existing = await conn.execute(
        select(outbox.c.id).where(outbox.c.channel == channel, outbox.c.idempotency_key == idempotency_key)
    )
    return plain_uuid(existing.scalar_one())


def plain_uuid(value: uuid.UUID) -> uuid.UUID:
    """asyncpg hands out its own UUID subclass, which orjson refuses to encode."""
    return uuid.UUID(int=value.int)


# --- delivering ---


@dataclass(frozen=True, slots=True)
class Message:
    id: uuid.UUID
    seq: int
    channel: str
    kind: str
    recipient: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int  # including the current one
    traceparent: str | None = None


class TransientError(Exception):
    """The receiver may accept the message later (5xx, timeout, unreachable): retry with backoff."""


class PermanentError(Exception):
    """The message can never be delivered as it is (bad address, rejected): dead-letter it now."""


class Handler(Protocol):
    """Delivers one channel's messages; returns the receiver's message id, if it gives one."""

    provider: str

    async def deliver(self, message: Message) -> str | None: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class Policy:
    batch_size: int = 200
    lease_seconds: float = 60.0
    max_attempts: int = 10
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 3600.0
    concurrency: int = 16
    # Stop starting new sends this long before the lease ends, so a slow send cannot outlive its lease.
    send_timeout_seconds: float = 10.0


def backoff_seconds(attempts: int, policy: Policy, rnd: Callable[[], float] = random.random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so retries spread out."""
    delay = min(policy.backoff_cap_seconds, policy.backoff_base_seconds * 2.0 ** min(max(0, attempts - 1), 40))
    return delay / 2 + delay / 2 * rnd()


PausedChannels = Callable[[AsyncConnection], Awaitable[set[str]]]


async def _nothing_paused(conn: AsyncConnection) -> set[str]:
    return set()


_CLAIM = text(
    """
    UPDATE outbox o
       SET leased_until = now() + make_interval(secs => :lease), lease_token = :token, attempts = o.attempts + 1
      FROM (SELECT id FROM outbox
             WHERE status = 'pending' AND channel = ANY(:channels) AND next_attempt_at <= now()
               AND (leased_until IS NULL OR leased_until < now())
             ORDER BY seq
             LIMIT :limit
               FOR UPDATE SKIP LOCKED) c
     WHERE o.id = c.id
    RETURNING o.id, o.seq, o.channel, o.kind, o.recipient, o.payload, o.idempotency_key, o.attempts, o.traceparent
    """
)

_MARK_DELIVERED = text(
    """
    UPDATE outbox o
       SET status = 'delivered', delivered_at = now(), leased_until = NULL, last_error = NULL,
           provider = v.provider, provider_message_id = v.pmid
      FROM unnest(CAST(:ids AS uuid[]), CAST(:providers AS text[]), CAST(:pmids AS text[])) AS v(id, provider, pmid)
     WHERE o.id = v.id AND o.lease_token = :token AND o.status = 'pending'
    """
)

_MARK_RETRY = text(
    """
    UPDATE outbox o
       SET leased_until = NULL, last_error = v.error, provider = v.provider,
           next_attempt_at = now() + make_interval(secs => v.delay)
      FROM unnest(CAST(:ids AS uuid[]), CAST(:providers AS text[]), CAST(:errors AS text[]),
                  CAST(:delays AS float8[])) AS v(id, provider, error, delay)
     WHERE o.id = v.id AND o.lease_token = :token AND o.status = 'pending'
    """
)

_MARK_DEAD = text(
    """
    UPDATE outbox o
       SET status = 'dead', dead_at = now(), leased_until = NULL, last_error = v.error, provider = v.provider
      FROM unnest(CAST(:ids AS uuid[]), CAST(:providers AS text[]), CAST(:errors AS text[])) AS v(id, provider, error)
     WHERE o.id = v.id AND o.lease_token = :token AND o.status = 'pending'
    """
)

# Rows claimed but not attempted (lease running short, worker stopping): hand them back untouched.
_RELEASE = text(
    """
    UPDATE outbox SET leased_until = NULL, attempts = attempts - 1
     WHERE id = ANY(CAST(:ids AS uuid[])) AND lease_token = :token AND status = 'pending'
    """
)


@dataclass(slots=True)
class _Outcome:
    delivered: list[tuple[uuid.UUID, str, str | None]] = field(default_factory=list)
    retry: list[tuple[uuid.UUID, str, str, float]] = field(default_factory=list)
    dead: list[tuple[uuid.UUID, str, str]] = field(default_factory=list)
    released: list[uuid.UUID] = field(default_factory=list)


class Dispatcher:
    """Claims and delivers the rows of the channels it has handlers for."""

    def __init__(
        self,
        engine: AsyncEngine,
        handlers: dict[str, Handler],
        policy: Policy | None = None,
        paused: PausedChannels = _nothing_paused,
        name: str = "outbox",
    ) -> None:
        self.engine = engine
        self.handlers = handlers
        self.policy = policy or Policy()
        self.paused = paused
        self.name = name

    async def claim(self, channels: Sequence[str], token: uuid.UUID) -> list[Message]:
        async with self.engine.begin() as conn:
            rows = await conn.execute(
                _CLAIM,
                {
                    "lease": self.policy.lease_seconds,
                    "token": token,
                    "channels": list(channels),
                    "limit": self.policy.batch_size,
                },
            )
            messages = [Message(*row) for row in rows]
        messages.sort(key=lambda m: m.seq)
        return messages

    async def run_once(self) -> int:
        """Claim one batch and settle it; returns how many rows were claimed."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            paused = await self.paused(conn)
        channels = [c for c in self.handlers if c not in paused]
        if not channels:
            return 0
        token = uuid.uuid4()
        started = time.monotonic()
        messages = await self.claim(channels, token)
        if not messages:
            return 0
        outcome = await self._deliver_all(messages, started)
        await self._settle(outcome, token)
        return len(messages)

    async def drain(self, max_seconds: float = 5.0, stop: asyncio.Event | None = None) -> int:
        """Run batches back to back until the due backlog is empty (or time is up)."""
        total, deadline = 0, time.monotonic() + max_seconds
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            claimed = await self.run_once()
            total += claimed
            if claimed < self.policy.batch_size:
                break
        return total

    async def _deliver_all(self, messages: list[Message], started: float) -> _Outcome:
        outcome = _Outcome()
        # Messages to one recipient go one after another in seq order; recipients run concurrently.
        by_recipient: dict[tuple[str, str], list[Message]] = defaultdict(list)
        for message in messages:
            by_recipient[(message.channel, message.recipient)].append(message)
        gate = asyncio.Semaphore(self.policy.concurrency)
        send_until = started + self.policy.lease_seconds - self.policy.send_timeout_seconds - 1.0

        async def run_group(group: list[Message]) -> None:
            async with gate:
                for i, message in enumerate(group):
                    if time.monotonic() > send_until:
                        outcome.released.extend(m.id for m in group[i:])
                        return
                    await self._deliver_one(message, outcome)

        await asyncio.gather(*(run_group(g) for g in by_recipient.values()))
        return outcome

    async def _deliver_one(self, message: Message, outcome: _Outcome) -> None:
        handler = self.handlers[message.channel]
        try:
            with tracing.continued(
                f"outbox deliver {message.channel}",
                message.traceparent,
                **{
                    "esoz.outbox.id": str(message.id),
                    "esoz.outbox.kind": message.kind,
                    "esoz.outbox.attempt": message.attempts,
                },
            ):
                provider_id = await handler.deliver(message)
        except PermanentError as exc:
            outcome.dead.append((message.id, handler.provider, str(exc) or type(exc).__name__))
            log.warning("outbox message dead", id=str(message.id), channel=message.channel, reason=str(exc))
        except Exception as exc:  # transient or unexpected: retry until max_attempts
            plain = isinstance(exc, TransientError) and str(exc)
            reason = str(exc) if plain else f"{type(exc).__name__}: {exc}".rstrip(": ")
            if message.attempts >= self.policy.max_attempts:
                outcome.dead.append(
                    (message.id, handler.provider, f"gave up after {message.attempts} attempts: {reason}")
                )
                log.warning("outbox message dead", id=str(message.id), channel=message.channel, reason=reason)
            else:
                delay = backoff_seconds(message.attempts, self.policy)
                outcome.retry.append((message.id, handler.provider, reason, delay))
                log.info(
                    "outbox retry", id=str(message.id), attempt=message.attempts, delay=round(delay, 2), reason=reason
                )
        else:
            outcome.delivered.append((message.id, handler.provider, provider_id))

    async def _settle(self, outcome: _Outcome, token: uuid.UUID) -> None:
        async with self.engine.begin() as conn:
            if outcome.delivered:
                ids, providers, pmids = zip(*outcome.delivered, strict=True)
                await conn.execute(
                    _MARK_DELIVERED,
                    {"ids": list(ids), "providers": list(providers), "pmids": list(pmids), "token": token},
                )
            if outcome.retry:
                ids, providers, errors, delays = zip(*outcome.retry, strict=True)
                await conn.execute(
                    _MARK_RETRY,
                    {
                        "ids": list(ids),
                        "providers": list(providers),
                        "errors": list(errors),
                        "delays": list(delays),
                        "token": token,
                    },
                )
            if outcome.dead:
                ids, providers, errors = zip(*outcome.dead, strict=True)
                await conn.execute(
                    _MARK_DEAD, {"ids": list(ids), "providers": list(providers), "errors": list(errors), "token": token}
                )
            if outcome.released:
                await conn.execute(_RELEASE, {"ids": outcome.released, "token": token})


# --- operating ---


async def metrics(conn: AsyncConnection) -> dict[str, Any]:
    """Backlog per channel: pending rows, the age of the oldest one (seconds), dead-letter rows."""
    rows = await conn.execute(
        text(
            """
            SELECT channel,
                   count(*) FILTER (WHERE status = 'pending') AS pending,
                   count(*) FILTER (WHERE status = 'dead') AS dead,
                   extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending')) AS oldest
              FROM outbox WHERE status IN ('pending', 'dead') GROUP BY channel ORDER BY channel
            """
        )
    )
    channels = {
        r.channel: {
            "pending": r.pending,
            "dead": r.dead,
            "oldest_pending_age_seconds": round(float(r.oldest), 3) if r.oldest is not None else None,
        }
        for r in rows
    }
    ages = [c["oldest_pending_age_seconds"] for c in channels.values() if c["oldest_pending_age_seconds"] is not None]
    return {
        "backlog": sum(c["pending"] for c in channels.values()),
        "oldest_pending_age_seconds": max(ages) if ages else None,
        "dead": sum(c["dead"] for c in channels.values()),
        "channels": channels,
    }


async def list_rows(
    conn: AsyncConnection,
    *,
    status: str | None = None,
    channel: str | None = None,
    kind: str | None = None,
    recipient: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    query = select(outbox).order_by(outbox.c.seq.desc()).limit(limit)
    if status:
        query = query.where(outbox.c.status == status)
    if channel:
        query = query.where(outbox.c.channel == channel)
    if kind:
        query = query.where(outbox.c.kind == kind)
    if recipient:
        query = query.where(outbox.c.recipient == recipient)
    rows = [dict(r._mapping) for r in await conn.execute(query)]
    for row in rows:
        row["id"] = plain_uuid(row["id"])
        row.pop("lease_token")
    return rows


async def retry(conn: AsyncConnection, ids: Iterable[uuid.UUID] = (), *, all_dead: bool = False) -> int:
    """Put dead-letter rows back in the queue (same idempotency key, attempts start over)."""
    query = (
        outbox.update()
        .where(outbox.c.status == DEAD)
        .values(status=PENDING, attempts=0, next_attempt_at=func.now(), dead_at=None, leased_until=None)
    )
    ids = list(ids)
    if not all_dead:
        if not ids:
            return 0
        query = query.where(outbox.c.id.in_(ids))
    return (await conn.execute(query)).rowcount


async def replay(conn: AsyncConnection, ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Send finished rows again on purpose: a copy with a new idempotency key (receivers must not dedup it)."""
    copies: list[uuid.UUID] = []
    rows = await conn.execute(select(outbox).where(outbox.c.id.in_(list(ids)), outbox.c.status != PENDING))
    for row in rows.all():
        new_id = uuid7()
        await conn.execute(
            outbox.insert().values(
                id=new_id,
                channel=row.channel,
                kind=row.kind,
                recipient=row.recipient,
                payload=row.payload,
                idempotency_key=f"{row.idempotency_key}:replay:{new_id}",
            )
        )
        copies.append(new_id)
    return copies


async def purge(conn: AsyncConnection, *, delivered_days: float, dead_days: float, limit: int = 5000) -> int:
    """Delete old finished rows in bounded batches (the worker calls it periodically)."""
    result = await conn.execute(
        text(
            """
            DELETE FROM outbox WHERE id IN (
              SELECT id FROM outbox
               WHERE (status = 'delivered' AND delivered_at < now() - make_interval(secs => :delivered))
                  OR (status = 'dead' AND dead_at < now() - make_interval(secs => :dead))
               LIMIT :limit)
            """
        ),
        {"delivered": delivered_days * 86400, "dead": dead_days * 86400, "limit": limit},
    )
    return result.rowcount
