"""A pharmacy rejects a prescription (signed): PATCH /api/pharmacy/medication_requests/{id}/actions/reject."""

from typing import Any

import httpx
import psycopg
from rx_world import OCSP_URL, Person, Pharmacy, World, count, drug, error_of, invalid_of, sign, today

from esoz.prescriptions.codes import LOCKED
from esoz.prescriptions.pharmacy_reject import BLOCKED_ELSEWHERE, HAS_DISPENSES
from esoz.signatures.signer_checks import CONTENT_MISMATCH, DRFO_MISMATCH, LAST_NAME_MISMATCH

METFORMIN = drug("Метформін")
REASON = {"reject_reason_code": "INCORRECT_DOSAGE", "reject_reason": "Доза перевищує добову норму"}


def _prescribed(world: World, pg: psycopg.Connection) -> tuple[Any, dict[str, Any], Any]:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    return clinic, world.prescribe(clinic, patient, METFORMIN, 60), patient


def _public(world: World, pharmacy: Pharmacy, mr: dict[str, Any]) -> dict[str, Any]:
    found = httpx.get(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr['request_number']}"),
        headers=pharmacy.pharmacist.headers,
    )
    assert found.status_code == 200, found.text
    return found.json()["data"]


def _reject(world: World, signer: Person, mr_id: str, content: Any) -> httpx.Response:
    return httpx.patch(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr_id}/actions/reject"),
        json={"signed_medication_reject": sign(content, signer.cert)},
        headers=signer.headers,
        timeout=30,
    )


def _status(pg: psycopg.Connection, mr_id: str) -> str:
    return pg.execute("SELECT status FROM medication_requests WHERE id = %s", [mr_id]).fetchone()[0]


def test_pharmacist_rejects_with_a_reason(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, mr, patient = _prescribed(world, pg)
    answer = _reject(world, pharmacy.pharmacist, mr["id"], _public(world, pharmacy, mr) | REASON)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["status"] == "REJECTED"
    assert (data["reject_reason_code"], data["reject_reason"]) == (
        REASON["reject_reason_code"],
        REASON["reject_reason"],
    )
    assert data["rejected_at"] and data["rejected_by"]
    assert "legal_entity" not in data and "id" not in data["person"]  # the pharmacist's shape
    assert _status(pg, mr["id"]) == "REJECTED"
    events = "SELECT count(*) FROM events WHERE entity_id = %s AND properties->'status'->>'new_value' = 'REJECTED'"
    assert count(pg, events, mr["id"]) == 1
    audit = "SELECT count(*) FROM audit_log WHERE resource_id = %s AND action = 'medication_request.reject_pharm'"
    assert count(pg, audit, mr["id"]) == 1
    assert count(pg, "SELECT count(*) FROM signed_contents WHERE entity_id = %s", mr["id"]) == 1
    world.wait_sms(patient.phone, f"Відкликано рецепт: {mr['request_number']} від {today():%d.%m.%Y}")
    again = _reject(world, pharmacy.pharmacist, mr["id"], _public(world, pharmacy, mr) | REASON)
    assert error_of(again) == (409, "request_conflict", "Invalid status Medication request for reject transition!")
    code = world.code_of(pg, mr["id"])
    assert error_of(world.dispense(pharmacy, mr, METFORMIN, code))[:2] == (409, "request_conflict")


def test_signature_and_content_are_checked(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, mr, _ = _prescribed(world, pg)
    ph = pharmacy.pharmacist
    content = _public(world, pharmacy, mr) | REASON
    colleague = world.employee(
        pharmacy.legal_entity_id, pharmacy.division_id, employee_type="PHARMACIST", speciality="PHARMACIST"
    )
    by_colleague = _reject(world, Person(**{**vars(ph), "cert": colleague.cert}), mr["id"], content)
    assert invalid_of(by_colleague) == [("$.signed_medication_reject", DRFO_MISMATCH)]
    _, _, renamed = world.pki.issue(tax_id=ph.tax_id, name="Іншаприкладна Олена Петрівна", ocsp_url=OCSP_URL)
    other_name = _reject(world, Person(**{**vars(ph), "cert": renamed}), mr["id"], content)
    assert invalid_of(other_name) == [("$.signed_medication_reject", LAST_NAME_MISMATCH)]
    qty = content["medication_info"] | {"medication_qty": 30}
    tampered = _reject(world, ph, mr["id"], content | {"medication_info": qty})
    assert invalid_of(tampered) == [("$.signed_medication_reject", CONTENT_MISMATCH)]
    with_code = httpx.get(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr['id']}"),
        params={"code": world.code_of(pg, mr["id"])},
        headers=ph.headers,
    ).json()["data"]
    full_render = _reject(world, ph, mr["id"], with_code | REASON)  # signs what the code opened, not the public shape
    assert invalid_of(full_render) == [("$.signed_medication_reject", CONTENT_MISMATCH)]
    no_code = _reject(world, ph, mr["id"], {k: v for k, v in content.items() if k != "reject_reason_code"})
    assert invalid_of(no_code) == [("$.signed_medication_reject.reject_reason_code", "required property")]
    unknown = _reject(world, ph, mr["id"], content | {"reject_reason_code": "NO_SUCH_REASON"})
    assert invalid_of(unknown) == [("$.signed_medication_reject.reject_reason_code", "value is not allowed in enum")]
    not_base64 = httpx.patch(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr['id']}/actions/reject"),
        json={"signed_medication_reject": "not a signature"},
        headers=ph.headers,
    )
    assert not_base64.status_code in (400, 422) and "error" in not_base64.json()
    assert _status(pg, mr["id"]) == "ACTIVE"
    assert count(pg, "SELECT count(*) FROM signed_contents WHERE entity_id = %s", mr["id"]) == 0
    assert (
        count(pg, "SELECT count(*) FROM audit_log WHERE resource_id = %s AND action LIKE '%%reject%%'", mr["id"]) == 0
    )


def test_who_may_reject_and_when(world: World, pg: psycopg.Connection) -> None:
    pharmacy, other = world.pharmacy(), world.pharmacy()
    clinic, mr, _ = _prescribed(world, pg)
    content = _public(world, pharmacy, mr) | REASON
    # a clinic's token has no medication_request:reject_pharm
    by_doctor = _reject(world, clinic.doctor, mr["id"], content)
    assert error_of(by_doctor)[:2] == (403, "forbidden")
    unknown = _reject(world, pharmacy.pharmacist, "0196f0a6-0000-7000-8000-000000000000", content)
    assert error_of(unknown)[:2] == (404, "not_found")
    not_uuid = _reject(world, pharmacy.pharmacist, "0000-AAAA-BBBB-CCCC", content)
    assert error_of(not_uuid)[:2] == (422, "validation_failed")
    # reserved by another pharmacy: only that one may reject it
    block = {"block_reason_code": "BLOCK_WRONG_QTY_DRUG", "block_reason": "резерв"}
    blocked = httpx.patch(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr['id']}/actions/block"),
        json=block,
        headers=other.pharmacist.headers,
    )
    assert blocked.status_code == 200, blocked.text
    assert error_of(_reject(world, pharmacy.pharmacist, mr["id"], content)) == (
        409,
        "request_conflict",
        BLOCKED_ELSEWHERE,
    )
    assert _status(pg, mr["id"]) == "ACTIVE"
    unblocked = httpx.patch(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr['id']}/actions/unblock"),
        json={"block_reason_code": "UNBLOCK_DEFAULT"},
        headers=other.pharmacist.headers,
    )
    assert unblocked.status_code == 200, unblocked.text
    # a dispense under way
    md = world.dispense(pharmacy, mr, METFORMIN, world.code_of(pg, mr["id"]))
    assert md.status_code == 201, md.text
    content = _public(world, other, mr) | REASON
    assert error_of(_reject(world, other.pharmacist, mr["id"], content)) == (409, "request_conflict", HAS_DISPENSES)
    assert _status(pg, mr["id"]) == "ACTIVE"


def test_refused_to_a_locked_out_pharmacy_and_to_a_clinic(
    world: World, pg: psycopg.Connection, headers_for: Any
) -> None:
    pharmacy = world.pharmacy()
    clinic, mr, _ = _prescribed(world, pg)
    content = _public(world, pharmacy, mr) | REASON
    pg.execute(
        "INSERT INTO medication_request_code_attempts (person_id, medication_request_id, legal_entity_id, failures, "
        "locked_at) SELECT person_id, id, %s, 5, now() FROM medication_requests WHERE id = %s",
        [pharmacy.legal_entity_id, mr["id"]],
    )
    assert error_of(_reject(world, pharmacy.pharmacist, mr["id"], content)) == (403, "forbidden", LOCKED)
    # a clinic's token, whatever client it asks for, never holds medication_request:reject_pharm
    mis = headers_for(clinic.legal_entity_id, "MIS")
    as_clinic = httpx.patch(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr['id']}/actions/reject"),
        json={"signed_medication_reject": sign(content, clinic.doctor.cert)},
        headers=mis,
    )
    assert error_of(as_clinic)[:2] == (403, "forbidden")
    assert _status(pg, mr["id"]) == "ACTIVE"
