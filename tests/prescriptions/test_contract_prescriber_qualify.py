"""`POST /api/medication_requests/{id}/actions/qualify`: which programmes a prescription can be dispensed under at
the pharmacy's division, as which brands, and the bad inputs."""

import uuid
from typing import Any

import httpx
import psycopg
import pytest
from rx_world import AFFORDABLE, World, count, drug, error_of, invalid_of

METFORMIN = drug("Метформін")
AMOXICILLIN = drug("Амоксил")
ANSWER_KEYS = {"program_id", "program_name", "status", "rejection_reason", "participants"}
PARTICIPANT_KEYS = {
    "id", "medication_id", "medication_name", "form", "manufacturer", "reimbursement_amount", "wholesale_price",
    "consumer_price", "reimbursement_daily_dosage", "estimated_payment_amount", "container_dosage", "package_min_qty",
    "package_qty", "start_date", "end_date", "registry_number", "drlz_sku_id", "package_qty_divisible",
}  # fmt: skip


def qualify(world: World, headers: dict[str, str], mr_id: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        world.api.base_url.join(f"/api/medication_requests/{mr_id}/actions/qualify"),
        json=body,
        headers=headers,
        timeout=30,
    )


@pytest.fixture
def prescribed(world: World) -> tuple[Any, Any, dict[str, Any]]:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    return clinic, patient, world.prescribe(clinic, patient, METFORMIN, 60)


def test_a_pharmacy_learns_the_brands_and_reimbursement(world: World, prescribed: Any, pg: psycopg.Connection) -> None:
    _clinic, _patient, mr = prescribed
    pharmacy = world.pharmacy()
    audit_before = count(pg, "SELECT count(*) FROM audit_log WHERE resource_id = %s", mr["id"])
    body = {
        "division_id": pharmacy.division_id,
        "programs": [{"id": METFORMIN.program_id}, {"id": AMOXICILLIN.program_id}],
    }
    answer = qualify(world, pharmacy.pharmacist.headers, mr["id"], body)
    assert answer.status_code == 200, answer.text
    valid, invalid = answer.json()["data"]
    assert set(valid) == ANSWER_KEYS and set(invalid) == ANSWER_KEYS
    assert (valid["program_id"], valid["program_name"], valid["status"], valid["rejection_reason"]) == (
        METFORMIN.program_id,
        AFFORDABLE,
        "VALID",
        "",
    )
    [brand] = valid["participants"]
    assert set(brand) == PARTICIPANT_KEYS
    assert brand["id"] == METFORMIN.program_medication_id and brand["medication_id"] == METFORMIN.brand_id
    assert brand["reimbursement_amount"] == METFORMIN.reimbursement and brand["consumer_price"] == METFORMIN.price
    assert brand["package_qty"] == METFORMIN.package_qty and brand["package_min_qty"] == METFORMIN.min_qty
    assert brand["package_qty_divisible"] is True
    assert brand["container_dosage"]["numerator_unit"] == "MG"
    assert invalid["status"] == "INVALID" and invalid["participants"] == []
    assert (
        invalid["rejection_reason"]
        == f"Innm not on the list of approved innms for program '{invalid['program_name']}' !"
    )
    # A question, not a write.
    assert count(pg, "SELECT count(*) FROM audit_log WHERE resource_id = %s", mr["id"]) == audit_before


def test_without_a_contract_the_programme_is_invalid(world: World, prescribed: Any) -> None:
    _clinic, _patient, mr = prescribed
    pharmacy = world.pharmacy(contracts=())
    body = {"division_id": pharmacy.division_id, "programs": [{"id": METFORMIN.program_id}]}
    [item] = qualify(world, pharmacy.pharmacist.headers, mr["id"], body).json()["data"]
    assert (item["status"], item["rejection_reason"]) == (
        "INVALID",
        "Program cannot be used - no active contract exists",
    )


def test_the_prescribing_clinic_may_qualify_its_own(world: World, prescribed: Any) -> None:
    clinic, _patient, mr = prescribed
    body = {"division_id": clinic.division_id, "programs": [{"id": METFORMIN.program_id}]}
    answer = qualify(world, clinic.doctor.headers, mr["id"], body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"][0]["status"] == "VALID"


def test_bad_inputs(world: World, prescribed: Any, pg: psycopg.Connection, headers_for: Any) -> None:
    clinic, _patient, mr = prescribed
    pharmacy = world.pharmacy()
    ok = {"division_id": pharmacy.division_id, "programs": [{"id": METFORMIN.program_id}]}
    headers = pharmacy.pharmacist.headers

    unknown = qualify(world, headers, "0193a1e4-0000-7000-8000-000000000000", ok)
    assert error_of(unknown)[:2] == (404, "not_found")

    # Another clinic's prescription is not found for a clinic (a pharmacy may qualify any).
    other = world.clinic()
    by_other = qualify(world, other.doctor.headers, mr["id"], ok | {"division_id": other.division_id})
    assert error_of(by_other)[:2] == (404, "not_found")

    unknown_program = qualify(
        world, headers, mr["id"], ok | {"programs": [{"id": METFORMIN.program_id}, {"id": mr["id"]}]}
    )
    assert error_of(unknown_program)[:2] == (422, "validation_failed")
    assert invalid_of(unknown_program) == [("$.programs[1].id", "Medical program not found")]

    foreign_division = qualify(world, headers, mr["id"], ok | {"division_id": clinic.division_id})
    assert invalid_of(foreign_division) == [("$.division_id", "Division not found")]

    malformed = qualify(world, headers, mr["id"], {"division_id": "not-a-uuid", "programs": []})
    assert error_of(malformed)[:2] == (422, "validation_failed")

    no_scope = headers_for(uuid.UUID(pharmacy.legal_entity_id), scopes=["medication_request:read"])
    assert error_of(qualify(world, no_scope, mr["id"], ok))[:2] == (403, "forbidden")

    blocked = httpx.patch(
        world.api.base_url.join(f"/api/medication_requests/{mr['id']}/actions/block"),
        json={"block_reason_code": "BLOCK_WRONG_QTY_DRUG"},
        headers=clinic.doctor.headers,
    )
    assert blocked.status_code == 200, blocked.text
    assert error_of(qualify(world, headers, mr["id"], ok)) == (409, "request_conflict", "Medication request is blocked")

    # As the expiry job leaves a prescription past its dispense window.
    pg.execute("UPDATE medication_requests SET status = 'EXPIRED', is_blocked = false WHERE id = %s", [mr["id"]])
    assert error_of(qualify(world, headers, mr["id"], ok)) == (
        409,
        "request_conflict",
        "Medication request is not active",
    )


def test_a_plan_cannot_be_qualified(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    plan = world.prescribe(clinic, patient, METFORMIN, 60, intent="plan")
    pharmacy = world.pharmacy()
    body = {"division_id": pharmacy.division_id, "programs": [{"id": METFORMIN.program_id}]}
    answer = qualify(world, pharmacy.pharmacist.headers, plan["id"], body)
    assert error_of(answer) == (409, "request_conflict", "Plan can't be qualified")
