"""The diagnostic report package: a diagnostic report and its observations, signed by the report's performer
outside an encounter package (a laboratory's or a diagnostic centre's result), and its cancel.

Submit: the patient is active; the report is new, `final`, of the caller's legal entity (managing
organization), its performer an active doctor of that legal entity and the signer; the referral it is based on
(if any) is a service request of this patient the caller may see, neither recalled nor entered in error; the
encounter and origin episode it names are this patient's; every observation is new, `valid`, points at the
report and has a code from the dictionaries (codes.py), as the conclusion code has. The report and its
observations are stored in the tables the encounter package fills, under the named encounter and its episode;
the CMS is kept under (entity_type "diagnostic_report", the report's id).

Cancel: the signed report is the stored one with the status `entered_in_error` (and the contract's
`explanatory_letter`, `cancellation_reason`); the observations it lists are stored ones of the report, as
stored; the report and all its observations become `entered_in_error`. The signer is the report's performer.

As for the encounter package, the checks run before the answer: bad input is 4xx and leaves nothing written.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.medical_events import async_jobs, codes
from esoz.medical_events.models import diagnostic_reports, observations
from esoz.medical_events.packages import Checks
from esoz.medical_events.refs import parse
from esoz.medical_events.schemas import DiagnosticReportPackage
from esoz.medical_events.service import (
    ENTERED_IN_ERROR,
    EncounterRecord,
    MedicalRecord,
    existing_ids,
    get_encounter,
    get_episode,
    get_record,
    records_of_encounter,
    referral_of_person,
)
from esoz.registry import repository
from esoz.registry.repository import ClinicianRecord
from esoz.settings import Settings
from esoz.signatures.flow import Effects, ExpectedSigner, SignedWrite, Written, signed_write
from esoz.signatures.service import VerifiedDocument
from esoz.signatures.signer_checks import check_content

FINAL, VALID = "final", "valid"
# Keys of the signed report a cancel adds or changes; the rest must be as stored.
_CANCEL_KEYS = ("status", "explanatory_letter", "cancellation_reason")
_SERVER_KEYS = ("inserted_at", "updated_at")


def _href(person_id: uuid.UUID, report_id: uuid.UUID) -> str:
    return f"/api/patients/{person_id}/diagnostic_reports/{report_id}"


def _content_of(doc: VerifiedDocument) -> tuple[DiagnosticReportPackage, dict[str, Any]]:
    if not isinstance(doc.content, dict):
        raise ValidationFailed([invalid_entry("$", "invalid", "Signed content must be a JSON object")])
    return parse(DiagnosticReportPackage, doc.content), doc.content


# --- submit ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NewReport:
    package: DiagnosticReportPackage
    content: dict[str, Any]
    encounter: EncounterRecord
    performer: ClinicianRecord


async def _check_report(
    checks: Checks, conn: AsyncConnection, package: DiagnosticReportPackage, person_id: uuid.UUID
) -> EncounterRecord | None:
    report, auth, dic = package.diagnostic_report, checks.auth, codes.load()
    at = "$.diagnostic_report"
    if report.status != FINAL:
        checks.fail(f"{at}.status", "A new diagnostic report must be final", "inclusion", [FINAL])
    if report.issued > clock.now():
        checks.fail(f"{at}.issued", "Must be in the past")
    if report.code.resource != "service":
        checks.fail(f"{at}.code.identifier.type", "Must be a service")
    if report.conclusion_code is not None and not dic.icd10.allows(
        report.conclusion_code.system, report.conclusion_code.code
    ):
        checks.fail(f"{at}.conclusion_code.coding[0].code", "Unknown ICD-10 code", "inclusion")
    org = report.managing_organization
    if org.resource not in ("legal_entity", "legal_enity") or org.id != auth.legal_entity_id:
        checks.fail(f"{at}.managing_organization.identifier.value", "Must be the legal entity of the user")
    await checks.employee(report.performer.reference, f"{at}.performer.reference")
    await checks.employee(report.recorded_by, f"{at}.recorded_by")
    if await existing_ids(conn, kind="diagnostic_reports", person_id=person_id, ids=[report.id]):
        checks.fail(f"{at}.id", "A diagnostic report with such id already exists")
    if report.based_on is not None:
        ref = report.based_on
        if ref.resource != "service_request":
            checks.fail(f"{at}.based_on.identifier.type", "Must be a service request")
        else:
            referral = await referral_of_person(conn, auth=auth, person_id=person_id, referral_id=ref.id)
            if referral is None:
                checks.fail(f"{at}.based_on.identifier.value", "Service request with such id is not found")
            elif not referral.active:
                checks.fail(f"{at}.based_on.identifier.value", "Service request is not active")
    if report.origin_episode is not None and (
        report.origin_episode.resource != "episode"
        or await get_episode(conn, person_id=person_id, episode_id=report.origin_episode.id) is None
    ):
        checks.fail(f"{at}.origin_episode.identifier.value", "Episode with such ID is not found")
    encounter = None
    if report.encounter.resource != "encounter":
        checks.fail(f"{at}.encounter.identifier.type", "Must be an encounter")
    else:
        encounter = await get_encounter(conn, person_id=person_id, encounter_id=report.encounter.id)
        if encounter is None:
            checks.fail(f"{at}.encounter.identifier.value", "Encounter with such ID is not found")
        elif encounter.status == ENTERED_IN_ERROR:
            checks.fail(f"{at}.encounter.identifier.value", "Encounter is entered in error")
    return encounter


async def _check_observations(
    checks: Checks, conn: AsyncConnection, package: DiagnosticReportPackage, person_id: uuid.UUID
) -> None:
    dic, report_id = codes.load(), package.diagnostic_report.id
    taken = await existing_ids(conn, kind="observations", person_id=person_id, ids=[o.id for o in package.observations])
    seen: set[uuid.UUID] = {report_id}
    for i, obs in enumerate(package.observations):
        at = f"$.observations[{i}]"
        if obs.id in seen:
            checks.fail(f"{at}.id", "Id is not unique in the package")
        elif obs.id in taken:
            checks.fail(f"{at}.id", "A record with such id already exists")
        seen.add(obs.id)
        if obs.status != VALID:
            checks.fail(f"{at}.status", "A new observation must be valid", "inclusion", [VALID])
        ref = obs.diagnostic_report
        if ref is None or ref.resource != "diagnostic_report" or ref.id != report_id:
            checks.fail(f"{at}.diagnostic_report.identifier.value", "Must reference the package's diagnostic report")
        if obs.context is not None:
            checks.fail(f"{at}.context", "An observation of a diagnostic report has no encounter context")
        checks.code(obs.code, dic.observation_codes, f"{at}.code")
        await checks.employee(obs.performer, f"{at}.performer")


async def _read_new(
    conn: AsyncConnection, doc: VerifiedDocument, *, person_id: uuid.UUID, auth: AuthContext
) -> _NewReport:
    package, content = _content_of(doc)
    checks = Checks(conn, auth)
    encounter = await _check_report(checks, conn, package, person_id)
    await _check_observations(checks, conn, package, person_id)
    if checks.errors:
        raise ValidationFailed(checks.errors)
    assert encounter is not None  # no error means the encounter was found
    performer = await repository.active_clinician(
        conn,
        employee_id=package.diagnostic_report.performer.reference.id,
        legal_entity_id=auth.legal_entity_id,
        entry="$.diagnostic_report.performer.reference.identifier.value",
    )
    return _NewReport(package, content, encounter, performer)


async def _performer_of_new(new: _NewReport) -> ExpectedSigner:
    return ExpectedSigner(tax_id=new.performer.party.tax_id)


async def _insert(
    conn: AsyncConnection, new: _NewReport, *, person_id: uuid.UUID, auth: AuthContext
) -> Written[uuid.UUID]:
    report, now = new.package.diagnostic_report, clock.now()
    assert auth.legal_entity_id is not None  # checked against the managing organization
    common = {
        "person_id": person_id,
        "episode_id": new.encounter.episode_id,
        "encounter_id": new.encounter.id,
        "legal_entity_id": auth.legal_entity_id,
        "inserted_by": auth.user_id,
        "updated_by": auth.user_id,
        "inserted_at": now,
        "updated_at": now,
    }
    written = await conn.execute(
        pg_insert(diagnostic_reports)
        .values(
            id=report.id,
            status=FINAL,
            author_id=report.performer.reference.id,
            code=str(report.code.id),
            issued=report.issued,
            content=new.content["diagnostic_report"],
            **common,
        )
        .on_conflict_do_nothing()
    )
    if written.rowcount == 0:  # a concurrent twin of the same package
        raise Conflict("A diagnostic report with such id already exists")
    if new.package.observations:
        rows = [
            {
                "id": obs.id,
                "status": VALID,
                "author_id": obs.performer.id if obs.performer else None,
                "code": obs.code.code,
                "diagnostic_report_id": report.id,
                "issued": obs.issued,
                "effective_at": obs.effective_date_time,
                "content": new.content["observations"][i],
                **common,
            }
            for i, obs in enumerate(new.package.observations)
        ]
        stored = await conn.execute(
            pg_insert(observations).values(rows).on_conflict_do_nothing().returning(observations.c.id)
        )
        if len(stored.all()) != len(rows):
            raise Conflict("A record with such id already exists")
    await audit.record(
        conn,
        action="diagnostic_report_package.create",
        resource_type="diagnostic_report",
        resource_id=report.id,
        actor=auth.actor,
        person_id=person_id,
        details={"observations": len(new.package.observations)},
    )
    return Written(document_id=report.id, result=report.id, effects=Effects())


async def submit(
    conn: AsyncConnection, *, settings: Settings, auth: AuthContext, person_id: uuid.UUID, signed_data: str
) -> dict[str, Any]:
    """Verify, check and store a signed diagnostic report package; returns the (processed) job."""
    await repository.active_patient(conn, person_id=person_id)
    plan: SignedWrite[_NewReport, uuid.UUID] = SignedWrite(
        stored_as="diagnostic_report",
        read=lambda doc: _read_new(conn, doc, person_id=person_id, auth=auth),
        find_signer=_performer_of_new,
        write=lambda _doc, new: _insert(conn, new, person_id=person_id, auth=auth),
    )
    report_id = await signed_write(conn, signed_data=signed_data, plan=plan, auth=auth, settings=settings)
    return await async_jobs.record_processed(
        conn,
        kind="diagnostic_report_package.create",
        legal_entity_id=auth.legal_entity_id,
        links=[async_jobs.link("diagnostic_report", _href(person_id, report_id))],
        status_code=201,
    )


# --- cancel -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cancel:
    report: MedicalRecord
    observations: list[MedicalRecord]


def _signed_part(signed: dict[str, Any], drop: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in signed.items() if k not in (*drop, *_SERVER_KEYS)}


async def _read_cancel(
    conn: AsyncConnection, doc: VerifiedDocument, *, person_id: uuid.UUID, auth: AuthContext
) -> _Cancel:
    package, content = _content_of(doc)
    at = "$.diagnostic_report"
    report = await get_record(
        conn, kind="diagnostic_reports", person_id=person_id, record_id=package.diagnostic_report.id, lock=True
    )
    if report is None:
        raise NotFound("Diagnostic report not found")
    if report.legal_entity_id != auth.legal_entity_id:
        raise Conflict("Managing_organization does not correspond to user's legal_entity")
    if report.status == ENTERED_IN_ERROR:
        raise Conflict("Diagnostic report is already entered in error")
    if package.diagnostic_report.status != ENTERED_IN_ERROR:
        raise ValidationFailed(
            [invalid_entry(f"{at}.status", "inclusion", "Must be entered_in_error", [ENTERED_IN_ERROR])]
        )
    check_content(
        _signed_part(content["diagnostic_report"], _CANCEL_KEYS), _signed_part(report.content, _CANCEL_KEYS), entry=at
    )
    of_report = [
        r
        for r in await records_of_encounter(conn, person_id=person_id, encounter_id=report.encounter_id, lock=True)
        if r.kind == "observations"
        and r.content.get("diagnostic_report", {}).get("identifier", {}).get("value") == str(report.id)
    ]
    by_id = {r.id: r for r in of_report}
    for i, obs in enumerate(package.observations):
        stored = by_id.get(obs.id)
        if stored is None:
            raise ValidationFailed(
                [invalid_entry(f"$.observations[{i}].id", "invalid", "Not an observation of this report")]
            )
        check_content(
            _signed_part(content["observations"][i], ("status",)),
            _signed_part(stored.content, ("status",)),
            entry=f"$.observations[{i}]",
        )
    return _Cancel(report, [r for r in of_report if r.status != ENTERED_IN_ERROR])


async def _write_cancel(
    conn: AsyncConnection, cancel: _Cancel, content: dict[str, Any], *, person_id: uuid.UUID, auth: AuthContext
) -> Written[uuid.UUID]:
    now, report = clock.now(), cancel.report
    extra = {k: content["diagnostic_report"][k] for k in _CANCEL_KEYS if k in content["diagnostic_report"]}
    await conn.execute(
        update(diagnostic_reports)
        .where(diagnostic_reports.c.person_id == person_id, diagnostic_reports.c.id == report.id)
        .values(status=ENTERED_IN_ERROR, content=dict(report.content) | extra, updated_at=now, updated_by=auth.user_id)
    )
    if cancel.observations:
        await conn.execute(
            update(observations)
            .where(observations.c.person_id == person_id, observations.c.id.in_([o.id for o in cancel.observations]))
            .values(status=ENTERED_IN_ERROR, updated_at=now, updated_by=auth.user_id)
        )
    await audit.record(
        conn,
        action="diagnostic_report_package.cancel",
        resource_type="diagnostic_report",
        resource_id=report.id,
        actor=auth.actor,
        person_id=person_id,
        details={"observations": [str(o.id) for o in cancel.observations]},
    )
    return Written(document_id=report.id, result=report.id, effects=Effects())


async def _performer_of(conn: AsyncConnection, cancel: _Cancel) -> ExpectedSigner:
    employee_id = cancel.report.author_id
    clinician = await repository.get_clinician(conn, employee_id=employee_id) if employee_id else None
    return ExpectedSigner(tax_id=clinician.party.tax_id if clinician is not None else None)


async def cancel(
    conn: AsyncConnection, *, settings: Settings, auth: AuthContext, person_id: uuid.UUID, signed_data: str
) -> dict[str, Any]:
    """Verify a signed cancel and mark the report and its observations entered in error; returns the job."""
    await repository.active_patient(conn, person_id=person_id)
    plan: SignedWrite[_Cancel, uuid.UUID] = SignedWrite(
        stored_as="diagnostic_report",
        read=lambda doc: _read_cancel(conn, doc, person_id=person_id, auth=auth),
        find_signer=lambda c: _performer_of(conn, c),
        write=lambda doc, c: _write_cancel(conn, c, doc.content, person_id=person_id, auth=auth),
    )
    report_id = await signed_write(conn, signed_data=signed_data, plan=plan, auth=auth, settings=settings)
    return await async_jobs.record_processed(
        conn,
        kind="diagnostic_report_package.cancel",
        legal_entity_id=auth.legal_entity_id,
        links=[async_jobs.link("diagnostic_report", _href(person_id, report_id))],
    )
