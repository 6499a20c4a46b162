"""Worker jobs of the dashboards: take in new events (and ПФУ acknowledgements), drop old activity sets."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.analytics import rollups
from esoz.core.logging import get_logger
from esoz.core.worker import PeriodicJob
from esoz.settings import Settings

log = get_logger("esoz.analytics")


def jobs(settings: Settings) -> list[PeriodicJob]:
    async def step(engine: AsyncEngine) -> int:
        async with engine.connect() as conn:
            started = (await conn.execute(text("SELECT 1 FROM analytics_state"))).first() is not None
        if not started:
            # First run on this database: rows loaded without events (seeds, bulk loads) are counted too.
            report = await rollups.rebuild(engine)
            log.info("dashboards rollups built from the source tables", rows=sum(report.rows.values()))
            return sum(report.rows.values())
        async with engine.begin() as conn:
            return await rollups.consume(conn, batch=settings.dashboards_rollup_batch)

    async def purge(conn: AsyncConnection) -> int:
        return await rollups.purge(conn)

    return [
        PeriodicJob("analytics.rollup", settings.dashboards_rollup_seconds, run_with_engine=step),
        PeriodicJob("analytics.purge", 3600.0, purge),
    ]
