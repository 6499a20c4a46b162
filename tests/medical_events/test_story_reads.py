"""A doctor's story through the writes and the reads: open an episode, submit a signed encounter package with a
diagnosis, an observation and an immunization, read them back; another clinic's doctor is refused, asks for the
patient's approval, the SMS code opens the record, and the read is in the patient's access history."""

import time

import httpx
import psycopg
from me_world import Clinic, Patient
from reads_world import Clinic as ReadingClinic
from reads_world import Doctor as ReadingDoctor
from reads_world import Patient as ReadingPatient
from reads_world import ReadsWorld
from records_world import Records, package

from esoz.settings import Settings


def reading(rw: ReadsWorld, clinic: Clinic) -> ReadingClinic:
    """The clinic's doctor with a token of their own user (the access rule reads who the user is)."""
    row = rw.pg.execute("SELECT party_id::text FROM employees WHERE id = %s", (clinic.doctor.id,)).fetchone()
    rw.pg.commit()
    assert row is not None
    party_id = row[0]
    doctor = ReadingDoctor(clinic.doctor.id, party_id, rw.user_headers(clinic.legal_entity_id, party_id))
    return ReadingClinic(clinic.legal_entity_id, clinic.division_id, doctor)


def test_a_doctors_story(
    api: httpx.Client,
    client: httpx.Client,
    records: Records,
    clinic: Clinic,
    patient: Patient,
    db_url: str,
    settings: Settings,
    pg: psycopg.Connection,
    nhs_headers: dict[str, str],
) -> None:
    rw = ReadsWorld(api, db_url, settings, pg)
    home = reading(rw, clinic)
    person = ReadingPatient(patient.id, patient.phone)
    rw.declare(person, home)
    episode = records.open_episode(clinic, patient)
    body = package(clinic, episode)
    submitted = records.submit(clinic, patient, body)
    assert submitted.status_code == 202, submitted.text
    encounter_id = body["encounter"]["id"]

    def read(as_: ReadingClinic, path: str) -> httpx.Response:
        return client.get(f"/api/patients/{patient.id}/{path}", headers=as_.doctor.headers)

    # the declaration's doctor reads back what the package wrote
    encounters = read(home, "encounters")
    assert encounters.status_code == 200, encounters.text
    assert [e["id"] for e in encounters.json()["data"]] == [encounter_id]
    assert encounters.json()["data"][0]["class"]["code"] == "PHC"
    conditions = read(home, f"conditions?encounter_id={encounter_id}").json()["data"]
    assert [c["id"] for c in conditions] == [body["conditions"][0]["id"]]
    assert conditions[0]["verification_status"] == "confirmed"
    observation = read(home, f"observations/{body['observations'][0]['id']}")
    assert observation.status_code == 200 and observation.json()["data"]["code"]["coding"][0]["code"] == "8480-6"
    vaccines = read(home, f"episodes/{episode}/immunizations").json()["data"]
    assert [v["vaccine_code"]["coding"][0]["code"] for v in vaccines] == ["COVID19_Pfizer"]
    context = read(home, f"conditions/{body['conditions'][0]['id']}/context").json()["data"]
    assert context["episode"]["identifier"]["value"] == episode
    one_episode = read(home, f"episodes/{episode}").json()["data"]
    assert one_episode["current_diagnoses"][0]["code"]["coding"][0]["code"] == "I10"
    # the summary shows the whitelisted blood pressure observation
    summary = read(home, "summary/observations").json()["data"]
    assert [o["id"] for o in summary] == [body["observations"][0]["id"]]

    # another clinic's doctor is refused, then the patient's SMS code opens the record
    other_clinic = rw.clinic()
    refusal = read(other_clinic, "conditions")
    assert refusal.status_code == 403 and "approval" in refusal.json()["error"]["message"]
    rw.approve(person, other_clinic)
    opened = read(other_clinic, "conditions")
    assert opened.status_code == 200 and [c["id"] for c in opened.json()["data"]] == [body["conditions"][0]["id"]]

    # read rows are written in batches: wait for the last one
    def readers() -> set[str]:
        history = client.get(f"/api/persons/{patient.id}/access_history", headers=nhs_headers)
        assert history.status_code == 200, history.text
        entries = history.json()["data"]
        return {e["legal_entity"]["id"] for e in entries if e["action"] == "condition.read" and e["legal_entity"]}

    wanted = {clinic.legal_entity_id, other_clinic.legal_entity_id}
    deadline = time.monotonic() + 10
    while readers() != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    assert readers() == wanted
