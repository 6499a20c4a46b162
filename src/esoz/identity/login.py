"""`POST /auth/login` grants — password, change_password, authorize_2fa_access_token,
refresh_2fa_access_token — and the factor actions, as the real system (mithril) answers them.

No token that opens anything but the second step is minted before the second factor: the password
step yields a `2fa_access_token` (scope "", with the requested scope kept in `details.scope_request`).

Changing a second factor takes a step-up (esoz; the real system lets any session token do it): the
password grant with scope `user:change_factor`, then the current second factor, yield a
`change_factor_token` that opens only the factor actions and only within `factor_change_window_seconds`
of the password. A user without any factor yet enrols the first one with the 2FA token of the sign-in.
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import audit, clock
from esoz.core.audit import Actor
from esoz.core.errors import ApiError, Conflict, field_error
from esoz.identity import factors, passwords, tokens, users
from esoz.identity.models import clients, login_failures
from esoz.identity.tx import Refusal, in_transaction
from esoz.settings import Settings

WRONG_CREDENTIALS = "Identity, password combination is wrong."
LOCKED = "You reached login attempts limit. Try again later"
APP_AUTHORIZE = "app:authorize"
CHANGE_PASSWORD_SCOPE = "user:change_password"
CHANGE_FACTOR_SCOPE = "user:change_factor"
GRANT_SCOPES = {"password": (APP_AUTHORIZE, CHANGE_FACTOR_SCOPE), "change_password": (CHANGE_PASSWORD_SCOPE,)}
TOKEN_FOR_SCOPE = {CHANGE_PASSWORD_SCOPE: tokens.CHANGE_PASSWORD, CHANGE_FACTOR_SCOPE: tokens.CHANGE_FACTOR}

REQUEST_APPS = "REQUEST_APPS"
REQUEST_OTP = "REQUEST_OTP"
REQUEST_FACTOR = "REQUEST_FACTOR"
APPROVE_FACTOR = "APPROVE_FACTOR"
# after a change-factor token, the next step is the factor's init (the real system's REQUEST_FACTOR)
NEXT_STEP = {
    tokens.ACCESS: REQUEST_APPS,
    tokens.CHANGE_PASSWORD: "CHANGE_PASSWORD",
    tokens.CHANGE_FACTOR: REQUEST_FACTOR,
}


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


def _epoch() -> float:
    return clock.now().timestamp()


def _password_at(row: Any) -> float:
    """When the password behind a 2FA token was checked (a code resend keeps it: only the password proves it)."""
    return float(row.details.get("password_verified_at") or row.inserted_at.timestamp())


def _step_up_expired(settings: Settings) -> ApiError:
    seconds = settings.factor_change_window_seconds
    return ApiError(
        401, "token_expired", f"Step-up is older than {seconds} s: sign in again with scope {CHANGE_FACTOR_SCOPE}."
    )


async def _session(
    conn: AsyncConnection, settings: Settings, user: Any, client: Any, scope: str, actor: Actor, password_at: float
) -> Answer:
    """After the password: a 2FA step if a factor is required or set, else the session token itself."""
    factor = await factors.active_factor(conn, user.id)
    if factor is None and not settings.two_factor_required:
        return await _final_token(conn, settings, user, client, scope, actor, password_at, None)
    issued = await tokens.issue(
        conn,
        name=tokens.TWO_FA,
        user_id=user.id,
        client_id=client.id,
        scope="",
        lifetime=settings.token_session_seconds,
        details={"scope_request": scope, "grant_type": "password", "password_verified_at": password_at},
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
    conn: AsyncConnection,
    settings: Settings,
    user: Any,
    client: Any,
    scope: str,
    actor: Actor,
    password_at: float,
    second_factor_at: float | None,
) -> Answer:
    """The token the password (and the second factor) opened. A change-factor token lives only as long as its
    step-up counts: `factor_change_window_seconds` from the password."""
    name = TOKEN_FOR_SCOPE.get(scope, tokens.ACCESS)
    lifetime = settings.token_session_seconds
    details: dict[str, Any] = {"grant_type": "password"}
    if name == tokens.CHANGE_FACTOR:
        lifetime = int(password_at + settings.factor_change_window_seconds - _epoch())
        if lifetime <= 0:
            raise _step_up_expired(settings)
        details |= {"password_verified_at": password_at, "second_factor_verified_at": second_factor_at}
    issued = await tokens.issue(
        conn,
        name=name,
        user_id=user.id,
        client_id=client.id,
        scope=scope,
        lifetime=lifetime,
        details=details,
        actor=actor,
    )
    action = "factor.step_up" if name == tokens.CHANGE_FACTOR else "login.success"
    await audit.record(conn, action=action, resource_type="user", resource_id=user.id, actor=actor)
    return Answer(issued.as_contract(), {"next_step": NEXT_STEP[name]})


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
    wanted = GRANT_SCOPES[grant]
    if scope.strip() not in wanted:
        message = f"scope must be {' or '.join(repr(w) for w in wanted)} for grant {grant}"
        raise field_error("$.token.scope", "inclusion", message, list(wanted))

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
        return await _session(conn, settings, user, client, scope.strip(), actor, _epoch())

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
        scope = row.details.get("scope_request", APP_AUTHORIZE)
        return await _final_token(conn, settings, user, client, scope, actor, _password_at(row), _epoch())

    return await in_transaction(engine, work)


async def refresh_2fa(engine: AsyncEngine, settings: Settings, *, bearer: str | None) -> Answer:
    """Send a new code (3 a minute at most) and replace the 2FA token."""

    async def work(conn: AsyncConnection) -> Answer:
        row = await tokens.session_token(conn, bearer, tokens.TWO_FA)
        user = await _two_fa_user(conn, row)
        client = (await conn.execute(select(clients).where(clients.c.id == row.client_id))).one()
        scope = row.details.get("scope_request", APP_AUTHORIZE)
        return await _session(conn, settings, user, client, scope, Actor(user.id, client.id), _password_at(row))

    return await in_transaction(engine, work)


async def _factor_token(conn: AsyncConnection, settings: Settings, bearer: str | None, *, lock: bool = False) -> Any:
    """The token that may touch the user's factors: a change-factor token whose step-up still counts, or the
    sign-in's 2FA token of a user with no factor yet (first enrolment). Access tokens never: whoever holds one
    (an MIS, a stolen session) has proven neither the password nor the factor just now."""
    row = await tokens.session_token(conn, bearer, tokens.TWO_FA, tokens.CHANGE_FACTOR, lock=lock)
    user = await _two_fa_user(conn, row)
    if row.name == tokens.TWO_FA:
        if await factors.active_factor(conn, user.id) is not None:
            await audit.record(
                conn, action="factor.change_denied", resource_type="user", resource_id=user.id, outcome="failure",
                actor=Actor(user.id, row.client_id), details={"reason": "second_factor_not_passed"},
            )  # fmt: skip
            raise Refusal(ApiError(403, "forbidden", "Factor already set: pass the second factor first."))
        return row, user
    proofs = [row.details.get("password_verified_at"), row.details.get("second_factor_verified_at")]
    proven = [float(t) for t in proofs if t is not None]
    if not proven or min(proven) + settings.factor_change_window_seconds <= _epoch():
        await audit.record(
            conn, action="factor.change_denied", resource_type="user", resource_id=user.id, outcome="failure",
            actor=Actor(user.id, row.client_id), details={"reason": "step_up_expired"},
        )  # fmt: skip
        raise Refusal(_step_up_expired(settings))
    return row, user


async def _set_token_details(conn: AsyncConnection, token_id: uuid.UUID, details: dict[str, Any]) -> None:
    await conn.execute(update(tokens.tokens).where(tokens.tokens.c.id == token_id).values(details=details))


async def init_factor(
    engine: AsyncEngine, settings: Settings, *, bearer: str | None, factor_type: str, phone: str | None
) -> Answer:
    """Start enrolling a factor: SMS sends a code to the new phone; TOTP returns a new secret once. The
    secret waits with the token until approved: the current factor keeps working until then."""

    async def work(conn: AsyncConnection) -> Answer:
        row, user = await _factor_token(conn, settings, bearer)
        actor = Actor(user.id, row.client_id)
        details = {k: v for k, v in row.details.items() if k != "pending_totp"}  # a new start replaces the last
        if factor_type == factors.SMS:
            if not phone:
                raise field_error("$.factor.factor", "required", "phone number is required for SMS")
            await _set_token_details(conn, row.id, details)
            await factors.send_sms_code(
                conn, settings, user_id=user.id, phone=phone, purpose="factor", token_id=row.id, actor=actor
            )
            await audit.record(
                conn, action="factor.init", resource_type="user", resource_id=user.id, actor=actor,
                details={"type": factors.SMS, "phone": factors.mask_phone(phone), "token": row.name},
            )  # fmt: skip
            return Answer({"type": factors.SMS, "factor": factors.mask_phone(phone)}, {"next_step": APPROVE_FACTOR})
        secret = factors.new_totp_secret()
        await _set_token_details(conn, row.id, {**details, "pending_totp": secret})
        await audit.record(
            conn, action="factor.init", resource_type="user", resource_id=user.id, actor=actor,
            details={"type": factors.TOTP, "token": row.name},
        )  # fmt: skip
        return Answer(
            {"type": factors.TOTP, "secret": secret, "otpauth_uri": factors.totp_uri(secret, user.email)},
            {"next_step": APPROVE_FACTOR},
        )

    return await in_transaction(engine, work)


async def approve_factor(engine: AsyncEngine, settings: Settings, *, bearer: str | None, otp: str) -> Answer:
    """Confirm the factor being enrolled with its code. The user is told on the channel they had before, and
    every session ends (ASVS 7.4.3), the change-factor token with them. A first enrolment during sign-in
    goes on to the token the sign-in asked for."""

    async def work(conn: AsyncConnection) -> Answer:
        row, user = await _factor_token(conn, settings, bearer, lock=True)
        actor = Actor(user.id, row.client_id)
        old_phone = await factors.sms_phone(conn, user.id)
        secret = row.details.get("pending_totp")
        shown: str | None = None
        if secret:
            timecode = await factors.check_new_totp(
                conn, settings, user_id=user.id, secret=secret, code=otp, actor=actor
            )
            await factors.activate_totp(conn, user_id=user.id, secret=secret, timecode=timecode)
            factor_type = factors.TOTP
        else:
            phone = await factors.check_sms_code(
                conn, settings, user_id=user.id, purpose="factor", code=otp, actor=actor
            )
            await users.set_sms_factor(conn, user.id, phone, actor)
            factor_type, shown = factors.SMS, factors.mask_phone(phone)
        channel = await factors.notify_change(
            conn, user_id=user.id, email=user.email, old_phone=old_phone, what=factor_type,
            key=f"factor-changed:{row.id}",
        )  # fmt: skip
        await audit.record(
            conn, action="factor.approved", resource_type="user", resource_id=user.id, actor=actor,
            details={"type": factor_type, "token": row.name, "notified": channel},
        )  # fmt: skip
        await tokens.revoke_live_sessions(conn, user.id)
        if row.name == tokens.CHANGE_FACTOR:
            return Answer({"type": factor_type, "factor": shown, "is_active": True})
        client = (await conn.execute(select(clients).where(clients.c.id == row.client_id))).one()
        scope = row.details.get("scope_request", APP_AUTHORIZE)
        return await _final_token(conn, settings, user, client, scope, actor, _password_at(row), _epoch())

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
