"""MIS-facing writes of medical records (contract: medical events): episodes of care and the encounter
package. Each answers 202 with a job; esoz checks the request before answering, so bad input comes back
directly (4xx, nothing written) and the job is already processed (its link names the episode or encounter).
`jobs_router` serves `GET /api/jobs/{id}`: the job of any asynchronous medical-events write, these and the
referrals' and conclusions' too.
"""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn, WriteConn
from esoz.core.schemas import Envelope
from esoz.medical_events import async_jobs, episodes, packages, report_packages
from esoz.medical_events.auth import EncounterCancel, EncounterWrite, EpisodeWrite, JobRead
from esoz.medical_events.schemas import (
    EpisodeCancel,
    EpisodeClose,
    EpisodeCreate,
    EpisodeUpdate,
    JobOut,
    PackageSubmit,
    SignedData,
)

router = APIRouter(prefix="/api", tags=["medical records"])
jobs_router = APIRouter(prefix="/api", tags=["jobs"])

_INLINE = (
    "esoz deviation: the request is processed before the answer; errors come back directly (4xx) instead of "
    "in a failed job, and the 202 job is already `processed`."
)
EPISODE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not_found: patient or episode"},
    409: {"description": "request_conflict: the patient is not active, the episode's status or clinic forbids it"},
    422: {"description": "validation_failed: dictionary codes, care manager, managing organization, dates"},
}
PACKAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "request_malformed: the signature could not be verified"},
    404: {"description": "not_found: patient or encounter"},
    409: {"description": "request_conflict: the patient is not active; the encounter is already cancelled"},
    422: {"description": "validation_failed: signer, content, references (episode, employee, division) or codes"},
}


@router.post(
    "/patients/{patient_id}/episodes",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=EPISODE_ERRORS,
    description=f"Open an episode of care (`Episode_Of_Care_Request`). {_INLINE}",
)
async def create_episode(
    request: Request, conn: WriteConn, auth: EpisodeWrite, patient_id: uuid.UUID, body: EpisodeCreate
) -> Response:
    job = await episodes.create(conn, auth=auth, person_id=patient_id, body=body)
    return async_jobs.accepted(request, job)


@router.patch(
    "/patients/{patient_id}/episodes/{episode_id}",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=EPISODE_ERRORS,
    description=f"Rename an active episode or change its care manager. {_INLINE}",
)
async def update_episode(
    request: Request,
    conn: WriteConn,
    auth: EpisodeWrite,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    body: EpisodeUpdate,
) -> Response:
    job = await episodes.update_episode(conn, auth=auth, person_id=patient_id, episode_id=episode_id, body=body)
    return async_jobs.accepted(request, job)


@router.patch(
    "/patients/{patient_id}/episodes/{episode_id}/actions/close",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=EPISODE_ERRORS,
    description=f"Close an active episode (`eHealth/episode_closing_reasons`). {_INLINE}",
)
async def close_episode(
    request: Request,
    conn: WriteConn,
    auth: EpisodeWrite,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    body: EpisodeClose,
) -> Response:
    job = await episodes.close(conn, auth=auth, person_id=patient_id, episode_id=episode_id, body=body)
    return async_jobs.accepted(request, job)


@router.patch(
    "/patients/{patient_id}/episodes/{episode_id}/actions/cancel",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=EPISODE_ERRORS,
    description=(
        "Mark an episode entered in error (`eHealth/cancellation_reasons`); refused (409) while it has encounters "
        f"that are not entered in error. {_INLINE}"
    ),
)
async def cancel_episode(
    request: Request,
    conn: WriteConn,
    auth: EpisodeWrite,
    patient_id: uuid.UUID,
    episode_id: uuid.UUID,
    body: EpisodeCancel,
) -> Response:
    job = await episodes.cancel(conn, auth=auth, person_id=patient_id, episode_id=episode_id, body=body)
    return async_jobs.accepted(request, job)


@router.post(
    "/patients/{patient_id}/encounter_package",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=PACKAGE_ERRORS,
    description=(
        "Submit an encounter package signed by the encounter's performer: the encounter with its conditions, "
        "observations, immunizations, allergy intolerances, diagnostic reports and procedures. esoz deviation: "
        "the contract's other record types (devices, risk assessments, medication statements and "
        "administrations, clinical impressions, specimens, device dispenses and associations, detected issues) "
        f"are refused (422). {_INLINE}"
    ),
)
async def submit_package(
    request: Request, conn: WriteConn, auth: EncounterWrite, patient_id: uuid.UUID, body: PackageSubmit
) -> Response:
    settings = request.app.state.settings
    job = await packages.submit(conn, settings=settings, auth=auth, person_id=patient_id, body=body)
    return async_jobs.accepted(request, job)


@router.patch(
    "/patients/{patient_id}/encounter_package",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=PACKAGE_ERRORS,
    description=(
        "Correct an encounter package (signed by the encounter's performer): the stored encounter and the records "
        "to cancel, as stored, with status `entered_in_error` (conditions, allergy intolerances: "
        "`verification_status`); an encounter signed `entered_in_error` cancels all its package produced. "
        f"{_INLINE}"
    ),
)
async def correct_package(
    request: Request, conn: WriteConn, auth: EncounterCancel, patient_id: uuid.UUID, body: SignedData
) -> Response:
    settings = request.app.state.settings
    job = await packages.correct(conn, settings=settings, auth=auth, person_id=patient_id, signed_data=body.signed_data)
    return async_jobs.accepted(request, job)


REPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "request_malformed: the signature could not be verified"},
    404: {"description": "not_found: patient or diagnostic report"},
    409: {"description": "request_conflict: the patient is not active; the report is already cancelled"},
    422: {"description": "validation_failed: signer, content, references (referral, encounter, episode) or codes"},
}
_REPORT_SCOPES = (
    "esoz deviation: the contract names no scope; esoz asks the encounter package's (`encounter:write`, "
    "`encounter:cancel`)."
)


@router.post(
    "/patients/{patient_id}/diagnostic_report_package",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=REPORT_ERRORS,
    description=(
        "Submit a diagnostic report with its observations, signed by the report's performer "
        "(`{diagnostic_report, observations}`); `based_on` names the patient's referral. esoz deviation: the "
        "report must name an `encounter` of the patient (esoz keeps every record under an encounter and its "
        f"episode). {_REPORT_SCOPES} {_INLINE}"
    ),
)
async def submit_report_package(
    request: Request, conn: WriteConn, auth: EncounterWrite, patient_id: uuid.UUID, body: SignedData
) -> Response:
    settings = request.app.state.settings
    job = await report_packages.submit(
        conn, settings=settings, auth=auth, person_id=patient_id, signed_data=body.signed_data
    )
    return async_jobs.accepted(request, job)


@router.patch(
    "/patients/{patient_id}/diagnostic_report_package",
    response_model=Envelope[JobOut],
    status_code=202,
    responses=REPORT_ERRORS,
    description=(
        "Cancel a diagnostic report package (signed by the report's performer): the stored report with status "
        "`entered_in_error` (and `explanatory_letter`, `cancellation_reason`) and, optionally, its observations as "
        f"stored; the report and all its observations become `entered_in_error`. {_REPORT_SCOPES} {_INLINE}"
    ),
)
async def cancel_report_package(
    request: Request, conn: WriteConn, auth: EncounterCancel, patient_id: uuid.UUID, body: SignedData
) -> Response:
    settings = request.app.state.settings
    job = await report_packages.cancel(
        conn, settings=settings, auth=auth, person_id=patient_id, signed_data=body.signed_data
    )
    return async_jobs.accepted(request, job)


@jobs_router.get(
    "/jobs/{id}",
    response_model=Envelope[JobOut],
    summary="Get job details",
    responses={
        303: {
            "model": Envelope[JobOut],
            "description": "processed: the job (`meta.code` 303) with `Location` at the entity it wrote",
        },
        404: {"description": "not_found: no such job for the caller's legal entity"},
    },
)
async def get_job(request: Request, conn: ReadConn, auth: JobRead, id: uuid.UUID) -> Response:
    """`status`: pending | processed | failed | failed_with_error; `links` name the created entity.
    A processed job answers 303 See Other, its body the job and `Location` the entity (the first link after the
    job's own); a job still pending, or failed, answers 200."""
    job = await async_jobs.get_job(conn, id, auth.legal_entity_filter)
    if job["status"] != async_jobs.PROCESSED:
        return envelope.ok(request, job)
    answer = envelope.ok(request, job, status=303)
    entity = next((link["href"] for link in job["links"] if link["entity"] != "job"), None)
    if entity is not None:
        answer.headers["location"] = entity
    return answer
