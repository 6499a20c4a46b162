"""Opaque tokens: issued as 256-bit random strings, stored as SHA-256 digests, shown once.

Kinds (`name`), as in the real system: access_token, refresh_token, authorization_code,
2fa_access_token, change_password_token; and esoz's change_factor_token. Issuing a session token (access,
2FA, change-password, change-factor) expires every other live one of the same user × client (one session
per user per client).
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.audit import Actor
from esoz.core.auth import AuthContext
from esoz.core.errors import ApiError
from esoz.core.ids import uuid7
from esoz.identity import token_cache
from esoz.identity.models import clients, tokens, users

ACCESS = "access_token"
REFRESH = "refresh_token"
CODE = "authorization_code"
TWO_FA = "2fa_access_token"
CHANGE_PASSWORD = "change_password_token"
# esoz: opens only the factor actions, minutes after the password and the current second factor (step-up)
CHANGE_FACTOR = "change_factor_token"
SESSION_KINDS = (ACCESS, TWO_FA, CHANGE_PASSWORD, CHANGE_FACTOR)


def new_value() -> str:
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Issued:
    id: uuid.UUID
    name: str
    value: str
    user_id: uuid.UUID
    client_id: uuid.UUID
    scope: str
    expires_at: datetime
    family_id: uuid.UUID
    details: dict[str, Any]

    def as_contract(self, **extra_details: Any) -> dict[str, Any]:
        """The real system's token object (`Access_Token`)."""
        return {
            "id": self.id,
            "name": self.name,
            "value": self.value,
            "user_id": self.user_id,
            "expires_at": int(self.expires_at.timestamp()),
            "details": {"client_id": self.client_id, "scope": self.scope, **self.details, **extra_details},
        }


def token_error(type_: str, message: str) -> ApiError:
    return ApiError(401, type_, message)


async def revoke_live_sessions(conn: AsyncConnection, user_id: uuid.UUID, client_id: uuid.UUID | None = None) -> int:
    """Expire live session tokens (and their refresh tokens) of a user, for one client or for all."""
    now = clock.now()
    cond = [tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None), tokens.c.expires_at > now]
    if client_id is not None:
        cond.append(tokens.c.client_id == client_id)
    result = await conn.execute(
        update(tokens)
        .where(and_(*cond), tokens.c.name.in_([*SESSION_KINDS, REFRESH, CODE]))
        .values(revoked_at=now)
        .returning(tokens.c.value_hash)
    )
    revoked = result.scalars().all()
    token_cache.evict_here(revoked)
    return len(revoked)


async def issue(
    conn: AsyncConnection,
    *,
    name: str,
    user_id: uuid.UUID,
    client_id: uuid.UUID,
    scope: str,
    lifetime: int,
    family_id: uuid.UUID | None = None,
    mis_client_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> Issued:
    now = clock.now()
    if name in SESSION_KINDS:
        # one live session per user × client: the new one expires the old (with its refresh tokens)
        result = await conn.execute(
            update(tokens)
            .where(
                tokens.c.user_id == user_id,
                tokens.c.client_id == client_id,
                tokens.c.name.in_([*SESSION_KINDS, REFRESH]),
                tokens.c.revoked_at.is_(None),
                tokens.c.expires_at > now,
            )
            .values(revoked_at=now)
            .returning(tokens.c.value_hash)
        )
        token_cache.evict_here(result.scalars().all())
    value = new_value()
    token_id = uuid7()
    family = family_id or token_id
    expires_at = now + timedelta(seconds=lifetime)
    await conn.execute(
        tokens.insert().values(
            id=token_id,
            name=name,
            value_hash=digest(value),
            user_id=user_id,
            client_id=client_id,
            mis_client_id=mis_client_id,
            scope=scope,
            family_id=family,
            expires_at=expires_at,
            details=details or {},
            inserted_at=now,
        )
    )
    await audit.record(
        conn,
        action="token.issued",
        resource_type="token",
        resource_id=token_id,
        actor=actor or Actor(user_id, client_id),
        details={"name": name, "scope": scope, "family_id": str(family)},
    )
    return Issued(token_id, name, value, user_id, client_id, scope, expires_at, family, details or {})


async def find(conn: AsyncConnection, value: str, *, lock: bool = False) -> Any:
    """The token row behind a value (with its client), or None."""
    query = (
        select(tokens, clients.c.client_type, clients.c.legal_entity_id, clients.c.is_blocked.label("client_blocked"))
        .join(clients, clients.c.id == tokens.c.client_id)
        .where(tokens.c.value_hash == digest(value))
    )
    if lock:
        query = query.with_for_update(of=tokens)
    return (await conn.execute(query)).first()


async def _touch(conn: AsyncConnection, row: Any, idle: int) -> datetime | None:
    """Idle timeout: None if unused for `idle` seconds; else note the use (at most once a minute, so
    the check costs a write only every minute per token) and return the last use the database now holds."""
    last: datetime = row.last_used_at or row.inserted_at
    if idle <= 0:
        return last
    now = clock.now()
    if last + timedelta(seconds=idle) <= now:
        return None
    if now - last >= token_cache.TOUCH_EVERY:
        await conn.execute(
            update(tokens).where(tokens.c.id == row.id, tokens.c.revoked_at.is_(None)).values(last_used_at=now)
        )
        return now
    return last


def is_live(row: Any) -> bool:
    return row.revoked_at is None and row.expires_at > clock.now()


async def revoke_family(conn: AsyncConnection, family_id: uuid.UUID, reason: str, actor: Actor) -> int:
    result = await conn.execute(
        update(tokens)
        .where(tokens.c.family_id == family_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .returning(tokens.c.value_hash)
    )
    revoked = result.scalars().all()
    token_cache.evict_here(revoked)
    count = len(revoked)
    await audit.record(
        conn,
        action="token.revoked",
        resource_type="token_family",
        resource_id=family_id,
        actor=actor,
        details={"reason": reason, "tokens": count},
    )
    return count


async def session_token(conn: AsyncConnection, value: str | None, *names: str, lock: bool = False) -> Any:
    """A live token of one of `names` (for /auth/login's second step, factors, update password); `lock` holds
    its row to the end of the transaction (a single-use step)."""
    if not value:
        raise token_error("access_denied", "Authorization header is missing")
    row = await find(conn, value, lock=lock)
    if row is None:
        raise token_error("token_not_found", "Token not found.")
    if not is_live(row):
        raise token_error("token_expired", "Token expired.")
    if row.name not in names:
        raise token_error("token_invalid_type", "Invalid token type.")
    return row


# Built once: SQLAlchemy memoizes a statement's cache key on the object, so a module-level statement skips
# rebuilding the select and re-deriving its cache key on every request (bench/README.md: ~15 % of the gate's CPU).
_VERIFY = (
    select(
        tokens.c.id,
        tokens.c.name,
        tokens.c.user_id,
        tokens.c.client_id,
        tokens.c.mis_client_id,
        tokens.c.scope,
        tokens.c.expires_at,
        tokens.c.revoked_at,
        tokens.c.inserted_at,
        tokens.c.last_used_at,
        users.c.is_blocked,
        clients.c.client_type,
        clients.c.legal_entity_id,
        clients.c.is_blocked.label("client_blocked"),
    )
    .join(users, users.c.id == tokens.c.user_id)
    .join(clients, clients.c.id == tokens.c.client_id)
    .where(tokens.c.value_hash == bindparam("value_hash"))
)


async def verify_access_token(request: Request, value: str) -> AuthContext:
    """core.auth's token verifier: bearer value → who calls, for which legal entity, with which scopes.
    A hit of the worker's token cache (token_cache.py) answers without the database."""
    key = digest(value)
    idle = request.app.state.settings.token_idle_seconds
    cache: token_cache.TokenCache | None = getattr(request.app.state, "token_cache", None)
    if cache is not None and (cached := cache.get(key, idle)) is not None:
        return cached
    mark = cache.mark() if cache is not None else 0
    # The gate's own pool (app.py): the route may already hold a connection of the main pool.
    engine = getattr(request.app.state, "auth_engine", None) or request.app.state.engine
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        row = (await conn.execute(_VERIFY, {"value_hash": key})).first()
        if row is None:
            raise token_error("token_not_found", "Token not found.")
        if row.name not in (ACCESS, CHANGE_PASSWORD):
            raise token_error("token_invalid_type", "Invalid token type.")
        last_used = await _touch(conn, row, idle) if is_live(row) else None
        if last_used is None:
            raise token_error("token_expired", "Token expired.")
    if row.is_blocked:
        raise token_error("user_blocked", "User blocked.")
    if row.client_blocked:
        raise token_error("access_denied", "Client is blocked.")
    ctx = AuthContext(
        user_id=row.user_id,
        client_id=row.client_id,
        legal_entity_id=row.legal_entity_id,
        client_type=row.client_type,
        scopes=frozenset(row.scope.split()),
        mis_client_id=row.mis_client_id,
        token_id=row.id,
    )
    if cache is not None:
        cache.put(key, ctx, expires_at=row.expires_at, last_used=last_used, mark=mark)
    return ctx
