"""Request shapes of the referrals API and of the signed service-request content."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from esoz.medical_events.refs import CodeableConcept, Reference
from esoz.medical_events.schemas import CodeableConceptOut, Period, ReferenceOut


class InformWith(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auth_method_id: uuid.UUID


class ServiceRequestContent(BaseModel):
    """What the doctor signs (`Service_Request_Create`); the fields esoz does not interpret are kept as signed."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID
    status: Literal["active"]
    intent: Literal["order", "plan"]
    priority: Literal["routine", "urgent", "asap", "stat"] = "routine"
    category: CodeableConcept
    code: Reference
    subject: Reference | None = None
    context: Reference | None = None
    occurrence_date_time: datetime | None = None
    occurrence_period: Period | None = None
    authored_on: datetime | None = None
    requester_employee: Reference
    requester_legal_entity: Reference
    reason_reference: list[Reference] = Field(default_factory=list, max_length=50)
    supporting_info: list[Reference] = Field(default_factory=list, max_length=50)
    permitted_resources: list[Reference] = Field(default_factory=list, max_length=50)
    note: str | None = Field(None, max_length=2000)
    patient_instruction: str | None = Field(None, max_length=2000)
    performer: Reference | None = None
    performer_type: CodeableConcept | None = None
    location_reference: Reference | None = None
    based_on: list[Reference] = Field(default_factory=list, max_length=10)
    program: Reference | None = None
    quantity: dict[str, Any] | None = None
    specimens: list[Reference] = Field(default_factory=list, max_length=50)
    focus: list[Reference] = Field(default_factory=list, max_length=50)
    inform_with: InformWith | None = None


class StatusChangeContent(BaseModel):
    """The extra fields a recall / cancel adds to the signed render."""

    model_config = ConfigDict(extra="allow")
    status: str
    status_reason: CodeableConcept
    explanatory_letter: str | None = Field(None, max_length=2000)


class UseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    used_by_legal_entity: Reference
    used_by_employee: Reference | None = None
    used_by_division: Reference | None = None
    program: Reference | None = Field(None, description="the service programme (`medical_program`) it is used under")
    program_service: Reference | None = Field(
        None, description="**esoz:** the programme's entry (`program_service`) that pays for it"
    )


class CompleteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    completed_with: Reference
    status_reason: CodeableConcept | None = None
    program_service: Reference | None = None


# --- answers ---------------------------------------------------------------------------------------


class ServiceRequestOut(BaseModel):
    """A service request: the content the doctor signed, as signed, with what esoz keeps about it."""

    model_config = ConfigDict(extra="allow")  # the optional fields of the signed content, as signed

    id: uuid.UUID
    status: str
    intent: str
    priority: str | None = None
    category: CodeableConceptOut
    code: ReferenceOut
    requester_employee: ReferenceOut
    requester_legal_entity: ReferenceOut
    note: str | None = None
    patient_instruction: str | None = None
    requisition: str
    subject: ReferenceOut
    expiration_date: datetime
    status_history: list[dict[str, Any]]
    used_by_legal_entity: ReferenceOut | None
    used_by_employee: ReferenceOut | None
    completed_with: dict[str, Any] | None
    program: ReferenceOut | None = None
    program_service: ReferenceOut | None = None
    status_reason: dict[str, Any] | None
    explanatory_letter: str | None
