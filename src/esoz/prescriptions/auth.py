"""The prescriptions routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

# The MIS routes (api.py).
ProgramRead = Annotated[AuthContext, Depends(require_scopes("medical_program:read"))]
DrugsRead = Annotated[AuthContext, Depends(require_scopes("drugs:read"))]
MrrWrite = Annotated[AuthContext, Depends(require_scopes("medication_request_request:write"))]
MrrRead = Annotated[AuthContext, Depends(require_scopes("medication_request_request:read"))]
MrrSign = Annotated[AuthContext, Depends(require_scopes("medication_request_request:sign"))]
MrrReject = Annotated[AuthContext, Depends(require_scopes("medication_request_request:reject"))]
MrRead = Annotated[AuthContext, Depends(require_scopes("medication_request:read"))]
MrDetails = Annotated[AuthContext, Depends(require_scopes("medication_request:details"))]
MrReject = Annotated[AuthContext, Depends(require_scopes("medication_request:reject"))]
MrResend = Annotated[AuthContext, Depends(require_scopes("medication_request:resend"))]
MrBlock = Annotated[AuthContext, Depends(require_scopes("medication_request:block"))]
MrUnblock = Annotated[AuthContext, Depends(require_scopes("medication_request:unblock"))]
MrPharmacy = Annotated[AuthContext, Depends(require_scopes("medication_request:details_pharm"))]
MrBlockPharm = Annotated[AuthContext, Depends(require_scopes("medication_request:block_pharm"))]
MrUnblockPharm = Annotated[AuthContext, Depends(require_scopes("medication_request:unblock_pharm"))]
MdWrite = Annotated[AuthContext, Depends(require_scopes("medication_dispense:write"))]
MdProcess = Annotated[AuthContext, Depends(require_scopes("medication_dispense:process"))]
MdReject = Annotated[AuthContext, Depends(require_scopes("medication_dispense:reject"))]
MdReadPharm = Annotated[AuthContext, Depends(require_scopes("medication_dispense:read_pharm"))]
MdRead = Annotated[AuthContext, Depends(require_scopes("medication_dispense:read"))]
MrRejectPharm = Annotated[AuthContext, Depends(require_scopes("medication_request:reject_pharm"))]
ReportRead = Annotated[AuthContext, Depends(require_scopes("reimbursement_report:read"))]
# НСЗУ's admin routes (admin.py).
MedicationWrite = Annotated[AuthContext, Depends(require_scopes("medication:write"))]
ProgramWrite = Annotated[AuthContext, Depends(require_scopes("medical_program:write"))]
ProgramMedicationWrite = Annotated[AuthContext, Depends(require_scopes("program_medication:write"))]
ContractWrite = Annotated[AuthContext, Depends(require_scopes("reimbursement_contract:write"))]
ContractRead = Annotated[AuthContext, Depends(require_scopes("reimbursement_contract:read"))]
RestrictionWrite = Annotated[AuthContext, Depends(require_scopes("antibiotic_restriction:write"))]
RestrictionRead = Annotated[AuthContext, Depends(require_scopes("antibiotic_restriction:read"))]
ConsumptionRead = Annotated[AuthContext, Depends(require_scopes("antibiotic_consumption:read"))]
