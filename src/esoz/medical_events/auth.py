"""The medical-events write routes' scope dependencies: each a typed alias a route takes as its `auth`."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

JobRead = Annotated[AuthContext, Depends(require_scopes("job:read"))]
EpisodeWrite = Annotated[AuthContext, Depends(require_scopes("episode:write"))]
EncounterWrite = Annotated[AuthContext, Depends(require_scopes("encounter:write"))]
EncounterCancel = Annotated[AuthContext, Depends(require_scopes("encounter:cancel"))]
