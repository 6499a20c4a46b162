"""The referrals routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

SrRead = Annotated[AuthContext, Depends(require_scopes("service_request:read"))]
SrWrite = Annotated[AuthContext, Depends(require_scopes("service_request:write"))]
SrUse = Annotated[AuthContext, Depends(require_scopes("service_request:use"))]
SrProcess = Annotated[AuthContext, Depends(require_scopes("service_request:makeinprogress"))]
SrComplete = Annotated[AuthContext, Depends(require_scopes("service_request:complete"))]
SrRecall = Annotated[AuthContext, Depends(require_scopes("service_request:recall"))]
SrCancel = Annotated[AuthContext, Depends(require_scopes("service_request:cancel"))]
