"""Worker jobs of prescriptions: unsigned requests expire after 30 minutes, unprocessed dispenses after 10,
prescriptions at the end of their validity."""

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.worker import PeriodicJob
from esoz.prescriptions import dispenses, prescriptions, requests
from esoz.settings import Settings


def jobs(settings: Settings) -> list[PeriodicJob]:
    async def expire_requests(conn: AsyncConnection) -> int:
        return await requests.expire(conn, settings)

    async def expire_dispenses(conn: AsyncConnection) -> int:
        return await dispenses.expire(conn, settings)

    every = settings.prescriptions_jobs_seconds
    return [
        PeriodicJob("prescriptions.expire_requests", every, expire_requests),
        PeriodicJob("prescriptions.expire_dispenses", every, expire_dispenses),
        PeriodicJob("prescriptions.expire_prescriptions", every, prescriptions.expire),
    ]
