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
