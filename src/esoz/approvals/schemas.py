"""Request and response shapes of approvals (the blueprint's Approval_Request, Approval_Response,
Get_Approval_Details)."""

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RESOURCES = "eHealth/resources"


class Coding(BaseModel):
    system: str = Field(max_length=100)
    code: str = Field(max_length=100)


class CodeableConcept(BaseModel):
    coding: list[Coding] = Field(min_length=1, max_length=1)
    text: str | None = Field(None, max_length=1000)


class Identifier(BaseModel):
    type: CodeableConcept
    value: uuid.UUID


class Reference(BaseModel):
    """`{"identifier": {"type": {"coding": [{"system": "eHealth/resources", "code": ...}]}, "value": <uuid>}}`."""

    identifier: Identifier

    @property
    def resource(self) -> str:
        return self.identifier.type.coding[0].code

    @property
    def system(self) -> str:
        return self.identifier.type.coding[0].system

    @property
    def id(self) -> uuid.UUID:
        return self.identifier.value


class ApprovalRequest(BaseModel):
    """What is opened (`resources`: episodes of care, or `patient`: the whole record), to whom, at which level.

    The blueprint's other kinds (`service_request`, `forbidden_group`, `diagnoses_group`, `service_group`,
    `resource_types`, `composition`, `child_resource`) are refused with 422 until esoz keeps those records.
    """

    model_config = ConfigDict(extra="allow")

    resources: list[Reference] | None = Field(None, min_length=1, max_length=100)
    patient: Reference | None = None
    granted_to: Reference
    created_by: Reference | None = None
    access_level: Literal["read", "write"]
    authorize_with: uuid.UUID | None = None


class VerifyBody(BaseModel):
    code: int = Field(ge=0, le=99_999_999, description="the code of the patient's SMS")


class ReferenceOut(BaseModel):
    identifier: dict[str, object]
    display_value: str | None = None


class AuthenticationMethodCurrent(BaseModel):
    type: str = Field(description="OTP | OFFLINE | THIRD_PERSON")
    number: str | None = Field(None, description="the masked phone the code went to")


class ApprovalOut(BaseModel):
    id: uuid.UUID
    granted_resources: list[ReferenceOut]
    granted_resource_types: list[dict[str, object]]
    granted_to: ReferenceOut
    expires_at: str
    reason: ReferenceOut | None = None
    created_by: ReferenceOut | None = None
    is_verified: bool
    access_level: str
    authorize_with: uuid.UUID | None = None
    authentication_method_current: AuthenticationMethodCurrent
    status: str = Field(description="**esoz:** new | active | cancelled | expired")
