"""Reads that tolerate replica lag go to a streaming replica; a caller who has just written reads the primary.

`ESOZ_DATABASE_READ_URL` names the replica. Routes that declare `ReplicaConn` (registry reads and searches, event
polls, dashboards) get a replica connection unless:

- the replica is unreachable or further behind than `ESOZ_REPLICA_MAX_LAG_SECONDS` (a monitor in each worker
  measures it every second: bytes of WAL not yet replayed, and how old the last replayed transaction is when
  there are any), or
- the same caller wrote within `ESOZ_READ_YOUR_WRITES_SECONDS`: a write's commit marks its caller (the bearer
  token, else the client address), and that caller's replica reads go to the primary for the window, so an MIS
  always sees what it has just written. The marks live in the worker; the load balancer keeps a caller on one
  node (HAProxy balances on the Authorization header), and after a node fails its callers may read lag-old data
  for at most the replica's lag.

Without a read URL every read is on the primary, as before.
"""

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import metrics
from esoz.core.logging import get_logger

log = get_logger("esoz.replica")

_REPLAY = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(), EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
)
_PRIMARY_LSN = text("SELECT pg_current_wal_lsn()")
_LAG_BYTES = text("SELECT pg_wal_lsn_diff(CAST(:primary AS pg_lsn), CAST(:replayed AS pg_lsn))")


@dataclass
class ReplicaState:
    reachable: bool = False
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    checked_at: float = 0.0


class Replica:
    """The read engine of one worker, its measured lag, and the callers who wrote lately."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        primary: AsyncEngine,
        max_lag_seconds: float,
        read_your_writes_seconds: float,
        every_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.primary = primary
        self.max_lag_seconds = max_lag_seconds
        self.read_your_writes_seconds = read_your_writes_seconds
        self.every_seconds = every_seconds
        self.state = ReplicaState()
        self._writers: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def usable(self) -> bool:
        s = self.state
        fresh = time.monotonic() - s.checked_at < max(3 * self.every_seconds, 3.0)
        return s.reachable and fresh and s.lag_seconds is not None and s.lag_seconds <= self.max_lag_seconds

    def describe(self) -> str:
        s = self.state
        if not s.reachable:
            return "unreachable (reads on the primary)"
        if not self.usable:
            return f"behind: {s.lag_seconds:.1f} s (reads on the primary)"
        return "ok"

    def describe_uk(self) -> str:
        """The line of the public status page (Ukrainian)."""
        s = self.state
        if not s.reachable:
            return "Репліка бази даних недоступна: дані читаються з основної бази."
        lag = s.lag_seconds or 0.0
        if not self.usable:
            return f"Репліка бази даних відстає на {lag:.0f} с: дані читаються з основної бази."
        return f"Репліка бази даних: відставання {lag:.1f} с.".replace(".", ",", 1)

    # --- read-your-writes ---------------------------------------------------------------------------------------

    def wrote(self, caller: str) -> None:
        now = time.monotonic()
        if len(self._writers) > 100_000:  # bounded: drop the expired marks
            self._writers = {k: v for k, v in self._writers.items() if v > now}
        self._writers[caller] = now + self.read_your_writes_seconds

    def wrote_lately(self, caller: str) -> bool:
        until = self._writers.get(caller)
        return until is not None and until > time.monotonic()

    def lost(self, exc: BaseException) -> None:
        """A read found the replica gone: the next reads go to the primary until the monitor sees it back."""
        if self.state.reachable:
            log.warning("replica lost", error=repr(exc))
        self.state = ReplicaState(reachable=False, checked_at=time.monotonic())
        metrics.REPLICA_LAG.set(-1)

    # --- the monitor ----------------------------------------------------------------------------------------------

    async def check(self) -> ReplicaState:
        try:
            async with self.engine.connect() as conn:
                in_recovery, replayed, age = (await conn.execute(_REPLAY)).one()
            async with self.primary.connect() as conn:
                primary_lsn = (await conn.execute(_PRIMARY_LSN)).scalar_one()
                behind = int(
                    (await conn.execute(_LAG_BYTES, {"primary": primary_lsn, "replayed": replayed})).scalar_one()
                )
        except Exception as exc:  # any failure: the replica is not to be read until the next good check
            if self.state.reachable:
                log.warning("replica unreachable", error=repr(exc))
            self.state = ReplicaState(reachable=False, checked_at=time.monotonic())
            metrics.REPLICA_LAG.set(-1)
            return self.state
        if not in_recovery:
            log.warning("the read URL is not a replica (not in recovery); reads stay on the primary")
            self.state = ReplicaState(reachable=False, checked_at=time.monotonic())
            return self.state
        # Nothing left to replay: no lag, however old the last transaction (an idle primary writes nothing).
        lag = 0.0 if behind <= 0 else float(age or 0.0)
        metrics.REPLICA_LAG.set(lag)
        self.state = ReplicaState(
            reachable=True, lag_seconds=lag, lag_bytes=max(behind, 0), checked_at=time.monotonic()
        )
        return self.state

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.check()
            try:
                await asyncio.wait_for(stop.wait(), self.every_seconds)
            except TimeoutError:
                pass

    def start(self, stop: asyncio.Event) -> None:
        self._task = asyncio.create_task(self._run(stop), name="esoz-replica-monitor")

    async def close(self) -> None:
        if self._task is not None:
            await self._task
        await self.engine.dispose()


def caller_key(request: Request) -> str:
    """Who is reading or writing: the bearer token (hashed), else the client address."""
    authorization = request.headers.get("authorization")
    if authorization:
        return hashlib.blake2b(authorization.encode(), digest_size=16).hexdigest()
    return f"ip:{request.client.host if request.client else ''}"


def replica_of(request: Request) -> Replica | None:
    replica: Replica | None = getattr(request.app.state, "replica", None)
    return replica


async def replica_read_conn(request: Request) -> AsyncIterator[AsyncConnection]:
    replica = replica_of(request)
    conn: AsyncConnection | None = None
    if replica is not None:
        if not replica.usable:
            target = "primary_replica_unusable"
        elif replica.wrote_lately(caller_key(request)):
            target = "primary_read_your_writes"
        else:
            # The replica may have gone since the monitor's last look: its pool pings each connection it hands out,
            # and a replica that does not answer sends this read, and the next ones, to the primary.
            try:
                conn = await replica.engine.connect()
                target = "replica"
            except (DBAPIError, OSError) as exc:
                replica.lost(exc)
                target = "primary_replica_unusable"
        metrics.REPLICA_READS.labels(target).inc()
    if conn is None:
        primary: AsyncEngine = request.app.state.engine
        conn = await primary.connect()
    try:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")
    finally:
        await conn.close()


ReplicaConn = Annotated[AsyncConnection, Depends(replica_read_conn, scope="function")]
