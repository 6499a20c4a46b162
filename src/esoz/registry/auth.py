"""The registry routes' scope dependencies: each a typed alias a route takes as its `auth` parameter."""

from typing import Annotated

from fastapi import Depends

from esoz.core.auth import AuthContext, require_scopes

LegalEntityRead = Annotated[AuthContext, Depends(require_scopes("legal_entity:read"))]
RelatedLegalEntitiesRead = Annotated[AuthContext, Depends(require_scopes("related_legal_entities:read"))]
DivisionRead = Annotated[AuthContext, Depends(require_scopes("division:read"))]
DivisionDetails = Annotated[AuthContext, Depends(require_scopes("division:details"))]
EmployeeRead = Annotated[AuthContext, Depends(require_scopes("employee:read"))]
EmployeeDetails = Annotated[AuthContext, Depends(require_scopes("employee:details"))]
PersonRead = Annotated[AuthContext, Depends(require_scopes("person:read"))]
DeclarationRead = Annotated[AuthContext, Depends(require_scopes("declaration:read"))]
LegalEntityWrite = Annotated[AuthContext, Depends(require_scopes("legal_entity:write"))]
DivisionWrite = Annotated[AuthContext, Depends(require_scopes("division:write"))]
EmployeeWrite = Annotated[AuthContext, Depends(require_scopes("employee:write"))]
EmployeeDeactivate = Annotated[AuthContext, Depends(require_scopes("employee:deactivate"))]
PersonWrite = Annotated[AuthContext, Depends(require_scopes("person:write"))]
DeclarationWrite = Annotated[AuthContext, Depends(require_scopes("declaration:write"))]
ConfidantRequestRead = Annotated[AuthContext, Depends(require_scopes("confidant_person_relationship_request:read"))]
ConfidantRequestWrite = Annotated[AuthContext, Depends(require_scopes("confidant_person_relationship_request:write"))]
ConfidantRelationshipRead = Annotated[AuthContext, Depends(require_scopes("confidant_person_relationship:read"))]
PersonMerge = Annotated[AuthContext, Depends(require_scopes("person:merge"))]
DeclarationTerminate = Annotated[AuthContext, Depends(require_scopes("declaration:terminate"))]
DeclarationTerminatePis = Annotated[AuthContext, Depends(require_scopes("declaration:terminate_pis"))]
DeclarationRequestRead = Annotated[AuthContext, Depends(require_scopes("declaration_request:read"))]
DeclarationRequestWrite = Annotated[AuthContext, Depends(require_scopes("declaration_request:write"))]
DeclarationRequestApprove = Annotated[AuthContext, Depends(require_scopes("declaration_request:approve"))]
DeclarationRequestReject = Annotated[AuthContext, Depends(require_scopes("declaration_request:reject"))]
DeclarationRequestSign = Annotated[AuthContext, Depends(require_scopes("declaration_request:sign"))]
PersonRequestRead = Annotated[AuthContext, Depends(require_scopes("person_request:read"))]
PersonRequestWrite = Annotated[AuthContext, Depends(require_scopes("person_request:write"))]
OtpWrite = Annotated[AuthContext, Depends(require_scopes("otp:write"))]
AuthMethodRequestWrite = Annotated[AuthContext, Depends(require_scopes("authentication_method_request:write"))]
PersonalDataRead = Annotated[AuthContext, Depends(require_scopes("personal_data:read"))]
