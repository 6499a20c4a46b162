"""The medical-records read routes' scope dependencies: each a typed alias a route takes as its `auth` parameter.

Where the contract names no scope for a read (encounters, diagnostic reports and the episode-context reads), the
real system's scope of that resource is used (`encounter:read`, `diagnostic_report:read` ...).
"""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

EpisodeRead = Annotated[AuthContext, Depends(require_scopes("episode:read"))]
EncounterRead = Annotated[AuthContext, Depends(require_scopes("encounter:read"))]
ConditionRead = Annotated[AuthContext, Depends(require_scopes("condition:read"))]
ObservationRead = Annotated[AuthContext, Depends(require_scopes("observation:read"))]
ImmunizationRead = Annotated[AuthContext, Depends(require_scopes("immunization:read"))]
AllergyIntoleranceRead = Annotated[AuthContext, Depends(require_scopes("allergy_intolerance:read"))]
DiagnosticReportRead = Annotated[AuthContext, Depends(require_scopes("diagnostic_report:read"))]
ProcedureRead = Annotated[AuthContext, Depends(require_scopes("procedure:read"))]
ContextRead = Annotated[AuthContext, Depends(require_scopes("medical_event_context:read"))]
SummaryRead = Annotated[AuthContext, Depends(require_scopes("patient_summary:read"))]
