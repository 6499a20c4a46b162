"""Fan-out of the event feed to NATS JetStream for other national systems (when ESOZ_NATS_URL is set).

The events table is its own outbox: the relay takes unpublished rows with `FOR UPDATE SKIP LOCKED`,
publishes each to `<prefix>.<entity_type>` with `Nats-Msg-Id` = event id and waits for the stream's
ack, then stamps `published_at`. If the worker dies before the stamp commits, the rows are published
again and JetStream drops the duplicates (same Nats-Msg-Id within the stream's duplicate window).
"""

import orjson
from nats.aio.client import Client as NATS
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.logging import get_logger
from esoz.events.service import as_dict

log = get_logger("esoz.events.fanout")

_CLAIM = text(
    """
    SELECT id, event_type, entity_type, entity_id, properties, event_time, changed_by
      FROM events WHERE published_at IS NULL
     ORDER BY event_time, id LIMIT :limit FOR UPDATE SKIP LOCKED
    """
)
_MARK = text("UPDATE events SET published_at = now() WHERE id = ANY(CAST(:ids AS uuid[]))")


class Publisher:
    def __init__(self, url: str, stream: str, subject_prefix: str) -> None:
        self.url, self.stream, self.prefix = url, stream, subject_prefix
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None

    async def connect(self) -> JetStreamContext:
        if self.js is None or self.nc is None or not self.nc.is_connected:
            self.nc = NATS()
            await self.nc.connect(self.url, connect_timeout=5, max_reconnect_attempts=3)
            self.js = self.nc.jetstream()
            try:
                await self.js.stream_info(self.stream)
            except NotFoundError:
                await self.js.add_stream(name=self.stream, subjects=[f"{self.prefix}.>"])
        return self.js

    def subject(self, entity_type: str) -> str:
        return f"{self.prefix}.{entity_type}"

    async def relay(self, conn: AsyncConnection, limit: int = 500) -> int:
        """Publish one batch of unpublished events in the caller's transaction."""
        rows = (await conn.execute(_CLAIM, {"limit": limit})).all()
        if not rows:
            return 0
        js = await self.connect()
        for row in rows:
            event = as_dict(row)
            await js.publish(
                self.subject(row.entity_type),
                orjson.dumps(event),
                headers={"Nats-Msg-Id": event["id"]},
            )
        await conn.execute(_MARK, {"ids": [r.id for r in rows]})
        return len(rows)

    async def aclose(self) -> None:
        if self.nc is not None and self.nc.is_connected:
            await self.nc.drain()
        self.nc = self.js = None
