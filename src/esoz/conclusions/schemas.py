"""Request shapes of the conclusions API and of the composition content a doctor signs."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from esoz.medical_events.refs import CodeableConcept, Reference
from esoz.medical_events.schemas import CodeableConceptOut, ReferenceOut

TYPES_SYSTEM = "COMPOSITION_TYPES"
CATEGORIES_SYSTEM = "COMPOSITION_CATEGORIES"
EVENTS_SYSTEM = "COMPOSITION_EVENTS"
VALIDITY_PERIOD = "COMPOSITION_VALIDITY_PERIOD"
MARK_IN_ERROR_SYSTEM = "composition_mark_in_error_reasons"
TEMP_DISABILITY = "TEMP_DISABILITY"
# МВТН categories (COMPOSITION_CATEGORIES for TEMP_DISABILITY) with their Ukrainian names for the print form.
TEMP_DISABILITY_CATEGORIES = {
    "SICKNESS": "Захворювання",
    "CHILD_CARE": "Догляд за хворою дитиною",
    "FAMILY_CARE": "Догляд за хворим членом сім'ї",
    "PARENTAL_CARE": "Догляд за дитиною до трьох років або дитиною з інвалідністю (хвороба матері)",
    "PREGNANCY": "Вагітність та пологи",
    "QUARANTINE": "Карантин",
    "COVID19": "Захворювання на COVID-19",
    "TEMP_TRANSFER": "Тимчасове переведення на іншу роботу",
    "PROSTHETIC": "Протезування",
    "RESTORATION": "Долікування в санаторно-курортному закладі",
}


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: datetime
    end: datetime | None = None


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: CodeableConcept
    period: Period


class RelatesTo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["replaces", "appends"]
    resource_reference: Reference


class CompositionContent(BaseModel):
    """`Composition_Create`: the fields esoz interprets are typed; sections and extensions are kept as sent."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID
    title: str = Field(min_length=4, max_length=40)
    status: Literal["PRELIMINARY", "FINAL"]
    type: CodeableConcept
    category: CodeableConcept
    date: datetime
    subject: Reference | None = None
    custodian: Reference
    encounter: Reference | None = None
    author: Reference
    attester: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    section: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    event: list[Event] = Field(min_length=1, max_length=10)
    extension: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    relates_to: list[RelatesTo] = Field(default_factory=list, max_length=1)
    inform_with: uuid.UUID | None = None


class CompositionSubmit(BaseModel):
    """Either an unsigned draft (`composition`, status PRELIMINARY; **esoz**/SwaggerHub flow) or the signed
    composition (`signed_data`, status FINAL; the ESOZ contract's one-step submit)."""

    model_config = ConfigDict(extra="forbid")
    composition: dict[str, Any] | None = None
    signed_data: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def exactly_one(self) -> "CompositionSubmit":
        if (self.composition is None) == (self.signed_data is None):
            raise ValueError("exactly one of composition and signed_data is required")
        return self


class MarkInError(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["ENTERED_IN_ERROR"]
    status_reason: CodeableConcept
    explanatory_letter: str | None = Field(None, max_length=2000)


# --- answers (documented in the OpenAPI) ------------------------------------------------------------


class CompositionTitleOut(BaseModel):
    title: str = Field(description="the number the composition must carry (`XXXX-XXXX-XXXX-XXXX`)")


class CompositionOut(BaseModel):
    """A composition: the content the doctor signed, as signed, with its number, status and patient."""

    model_config = ConfigDict(extra="allow")  # the optional fields of the signed content, as signed

    id: uuid.UUID
    title: str
    status: str
    type: CodeableConceptOut
    category: CodeableConceptOut
    date: datetime
    subject: ReferenceOut
    custodian: ReferenceOut
    author: ReferenceOut
    event: list[dict[str, Any]]
    status_reason: dict[str, Any] | None = None
    explanatory_letter: str | None = None


class IntegrationTaskOut(BaseModel):
    """One integration task of a composition, e.g. ERLN: the sick-leave number in `details`, or the error."""

    component: str
    type: str
    integration_status: str
    status_message: str | None
    details: dict[str, Any]
    updated_at: datetime
