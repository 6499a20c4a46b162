"""A draft's `context` (encounter), `based_on` (care plan, activity), `prior_prescription` and `container_dosage`:
validated, stored, returned on the draft and on the prescription made from it; the documented list filters on
them; and the bad inputs, which write nothing."""

import uuid
from typing import Any

import httpx
import psycopg
from rx_world import Clinic, Patient, World, count, drug, error_of, invalid_of

METFORMIN = drug("Метформін")
INSULIN = drug("Гларгін")


def ref(resource: str, value: object) -> dict[str, Any]:
    return {
        "identifier": {"type": {"coding": [{"system": "eHealth/resources", "code": resource}]}, "value": str(value)}
    }


def encounter(pg: psycopg.Connection, patient: Patient, clinic: Clinic, status: str = "finished") -> tuple[str, str]:
    """An encounter of the patient in an episode, as an encounter package leaves it: (encounter id, episode id)."""
    encounter_id, episode_id = uuid.uuid4(), uuid.uuid4()
    pg.execute(
        "INSERT INTO encounters (id, person_id, episode_id, status, legal_entity_id, performer_id, encounter_class,"
        " type, period_start) VALUES (%s, %s, %s, %s, %s, %s, 'PHC', 'discharge', now())",
        [encounter_id, patient.id, episode_id, status, clinic.legal_entity_id, clinic.doctor.id],
    )
    return str(encounter_id), str(episode_id)


def drafts(pg: psycopg.Connection, patient: Patient) -> int:
    return count(pg, "SELECT count(*) FROM medication_request_requests WHERE person_id = %s", patient.id)


def get(world: World, clinic: Clinic, path: str, **params: Any) -> httpx.Response:
    return httpx.get(world.api.base_url.join(path), params=params, headers=clinic.doctor.headers, timeout=30)


def test_references_are_kept_and_filter_the_lists(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    encounter_id, episode_id = encounter(pg, patient, clinic)
    care_plan, activity = uuid.uuid4(), uuid.uuid4()
    prior = world.prescribe(clinic, patient, INSULIN, 5)
    extra = {
        "context": ref("encounter", encounter_id),
        "based_on": [ref("care_plan", care_plan), ref("activity", activity)],
        "prior_prescription": ref("medication_request", prior["id"]),
        "container_dosage": {"system": "MEDICATION_UNIT", "code": "MG", "value": 500},
    }
    created = world.create_request(clinic, patient, METFORMIN, 60, **extra)
    assert created.status_code == 201, created.text
    mrr = created.json()["data"]
    for key, value in extra.items():
        assert mrr[key] == value, key

    base = f"/api/persons/{patient.id}/medication_request_requests"
    for name, value in (
        ("encounter_id", encounter_id),
        ("episode_id", episode_id),
        ("care_plan_id", care_plan),
        ("activity_id", activity),
    ):
        found = get(world, clinic, base, **{name: str(value)}).json()["data"]
        assert [d["id"] for d in found] == [mrr["id"]], name
        assert get(world, clinic, base, **{name: str(uuid.uuid4())}).json()["data"] == [], name
    # Both drafts (the prior prescription's, signed, and this one) are the clinic's.
    own = get(world, clinic, base, legal_entity_id=clinic.legal_entity_id).json()["data"]
    assert len(own) == 2 and mrr["id"] in {d["id"] for d in own}
    assert get(world, clinic, base, legal_entity_id=str(uuid.uuid4())).json()["data"] == []

    signed = world.sign_request(clinic, mrr)
    assert signed.status_code == 200, signed.text
    mr = signed.json()["data"]
    for key, value in extra.items():
        assert mr[key] == value, key
    shown = get(world, clinic, f"/api/persons/{patient.id}/medication_requests/{mr['id']}").json()["data"]
    assert shown["based_on"] == extra["based_on"] and shown["container_dosage"] == extra["container_dosage"]

    listed = f"/api/persons/{patient.id}/medication_requests"
    for name, value in (("encounter_id", encounter_id), ("episode_id", episode_id), ("care_plan_id", care_plan)):
        found = get(world, clinic, listed, **{name: str(value)}).json()["data"]
        assert [m["id"] for m in found] == [mr["id"]], name
        assert get(world, clinic, listed, **{name: str(uuid.uuid4())}).json()["data"] == [], name
    # Without a filter both prescriptions are listed: the filters above did the narrowing.
    assert {m["id"] for m in get(world, clinic, listed).json()["data"]} == {mr["id"], prior["id"]}


def test_an_invalid_filter_value_is_a_validation_error(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    for path in (
        f"/api/persons/{patient.id}/medication_requests",
        f"/api/persons/{patient.id}/medication_request_requests",
    ):
        for name in ("encounter_id", "episode_id", "care_plan_id"):
            answer = get(world, clinic, path, **{name: "not-a-uuid"})
            assert error_of(answer)[:2] == (422, "validation_failed"), (path, name)
            assert answer.json()["error"]["invalid"][0]["entry"] == f"$.{name}"
    for name in ("activity_id", "legal_entity_id"):
        answer = get(world, clinic, f"/api/persons/{patient.id}/medication_request_requests", **{name: "1"})
        assert error_of(answer)[:2] == (422, "validation_failed"), name


def test_bad_references_write_nothing(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    stranger = world.patient()
    world.declare(stranger, clinic)
    strangers_encounter, _ = encounter(pg, stranger, clinic)
    cancelled, _ = encounter(pg, patient, clinic, status="entered_in_error")
    strangers_prescription = world.prescribe(clinic, stranger, METFORMIN, 60)
    value = "$.data.context.identifier.value"
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"context": ref("encounter", uuid.uuid4())}, value, "Encounter not found"),
        ({"context": ref("encounter", strangers_encounter)}, value, "Encounter not found"),
        ({"context": ref("encounter", cancelled)}, value, 'Entity in status "entered_in_error" can not be referenced'),
        (
            {"prior_prescription": ref("medication_request", strangers_prescription["id"])},
            "$.data.prior_prescription.identifier.value",
            "Medication request not found",
        ),
        (
            {"container_dosage": {"system": "MEDICATION_UNIT", "code": "ML", "value": 4}},
            "$.data.container_dosage",
            "No medication of the medical program has such container dosage",
        ),
    ]
    for extra, entry, description in cases:
        answer = world.create_request(clinic, patient, METFORMIN, 60, **extra)
        assert error_of(answer)[:2] == (422, "validation_failed"), answer.text
        assert invalid_of(answer) == [(entry, description)], extra
    malformed: list[dict[str, Any]] = [
        {"context": ref("episode", uuid.uuid4())},
        {"context": {"identifier": {"value": str(uuid.uuid4())}}},
        {"prior_prescription": ref("encounter", uuid.uuid4())},
        {"based_on": [ref("activity", uuid.uuid4())]},
        {"based_on": [ref("care_plan", uuid.uuid4()), ref("care_plan", uuid.uuid4())]},
        {"based_on": [ref("encounter", uuid.uuid4())]},
        {"based_on": []},
        {"container_dosage": {"system": "MEDICATION_UNIT", "code": "BUCKET", "value": 4}},
        {"container_dosage": {"system": "OTHER", "code": "ML", "value": 4}},
        {"container_dosage": {"system": "MEDICATION_UNIT", "code": "ML", "value": 0}},
        {"container_dosage": {"system": "MEDICATION_UNIT", "code": "ML", "value": 4, "extra": 1}},
    ]
    for extra in malformed:
        answer = world.create_request(clinic, patient, METFORMIN, 60, **extra)
        assert error_of(answer)[:2] == (422, "validation_failed"), extra
    assert drafts(pg, patient) == 0


def test_a_programme_that_requires_a_care_plan(world: World, pg: psycopg.Connection) -> None:
    program = world.api.post(
        "/admin/medical_programs",
        json={
            "name": f"Програма з планом лікування {uuid.uuid4().hex[:8]}",
            "funding_source": "NHS",
            "mr_blank_type": "F-1",
            "medical_program_settings": {"care_plan_required": True},
        },
    )
    assert program.status_code == 201, program.text
    program_id = program.json()["data"]["id"]
    member = world.api.post(
        "/admin/program_medications",
        json={
            "medical_program_id": program_id,
            "medication_id": METFORMIN.brand_id,
            "reimbursement": {"type": "FIXED", "reimbursement_amount": 10},
        },
    )
    assert member.status_code == 201, member.text
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    without = world.create_request(clinic, patient, METFORMIN, 60, medical_program_id=program_id)
    assert error_of(without)[:2] == (422, "validation_failed")
    assert invalid_of(without) == [("$.data.based_on", "Care plan is required for this medical program")]
    assert drafts(pg, patient) == 0
    with_plan = world.create_request(
        clinic, patient, METFORMIN, 60, medical_program_id=program_id, based_on=[ref("care_plan", uuid.uuid4())]
    )
    assert with_plan.status_code == 201, with_plan.text
