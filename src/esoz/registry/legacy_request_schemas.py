"""Shapes of the other published versions of the request calls: person requests v1 (`/api/person_requests`) and
the deprecated declaration requests (v1 actions, v2 create), and the termination through a patient information
system. The rules behind them are the v2/v3 ones (person_requests, declaration_requests)."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from esoz.registry.schemas import Person, Strict

# --- person requests v1 ------------------------------------------------------------------------------


class PersonV1(Person):
    id: uuid.UUID | None = Field(None, description="the registered person to update; none for a new person")


class PersonRequestCreateV1(Strict):
    person: PersonV1
    patient_signed: bool
    process_disclosure_data_consent: bool
    authorize_with: uuid.UUID | None = Field(None, description="id of the known person's authentication method")


class PersonRequestV1CreatedOut(BaseModel):
    id: uuid.UUID
    status: str
    person: dict[str, Any]
    patient_signed: bool
    process_disclosure_data_consent: bool
    channel: str
    authorize_with: uuid.UUID | None


class PersonRequestV1Out(PersonRequestV1CreatedOut):
    content: str | None = Field(None, description="the printout the patient reads (once confirmed)")


class PersonRequestV1ListItem(BaseModel):
    id: uuid.UUID
    status: str
    person: dict[str, Any]


# --- declaration requests v1/v2 (deprecated) ---------------------------------------------------------


class DeclarationRequestBodyV2(Strict):
    person: dict[str, Any] = Field(description="the registered person (`id`); its identity must be the record's")
    employee_id: uuid.UUID
    division_id: uuid.UUID
    scope: str = "family_doctor"
    overlimit: bool = Field(False, description="esoz: only false (a full doctor's request is refused)")


class DeclarationRequestCreateV2(Strict):
    declaration_request: DeclarationRequestBodyV2


class DeclarationRequestV1ActionOut(BaseModel):
    id: uuid.UUID
    seed: str
    start_date: date
    end_date: date
    person: dict[str, Any]
    scope: str
    declaration_number: str
    declaration_id: uuid.UUID
    status: str
    employee: dict[str, Any]
    legal_entity: dict[str, Any]
    division: dict[str, Any]
    content: str
    channel: str


class DeclarationRequestV1CreatedOut(DeclarationRequestV1ActionOut):
    preferred_way_communication: str | None


class DeclarationRequestV1Out(DeclarationRequestV1ActionOut):
    authorize_with: uuid.UUID | None


class DeclarationRequestV1ListItem(BaseModel):
    id: uuid.UUID
    start_date: date
    end_date: date
    status: str
    person: dict[str, Any]
    employee: dict[str, Any]
    legal_entity: dict[str, Any]
    division: dict[str, Any]


class SignedDeclarationRequestV1(Strict):
    signed_declaration_request: str = Field(min_length=1, description="base64 CMS of the approve answer")
    signed_content_encoding: Literal["base64"] = "base64"


class DeclarationSignedV1Out(BaseModel):
    id: uuid.UUID
    start_date: date
    end_date: date
    signed_at: datetime
    status: str
    scope: str
    declaration_request_id: uuid.UUID | None
    person_id: uuid.UUID
    legal_entity_id: uuid.UUID
    employee_id: uuid.UUID
    division_id: uuid.UUID
    inserted_at: datetime
    is_active: bool
    reason: str | None
    reason_description: str | None


# --- termination through a patient information system ------------------------------------------------


class PisTerminate(Strict):
    person_id: uuid.UUID = Field(description="the patient the system acts for (esoz: no patient sign-in yet)")
    reason_description: str | None = Field(None, max_length=1000)
