"""Shapes of the medical-records reads: the query filters each list takes and the answers' `data`.

A record is answered as the contract resource stored with it (the `content` the encounter package wrote), so the
answer models name the contract's fields and let each be absent; the nested reference and codeable-concept
shapes keep whatever else the stored resource carries.
"""

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# --- query filters ------------------------------------------------------------------------------------------------


def _code(description: str = "a code of the record's code system, e.g. `A20`") -> Any:
    return Field(None, min_length=1, max_length=100, description=description)


def _from() -> Any:
    return Field(None, description="from this day on (YYYY-MM-DD, inclusive)")


def _to() -> Any:
    return Field(None, description="up to this day (YYYY-MM-DD, inclusive)")


_VACCINE = "e.g. `wex-10`"
_IMMUNIZATION_CODE = "esoz deviation: the contract gives no type or meaning; esoz matches the vaccine code"
_SERVICE = "the service's id"
_RECORDED_BY = "the employee who recorded the procedure"


class Filters(BaseModel):
    """What every list filter model shares: no field is required, each is validated (a wrong value is a 422)."""

    model_config = ConfigDict(populate_by_name=True)


class EncounterFilters(Filters):
    date_from: date | None = Field(None, description="encounters that started on this day or later")
    date_to: date | None = Field(None, description="encounters that started on this day or earlier")
    episode_id: uuid.UUID | None = None
    period_start_from: date | None = _from()
    period_start_to: date | None = _to()
    period_end_from: date | None = _from()
    period_end_to: date | None = _to()
    incoming_referral_id: uuid.UUID | None = None
    origin_episode_id: uuid.UUID | None = None
    managing_organization_id: uuid.UUID | None = None


class EpisodeEncounterFilters(Filters):
    """The episode-context list: the episode is in the path."""

    date_from: date | None = Field(None, description="encounters that started on this day or later")
    date_to: date | None = Field(None, description="encounters that started on this day or earlier")
    incoming_referral: uuid.UUID | None = Field(None, description="the service request the encounter answered")
    period_start_from: date | None = _from()
    period_start_to: date | None = _to()
    period_end_from: date | None = _from()
    period_end_to: date | None = _to()
    origin_episode_id: uuid.UUID | None = None


class ConditionFilters(Filters):
    encounter_id: uuid.UUID | None = None
    episode_id: uuid.UUID | None = None
    onset_date_from: date | None = _from()
    onset_date_to: date | None = _to()
    code: str | None = _code()
    managing_organization_id: uuid.UUID | None = None


class EpisodeConditionFilters(Filters):
    code: str | None = _code()
    onset_date_from: date | None = _from()
    onset_date_to: date | None = _to()


class ObservationFilters(Filters):
    encounter_id: uuid.UUID | None = None
    diagnostic_report_id: uuid.UUID | None = None
    episode_id: uuid.UUID | None = None
    code: str | None = _code()
    issued_from: date | None = _from()
    issued_to: date | None = _to()
    device_id: uuid.UUID | None = None
    managing_organization_id: uuid.UUID | None = None
    specimen_id: uuid.UUID | None = None


class EpisodeObservationFilters(Filters):
    code: str | None = _code()
    issued_from: date | None = _from()
    issued_to: date | None = _to()


class AllergyFilters(Filters):
    encounter_id: uuid.UUID | None = None
    episode_id: uuid.UUID | None = None
    code: str | None = _code()
    onset_date_time_from: date | None = _from()
    onset_date_time_to: date | None = _to()


class EpisodeAllergyFilters(Filters):
    code: str | None = _code()
    onset_date_time_from: date | None = _from()
    onset_date_time_to: date | None = _to()


class ImmunizationFilters(Filters):
    vaccine_code: str | None = _code(_VACCINE)
    date_from: date | None = _from()
    date_to: date | None = _to()
    code: str | None = _code(_IMMUNIZATION_CODE)
    encounter_id: uuid.UUID | None = None
    episode_id: uuid.UUID | None = None


class EpisodeImmunizationFilters(Filters):
    code: str | None = _code(_IMMUNIZATION_CODE)
    date_from: date | None = _from()
    date_to: date | None = _to()
    vaccine_code: str | None = _code(_VACCINE)


class DiagnosticReportFilters(Filters):
    issued_from: date | None = _from()
    issued_to: date | None = _to()
    code: str | None = _code(_SERVICE)
    encounter_id: uuid.UUID | None = None
    context_episode_id: uuid.UUID | None = None
    origin_episode_id: uuid.UUID | None = None
    based_on: uuid.UUID | None = Field(None, description="the service request the report answered")
    managing_organization_id: uuid.UUID | None = None
    specimen_id: uuid.UUID | None = None


ProcedureStatus = Literal["completed", "not_done", "entered_in_error"]


class ProcedureFilters(Filters):
    id: uuid.UUID | None = None
    status: ProcedureStatus | None = None
    episode_id: uuid.UUID | None = None
    encounter_id: uuid.UUID | None = None
    code: str | None = _code(_SERVICE)
    based_on: uuid.UUID | None = Field(None, description="the service request the procedure answered")
    recorded_by: uuid.UUID | None = Field(None, description=_RECORDED_BY)
    managing_organization_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    used_reference_id: uuid.UUID | None = None
    origin_episode_id: uuid.UUID | None = None


# --- the summary's filters -----------------------------------------------------------------------------------------


class SummaryEpisodeFilters(Filters):
    period_from: date | None = Field(None, description="episodes that started on this day or later")
    period_to: date | None = Field(None, description="episodes that started on this day or earlier")
    period_start_from: date | None = _from()
    period_start_to: date | None = _to()
    period_end_from: date | None = _from()
    period_end_to: date | None = _to()


class SummaryEncounterFilters(Filters):
    status: Literal["finished", "entered_in_error"] | None = None
    episode_id: uuid.UUID | None = None
    type: str | None = _code("eHealth/encounter_types code")
    class_: str | None = Field(None, alias="class", min_length=1, max_length=100, description="encounter class")
    performer_speciality: str | None = _code("e.g. `FAMILY_DOCTOR`")
    date_from: date | None = Field(None, description="encounters that started on this day or later")
    date_to: date | None = Field(None, description="encounters that started on this day or earlier")
    period_start_from: date | None = _from()
    period_start_to: date | None = _to()
    period_end_from: date | None = _from()
    period_end_to: date | None = _to()


class SummaryImmunizationFilters(Filters):
    code: str | None = _code(_IMMUNIZATION_CODE)
    date_from: date | None = _from()
    date_to: date | None = _to()
    vaccine_code: str | None = _code(_VACCINE)


class SummaryDiagnosisFilters(Filters):
    code: str | None = _code()


class SummaryDiagnosticReportFilters(Filters):
    issued_from: date | None = _from()
    issued_to: date | None = _to()
    code: str | None = _code(_SERVICE)
    encounter_id: uuid.UUID | None = None
    context_episode_id: uuid.UUID | None = None
    initial_episode_id: uuid.UUID | None = Field(None, description="the episode the report was first made in")


class SummaryProcedureFilters(Filters):
    status: ProcedureStatus | None = None
    episode_id: uuid.UUID | None = None
    code: str | None = _code(_SERVICE)
    service_request_id: uuid.UUID | None = Field(None, description="the service request the procedure answered")
    recorded_by: uuid.UUID | None = Field(None, description=_RECORDED_BY)
    managing_organization_id: uuid.UUID | None = None


# --- answers -------------------------------------------------------------------------------------------------------


class _Open(BaseModel):
    """A nested contract shape: its known fields, and whatever else the stored resource carries."""

    model_config = ConfigDict(extra="allow")


class Coding(_Open):
    system: str | None = None
    code: str | None = None


class CodeableConcept(_Open):
    coding: list[Coding] | None = None
    text: str | None = None


class Identifier(_Open):
    type: CodeableConcept | None = None
    value: str | None = None


class Reference(_Open):
    """`{"identifier": {"type": {"coding": [{"system": "eHealth/resources", "code": <resource>}]}, "value": <id>}}`"""

    identifier: Identifier | None = None
    display_value: str | None = None


class Period(_Open):
    start: str | None = None
    end: str | None = None


class Resource(_Open):
    id: uuid.UUID
    inserted_at: str | None = None
    updated_at: str | None = None


class EncounterOut(Resource):
    status: str | None = None
    period: Period | None = None
    episode: Reference | None = None
    origin_episode: Reference | None = None
    incoming_referral: Reference | None = None
    paper_referral: dict[str, Any] | None = None
    visit: Reference | None = None
    class_: Coding | None = Field(None, alias="class")
    type: CodeableConcept | None = None
    performer: Reference | None = None
    reasons: list[CodeableConcept] | None = None
    diagnoses: list[dict[str, Any]] | None = None
    actions: list[CodeableConcept] | None = None
    action_references: list[Reference] | None = None
    division: Reference | None = None
    prescriptions: str | None = None
    supporting_info: list[Reference] | None = None
    cancellation_reason: CodeableConcept | None = None
    explanatory_letter: str | None = None
    hospitalization: dict[str, Any] | None = None
    participant: list[dict[str, Any]] | None = None


class ConditionOut(Resource):
    primary_source: bool | None = None
    asserter: Reference | None = None
    context: Reference | None = None
    code: CodeableConcept | None = None
    clinical_status: str | None = None
    verification_status: str | None = None
    severity: CodeableConcept | None = None
    body_sites: list[CodeableConcept] | None = None
    onset_date: str | None = None
    asserted_date: str | None = None
    stage: dict[str, Any] | None = None
    evidences: list[dict[str, Any]] | None = None


class ObservationOut(Resource):
    status: str | None = None
    diagnostic_report: Reference | None = None
    context: Reference | None = None
    categories: list[CodeableConcept] | None = None
    code: CodeableConcept | None = None
    effective_date_time: str | None = None
    issued: str | None = None
    primary_source: bool | None = None
    performer: Reference | None = None
    interpretation: CodeableConcept | None = None
    comment: str | None = None
    body_site: CodeableConcept | None = None
    method: CodeableConcept | None = None
    components: list[dict[str, Any]] | None = None
    specimen: Reference | None = None
    device: Reference | None = None


class AllergyIntoleranceOut(Resource):
    clinical_status: str | None = None
    verification_status: str | None = None
    type: str | None = None
    category: str | None = None
    criticality: str | None = None
    context: Reference | None = None
    code: CodeableConcept | None = None
    onset_date_time: str | None = None
    asserted_date: str | None = None
    primary_source: bool | None = None
    asserter: Reference | None = None
    last_occurrence: str | None = None


class ImmunizationOut(Resource):
    status: str | None = None
    not_given: bool | None = None
    vaccine_code: CodeableConcept | None = None
    context: Reference | None = None
    date: str | None = None
    primary_source: bool | None = None
    performer: Reference | None = None
    manufacturer: str | None = None
    lot_number: str | None = None
    expiration_date: str | None = None
    site: CodeableConcept | None = None
    route: CodeableConcept | None = None
    dose_quantity: dict[str, Any] | None = None
    explanation: dict[str, Any] | None = None
    reactions: list[dict[str, Any]] | None = None
    vaccination_protocols: list[dict[str, Any]] | None = None


class DiagnosticReportOut(Resource):
    status: str | None = None
    based_on: Reference | None = None
    paper_referral: dict[str, Any] | None = None
    code: Reference | None = None
    category: list[CodeableConcept] | None = None
    effective_date_time: str | None = None
    issued: str | None = None
    conclusion: str | None = None
    conclusion_code: CodeableConcept | None = None
    recorded_by: Reference | None = None
    specimens: list[Reference] | None = None
    used_references: list[Reference] | None = None
    encounter: Reference | None = None
    origin_episode: Reference | None = None
    division: Reference | None = None
    managing_organization: Reference | None = None
    primary_source: bool | None = None
    performer: dict[str, Any] | None = None
    results_interpreter: dict[str, Any] | None = None
    explanatory_letter: str | None = None
    cancellation_reason: CodeableConcept | None = None


class ProcedureOut(Resource):
    status: str | None = None
    status_reason: CodeableConcept | None = None
    based_on: Reference | None = None
    paper_referral: dict[str, Any] | None = None
    code: Reference | None = None
    performed_date_time: str | None = None
    recorded_by: Reference | None = None
    primary_source: bool | None = None
    performer: Reference | None = None
    division: Reference | None = None
    managing_organization: Reference | None = None
    reason_references: list[Reference] | None = None
    used_references: list[Reference] | None = None
    outcome: CodeableConcept | None = None
    note: str | None = None
    category: CodeableConcept | None = None
    encounter: Reference | None = None
    explanatory_letter: str | None = None
    origin_episode: Reference | None = None
    complication_details: list[Reference] | None = None
    used_codes: list[CodeableConcept] | None = None
    focal_device: dict[str, Any] | None = None


class ContextOut(BaseModel):
    """Where a record was made: its episode."""

    episode: Reference


class ObservationContextOut(ContextOut):
    diagnostic_report: Reference | None = Field(None, description="the report the observation was made in")


class OriginContextOut(ContextOut):
    origin_episode: Reference | None = Field(None, description="the episode the record was first made for")


class ShortEpisodeOut(BaseModel):
    id: uuid.UUID
    name: str | None = None
    status: str
    period: Period | None = None
    inserted_at: str | None = None
    updated_at: str | None = None


class ShortEncounterOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    status: str
    period: Period | None = None
    episode: Reference | None = None
    class_: Coding | None = Field(None, alias="class")
    type: CodeableConcept | None = None
    performer_speciality: CodeableConcept | None = None


class DiagnosisOut(_Open):
    condition: Reference | None = None
    code: CodeableConcept | None = None
    role: CodeableConcept | None = None
    rank: int | None = None


class EpisodeFilters(Filters):
    period_from: date | None = Field(None, description="episodes that started on this day or later")
    period_to: date | None = Field(None, description="episodes that started on this day or earlier")
    status: Literal["active", "closed", "entered_in_error"] | None = None
    code: str | None = _code("a current diagnosis of the episode, e.g. `R80`")
    managing_organization_id: uuid.UUID | None = None


class EpisodeOut(Resource):
    type: Coding | None = None
    status: str | None = None
    name: str | None = None
    status_history: list[dict[str, Any]] | None = None
    current_diagnoses: list[DiagnosisOut] | None = None
    diagnoses_history: list[dict[str, Any]] | None = None
    managing_organization: Reference | None = None
    period: Period | None = None
    care_manager: Reference | None = None
    closing_summary: str | None = None
    status_reason: CodeableConcept | None = None
    explanatory_letter: str | None = None


class ApprovedEpisodeFilters(Filters):
    code: str | None = _code("a current diagnosis of the episode, e.g. `R80`")
