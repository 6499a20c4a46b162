"""The conclusions routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_any_scope, require_scopes

# The two published sources name the title and resend scopes differently: both names are accepted.
CompositionTitle = Annotated[AuthContext, Depends(require_any_scope("composition:write", "composition:create"))]
CompositionWrite = Annotated[AuthContext, Depends(require_scopes("composition:write"))]
CompositionRead = Annotated[AuthContext, Depends(require_scopes("composition:read"))]
CompositionResend = Annotated[
    AuthContext, Depends(require_any_scope("composition:resend", "composition:resend_sms"))
]
CompositionMarkInError = Annotated[AuthContext, Depends(require_scopes("composition:mark_in_error"))]
