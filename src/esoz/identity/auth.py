"""The identity routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

UsersRead = Annotated[AuthContext, Depends(require_scopes("user:read"))]
UsersWrite = Annotated[AuthContext, Depends(require_scopes("user:write"))]
ClientsWrite = Annotated[AuthContext, Depends(require_scopes("client:write"))]
