"""Who may read a patient's medical records: the doctor with the declaration reads everything; another clinic's
doctor is refused with a message naming the missing approval, reads what their clinic made, and reads the rest once
the patient's SMS code opens an approval (of the whole record, or of one episode); every read is audited and a
refused one is not."""

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
class Case:
    server: str
    home: Clinic  # the clinic of the patient's declaration
    other: Clinic  # another clinic, no declaration
    patient: Patient
    episode: str
    encounter: str
    condition: str
    second_episode: str
    second_condition: str


@pytest.fixture
def case(rw: ReadsWorld, server: str) -> Case:
    home, other, patient = rw.clinic(), rw.clinic(), rw.patient()
    rw.declare(patient, home)
    episode = rw.episode(patient, home)
    encounter = rw.encounter(patient, home, episode)
    condition = rw.condition(patient, home, episode, encounter, "K86")
    second = rw.episode(patient, home, name="Діабет")
    second_encounter = rw.encounter(patient, home, second, start="2026-02-20")
    second_condition = rw.condition(patient, home, second, second_encounter, "T90")
    return Case(server, home, other, patient, episode, encounter, condition, second, second_condition)


def read(case: Case, clinic: Clinic, path: str, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{case.server}/api/patients/{case.patient.id}/{path}",
        params=params,
        headers=headers or clinic.doctor.headers,
        timeout=30,
    )


def refused(answer: httpx.Response, approval_of: str | None = None) -> None:
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["type"] == "forbidden"
    assert "approval" in error["message"]
    if approval_of is not None:
        assert f"episode {approval_of}" in error["message"], error["message"]
    else:
        assert "the patient's medical records" in error["message"], error["message"]


def test_the_declaration_doctor_reads_everything(case: Case) -> None:
    listed = read(case, case.home, "conditions")
    assert listed.status_code == 200, listed.text
    assert {c["id"] for c in listed.json()["data"]} == {case.condition, case.second_condition}


def test_another_clinics_doctor_is_refused_and_leaves_no_read_row(rw: ReadsWorld, case: Case) -> None:
    refused(read(case, case.other, "conditions"))
    refused(read(case, case.other, "encounters"))
    refused(read(case, case.other, "episodes"))
    refused(read(case, case.other, f"conditions/{case.condition}"), approval_of=case.episode)
    refused(read(case, case.other, f"conditions/{case.condition}/context"), approval_of=case.episode)
    refused(read(case, case.other, f"episodes/{case.episode}"), approval_of=case.episode)
    refused(read(case, case.other, f"episodes/{case.episode}/conditions"), approval_of=case.episode)
    refused(read(case, case.other, "conditions", episode_id=case.episode), approval_of=case.episode)
    # a filter on another clinic's records does not open them
    refused(read(case, case.other, "conditions", managing_organization_id=case.home.legal_entity_id))
    assert rw.read_rows(case.patient, "condition.read", timeout=1.0) == []
    assert rw.read_rows(case.patient, "episode.read", timeout=0.5) == []


def test_no_patient_and_no_scope(case: Case, rw: ReadsWorld) -> None:
    unknown = httpx.get(
        f"{case.server}/api/patients/{uuid.uuid4()}/conditions", headers=case.other.doctor.headers, timeout=30
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "NOT_FOUND"
    narrow = rw.user_headers(case.home.legal_entity_id, case.home.doctor.party_id, scope={"episode:read"})
    answer = read(case, case.home, "conditions", headers=narrow)
    assert answer.status_code == 403 and "condition:read" in answer.text


def test_a_clinic_reads_what_it_made(rw: ReadsWorld, case: Case) -> None:
    # the patient came to the other clinic once: that clinic reads its own episode and records, nothing else
    own_episode = rw.episode(case.patient, case.other, name="Консультація")
    own_encounter = rw.encounter(case.patient, case.other, own_episode)
    own = rw.condition(case.patient, case.other, own_episode, own_encounter, "R05")
    assert read(case, case.other, f"conditions/{own}").status_code == 200
    mine = read(case, case.other, "conditions", managing_organization_id=case.other.legal_entity_id)
    assert mine.status_code == 200 and [c["id"] for c in mine.json()["data"]] == [own]
    in_episode = read(case, case.other, f"episodes/{own_episode}/conditions")
    assert in_episode.status_code == 200 and [c["id"] for c in in_episode.json()["data"]] == [own]
    refused(read(case, case.other, f"conditions/{case.condition}"), approval_of=case.episode)

    # and the declaration doctor reads what the other clinic wrote: the whole record is theirs to read
    assert read(case, case.home, f"conditions/{own}").status_code == 200


def test_a_second_doctor_of_the_same_clinic_reads_the_clinics_records_not_the_whole_list(
    rw: ReadsWorld, case: Case
) -> None:
    colleague = rw.doctor(case.home.legal_entity_id, case.home.division_id)
    as_colleague = Clinic(case.home.legal_entity_id, case.home.division_id, colleague)
    assert read(case, as_colleague, f"conditions/{case.condition}").status_code == 200
    assert read(case, as_colleague, f"episodes/{case.episode}/conditions").status_code == 200
    refused(read(case, as_colleague, "conditions"))
    mine = read(case, as_colleague, "conditions", managing_organization_id=case.home.legal_entity_id)
    assert mine.status_code == 200 and len(mine.json()["data"]) == 2


def test_the_patients_approval_opens_the_record(rw: ReadsWorld, case: Case, nhs_headers: dict[str, str]) -> None:
    refused(read(case, case.other, "conditions"))
    rw.approve(case.patient, case.other)

    listed = read(case, case.other, "conditions")
    assert listed.status_code == 200, listed.text
    assert {c["id"] for c in listed.json()["data"]} == {case.condition, case.second_condition}
    assert read(case, case.other, f"encounters/{case.encounter}").status_code == 200
    assert read(case, case.other, f"episodes/{case.episode}/conditions").status_code == 200

    # the read is in the audit and in the patient's access history
    rows = rw.read_rows(case.patient, "condition.read")
    assert any(str(r[1]) == case.other.legal_entity_id and r[4].get("count") == 2 for r in rows), rows
    history = httpx.get(f"{case.server}/api/persons/{case.patient.id}/access_history", headers=nhs_headers, timeout=30)
    assert history.status_code == 200, history.text
    entries = [e for e in history.json()["data"] if e["action"] == "condition.read"]
    assert any(e["legal_entity"] and e["legal_entity"]["id"] == case.other.legal_entity_id for e in entries), entries


def test_an_episode_approval_opens_that_episode_only(rw: ReadsWorld, case: Case) -> None:
    rw.approve(case.patient, case.other, episode_id=case.episode)

    assert read(case, case.other, f"conditions/{case.condition}").status_code == 200
    assert read(case, case.other, f"episodes/{case.episode}").status_code == 200
    in_episode = read(case, case.other, f"episodes/{case.episode}/conditions")
    assert in_episode.status_code == 200 and [c["id"] for c in in_episode.json()["data"]] == [case.condition]
    filtered = read(case, case.other, "conditions", episode_id=case.episode)
    assert filtered.status_code == 200 and [c["id"] for c in filtered.json()["data"]] == [case.condition]

    refused(read(case, case.other, "conditions"))
    refused(read(case, case.other, f"conditions/{case.second_condition}"), approval_of=case.second_episode)
    refused(read(case, case.other, f"episodes/{case.second_episode}/conditions"), approval_of=case.second_episode)


def test_an_expired_approval_opens_nothing(rw: ReadsWorld, case: Case) -> None:
    approval = rw.approve(case.patient, case.other)
    assert read(case, case.other, "conditions").status_code == 200
    rw.pg.execute("UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = %s", (approval,))
    rw.pg.commit()
    refused(read(case, case.other, "conditions"))


def test_nhs_reads_no_medical_records(case: Case, nhs_headers: dict[str, str]) -> None:
    refused(read(case, case.home, "conditions", headers=nhs_headers))


def test_approved_episodes_are_the_ones_an_approval_opens(rw: ReadsWorld, case: Case) -> None:
    def approved(clinic: Clinic, **params: Any) -> list[str]:
        answer = read(case, clinic, "episodes/approved", **params)
        assert answer.status_code == 200, answer.text
        return [e["id"] for e in answer.json()["data"]]

    assert approved(case.other) == []
    assert approved(case.home) == []  # the declaration opens the record, but it is no approval
    rw.approve(case.patient, case.other, episode_id=case.episode)
    assert approved(case.other) == [case.episode]
    rw.approve(case.patient, case.other)
    assert set(approved(case.other)) == {case.episode, case.second_episode}
    assert approved(case.other, page_size=1, page=2) != approved(case.other, page_size=1)
    assert approved(case.other, code="R80") == []
    assert read(case, case.other, "episodes/approved", page_size=0).status_code == 422
