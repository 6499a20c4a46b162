"""The audit routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

AuditRead = Annotated[AuthContext, Depends(require_scopes("audit:read"))]
AccessHistoryRead = Annotated[AuthContext, Depends(require_scopes("person_access_history:read"))]
