"""Shapes of declaration requests (v3), person requests (v2) and the master patient index's admin routes."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from esoz.registry.schemas import Person, Strict

# --- declaration requests ----------------------------------------------------------------------------


class DeclarationRequestCreate(Strict):
    person_id: uuid.UUID
    employee_id: uuid.UUID
    division_id: uuid.UUID
    start_date: date | None = Field(None, description="default: today (Kyiv)")
    scope: Literal["family_doctor"] = "family_doctor"
    authorize_with: uuid.UUID | None = Field(None, description="id of the person's authentication method")
    parent_declaration_id: uuid.UUID | None = None


class VerificationCode(Strict):
    verification_code: int | str | None = Field(None, description="the patient's SMS code; required for OTP")


class SignedDeclarationRequest(Strict):
    signed_declaration_request: str = Field(min_length=1, description="base64 CMS of data_to_be_signed")


class RequestReject(Strict):
    status_reason: str | None = Field(None, max_length=255)


class DeclarationTerminateBy(Strict):
    reason_description: str | None = Field(None, max_length=1000)


class CabinetTerminate(Strict):
    person_id: uuid.UUID = Field(description="the patient the portal acts for (esoz: no patient sign-in yet)")
    reason_description: str | None = Field(None, max_length=1000)


class DeclarationRequestOut(BaseModel):
    id: uuid.UUID
    start_date: date
    end_date: date
    person_id: uuid.UUID
    employee_id: uuid.UUID
    division_id: uuid.UUID
    legal_entity_id: uuid.UUID
    declaration_number: str
    declaration_id: uuid.UUID
    parent_declaration_id: uuid.UUID | None
    status: str
    status_reason: str | None
    system_declaration_limit: int | None
    current_declaration_count: int | None
    channel: str
    authorize_with: uuid.UUID | None
    scope: str
    inserted_at: datetime
    updated_at: datetime
    data_to_be_signed: dict[str, Any] | None = None


class OtpOut(BaseModel):
    id: uuid.UUID
    status: str
    code_expired_at: datetime | None
    active: bool


class DeclarationShortOut(BaseModel):
    id: uuid.UUID
    declaration_number: str
    start_date: date
    end_date: date
    signed_at: datetime
    status: str
    declaration_request_id: uuid.UUID | None
    person_id: uuid.UUID
    legal_entity_id: uuid.UUID
    employee_id: uuid.UUID
    division_id: uuid.UUID
    inserted_at: datetime
    is_active: bool
    reason: str | None
    reason_description: str | None


# --- person requests ---------------------------------------------------------------------------------


class PersonRequestCreate(Strict):
    person: Person
    patient_signed: bool = False
    process_disclosure_data_consent: bool = True
    person_id: uuid.UUID | None = Field(None, description="the person to update; none for a new person")


class SignedPersonRequest(Strict):
    signed_content: str = Field(min_length=1, description="base64 CMS of the request's data_to_be_signed")


class PersonRequestOut(BaseModel):
    id: uuid.UUID
    status: str
    status_reason: str | None
    person_id: uuid.UUID | None
    person: dict[str, Any]
    patient_signed: bool
    process_disclosure_data_consent: bool
    inserted_at: datetime
    updated_at: datetime
    channel: str
    authorize_with: uuid.UUID | None
    content: str | None = Field(None, description="the printout the patient reads (after approval)")
    data_to_be_signed: dict[str, Any] | None = None


class PersonRequestSignedOut(BaseModel):
    id: uuid.UUID
    status: str
    person_id: uuid.UUID
    inserted_at: datetime
    updated_at: datetime


# --- master patient index ----------------------------------------------------------------------------


class MergeCandidateOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    master_person_id: uuid.UUID
    status: str
    reasons: list[str]
    inserted_at: datetime


class PersonMergeOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    master_person_id: uuid.UUID
    merge_candidate_id: uuid.UUID | None
    terminated_declarations: list[uuid.UUID]
    undone_at: datetime | None
    inserted_at: datetime


class MergedPersonOut(BaseModel):
    id: uuid.UUID
    merge_person_id: uuid.UUID
    master_person_id: uuid.UUID
    status: str
    inserted_at: datetime
    updated_at: datetime


class MergeDecision(Strict):
    status: Literal["MERGE", "DECLINED"]
