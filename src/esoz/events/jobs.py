"""Worker jobs of the event feed: retention and (with ESOZ_NATS_URL) the JetStream fan-out."""

from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.worker import PeriodicJob
from esoz.events import service
from esoz.settings import Settings


def jobs(settings: Settings) -> list[PeriodicJob]:
    async def purge(conn: AsyncConnection) -> int:
        return await service.purge(conn, retention_days=settings.events_retention_days)

    result = [PeriodicJob("events.purge", 600.0, purge)]
    if settings.nats_url:
        from esoz.events.fanout import Publisher

        publisher = Publisher(settings.nats_url, settings.nats_stream, settings.nats_subject_prefix)
        result.append(
            PeriodicJob("events.fanout", settings.outbox_poll_seconds, publisher.relay, close=publisher.aclose)
        )
    return result
