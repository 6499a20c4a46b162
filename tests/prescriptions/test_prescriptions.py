"""Prescriptions (MR): a patient's list and its filters, signed reject with the SMS, resend, block/unblock, expiry."""

import asyncio
from datetime import timedelta

import httpx
import psycopg
from rx_world import World, count, drug, error_of, invalid_of, sign, today

from esoz.core.db import make_engine
from esoz.prescriptions import prescriptions
from esoz.signatures.signer_checks import CONTENT_MISMATCH

AMOXICILLIN = drug("Амоксил")
AZITHROMYCIN = drug("Азитро")
METFORMIN = drug("Метформін")


def _get(world: World, headers: dict[str, str], path: str, **params: object) -> httpx.Response:
    return httpx.get(world.api.base_url.join(path), params=params, headers=headers)


def _patch(world: World, headers: dict[str, str], path: str, body: object = None) -> httpx.Response:
    return httpx.patch(world.api.base_url.join(path), json=body, headers=headers)


def test_list_and_filters(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    amox = world.prescribe(clinic, patient, AMOXICILLIN, 20)
    azi = world.prescribe(clinic, patient, AZITHROMYCIN, 3)
    path = f"/api/persons/{patient.id}/medication_requests"
    everything = _get(world, clinic.doctor.headers, path).json()
    assert "data" in everything, everything
    assert {r["id"] for r in everything["data"]} == {amox["id"], azi["id"]}
    by_number = _get(world, clinic.doctor.headers, path, request_number=amox["request_number"]).json()["data"]
    assert [r["id"] for r in by_number] == [amox["id"]]
    by_medication = _get(world, clinic.doctor.headers, path, medication_id=AZITHROMYCIN.dosage_id).json()["data"]
    assert [r["id"] for r in by_medication] == [azi["id"]]
    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert _get(world, clinic.doctor.headers, path, created_from=tomorrow).json()["data"] == []
    assert _get(world, clinic.doctor.headers, path, status="COMPLETED").json()["data"] == []
    stranger = world.clinic()
    assert _get(world, stranger.doctor.headers, path).json()["data"] == []
    bad = _get(world, clinic.doctor.headers, path, status="DONE")
    assert error_of(bad)[:2] == (422, "validation_failed")


def test_signed_reject_texts_the_patient(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    mr = world.prescribe(clinic, patient, AMOXICILLIN, 20)
    path = f"/api/medication_requests/{mr['id']}/actions/reject"
    current = _get(world, clinic.doctor.headers, f"/api/medication_requests/{mr['id']}").json()["data"]
    wrong = current | {"medication_info": current["medication_info"] | {"medication_qty": 2}, "reject_reason_code": "X"}
    tampered = _patch(world, clinic.doctor.headers, path, {"signed_medication_reject": sign(wrong, clinic.doctor.cert)})
    assert invalid_of(tampered) == [("$.signed_medication_reject", CONTENT_MISMATCH)]
    content = current | {"reject_reason_code": "PATIENT_REJECT", "reject_reason": "Пацієнт відмовився"}
    answer = _patch(world, clinic.doctor.headers, path, {"signed_medication_reject": sign(content, clinic.doctor.cert)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["status"] == "REJECTED"
    assert answer.json()["data"]["reject_reason_code"] == "PATIENT_REJECT"
    sms = world.wait_sms(patient.phone, "Відкликано")
    assert sms["text"] == f"Відкликано рецепт: {mr['request_number']} від {today():%d.%m.%Y}"
    again = _patch(world, clinic.doctor.headers, path, {"signed_medication_reject": sign(content, clinic.doctor.cert)})
    assert error_of(again)[:2] == (409, "request_conflict")
    assert count(pg, "SELECT count(*) FROM signed_contents WHERE entity_id = %s", mr["id"]) == 1


def test_resend_block_and_unblock(world: World, pg: psycopg.Connection) -> None:
    clinic, patient, pharmacy = world.clinic(), world.patient(), world.pharmacy(contracts=())
    mr = world.prescribe(clinic, patient, AMOXICILLIN, 20)
    world.wait_sms(patient.phone, mr["request_number"])
    resent = _patch(world, clinic.doctor.headers, f"/api/medication_requests/{mr['id']}/actions/resend")
    assert resent.status_code == 200, resent.text
    deadline_count = 2
    for _ in range(200):
        if len([m for m in world.sms_to(patient.phone) if mr["request_number"] in m["text"]]) >= deadline_count:
            break
        asyncio.run(asyncio.sleep(0.1))
    assert len([m for m in world.sms_to(patient.phone) if mr["request_number"] in m["text"]]) == 2

    block = {"block_reason_code": "BLOCK_WRONG_QTY_DRUG", "block_reason": "перевищено норми відпуску"}
    blocked = _patch(world, clinic.doctor.headers, f"/api/medication_requests/{mr['id']}/actions/block", block)
    assert blocked.status_code == 200 and blocked.json()["data"]["is_blocked"] is True
    code = world.code_of(pg, mr["id"])
    refused = world.dispense(pharmacy, mr, AMOXICILLIN, code)
    assert error_of(refused) == (409, "request_conflict", "Medication request is blocked")
    twice = _patch(world, clinic.doctor.headers, f"/api/medication_requests/{mr['id']}/actions/block", block)
    assert error_of(twice)[:2] == (409, "request_conflict")
    unblocked = _patch(
        world, pharmacy.pharmacist.headers, f"/api/pharmacy/medication_requests/{mr['id']}/actions/unblock", {}
    )
    assert unblocked.status_code == 200 and unblocked.json()["data"]["is_blocked"] is False
    assert world.dispense(pharmacy, mr, AMOXICILLIN, code).status_code == 201


def test_resend_needs_a_code(world: World) -> None:
    clinic = world.clinic()
    patient = world.patient(authentication_methods=[{"type": "OFFLINE"}])
    mr = world.prescribe(clinic, patient, AMOXICILLIN, 20)
    answer = _patch(world, clinic.doctor.headers, f"/api/medication_requests/{mr['id']}/actions/resend")
    assert error_of(answer) == (403, "forbidden", "Can't resend Medication request without verification code!")


def test_prescriptions_expire_when_their_validity_ends(world: World, pg: psycopg.Connection, db_url: str) -> None:
    clinic, patient = world.clinic(), world.patient()
    mr = world.prescribe(clinic, patient, AMOXICILLIN, 20)
    pg.execute("UPDATE medication_requests SET dispense_valid_to = current_date - 1 WHERE id = %s", [mr["id"]])

    async def run_job() -> int:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return await prescriptions.expire(conn)
        finally:
            await engine.dispose()

    assert asyncio.run(run_job()) >= 1
    assert pg.execute("SELECT status FROM medication_requests WHERE id = %s", [mr["id"]]).fetchone() == ("EXPIRED",)
    events = count(
        pg,
        "SELECT count(*) FROM events WHERE entity_id = %s AND properties->'status'->>'new_value' = 'EXPIRED'",
        mr["id"],
    )
    assert events == 1


def test_pharmacy_lookup_by_unknown_number(world: World) -> None:
    pharmacy = world.pharmacy(contracts=())
    answer = _get(world, pharmacy.pharmacist.headers, "/api/pharmacy/medication_requests/0000-AAAA-AAAA-AAAA")
    assert answer.status_code == 404
    clinic = world.clinic()
    denied = _get(world, clinic.doctor.headers, "/api/pharmacy/medication_requests/0000-AAAA-AAAA-AAAA")
    assert denied.status_code == 403
    metformin = METFORMIN  # a reimbursed drug needs no more than the lookup here
    assert metformin.program
