"""Which reads the replica serves: only while it is reachable, fresh and close enough, and never a caller's read
that follows its own write within the window. The replica here is the test database itself (not in recovery), so
the monitor must refuse it; the rules about lag and writers are checked on the monitor's recorded state."""

import asyncio
import time
from types import SimpleNamespace

from sqlalchemy import text
from starlette.requests import Request

from esoz.core.db import make_engine
from esoz.core.replica import Replica, ReplicaState, replica_read_conn


def _replica(db_url: str, **kwargs: float) -> Replica:
    engine = make_engine(db_url, 1, max_overflow=0)
    return Replica(engine=engine, primary=engine, max_lag_seconds=kwargs.get("max_lag", 5.0),
                   read_your_writes_seconds=kwargs.get("window", 0.3))  # fmt: skip


def test_a_server_not_in_recovery_is_never_read_as_a_replica(db_url: str) -> None:
    async def run() -> ReplicaState:
        replica = _replica(db_url)
        try:
            return await replica.check()
        finally:
            await replica.engine.dispose()

    state = asyncio.run(run())
    assert not state.reachable


def test_lag_freshness_and_read_your_writes(db_url: str) -> None:
    replica = _replica(db_url, max_lag=5.0, window=0.3)
    replica.state = ReplicaState(reachable=True, lag_seconds=0.2, lag_bytes=100, checked_at=time.monotonic())
    assert replica.usable and replica.describe() == "ok"
    replica.state = ReplicaState(reachable=True, lag_seconds=9.0, lag_bytes=10**6, checked_at=time.monotonic())
    assert not replica.usable and replica.describe() == "behind: 9.0 s (reads on the primary)"
    # a measurement that is no longer refreshed (the monitor stalled) is not trusted
    replica.state = ReplicaState(reachable=True, lag_seconds=0.0, lag_bytes=0, checked_at=time.monotonic() - 60)
    assert not replica.usable
    replica.state = ReplicaState(reachable=False, checked_at=time.monotonic())
    assert replica.describe() == "unreachable (reads on the primary)"
    assert replica.describe_uk().startswith("Репліка бази даних недоступна")

    replica.wrote("caller-a")
    assert replica.wrote_lately("caller-a") and not replica.wrote_lately("caller-b")
    time.sleep(0.35)
    assert not replica.wrote_lately("caller-a")
    asyncio.run(replica.engine.dispose())


def test_a_read_that_finds_the_replica_gone_goes_to_the_primary(db_url: str) -> None:
    """Between two looks of the monitor the replica stops: the read is served by the primary, not failed."""

    async def run() -> tuple[bool, bool]:
        primary = make_engine(db_url, 1, max_overflow=0)
        gone = make_engine("postgresql://postgres@127.0.0.1:9/esoz", 1, max_overflow=0, pre_ping=True)
        replica = Replica(engine=gone, primary=primary, max_lag_seconds=5.0, read_your_writes_seconds=1.0)
        replica.state = ReplicaState(reachable=True, lag_seconds=0.0, lag_bytes=0, checked_at=time.monotonic())
        assert replica.usable
        app = SimpleNamespace(state=SimpleNamespace(replica=replica, engine=primary))
        request = Request({"type": "http", "app": app, "headers": [], "client": ("127.0.0.1", 1)})
        reads = replica_read_conn(request)
        try:
            conn = await anext(reads)
            in_recovery = (await conn.execute(text("SELECT pg_is_in_recovery()"))).scalar_one()
        finally:
            await reads.aclose()
            await primary.dispose()
            await gone.dispose()
        return in_recovery, replica.state.reachable

    in_recovery, still_reachable = asyncio.run(run())
    assert in_recovery is False  # answered by the primary
    assert not still_reachable  # and the next reads go there without trying the replica again
