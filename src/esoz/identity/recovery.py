"""Credentials recovery by e-mail: a single-use link that expires (CREDENTIALS_RECOVERY_REQUEST_TTL).

The request answers the same, and at once, whether or not the e-mail is known (no account discovery):
the look-up, the per-account limit and the e-mail come after the answer, so its time tells nothing either.
An account gets at most `recovery_max_per_account` links per `recovery_window_seconds`, whatever the
addresses they are asked from; past that, nothing is sent and the caller is answered the same. The link
carries a 256-bit secret stored as a digest; using it sets a new password through the whole policy,
ends every session and tells the user by e-mail. The second factor is untouched, so the next sign-in
still asks for it (ASVS 6.4.3).
"""

import asyncio
import hmac
import uuid
import weakref
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import audit, clock
from esoz.core.audit import Actor
from esoz.core.errors import ApiError
from esoz.core.ids import uuid7
from esoz.core.logging import get_logger
from esoz.identity import tokens, users
from esoz.identity.models import credentials_recovery_requests as requests
from esoz.identity.tx import in_transaction
from esoz.settings import Settings

SUBJECT = "Відновлення доступу до esoz"
BODY = (
    "Вітаємо!\n\nХтось (можливо, ви) попросив відновити доступ до облікового запису esoz.\n"
    "Щоб задати новий пароль, відкрийте посилання протягом {minutes} хв:\n{link}\n\n"
    "Посилання діє один раз. Якщо це були не ви, просто проігноруйте цей лист."
)
CHANGED_SUBJECT = "Пароль esoz змінено"
CHANGED_BODY = "Пароль вашого облікового запису esoz щойно змінено. Якщо це були не ви, зверніться до адміністратора."


def _invalid() -> ApiError:
    return ApiError(400, "invalid_recovery_request", "Credentials recovery request is invalid, used or expired.")


# Sending runs after the answer. The set holds the tasks so that the loop does not drop them half-way; the
# gate lets a flood of requests (nothing makes their senders wait any more) take only a few of the pool's
# connections, and past the backlog new requests are answered the same and dropped.
_sending: set[asyncio.Task[None]] = set()
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
CONCURRENCY = 2
BACKLOG = 10_000
log = get_logger("esoz.identity.recovery")


async def request_recovery(engine: AsyncEngine, settings: Settings, *, email: str, base_url: str) -> dict[str, Any]:
    """Answer at once, the same for every address; the work happens after the answer, in this process."""
    expires_at = clock.now() + timedelta(seconds=settings.recovery_ttl_seconds)
    if len(_sending) < BACKLOG:
        task = asyncio.get_running_loop().create_task(
            _send_link(engine, settings, email=email, base_url=base_url, expires_at=expires_at)
        )
        _sending.add(task)
        task.add_done_callback(_sending.discard)
    else:
        log.warning("credentials recovery backlog full: request dropped", backlog=len(_sending))
    return {"is_active": True, "expires_at": expires_at}


def _gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()  # one per event loop: each worker (and each test server) has its own
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(CONCURRENCY)
    return gate


async def _send_link(
    engine: AsyncEngine, settings: Settings, *, email: str, base_url: str, expires_at: datetime
) -> None:
    try:
        async with _gate():
            await in_transaction(
                engine, lambda conn: _queue_link(conn, settings, email=email, base_url=base_url, expires_at=expires_at)
            )
    except Exception:  # nobody waits for this answer: log it; the user may ask again
        log.exception("credentials recovery failed")


async def _queue_link(
    conn: AsyncConnection, settings: Settings, *, email: str, base_url: str, expires_at: datetime
) -> None:
    user = await users.by_email(conn, email)
    if user is None:
        await audit.record(
            conn, action="recovery.requested", resource_type="user", outcome="failure",
            details={"reason": "unknown_email"},
        )  # fmt: skip
        return
    # one request of an account at a time, so that concurrent ones cannot all pass the limit
    await conn.execute(select(users.users.c.id).where(users.users.c.id == user.id).with_for_update())
    since = clock.now() - timedelta(seconds=settings.recovery_window_seconds)
    recent = select(func.count()).where(requests.c.user_id == user.id, requests.c.inserted_at > since)
    sent = (await conn.execute(recent)).scalar_one()
    if sent >= settings.recovery_max_per_account:
        await audit.record(
            conn, action="recovery.throttled", resource_type="user", resource_id=user.id, outcome="failure",
            actor=Actor(user.id), details={"sent_in_window": sent, "window_seconds": settings.recovery_window_seconds},
        )  # fmt: skip
        return
    secret = tokens.new_value()
    request_id = uuid7()
    await conn.execute(
        requests.insert().values(
            id=request_id,
            user_id=user.id,
            token_hash=tokens.digest(secret),
            expires_at=expires_at,
            inserted_at=clock.now(),
        )
    )
    link = f"{base_url.rstrip('/')}/sign-in/reset?request={request_id}&token={secret}"
    from esoz.notifications.service import queue_email

    await queue_email(
        conn,
        to=user.email,
        subject=SUBJECT,
        text=BODY.format(minutes=settings.recovery_ttl_seconds // 60, link=link),
        kind="credentials_recovery",
        idempotency_key=f"recovery:{request_id}",
    )
    await audit.record(
        conn, action="recovery.requested", resource_type="credentials_recovery_request",
        resource_id=request_id, actor=Actor(user.id),
    )  # fmt: skip


async def reset_password(
    engine: AsyncEngine, settings: Settings, *, request_id: str, secret: str, password: str
) -> dict[str, Any]:
    async def work(conn: AsyncConnection) -> dict[str, Any]:
        try:
            rid = uuid.UUID(request_id)
        except ValueError:
            raise _invalid() from None
        row = (await conn.execute(select(requests).where(requests.c.id == rid).with_for_update())).first()
        if (
            row is None
            or not hmac.compare_digest(row.token_hash, tokens.digest(secret))
            or row.used_at is not None
            or row.expires_at <= clock.now()
        ):
            raise _invalid()
        actor = Actor(row.user_id)
        user = await users.get(conn, row.user_id)
        await users.check_new_password(conn, settings, user, password, actor, "$.reset_password_request.password")
        await conn.execute(update(requests).where(requests.c.id == rid).values(used_at=clock.now()))
        await users.store_password(conn, settings, user.id, password, actor, "password.reset")
        from esoz.notifications.service import queue_email

        await queue_email(
            conn, to=user.email, subject=CHANGED_SUBJECT, text=CHANGED_BODY, kind="password_changed",
            idempotency_key=f"password-changed:{rid}",
        )  # fmt: skip
        return users.public(await users.get(conn, user.id))

    return await in_transaction(engine, work)
