"""The dev provider: logs the message and "delivers" it; the outbox row itself is the record that
`/admin/dev/messages`, the demo and the tests read."""

from esoz.core.logging import get_logger
from esoz.core.outbox import Message

log = get_logger("esoz.notifications.log")


class LogProvider:
    provider = "log"

    async def deliver(self, message: Message) -> str | None:
        log.info(
            "message delivered to log",
            channel=message.channel,
            kind=message.kind,
            to=message.recipient,
            text=message.payload.get("text"),
        )
        return f"log-{message.id}"

    async def aclose(self) -> None:
        return None
