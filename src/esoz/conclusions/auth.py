"""The conclusions routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

CompositionCreate = Annotated[AuthContext, Depends(require_scopes("composition:create"))]
CompositionWrite = Annotated[AuthContext, Depends(require_scopes("composition:write"))]
CompositionRead = Annotated[AuthContext, Depends(require_scopes("composition:read"))]
CompositionResend = Annotated[AuthContext, Depends(require_scopes("composition:resend_sms"))]
CompositionMarkInError = Annotated[AuthContext, Depends(require_scopes("composition:mark_in_error"))]
