"""OAuth 2.0 for MIS clients: app approval → authorization code → tokens, refresh rotation,
revocation (RFC 7009), introspection (RFC 7662), server metadata (RFC 8414).

One service serves both faces: the real system's JSON endpoints (`/oauth/apps/authorize`,
`/oauth/tokens`, contract envelope) and the standard form-encoded ones (`/oauth/token`, `/oauth/revoke`,
`/oauth/introspect`, RFC 6749 error bodies). Errors are Authlib's RFC 6749 error classes.

Rules: client = the legal entity's client, authenticated by a MIS connection secret; redirect_uri must
equal the connection's exactly; PKCE is S256 only (the standard endpoint requires it, the contract
endpoint requires it when the code was issued with a challenge); a code is single-use and a replay
revokes everything issued from it; a refresh token rotates, and a replay of a rotated one revokes the
family; a refresh family never outlives its first refresh token (absolute expiry).
"""

import hmac
import re
import uuid
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc6749 import errors as oauth_errors
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import audit, clock
from esoz.core.audit import Actor
from esoz.core.errors import ApiError, Forbidden, field_error
from esoz.core.fastsql import FastQuery
from esoz.core.ids import uuid7
from esoz.identity import scopes, tokens, users
from esoz.identity.models import apps, clients, connections
from esoz.identity.tx import Refusal, in_transaction
from esoz.settings import Settings

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


class OAuthError(ApiError):
    """An RFC 6749 error; the contract endpoints render it as the envelope, the standard ones as RFC bodies."""

    def __init__(self, error: oauth_errors.OAuth2Error, status: int | None = None) -> None:
        status = status or error.status_code
        super().__init__(status, error.error, error.description or error.error)
        self.oauth_body = dict(error.get_body())


def invalid_client(description: str = "Invalid client id or secret.") -> OAuthError:
    return OAuthError(oauth_errors.InvalidClientError(description=description), 401)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError(oauth_errors.InvalidGrantError(description=description))


def invalid_request(description: str) -> OAuthError:
    return OAuthError(oauth_errors.InvalidRequestError(description=description))


# --- approval (the sign-in page's last step) ---------------------------------------------------------


async def _connection_for_redirect(conn: AsyncConnection, client_id: uuid.UUID, redirect_uri: str) -> Any:
    """The MIS connection whose registered redirect_uri equals this one exactly (no prefix, no regex)."""
    return (
        await conn.execute(
            select(connections).where(connections.c.client_id == client_id, connections.c.redirect_uri == redirect_uri)
        )
    ).first()


async def check_authorize_request(
    conn: AsyncConnection, *, client_id: str, redirect_uri: str, code_challenge: str | None, method: str | None
) -> Any:
    """What the sign-in page checks before showing anything: a known client, a registered redirect."""
    try:
        cid = uuid.UUID(client_id)
    except ValueError:
        raise invalid_request("Unknown client_id.") from None
    client = (await conn.execute(select(clients).where(clients.c.id == cid))).first()
    if client is None or client.is_blocked:
        raise invalid_request("Unknown or blocked client_id.")
    if await _connection_for_redirect(conn, cid, redirect_uri) is None:
        raise invalid_request("redirect_uri is not registered for this client.")
    if code_challenge is not None or method is not None:
        if method != "S256":
            raise invalid_request("Only code_challenge_method=S256 is supported.")
        if not code_challenge or not _CHALLENGE.match(code_challenge):
            raise invalid_request("code_challenge must be a base64url SHA-256 digest.")
    return client


async def authorize_app(
    engine: AsyncEngine,
    settings: Settings,
    *,
    bearer: str | None,
    client_id: str,
    redirect_uri: str,
    scope: str,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
) -> tuple[dict[str, Any], str]:
    """`POST /oauth/apps/authorize`: approve the client for the user, issue a code; returns (token, redirect)."""

    async def work(conn: AsyncConnection) -> tuple[dict[str, Any], str]:
        session = await tokens.session_token(conn, bearer, tokens.ACCESS)
        if "app:authorize" not in session.scope.split():
            raise Forbidden("Your scope does not allow to access this resource. Missing allowances: app:authorize")
        try:
            client = await check_authorize_request(
                conn,
                client_id=client_id,
                redirect_uri=redirect_uri,
                code_challenge=code_challenge,
                method=code_challenge_method,
            )
        except OAuthError as exc:
            raise field_error("$.app", "invalid", exc.message) from None
        if client.id != session.client_id:
            raise Forbidden("The session was opened for another client.")
        user = await users.get(conn, session.user_id)
        if user.is_blocked:
            raise ApiError(401, "user_blocked", "User blocked.")
        requested = set(scopes.split(scope))
        if not requested:
            raise field_error("$.app.scope", "required", "scope is required")
        if not requested <= scopes.client_type_scopes(client.client_type):
            raise field_error("$.app.scope", "inclusion", "Scope is not allowed by client type.")
        if not requested <= await users.allowed_scopes(conn, user.id, client):
            raise field_error(
                "$.app.scope", "inclusion", "User requested scope that is not allowed by role based access policies."
            )
        connection = await _connection_for_redirect(conn, client.id, redirect_uri)
        actor = Actor(user.id, client.id, client.legal_entity_id)
        now = clock.now()
        await conn.execute(
            insert(apps)
            .values(id=uuid7(), user_id=user.id, client_id=client.id, scope=scopes.join(requested))
            .on_conflict_do_update(
                index_elements=[apps.c.user_id, apps.c.client_id],
                set_={"scope": scopes.join(requested), "updated_at": now},
            )
        )
        await audit.record(
            conn, action="app.approved", resource_type="client", resource_id=client.id, actor=actor,
            details={"scope": scopes.join(requested), "consumer_id": str(connection.consumer_id)},
        )  # fmt: skip
        details: dict[str, Any] = {
            "redirect_uri": redirect_uri,
            "scope_request": scopes.join(requested),
            "grant_type": "password",
            "connection_id": str(connection.id),
        }
        if code_challenge:
            details["code_challenge"] = code_challenge
            details["code_challenge_method"] = "S256"
        code = await tokens.issue(
            conn,
            name=tokens.CODE,
            user_id=user.id,
            client_id=client.id,
            scope=scopes.join(requested),
            lifetime=settings.token_code_seconds,
            mis_client_id=connection.consumer_id,
            details=details,
            actor=actor,
        )
        data = code.as_contract()
        data["details"] = {k: v for k, v in data["details"].items() if not k.startswith("code_challenge")}
        sep = "&" if "?" in redirect_uri else "?"
        return data, f"{redirect_uri}{sep}{urlencode({'code': code.value})}"

    return await in_transaction(engine, work)


# --- token endpoint ---------------------------------------------------------------------------------


def _client_uuid(client_id: str | None, secret: str | None) -> uuid.UUID:
    if not client_id or not secret:
        raise invalid_client("client_id and client_secret are required.")
    try:
        return uuid.UUID(client_id)
    except ValueError:
        raise invalid_client() from None


# The client and the MIS connection that presented the secret, in one read built once (token grants, revocation,
# and introspection, 10 % of the national mix: bench/README.md).
_CLIENT_BY_SECRET = FastQuery(
    select(clients, connections.c.consumer_id)
    .join(connections, connections.c.client_id == clients.c.id)
    .where(clients.c.id == bindparam("client_id"), connections.c.secret_hash == bindparam("secret_hash"))
)


async def authenticate_client(conn: AsyncConnection, client_id: str | None, secret: str | None) -> Any:
    """client_id = the legal entity's client; client_secret = the secret of one of its MIS connections.
    The row is the client's, plus `consumer_id`: the MIS whose connection secret it was."""
    cid = _client_uuid(client_id, secret)
    client = await _CLIENT_BY_SECRET.first(conn, client_id=cid, secret_hash=tokens.digest(secret or ""))
    if client is None or client.is_blocked:
        raise invalid_client()
    return client


async def _issue_pair(
    conn: AsyncConnection,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    client: Any,
    scope: str,
    family_id: uuid.UUID,
    mis_client_id: uuid.UUID | None,
    grant_type: str,
    redirect_uri: str | None,
    refresh_expires_at: Any = None,
) -> tuple[tokens.Issued, tokens.Issued]:
    actor = Actor(user_id, client.id, client.legal_entity_id)
    access = await tokens.issue(
        conn,
        name=tokens.ACCESS,
        user_id=user_id,
        client_id=client.id,
        scope=scope,
        lifetime=settings.token_access_seconds,
        family_id=family_id,
        mis_client_id=mis_client_id,
        details={"grant_type": grant_type, **({"redirect_uri": redirect_uri} if redirect_uri else {})},
        actor=actor,
    )
    lifetime = settings.token_refresh_seconds
    if refresh_expires_at is not None:  # rotation keeps the family's absolute end
        lifetime = max(int((refresh_expires_at - clock.now()).total_seconds()), 1)
    refresh = await tokens.issue(
        conn,
        name=tokens.REFRESH,
        user_id=user_id,
        client_id=client.id,
        scope=scope,
        lifetime=lifetime,
        family_id=family_id,
        mis_client_id=mis_client_id,
        details={"access_token_id": str(access.id)},
        actor=actor,
    )
    return access, refresh


def _check_pkce(code: Any, verifier: str | None, require: bool) -> None:
    challenge = code.details.get("code_challenge")
    if challenge is None:
        if require:
            raise invalid_grant("PKCE is required: authorize with code_challenge_method=S256.")
        if verifier is not None:
            raise invalid_grant("code_verifier sent for a code issued without code_challenge.")
        return
    if not verifier:
        raise invalid_request("code_verifier is required.")
    if not _VERIFIER.match(verifier) or not hmac.compare_digest(create_s256_code_challenge(verifier), challenge):
        raise invalid_grant("code_verifier does not match the code_challenge.")


async def exchange(
    engine: AsyncEngine,
    settings: Settings,
    *,
    grant_type: str | None,
    client_id: str | None,
    client_secret: str | None,
    code: str | None = None,
    redirect_uri: str | None = None,
    code_verifier: str | None = None,
    refresh_token: str | None = None,
    require_pkce: bool,
) -> tuple[tokens.Issued, tokens.Issued]:
    if grant_type not in ("authorization_code", "refresh_token"):
        raise OAuthError(oauth_errors.UnsupportedGrantTypeError(grant_type or ""))

    async def work(conn: AsyncConnection) -> tuple[tokens.Issued, tokens.Issued]:
        client = await authenticate_client(conn, client_id, client_secret)
        if grant_type == "authorization_code":
            return await _code_grant(conn, settings, client, code, redirect_uri, code_verifier, require_pkce)
        return await _refresh_grant(conn, settings, client, refresh_token)

    return await in_transaction(engine, work)


async def _code_grant(
    conn: AsyncConnection,
    settings: Settings,
    client: Any,
    value: str | None,
    redirect_uri: str | None,
    verifier: str | None,
    require_pkce: bool,
) -> tuple[tokens.Issued, tokens.Issued]:
    if not value:
        raise invalid_request("code is required.")
    code = await tokens.find(conn, value, lock=True)
    if code is None or code.name != tokens.CODE or code.client_id != client.id:
        raise invalid_grant("Invalid authorization code.")
    actor = Actor(code.user_id, client.id, client.legal_entity_id)
    if code.used_at is not None:
        # RFC 6749 §4.1.2 / ASVS 10.4.2: a replayed code revokes the tokens it produced
        await tokens.revoke_family(conn, code.family_id, "authorization_code_replay", actor)
        raise Refusal(invalid_grant("Authorization code has already been used."))
    if not tokens.is_live(code):
        raise invalid_grant("Authorization code expired.")
    if code.mis_client_id is not None and code.mis_client_id != client.consumer_id:
        raise invalid_grant("Authorization code was issued to another MIS.")
    if redirect_uri != code.details.get("redirect_uri"):
        raise invalid_grant("redirect_uri does not match the one the code was issued for.")
    _check_pkce(code, verifier, require_pkce)
    approval = (
        await conn.execute(select(apps).where(apps.c.user_id == code.user_id, apps.c.client_id == client.id))
    ).first()
    if approval is None:
        raise invalid_grant("Resource owner revoked access for the client.")
    user = await users.get(conn, code.user_id)
    if user.is_blocked:
        raise invalid_grant("User blocked.")
    await conn.execute(update(tokens.tokens).where(tokens.tokens.c.id == code.id).values(used_at=clock.now()))
    scope = scopes.join(set(code.scope.split()) & set(approval.scope.split()))
    return await _issue_pair(
        conn, settings, user_id=code.user_id, client=client, scope=scope, family_id=code.family_id,
        mis_client_id=client.consumer_id, grant_type="authorization_code", redirect_uri=redirect_uri,
    )  # fmt: skip


async def _refresh_grant(
    conn: AsyncConnection, settings: Settings, client: Any, value: str | None
) -> tuple[tokens.Issued, tokens.Issued]:
    if not value:
        raise invalid_request("refresh_token is required.")
    row = await tokens.find(conn, value, lock=True)
    if row is None or row.name != tokens.REFRESH or row.client_id != client.id:
        raise invalid_grant("Invalid refresh token.")
    actor = Actor(row.user_id, client.id, client.legal_entity_id)
    if row.used_at is not None:
        # a rotated-out refresh token came back: someone holds a copy; end the whole family
        await tokens.revoke_family(conn, row.family_id, "refresh_token_replay", actor)
        raise Refusal(invalid_grant("Refresh token has already been used."))
    if not tokens.is_live(row):
        raise invalid_grant("Refresh token expired or revoked.")
    user = await users.get(conn, row.user_id)
    if user.is_blocked:
        raise invalid_grant("User blocked.")
    await conn.execute(update(tokens.tokens).where(tokens.tokens.c.id == row.id).values(used_at=clock.now()))
    return await _issue_pair(
        conn, settings, user_id=row.user_id, client=client, scope=row.scope, family_id=row.family_id,
        mis_client_id=row.mis_client_id, grant_type="refresh_token", redirect_uri=None,
        refresh_expires_at=row.expires_at,
    )  # fmt: skip


def contract_token(access: tokens.Issued, refresh: tokens.Issued) -> dict[str, Any]:
    return access.as_contract(refresh_token=refresh.value)


def standard_token(access: tokens.Issued, refresh: tokens.Issued) -> dict[str, Any]:
    """RFC 6749 §5.1 body."""
    return {
        "access_token": access.value,
        "token_type": "Bearer",
        "expires_in": max(int((access.expires_at - clock.now()).total_seconds()), 0),
        "refresh_token": refresh.value,
        "scope": access.scope,
    }


# --- revocation, introspection, logout --------------------------------------------------------------


async def revoke(engine: AsyncEngine, *, client_id: str | None, client_secret: str | None, token: str | None) -> None:
    """RFC 7009: the client's own token (and its family) is revoked; anything else is silently ignored."""

    async def work(conn: AsyncConnection) -> None:
        client = await authenticate_client(conn, client_id, client_secret)
        if not token:
            raise invalid_request("token is required.")
        row = await tokens.find(conn, token)
        if row is None or row.client_id != client.id or row.revoked_at is not None:
            return
        await tokens.revoke_family(conn, row.family_id, "revocation_request", Actor(row.user_id, client.id))

    await in_transaction(engine, work)


# Introspection's token read is built once too and, like the client's, runs through core.fastsql on an
# autocommit connection.
_INTROSPECTED_TOKEN = FastQuery(
    select(
        tokens.tokens.c.name,
        tokens.tokens.c.client_id,
        tokens.tokens.c.user_id,
        tokens.tokens.c.scope,
        tokens.tokens.c.expires_at,
        tokens.tokens.c.revoked_at,
        tokens.tokens.c.inserted_at,
    ).where(tokens.tokens.c.value_hash == bindparam("value_hash"))
)


async def introspect(
    engine: AsyncEngine, *, client_id: str | None, client_secret: str | None, token: str | None
) -> dict[str, Any]:
    """RFC 7662: active + metadata for the client's own live tokens; `{"active": false}` otherwise."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # reads only: no BEGIN/ROLLBACK
        client = await authenticate_client(conn, client_id, client_secret)
        if not token:
            raise invalid_request("token is required.")
        row = await _INTROSPECTED_TOKEN.first(conn, value_hash=tokens.digest(token))
        if row is None or row.client_id != client.id or not tokens.is_live(row) or row.name == tokens.CODE:
            return {"active": False}
        return {
            "active": True,
            "scope": row.scope,
            "client_id": str(row.client_id),
            "sub": str(row.user_id),
            "token_type": "Bearer" if row.name == tokens.ACCESS else row.name,
            "exp": int(row.expires_at.timestamp()),
            "iat": int(row.inserted_at.timestamp()),
        }


async def logout(engine: AsyncEngine, *, bearer: str | None) -> None:
    """`POST /auth/logout`: the session token, its refresh tokens and the user's other live sessions
    for this client end."""

    async def work(conn: AsyncConnection) -> None:
        row = await tokens.session_token(conn, bearer, *tokens.SESSION_KINDS)
        actor = Actor(row.user_id, row.client_id)
        await tokens.revoke_family(conn, row.family_id, "logout", actor)
        await tokens.revoke_live_sessions(conn, row.user_id, row.client_id)
        await audit.record(conn, action="logout", resource_type="user", resource_id=row.user_id, actor=actor)

    await in_transaction(engine, work)


def metadata(base_url: str) -> dict[str, Any]:
    """RFC 8414 server metadata (the issuer is the URL the client reached), validated by Authlib."""
    base = base_url.rstrip("/")
    meta = AuthorizationServerMetadata(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/sign-in",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "introspection_endpoint": f"{base}/oauth/introspect",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": sorted(scopes.all_scopes()),
            "service_documentation": f"{base}/docs",
            "ui_locales_supported": ["uk"],
        }
    )
    meta.validate()
    return dict(meta)
