"""Shapes of confidant person relationships and the requests that make or end them."""

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from esoz.registry.schemas import Strict


class RelationshipDocument(Strict):
    type: str = Field(max_length=64, description="Dictionary DOCUMENT_RELATIONSHIP_TYPE")
    number: str = Field(min_length=1, max_length=64)
    issued_by: str = Field(min_length=1, max_length=255)
    issued_at: date
    active_to: date | None = Field(None, description="the end of the document's validity")


class EndingDocument(Strict):
    type: str = Field(max_length=64, description="Dictionary DOCUMENT_RELATIONSHIP_TYPE")
    number: str = Field(min_length=1, max_length=64)
    issued_by: str = Field(min_length=1, max_length=255)
    issued_at: date


class ConfidantRequestCreate(Strict):
    confidant_person_id: uuid.UUID = Field(description="the person who becomes the confidant")
    documents_relationship: list[RelationshipDocument] = Field(min_length=1, max_length=10)
    authorize_with: uuid.UUID | None = Field(None, description="id of the person's authentication method")


class RelationshipToEnd(Strict):
    id: uuid.UUID = Field(description="the relationship to deactivate")
    documents_relationship: list[EndingDocument] = Field(min_length=1, max_length=10)


class ConfidantRequestDeactivate(Strict):
    confidant_person_relationship: RelationshipToEnd
    authorize_with: uuid.UUID | None = Field(None, description="id of the person's authentication method")


class SignedConfidantRequest(Strict):
    signed_content: str = Field(
        min_length=1, description="base64 CMS of the approved request (the `data` of its approve answer)"
    )


class ConfidantRequestOut(BaseModel):
    id: uuid.UUID
    status: str
    action: str
    channel: str
    confidant_person_id: uuid.UUID | None
    documents_relationship: list[dict[str, Any]] | None
    confidant_person_relationship: dict[str, Any] | None
    authorize_with: uuid.UUID | None


class ConfidantRequestShortOut(BaseModel):
    id: uuid.UUID
    status: str
    action: str
    channel: str


class ConfidantOtpOut(BaseModel):
    id: uuid.UUID
    status: str
    code_expired_at: Any
    active: bool


class ConfidantRelationshipOut(BaseModel):
    id: uuid.UUID
    active_to: date | None
    documents_relationship: list[dict[str, Any]]
    relationship_verification_details: dict[str, Any]
    confidant_person: dict[str, Any]
