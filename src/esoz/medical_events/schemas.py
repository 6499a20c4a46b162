"""Shapes of the medical-events writes: the episode requests, the signed encounter package and its records.

The package's records declare the fields esoz interprets (references, codes, dates, statuses) and keep every
other field of the signed content as signed (`extra="allow"`): the row stores the signed JSON itself.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from esoz.medical_events.refs import CodeableConcept, Coding, Reference

# --- shared by every medical-events API (referrals and conclusions too) ----------------------------------


class SignedData(BaseModel):
    """`{"signed_data": "<base64 CMS>"}` of the medical-events API."""

    model_config = ConfigDict(extra="forbid")
    signed_data: str = Field(min_length=1, description="base64 CMS (CAdES, attached content) of the JSON")


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: datetime
    end: datetime | None = None


class JobLinkOut(BaseModel):
    entity: str
    href: str


class JobOut(BaseModel):
    """The medical-events job an asynchronous write answers with (202), and `GET /api/jobs/{id}`."""

    id: uuid.UUID
    status: str
    status_code: int
    eta: datetime
    links: list[JobLinkOut]
    error: dict[str, Any] | None = None  # a failed job's error


class CodingOut(BaseModel):
    system: str
    code: str
    display: str | None = None


class CodeableConceptOut(BaseModel):
    coding: list[CodingOut]
    text: str | None = None


class IdentifierOut(BaseModel):
    type: CodeableConceptOut
    value: uuid.UUID


class ReferenceOut(BaseModel):
    """`{"identifier": {"type": {"coding": [{"system": "eHealth/resources", "code": ...}]}, "value": id}}`."""

    identifier: IdentifierOut
    display_value: str | None = None


# --- this domain's writes ----------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Signed(BaseModel):
    model_config = ConfigDict(extra="allow")


class RecordContent(_Signed):
    """A record of the package: the fields every kind has."""

    id: uuid.UUID


# --- episodes (unsigned requests) -------------------------------------------------------------------------


class EpisodeCreate(_Strict):
    """`Episode_Of_Care_Request`."""

    id: uuid.UUID
    type: Coding
    status: Literal["active"]
    name: str = Field(min_length=1, max_length=500)
    managing_organization: Reference
    period: Period
    care_manager: Reference


class EpisodeUpdate(_Strict):
    """`Update_Episode`: the name and the care manager of an active episode."""

    name: str | None = Field(None, min_length=1, max_length=500)
    care_manager: Reference | None = None


class PeriodEnd(_Strict):
    end: datetime


class EpisodeClose(_Strict):
    """`Close_Episode`."""

    period: PeriodEnd
    closing_summary: str | None = Field(None, max_length=2000)
    status_reason: CodeableConcept


class EpisodeCancel(_Strict):
    """`Cancel_Episode`."""

    explanatory_letter: str | None = Field(None, max_length=2000)
    status_reason: CodeableConcept


# --- the signed encounter package ----------------------------------------------------------------------------


class EncounterContent(_Signed):
    id: uuid.UUID
    status: Literal["finished", "entered_in_error"]
    period: Period
    episode: Reference
    visit: Reference | None = None
    class_: Coding = Field(alias="class")
    type: CodeableConcept
    performer: Reference
    division: Reference | None = None
    incoming_referral: Reference | None = None
    reasons: list[CodeableConcept] = Field(default_factory=list, max_length=50)
    diagnoses: list["Diagnosis"] = Field(default_factory=list, max_length=50)
    supporting_info: list[Reference] = Field(default_factory=list, max_length=50)


class Diagnosis(_Signed):
    condition: Reference
    role: CodeableConcept
    rank: int | None = Field(None, ge=1, le=10)


class Evidence(_Signed):
    codes: list[CodeableConcept] = Field(default_factory=list, max_length=20)
    details: list[Reference] = Field(default_factory=list, max_length=20)


class ConditionContent(RecordContent):
    context: Reference
    code: CodeableConcept
    clinical_status: str = Field(max_length=50)
    verification_status: Literal["provisional", "differential", "confirmed", "refuted", "entered_in_error"]
    primary_source: bool
    asserter: Reference | None = None
    onset_date: datetime
    asserted_date: datetime | None = None
    evidences: list[Evidence] = Field(default_factory=list, max_length=20)


class ObservationContent(RecordContent):
    status: Literal["valid", "entered_in_error"]
    context: Reference | None = None
    diagnostic_report: Reference | None = None
    code: CodeableConcept
    categories: list[CodeableConcept] = Field(default_factory=list, max_length=10)
    primary_source: bool
    performer: Reference | None = None
    effective_date_time: datetime | None = None
    issued: datetime


class ImmunizationContent(RecordContent):
    status: Literal["completed", "entered_in_error"]
    not_given: bool
    vaccine_code: CodeableConcept
    context: Reference
    date: datetime
    primary_source: bool
    performer: Reference | None = None


class AllergyIntoleranceContent(RecordContent):
    clinical_status: str = Field(max_length=50)
    verification_status: Literal["unconfirmed", "confirmed", "refuted", "entered_in_error"]
    context: Reference
    code: CodeableConcept
    onset_date_time: datetime
    asserted_date: datetime | None = None
    primary_source: bool
    asserter: Reference | None = None


class DiagnosticReportContent(RecordContent):
    status: Literal["final", "entered_in_error"]
    code: Reference
    encounter: Reference | None = None
    issued: datetime
    primary_source: bool
    recorded_by: Reference | None = None
    performer: dict[str, Reference] | None = None  # {"reference": ...}


class ProcedureContent(RecordContent):
    status: Literal["completed", "not_done", "entered_in_error"]
    code: Reference
    encounter: Reference
    performed_date_time: datetime | None = None
    primary_source: bool
    recorded_by: Reference
    performer: Reference | None = None


class EncounterPackage(_Strict):
    """What the doctor signs for `POST /encounter_package`, and (statuses changed) for its correction.
    The contract's other record types (devices, risk assessments, medication statements ...) are not stored
    by esoz yet and are refused."""

    encounter: EncounterContent
    conditions: list[ConditionContent] = Field(default_factory=list, max_length=100)
    observations: list[ObservationContent] = Field(default_factory=list, max_length=200)
    immunizations: list[ImmunizationContent] = Field(default_factory=list, max_length=50)
    allergy_intolerances: list[AllergyIntoleranceContent] = Field(default_factory=list, max_length=50)
    diagnostic_reports: list[DiagnosticReportContent] = Field(default_factory=list, max_length=50)
    procedures: list[ProcedureContent] = Field(default_factory=list, max_length=50)


class PerformerRef(_Strict):
    """`{"reference": <employee>}`, the shape of a diagnostic report's performer."""

    reference: Reference


class StandaloneReport(DiagnosticReportContent):
    """The diagnostic report of `POST /diagnostic_report_package`: made outside an encounter package, signed by
    its performer. esoz deviation: `encounter` is required (every record esoz keeps sits under an encounter)."""

    encounter: Reference
    based_on: Reference | None = None
    origin_episode: Reference | None = None
    managing_organization: Reference
    performer: PerformerRef  # type: ignore[assignment]
    conclusion_code: CodeableConcept | None = None


class DiagnosticReportPackage(_Strict):
    """What the doctor signs for `POST /diagnostic_report_package`, and (the report entered in error, with its
    `explanatory_letter` and `cancellation_reason`) for its cancel."""

    diagnostic_report: StandaloneReport
    observations: list[ObservationContent] = Field(default_factory=list, max_length=200)


class VisitIn(_Strict):
    id: uuid.UUID
    period: Period


class PackageSubmit(_Strict):
    """`Submit_Encounter_Package`: the visit (unsigned) and the signed package."""

    visit: VisitIn | None = None
    signed_data: str = Field(min_length=1, description="base64 CMS (CAdES, attached content) of the package JSON")


EncounterContent.model_rebuild()
