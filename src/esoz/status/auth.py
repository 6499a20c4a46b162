"""The status routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

StatusRead = Annotated[AuthContext, Depends(require_scopes("status:read"))]
StatusWrite = Annotated[AuthContext, Depends(require_scopes("status:write"))]
