"""Worker job of the registry: unsigned declaration requests expire."""

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.worker import PeriodicJob
from esoz.registry import declaration_requests
from esoz.settings import Settings


def jobs(settings: Settings) -> list[PeriodicJob]:
    async def expire(conn: AsyncConnection) -> int:
        return await declaration_requests.expire(conn)

    # The referral expiry's period: both are minute-scale housekeeping of unsigned or unused documents.
    return [PeriodicJob("registry.declaration_requests.expire", settings.service_request_expiry_seconds, expire)]
