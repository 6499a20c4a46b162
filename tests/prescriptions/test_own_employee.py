"""Prescription-domain writes name only the caller's own employee: a doctor cannot draft a prescription in a
colleague's name, and a pharmacist cannot dispense in a colleague's name."""

from typing import Any

import httpx
import psycopg
from rx_world import Clinic, World, count, drug, error_of, invalid_of

from esoz.prescriptions.dispenses import NOT_OWN_NAME
from esoz.prescriptions.requests import NOT_OWN_EMPLOYEE

METFORMIN = drug("Метформін")


def _drafts(pg: psycopg.Connection, person_id: str) -> int:
    return count(pg, "SELECT count(*) FROM medication_request_requests WHERE person_id = %s", person_id)


def test_a_draft_naming_a_colleague_is_refused(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    colleague = world.employee(clinic.legal_entity_id, clinic.division_id)
    world.declare(patient, Clinic(clinic.legal_entity_id, clinic.division_id, colleague))  # the colleague's patient
    body = world.request_body(clinic, patient, METFORMIN, 60, employee_id=colleague.id)

    as_colleague = httpx.post(
        world.api.base_url.join("/api/medication_request_requests"), json=body, headers=clinic.doctor.headers
    )
    assert error_of(as_colleague)[:2] == (422, "validation_failed")
    assert invalid_of(as_colleague) == [("$.data.employee_id", NOT_OWN_EMPLOYEE)]
    assert _drafts(pg, patient.id) == 0

    prequalify = httpx.post(
        world.api.base_url.join("/api/medication_request_requests/prequalify"),
        json=body | {"programs": [{"id": METFORMIN.program_id}]},
        headers=clinic.doctor.headers,
    )
    assert invalid_of(prequalify) == [("$.data.employee_id", NOT_OWN_EMPLOYEE)]

    # The colleague, signed in as themselves, may.
    own = httpx.post(world.api.base_url.join("/api/medication_request_requests"), json=body, headers=colleague.headers)
    assert own.status_code == 201, own.text
    assert own.json()["data"]["employee"]["id"] == colleague.id


def test_an_unknown_employee_is_not_found_before_ownership(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    body = world.request_body(clinic, patient, METFORMIN, 60, employee_id="00000000-0000-4000-8000-000000000001")
    answer = httpx.post(
        world.api.base_url.join("/api/medication_request_requests"), json=body, headers=clinic.doctor.headers
    )
    assert invalid_of(answer) == [("$.data.employee_id", "Employee not found")]
    assert _drafts(pg, patient.id) == 0


def test_a_dispense_in_a_colleague_s_name_is_refused(world: World, pg: psycopg.Connection) -> None:
    pharmacy, clinic, patient = world.pharmacy(), world.clinic(), world.patient()
    colleague = world.employee(
        pharmacy.legal_entity_id, pharmacy.division_id, employee_type="PHARMACIST", speciality="PHARMACIST"
    )
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60)
    code = world.code_of(pg, mr["id"])

    def dispense(by: Any) -> httpx.Response:
        return world.dispense(pharmacy, mr, METFORMIN, code, dispensed_by=by)

    refused = dispense(f"{colleague.last_name} Олена Петрівна")
    assert error_of(refused)[:2] == (422, "validation_failed")
    assert invalid_of(refused) == [("$.medication_dispense.dispensed_by", NOT_OWN_NAME)]
    assert count(pg, "SELECT count(*) FROM medication_dispenses WHERE medication_request_id = %s", mr["id"]) == 0

    # The caller's own name, in any case and with initials; the dispense's party is the caller's, not the body's.
    done = dispense(f"{pharmacy.pharmacist.last_name.upper()} О.П.")
    assert done.status_code == 201, done.text
    assert done.json()["data"]["party"]["id"] == pharmacy.pharmacist.party_id


def test_a_dispense_without_dispensed_by_is_the_caller_s(world: World, pg: psycopg.Connection) -> None:
    pharmacy, clinic, patient = world.pharmacy(), world.clinic(), world.patient()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60)
    body = world.dispense_body(pharmacy, mr, METFORMIN)
    del body["medication_dispense"]["dispensed_by"]
    answer = httpx.post(
        world.api.base_url.join("/api/pharmacy/medication_dispenses"),
        params={"code": world.code_of(pg, mr["id"])},
        json=body,
        headers=pharmacy.pharmacist.headers,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["data"]["party"]["id"] == pharmacy.pharmacist.party_id
