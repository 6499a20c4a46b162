"""The gate in front of routes: who is calling, for which legal entity, with which scopes.

Routes declare their scopes with a typed dependency, e.g.

    EmployeesRead = Annotated[AuthContext, Depends(require_scopes("employee:read"))]

    @router.get("/api/employees")
    async def list_employees(auth: EmployeesRead, conn: ReadConn, ...): ...

and pass `auth.legal_entity_filter` to the service, which limits rows to the caller's legal entity
(None = no limit, for НСЗУ). The identity issue replaces `_resolve` with real token checks; until then
only dev mode answers, as an all-seeing operator.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import Request

from esoz.core.audit import Actor
from esoz.core.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class AuthContext:
    user_id: uuid.UUID | None
    client_id: uuid.UUID | None
    legal_entity_id: uuid.UUID | None
    client_type: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def sees_everything(self) -> bool:
        return self.client_type == "NHS"

    @property
    def legal_entity_filter(self) -> uuid.UUID | None:
        """The legal entity whose rows the caller may see; None when it may see all."""
        return None if self.sees_everything else self.legal_entity_id

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.client_id, self.legal_entity_id)


DEV_OPERATOR = AuthContext(user_id=None, client_id=None, legal_entity_id=None, client_type="NHS")


async def _resolve(request: Request, scopes: tuple[str, ...]) -> AuthContext:
    if request.app.state.settings.env == "dev":
        return DEV_OPERATOR
    raise Unauthorized("Authorization header is missing")


def require_scopes(*scopes: str) -> Callable[[Request], Awaitable[AuthContext]]:
    async def dependency(request: Request) -> AuthContext:
        return await _resolve(request, scopes)

    dependency.__name__ = "require_" + "_".join(s.replace(":", "_") for s in scopes)
    return dependency
