"""The diagnostic report package over real HTTP: a report and its observations signed by the report's performer
are stored with the CMS; bad packages (another signer, content changed after signing, another patient's
referral or encounter or episode, unknown codes) are refused with the contract's errors and write nothing; the
cancel marks the report and its observations entered in error."""

import asyncio
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from me_world import Clinic, Patient, World, concept, count, ref, sign
from records_world import ICD10, Records, invalid, iso, package, tamper

from esoz.services import catalogue
from esoz.services.seed import load_catalogue_into

PATH = "/api/patients/{}/diagnostic_report_package"
LOINC = "eHealth/LOINC/observation_codes"


@pytest.fixture
def encounter(records: Records, clinic: Clinic, patient: Patient) -> dict[str, str]:
    """An episode and an encounter of the patient the report is made under."""
    episode = records.open_episode(clinic, patient)
    body = package(clinic, episode)
    assert records.submit(clinic, patient, body).status_code == 202
    return {"episode": episode, "encounter": body["encounter"]["id"]}


@pytest.fixture
def service_catalogue(db_url: str) -> None:
    asyncio.run(load_catalogue_into(db_url))


def report_package(clinic: Clinic, under: dict[str, str], /, **over: Any) -> dict[str, Any]:
    performer = ref("employee", clinic.doctor.id)
    report_id = str(uuid.uuid4())
    return {
        "diagnostic_report": {
            "id": report_id,
            "status": "final",
            "code": ref("service", uuid.uuid4()),
            "category": [concept("eHealth/diagnostic_report_categories", "diagnostic_procedure")],
            "encounter": ref("encounter", under["encounter"]),
            "origin_episode": ref("episode", under["episode"]),
            "effective_date_time": iso(),
            "issued": iso(),
            "conclusion": "Глюкоза в межах норми",
            "conclusion_code": concept(ICD10, "E11"),
            "primary_source": True,
            "recorded_by": performer,
            "performer": {"reference": performer},
            "managing_organization": ref("legal_entity", clinic.legal_entity_id),
        }
        | over,
        "observations": [
            {
                "id": str(uuid.uuid4()),
                "status": "valid",
                "diagnostic_report": ref("diagnostic_report", report_id),
                "categories": [concept("eHealth/observation_categories", "laboratory")],
                "code": concept(LOINC, "8480-6"),
                "effective_date_time": iso(),
                "issued": iso(),
                "primary_source": True,
                "performer": performer,
                "value_quantity": {"value": 120, "unit": "mm[Hg]", "system": "eHealth/ucum/units", "code": "mm[Hg]"},
            }
        ],
    }


def submit(client: httpx.Client, clinic: Clinic, patient: Patient, body: dict[str, Any], signer: Any = None, *,
           signed_data: str | None = None) -> httpx.Response:  # fmt: skip
    signed = signed_data or sign(body, (signer or clinic.doctor).cert)
    return client.post(PATH.format(patient.id), json={"signed_data": signed}, headers=clinic.headers)


def cancel(
    client: httpx.Client, clinic: Clinic, patient: Patient, body: dict[str, Any], signer: Any = None
) -> httpx.Response:
    signed = sign(body, (signer or clinic.doctor).cert)
    return client.patch(PATH.format(patient.id), json={"signed_data": signed}, headers=clinic.headers)


def stored(pg: psycopg.Connection, patient: Patient) -> tuple[int, int]:
    """(reports, observations of reports) of the patient."""
    reports = count(pg, "SELECT count(*) FROM diagnostic_reports WHERE person_id = %s", patient.id)
    obs = count(pg, "SELECT count(*) FROM observations WHERE person_id = %s AND diagnostic_report_id IS NOT NULL",
                patient.id)  # fmt: skip
    return reports, obs


def refused(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection, body: dict[str, Any], **kw: Any
) -> httpx.Response:
    before = stored(pg, patient)
    answer = submit(client, clinic, patient, body, **kw)
    assert answer.status_code in (400, 404, 409, 422), answer.text
    assert stored(pg, patient) == before  # nothing half-written
    return answer


def test_a_signed_report_package_is_stored_with_its_observations_and_cms(
    client: httpx.Client, clinic: Clinic, patient: Patient, encounter: dict[str, str], pg: psycopg.Connection
) -> None:
    body = report_package(clinic, encounter)
    answer = submit(client, clinic, patient, body)
    assert answer.status_code == 202, answer.text
    job = answer.json()["data"]
    report_id = body["diagnostic_report"]["id"]
    assert job["status"] == "processed"
    assert job["links"][-1] == {
        "entity": "diagnostic_report",
        "href": f"/api/patients/{patient.id}/diagnostic_reports/{report_id}",
    }
    assert stored(pg, patient) == (1, 1)
    row = pg.execute(
        "SELECT status, encounter_id::text, episode_id::text, author_id::text FROM diagnostic_reports "
        "WHERE person_id = %s AND id = %s",
        (patient.id, report_id),
    ).fetchone()
    assert row == ("final", encounter["encounter"], encounter["episode"], clinic.doctor.id)
    obs = pg.execute("SELECT diagnostic_report_id::text FROM observations WHERE person_id = %s AND id = %s",
                     (patient.id, body["observations"][0]["id"])).fetchone()  # fmt: skip
    assert obs == (report_id,)
    cms = count(pg, "SELECT count(*) FROM signed_contents WHERE entity_type = 'diagnostic_report' AND entity_id = %s",
                report_id)  # fmt: skip
    assert cms == 1
    read = client.get(f"/api/patients/{patient.id}/diagnostic_reports/{report_id}", headers=clinic.headers)
    assert read.status_code == 200, read.text
    assert read.json()["data"]["conclusion"] == "Глюкоза в межах норми"
    again = submit(client, clinic, patient, body)
    assert invalid(again) == [("$.diagnostic_report.id", "A diagnostic report with such id already exists"),
                              ("$.observations[0].id", "A record with such id already exists")]  # fmt: skip


def test_a_package_signed_by_someone_other_than_the_performer_is_refused(
    client: httpx.Client, clinic: Clinic, patient: Patient, encounter: dict[str, str], pg: psycopg.Connection,
    world: World,
) -> None:  # fmt: skip
    other = world.doctor(clinic.legal_entity_id, clinic.division_id)
    answer = refused(client, clinic, patient, pg, report_package(clinic, encounter), signer=other)
    assert answer.status_code == 422, answer.text
    assert "Does not match the signer drfo" in answer.text


def test_content_changed_after_signing_is_refused(
    client: httpx.Client, clinic: Clinic, patient: Patient, encounter: dict[str, str], pg: psycopg.Connection
) -> None:
    body = report_package(clinic, encounter)
    signed = tamper(sign(body, clinic.doctor.cert), b'"E11"', b'"E10"')
    answer = refused(client, clinic, patient, pg, body, signed_data=signed)
    assert answer.json()["error"]["type"] in ("validation_failed", "request_malformed")


@pytest.mark.usefixtures("service_catalogue")
def test_the_referral_it_is_based_on_must_be_the_patients(
    client: httpx.Client, world: World, clinic: Clinic, patient: Patient, encounter: dict[str, str],
    pg: psycopg.Connection,
) -> None:  # fmt: skip
    other_patient = world.patient()
    referral = {
        "id": str(uuid.uuid4()),
        "status": "active",
        "intent": "order",
        "category": concept("eHealth/SNOMED/service_request_categories", "409063005"),
        "code": ref("service", catalogue.load().service("CNS-0001").id),
        "requester_employee": ref("employee", clinic.doctor.id),
        "requester_legal_entity": ref("legal_entity", clinic.legal_entity_id),
    }
    created = client.post(f"/api/patients/{other_patient.id}/service_requests",
                          json={"signed_data": sign(referral, clinic.doctor.cert)}, headers=clinic.headers)  # fmt: skip
    assert created.status_code == 202, created.text
    body = report_package(clinic, encounter, based_on=ref("service_request", referral["id"]))
    assert invalid(refused(client, clinic, patient, pg, body)) == [
        ("$.diagnostic_report.based_on.identifier.value", "Service request with such id is not found")
    ]
    mine = referral | {"id": str(uuid.uuid4())}
    created = client.post(f"/api/patients/{patient.id}/service_requests",
                          json={"signed_data": sign(mine, clinic.doctor.cert)}, headers=clinic.headers)  # fmt: skip
    assert created.status_code == 202, created.text
    body = report_package(clinic, encounter, based_on=ref("service_request", mine["id"]))
    assert submit(client, clinic, patient, body).status_code == 202
    assert stored(pg, patient) == (1, 1)


def test_another_patients_encounter_or_episode_is_refused(
    client: httpx.Client, records: Records, world: World, clinic: Clinic, patient: Patient,
    encounter: dict[str, str], pg: psycopg.Connection,
) -> None:  # fmt: skip
    someone = world.patient()
    episode = records.open_episode(clinic, someone)
    theirs = package(clinic, episode)
    assert records.submit(clinic, someone, theirs).status_code == 202
    body = report_package(clinic, encounter, encounter=ref("encounter", theirs["encounter"]["id"]))
    assert invalid(refused(client, clinic, patient, pg, body)) == [
        ("$.diagnostic_report.encounter.identifier.value", "Encounter with such ID is not found")
    ]
    body = report_package(clinic, encounter, origin_episode=ref("episode", episode))
    assert invalid(refused(client, clinic, patient, pg, body)) == [
        ("$.diagnostic_report.origin_episode.identifier.value", "Episode with such ID is not found")
    ]


def test_unknown_codes_are_refused(
    client: httpx.Client, clinic: Clinic, patient: Patient, encounter: dict[str, str], pg: psycopg.Connection
) -> None:
    body = report_package(clinic, encounter, conclusion_code=concept(ICD10, "Z99.999"))
    body["observations"][0]["code"] = concept(LOINC, "00000-0")
    entries = [entry for entry, _ in invalid(refused(client, clinic, patient, pg, body))]
    assert entries == ["$.diagnostic_report.conclusion_code.coding[0].code", "$.observations[0].code.coding[0].code"]


def test_an_observation_must_point_at_the_report_and_the_organization_be_the_callers(
    client: httpx.Client, world: World, clinic: Clinic, patient: Patient, encounter: dict[str, str],
    pg: psycopg.Connection,
) -> None:  # fmt: skip
    other = world.clinic()
    body = report_package(clinic, encounter, managing_organization=ref("legal_entity", other.legal_entity_id))
    body["observations"][0]["diagnostic_report"] = ref("diagnostic_report", uuid.uuid4())
    assert invalid(refused(client, clinic, patient, pg, body)) == [
        ("$.diagnostic_report.managing_organization.identifier.value", "Must be the legal entity of the user"),
        ("$.observations[0].diagnostic_report.identifier.value", "Must reference the package's diagnostic report"),
    ]


def test_cancel_marks_the_report_and_its_observations_entered_in_error(
    client: httpx.Client, world: World, clinic: Clinic, patient: Patient, encounter: dict[str, str],
    pg: psycopg.Connection,
) -> None:  # fmt: skip
    body = report_package(clinic, encounter)
    assert submit(client, clinic, patient, body).status_code == 202
    report_id, obs_id = body["diagnostic_report"]["id"], body["observations"][0]["id"]
    extra = {
        "status": "entered_in_error",
        "explanatory_letter": "Звіт внесено помилково",
        "cancellation_reason": concept("eHealth/cancellation_reasons", "misspelling"),
    }
    changed = {"diagnostic_report": body["diagnostic_report"] | extra | {"conclusion": "інше"}, "observations": []}
    answer = cancel(client, clinic, patient, changed)
    assert answer.status_code == 422 and "$.diagnostic_report" in answer.text, answer.text
    signed_by_other = {"diagnostic_report": body["diagnostic_report"] | extra, "observations": []}
    other = world.doctor(clinic.legal_entity_id, clinic.division_id)
    answer = cancel(client, clinic, patient, signed_by_other, signer=other)
    assert answer.status_code == 422 and "Does not match the signer drfo" in answer.text, answer.text

    def status(table: str, record_id: str) -> str:
        row = pg.execute(f"SELECT status FROM {table} WHERE person_id = %s AND id = %s",
                         (patient.id, record_id)).fetchone()  # fmt: skip
        assert row is not None
        return str(row[0])

    assert (status("diagnostic_reports", report_id), status("observations", obs_id)) == ("final", "valid")
    answer = cancel(client, clinic, patient, {"diagnostic_report": body["diagnostic_report"] | extra})
    assert answer.status_code == 202, answer.text
    assert (status("diagnostic_reports", report_id), status("observations", obs_id)) == (
        "entered_in_error",
        "entered_in_error",
    )
    again = cancel(client, clinic, patient, {"diagnostic_report": body["diagnostic_report"] | extra})
    assert again.status_code == 409, again.text
