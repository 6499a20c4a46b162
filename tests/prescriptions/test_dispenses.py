"""Dispensing: the pharmacy's checks, signed processing, reject, expiry, partial dispenses, concurrency."""

import asyncio
import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx
import psycopg
from rx_world import AFFORDABLE, INSULIN, OCSP_URL, Drug, Person, World, count, drug, error_of, invalid_of, today

from esoz.core.db import make_engine
from esoz.prescriptions import dispenses
from esoz.prescriptions.dispenses import DISCOUNT_MISMATCH
from esoz.settings import Settings
from esoz.signatures.signer_checks import CONTENT_MISMATCH, DRFO_MISMATCH, LAST_NAME_MISMATCH

METFORMIN = drug("Метформін")
GLARGINE = drug("Гларгін")
GLICLAZIDE = drug("Гліклазид")


def _md_count(pg: psycopg.Connection, mr_id: str) -> int:
    return count(pg, "SELECT count(*) FROM medication_dispenses WHERE medication_request_id = %s", mr_id)


def _prescribed(world: World, pg: psycopg.Connection, d: Any = METFORMIN, qty: int = 60) -> tuple[Any, dict, str]:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mr = world.prescribe(clinic, patient, d, qty)
    return clinic, mr, world.code_of(pg, mr["id"])


def test_wrong_code_is_refused(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    wrong = "1111" if code != "1111" else "2222"
    for bad in (wrong, None):
        answer = world.dispense(pharmacy, mr, METFORMIN, bad)
        assert error_of(answer) == (403, "forbidden", "Incorrect code")
    lookup = httpx.get(
        world.api.base_url.join(f"/api/pharmacy/medication_requests/{mr['request_number']}"),
        params={"code": wrong},
        headers=pharmacy.pharmacist.headers,
    )
    assert error_of(lookup) == (403, "forbidden", "Incorrect code")
    assert _md_count(pg, mr["id"]) == 0


def test_outside_the_dispense_period(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    pg.execute("UPDATE medication_requests SET dispense_valid_from = current_date + 2 WHERE id = %s", [mr["id"]])
    answer = world.dispense(pharmacy, mr, METFORMIN, code)
    assert error_of(answer) == (409, "request_conflict", "Invalid dispense period")
    assert _md_count(pg, mr["id"]) == 0


def test_pharmacy_without_a_contract(world: World, pg: psycopg.Connection) -> None:
    _, mr, code = _prescribed(world, pg)
    none = world.pharmacy(contracts=())
    answer = world.dispense(none, mr, METFORMIN, code)
    assert error_of(answer) == (409, "request_conflict", "Program cannot be used - no active contract exists")

    suspended = world.pharmacy(contracts=())
    contract = world.contract(suspended.legal_entity_id, suspended.division_id, AFFORDABLE)
    world.api.patch(f"/admin/contracts/reimbursement/{contract['id']}", json={"is_suspended": True})
    assert error_of(world.dispense(suspended, mr, METFORMIN, code))[2] == "Contract is suspended"

    elsewhere = world.pharmacy(contracts=())
    other_division = world.api.post(
        "/admin/divisions",
        json={"legal_entity_id": elsewhere.legal_entity_id, "name": "Аптека №2", "type": "DRUGSTORE"},
    ).json()["data"]
    world.contract(elsewhere.legal_entity_id, other_division["id"], AFFORDABLE)
    outside = world.dispense(elsewhere, mr, METFORMIN, code)
    assert error_of(outside)[2] == "Division should be participant of a contract to create dispense"
    assert _md_count(pg, mr["id"]) == 0


def test_discount_must_match_the_reimbursement(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg, GLICLAZIDE, 60)  # co-payment: price 98.40, reimbursement 77.10 per 30
    allowed = round(GLICLAZIDE.reimbursement * 60 / GLICLAZIDE.package_qty, 2)
    for discount in (round(allowed + 0.02, 2), round(allowed * 0.85, 2)):  # above it; more than 10 % below it
        answer = world.dispense(pharmacy, mr, GLICLAZIDE, code, detail={"discount_amount": discount})
        assert error_of(answer)[:2] == (422, "validation_failed")
        assert invalid_of(answer) == [("$.medication_dispense.dispense_details[0].discount_amount", DISCOUNT_MISMATCH)]
    within = world.dispense(pharmacy, mr, GLICLAZIDE, code, detail={"discount_amount": round(allowed + 0.01, 2)})
    assert within.status_code == 201, within.text
    assert within.json()["data"]["details"][0]["reimbursement_amount"] == GLICLAZIDE.reimbursement
    assert _md_count(pg, mr["id"]) == 1


def test_two_concurrent_dispenses_exactly_one_wins(world: World, pg: psycopg.Connection) -> None:
    first, second = world.pharmacy(), world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    bodies = [(p, world.dispense_body(p, mr, METFORMIN)) for p in (first, second, first, second)]
    barrier = threading.Barrier(len(bodies))
    results: list[httpx.Response] = []

    def go(pharmacy: Any, body: dict) -> None:
        barrier.wait()
        results.append(
            httpx.post(
                world.api.base_url.join("/api/pharmacy/medication_dispenses"),
                params={"code": code},
                json=body,
                headers=pharmacy.pharmacist.headers,
                timeout=30,
            )
        )

    threads = [threading.Thread(target=go, args=pb) for pb in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 403, 403, 403], [r.text for r in results]
    losers = [error_of(r) for r in results if r.status_code == 403]
    assert set(losers) == {(403, "forbidden", "Active medication dispense already exists")}
    assert _md_count(pg, mr["id"]) == 1


def test_process_checks_the_pharmacist_and_the_content(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    md = world.dispense(pharmacy, mr, METFORMIN, code).json()["data"]
    ph = pharmacy.pharmacist
    other = world.employee(
        pharmacy.legal_entity_id, pharmacy.division_id, employee_type="PHARMACIST", speciality="PHARMACIST"
    )
    wrong_drfo = world.process(pharmacy, md, signer=Person(**{**vars(ph), "cert": other.cert}))
    assert invalid_of(wrong_drfo) == [("$.signed_medication_dispense", DRFO_MISMATCH)]
    _, _, renamed = world.pki.issue(tax_id=ph.tax_id, name="Іншаприкладна Олена Петрівна", ocsp_url=OCSP_URL)
    wrong_name = world.process(pharmacy, md, signer=Person(**{**vars(ph), "cert": renamed}))
    assert invalid_of(wrong_name) == [("$.signed_medication_dispense", LAST_NAME_MISMATCH)]
    tampered = md | {"details": [md["details"][0] | {"discount_amount": 0}]}
    changed = world.process(pharmacy, tampered)
    assert invalid_of(changed) == [("$.signed_medication_dispense", CONTENT_MISMATCH)]
    assert pg.execute("SELECT status FROM medication_dispenses WHERE id = %s", [md["id"]]).fetchone() == ("NEW",)
    assert pg.execute("SELECT status FROM medication_requests WHERE id = %s", [mr["id"]]).fetchone() == ("ACTIVE",)
    assert count(pg, "SELECT count(*) FROM signed_contents WHERE entity_id = %s", md["id"]) == 0


def test_reject_and_expiry_of_a_dispense(world: World, pg: psycopg.Connection, db_url: str, settings: Settings) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    md = world.dispense(pharmacy, mr, METFORMIN, code).json()["data"]
    url = world.api.base_url.join(f"/api/pharmacy/medication_dispenses/{md['id']}/actions/reject")
    rejected = httpx.patch(url, headers=pharmacy.pharmacist.headers)
    assert rejected.status_code == 200 and rejected.json()["data"]["status"] == "REJECTED"
    late = world.process(pharmacy, md)
    assert error_of(late) == (
        409,
        "request_conflict",
        "Can't update medication dispense status from REJECTED to PROCESSED",
    )

    # A new dispense is possible once the first is rejected; left unprocessed for 11 minutes, it expires.
    md2 = world.dispense(pharmacy, mr, METFORMIN, code).json()["data"]
    pg.execute("UPDATE medication_dispenses SET inserted_at = now() - interval '11 minutes' WHERE id = %s", [md2["id"]])
    expired = world.process(pharmacy, md2)
    assert error_of(expired) == (
        409,
        "request_conflict",
        "Can't update medication dispense status from EXPIRED to PROCESSED",
    )

    async def run_job() -> int:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return await dispenses.expire(conn, settings)
        finally:
            await engine.dispose()

    assert asyncio.run(run_job()) >= 1
    assert pg.execute("SELECT status FROM medication_dispenses WHERE id = %s", [md2["id"]]).fetchone() == ("EXPIRED",)
    assert pg.execute("SELECT status FROM medication_requests WHERE id = %s", [mr["id"]]).fetchone() == ("ACTIVE",)


def test_quantity_must_match_unless_partial_dispensing(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    short = world.dispense(pharmacy, mr, METFORMIN, code, detail={"medication_qty": 30})
    assert error_of(short)[:2] == (422, "validation_failed")
    odd = world.dispense(pharmacy, mr, METFORMIN, code, detail={"medication_qty": 55})
    assert error_of(odd)[:2] == (422, "validation_failed")
    assert _md_count(pg, mr["id"]) == 0

    # Insulins allow partial dispensing: 10 cartridges in two visits.
    clinic, patient = world.clinic(), world.patient()
    insulin = world.prescribe(clinic, patient, GLARGINE, 10)
    insulin_code = world.code_of(pg, insulin["id"])
    assert insulin["medical_program"]["name"] == INSULIN
    for visit, expected in ((1, "ACTIVE"), (2, "COMPLETED")):
        md = world.dispense(pharmacy, insulin, GLARGINE, insulin_code, qty=5)
        assert md.status_code == 201, (visit, md.text)
        assert world.process(pharmacy, md.json()["data"]).status_code == 200
        status = pg.execute("SELECT status FROM medication_requests WHERE id = %s", [insulin["id"]]).fetchone()[0]
        assert status == expected
    extra = world.dispense(pharmacy, insulin, GLARGINE, insulin_code, qty=1)
    assert error_of(extra) == (409, "request_conflict", "Medication request is not active")


def test_dispense_days_are_kyiv_days(world: World, pg: psycopg.Connection) -> None:
    pharmacy = world.pharmacy()
    _, mr, code = _prescribed(world, pg)
    future = world.dispense(pharmacy, mr, METFORMIN, code, dispensed_at=(today() + timedelta(days=1)).isoformat())
    assert invalid_of(future) == [("$.medication_dispense.dispensed_at", "Dispensed date can not be in the future")]


def test_programme_without_dispense_signature_processes_on_create(world: World, pg: psycopg.Connection) -> None:
    """`skip_medication_dispense_sign`: the dispense is processed at once, no КЕП; built through the admin API."""
    api, suffix = world.api, uuid.uuid4().hex[:8]
    dose = {"numerator_unit": "MG", "numerator_value": 100, "denumerator_unit": "TABLET", "denumerator_value": 1}
    innm = api.post("/admin/innms", json={"name": f"Безпідписін {suffix}", "name_original": f"Nosignin {suffix}"})
    dosage = api.post(
        "/admin/innm_dosages",
        json={
            "name": f"Безпідписін {suffix} 100 мг",
            "form": "TABLET",
            "ingredients": [{"id": innm.json()["data"]["id"], "dosage": dose, "is_primary": True}],
        },
    ).json()["data"]
    brand = api.post(
        "/admin/medications",
        json={
            "name": f"Безпідписін-Бренд {suffix}",
            "form": "TABLET",
            "container": dose,
            "manufacturer": {"name": "Тест", "country": "UA"},
            "package_qty": 10,
            "package_min_qty": 10,
            "ingredients": [{"id": dosage["id"], "dosage": dose, "is_primary": True}],
        },
    ).json()["data"]
    settings = {
        "skip_medication_dispense_sign": True,
        "skip_contract_provision_verify": True,
        "skip_medication_request_legal_entity_declaration_verify": True,
    }
    program = api.post(
        "/admin/medical_programs",
        json={
            "name": f"Без підпису {suffix}",
            "funding_source": "NHS",
            "mr_blank_type": "F-1",
            "medical_program_settings": settings,
        },
    ).json()["data"]
    pm = api.post(
        "/admin/program_medications",
        json={
            "medical_program_id": program["id"],
            "medication_id": brand["id"],
            "reimbursement": {"type": "FIXED", "reimbursement_amount": 20},
        },
    ).json()["data"]
    custom = Drug(
        brand["name"],
        program["name"],
        {"package_qty": "10", "package_min_qty": "10", "consumer_price": "25", "reimbursement_amount": "20"},
    )
    clinic, patient, pharmacy = world.clinic(), world.patient(), world.pharmacy(contracts=())
    body = world.request_body(
        clinic, patient, METFORMIN, 10, medication_id=dosage["id"], medical_program_id=program["id"]
    )
    mrr = httpx.post(
        world.api.base_url.join("/api/medication_request_requests"), json=body, headers=clinic.doctor.headers
    )
    assert mrr.status_code == 201, mrr.text
    mr = world.sign_request(clinic, mrr.json()["data"]).json()["data"]
    detail = {"medication_id": brand["id"], "program_medication_id": pm["id"]}
    md = world.dispense(pharmacy, mr, custom, world.code_of(pg, mr["id"]), detail=detail)
    assert md.status_code == 201, md.text
    assert md.json()["data"]["status"] == "PROCESSED"
    assert pg.execute("SELECT status FROM medication_requests WHERE id = %s", [mr["id"]]).fetchone() == ("COMPLETED",)
