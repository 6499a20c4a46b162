"""The notifications routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

OutboxRead = Annotated[AuthContext, Depends(require_scopes("outbox:read"))]
OutboxWrite = Annotated[AuthContext, Depends(require_scopes("outbox:write"))]
WindowsRead = Annotated[AuthContext, Depends(require_scopes("maintenance_window:read"))]
WindowsWrite = Annotated[AuthContext, Depends(require_scopes("maintenance_window:write"))]
