"""The compositions search takes every filter the contract documents (`encounter_id`, `context_episode_id`,
`attester`, `date`, `patient_id` besides the others), and the scope names the two published sources disagree on."""

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from cworld import composition, submit_draft, title, today
from me_world import Clinic, Patient, World, ref


@pytest.fixture
def clinic(world: World) -> Clinic:
    return world.clinic()


@pytest.fixture
def patient(world: World) -> Patient:
    return world.patient()


def submitted(esoz: httpx.Client, clinic: Clinic, patient: Patient, **fields: Any) -> str:
    body = composition(clinic, patient, title(esoz, clinic, patient), today(), today() + timedelta(days=3)) | fields
    answer = submit_draft(esoz, clinic, patient, body)
    assert answer.status_code == 202, answer.text
    return str(body["id"])


def encounter_in(pg: psycopg.Connection, patient: Patient, clinic: Clinic, episode: uuid.UUID) -> uuid.UUID:
    """An encounter of the episode, as the medical events record it (the test's stand-in for an encounter package)."""
    encounter = uuid.uuid4()
    pg.execute(
        "INSERT INTO encounters (id, person_id, episode_id, status, legal_entity_id, performer_id, encounter_class,"
        " type, period_start) VALUES (%s, %s, %s, 'finished', %s, %s, 'AMB', 'field', now())",
        (encounter, patient.id, episode, clinic.legal_entity_id, clinic.doctor.id),
    )
    pg.commit()
    return encounter


def search(esoz: httpx.Client, clinic: Clinic, patient: Patient, **params: Any) -> httpx.Response:
    return esoz.get(f"/api/patients/{patient.id}/compositions/search", params=params, headers=clinic.headers)


def ids(esoz: httpx.Client, clinic: Clinic, patient: Patient, **params: Any) -> set[str]:
    answer = search(esoz, clinic, patient, **params)
    assert answer.status_code == 200, answer.text
    return {c["id"] for c in answer.json()["data"]}


def test_encounter_episode_attester_and_date_filters(
    esoz: httpx.Client, world: World, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    episode = uuid.uuid4()
    first, second = encounter_in(pg, patient, clinic, episode), encounter_in(pg, patient, clinic, episode)
    elsewhere = encounter_in(pg, patient, clinic, uuid.uuid4())
    attester = world.doctor(clinic.legal_entity_id, clinic.division_id)
    attestation = [{"mode": {"coding": [{"system": "http://hl7.org/fhir/composition-attestation-mode",
                                         "code": "legal"}]},
                    "party": ref("employee", attester.id)}]  # fmt: skip
    a = submitted(esoz, clinic, patient, encounter=ref("encounter", first), attester=attestation)
    b = submitted(esoz, clinic, patient, encounter=ref("encounter", second), date="2026-01-15T10:00:00+02:00")
    c = submitted(esoz, clinic, patient, encounter=ref("encounter", elsewhere))
    d = submitted(esoz, clinic, patient)
    assert ids(esoz, clinic, patient) == {a, b, c, d}

    assert ids(esoz, clinic, patient, encounter_id=str(first)) == {a}
    assert ids(esoz, clinic, patient, encounter_id=str(uuid.uuid4())) == set()
    assert ids(esoz, clinic, patient, context_episode_id=str(episode)) == {a, b}
    assert ids(esoz, clinic, patient, context_episode_id=str(uuid.uuid4())) == set()
    assert ids(esoz, clinic, patient, attester=attester.id) == {a}
    assert ids(esoz, clinic, patient, attester=clinic.doctor.id) == set()
    assert ids(esoz, clinic, patient, date="2026-01-15") == {b}
    assert ids(esoz, clinic, patient, date=date(2026, 1, 16).isoformat()) == set()
    # filters combine
    assert ids(esoz, clinic, patient, context_episode_id=str(episode), attester=attester.id) == {a}
    # the documented `patient_id` is the path's patient
    assert ids(esoz, clinic, patient, patient_id=patient.id) == {a, b, c, d}


@pytest.mark.parametrize(
    ("params", "entry"),
    [
        ({"encounter_id": "nope"}, "encounter_id"),
        ({"context_episode_id": "1"}, "context_episode_id"),
        ({"attester": "x"}, "attester"),
        ({"date": "2026-13-01"}, "date"),
        ({"patient_id": str(uuid.uuid4())}, "patient_id"),
    ],
)
def test_bad_filters_are_refused(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, params: dict[str, str], entry: str
) -> None:
    answer = search(esoz, clinic, patient, **params)
    assert answer.status_code == 422, answer.text
    invalid = answer.json()["error"]["invalid"]
    assert invalid[0]["entry"].endswith(entry) and invalid[0]["entry_type"] == "query_param"


@pytest.mark.parametrize("scope", ["composition:write", "composition:create"])
def test_either_title_scope_reserves_a_title(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, headers_for: Any, scope: str
) -> None:
    headers = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=[scope])
    answer = esoz.post(f"/api/patients/{patient.id}/composition_title", params={"composition_type": "TEMP_DISABILITY"},
                       headers=headers)  # fmt: skip
    assert answer.status_code == 202, answer.text


@pytest.mark.parametrize("scope", ["composition:resend", "composition:resend_sms"])
def test_either_resend_scope_passes_the_gate(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, headers_for: Any, scope: str
) -> None:
    cid = submitted(esoz, clinic, patient)
    headers = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=[scope])
    answer = esoz.patch(f"/api/patients/{patient.id}/compositions/{cid}/actions/resend", headers=headers)
    # through the gate: a draft is not resent (409), which only a caller holding the scope learns
    assert answer.status_code == 409, answer.text


def test_no_title_or_resend_scope_is_forbidden(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, headers_for: Any
) -> None:
    headers = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["composition:read"])
    answer = esoz.post(f"/api/patients/{patient.id}/composition_title", params={"composition_type": "TEMP_DISABILITY"},
                       headers=headers)  # fmt: skip
    assert answer.status_code == 403
    assert "composition:write or composition:create" in answer.json()["error"]["message"]
    resend = esoz.patch(f"/api/patients/{patient.id}/compositions/{uuid.uuid4()}/actions/resend", headers=headers)
    assert resend.status_code == 403
