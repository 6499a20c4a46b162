"""Every read of a patient's prescriptions, drafts and dispenses is recorded with whose data it was, and never cached.

Each declared GET route is called over HTTP with the token of the doctor or pharmacist who would call it; its audit
row (found by the request id) names the action, the record and the patient. A refused read records no read.
"""

import uuid
from typing import Any

import httpx
import psycopg
from rx_world import Person, World, drug, error_of
from tests.audit_rows import wait_for_audit

METFORMIN = drug("Метформін")

READ_ROWS = (
    "SELECT action, resource_type, resource_id, person_id, legal_entity_id, details->>'route' FROM audit_log"
    " WHERE request_id = %s AND action LIKE '%%.read' ORDER BY id"
)


def _read(world: World, who: Person, path: str, **params: Any) -> tuple[httpx.Response, str]:
    request_id = f"rx-read-{uuid.uuid4().hex}"
    answer = httpx.get(
        world.api.base_url.join(path), params=params, headers=who.headers | {"X-Request-Id": request_id}, timeout=30
    )
    return answer, request_id


def _assert_recorded(
    pg: psycopg.Connection, answer: httpx.Response, request_id: str, expected: tuple[str, str, str, str, str]
) -> None:
    """200, not cacheable, and exactly one read row: (action, resource type, record id, patient id, legal entity)."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store" and answer.headers["pragma"] == "no-cache"
    rows = wait_for_audit(pg, READ_ROWS, [request_id])
    action, resource, record, person, legal_entity = expected
    route = answer.request.method + " " + answer.request.url.path
    assert [r[:5] for r in rows] == [
        (action, resource, record, uuid.UUID(person), uuid.UUID(legal_entity))
    ], f"{route}: {rows}"


def _assert_not_recorded(pg: psycopg.Connection, refused_id: str, recorded_id: str) -> None:
    """The refused read left no read row. Rows are flushed in the order they were queued, so once a later read's
    row is in the table, any row of the refused read would be there too."""
    assert wait_for_audit(pg, READ_ROWS, [recorded_id])
    assert pg.execute(READ_ROWS, [refused_id]).fetchall() == []


def test_every_prescription_read_is_recorded_with_the_patient(world: World, pg: psycopg.Connection) -> None:
    clinic, patient, pharmacy = world.clinic(), world.patient(), world.pharmacy()
    world.declare(patient, clinic)
    drafted = world.create_request(clinic, patient, METFORMIN, 60)
    assert drafted.status_code == 201, drafted.text
    mrr = drafted.json()["data"]
    signed = world.sign_request(clinic, mrr)
    assert signed.status_code == 200, signed.text
    mr = signed.json()["data"]
    code = world.code_of(pg, mr["id"])
    doctor, pharmacist = clinic.doctor, pharmacy.pharmacist
    person, clinic_le, pharmacy_le = patient.id, clinic.legal_entity_id, pharmacy.legal_entity_id

    draft = ("medication_request_request.read", "medication_request_request", mrr["id"], person, clinic_le)
    for path in (
        f"/api/persons/{person}/medication_request_requests",
        f"/api/persons/{person}/medication_request_requests/{mrr['id']}",
        f"/api/medication_request_requests/{mrr['id']}",
    ):
        _assert_recorded(pg, *_read(world, doctor, path), draft)

    prescription = ("medication_request.read", "medication_request", mr["id"], person, clinic_le)
    for path in (
        f"/api/persons/{person}/medication_requests",
        f"/api/persons/{person}/medication_requests/{mr['id']}",
        f"/api/medication_requests/{mr['id']}",
    ):
        _assert_recorded(pg, *_read(world, doctor, path), prescription)

    # The pharmacy opens the prescription with the patient's code, by its number and by its id.
    at_pharmacy = ("medication_request.read", "medication_request", mr["id"], person, pharmacy_le)
    for key in (mr["request_number"], mr["id"]):
        _assert_recorded(pg, *_read(world, pharmacist, f"/api/pharmacy/medication_requests/{key}", code=code),
                         at_pharmacy)  # fmt: skip
    # Without the code the answer shows no patient id, and the read is still the patient's.
    no_code, no_code_id = _read(world, pharmacist, f"/api/pharmacy/medication_requests/{mr['request_number']}")
    assert "id" not in no_code.json()["data"]["person"]
    _assert_recorded(pg, no_code, no_code_id, at_pharmacy)

    dispensed = world.dispense(pharmacy, mr, METFORMIN, code)
    assert dispensed.status_code == 201, dispensed.text
    md = dispensed.json()["data"]
    dispense = ("medication_dispense.read", "medication_dispense", md["id"], person, pharmacy_le)
    for path in ("/api/pharmacy/medication_dispenses", f"/api/pharmacy/medication_dispenses/{md['id']}"):
        _assert_recorded(pg, *_read(world, pharmacist, path), dispense)
    _assert_recorded(
        pg,
        *_read(world, doctor, f"/api/persons/{person}/medication_requests/{mr['id']}/medication_dispenses"),
        ("medication_dispense.read", "medication_dispense", md["id"], person, clinic_le),
    )


def test_a_refused_prescription_read_records_no_read(world: World, pg: psycopg.Connection) -> None:
    clinic, other, patient, pharmacy = world.clinic(), world.clinic(), world.patient(), world.pharmacy()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, METFORMIN, 60)
    code = world.code_of(pg, mr["id"])
    path = f"/api/persons/{patient.id}/medication_requests/{mr['id']}"
    prescription = ("medication_request.read", "medication_request", mr["id"], patient.id, clinic.legal_entity_id)

    # Another clinic's doctor: not found, nothing left, nothing recorded as read.
    hidden, hidden_id = _read(world, other.doctor, path)
    assert hidden.status_code == 404 and hidden.headers["cache-control"] == "no-store"
    seen, seen_id = _read(world, clinic.doctor, path)
    _assert_recorded(pg, seen, seen_id, prescription)
    _assert_not_recorded(pg, hidden_id, seen_id)

    # A pharmacy with a wrong code: refused, no read recorded.
    wrong = "1111" if code != "1111" else "2222"
    lookup = f"/api/pharmacy/medication_requests/{mr['request_number']}"
    refused, refused_id = _read(world, pharmacy.pharmacist, lookup, code=wrong)
    assert error_of(refused) == (403, "forbidden", "Incorrect code")
    seen, seen_id = _read(world, clinic.doctor, path)
    _assert_recorded(pg, seen, seen_id, prescription)
    _assert_not_recorded(pg, refused_id, seen_id)
