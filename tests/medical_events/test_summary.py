"""The patient summary: any clinic's doctor reads it without a declaration or an approval, and it shows only what
the real system's summary shows — short episodes and encounters, whitelisted conditions, observations and active
diagnoses, no diagnostic report, every allergy, immunization and procedure."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from reads_world import Clinic, Patient, ReadsWorld

from esoz.settings import Settings


@pytest.fixture
def rw(api: httpx.Client, db_url: str, settings: Settings, pg: psycopg.Connection) -> ReadsWorld:
    return ReadsWorld(api, db_url, settings, pg)


@dataclass
class Summary:
    server: str
    home: Clinic
    stranger: Clinic  # no declaration, no approval
    patient: Patient
    active: str
    closed: str
    encounter: str
    records: dict[str, str]


@pytest.fixture
def summary(rw: ReadsWorld, server: str) -> Summary:
    home, stranger, patient = rw.clinic(), rw.clinic(), rw.patient()
    rw.declare(patient, home)
    active = rw.episode(patient, home, diagnoses=("R80", "K86"))
    closed = rw.episode(patient, home, name="Грип", start="2025-11-01", status="closed", diagnoses=("R80",))
    encounter = rw.encounter(patient, home, active)
    records = {
        "R80": rw.condition(patient, home, active, encounter, "R80"),
        "K86": rw.condition(patient, home, active, encounter, "K86"),
        "8480-6": rw.observation(patient, home, active, encounter, "8480-6"),
        "2339-0": rw.observation(patient, home, active, encounter, "2339-0"),
        "vaccine": rw.immunization(patient, home, active, encounter, "COVID-19"),
        "allergy": rw.allergy(patient, home, active, encounter, "227493005"),
        "report": rw.diagnostic_report(patient, home, active, encounter, str(uuid.uuid4())),
        "procedure": rw.procedure(patient, home, active, encounter, str(uuid.uuid4())),
    }
    return Summary(server, home, stranger, patient, active, closed, encounter, records)


def read(s: Summary, path: str, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{s.server}/api/patients/{s.patient.id}/summary/{path}",
        params=params,
        headers=headers or s.stranger.doctor.headers,
        timeout=30,
    )


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["data"]]


def test_any_doctor_reads_the_summary_and_it_is_audited(rw: ReadsWorld, summary: Summary) -> None:
    # the full record stays closed to the stranger
    closed = httpx.get(
        f"{summary.server}/api/patients/{summary.patient.id}/conditions",
        headers=summary.stranger.doctor.headers,
        timeout=30,
    )
    assert closed.status_code == 403

    answer = read(summary, "conditions")
    assert ids(answer) == [summary.records["R80"]]
    assert answer.headers["cache-control"] == "no-store"
    rows = rw.read_rows(summary.patient, "condition.summary.read")
    assert any(str(r[1]) == summary.stranger.legal_entity_id for r in rows), rows


def test_short_episodes_and_encounters(summary: Summary) -> None:
    episodes = read(summary, "episodes")
    assert set(ids(episodes)) == {summary.active, summary.closed}
    assert all(
        set(e) == {"id", "name", "status", "period", "inserted_at", "updated_at"} for e in episodes.json()["data"]
    )
    assert ids(read(summary, "episodes", period_start_from="2026-01-01")) == [summary.active]
    assert ids(read(summary, "episodes", period_end_to="2025-12-31")) == [summary.closed]

    encounters = read(summary, "encounters")
    assert ids(encounters) == [summary.encounter]
    short = encounters.json()["data"][0]
    assert set(short) == {"id", "status", "period", "episode", "class", "type", "performer_speciality"}
    assert short["performer_speciality"]["coding"][0]["code"] == "FAMILY_DOCTOR"
    assert short["episode"]["identifier"]["value"] == summary.active
    assert ids(read(summary, "encounters", performer_speciality="FAMILY_DOCTOR")) == [summary.encounter]
    assert ids(read(summary, "encounters", performer_speciality="SURGEON")) == []
    assert ids(read(summary, "encounters", **{"class": "AMB"}, status="finished")) == [summary.encounter]
    assert ids(read(summary, "encounters", **{"class": "INPATIENT"})) == []
    assert ids(read(summary, "encounters", episode_id=summary.closed)) == []
    one = read(summary, f"encounters/{summary.encounter}")
    assert one.status_code == 200 and one.json()["data"]["id"] == summary.encounter


def test_only_whitelisted_conditions_observations_and_diagnoses(summary: Summary) -> None:
    r = summary.records
    assert ids(read(summary, "conditions")) == [r["R80"]]
    assert ids(read(summary, "conditions", code="K86")) == []
    assert read(summary, f"conditions/{r['R80']}").status_code == 200
    hidden = read(summary, f"conditions/{r['K86']}")
    assert hidden.status_code == 404 and hidden.json()["error"] == {
        "type": "NOT_FOUND",
        "message": "Condition not found",
    }

    assert ids(read(summary, "observations")) == [r["8480-6"]]
    assert read(summary, f"observations/{r['2339-0']}").status_code == 404

    diagnoses = read(summary, "diagnoses")
    assert diagnoses.status_code == 200, diagnoses.text
    data = diagnoses.json()["data"]
    # the active episode's R80 only: K86 is not whitelisted, the closed episode's R80 is not current
    assert [d["code"]["coding"][0]["code"] for d in data] == ["R80"]
    assert diagnoses.json()["paging"]["total_entries"] == 1
    assert read(summary, "diagnoses", code="K86").json()["data"] == []

    assert ids(read(summary, "diagnostic_reports")) == []
    assert read(summary, f"diagnostic_reports/{r['report']}").status_code == 404


def test_allergies_immunizations_and_procedures(summary: Summary) -> None:
    r = summary.records
    assert ids(read(summary, "allergy_intolerances")) == [r["allergy"]]
    assert ids(read(summary, "allergy_intolerances", onset_date_time_to="2026-01-01")) == []
    assert ids(read(summary, "immunizations", vaccine_code="COVID-19")) == [r["vaccine"]]
    assert ids(read(summary, "immunizations", date_from="2026-03-01")) == []
    vaccine = read(summary, f"immunizations/{r['vaccine']}")
    assert vaccine.status_code == 200 and vaccine.json()["data"]["vaccine_code"]["coding"][0]["code"] == "COVID-19"
    assert ids(read(summary, "procedures", status="completed")) == [r["procedure"]]
    assert ids(read(summary, "procedures", recorded_by=str(uuid.uuid4()))) == []
    assert read(summary, f"procedures/{r['procedure']}").status_code == 200


def test_bad_input(summary: Summary, rw: ReadsWorld) -> None:
    bad = read(summary, "encounters", date_from="2026-02-30")
    assert bad.status_code == 422 and bad.json()["error"]["invalid"][0]["entry"] == "$.date_from"
    assert read(summary, "procedures", status="done").status_code == 422
    assert read(summary, "conditions/not-a-uuid").status_code == 422
    unknown = httpx.get(
        f"{summary.server}/api/patients/{uuid.uuid4()}/summary/episodes",
        headers=summary.stranger.doctor.headers,
        timeout=30,
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "Patient not found"
    without_scope = rw.user_headers(
        summary.stranger.legal_entity_id, summary.stranger.doctor.party_id, scope={"condition:read"}
    )
    refused = read(summary, "conditions", headers=without_scope)
    assert refused.status_code == 403 and "patient_summary:read" in refused.text
