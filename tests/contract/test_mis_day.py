"""An MIS's day on esoz, through HTTP and the published contract alone, as far as esoz serves it.

A family doctor finds the patient, prescribes and signs; the prescription's SMS reaches the patient through the
stand-in SMS provider; a pharmacist looks the prescription up with the number and the code, qualifies it, dispenses
a brand the answer names and processes it; the doctor refers the patient for a service chosen from the catalogue
under a service programme; another clinic takes the referral, uses it under the programme's entry, starts and
completes it; the doctor submits a sick-leave conclusion and it reaches the stand-in Pension Fund registry.
Only the set-up (clinics, staff, the patient and the declaration) goes through /admin, as НСЗУ and the registries
would have made them.

The day runs on a server of its own (its own database, SMS and ПФУ stand-ins), so that no other server's worker
delivers its SMS or conclusions.
"""

import asyncio
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

TESTS = Path(__file__).resolve().parents[1]
for domain in ("registry", "prescriptions", "referrals", "conclusions"):
    sys.path.insert(0, str(TESTS / domain))

import cworld  # noqa: E402
import me_world as me  # noqa: E402
import rx_world as rx  # noqa: E402
from registry_factories import created, person_body  # noqa: E402

from esoz.conclusions.sim import PfuSim  # noqa: E402
from esoz.core.db import make_engine  # noqa: E402
from esoz.identity.bootstrap import mint_token  # noqa: E402
from esoz.notifications.sim import SmsSim  # noqa: E402
from esoz.services.seed import load_catalogue_into  # noqa: E402
from esoz.settings import Settings  # noqa: E402
from esoz.signatures.devpki import DevPki  # noqa: E402

LABORATORY = "108252007"  # SNOMED: laboratory procedure, the category of a lab test referral
CATEGORY_SYSTEM = "eHealth/SNOMED/service_request_categories"


@dataclass
class Day:
    url: str
    db_url: str
    settings: Settings
    sms: SmsSim
    pfu: PfuSim


def mint(db_url: str, settings: Settings, **kwargs: Any) -> dict[str, str]:
    async def run() -> str:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return (await mint_token(conn, settings, **kwargs)).value
        finally:
            await engine.dispose()

    return {"Authorization": f"Bearer {asyncio.run(run())}"}


@pytest.fixture
def day(settings: Settings, fresh_db_url: str, live_server: type, dev_pki: DevPki) -> Iterator[Day]:
    asyncio.run(load_catalogue_into(fresh_db_url))  # the service catalogue a referral's code points into
    with SmsSim() as sms, PfuSim() as pfu:
        own = settings.model_copy(
            update={
                "database_url": fresh_db_url,
                "sms_provider": "http",
                "sms_http_url": sms.url,
                "pfu_url": pfu.url,
                "pfu_poll_seconds": 0.05,
                "pfu_backoff_base_seconds": 0.05,
                "pfu_backoff_cap_seconds": 0.3,
                "outbox_poll_seconds": 0.1,
            }
        )
        with live_server(own) as live:
            yield Day(live.url, fresh_db_url, own, sms, pfu)


def sms_with(sim: SmsSim, phone: str, text: str) -> dict[str, Any]:
    """The SMS the stand-in provider received for `phone` with `text` in it."""
    found: dict[str, Any] = me.poll(lambda: next((m for m in sim.sent_to(phone) if text in (m["text"] or "")), None))
    return found


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def test_an_mis_day(day: Day, dev_pki: DevPki) -> None:
    nhs = mint(day.db_url, day.settings)
    api = httpx.Client(base_url=day.url, headers=nhs, timeout=30)
    ok(api.post("/admin/prescriptions/demo_catalogue"))
    world = rx.World(api, dev_pki, day.db_url, day.settings)
    clinic, lab, pharmacy = world.clinic(), world.clinic(), world.pharmacy()
    person = person_body()
    patient_id = created(api.post("/admin/persons", json={"person": person}))["id"]
    phone = person["phones"][0]["number"]
    world.declare(rx.Patient(patient_id, phone), clinic)
    doctor, performer = clinic.doctor, lab.doctor
    mis = httpx.Client(base_url=day.url, timeout=30)  # the MIS: the contract's paths, each user's own token

    # A doctor finds the patient by name and birth date, and sees the declaration with them.
    search = {k: person[k] for k in ("first_name", "last_name", "birth_date")}
    [found] = ok(mis.get("/api/persons", params=search, headers=doctor.headers))
    assert (found["id"], found["gender"]) == (patient_id, person["gender"])
    [declaration] = ok(mis.get(f"/api/persons/{patient_id}/declaration", headers=doctor.headers))
    assert declaration["employee"]["id"] == doctor.id

    # ... prescribes and signs; the patient's SMS carries the number and the code.
    medicine = rx.drug("Метформін")
    draft = ok(
        mis.post(
            "/api/medication_request_requests",
            json=world.request_body(clinic, rx.Patient(patient_id, phone), medicine, 60),
            headers=doctor.headers,
        ),
        201,
    )
    signed = {"signed_medication_request_request": rx.sign(draft, doctor.cert)}
    prescription = ok(
        mis.patch(f"/api/medication_request_requests/{draft['id']}/actions/sign", json=signed, headers=doctor.headers)
    )
    assert prescription["status"] == "ACTIVE"
    number = prescription["request_number"]
    code = sms_with(day.sms, phone, number)["text"].rsplit(" ", 1)[1]

    # A pharmacist looks it up with the number and the code, dispenses and processes it.
    pharmacist = pharmacy.pharmacist
    looked_up = ok(
        mis.get(f"/api/pharmacy/medication_requests/{number}", params={"code": code}, headers=pharmacist.headers)
    )
    assert looked_up["id"] == prescription["id"]
    # step: qualify — which programmes it can be dispensed under, and as which brands
    qualify = {"division_id": pharmacy.division_id, "programs": [{"id": prescription["medical_program"]["id"]}]}
    [qualified] = ok(
        mis.post(
            f"/api/medication_requests/{prescription['id']}/actions/qualify", json=qualify, headers=pharmacist.headers
        )
    )
    assert qualified["status"] == "VALID", qualified
    brands = {(p["id"], p["medication_id"]) for p in qualified["participants"]}
    assert (medicine.program_medication_id, medicine.brand_id) in brands
    dispense = ok(
        mis.post(
            "/api/pharmacy/medication_dispenses",
            params={"code": code},
            json=world.dispense_body(pharmacy, prescription, medicine),
            headers=pharmacist.headers,
        ),
        201,
    )
    paid = dispense | {"payment_id": "КАСА-1", "payment_amount": 12.5}
    processed = ok(
        mis.patch(
            f"/api/pharmacy/medication_dispenses/{dispense['id']}/actions/process",
            json={"signed_medication_dispense": rx.sign(paid, pharmacist.cert)},
            headers=pharmacist.headers,
        )
    )
    assert processed["status"] == "PROCESSED"
    after = ok(mis.get(f"/api/persons/{patient_id}/medication_requests/{prescription['id']}", headers=doctor.headers))
    assert after["status"] == "COMPLETED"

    # The doctor refers the patient for an HbA1c test under the programme of free diagnostics: the programme, what
    # it covers and the service, all from the catalogue's contract calls.
    [program] = ok(mis.get("/api/medical_programs", params={"type": "SERVICE"}, headers=doctor.headers))
    [group] = ok(mis.get("/api/services", params={"code": "LAB-0005"}))
    service = next(s for g in [group, *(group.get("groups") or [])] for s in g.get("services") or [])
    assert service["code"] == "LAB-0005"
    covered = ok(
        mis.get(
            "/api/program_services",
            params={"medical_program_id": program["id"], "page_size": 100},
            headers=performer.headers,
        )
    )
    entry = next(e for e in covered if e["service_id"] == service["id"])
    referral = {
        "id": str(uuid.uuid4()),
        "status": "active",
        "intent": "order",
        "priority": "routine",
        "category": me.concept(CATEGORY_SYSTEM, LABORATORY),
        "code": me.ref("service", service["id"]),
        "program": me.ref("medical_program", program["id"]),
        "requester_employee": me.ref("employee", doctor.id),
        "requester_legal_entity": me.ref("legal_entity", clinic.legal_entity_id),
        "note": "Контроль глікованого гемоглобіну на метформіні",
    }
    job = ok(
        mis.post(
            f"/api/patients/{patient_id}/service_requests",
            json={"signed_data": me.sign(referral, doctor.cert)},
            headers=doctor.headers,
        ),
        202,
    )
    polled = mis.get(f"/api/jobs/{job['id']}", headers=doctor.headers)
    assert polled.status_code == 303 and polled.headers["location"].endswith(referral["id"])
    requisition = ok(mis.get(f"/api/patients/{patient_id}/service_requests/{referral['id']}", headers=doctor.headers))[
        "requisition"
    ]
    sms_with(day.sms, phone, requisition)

    # The performing clinic finds it by the number the patient brings, uses, starts and completes it.
    [taken] = ok(
        mis.get(
            "/api/service_requests", params={"requisition": requisition, "status": "active"}, headers=performer.headers
        )
    )
    assert taken["id"] == referral["id"]
    use = {
        "used_by_legal_entity": me.ref("legal_entity", lab.legal_entity_id),
        "used_by_employee": me.ref("employee", performer.id),
    }
    # step: programme use — the performer uses it under the programme's entry that pays for the test
    use |= {
        "program": me.ref("medical_program", program["id"]),
        "program_service": me.ref("program_service", entry["id"]),
    }
    actions = f"/api/service_requests/{referral['id']}/actions"
    ok(mis.patch(f"{actions}/use", json=use, headers=performer.headers), 202)
    ok(mis.patch(f"{actions}/process", headers=performer.headers), 202)
    completion = {"completed_with": me.ref("diagnostic_report", uuid.uuid4()),
                  "program_service": me.ref("program_service", entry["id"])}  # fmt: skip
    ok(mis.patch(f"{actions}/complete", json=completion, headers=performer.headers), 202)
    done = ok(mis.get(f"/api/patients/{patient_id}/service_requests/{referral['id']}", headers=doctor.headers))
    assert done["status"] == "completed"
    assert done["program_service"]["identifier"]["value"] == entry["id"]

    # The doctor submits a sick-leave conclusion; it reaches the Pension Fund registry.
    author = me.Clinic(clinic.legal_entity_id, clinic.division_id, me.Doctor(doctor.id, doctor.tax_id, doctor.cert),
                       doctor.headers)  # fmt: skip
    sick = me.Patient(patient_id, phone)
    start = cworld.today()
    conclusion = cworld.final(mis, author, sick, start, start + timedelta(days=4))
    registered = me.poll(lambda: day.pfu.record(conclusion))
    assert registered["status"] == "OPEN" and registered["period"]["days"] == 5
    title = ok(mis.get(f"/api/patients/{patient_id}/compositions/{conclusion}", headers=doctor.headers))["title"]
    sms_with(day.sms, phone, title)
