"""Reads of a patient's medical records by the doctor with the patient's declaration: every type with the
contract's filters and paging, one record, its context, the records of one episode; bad filters are 422, unknown
ids the medical-events 404."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from reads_world import Clinic, Patient, ReadsWorld

from esoz.settings import Settings


@dataclass
class Chart:
    """A patient with a declaration at `clinic`, two episodes and records in them."""

    server: str
    clinic: Clinic
    patient: Patient
    episode: str
    other_episode: str
    encounters: list[str]
    other_encounter: str
    conditions: dict[str, str]
    observations: dict[str, str]
    immunizations: dict[str, str]
    allergy: str
    report: str
    referral: str
    procedure: str


@pytest.fixture
def rw(api: httpx.Client, db_url: str, settings: Settings, pg: psycopg.Connection) -> ReadsWorld:
    return ReadsWorld(api, db_url, settings, pg)


@pytest.fixture
def chart(rw: ReadsWorld, server: str) -> Chart:
    clinic, patient = rw.clinic(), rw.patient()
    rw.declare(patient, clinic)
    episode = rw.episode(patient, clinic, diagnoses=("R80",))
    other = rw.episode(patient, clinic, name="Травма", start="2026-03-01", status="closed")
    referral = str(uuid.uuid4())
    first = rw.encounter(patient, clinic, episode, start="2026-02-01")
    second = rw.encounter(patient, clinic, episode, start="2026-02-10", referral=referral, origin_episode=other)
    third = rw.encounter(patient, clinic, other, start="2026-03-02")
    conditions = {
        "R80": rw.condition(patient, clinic, episode, first, "R80", onset="2026-02-01"),
        "A20": rw.condition(patient, clinic, episode, second, "A20", onset="2026-02-10"),
        "L80": rw.condition(patient, clinic, other, third, "L80", onset="2026-03-02"),
    }
    report = rw.diagnostic_report(patient, clinic, episode, second, str(uuid.uuid4()), based_on=referral)
    observations = {
        "8310-5": rw.observation(patient, clinic, episode, first, "8310-5", issued="2026-02-01"),
        "2339-0": rw.observation(patient, clinic, episode, second, "2339-0", issued="2026-02-10"),
    }
    rw.pg.execute("UPDATE observations SET diagnostic_report_id = %s WHERE id = %s", (report, observations["2339-0"]))
    rw.pg.commit()
    immunizations = {
        "COVID-19": rw.immunization(patient, clinic, episode, first, "COVID-19", date="2026-02-01"),
        "HepB": rw.immunization(patient, clinic, other, third, "HepB", date="2026-03-02"),
    }
    allergy = rw.allergy(patient, clinic, episode, first, "227493005")
    procedure = rw.procedure(patient, clinic, episode, second, str(uuid.uuid4()))
    rw.procedure(patient, clinic, other, third, str(uuid.uuid4()), status="not_done")
    return Chart(
        server, clinic, patient, episode, other, [first, second], third, conditions, observations, immunizations,
        allergy, report, referral, procedure,
    )  # fmt: skip


def get(chart: Chart, path: str, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{chart.server}/api/patients/{chart.patient.id}/{path}",
        params=params,
        headers=chart.clinic.doctor.headers,
        timeout=30,
    )


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["data"]]


def test_encounters_filters_and_paging(chart: Chart) -> None:
    first, second = chart.encounters
    everything = get(chart, "encounters")
    assert set(ids(everything)) == {first, second, chart.other_encounter}
    assert everything.headers["cache-control"] == "no-store"

    page = get(chart, "encounters", page_size=2)
    assert len(ids(page)) == 2
    assert page.json()["paging"] == {"page_number": 1, "page_size": 2, "total_entries": 3, "total_pages": 2}
    rest = get(chart, "encounters", page_size=2, page=2)
    assert len(ids(rest)) == 1 and set(ids(page) + ids(rest)) == {first, second, chart.other_encounter}

    assert set(ids(get(chart, "encounters", episode_id=chart.episode))) == {first, second}
    assert ids(get(chart, "encounters", date_from="2026-02-05", date_to="2026-02-28")) == [second]
    assert ids(get(chart, "encounters", period_start_to="2026-02-01")) == [first]
    assert ids(get(chart, "encounters", period_end_from="2026-03-01")) == [chart.other_encounter]
    assert ids(get(chart, "encounters", incoming_referral_id=chart.referral)) == [second]
    assert ids(get(chart, "encounters", origin_episode_id=chart.other_episode)) == [second]
    assert len(ids(get(chart, "encounters", managing_organization_id=chart.clinic.legal_entity_id))) == 3
    assert ids(get(chart, "encounters", managing_organization_id=str(uuid.uuid4()))) == []

    one = get(chart, f"encounters/{second}")
    assert one.status_code == 200, one.text
    data = one.json()["data"]
    assert data["id"] == second and data["status"] == "finished"
    assert data["class"]["code"] == "AMB" and data["episode"]["identifier"]["value"] == chart.episode


def test_each_type_applies_its_filters(chart: Chart) -> None:
    c = chart.conditions
    assert set(ids(get(chart, "conditions"))) == set(c.values())
    assert ids(get(chart, "conditions", code="A20")) == [c["A20"]]
    assert set(ids(get(chart, "conditions", episode_id=chart.episode))) == {c["R80"], c["A20"]}
    assert ids(get(chart, "conditions", encounter_id=chart.other_encounter)) == [c["L80"]]
    assert ids(get(chart, "conditions", onset_date_from="2026-02-05", onset_date_to="2026-02-28")) == [c["A20"]]
    condition = get(chart, f"conditions/{c['R80']}").json()["data"]
    assert condition["verification_status"] == "confirmed" and condition["code"]["coding"][0]["code"] == "R80"

    o = chart.observations
    assert ids(get(chart, "observations", code="8310-5")) == [o["8310-5"]]
    assert ids(get(chart, "observations", diagnostic_report_id=chart.report)) == [o["2339-0"]]
    assert ids(get(chart, "observations", issued_to="2026-02-01")) == [o["8310-5"]]

    i = chart.immunizations
    assert ids(get(chart, "immunizations", vaccine_code="HepB")) == [i["HepB"]]
    assert ids(get(chart, "immunizations", code="COVID-19")) == [i["COVID-19"]]
    assert ids(get(chart, "immunizations", date_from="2026-03-01")) == [i["HepB"]]
    assert ids(get(chart, "immunizations", episode_id=chart.other_episode)) == [i["HepB"]]

    assert ids(get(chart, "allergy_intolerances", code="227493005")) == [chart.allergy]
    assert ids(get(chart, "allergy_intolerances", onset_date_time_from="2026-03-01")) == []

    assert ids(get(chart, "diagnostic_reports", based_on=chart.referral)) == [chart.report]
    assert ids(get(chart, "diagnostic_reports", context_episode_id=chart.other_episode)) == []
    assert ids(get(chart, "diagnostic_reports", origin_episode_id=chart.episode)) == [chart.report]
    assert ids(get(chart, "diagnostic_reports", based_on=str(uuid.uuid4()))) == []

    assert ids(get(chart, "procedures", status="completed")) == [chart.procedure]
    assert len(ids(get(chart, "procedures"))) == 2
    assert ids(
        get(chart, "procedures", used_reference_id="9183a36b-4d45-4244-9339-63d81cd08d9c", status="completed")
    ) == [chart.procedure]
    assert ids(get(chart, "procedures", recorded_by=chart.clinic.doctor.id, episode_id=chart.episode)) == [
        chart.procedure
    ]
    assert get(chart, f"procedures/{chart.procedure}").json()["data"]["status"] == "completed"

    assert ids(get(chart, "episodes", status="active")) == [chart.episode]
    assert ids(get(chart, "episodes", code="R80")) == [chart.episode]
    assert ids(get(chart, "episodes", period_from="2026-02-15")) == [chart.other_episode]
    episode = get(chart, f"episodes/{chart.episode}").json()["data"]
    assert episode["status"] == "active" and episode["managing_organization"]["identifier"]["value"] == (
        chart.clinic.legal_entity_id
    )


@pytest.mark.parametrize(
    ("path", "params", "entry"),
    [
        ("encounters", {"date_from": "yesterday"}, "date_from"),
        ("encounters", {"episode_id": "not-a-uuid"}, "episode_id"),
        ("conditions", {"onset_date_to": "2026-13-01"}, "onset_date_to"),
        ("observations", {"code": ""}, "code"),
        ("procedures", {"status": "done"}, "status"),
        ("episodes", {"status": "open"}, "status"),
        ("immunizations", {"page_size": "0"}, "page_size"),
        ("diagnostic_reports", {"page": "-1"}, "page"),
    ],
)
def test_an_invalid_filter_is_422(chart: Chart, path: str, params: dict[str, str], entry: str) -> None:
    answer = get(chart, path, **params)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["type"] == "validation_failed"
    assert [i["entry"] for i in error["invalid"]] == [f"$.{entry}"]
    assert error["invalid"][0]["entry_type"] == "query_param"


def test_unknown_ids_are_the_medical_events_404(chart: Chart) -> None:
    nobody = str(uuid.uuid4())
    for path, message in [
        (f"encounters/{nobody}", "Encounter not found"),
        (f"conditions/{nobody}/context", "Condition not found"),
        (f"procedures/{nobody}", "Procedure not found"),
        (f"episodes/{nobody}", "Episode not found"),
        (f"episodes/{nobody}/observations", "Episode not found"),
    ]:
        answer = get(chart, path)
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"] == {"type": "NOT_FOUND", "message": message}
    # a record of the patient is not found under another patient
    other = httpx.get(
        f"{chart.server}/api/patients/{nobody}/encounters/{chart.encounters[0]}",
        headers=chart.clinic.doctor.headers,
        timeout=30,
    )
    assert other.status_code == 404 and other.json()["error"]["message"] == "Patient not found"


def test_context_names_the_episode(chart: Chart) -> None:
    first = chart.encounters[0]
    episode = get(chart, f"encounters/{first}/context").json()["data"]["episode"]
    assert episode["identifier"]["value"] == chart.episode
    assert episode["identifier"]["type"]["coding"][0]["code"] == "episode"

    observation = get(chart, f"observations/{chart.observations['2339-0']}/context")
    assert observation.status_code == 200, observation.text
    data = observation.json()["data"]
    assert data["episode"]["identifier"]["value"] == chart.episode
    assert data["diagnostic_report"]["identifier"]["value"] == chart.report

    report = get(chart, f"diagnostic_reports/{chart.report}/context").json()["data"]
    assert report["origin_episode"]["identifier"]["value"] == chart.episode
    procedure = get(chart, f"procedures/{chart.procedure}/context").json()["data"]
    assert procedure["episode"]["identifier"]["value"] == chart.episode
    immunization = get(chart, f"immunizations/{chart.immunizations['HepB']}/context").json()["data"]
    assert immunization["episode"]["identifier"]["value"] == chart.other_episode


def test_episode_context_reads(chart: Chart) -> None:
    first, second = chart.encounters
    base = f"episodes/{chart.episode}"
    assert set(ids(get(chart, f"{base}/encounters"))) == {first, second}
    assert ids(get(chart, f"{base}/encounters", incoming_referral=chart.referral)) == [second]
    assert ids(get(chart, f"{base}/encounters", date_to="2026-02-05")) == [first]
    assert set(ids(get(chart, f"{base}/conditions"))) == {chart.conditions["R80"], chart.conditions["A20"]}
    assert ids(get(chart, f"{base}/conditions", code="A20")) == [chart.conditions["A20"]]
    assert ids(get(chart, f"{base}/observations", issued_from="2026-02-05")) == [chart.observations["2339-0"]]
    assert ids(get(chart, f"{base}/allergy_intolerances")) == [chart.allergy]
    assert ids(get(chart, f"{base}/immunizations")) == [chart.immunizations["COVID-19"]]
    assert ids(get(chart, f"{base}/immunizations", vaccine_code="HepB")) == []

    one = get(chart, f"{base}/conditions/{chart.conditions['A20']}")
    assert one.status_code == 200 and one.json()["data"]["id"] == chart.conditions["A20"]
    # a record of another episode is not found in this one
    elsewhere = get(chart, f"{base}/conditions/{chart.conditions['L80']}")
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["message"] == "Condition not found"


def test_every_read_is_in_the_audit(rw: ReadsWorld, chart: Chart) -> None:
    condition = chart.conditions["A20"]
    assert get(chart, f"conditions/{condition}").status_code == 200
    rows = rw.read_rows(chart.patient, "condition.read")
    assert any(r[3] == condition and str(r[1]) == chart.clinic.legal_entity_id for r in rows), rows
    assert get(chart, "immunizations").status_code == 200
    listed = rw.read_rows(chart.patient, "immunization.read")
    assert any(r[4].get("count") == 2 for r in listed), listed
