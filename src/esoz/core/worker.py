"""The background worker: periodic jobs run on one event loop, each in its own transaction.

Core knows no domain: the caller hands in the jobs to run (esoz.jobs.all_jobs collects the domains' own,
e.g. the outbox dispatcher of `esoz.notifications.jobs`, next to core_jobs()).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import audit, metrics, tracing
from esoz.core.db import make_engine
from esoz.core.logging import get_logger

log = get_logger("esoz.worker")


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[AsyncConnection], Awaitable[int]] | None = None
    # Jobs that manage their own transactions (the outbox dispatcher claims, sends outside any
    # transaction, then marks) get the engine instead of a connection; `close` frees their clients.
    run_with_engine: Callable[[AsyncEngine], Awaitable[int]] | None = None
    close: Callable[[], Awaitable[None]] | None = None


def core_jobs() -> list[PeriodicJob]:
    """Core's own jobs: sealing the audit log's hash chain."""
    return [PeriodicJob("audit.seal", 1.0, audit.seal)]


async def _loop(engine: AsyncEngine, job: PeriodicJob, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            if job.run_with_engine is not None:
                done = await job.run_with_engine(engine)
            else:
                assert job.run is not None
                async with engine.begin() as conn:
                    done = await job.run(conn)
            if done:
                log.debug("job ran", job=job.name, rows=done)
            metrics.JOB_RUNS.labels(job.name, "ok").inc()
        except Exception:  # a failing job is logged and retried on its next tick
            log.exception("job failed", job=job.name)
            metrics.JOB_RUNS.labels(job.name, "error").inc()
        try:
            await asyncio.wait_for(stop.wait(), job.every_seconds)
        except TimeoutError:
            pass


async def run_jobs(engine: AsyncEngine, stop: asyncio.Event, jobs: Sequence[PeriodicJob]) -> None:
    try:
        await asyncio.gather(*(_loop(engine, job, stop) for job in jobs))
    finally:
        for job in jobs:
            if job.close is not None:
                await job.close()


async def run_worker(url: str, jobs: Sequence[PeriodicJob], *, pgbouncer: bool = False) -> None:
    # one connection per running job at most; a dozen jobs rarely overlap
    engine = make_engine(url, 4, pgbouncer=pgbouncer)
    tracing.instrument_engines([engine])
    stop = asyncio.Event()
    log.info("worker started")
    try:
        await run_jobs(engine, stop, jobs)
    finally:
        await engine.dispose()
        tracing.flush()
