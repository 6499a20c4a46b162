"""Worker jobs of the notifications domain: the SMS/e-mail dispatcher and the outbox clean-up."""

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import outbox as ob
from esoz.core.outbox import Dispatcher, Message, PermanentError, Policy
from esoz.core.worker import PeriodicJob
from esoz.notifications import maintenance, phones
from esoz.notifications.providers.http import HttpSmsProvider
from esoz.notifications.providers.log import LogProvider
from esoz.notifications.providers.smtp import SmtpProvider
from esoz.notifications.service import EMAIL, SMS
from esoz.settings import Settings

RECEIPTS_PATH = "/api/notifications/sms/receipts"


class SmsChannel:
    """Checks the number once more (replayed or hand-edited rows), then hands over to the provider."""

    def __init__(self, provider: ob.Handler) -> None:
        self.inner = provider
        self.provider = provider.provider

    async def deliver(self, message: Message) -> str | None:
        if phones.normalise(message.recipient) != message.recipient:
            raise PermanentError(f"invalid phone number {message.recipient!r}: expected +380XXXXXXXXX")
        return await self.inner.deliver(message)

    async def aclose(self) -> None:
        await self.inner.aclose()


def sms_provider(settings: Settings) -> ob.Handler:
    if settings.sms_provider == "http":
        if not settings.sms_http_url:
            raise RuntimeError("ESOZ_SMS_PROVIDER=http needs ESOZ_SMS_HTTP_URL")
        callback = ""
        if settings.sms_receipt_base_url:
            callback = settings.sms_receipt_base_url.rstrip("/") + RECEIPTS_PATH
            if settings.sms_receipt_token:
                callback += f"?token={settings.sms_receipt_token}"
        return HttpSmsProvider(
            url=settings.sms_http_url,
            body_template=settings.sms_http_body_template,
            auth_header=settings.sms_http_auth_header,
            idempotency_header=settings.sms_http_idempotency_header,
            message_id_path=settings.sms_http_message_id_path,
            timeout_seconds=settings.sms_http_timeout_seconds,
            sender=settings.sms_sender,
            callback_url=callback,
        )
    return LogProvider()


def email_provider(settings: Settings) -> ob.Handler:
    if settings.email_provider == "smtp":
        return SmtpProvider(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.email_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            tls=settings.smtp_tls,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    return LogProvider()


def policy(settings: Settings) -> Policy:
    return Policy(
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
        max_attempts=settings.outbox_max_attempts,
        backoff_base_seconds=settings.outbox_backoff_base_seconds,
        backoff_cap_seconds=settings.outbox_backoff_cap_seconds,
        concurrency=settings.outbox_concurrency,
        send_timeout_seconds=send_timeout(settings),
    )


def send_timeout(settings: Settings) -> float:
    """The longest a single send can take with the providers in use (the lease must outlast it)."""
    timeouts = [0.0]
    if settings.sms_provider == "http":
        timeouts.append(settings.sms_http_timeout_seconds)
    if settings.email_provider == "smtp":
        timeouts.append(settings.smtp_timeout_seconds)
    longest = max(timeouts)
    if settings.outbox_lease_seconds < longest + 2:
        raise RuntimeError(
            f"ESOZ_OUTBOX_LEASE_SECONDS ({settings.outbox_lease_seconds:g}) must exceed the provider timeout + 2 s"
        )
    return longest


def dispatcher(engine: AsyncEngine, settings: Settings) -> Dispatcher:
    handlers = {SMS: SmsChannel(sms_provider(settings)), EMAIL: email_provider(settings)}
    providers = {channel: handler.provider for channel, handler in handlers.items()}

    async def paused(conn: AsyncConnection) -> set[str]:
        return await maintenance.paused_channels(conn, providers)

    return Dispatcher(engine, handlers, policy(settings), paused=paused, name="notifications")


def jobs(settings: Settings) -> list[PeriodicJob]:
    state: dict[str, Dispatcher] = {}

    async def deliver(engine: AsyncEngine) -> int:
        if "d" not in state:
            state["d"] = dispatcher(engine, settings)
        return await state["d"].drain(max_seconds=5.0)

    async def close() -> None:
        if "d" in state:
            for handler in state.pop("d").handlers.values():
                await handler.aclose()

    async def purge(conn: AsyncConnection) -> int:
        return await ob.purge(
            conn, delivered_days=settings.outbox_retention_days, dead_days=settings.outbox_dead_retention_days
        )

    return [
        PeriodicJob("notifications.deliver", settings.outbox_poll_seconds, run_with_engine=deliver, close=close),
        PeriodicJob("outbox.purge", 600.0, purge),
    ]
