"""`POST /auth/login` grants — password, change_password, authorize_2fa_access_token,
refresh_2fa_access_token — and the factor actions, as the real system (mithril) answers them.

No token that opens anything but the second step is minted before the second factor: the password
step yields a `2fa_access_token` (scope "", with the requested scope kept in `details.scope_request`).
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import audit, clock
from esoz.core.audit import Actor
from esoz.core.errors import ApiError, Conflict, field_error
from esoz.core.ids import uuid7
from esoz.identity import factors, passwords, tokens, users
from esoz.identity.models import authentication_factors, clients, login_failures
from esoz.identity.tx import Refusal, in_transaction
from esoz.settings import Settings

WRONG_CREDENTIALS = "Identity, password combination is wrong."
LOCKED = "You reached login attempts limit. Try again later"
APP_AUTHORIZE = "app:authorize"
CHANGE_PASSWORD_SCOPE = "user:change_password"

REQUEST_APPS = "REQUEST_APPS"
REQUEST_OTP = "REQUEST_OTP"
REQUEST_FACTOR = "REQUEST_FACTOR"
APPROVE_FACTOR = "APPROVE_FACTOR"


@dataclass
class Answer:
    data: dict[str, Any]
    urgent: dict[str, Any] = field(default_factory=dict)
    status: int = 201


def _client_error(message: str = "Invalid client id.") -> ApiError:
    return ApiError(401, "invalid_client", message)


async def _client(conn: AsyncConnection, client_id: str) -> Any:
    try:
        cid = uuid.UUID(client_id)
    except ValueError:
        raise _client_error() from None
    row = (await conn.execute(select(clients).where(clients.c.id == cid))).first()
    if row is None:
        raise _client_error()
    if row.is_blocked:
        raise _client_error("Client is blocked.")
    return row


def password_expired(user: Any, settings: Settings) -> bool:
    if settings.password_max_age_days <= 0:
        return False
    return user.password_set_at + timedelta(days=settings.password_max_age_days) <= clock.now()


async def _failures(conn: AsyncConnection, settings: Settings, **where: Any) -> int:
    since = clock.now() - timedelta(seconds=settings.login_failures_window_seconds)
    cond = [login_failures.c.at > since, *(getattr(login_failures.c, k) == v for k, v in where.items())]
    return (await conn.execute(select(func.count()).select_from(login_failures).where(*cond))).scalar_one()


async def _session(
    conn: AsyncConnection, settings: Settings, user: Any, client: Any, scope: str, actor: Actor
) -> Answer:
    """After the password: a 2FA step if a factor is required or set, else the session token itself."""
    factor = await factors.active_factor(conn, user.id)
    if factor is None and not settings.two_factor_required:
        return await _final_token(conn, settings, user, client, scope, actor)
    issued = await tokens.issue(
        conn,
        name=tokens.TWO_FA,
        user_id=user.id,
        client_id=client.id,
        scope="",
        lifetime=settings.token_session_seconds,
        details={"scope_request": scope, "grant_type": "password"},
        actor=actor,
    )
    if factor is None:
        return Answer(issued.as_contract(), {"next_step": REQUEST_FACTOR})
    if factor.type == factors.SMS:
        await factors.send_sms_code(
            conn, settings, user_id=user.id, phone=factor.factor, purpose="login", token_id=issued.id, actor=actor
        )
    return Answer(issued.as_contract(), {"next_step": REQUEST_OTP, "factor_type": factor.type})


async def _final_token(
    conn: AsyncConnection, settings: Settings, user: Any, client: Any, scope: str, actor: Actor
) -> Answer:
    name = tokens.CHANGE_PASSWORD if scope == CHANGE_PASSWORD_SCOPE else tokens.ACCESS
    issued = await tokens.issue(
        conn,
        name=name,
        user_id=user.id,
        client_id=client.id,
        scope=scope,
        lifetime=settings.token_session_seconds,
        details={"grant_type": "password"},
        actor=actor,
    )
    await audit.record(conn, action="login.success", resource_type="user", resource_id=user.id, actor=actor)
    return Answer(issued.as_contract(), {"next_step": REQUEST_APPS if name == tokens.ACCESS else "CHANGE_PASSWORD"})


async def _throttle_ip(conn: AsyncConnection, settings: Settings, ip: str, client: Any) -> None:
    """Credential stuffing: too many failed logins from one address, whatever the accounts → 429."""
    limit = settings.login_max_failures_per_ip
    if not limit or await _failures(conn, settings, ip=ip) < limit:
        return
    await audit.record(
        conn, action="login.throttled", resource_type="ip", resource_id=ip, outcome="failure",
        actor=Actor(client_id=client.id), details={"reason": "ip_failures"},
    )  # fmt: skip
    retry = str(settings.login_failures_window_seconds)
    message = "Too many failed logins from this address. Try later."
    raise Refusal(ApiError(429, "too_many_requests", message, headers={"Retry-After": retry}))


async def _record_failure(
    conn: AsyncConnection, settings: Settings, account: str, user: Any, ip: str, grant: str, actor: Actor
) -> None:
    """A wrong password (or an unknown e-mail, answered the same): counted per account and per IP."""
    await conn.execute(
        login_failures.insert().values(account=account, user_id=user.id if user else None, ip=ip, at=clock.now())
    )
    await audit.record(
        conn, action="login.failure", resource_type="user", resource_id=user.id if user else None,
        outcome="failure", actor=actor,
        details={"reason": "wrong_password" if user else "unknown_user", "grant": grant},
    )  # fmt: skip
    if user is not None and await _failures(conn, settings, account=account) >= settings.login_max_failures:
        await audit.record(
            conn, action="user.locked", resource_type="user", resource_id=user.id, actor=actor,
            details={"window_seconds": settings.login_failures_window_seconds},
        )  # fmt: skip


async def password_grant(
    engine: AsyncEngine,
    settings: Settings,
    *,
    grant: str,
    email: str,
    password: str,
    client_id: str,
    scope: str,
    ip: str,
) -> Answer:
    wanted = APP_AUTHORIZE if grant == "password" else CHANGE_PASSWORD_SCOPE
    if scope.strip() != wanted:
        raise field_error("$.token.scope", "inclusion", f"scope must be {wanted!r} for grant {grant}", [wanted])

    async def work(conn: AsyncConnection) -> Answer:
        client = await _client(conn, client_id)
        await _throttle_ip(conn, settings, ip, client)
        user = await users.by_email(conn, email)
        actor = Actor(user.id if user else None, client.id)
        account = tokens.digest(email.strip().lower())
        if await _failures(conn, settings, account=account) >= settings.login_max_failures:
            await audit.record(
                conn, action="login.locked", resource_type="user", resource_id=user.id if user else None,
                outcome="failure", actor=actor,
            )  # fmt: skip
            raise Refusal(ApiError(401, "access_denied", LOCKED))
        # always one Argon2 verification (a dummy hash for an unknown e-mail): the same time either way
        verified = await passwords.verify_password(user.password_hash if user else None, password)
        if user is None or not verified:
            await _record_failure(conn, settings, account, user, ip, grant, actor)
            raise Refusal(ApiError(401, "access_denied", WRONG_CREDENTIALS))
        await conn.execute(delete(login_failures).where(login_failures.c.account == account))
        if passwords.needs_rehash(user.password_hash):  # Argon2 parameters were raised since it was set
            new_hash = await passwords.hash_password(password)
            await conn.execute(update(users.users).where(users.users.c.id == user.id).values(password_hash=new_hash))
        if user.is_blocked:
            await audit.record(
                conn, action="login.failure", resource_type="user", resource_id=user.id, outcome="failure",
                actor=actor, details={"reason": "user_blocked"},
            )  # fmt: skip
            raise Refusal(ApiError(401, "user_blocked", "User blocked."))
        if grant == "password" and password_expired(user, settings):
            await audit.record(
                conn, action="login.password_expired", resource_type="user", resource_id=user.id,
                outcome="failure", actor=actor,
            )  # fmt: skip
            raise Refusal(ApiError(401, "password_expired", f"The password expired for user: {user.id}"))
        await audit.record(
            conn, action="login.password_ok", resource_type="user", resource_id=user.id, actor=actor,
            details={"grant": grant},
        )  # fmt: skip
        return await _session(conn, settings, user, client, scope.strip(), actor)

    return await in_transaction(engine, work)


async def _two_fa_user(conn: AsyncConnection, row: Any) -> Any:
    user = await users.get(conn, row.user_id)
    if user.is_blocked:
        raise ApiError(401, "user_blocked", "User blocked.")
    return user


async def authorize_2fa(engine: AsyncEngine, settings: Settings, *, bearer: str | None, otp: str) -> Answer:
    async def work(conn: AsyncConnection) -> Answer:
        row = await tokens.session_token(conn, bearer, tokens.TWO_FA)
        user = await _two_fa_user(conn, row)
        actor = Actor(user.id, row.client_id)
        factor = await factors.active_factor(conn, user.id)
        if factor is None:
            raise Conflict("Factor is not set. Initialize a factor first.")
        if factor.type == factors.TOTP:
            await factors.check_totp(conn, settings, factor=factor, code=otp, actor=actor)
        else:
            await factors.check_sms_code(conn, settings, user_id=user.id, purpose="login", code=otp, actor=actor)
        client = (await conn.execute(select(clients).where(clients.c.id == row.client_id))).one()
        return await _final_token(conn, settings, user, client, row.details.get("scope_request", APP_AUTHORIZE), actor)

    return await in_transaction(engine, work)


async def refresh_2fa(engine: AsyncEngine, settings: Settings, *, bearer: str | None) -> Answer:
    """Send a new code (3 a minute at most) and replace the 2FA token."""

    async def work(conn: AsyncConnection) -> Answer:
        row = await tokens.session_token(conn, bearer, tokens.TWO_FA)
        user = await _two_fa_user(conn, row)
        client = (await conn.execute(select(clients).where(clients.c.id == row.client_id))).one()
        return await _session(
            conn, settings, user, client, row.details.get("scope_request", APP_AUTHORIZE), Actor(user.id, client.id)
        )

    return await in_transaction(engine, work)


async def init_factor(
    engine: AsyncEngine, settings: Settings, *, bearer: str | None, factor_type: str, phone: str | None
) -> Answer:
    """Start enrolling a factor: SMS sends a code to the new phone; TOTP returns a new secret once.

    Allowed with a 2FA token of a user who has no factor yet (first enrolment) or with a full session
    token (the user passed the second factor in this session)."""

    async def work(conn: AsyncConnection) -> Answer:
        row = await tokens.session_token(conn, bearer, tokens.TWO_FA, tokens.ACCESS)
        user = await _two_fa_user(conn, row)
        actor = Actor(user.id, row.client_id)
        if row.name == tokens.TWO_FA and await factors.active_factor(conn, user.id) is not None:
            raise ApiError(403, "forbidden", "Factor already set: pass the second factor first.")
        if factor_type == factors.SMS:
            if not phone:
                raise field_error("$.factor.factor", "required", "phone number is required for SMS")
            await factors.send_sms_code(
                conn, settings, user_id=user.id, phone=phone, purpose="factor", token_id=row.id, actor=actor
            )
            return Answer({"type": factors.SMS, "factor": factors.mask_phone(phone)}, {"next_step": APPROVE_FACTOR})
        secret = factors.new_totp_secret()
        await conn.execute(
            insert(authentication_factors)
            .values(id=uuid7(), user_id=user.id, type=factors.TOTP, factor=secret, is_active=False)
            .on_conflict_do_update(
                index_elements=[authentication_factors.c.user_id, authentication_factors.c.type],
                set_={"factor": secret, "is_active": False, "last_timecode": None},
            )
        )
        await audit.record(
            conn,
            action="factor.init",
            resource_type="user",
            resource_id=user.id,
            actor=actor,
            details={"type": factors.TOTP},
        )
        return Answer(
            {"type": factors.TOTP, "secret": secret, "otpauth_uri": factors.totp_uri(secret, user.email)},
            {"next_step": APPROVE_FACTOR},
        )

    return await in_transaction(engine, work)


async def approve_factor(engine: AsyncEngine, settings: Settings, *, bearer: str | None, otp: str) -> Answer:
    """Confirm the factor being enrolled with its code; the user's other sessions end (ASVS 7.4.3)."""

    async def work(conn: AsyncConnection) -> Answer:
        row = await tokens.session_token(conn, bearer, tokens.TWO_FA, tokens.ACCESS)
        user = await _two_fa_user(conn, row)
        actor = Actor(user.id, row.client_id)
        if row.name == tokens.TWO_FA and await factors.active_factor(conn, user.id) is not None:
            raise ApiError(403, "forbidden", "Factor already set: pass the second factor first.")
        pending_totp = (
            await conn.execute(
                select(authentication_factors).where(
                    authentication_factors.c.user_id == user.id,
                    authentication_factors.c.type == factors.TOTP,
                    authentication_factors.c.is_active.is_(False),
                )
            )
        ).first()
        if pending_totp is not None:
            await factors.check_totp(conn, settings, factor=pending_totp, code=otp, actor=actor, approve=True)
            factor_type = factors.TOTP
        else:
            phone = await factors.check_sms_code(
                conn, settings, user_id=user.id, purpose="factor", code=otp, actor=actor
            )
            await users.set_sms_factor(conn, user.id, phone, actor)
            factor_type = factors.SMS
        await audit.record(
            conn,
            action="factor.approved",
            resource_type="user",
            resource_id=user.id,
            actor=actor,
            details={"type": factor_type},
        )
        await tokens.revoke_live_sessions(conn, user.id)
        client = (await conn.execute(select(clients).where(clients.c.id == row.client_id))).one()
        scope = row.details.get("scope_request", APP_AUTHORIZE) if row.name == tokens.TWO_FA else row.scope
        return await _final_token(conn, settings, user, client, scope, actor)

    return await in_transaction(engine, work)


async def update_password(
    engine: AsyncEngine, settings: Settings, *, bearer: str | None, password: str, current_password: str | None
) -> dict[str, Any]:
    """With a change-password token; or with a session token and the current password (ASVS 6.2.3)."""

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        row = await tokens.session_token(conn, bearer, tokens.CHANGE_PASSWORD, tokens.ACCESS)
        user = await _two_fa_user(conn, row)
        actor = Actor(user.id, row.client_id)
        if row.name == tokens.ACCESS:
            if not current_password or not await passwords.verify_password(user.password_hash, current_password):
                await audit.record(
                    conn, action="password.change_denied", resource_type="user", resource_id=user.id,
                    outcome="failure", actor=actor, details={"reason": "current_password"},
                )  # fmt: skip
                raise Refusal(ApiError(403, "forbidden", "Current password is missing or wrong."))
        await users.check_new_password(conn, settings, user, password, actor, "$.user.password")
        await users.store_password(conn, settings, user.id, password, actor, "password.changed")
        return users.public(await users.get(conn, user.id))

    return await in_transaction(engine, work)
