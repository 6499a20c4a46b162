"""Worker jobs of the status domain: flush measured metrics, sample health, announce maintenance, purge."""

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core.worker import PeriodicJob
from esoz.settings import Settings
from esoz.status import health, maintenance, metrics, subscriptions
from esoz.status.notify import public_url


def jobs(settings: Settings) -> list[PeriodicJob]:
    state: dict[str, httpx.AsyncClient] = {}
    aggregator = metrics.aggregator_for(settings.database_url or "")

    async def flush(conn: AsyncConnection) -> int:
        return await metrics.flush(conn, aggregator)

    async def sample(engine: AsyncEngine) -> int:
        if "http" not in state:
            state["http"] = httpx.AsyncClient(timeout=settings.status_probe_timeout_seconds, follow_redirects=False)
        # Probes run outside any transaction; only the short write below holds one.
        found = await health.measure(engine, settings, state["http"])
        if "api" not in found:
            return 0
        async with engine.begin() as conn:
            active = maintenance.active_components(await maintenance.upcoming(conn))
            return await health.record(conn, found, active)

    async def notices(conn: AsyncConnection) -> int:
        return await maintenance.send_notices(conn, hours=settings.status_notice_hours, base_url=public_url(settings))

    async def purge(conn: AsyncConnection) -> int:
        return await health.purge(conn, settings.status_retention_days) + await subscriptions.purge_unconfirmed(conn)

    async def close() -> None:
        if "http" in state:
            await state.pop("http").aclose()

    return [
        PeriodicJob("status.metrics_flush", settings.status_flush_seconds, flush),
        PeriodicJob("status.sample", settings.status_sample_seconds, run_with_engine=sample, close=close),
        PeriodicJob("status.maintenance_notice", 60.0, notices),
        PeriodicJob("status.purge", 3600.0, purge),
    ]
