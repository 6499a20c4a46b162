"""Worker job of the referrals domain: expire active referrals past their expiration date."""

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.worker import PeriodicJob
from esoz.referrals import service
from esoz.settings import Settings


def jobs(settings: Settings) -> list[PeriodicJob]:
    async def expire(conn: AsyncConnection) -> int:
        return await service.expire(conn)

    return [PeriodicJob("referrals.expire", settings.service_request_expiry_seconds, expire)]
