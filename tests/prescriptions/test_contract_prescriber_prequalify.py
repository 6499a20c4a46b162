"""`POST /api/medication_request_requests/prequalify` as documented: the programmes in `programs[]`, the draft
without `medical_program_id`, an answer per programme with `program_id`, `program_name`, `status` and
`rejection_reason`; and the bad inputs, which write nothing."""

from typing import Any

import httpx
import psycopg
from rx_world import AFFORDABLE, Clinic, Patient, World, count, drug, error_of, invalid_of

METFORMIN = drug("Метформін")
AMOXICILLIN = drug("Амоксил")


def prequalify(world: World, clinic: Clinic, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        world.api.base_url.join("/api/medication_request_requests/prequalify"),
        json=body,
        headers=clinic.doctor.headers,
        timeout=30,
    )


def documented_body(world: World, clinic: Clinic, patient: Patient, *programs: str, **extra: Any) -> dict[str, Any]:
    draft = world.request_body(clinic, patient, METFORMIN, 60, **extra)["medication_request_request"]
    del draft["medical_program_id"]
    return {"medication_request_request": draft, "programs": [{"id": p} for p in programs]}


def test_the_documented_body_and_answer(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    answer = prequalify(
        world, clinic, documented_body(world, clinic, patient, METFORMIN.program_id, AMOXICILLIN.program_id)
    )
    assert answer.status_code == 200, answer.text
    valid, invalid = answer.json()["data"]
    assert {"program_id", "program_name", "status", "rejection_reason"} <= set(valid)
    assert "id" not in valid and "name" not in valid
    assert (valid["program_id"], valid["program_name"], valid["status"], valid["rejection_reason"]) == (
        METFORMIN.program_id,
        AFFORDABLE,
        "VALID",
        "",
    )
    assert [p["id"] for p in valid["participants"]] == [METFORMIN.brand_id]
    assert invalid["program_id"] == AMOXICILLIN.program_id and invalid["status"] == "INVALID"
    assert invalid["rejection_reason"].startswith("Not found any medications")
    assert count(pg, "SELECT count(*) FROM medication_request_requests WHERE person_id = %s", patient.id) == 0


def test_references_are_checked_per_programme(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    body = documented_body(
        world,
        clinic,
        patient,
        METFORMIN.program_id,
        container_dosage={"system": "MEDICATION_UNIT", "code": "ML", "value": 4},
    )
    [item] = prequalify(world, clinic, body).json()["data"]
    assert (item["status"], item["rejection_reason"]) == (
        "INVALID",
        "No medication of the medical program has such container dosage",
    )


def test_bad_inputs(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    unknown = prequalify(world, clinic, documented_body(world, clinic, patient, METFORMIN.program_id, patient.id))
    assert error_of(unknown)[:2] == (422, "validation_failed")
    assert invalid_of(unknown) == [("$.programs[1].id", "Medical program not found")]
    no_programs = prequalify(world, clinic, documented_body(world, clinic, patient))
    assert error_of(no_programs)[:2] == (422, "validation_failed")
    without = documented_body(world, clinic, patient, METFORMIN.program_id)
    del without["programs"]
    assert error_of(prequalify(world, clinic, without))[:2] == (422, "validation_failed")
    plan = prequalify(world, clinic, documented_body(world, clinic, patient, METFORMIN.program_id, intent="plan"))
    assert error_of(plan) == (409, "request_conflict", "Plan can't be qualified")
    inactive = world.patient()
    pg.execute("UPDATE persons SET status = 'inactive', is_active = false WHERE id = %s", [inactive.id])
    unverified = prequalify(world, clinic, documented_body(world, clinic, inactive, METFORMIN.program_id))
    assert error_of(unverified) == (
        422,
        "unverified",
        "Only for active MPI record can create Medication request Request!",
    )
    assert count(pg, "SELECT count(*) FROM medication_request_requests WHERE person_id = %s", patient.id) == 0
