"""The background worker: periodic jobs run on one event loop, each in its own transaction.

Domains register jobs here as they arrive (the outbox dispatcher comes with the delivery issue).
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import audit
from esoz.core.db import make_engine
from esoz.core.logging import get_logger

log = get_logger("esoz.worker")


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[AsyncConnection], Awaitable[int]]


JOBS: list[PeriodicJob] = [PeriodicJob("audit.seal", 1.0, audit.seal)]


async def _loop(engine: AsyncEngine, job: PeriodicJob, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
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


async def run_jobs(engine: AsyncEngine, stop: asyncio.Event) -> None:
    await asyncio.gather(*(_loop(engine, job, stop) for job in JOBS))


async def run_worker(url: str) -> None:
    engine = make_engine(url, 2)
    stop = asyncio.Event()
    log.info("worker started", jobs=[j.name for j in JOBS])
    try:
        await run_jobs(engine, stop)
    finally:
        await engine.dispose()
