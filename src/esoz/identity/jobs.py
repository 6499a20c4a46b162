"""Housekeeping of identity tables (run by the worker): old rate-limit windows, login failures past
their window, codes and tokens long expired, used or expired recovery links."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import ratelimit
from esoz.core.worker import PeriodicJob
from esoz.settings import Settings

KEEP_EXPIRED_DAYS = 30  # expired tokens stay a month for investigations, then go

_PRUNE = (
    "DELETE FROM login_failures WHERE at < now() - make_interval(secs => :window)",
    "DELETE FROM otps WHERE expires_at < now() - interval '1 day'",
    "DELETE FROM credentials_recovery_requests WHERE expires_at < now() - interval '1 day'",
    "DELETE FROM tokens WHERE expires_at < now() - make_interval(days => :keep)",
)


def jobs(settings: Settings) -> list[PeriodicJob]:
    async def prune(conn: AsyncConnection) -> int:
        done = await ratelimit.prune(conn)
        params = {"window": settings.login_failures_window_seconds, "keep": KEEP_EXPIRED_DAYS}
        for statement in _PRUNE:
            result = await conn.execute(text(statement), params)
            done += result.rowcount or 0
        return done

    return [PeriodicJob("identity.prune", 300.0, prune)]
