"""Prescribing: medication request requests (create, prequalify, reads, sign, reject, expiry) and their bad inputs."""

import asyncio
import re
from datetime import timedelta

import httpx
import psycopg
import pytest
from rx_world import AFFORDABLE, World, count, drug, error_of, invalid_of, today

from esoz.core.db import make_engine
from esoz.prescriptions import requests
from esoz.prescriptions.requests import SAME_INN, TOO_EARLY
from esoz.settings import Settings
from esoz.signatures.signer_checks import CONTENT_MISMATCH, DRFO_MISMATCH

NUMBER = re.compile(r"^0000-[0-9AEHKMPTX]{4}-[0-9AEHKMPTX]{4}-[0-9AEHKMPTX]{4}$")
METFORMIN = drug("Метформін")
AMOXICILLIN = drug("Амоксил")
MORPHINE = drug("Морфін")


def _mrr_count(pg: psycopg.Connection, person_id: str) -> int:
    return count(pg, "SELECT count(*) FROM medication_request_requests WHERE person_id = %s", person_id)


def _mr_count(pg: psycopg.Connection, person_id: str) -> int:
    return count(pg, "SELECT count(*) FROM medication_requests WHERE person_id = %s", person_id)


def test_create_sign_gives_an_active_prescription_and_an_sms(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    created = world.create_request(clinic, patient, METFORMIN, 120)
    assert created.status_code == 201, created.text
    mrr = created.json()["data"]
    assert mrr["status"] == "NEW" and NUMBER.match(mrr["request_number"])
    assert mrr["medication_info"]["medication_qty"] == 120
    assert mrr["medical_program"]["name"] == AFFORDABLE
    assert mrr["dispense_valid_to"] == (today() + timedelta(days=30)).isoformat()  # reimbursed: 30 days
    urgent = created.json()["urgent"]["authentication_method_current"]
    assert (
        urgent["type"] == "OTP"
        and urgent["phone_number"].endswith(patient.phone[-2:])
        and "*" in urgent["phone_number"]
    )

    listed = httpx.get(
        world.api.base_url.join(f"/api/persons/{patient.id}/medication_request_requests"),
        headers=clinic.doctor.headers,
    ).json()
    assert [r["id"] for r in listed["data"]] == [mrr["id"]] and listed["paging"]["total_entries"] == 1

    signed = world.sign_request(clinic, mrr)
    assert signed.status_code == 200, signed.text
    mr = signed.json()["data"]
    assert mr["status"] == "ACTIVE" and mr["request_number"] == mrr["request_number"]
    code = world.code_of(pg, mr["id"])
    assert re.fullmatch(r"[1-9]{4}", code)
    sms = world.wait_sms(patient.phone, mrr["request_number"])
    assert sms["text"] == f"Ваш рецепт: {mrr['request_number']}. Код підтвердження: {code}"
    assert "verification_code" not in mr
    stored = pg.execute(
        "SELECT signers->0->>'drfo' FROM signed_contents WHERE entity_type = 'medication_request_request'"
        " AND entity_id = %s",
        [mrr["id"]],
    ).fetchall()
    assert stored == [(clinic.doctor.tax_id,)]
    assert pg.execute("SELECT status FROM medication_request_requests WHERE id = %s", [mrr["id"]]).fetchone() == (
        "SIGNED",
    )
    again = world.sign_request(clinic, mrr)
    assert error_of(again) == (
        409,
        "request_conflict",
        "Invalid status Medication request Request for sign transition!",
    )
    assert _mr_count(pg, patient.id) == 1


def test_validity_by_funding_source(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    narcotic = world.create_request(clinic, patient, MORPHINE, 20, ended_at=(today() + timedelta(days=9)).isoformat())
    assert narcotic.status_code == 201, narcotic.text
    assert narcotic.json()["data"]["dispense_valid_to"] == (today() + timedelta(days=10)).isoformat()
    self_paid = world.create_request(
        clinic, patient, AMOXICILLIN, 20, ended_at=(today() + timedelta(days=6)).isoformat()
    )
    assert self_paid.status_code == 201, self_paid.text
    assert self_paid.json()["data"]["dispense_valid_to"] == (today() + timedelta(days=90)).isoformat()


def test_prequalify_tells_which_programmes_fit(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    body = world.request_body(clinic, patient, METFORMIN, 60) | {
        "programs": [{"id": METFORMIN.program_id}, {"id": AMOXICILLIN.program_id}]
    }
    answer = httpx.post(
        world.api.base_url.join("/api/medication_request_requests/prequalify"), json=body, headers=clinic.doctor.headers
    )
    assert answer.status_code == 200, answer.text
    valid, invalid = answer.json()["data"]
    assert valid["status"] == "VALID" and valid["participants"][0]["id"] == METFORMIN.brand_id
    assert invalid["status"] == "INVALID" and invalid["rejection_reason"].startswith("Not found any medications")


def test_sign_by_another_doctor_is_refused(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mrr = world.create_request(clinic, patient, METFORMIN, 60).json()["data"]
    other = world.employee(clinic.legal_entity_id, clinic.division_id)
    by_other = world.sign_request(clinic, mrr, signer=other)
    assert error_of(by_other) == (403, "forbidden", "Only doctor that in Medication request Request can sign it")
    # The right doctor's token, another doctor's certificate: the DRFO does not match.
    other_cert = world.sign_request(clinic, mrr, signer=type(other)(**{**vars(clinic.doctor), "cert": other.cert}))
    assert error_of(other_cert)[:2] == (422, "validation_failed")
    assert invalid_of(other_cert) == [("$.employee_id.drfo", DRFO_MISMATCH)]
    assert _mr_count(pg, patient.id) == 0
    assert count(pg, "SELECT count(*) FROM signed_contents WHERE entity_id = %s", mrr["id"]) == 0
    assert pg.execute("SELECT status FROM medication_request_requests WHERE id = %s", [mrr["id"]]).fetchone() == (
        "NEW",
    )


def test_signed_content_must_equal_the_draft(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mrr = world.create_request(clinic, patient, METFORMIN, 60).json()["data"]
    tampered = mrr | {"medication_info": mrr["medication_info"] | {"medication_qty": 600}}
    answer = world.sign_request(clinic, mrr, content=tampered)
    assert error_of(answer)[:2] == (422, "validation_failed")
    assert invalid_of(answer) == [("$.signed_medication_request_request", CONTENT_MISMATCH)]
    assert _mr_count(pg, patient.id) == 0


def test_signing_after_expiry_is_refused_and_the_job_expires(
    world: World, pg: psycopg.Connection, db_url: str, settings: Settings
) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    mrr = world.create_request(clinic, patient, METFORMIN, 60).json()["data"]
    # 31 minutes ago (moving the clock would expire the tokens too)
    pg.execute(
        "UPDATE medication_request_requests SET inserted_at = now() - interval '31 minutes' WHERE id = %s", [mrr["id"]]
    )
    late = world.sign_request(clinic, mrr)
    assert error_of(late) == (409, "request_conflict", "Invalid status Medication request Request for sign transition!")
    assert _mr_count(pg, patient.id) == 0

    async def run_job() -> int:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return await requests.expire(conn, settings)
        finally:
            await engine.dispose()

    asyncio.run(run_job())
    assert pg.execute(
        "SELECT status, updated_by::text FROM medication_request_requests WHERE id = %s", [mrr["id"]]
    ).fetchone() == (
        "EXPIRED",
        "4261eacf-8008-4e62-899f-de1e2f7065f0",
    )


def test_quantity_must_be_divisible_by_the_package(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    answer = world.create_request(clinic, patient, METFORMIN, 55)  # package_min_qty 10
    assert error_of(answer)[:2] == (422, "validation_failed")
    assert invalid_of(answer) == [
        (
            "$.data.medication_qty",
            "The amount of medications in medication request must be divisible to package minimum quantity",
        )
    ]
    assert _mrr_count(pg, patient.id) == 0


def test_one_prescription_per_inn_in_a_period(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    world.prescribe(clinic, patient, METFORMIN, 60)
    overlapping = world.create_request(clinic, patient, METFORMIN, 60)
    assert error_of(overlapping)[:2] == (422, "validation_failed")
    assert invalid_of(overlapping) == [("$.data.started_at", SAME_INN)]
    # After the running course, but far too early to renew (a 30-day course renews in its last 7 days).
    start = today() + timedelta(days=30)
    early = world.create_request(
        clinic, patient, METFORMIN, 60, started_at=start.isoformat(), ended_at=(start + timedelta(days=29)).isoformat()
    )
    assert invalid_of(early) == [("$.data.created_at", TOO_EARLY)]
    assert _mrr_count(pg, patient.id) == 1


def test_reimbursed_programme_needs_a_declaration(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    answer = world.create_request(clinic, patient, METFORMIN, 60)
    assert invalid_of(answer) == [
        (
            "$.data.employee_id",
            "Only doctors with an active declaration with the patient can create medication request!",
        )
    ]
    assert _mrr_count(pg, patient.id) == 0


@pytest.mark.parametrize(
    ("change", "entry", "message"),
    [
        ({"started_at": -1}, "$.data.started_at", "Started date must be >= Created date!"),
        (
            {"created_at": -4, "started_at": 0},
            "$.data.created_at",
            "Create date must be >= Current date - MRR delay input!",
        ),
        ({"ended_at": -1}, "$.data.ended_at", "Ended date must be >= Started date!"),
    ],
)
def test_dates_are_checked(
    world: World, pg: psycopg.Connection, change: dict[str, int], entry: str, message: str
) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    dates = {k: (today() + timedelta(days=v)).isoformat() for k, v in change.items()}
    answer = world.create_request(clinic, patient, METFORMIN, 60, **dates)
    assert error_of(answer)[:2] == (422, "validation_failed")
    assert invalid_of(answer) == [(entry, message)]
    assert _mrr_count(pg, patient.id) == 0


def test_reject_a_draft(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    mrr = world.create_request(clinic, patient, AMOXICILLIN, 20).json()["data"]
    url = world.api.base_url.join(f"/api/medication_request_requests/{mrr['id']}/actions/reject")
    first = httpx.patch(url, headers=clinic.doctor.headers)
    assert first.status_code == 200 and first.json()["data"]["status"] == "REJECTED"
    second = httpx.patch(url, headers=clinic.doctor.headers)
    assert error_of(second) == (
        409,
        "request_conflict",
        "Invalid status Request for Medication request for reject transition!",
    )


def test_another_clinic_does_not_see_the_draft(world: World) -> None:
    clinic, patient, stranger = world.clinic(), world.patient(), world.clinic()
    mrr = world.create_request(clinic, patient, AMOXICILLIN, 20).json()["data"]
    answer = httpx.get(
        world.api.base_url.join(f"/api/persons/{patient.id}/medication_request_requests/{mrr['id']}"),
        headers=stranger.doctor.headers,
    )
    assert answer.status_code == 404


def test_two_drafts_for_one_inn_only_the_first_signed_counts(world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    world.declare(patient, clinic)
    first = world.create_request(clinic, patient, METFORMIN, 60).json()["data"]
    second = world.create_request(clinic, patient, METFORMIN, 60).json()["data"]  # nothing signed yet: allowed
    assert world.sign_request(clinic, first).status_code == 200
    late = world.sign_request(clinic, second)
    assert error_of(late)[:2] == (422, "validation_failed")
    assert invalid_of(late) == [("$.data.started_at", SAME_INN)]
    assert _mr_count(pg, patient.id) == 1
    status = pg.execute("SELECT status FROM medication_request_requests WHERE id = %s", [second["id"]]).fetchone()
    assert status == ("NEW",)


def test_plan_cannot_be_prequalified(world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    body = world.request_body(clinic, patient, AMOXICILLIN, 20, intent="plan") | {
        "programs": [{"id": AMOXICILLIN.program_id}]
    }
    answer = httpx.post(
        world.api.base_url.join("/api/medication_request_requests/prequalify"), json=body, headers=clinic.doctor.headers
    )
    assert error_of(answer) == (409, "request_conflict", "Plan can't be qualified")
