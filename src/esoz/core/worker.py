"""The background worker: periodic jobs run on one event loop, each in its own transaction.

Domains register jobs through JOB_FACTORIES (e.g. the outbox dispatcher in `esoz.notifications.jobs`).
"""

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import audit
from esoz.core.db import make_engine
from esoz.core.logging import get_logger

if TYPE_CHECKING:
    from esoz.settings import Settings

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


JOBS: list[PeriodicJob] = [PeriodicJob("audit.seal", 1.0, audit.seal)]

# Domains contribute jobs through a `jobs(settings) -> list[PeriodicJob]` function, named here so
# that core imports no domain module at import time.
JOB_FACTORIES: tuple[str, ...] = (
    "esoz.notifications.jobs:jobs",
    "esoz.events.jobs:jobs",
    "esoz.signatures.jobs:jobs",
    "esoz.identity.jobs:jobs",
    "esoz.prescriptions.jobs:jobs",
    "esoz.referrals.jobs:jobs",
    "esoz.conclusions.jobs:jobs",
    "esoz.status.jobs:jobs",
    "esoz.analytics.jobs:jobs",
)


def all_jobs(settings: "Settings | None" = None) -> list[PeriodicJob]:
    from esoz.settings import get_settings

    settings = settings or get_settings()
    jobs = list(JOBS)
    for ref in JOB_FACTORIES:
        module, _, attr = ref.partition(":")
        jobs.extend(getattr(importlib.import_module(module), attr)(settings))
    return jobs


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
        except Exception:  # a failing job is logged and retried on its next tick
            log.exception("job failed", job=job.name)
        try:
            await asyncio.wait_for(stop.wait(), job.every_seconds)
        except TimeoutError:
            pass


async def run_jobs(engine: AsyncEngine, stop: asyncio.Event, settings: "Settings | None" = None) -> None:
    jobs = all_jobs(settings)
    try:
        await asyncio.gather(*(_loop(engine, job, stop) for job in jobs))
    finally:
        for job in jobs:
            if job.close is not None:
                await job.close()


async def run_worker(url: str) -> None:
    engine = make_engine(url, 4)  # one connection per running job at most; a dozen jobs rarely overlap
    stop = asyncio.Event()
    log.info("worker started")
    try:
        await run_jobs(engine, stop)
    finally:
        await engine.dispose()
