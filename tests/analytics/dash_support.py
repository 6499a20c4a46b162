"""Run the dashboards' consumer and rebuild from tests (they own the timing, no worker runs)."""

import asyncio

from esoz.analytics import rollups
from esoz.core.db import make_engine


async def _consume(url: str) -> int:
    engine = make_engine(url, 2)
    try:
        total = 0
        while True:
            async with engine.begin() as conn:
                done = await rollups.consume(conn, batch=500)
            total += done
            if not done:
                return total
    finally:
        await engine.dispose()


def consume(url: str) -> int:
    """Run the event consumer until nothing is left."""
    return asyncio.run(_consume(url))


async def _rebuild(url: str, replace: bool) -> rollups.Report:
    engine = make_engine(url, 2)
    try:
        return await rollups.rebuild(engine, replace=replace)
    finally:
        await engine.dispose()


def rebuild(url: str, replace: bool = True) -> rollups.Report:
    return asyncio.run(_rebuild(url, replace))
