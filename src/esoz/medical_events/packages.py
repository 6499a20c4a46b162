"""The encounter package: one document the doctor signs, carrying the encounter and what it produced, and its
correction (the same document with statuses set to `entered_in_error`).

Submit: the patient is active; the package's encounter belongs to an active episode of this patient managed by
the caller's legal entity; the performer is an active doctor of that legal entity and the signer; the division
is the legal entity's; every record points at the package's encounter, has an id no record of the patient
has, and codes from the dictionaries (codes.py); the diagnoses name conditions of the package or of the
patient. Then the encounter and its records are stored, each with the encounter's id (the CMS is kept under
the encounter), and the episode's current diagnoses become the encounter's.

Correct: the signed content is the stored encounter and the records to cancel, as stored, with the status
`entered_in_error`; an encounter signed as `entered_in_error` cancels everything its package produced. The
signer is the encounter's performer.

Status events are written for the encounter (and the episodes, in episodes.py), not for each record: a
record's status follows its encounter's package, and the feed stays one event per signed document.

Like the referrals, esoz runs the checks before it answers: bad input is answered 4xx directly and leaves
nothing written; the job a success answers with is already processed.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.auth import AuthContext
from esoz.core.errors import Conflict, NotFound, ValidationFailed, invalid_entry
from esoz.medical_events import async_jobs, codes
from esoz.medical_events.models import RECORD_TABLES, encounters, episodes
from esoz.medical_events.refs import CodeableConcept, Reference, parse
from esoz.medical_events.schemas import (
    DiagnosticReportContent,
    EncounterPackage,
    PackageSubmit,
    ProcedureContent,
    RecordContent,
)
from esoz.medical_events.service import (
    ENTERED_IN_ERROR,
    STATUS_FIELD,
    EncounterRecord,
    EpisodeRecord,
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
from esoz.signatures.flow import (
    Effects,
    ExpectedSigner,
    SignedWrite,
    StatusChange,
    Written,
    signed_write,
)
from esoz.signatures.service import VerifiedDocument
from esoz.signatures.signer_checks import check_content

FINISHED = "finished"
# What a reference's type names, as the table of its records.
RESOURCE_KINDS = {
    "condition": "conditions",
    "observation": "observations",
    "immunization": "immunizations",
    "allergy_intolerance": "allergy_intolerances",
    "diagnostic_report": "diagnostic_reports",
    "procedure": "procedures",
}
ACTIVE_EPISODE = "active"
# Keys of a record's render that are not what was signed: left out when a correction is compared.
_SERVER_KEYS = ("inserted_at", "updated_at")


def _encounter_href(person_id: uuid.UUID, encounter_id: uuid.UUID) -> str:
    return f"/api/patients/{person_id}/encounters/{encounter_id}"


def _content_of(doc: VerifiedDocument) -> tuple[EncounterPackage, dict[str, Any]]:
    if not isinstance(doc.content, dict):
        raise ValidationFailed([invalid_entry("$", "invalid", "Signed content must be a JSON object")])
    return parse(EncounterPackage, doc.content), doc.content


def _records(package: EncounterPackage) -> list[tuple[str, int, RecordContent]]:
    """(kind, index, record) of every record the package carries, in the package's order."""
    return [(kind, i, r) for kind in RECORD_TABLES for i, r in enumerate(getattr(package, kind))]


def _status_of(kind: str, record: BaseModel) -> str:
    return str(getattr(record, STATUS_FIELD[kind]))


# --- submit ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NewPackage:
    package: EncounterPackage
    content: dict[str, Any]
    episode: EpisodeRecord
    performer: ClinicianRecord


class Checks:
    """Collects the package's 422 entries; the doctors it names are looked up once each."""

    def __init__(self, conn: AsyncConnection, auth: AuthContext) -> None:
        self.conn, self.auth = conn, auth
        self.errors: list[dict[str, Any]] = []
        self._clinicians: dict[uuid.UUID, ClinicianRecord | None] = {}

    def fail(self, entry: str, description: str, rule: str = "invalid", params: Any = None) -> None:
        self.errors.append(invalid_entry(entry, rule, description, params))

    def code(self, concept: CodeableConcept, allowed: codes.Codes, entry: str) -> None:
        if not allowed.allows(concept.system, concept.code):
            self.fail(f"{entry}.coding[0].code", "value is not allowed in enum", "inclusion", list(allowed.systems))

    async def employee(self, ref: Reference | None, entry: str) -> uuid.UUID | None:
        """An author a record names: an employee of the caller's legal entity."""
        if ref is None:
            return None
        if ref.resource != "employee":
            self.fail(f"{entry}.identifier.type", "Must be an employee")
            return None
        if ref.id not in self._clinicians:
            self._clinicians[ref.id] = await repository.get_clinician(self.conn, employee_id=ref.id)
        clinician = self._clinicians[ref.id]
        if clinician is None or clinician.employee.legal_entity_id != self.auth.legal_entity_id:
            self.fail(f"{entry}.identifier.value", "Employee not found in your legal entity")
        return ref.id

    def points_at(self, ref: Reference | None, encounter_id: uuid.UUID, entry: str, required: bool = True) -> None:
        if ref is None:
            if required:
                self.fail(entry, "Must reference the package's encounter", "required")
        elif ref.resource != "encounter" or ref.id != encounter_id:
            self.fail(f"{entry}.identifier.value", "Must reference the package's encounter")


async def _check_encounter(
    checks: Checks, conn: AsyncConnection, package: EncounterPackage, person_id: uuid.UUID
) -> EpisodeRecord | None:
    auth, enc, dic = checks.auth, package.encounter, codes.load()
    if enc.status != FINISHED:
        checks.fail("$.encounter.status", "A new encounter must be finished", "inclusion", [FINISHED])
    if enc.period.start > clock.now():
        checks.fail("$.encounter.period.start", "Must be in the past")
    if enc.period.end is not None and enc.period.end < enc.period.start:
        checks.fail("$.encounter.period.end", "End date must be greater than start date")
    if not dic.encounter_classes.allows(enc.class_.system, enc.class_.code):
        checks.fail(
            "$.encounter.class.code", "value is not allowed in enum", "inclusion", list(dic.encounter_classes.names)
        )
    checks.code(enc.type, dic.encounter_types, "$.encounter.type")
    await checks.employee(enc.performer, "$.encounter.performer")
    for i, reason in enumerate(enc.reasons):
        checks.code(reason, dic.icpc2, f"$.encounter.reasons[{i}]")
    if enc.division is not None:
        division = await repository.get_division(conn, division_id=enc.division.id)
        if enc.division.resource != "division" or division is None or division.legal_entity_id != auth.legal_entity_id:
            checks.fail("$.encounter.division.identifier.value", "Division not found in your legal entity")
        elif division.status != "ACTIVE":
            checks.fail("$.encounter.division.identifier.value", "Division is not active")
    episode = None
    if enc.episode.resource != "episode":
        checks.fail("$.encounter.episode.identifier.type", "Must be an episode")
    else:
        # Locked like the episode's own actions lock it: a close or cancel racing the package waits for it.
        episode = await get_episode(conn, person_id=person_id, episode_id=enc.episode.id, lock=True)
        if episode is None:
            checks.fail("$.encounter.episode.identifier.value", "Episode with such ID is not found")
        elif episode.status != ACTIVE_EPISODE:
            checks.fail("$.encounter.episode.identifier.value", "Episode is not active")
        elif episode.legal_entity_id != auth.legal_entity_id:
            checks.fail(
                "$.encounter.episode.identifier.value",
                "Managing_organization does not correspond to user's legal_entity",
            )
    if enc.incoming_referral is not None:
        await _check_referral(checks, conn, enc.incoming_referral, person_id)
    if await get_encounter(conn, person_id=person_id, encounter_id=enc.id) is not None:
        checks.fail("$.encounter.id", "Encounter with such id already exists")
    return episode


async def _check_referral(checks: Checks, conn: AsyncConnection, ref: Reference, person_id: uuid.UUID) -> None:
    """The encounter's incoming referral: a service request of this patient the caller's clinic may see, neither
    recalled nor entered in error."""
    entry = "$.encounter.incoming_referral"
    if ref.resource != "service_request":
        checks.fail(f"{entry}.identifier.type", "Must be a service request")
        return
    referral = await referral_of_person(conn, auth=checks.auth, person_id=person_id, referral_id=ref.id)
    if referral is None:
        checks.fail(f"{entry}.identifier.value", "Service request with such id is not found")
    elif not referral.active:
        checks.fail(f"{entry}.identifier.value", "Service request is not active")


async def _check_records(
    checks: Checks, conn: AsyncConnection, package: EncounterPackage, person_id: uuid.UUID
) -> None:
    dic, enc_id = codes.load(), package.encounter.id
    seen: set[uuid.UUID] = {enc_id}
    taken: set[uuid.UUID] = set()
    for kind in RECORD_TABLES:
        ids = [r.id for r in getattr(package, kind)]
        taken |= await existing_ids(conn, kind=kind, person_id=person_id, ids=ids)
    for kind, i, record in _records(package):
        at = f"$.{kind}[{i}]"
        record_id = record.id
        if record_id in seen:
            checks.fail(f"{at}.id", "Id is not unique in the package")
        elif record_id in taken:
            checks.fail(f"{at}.id", "A record with such id already exists")
        seen.add(record_id)
        if _status_of(kind, record) == ENTERED_IN_ERROR:
            checks.fail(f"{at}.{STATUS_FIELD[kind]}", "A new record cannot be entered in error")
    for i, c in enumerate(package.conditions):
        at = f"$.conditions[{i}]"
        checks.points_at(c.context, enc_id, f"{at}.context")
        if not dic.diagnosis(c.code.system, c.code.code):
            checks.fail(f"{at}.code.coding[0].code", "Unknown ICD-10 / ICPC-2 code", "inclusion")
        await checks.employee(c.asserter, f"{at}.asserter")
    for i, o in enumerate(package.observations):
        at = f"$.observations[{i}]"
        checks.points_at(o.context, enc_id, f"{at}.context", required=False)
        checks.code(o.code, dic.observation_codes, f"{at}.code")
        if o.diagnostic_report is not None and o.diagnostic_report.id not in {d.id for d in package.diagnostic_reports}:
            checks.fail(f"{at}.diagnostic_report.identifier.value", "Diagnostic report is not in the package")
        await checks.employee(o.performer, f"{at}.performer")
    for i, im in enumerate(package.immunizations):
        at = f"$.immunizations[{i}]"
        checks.points_at(im.context, enc_id, f"{at}.context")
        checks.code(im.vaccine_code, dic.vaccine_codes, f"{at}.vaccine_code")
        await checks.employee(im.performer, f"{at}.performer")
    for i, a in enumerate(package.allergy_intolerances):
        at = f"$.allergy_intolerances[{i}]"
        checks.points_at(a.context, enc_id, f"{at}.context")
        checks.code(a.code, dic.allergy_intolerance_codes, f"{at}.code")
        await checks.employee(a.asserter, f"{at}.asserter")
    by_service: list[tuple[str, Sequence[DiagnosticReportContent | ProcedureContent]]] = [
        ("diagnostic_reports", package.diagnostic_reports),
        ("procedures", package.procedures),
    ]
    for kind, items in by_service:
        for i, item in enumerate(items):
            at = f"$.{kind}[{i}]"
            checks.points_at(item.encounter, enc_id, f"{at}.encounter", required=kind == "procedures")
            # The service itself is not looked up: the services catalogue is another domain's, not read here yet.
            if item.code.resource != "service":
                checks.fail(f"{at}.code.identifier.type", "Must be a service")
            await checks.employee(item.recorded_by, f"{at}.recorded_by")
    in_package = {kind: {r.id for r in getattr(package, kind)} for kind in RECORD_TABLES}

    async def earlier(ref: Reference, entry: str, kinds: tuple[str, ...] = tuple(RESOURCE_KINDS)) -> None:
        """A reference to a record: one of this package, or one the patient already has."""
        kind = RESOURCE_KINDS.get(ref.resource)
        if kind is None or ref.resource not in kinds:
            checks.fail(f"{entry}.identifier.type", "Must reference one of: " + ", ".join(kinds), "inclusion", kinds)
        elif ref.id not in in_package[kind] and (
            await get_record(conn, kind=kind, person_id=person_id, record_id=ref.id) is None
        ):
            name = ref.resource.replace("_", " ").capitalize()
            checks.fail(f"{entry}.identifier.value", f"{name} with such id is not found")

    for i, diagnosis in enumerate(package.encounter.diagnoses):
        await earlier(diagnosis.condition, f"$.encounter.diagnoses[{i}].condition", ("condition",))
    for i, info in enumerate(package.encounter.supporting_info):
        await earlier(info, f"$.encounter.supporting_info[{i}]")
    for i, c in enumerate(package.conditions):
        for j, evidence in enumerate(c.evidences):
            for k, detail in enumerate(evidence.details):
                await earlier(detail, f"$.conditions[{i}].evidences[{j}].details[{k}]", ("observation", "condition"))


async def _read_new(
    conn: AsyncConnection, doc: VerifiedDocument, *, person_id: uuid.UUID, auth: AuthContext, body: PackageSubmit
) -> _NewPackage:
    package, content = _content_of(doc)
    checks = Checks(conn, auth)
    visit = package.encounter.visit
    if body.visit is not None and (visit is None or visit.resource != "visit" or visit.id != body.visit.id):
        checks.fail("$.visit.id", "Does not match the visit of the signed encounter")
    episode = await _check_encounter(checks, conn, package, person_id)
    await _check_records(checks, conn, package, person_id)
    if checks.errors:
        raise ValidationFailed(checks.errors)
    assert episode is not None  # no error means the episode was found
    performer = await repository.active_clinician(
        conn,
        employee_id=package.encounter.performer.id,
        legal_entity_id=auth.legal_entity_id,
        entry="$.encounter.performer.identifier.value",
    )
    return _NewPackage(package, content, episode, performer)


async def _performer_of_new(new: _NewPackage) -> ExpectedSigner:
    return ExpectedSigner(tax_id=new.performer.party.tax_id)


def _row_values(kind: str, record: BaseModel) -> dict[str, Any]:
    """The filter columns of a record (models.py), beside its signed JSON."""
    r: Any = record
    if kind == "conditions":
        return {
            "author_id": r.asserter.id if r.asserter else None,
            "clinical_status": r.clinical_status,
            "code": r.code.code,
            "code_system": r.code.system,
            "onset_date": r.onset_date,
            "asserted_date": r.asserted_date,
        }
    if kind == "observations":
        return {
            "author_id": r.performer.id if r.performer else None,
            "code": r.code.code,
            "diagnostic_report_id": r.diagnostic_report.id if r.diagnostic_report else None,
            "issued": r.issued,
            "effective_at": r.effective_date_time,
        }
    if kind == "immunizations":
        return {
            "author_id": r.performer.id if r.performer else None,
            "vaccine_code": r.vaccine_code.code,
            "date": r.date,
        }
    if kind == "allergy_intolerances":
        return {
            "author_id": r.asserter.id if r.asserter else None,
            "clinical_status": r.clinical_status,
            "code": r.code.code,
            "onset_date_time": r.onset_date_time,
        }
    if kind == "diagnostic_reports":
        return {"author_id": r.recorded_by.id if r.recorded_by else None, "code": str(r.code.id), "issued": r.issued}
    return {"author_id": r.recorded_by.id, "code": str(r.code.id), "performed_at": r.performed_date_time}


async def _insert(
    conn: AsyncConnection, new: _NewPackage, *, person_id: uuid.UUID, auth: AuthContext
) -> Written[uuid.UUID]:
    package, enc, episode = new.package, new.package.encounter, new.episode
    now = clock.now()
    common = {
        "person_id": person_id,
        "legal_entity_id": episode.legal_entity_id,
        "inserted_by": auth.user_id,
        "updated_by": auth.user_id,
        "inserted_at": now,
        "updated_at": now,
    }
    inserted = await conn.execute(
        pg_insert(encounters)
        .values(
            id=enc.id,
            episode_id=episode.id,
            status=FINISHED,
            division_id=enc.division.id if enc.division else None,
            performer_id=new.performer.employee.id,
            encounter_class=enc.class_.code,
            type=enc.type.code,
            incoming_referral_id=enc.incoming_referral.id if enc.incoming_referral else None,
            period_start=enc.period.start,
            period_end=enc.period.end,
            content=new.content["encounter"],
            **common,
        )
        .on_conflict_do_nothing()
    )
    if inserted.rowcount == 0:  # a concurrent twin of the same package
        raise Conflict("Encounter with such id already exists")
    changes = [
        StatusChange(
            entity_type="Encounter", entity_id=enc.id, new_status=FINISHED, legal_entity_id=auth.legal_entity_id
        )
    ]
    for kind, table in RECORD_TABLES.items():
        items: list[RecordContent] = getattr(package, kind)
        if not items:
            continue
        rows = [
            {
                "id": record.id,
                "episode_id": episode.id,
                "encounter_id": enc.id,
                "status": _status_of(kind, record),
                "content": new.content[kind][i],
                **_row_values(kind, record),
                **common,
            }
            for i, record in enumerate(items)
        ]
        written = await conn.execute(pg_insert(table).values(rows).on_conflict_do_nothing().returning(table.c.id))
        if len(written.all()) != len(rows):  # another package with the same record id, committed meanwhile
            raise Conflict("A record with such id already exists")
    if enc.diagnoses:
        codes_by_condition = {str(c.id): c.code.model_dump(mode="json", exclude_none=True) for c in package.conditions}
        current = [
            d.model_dump(mode="json", exclude_none=True) | {"code": codes_by_condition.get(str(d.condition.id))}
            for d in enc.diagnoses
        ]
        await conn.execute(
            update(episodes)
            .where(episodes.c.person_id == person_id, episodes.c.id == episode.id)
            .values(
                content=dict(episode.content) | {"current_diagnoses": current}, updated_at=now, updated_by=auth.user_id
            )
        )
    await audit.record(
        conn,
        action="encounter_package.create",
        resource_type="encounter",
        resource_id=enc.id,
        actor=auth.actor,
        person_id=person_id,
        details={kind: len(getattr(package, kind)) for kind in RECORD_TABLES if getattr(package, kind)},
    )
    return Written(document_id=enc.id, result=enc.id, effects=Effects(changes=tuple(changes)))


async def submit(
    conn: AsyncConnection, *, settings: Settings, auth: AuthContext, person_id: uuid.UUID, body: PackageSubmit
) -> dict[str, Any]:
    """Verify, check and store a signed encounter package; returns the (processed) job."""
    await repository.active_patient(conn, person_id=person_id)
    plan: SignedWrite[_NewPackage, uuid.UUID] = SignedWrite(
        stored_as="encounter",
        read=lambda doc: _read_new(conn, doc, person_id=person_id, auth=auth, body=body),
        find_signer=_performer_of_new,
        write=lambda _doc, new: _insert(conn, new, person_id=person_id, auth=auth),
    )
    encounter_id = await signed_write(conn, signed_data=body.signed_data, plan=plan, auth=auth, settings=settings)
    return await async_jobs.record_processed(
        conn,
        kind="encounter_package.create",
        legal_entity_id=auth.legal_entity_id,
        links=[async_jobs.link("encounter", _encounter_href(person_id, encounter_id))],
        status_code=201,
    )


# --- correct ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Correction:
    encounter: EncounterRecord
    cancel_encounter: bool
    targets: Sequence[MedicalRecord]


def _signed_part(signed: dict[str, Any], status_key: str) -> dict[str, Any]:
    return {k: v for k, v in signed.items() if k not in (status_key, *_SERVER_KEYS)}


async def _read_correction(
    conn: AsyncConnection, doc: VerifiedDocument, *, person_id: uuid.UUID, auth: AuthContext
) -> _Correction:
    package, content = _content_of(doc)
    encounter = await get_encounter(conn, person_id=person_id, encounter_id=package.encounter.id, lock=True)
    if encounter is None:
        raise NotFound("Encounter not found")
    if encounter.legal_entity_id != auth.legal_entity_id:
        raise Conflict("Managing_organization does not correspond to user's legal_entity")
    if encounter.status == ENTERED_IN_ERROR:
        raise Conflict("Encounter is already entered in error")
    check_content(
        _signed_part(content["encounter"], "status"), _signed_part(encounter.content, "status"), entry="$.encounter"
    )
    listed: list[MedicalRecord] = []
    for kind, i, record in _records(package):
        at = f"$.{kind}[{i}]"
        stored = await get_record(conn, kind=kind, person_id=person_id, record_id=record.id, lock=True)
        if stored is None or stored.encounter_id != encounter.id:
            raise ValidationFailed([invalid_entry(f"{at}.id", "invalid", "Not a record of this encounter")])
        if _status_of(kind, record) != ENTERED_IN_ERROR:
            raise ValidationFailed(
                [
                    invalid_entry(
                        f"{at}.{STATUS_FIELD[kind]}", "inclusion", "Must be entered_in_error", [ENTERED_IN_ERROR]
                    )
                ]
            )
        if stored.status == ENTERED_IN_ERROR:
            raise Conflict("The record is already entered in error")
        key = STATUS_FIELD[kind]
        check_content(_signed_part(content[kind][i], key), _signed_part(stored.content, key), entry=at)
        listed.append(stored)
    cancel_encounter = package.encounter.status == ENTERED_IN_ERROR
    if cancel_encounter:
        every = await records_of_encounter(conn, person_id=person_id, encounter_id=encounter.id, lock=True)
        return _Correction(encounter, True, [r for r in every if r.status != ENTERED_IN_ERROR])
    if not listed:
        raise ValidationFailed(
            [
                invalid_entry(
                    "$", "required", "Nothing to correct: the encounter or its records must be entered_in_error"
                )
            ]
        )
    return _Correction(encounter, False, listed)


async def _write_correction(
    conn: AsyncConnection, correction: _Correction, *, person_id: uuid.UUID, auth: AuthContext
) -> Written[uuid.UUID]:
    now = clock.now()
    enc = correction.encounter
    changes: list[StatusChange] = []
    if correction.cancel_encounter:
        await conn.execute(
            update(encounters)
            .where(encounters.c.person_id == person_id, encounters.c.id == enc.id)
            .values(status=ENTERED_IN_ERROR, updated_at=now, updated_by=auth.user_id)
        )
        changes.append(
            StatusChange(entity_type="Encounter", entity_id=enc.id, old_status=enc.status, new_status=ENTERED_IN_ERROR,
                         legal_entity_id=auth.legal_entity_id)
        )  # fmt: skip
    for record in correction.targets:
        table = RECORD_TABLES[record.kind]
        await conn.execute(
            update(table)
            .where(table.c.person_id == person_id, table.c.id == record.id)
            .values(status=ENTERED_IN_ERROR, updated_at=now, updated_by=auth.user_id)
        )
    await audit.record(
        conn,
        action="encounter_package.cancel",
        resource_type="encounter",
        resource_id=enc.id,
        actor=auth.actor,
        person_id=person_id,
        details={"encounter": correction.cancel_encounter, "records": [f"{r.kind}/{r.id}" for r in correction.targets]},
    )
    return Written(document_id=enc.id, result=enc.id, effects=Effects(changes=tuple(changes)))


async def _performer_of(conn: AsyncConnection, correction: _Correction) -> ExpectedSigner:
    clinician = await repository.get_clinician(conn, employee_id=correction.encounter.performer_id)
    return ExpectedSigner(tax_id=clinician.party.tax_id if clinician is not None else None)


async def correct(
    conn: AsyncConnection, *, settings: Settings, auth: AuthContext, person_id: uuid.UUID, signed_data: str
) -> dict[str, Any]:
    """Verify a signed correction and mark what it names entered in error; returns the (processed) job."""
    await repository.active_patient(conn, person_id=person_id)
    plan: SignedWrite[_Correction, uuid.UUID] = SignedWrite(
        stored_as="encounter",
        read=lambda doc: _read_correction(conn, doc, person_id=person_id, auth=auth),
        find_signer=lambda correction: _performer_of(conn, correction),
        write=lambda _doc, correction: _write_correction(conn, correction, person_id=person_id, auth=auth),
    )
    encounter_id = await signed_write(conn, signed_data=signed_data, plan=plan, auth=auth, settings=settings)
    return await async_jobs.record_processed(
        conn,
        kind="encounter_package.cancel",
        legal_entity_id=auth.legal_entity_id,
        links=[async_jobs.link("encounter", _encounter_href(person_id, encounter_id))],
    )
