"""The service catalogue routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

ProgramServiceRead = Annotated[AuthContext, Depends(require_scopes("program_service:read"))]
