"""The encounter package over real HTTP: a signed package stores the encounter and every record it carries with
its CMS; bad packages are refused with the contract's errors and write nothing; corrections mark records (or the
whole encounter) entered in error."""

import asyncio
import threading
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from me_world import Clinic, Patient, World, concept, count, ref, sign
from records_world import ICD10, Records, episode_body, invalid, package, tamper

from esoz.services import catalogue
from esoz.services.seed import load_catalogue_into

TABLES = (
    "encounters",
    "conditions",
    "observations",
    "immunizations",
    "allergy_intolerances",
    "diagnostic_reports",
    "procedures",
)
DRFO = "Does not match the signer drfo"
CONDITION_CODE = "$.conditions[0].code.coding[0].code"
KINDS = ("condition", "observation", "immunization", "allergy_intolerance", "diagnostic_report", "procedure")


def rows_of(pg: psycopg.Connection, patient: Patient) -> dict[str, int]:
    return {t: count(pg, f"SELECT count(*) FROM {t} WHERE person_id = %s", patient.id) for t in TABLES}


def status_of(pg: psycopg.Connection, table: str, patient: Patient, record_id: str) -> str:
    row = pg.execute(f"SELECT status FROM {table} WHERE person_id = %s AND id = %s", (patient.id, record_id)).fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture
def episode(records: Records, clinic: Clinic, patient: Patient) -> str:
    return records.open_episode(clinic, patient)


def test_package_stores_the_encounter_and_its_records_with_the_cms(
    client: httpx.Client, records: Records, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    body = package(clinic, episode, full=True)
    visit = {"id": body["encounter"]["visit"]["identifier"]["value"], "period": body["encounter"]["period"]}
    answer = records.submit(clinic, patient, body, visit=visit)
    assert answer.status_code == 202, answer.text
    job = answer.json()["data"]
    encounter_id = body["encounter"]["id"]
    assert job["status"] == "processed"
    assert job["links"][-1] == {"entity": "encounter", "href": f"/api/patients/{patient.id}/encounters/{encounter_id}"}
    assert rows_of(pg, patient) == dict.fromkeys(TABLES, 1)

    enc = pg.execute(
        "SELECT episode_id::text, status, performer_id::text, legal_entity_id::text, division_id::text, content"
        " FROM encounters WHERE person_id = %s AND id = %s",
        (patient.id, encounter_id),
    ).fetchone()
    assert enc is not None
    assert enc[:5] == (episode, "finished", clinic.doctor.id, clinic.legal_entity_id, clinic.division_id)
    assert enc[5] == body["encounter"]  # the encounter as signed
    condition = pg.execute(
        "SELECT encounter_id::text, episode_id::text, status, clinical_status, code, author_id::text, content"
        " FROM conditions WHERE person_id = %s",
        (patient.id,),
    ).fetchone()
    assert condition == (
        encounter_id, episode, "confirmed", "active", "I10", clinic.doctor.id, body["conditions"][0]
    )  # fmt: skip
    vaccine = pg.execute("SELECT vaccine_code, status FROM immunizations WHERE person_id = %s", (patient.id,))
    assert vaccine.fetchone() == ("COVID19_Pfizer", "completed")
    report = pg.execute("SELECT diagnostic_report_id::text FROM observations WHERE person_id = %s", (patient.id,))
    assert report.fetchone() == (body["diagnostic_reports"][0]["id"],)

    cms = "SELECT count(*) FROM signed_contents WHERE entity_type = 'encounter' AND entity_id = %s"
    assert count(pg, cms, encounter_id) == 1
    events = "SELECT count(*) FROM events WHERE entity_type = 'Encounter' AND entity_id = %s"
    assert count(pg, events, encounter_id) == 1
    audit = "SELECT count(*) FROM audit_log WHERE action = 'encounter_package.create' AND person_id = %s"
    assert count(pg, audit, patient.id) == 1
    diagnoses = pg.execute("SELECT content FROM episodes WHERE id = %s", (episode,)).fetchone()
    assert diagnoses is not None
    assert diagnoses[0]["current_diagnoses"][0]["code"]["coding"][0]["code"] == "I10"

    # the same package again: the encounter and its records exist
    twice = invalid(records.submit(clinic, patient, body))
    assert ("$.encounter.id", "Encounter with such id already exists") in twice
    assert ("$.conditions[0].id", "A record with such id already exists") in twice
    assert rows_of(pg, patient)["encounters"] == 1


def _refused(
    records: Records, clinic: Clinic, patient: Patient, pg: psycopg.Connection, body: dict[str, Any], **kw: Any
) -> httpx.Response:
    before = rows_of(pg, patient)
    cms = count(pg, "SELECT count(*) FROM signed_contents WHERE entity_id = %s", body["encounter"]["id"])
    answer = records.submit(clinic, patient, body, **kw)
    assert answer.status_code in (400, 404, 409, 422), answer.text
    assert rows_of(pg, patient) == before
    assert count(pg, "SELECT count(*) FROM signed_contents WHERE entity_id = %s", body["encounter"]["id"]) == cms
    return answer


def test_a_package_signed_by_someone_other_than_its_performer_is_refused(
    records: Records, world: World, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    colleague = world.doctor(clinic.legal_entity_id, clinic.division_id)
    answer = _refused(records, clinic, patient, pg, package(clinic, episode), signer=colleague)
    assert invalid(answer) == [("$.signed_data", DRFO)]


def test_content_other_than_the_signed_data_is_refused(
    records: Records, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    # the unsigned visit of the request must be the one the doctor signed
    body = package(clinic, episode)
    other_visit = {"id": str(uuid.uuid4()), "period": body["encounter"]["period"]}
    answer = _refused(records, clinic, patient, pg, body, visit=other_visit)
    assert invalid(answer) == [("$.visit.id", "Does not match the visit of the signed encounter")]


def test_a_certificate_altered_after_signing_is_refused(
    records: Records, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    body = package(clinic, episode)
    signed = sign(body, clinic.doctor.cert)
    altered = tamper(signed, b'"I10"', b'"I11"')
    answer = _refused(records, clinic, patient, pg, body, signed_data=altered)
    assert answer.json()["error"]["type"] in ("validation_failed", "request_malformed")


def test_an_episode_of_another_patient_is_refused(
    records: Records, world: World, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    someone_else = world.patient()
    their_episode = records.open_episode(clinic, someone_else)
    answer = _refused(records, clinic, patient, pg, package(clinic, their_episode))
    assert invalid(answer) == [("$.encounter.episode.identifier.value", "Episode with such ID is not found")]


def test_a_condition_pointing_at_another_encounter_is_refused(
    records: Records, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    body = package(clinic, episode)
    body["conditions"][0]["context"] = ref("encounter", uuid.uuid4())
    answer = _refused(records, clinic, patient, pg, body)
    assert invalid(answer) == [("$.conditions[0].context.identifier.value", "Must reference the package's encounter")]


def test_a_diagnosis_naming_another_patients_condition_is_refused(
    records: Records, world: World, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    someone_else = world.patient()
    theirs = package(clinic, records.open_episode(clinic, someone_else))
    assert records.submit(clinic, someone_else, theirs).status_code == 202
    body = package(clinic, episode)
    body["encounter"]["diagnoses"][0]["condition"] = ref("condition", theirs["conditions"][0]["id"])
    answer = _refused(records, clinic, patient, pg, body)
    assert invalid(answer) == [
        ("$.encounter.diagnoses[0].condition.identifier.value", "Condition with such id is not found")
    ]


def test_references_to_earlier_records_of_the_patient_only(
    records: Records, world: World, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    earlier = package(clinic, episode)
    assert records.submit(clinic, patient, earlier).status_code == 202
    someone_else = world.patient()
    theirs = package(clinic, records.open_episode(clinic, someone_else))
    assert records.submit(clinic, someone_else, theirs).status_code == 202

    body = package(clinic, episode)
    body["conditions"][0]["evidences"] = [{"details": [ref("observation", theirs["observations"][0]["id"])]}]
    body["encounter"]["supporting_info"] = [ref("observation", uuid.uuid4()), ref("episode", episode)]
    assert invalid(_refused(records, clinic, patient, pg, body)) == [
        ("$.encounter.supporting_info[0].identifier.value", "Observation with such id is not found"),
        ("$.encounter.supporting_info[1].identifier.type", "Must reference one of: " + ", ".join(KINDS)),
        ("$.conditions[0].evidences[0].details[0].identifier.value", "Observation with such id is not found"),
    ]
    body["conditions"][0]["evidences"] = [{"details": [ref("observation", earlier["observations"][0]["id"])]}]
    body["encounter"]["supporting_info"] = [ref("condition", earlier["conditions"][0]["id"])]
    assert records.submit(clinic, patient, body).status_code == 202


@pytest.fixture
def service_catalogue(db_url: str) -> None:
    """The demo catalogue a referral's `code` must point into."""
    asyncio.run(load_catalogue_into(db_url))


@pytest.mark.usefixtures("service_catalogue")
def test_an_incoming_referral_must_be_a_referral_of_the_patient(
    client: httpx.Client, records: Records, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    body = package(clinic, episode)
    body["encounter"]["incoming_referral"] = ref("service_request", uuid.uuid4())
    assert invalid(_refused(records, clinic, patient, pg, body)) == [
        ("$.encounter.incoming_referral.identifier.value", "Service request with such id is not found")
    ]
    referral = {
        "id": str(uuid.uuid4()),
        "status": "active",
        "intent": "order",
        "category": concept("eHealth/SNOMED/service_request_categories", "409063005"),
        "code": ref("service", catalogue.load().service("CNS-0001").id),
        "requester_employee": ref("employee", clinic.doctor.id),
        "requester_legal_entity": ref("legal_entity", clinic.legal_entity_id),
    }
    created = client.post(
        f"/api/patients/{patient.id}/service_requests",
        json={"signed_data": sign(referral, clinic.doctor.cert)},
        headers=clinic.headers,
    )
    assert created.status_code == 202, created.text
    body["encounter"]["incoming_referral"] = ref("service_request", referral["id"])
    assert records.submit(clinic, patient, body).status_code == 202
    stored = "SELECT incoming_referral_id::text FROM encounters WHERE person_id = %s AND id = %s"
    assert pg.execute(stored, (patient.id, body["encounter"]["id"])).fetchone() == (referral["id"],)


def test_a_closed_episode_is_refused(
    records: Records, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    close = {"period": {"end": package(clinic, episode)["encounter"]["period"]["end"]},
             "status_reason": concept("eHealth/episode_closing_reasons", "cured")}  # fmt: skip
    assert records.episode_action(clinic, patient, episode, "close", close).status_code == 202
    answer = _refused(records, clinic, patient, pg, package(clinic, episode))
    assert invalid(answer) == [("$.encounter.episode.identifier.value", "Episode is not active")]


def test_an_episode_of_another_clinic_is_refused(
    records: Records, world: World, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    other = world.clinic()
    answer = _refused(records, other, patient, pg, package(other, episode))
    assert invalid(answer) == [
        ("$.encounter.episode.identifier.value", "Managing_organization does not correspond to user's legal_entity")
    ]


@pytest.mark.parametrize(
    ("where", "change", "entry"),
    [
        ("conditions", {"code": concept(ICD10, "X99.9")}, CONDITION_CODE),
        ("conditions", {"code": concept("eHealth/ICPC2/condition_codes", "Z99")}, CONDITION_CODE),
        ("conditions", {"code": concept("eHealth/unknown/condition_codes", "I10")}, CONDITION_CODE),
        ("immunizations", {"vaccine_code": concept("eHealth/vaccine_codes", "Sputnik")},
         "$.immunizations[0].vaccine_code.coding[0].code"),
        ("observations", {"code": concept("eHealth/LOINC/observation_codes", "0000-0")},
         "$.observations[0].code.coding[0].code"),
    ],
)  # fmt: skip
def test_an_unknown_code_is_refused(
    records: Records,
    clinic: Clinic,
    patient: Patient,
    episode: str,
    pg: psycopg.Connection,
    where: str,
    change: dict[str, Any],
    entry: str,
) -> None:
    body = package(clinic, episode)
    body[where][0] |= change
    answer = _refused(records, clinic, patient, pg, body)
    assert [e for e, _ in invalid(answer)] == [entry]


def test_an_unknown_patient_a_performer_of_another_clinic_and_unsupported_records(
    records: Records, world: World, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    missing = Patient(str(uuid.uuid4()), "+380000000000")
    answer = records.submit(clinic, missing, package(clinic, episode))
    assert answer.status_code == 404 and answer.json()["error"]["message"] == "Patient not found"
    other = world.clinic()
    answer = _refused(records, clinic, patient, pg, package(clinic, episode, doctor=other.doctor), signer=other.doctor)
    assert ("$.encounter.performer.identifier.value", "Employee not found in your legal entity") in invalid(answer)
    body = package(clinic, episode) | {"devices": [{"id": str(uuid.uuid4())}]}
    assert invalid(_refused(records, clinic, patient, pg, body))[0][0] == "$.devices"


def test_corrections_mark_records_and_then_the_encounter_entered_in_error(
    client: httpx.Client, records: Records, world: World, clinic: Clinic, patient: Patient, episode: str,
    pg: psycopg.Connection,
) -> None:  # fmt: skip
    body = package(clinic, episode)
    assert records.submit(clinic, patient, body).status_code == 202
    condition_id = body["conditions"][0]["id"]

    # a correction whose content differs from what is stored is refused
    wrong = {"encounter": body["encounter"],
             "conditions": [body["conditions"][0] | {"verification_status": "entered_in_error", "code": concept(
                 "eHealth/ICD10/condition_codes", "J06.9")}]}  # fmt: skip
    answer = records.correct(clinic, patient, wrong)
    assert [d for _, d in invalid(answer)] == ["Signed content does not match the previously created content"]
    # signed by another doctor
    fix = {"encounter": body["encounter"],
           "conditions": [body["conditions"][0] | {"verification_status": "entered_in_error"}]}  # fmt: skip
    colleague = world.doctor(clinic.legal_entity_id, clinic.division_id)
    assert invalid(records.correct(clinic, patient, fix, signer=colleague)) == [("$.signed_data", DRFO)]
    assert status_of(pg, "conditions", patient, condition_id) == "confirmed"

    assert records.correct(clinic, patient, fix).status_code == 202
    assert status_of(pg, "conditions", patient, condition_id) == "entered_in_error"
    assert status_of(pg, "encounters", patient, body["encounter"]["id"]) == "finished"
    assert status_of(pg, "observations", patient, body["observations"][0]["id"]) == "valid"
    again = records.correct(clinic, patient, fix)
    assert again.status_code == 409, again.text

    # the whole encounter: it and every record it produced
    whole = {"encounter": body["encounter"] | {"status": "entered_in_error"}}
    assert records.correct(clinic, patient, whole).status_code == 202
    assert status_of(pg, "encounters", patient, body["encounter"]["id"]) == "entered_in_error"
    assert status_of(pg, "observations", patient, body["observations"][0]["id"]) == "entered_in_error"
    assert status_of(pg, "immunizations", patient, body["immunizations"][0]["id"]) == "entered_in_error"
    assert count(pg, "SELECT count(*) FROM signed_contents WHERE entity_id = %s", body["encounter"]["id"]) == 3
    assert records.correct(clinic, patient, whole).status_code == 409
    # with no standing encounter the episode may now be cancelled
    cancel = {"status_reason": concept("eHealth/cancellation_reasons", "misspelling")}
    assert records.episode_action(clinic, patient, episode, "cancel", cancel).status_code == 202


def test_a_correction_of_a_record_of_another_encounter_is_refused(
    records: Records, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    first, second = package(clinic, episode), package(clinic, episode)
    for body in (first, second):
        assert records.submit(clinic, patient, body).status_code == 202
    mixed = {"encounter": first["encounter"],
             "conditions": [second["conditions"][0] | {"verification_status": "entered_in_error"}]}  # fmt: skip
    assert invalid(records.correct(clinic, patient, mixed)) == [
        ("$.conditions[0].id", "Not a record of this encounter")
    ]
    nothing = {"encounter": first["encounter"]}
    assert invalid(records.correct(clinic, patient, nothing))[0][0] == "$"
    assert status_of(pg, "conditions", patient, second["conditions"][0]["id"]) == "confirmed"


def test_the_same_package_twice_at_once_is_stored_once(
    records: Records, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    body = package(clinic, episode)
    signed = sign(body, clinic.doctor.cert)
    answers: list[int] = []

    def send() -> None:
        with httpx.Client(base_url=str(records.client.base_url), timeout=30) as own:
            request = {"signed_data": signed}
            answer = own.post(f"/api/patients/{patient.id}/encounter_package", json=request, headers=clinic.headers)
            answers.append(answer.status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers)[0] == 202 and sorted(answers)[1] in (409, 422), answers
    assert rows_of(pg, patient) == dict.fromkeys(TABLES, 0) | {
        "encounters": 1, "conditions": 1, "observations": 1, "immunizations": 1
    }  # fmt: skip


def test_an_inactive_patient_gets_no_new_records(
    records: Records, clinic: Clinic, patient: Patient, episode: str, pg: psycopg.Connection
) -> None:
    body = package(clinic, episode)
    pg.execute("UPDATE persons SET status = 'inactive', is_active = false WHERE id = %s", (patient.id,))
    answer = _refused(records, clinic, patient, pg, body)
    assert answer.status_code == 409 and answer.json()["error"]["message"] == "Patient is not active"
    opened = records.create_episode(clinic, patient, episode_body(clinic))
    assert opened.status_code == 409 and opened.json()["error"]["message"] == "Patient is not active"
