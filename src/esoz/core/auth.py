"""The gate in front of routes: who is calling, for which legal entity, with which scopes.

Routes declare their scopes with a typed dependency, one alias per scope in their domain's `auth.py`, e.g.

    EmployeeRead = Annotated[AuthContext, Depends(require_scopes("employee:read"))]  # registry/auth.py

    @router.get("/api/employees")
    async def list_employees(auth: EmployeeRead, conn: ReadConn, ...): ...

and pass `auth.legal_entity_filter` to the service, which limits rows to the caller's legal entity
(None = no limit, for НСЗУ).

Per request: the `Authorization: Bearer <token>` header → the token verifier the identity domain puts
in `app.state.token_verifier` (core imports no domain) → rate limits per client and per IP → every
declared scope must be in the token's scope, else 403 naming the missing allowances (audited as
`authz.denied`). Missing, unknown, expired or revoked tokens → 401. There is no dev-mode bypass:
tests and the demo get real tokens (`esoz users token`, the `headers_for` test fixture).
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from fastapi import Request

from esoz.core import audit
from esoz.core.audit import Actor
from esoz.core.errors import ApiError, Forbidden, Unauthorized

# Every scope some route declares; НСЗУ client types are capped by this set (see identity.scopes).
DECLARED_SCOPES: set[str] = set()
# The scopes each gate dependency demands, so that the API docs can show them (core.openapi.document_scopes).
SCOPES_OF_GATE: dict[Callable[..., object], tuple[str, ...]] = {}


@dataclass(frozen=True, slots=True)
class AuthContext:
    user_id: uuid.UUID | None
    client_id: uuid.UUID | None
    legal_entity_id: uuid.UUID | None
    client_type: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    mis_client_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None

    @property
    def sees_everything(self) -> bool:
        return self.client_type == "NHS"

    @property
    def legal_entity_filter(self) -> uuid.UUID | None:
        """The legal entity whose rows the caller may see; None when it may see all."""
        return None if self.sees_everything else self.legal_entity_id

    @property
    def created_by_filter(self) -> uuid.UUID | None:
        """For MIS clients: only what this MIS created (`created_by_mis_client_id`); None otherwise."""
        return self.client_id if self.client_type == "MIS" else None

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.client_id, self.legal_entity_id)


class TokenVerifier(Protocol):
    async def __call__(self, request: Request, token: str) -> AuthContext:
        """The caller behind a bearer token, or raise a 401 ApiError."""
        ...


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _api_ip_key(request: Request) -> str:
    return f"api:ip:{client_ip(request)}"


async def _rate_limit(request: Request, ctx: AuthContext) -> None:
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        return
    settings = request.app.state.settings
    window = settings.ratelimit_window_seconds
    # Both counters in one round trip: this runs on every gated request.
    limits = {
        f"api:client:{ctx.client_id}": settings.ratelimit_api_per_client,
        _api_ip_key(request): settings.ratelimit_api_per_ip,
    }
    await limiter.hit_all(limits, window)


async def limit_api_per_ip(request: Request) -> None:
    """The API's per-IP budget for a call made with client credentials instead of a token; a token-gated call
    counts the same budget in `_rate_limit`, beside its client's."""
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        return
    settings = request.app.state.settings
    await limiter.hit(_api_ip_key(request), settings.ratelimit_api_per_ip, settings.ratelimit_window_seconds)


async def _deny(request: Request, ctx: AuthContext, missing: list[str]) -> None:
    # The gate's pool (app.py): the route may hold the main pool's connections, which do not overflow.
    engine = getattr(request.app.state, "auth_engine", None) or request.app.state.engine
    async with engine.begin() as conn:
        await audit.record(
            conn,
            action="authz.denied",
            resource_type="route",
            resource_id=f"{request.method} {request.url.path}",
            outcome="failure",
            actor=ctx.actor,
            details={"missing_scopes": missing, "client_type": ctx.client_type},
        )


async def _resolve(request: Request, scopes: tuple[str, ...]) -> AuthContext:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Authorization header is missing")
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise ApiError(401, "access_denied", "Token verification is not configured")
    ctx = await verifier(request, token)
    await _rate_limit(request, ctx)
    missing = [s for s in scopes if s not in ctx.scopes]
    if missing:
        await _deny(request, ctx, missing)
        raise Forbidden("Your scope does not allow to access this resource. Missing allowances: " + ", ".join(missing))
    request.state.auth = ctx
    return ctx


def require_scopes(*scopes: str) -> Callable[[Request], Awaitable[AuthContext]]:
    DECLARED_SCOPES.update(scopes)

    async def dependency(request: Request) -> AuthContext:
        return await _resolve(request, scopes)

    dependency.__name__ = "require_" + "_".join(s.replace(":", "_") for s in scopes)
    SCOPES_OF_GATE[dependency] = scopes
    return dependency


def require_any_scope(*scopes: str) -> Callable[[Request], Awaitable[AuthContext]]:
    """A gate that any one of `scopes` opens: for the routes the published sources give two scope names.

    The API docs show the first, the contract's name; the others are accepted as well."""
    DECLARED_SCOPES.update(scopes)

    async def dependency(request: Request) -> AuthContext:
        ctx = await _resolve(request, ())
        if not any(s in ctx.scopes for s in scopes):
            await _deny(request, ctx, list(scopes))
            raise Forbidden(
                "Your scope does not allow to access this resource. Missing allowances: " + " or ".join(scopes)
            )
        return ctx

    dependency.__name__ = "require_any_" + "_".join(s.replace(":", "_") for s in scopes)
    SCOPES_OF_GATE[dependency] = scopes[:1]
    return dependency
