"""Worker job of the conclusions domain: the ПФУ dispatcher (outbox channel `pfu`)."""

from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.conclusions.pfu import CHANNEL, PfuChannel
from esoz.core.outbox import Dispatcher, Policy
from esoz.core.worker import PeriodicJob
from esoz.settings import Settings


def policy(settings: Settings) -> Policy:
    return Policy(
        batch_size=50,
        lease_seconds=max(30.0, settings.pfu_timeout_seconds * 3 + 5),
        max_attempts=settings.pfu_max_attempts,
        backoff_base_seconds=settings.pfu_backoff_base_seconds,
        backoff_cap_seconds=settings.pfu_backoff_cap_seconds,
        concurrency=8,
        send_timeout_seconds=settings.pfu_timeout_seconds,
    )


def jobs(settings: Settings) -> list[PeriodicJob]:
    if not settings.pfu_url:
        return []  # no registry configured: tasks wait in the outbox until one is
    state: dict[str, Dispatcher] = {}

    async def deliver(engine: AsyncEngine) -> int:
        if "d" not in state:
            state["d"] = Dispatcher(engine, {CHANNEL: PfuChannel(engine, settings)}, policy(settings), name="pfu")
        return await state["d"].drain(max_seconds=5.0)

    async def close() -> None:
        if "d" in state:
            for handler in state.pop("d").handlers.values():
                await handler.aclose()

    return [PeriodicJob("conclusions.pfu", settings.pfu_poll_seconds, run_with_engine=deliver, close=close)]
