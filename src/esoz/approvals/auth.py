"""The approvals routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

ApprovalCreate = Annotated[AuthContext, Depends(require_scopes("approval:create"))]
ApprovalRead = Annotated[AuthContext, Depends(require_scopes("approval:read"))]
ApprovalCancel = Annotated[AuthContext, Depends(require_scopes("approval:cancel"))]
