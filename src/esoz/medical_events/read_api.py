"""Reads of a patient's medical records (contract: medical events): per type with the contract's filters, one
record and its context, the records of one episode, and the patient summary.

Routes are thin: reads.py applies the filters and access.py decides who may read. Every route declares the
patient's data it returns (`patient_data`): each answer is a row of the patient's access history, and a refused
read (403, naming the approval that is missing) leaves none.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.auth import AuthContext
from esoz.core.db import ReadConn
from esoz.core.pagination import PageParams, Pagination, Paging
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope, ListEnvelope
from esoz.medical_events import reads
from esoz.medical_events.read_auth import (
    AllergyIntoleranceRead,
    ConditionRead,
    ContextRead,
    DiagnosticReportRead,
    EncounterRead,
    EpisodeRead,
    ImmunizationRead,
    ObservationRead,
    ProcedureRead,
    SummaryRead,
)
from esoz.medical_events.read_schemas import (
    AllergyFilters,
    AllergyIntoleranceOut,
    ApprovedEpisodeFilters,
    ConditionFilters,
    ConditionOut,
    ContextOut,
    DiagnosisOut,
    DiagnosticReportFilters,
    DiagnosticReportOut,
    EncounterFilters,
    EncounterOut,
    EpisodeAllergyFilters,
    EpisodeConditionFilters,
    EpisodeEncounterFilters,
    EpisodeFilters,
    EpisodeImmunizationFilters,
    EpisodeObservationFilters,
    EpisodeOut,
    Filters,
    ImmunizationFilters,
    ImmunizationOut,
    ObservationContextOut,
    ObservationFilters,
    ObservationOut,
    OriginContextOut,
    ProcedureFilters,
    ProcedureOut,
    ShortEncounterOut,
    ShortEpisodeOut,
    SummaryDiagnosisFilters,
    SummaryDiagnosticReportFilters,
    SummaryEncounterFilters,
    SummaryEpisodeFilters,
    SummaryImmunizationFilters,
    SummaryProcedureFilters,
)

router = APIRouter(prefix="/api", tags=["medical records"])

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "forbidden: no declaration, authorship or approval opens the record; the message names "
        "the approval that is missing"
    },
    404: {"description": "NOT_FOUND: the patient, the episode or the record"},
    422: {"description": "validation_failed: a filter or an id is not valid"},
}
SUMMARY_ERRORS: dict[int | str, dict[str, Any]] = {404: ERRORS[404], 422: ERRORS[422]}
SUMMARY = (
    "The patient summary: readable by any clinic's doctor without the patient's approval, so it shows only what "
    "the real system's summary shows"
)


def _filters(filters: Filters) -> dict[str, Any]:
    return filters.model_dump(exclude_none=True)


async def _list(
    request: Request,
    conn: ReadConn,
    auth: AuthContext,
    kind: reads.Kind,
    patient_id: uuid.UUID,
    page: PageParams,
    filters: Filters,
) -> Response:
    rows, total = await reads.list_records(
        conn, auth, kind=kind, person_id=patient_id, filters=_filters(filters), page=page
    )
    return envelope.ok(request, rows, paging=Paging.of(page, total))


async def _get(
    request: Request, conn: ReadConn, auth: AuthContext, kind: reads.Kind, patient_id: uuid.UUID, id_: uuid.UUID
) -> Response:
    return envelope.ok(request, await reads.get_record(conn, auth, kind=kind, person_id=patient_id, record_id=id_))


async def _context(
    request: Request, conn: ReadConn, auth: AuthContext, kind: reads.Kind, patient_id: uuid.UUID, id_: uuid.UUID
) -> Response:
    return envelope.ok(request, await reads.get_context(conn, auth, kind=kind, person_id=patient_id, record_id=id_))


async def _episode_list(
    request: Request,
    conn: ReadConn,
    auth: AuthContext,
    kind: reads.Kind,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    page: PageParams,
    filters: Filters,
) -> Response:
    rows, total = await reads.list_in_episode(
        conn, auth, kind=kind, person_id=patient_id, episode_id=episode_id, filters=_filters(filters), page=page
    )
    return envelope.ok(request, rows, paging=Paging.of(page, total))


async def _episode_get(
    request: Request,
    conn: ReadConn,
    auth: AuthContext,
    kind: reads.Kind,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    id_: uuid.UUID,
) -> Response:
    data = await reads.get_in_episode(conn, auth, kind=kind, person_id=patient_id, episode_id=episode_id, record_id=id_)
    return envelope.ok(request, data)


async def _summary_list(
    request: Request, conn: ReadConn, kind: reads.Kind, patient_id: uuid.UUID, page: PageParams, filters: Filters
) -> Response:
    rows, total = await reads.summary_list(conn, kind=kind, person_id=patient_id, filters=_filters(filters), page=page)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


async def _summary_get(
    request: Request, conn: ReadConn, kind: reads.Kind, patient_id: uuid.UUID, id_: uuid.UUID
) -> Response:
    return envelope.ok(request, await reads.summary_get(conn, kind=kind, person_id=patient_id, record_id=id_))


# --- episodes ----------------------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/episodes",
    response_model=ListEnvelope[EpisodeOut],
    summary="Get Episodes by search params",
    responses=ERRORS,
    openapi_extra=patient_data("episode", person="path:patient_id", id="data:id"),
)
async def list_episodes(
    request: Request,
    conn: ReadConn,
    auth: EpisodeRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EpisodeFilters, Query()],
) -> Response:
    """`code`: a current diagnosis of the episode (ICD-10 / ICPC-2 code)."""
    return await _list(request, conn, auth, reads.EPISODES, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/episodes/approved",
    response_model=ListEnvelope[EpisodeOut],
    summary="Get Approved Episodes",
    responses=ERRORS,
    openapi_extra=patient_data("episode", person="path:patient_id", id="data:id"),
)
async def approved_episodes(
    request: Request,
    conn: ReadConn,
    auth: EpisodeRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[ApprovedEpisodeFilters, Query()],
) -> Response:
    """The patient's episodes an active approval opens to the caller (an approval of the whole record opens them
    all); `code`: a current diagnosis of the episode."""
    rows, total = await reads.approved_episodes(conn, auth, person_id=patient_id, code=filters.code, page=page)
    return envelope.ok(request, rows, paging=Paging.of(page, total))


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}",
    response_model=Envelope[EpisodeOut],
    summary="Get Episode by id",
    responses=ERRORS,
    openapi_extra=patient_data("episode", person="path:patient_id", id="path:episode_id"),
)
async def get_episode(
    request: Request, conn: ReadConn, auth: EpisodeRead, patient_id: uuid.UUID, episode_id: uuid.UUID
) -> Response:
    """esoz deviation: the contract names `episode:write` for this read; esoz asks `episode:read`, as every other
    episode read does."""
    return await _get(request, conn, auth, reads.EPISODES, patient_id, episode_id)


# --- encounters ----------------------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/encounters",
    response_model=ListEnvelope[EncounterOut],
    responses=ERRORS,
    openapi_extra=patient_data("encounter", person="path:patient_id", id="data:id"),
)
async def list_encounters(
    request: Request,
    conn: ReadConn,
    auth: EncounterRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EncounterFilters, Query()],
) -> Response:
    return await _list(request, conn, auth, reads.ENCOUNTERS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/encounters/{encounter_id}",
    response_model=Envelope[EncounterOut],
    responses=ERRORS,
    openapi_extra=patient_data("encounter", person="path:patient_id", id="path:encounter_id"),
)
async def get_encounter(
    request: Request, conn: ReadConn, auth: EncounterRead, patient_id: uuid.UUID, encounter_id: uuid.UUID
) -> Response:
    return await _get(request, conn, auth, reads.ENCOUNTERS, patient_id, encounter_id)


@router.get(
    "/patients/{patient_id}/encounters/{encounter_id}/context",
    response_model=Envelope[ContextOut],
    responses=ERRORS,
    openapi_extra=patient_data("encounter", person="path:patient_id", id="path:encounter_id"),
)
async def encounter_context(
    request: Request, conn: ReadConn, auth: ContextRead, patient_id: uuid.UUID, encounter_id: uuid.UUID
) -> Response:
    return await _context(request, conn, auth, reads.ENCOUNTERS, patient_id, encounter_id)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/encounters",
    response_model=ListEnvelope[EncounterOut],
    summary="Get encounters in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("encounter", person="path:patient_id", id="data:id"),
)
async def list_episode_encounters(
    request: Request,
    conn: ReadConn,
    auth: EncounterRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EpisodeEncounterFilters, Query()],
) -> Response:
    return await _episode_list(request, conn, auth, reads.ENCOUNTERS, patient_id, episode_id, page, filters)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/encounters/{encounter_id}",
    response_model=Envelope[EncounterOut],
    summary="Get encounter details in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("encounter", person="path:patient_id", id="path:encounter_id"),
)
async def get_episode_encounter(
    request: Request,
    conn: ReadConn,
    auth: EncounterRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    encounter_id: uuid.UUID,
) -> Response:
    return await _episode_get(request, conn, auth, reads.ENCOUNTERS, patient_id, episode_id, encounter_id)


# --- conditions ----------------------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/conditions",
    response_model=ListEnvelope[ConditionOut],
    responses=ERRORS,
    openapi_extra=patient_data("condition", person="path:patient_id", id="data:id"),
)
async def list_conditions(
    request: Request,
    conn: ReadConn,
    auth: ConditionRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[ConditionFilters, Query()],
) -> Response:
    return await _list(request, conn, auth, reads.CONDITIONS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/conditions/{condition_id}",
    response_model=Envelope[ConditionOut],
    responses=ERRORS,
    openapi_extra=patient_data("condition", person="path:patient_id", id="path:condition_id"),
)
async def get_condition(
    request: Request, conn: ReadConn, auth: ConditionRead, patient_id: uuid.UUID, condition_id: uuid.UUID
) -> Response:
    return await _get(request, conn, auth, reads.CONDITIONS, patient_id, condition_id)


@router.get(
    "/patients/{patient_id}/conditions/{condition_id}/context",
    response_model=Envelope[ContextOut],
    responses=ERRORS,
    openapi_extra=patient_data("condition", person="path:patient_id", id="path:condition_id"),
)
async def condition_context(
    request: Request, conn: ReadConn, auth: ContextRead, patient_id: uuid.UUID, condition_id: uuid.UUID
) -> Response:
    return await _context(request, conn, auth, reads.CONDITIONS, patient_id, condition_id)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/conditions",
    response_model=ListEnvelope[ConditionOut],
    summary="Get conditions in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("condition", person="path:patient_id", id="data:id"),
)
async def list_episode_conditions(
    request: Request,
    conn: ReadConn,
    auth: ConditionRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EpisodeConditionFilters, Query()],
) -> Response:
    return await _episode_list(request, conn, auth, reads.CONDITIONS, patient_id, episode_id, page, filters)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/conditions/{condition_id}",
    response_model=Envelope[ConditionOut],
    summary="Get condition details in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("condition", person="path:patient_id", id="path:condition_id"),
)
async def get_episode_condition(
    request: Request,
    conn: ReadConn,
    auth: ConditionRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    condition_id: uuid.UUID,
) -> Response:
    return await _episode_get(request, conn, auth, reads.CONDITIONS, patient_id, episode_id, condition_id)


# --- observations --------------------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/observations",
    response_model=ListEnvelope[ObservationOut],
    responses=ERRORS,
    openapi_extra=patient_data("observation", person="path:patient_id", id="data:id"),
)
async def list_observations(
    request: Request,
    conn: ReadConn,
    auth: ObservationRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[ObservationFilters, Query()],
) -> Response:
    return await _list(request, conn, auth, reads.OBSERVATIONS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/observations/{observation_id}",
    response_model=Envelope[ObservationOut],
    responses=ERRORS,
    openapi_extra=patient_data("observation", person="path:patient_id", id="path:observation_id"),
)
async def get_observation(
    request: Request, conn: ReadConn, auth: ObservationRead, patient_id: uuid.UUID, observation_id: uuid.UUID
) -> Response:
    return await _get(request, conn, auth, reads.OBSERVATIONS, patient_id, observation_id)


@router.get(
    "/patients/{patient_id}/observations/{observation_id}/context",
    response_model=Envelope[ObservationContextOut],
    responses=ERRORS,
    openapi_extra=patient_data("observation", person="path:patient_id", id="path:observation_id"),
)
async def observation_context(
    request: Request, conn: ReadConn, auth: ContextRead, patient_id: uuid.UUID, observation_id: uuid.UUID
) -> Response:
    return await _context(request, conn, auth, reads.OBSERVATIONS, patient_id, observation_id)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/observations",
    response_model=ListEnvelope[ObservationOut],
    summary="Get observations in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("observation", person="path:patient_id", id="data:id"),
)
async def list_episode_observations(
    request: Request,
    conn: ReadConn,
    auth: ObservationRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EpisodeObservationFilters, Query()],
) -> Response:
    return await _episode_list(request, conn, auth, reads.OBSERVATIONS, patient_id, episode_id, page, filters)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/observations/{observation_id}",
    response_model=Envelope[ObservationOut],
    summary="Get observation details in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("observation", person="path:patient_id", id="path:observation_id"),
)
async def get_episode_observation(
    request: Request,
    conn: ReadConn,
    auth: ObservationRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    observation_id: uuid.UUID,
) -> Response:
    return await _episode_get(request, conn, auth, reads.OBSERVATIONS, patient_id, episode_id, observation_id)


# --- allergy intolerances ------------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/allergy_intolerances",
    response_model=ListEnvelope[AllergyIntoleranceOut],
    responses=ERRORS,
    openapi_extra=patient_data("allergy_intolerance", person="path:patient_id", id="data:id"),
)
async def list_allergy_intolerances(
    request: Request,
    conn: ReadConn,
    auth: AllergyIntoleranceRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[AllergyFilters, Query()],
) -> Response:
    return await _list(request, conn, auth, reads.ALLERGY_INTOLERANCES, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/allergy_intolerances/{allergy_intolerance_id}",
    response_model=Envelope[AllergyIntoleranceOut],
    responses=ERRORS,
    openapi_extra=patient_data("allergy_intolerance", person="path:patient_id", id="path:allergy_intolerance_id"),
)
async def get_allergy_intolerance(
    request: Request,
    conn: ReadConn,
    auth: AllergyIntoleranceRead,
    patient_id: uuid.UUID,
    allergy_intolerance_id: uuid.UUID,
) -> Response:
    return await _get(request, conn, auth, reads.ALLERGY_INTOLERANCES, patient_id, allergy_intolerance_id)


@router.get(
    "/patients/{patient_id}/allergy_intolerances/{allergy_intolerance_id}/context",
    response_model=Envelope[ContextOut],
    responses=ERRORS,
    openapi_extra=patient_data("allergy_intolerance", person="path:patient_id", id="path:allergy_intolerance_id"),
)
async def allergy_intolerance_context(
    request: Request, conn: ReadConn, auth: ContextRead, patient_id: uuid.UUID, allergy_intolerance_id: uuid.UUID
) -> Response:
    return await _context(request, conn, auth, reads.ALLERGY_INTOLERANCES, patient_id, allergy_intolerance_id)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/allergy_intolerances",
    response_model=ListEnvelope[AllergyIntoleranceOut],
    summary="Get allergy intolerances in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("allergy_intolerance", person="path:patient_id", id="data:id"),
)
async def list_episode_allergy_intolerances(
    request: Request,
    conn: ReadConn,
    auth: AllergyIntoleranceRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EpisodeAllergyFilters, Query()],
) -> Response:
    return await _episode_list(request, conn, auth, reads.ALLERGY_INTOLERANCES, patient_id, episode_id, page, filters)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/allergy_intolerances/{allergy_intolerance_id}",
    response_model=Envelope[AllergyIntoleranceOut],
    summary="Get allergy intolerance details in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("allergy_intolerance", person="path:patient_id", id="path:allergy_intolerance_id"),
)
async def get_episode_allergy_intolerance(
    request: Request,
    conn: ReadConn,
    auth: AllergyIntoleranceRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    allergy_intolerance_id: uuid.UUID,
) -> Response:
    return await _episode_get(
        request, conn, auth, reads.ALLERGY_INTOLERANCES, patient_id, episode_id, allergy_intolerance_id
    )


# --- immunizations -------------------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/immunizations",
    response_model=ListEnvelope[ImmunizationOut],
    responses=ERRORS,
    openapi_extra=patient_data("immunization", person="path:patient_id", id="data:id"),
)
async def list_immunizations(
    request: Request,
    conn: ReadConn,
    auth: ImmunizationRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[ImmunizationFilters, Query()],
) -> Response:
    return await _list(request, conn, auth, reads.IMMUNIZATIONS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/immunizations/{immunization_id}",
    response_model=Envelope[ImmunizationOut],
    responses=ERRORS,
    openapi_extra=patient_data("immunization", person="path:patient_id", id="path:immunization_id"),
)
async def get_immunization(
    request: Request, conn: ReadConn, auth: ImmunizationRead, patient_id: uuid.UUID, immunization_id: uuid.UUID
) -> Response:
    return await _get(request, conn, auth, reads.IMMUNIZATIONS, patient_id, immunization_id)


@router.get(
    "/patients/{patient_id}/immunizations/{immunization_id}/context",
    response_model=Envelope[ContextOut],
    responses=ERRORS,
    openapi_extra=patient_data("immunization", person="path:patient_id", id="path:immunization_id"),
)
async def immunization_context(
    request: Request, conn: ReadConn, auth: ContextRead, patient_id: uuid.UUID, immunization_id: uuid.UUID
) -> Response:
    return await _context(request, conn, auth, reads.IMMUNIZATIONS, patient_id, immunization_id)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/immunizations",
    response_model=ListEnvelope[ImmunizationOut],
    summary="Get immunizations in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("immunization", person="path:patient_id", id="data:id"),
)
async def list_episode_immunizations(
    request: Request,
    conn: ReadConn,
    auth: ImmunizationRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EpisodeImmunizationFilters, Query()],
) -> Response:
    return await _episode_list(request, conn, auth, reads.IMMUNIZATIONS, patient_id, episode_id, page, filters)


@router.get(
    "/patients/{patient_id}/episodes/{episode_id}/immunizations/{immunization_id}",
    response_model=Envelope[ImmunizationOut],
    summary="Get immunization details in episode context",
    responses=ERRORS,
    openapi_extra=patient_data("immunization", person="path:patient_id", id="path:immunization_id"),
)
async def get_episode_immunization(
    request: Request,
    conn: ReadConn,
    auth: ImmunizationRead,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    immunization_id: uuid.UUID,
) -> Response:
    return await _episode_get(request, conn, auth, reads.IMMUNIZATIONS, patient_id, episode_id, immunization_id)


# --- diagnostic reports --------------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/diagnostic_reports",
    response_model=ListEnvelope[DiagnosticReportOut],
    responses=ERRORS,
    openapi_extra=patient_data("diagnostic_report", person="path:patient_id", id="data:id"),
)
async def list_diagnostic_reports(
    request: Request,
    conn: ReadConn,
    auth: DiagnosticReportRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[DiagnosticReportFilters, Query()],
) -> Response:
    return await _list(request, conn, auth, reads.DIAGNOSTIC_REPORTS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/diagnostic_reports/{diagnostic_report_id}",
    response_model=Envelope[DiagnosticReportOut],
    responses=ERRORS,
    openapi_extra=patient_data("diagnostic_report", person="path:patient_id", id="path:diagnostic_report_id"),
)
async def get_diagnostic_report(
    request: Request, conn: ReadConn, auth: DiagnosticReportRead, patient_id: uuid.UUID, diagnostic_report_id: uuid.UUID
) -> Response:
    return await _get(request, conn, auth, reads.DIAGNOSTIC_REPORTS, patient_id, diagnostic_report_id)


@router.get(
    "/patients/{patient_id}/diagnostic_reports/{diagnostic_report_id}/context",
    response_model=Envelope[OriginContextOut],
    responses=ERRORS,
    openapi_extra=patient_data("diagnostic_report", person="path:patient_id", id="path:diagnostic_report_id"),
)
async def diagnostic_report_context(
    request: Request, conn: ReadConn, auth: ContextRead, patient_id: uuid.UUID, diagnostic_report_id: uuid.UUID
) -> Response:
    return await _context(request, conn, auth, reads.DIAGNOSTIC_REPORTS, patient_id, diagnostic_report_id)


# --- procedures ----------------------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/procedures",
    response_model=ListEnvelope[ProcedureOut],
    responses=ERRORS,
    openapi_extra=patient_data("procedure", person="path:patient_id", id="data:id"),
)
async def list_procedures(
    request: Request,
    conn: ReadConn,
    auth: ProcedureRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[ProcedureFilters, Query()],
) -> Response:
    return await _list(request, conn, auth, reads.PROCEDURES, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/procedures/{id}",
    response_model=Envelope[ProcedureOut],
    responses=ERRORS,
    openapi_extra=patient_data("procedure", person="path:patient_id", id="path:id"),
)
async def get_procedure(
    request: Request, conn: ReadConn, auth: ProcedureRead, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    return await _get(request, conn, auth, reads.PROCEDURES, patient_id, id)


@router.get(
    "/patients/{patient_id}/procedures/{procedure_id}/context",
    response_model=Envelope[OriginContextOut],
    responses=ERRORS,
    openapi_extra=patient_data("procedure", person="path:patient_id", id="path:procedure_id"),
)
async def procedure_context(
    request: Request, conn: ReadConn, auth: ContextRead, patient_id: uuid.UUID, procedure_id: uuid.UUID
) -> Response:
    return await _context(request, conn, auth, reads.PROCEDURES, patient_id, procedure_id)


# --- the patient summary ---------------------------------------------------------------------------------------


@router.get(
    "/patients/{patient_id}/summary/episodes",
    response_model=ListEnvelope[ShortEpisodeOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data("episode", person="path:patient_id", id="data:id", action="episode.summary.read"),
)
async def summary_episodes(
    request: Request,
    conn: ReadConn,
    auth: SummaryRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[SummaryEpisodeFilters, Query()],
) -> Response:
    return await _summary_list(request, conn, reads.EPISODES, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/summary/encounters",
    response_model=ListEnvelope[ShortEncounterOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data("encounter", person="path:patient_id", id="data:id", action="encounter.summary.read"),
)
async def summary_encounters(
    request: Request,
    conn: ReadConn,
    auth: SummaryRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[SummaryEncounterFilters, Query()],
) -> Response:
    return await _summary_list(request, conn, reads.ENCOUNTERS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/summary/encounters/{encounter_id}",
    response_model=Envelope[ShortEncounterOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "encounter", person="path:patient_id", id="path:encounter_id", action="encounter.summary.read"
    ),
)
async def summary_encounter(
    request: Request, conn: ReadConn, auth: SummaryRead, patient_id: uuid.UUID, encounter_id: uuid.UUID
) -> Response:
    return await _summary_get(request, conn, reads.ENCOUNTERS, patient_id, encounter_id)


@router.get(
    "/patients/{patient_id}/summary/immunizations",
    response_model=ListEnvelope[ImmunizationOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "immunization", person="path:patient_id", id="data:id", action="immunization.summary.read"
    ),
)
async def summary_immunizations(
    request: Request,
    conn: ReadConn,
    auth: SummaryRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[SummaryImmunizationFilters, Query()],
) -> Response:
    return await _summary_list(request, conn, reads.IMMUNIZATIONS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/summary/immunizations/{id}",
    response_model=Envelope[ImmunizationOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "immunization", person="path:patient_id", id="path:id", action="immunization.summary.read"
    ),
)
async def summary_immunization(
    request: Request, conn: ReadConn, auth: SummaryRead, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    return await _summary_get(request, conn, reads.IMMUNIZATIONS, patient_id, id)


@router.get(
    "/patients/{patient_id}/summary/allergy_intolerances",
    response_model=ListEnvelope[AllergyIntoleranceOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "allergy_intolerance", person="path:patient_id", id="data:id", action="allergy_intolerance.summary.read"
    ),
)
async def summary_allergy_intolerances(
    request: Request,
    conn: ReadConn,
    auth: SummaryRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EpisodeAllergyFilters, Query()],
) -> Response:
    return await _summary_list(request, conn, reads.ALLERGY_INTOLERANCES, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/summary/allergy_intolerances/{id}",
    response_model=Envelope[AllergyIntoleranceOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "allergy_intolerance", person="path:patient_id", id="path:id", action="allergy_intolerance.summary.read"
    ),
)
async def summary_allergy_intolerance(
    request: Request, conn: ReadConn, auth: SummaryRead, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    return await _summary_get(request, conn, reads.ALLERGY_INTOLERANCES, patient_id, id)


@router.get(
    "/patients/{patient_id}/summary/observations",
    response_model=ListEnvelope[ObservationOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "observation", person="path:patient_id", id="data:id", action="observation.summary.read"
    ),
)
async def summary_observations(
    request: Request,
    conn: ReadConn,
    auth: SummaryRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EpisodeObservationFilters, Query()],
) -> Response:
    return await _summary_list(request, conn, reads.OBSERVATIONS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/summary/observations/{id}",
    response_model=Envelope[ObservationOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "observation", person="path:patient_id", id="path:id", action="observation.summary.read"
    ),
)
async def summary_observation(
    request: Request, conn: ReadConn, auth: SummaryRead, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    return await _summary_get(request, conn, reads.OBSERVATIONS, patient_id, id)


@router.get(
    "/patients/{patient_id}/summary/conditions",
    response_model=ListEnvelope[ConditionOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data("condition", person="path:patient_id", id="data:id", action="condition.summary.read"),
)
async def summary_conditions(
    request: Request,
    conn: ReadConn,
    auth: SummaryRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[EpisodeConditionFilters, Query()],
) -> Response:
    return await _summary_list(request, conn, reads.CONDITIONS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/summary/conditions/{id}",
    response_model=Envelope[ConditionOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data("condition", person="path:patient_id", id="path:id", action="condition.summary.read"),
)
async def summary_condition(
    request: Request, conn: ReadConn, auth: SummaryRead, patient_id: uuid.UUID, id: uuid.UUID
) -> Response:
    return await _summary_get(request, conn, reads.CONDITIONS, patient_id, id)


@router.get(
    "/patients/{patient_id}/summary/diagnostic_reports",
    response_model=ListEnvelope[DiagnosticReportOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "diagnostic_report", person="path:patient_id", id="data:id", action="diagnostic_report.summary.read"
    ),
)
async def summary_diagnostic_reports(
    request: Request,
    conn: ReadConn,
    auth: SummaryRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[SummaryDiagnosticReportFilters, Query()],
) -> Response:
    return await _summary_list(request, conn, reads.DIAGNOSTIC_REPORTS, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/summary/diagnostic_reports/{diagnostic_report_id}",
    response_model=Envelope[DiagnosticReportOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "diagnostic_report",
        person="path:patient_id",
        id="path:diagnostic_report_id",
        action="diagnostic_report.summary.read",
    ),
)
async def summary_diagnostic_report(
    request: Request, conn: ReadConn, auth: SummaryRead, patient_id: uuid.UUID, diagnostic_report_id: uuid.UUID
) -> Response:
    return await _summary_get(request, conn, reads.DIAGNOSTIC_REPORTS, patient_id, diagnostic_report_id)


@router.get(
    "/patients/{patient_id}/summary/procedures",
    response_model=ListEnvelope[ProcedureOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data("procedure", person="path:patient_id", id="data:id", action="procedure.summary.read"),
)
async def summary_procedures(
    request: Request,
    conn: ReadConn,
    auth: SummaryRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[SummaryProcedureFilters, Query()],
) -> Response:
    return await _summary_list(request, conn, reads.PROCEDURES, patient_id, page, filters)


@router.get(
    "/patients/{patient_id}/summary/procedures/{procedure_id}",
    response_model=Envelope[ProcedureOut],
    responses=SUMMARY_ERRORS,
    description=SUMMARY,
    openapi_extra=patient_data(
        "procedure", person="path:patient_id", id="path:procedure_id", action="procedure.summary.read"
    ),
)
async def summary_procedure(
    request: Request, conn: ReadConn, auth: SummaryRead, patient_id: uuid.UUID, procedure_id: uuid.UUID
) -> Response:
    return await _summary_get(request, conn, reads.PROCEDURES, patient_id, procedure_id)


@router.get(
    "/patients/{patient_id}/summary/diagnoses",
    response_model=ListEnvelope[DiagnosisOut],
    summary="Get active Diagnoses",
    responses=SUMMARY_ERRORS,
    description=SUMMARY + ": the current diagnoses of the active episodes, of the whitelisted codes",
    openapi_extra=patient_data(
        "diagnosis", person="path:patient_id", id="data:condition.identifier.value", action="diagnosis.summary.read"
    ),
)
async def summary_diagnoses(
    request: Request,
    conn: ReadConn,
    auth: SummaryRead,
    patient_id: uuid.UUID,
    page: Pagination,
    filters: Annotated[SummaryDiagnosisFilters, Query()],
) -> Response:
    rows, total = await reads.summary_diagnoses(conn, person_id=patient_id, code=filters.code, page=page)
    return envelope.ok(request, rows, paging=Paging.of(page, total))
