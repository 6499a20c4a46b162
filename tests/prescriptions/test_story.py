"""The whole story through the API: a doctor prescribes and signs, the patient's SMS appears, a pharmacist
dispenses and signs, the prescription is COMPLETED and shows in the reimbursement report — for a reimbursed,
a self-paid and a narcotic prescription."""

import httpx
import psycopg
from rx_world import AFFORDABLE, PALLIATIVE, SELF_PAID, World, drug, today


def test_reimbursed_self_paid_and_narcotic_prescriptions_end_to_end(world: World, pg: psycopg.Connection) -> None:
    clinic, pharmacy, patient = world.clinic(), world.pharmacy(), world.patient()
    world.declare(patient, clinic)
    cases = [(drug("Метформін"), 120, AFFORDABLE), (drug("Амоксил"), 20, SELF_PAID), (drug("Морфін"), 40, PALLIATIVE)]
    dispensed = {}
    for d, qty, program in cases:
        assert d.program == program
        mr = world.prescribe(clinic, patient, d, qty)
        assert mr["status"] == "ACTIVE"
        sms = world.wait_sms(patient.phone, mr["request_number"])
        code = sms["text"].rsplit(" ", 1)[1]
        assert sms["text"] == f"Ваш рецепт: {mr['request_number']}. Код підтвердження: {code}"

        # The pharmacy finds it by the number and the code the patient shows.
        found = httpx.get(
            world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr['request_number']}"),
            params={"code": code},
            headers=pharmacy.pharmacist.headers,
        )
        assert found.status_code == 200, found.text
        assert found.json()["data"]["id"] == mr["id"] and "employee" not in found.json()["data"]

        md = world.dispense(pharmacy, mr, d, code)
        assert md.status_code == 201, md.text
        assert md.json()["data"]["status"] == "NEW"
        processed = world.process(pharmacy, md.json()["data"], payment_id="PAY-1", payment_amount=10.5)
        assert processed.status_code == 200, processed.text
        assert processed.json()["data"]["status"] == "PROCESSED"
        assert processed.json()["data"]["payment_id"] == "PAY-1"

        after = httpx.get(
            world.api.base_url.join(f"/api/persons/{patient.id}/medication_requests/{mr['id']}"),
            headers=clinic.doctor.headers,
        )
        assert after.json()["data"]["status"] == "COMPLETED"
        dispensed[program] = (md.json()["data"]["id"], d, qty)
        cms = pg.execute(
            "SELECT signers->0->>'surname' FROM signed_contents WHERE entity_type = 'medication_dispense'"
            " AND entity_id = %s",
            [md.json()["data"]["id"]],
        ).fetchone()
        assert cms == (pharmacy.pharmacist.last_name,)

    report = httpx.get(
        world.api.base_url.join("/api/reimbursement_report"),
        params={"date_from": today().isoformat(), "date_to": today().isoformat()},
        headers=pharmacy.pharmacist.headers,
    )
    assert report.status_code == 200, report.text
    data = report.json()["data"]
    assert data["legal_entity_id"] == pharmacy.legal_entity_id
    assert {i["medication_dispense_id"] for i in data["items"]} == {v[0] for v in dispensed.values()}
    by_program = {p["name"]: p for p in data["programs"]}
    assert by_program[AFFORDABLE]["discount_amount"] == round(drug("Метформін").reimbursement / 60 * 120, 2)
    assert by_program[SELF_PAID]["discount_amount"] == 0
    assert data["totals"]["dispenses"] == 3
    # НСЗУ sees the same pharmacy's report by asking for it.
    nhs = world.api.get(
        "/api/reimbursement_report",
        params={
            "date_from": today().isoformat(),
            "date_to": today().isoformat(),
            "legal_entity_id": pharmacy.legal_entity_id,
        },
    )
    assert nhs.json()["data"]["totals"] == data["totals"]
