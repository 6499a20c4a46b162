"""Approvals: the patient's SMS code opens their records to a doctor for a limited time; each bad input refused."""

import asyncio
import re
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from me_world import RESOURCES, Clinic, Patient, World, count, ref

from esoz.approvals import service
from esoz.core.db import make_engine


def body_for(clinic: Clinic, person: Patient, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient": ref("patient", person.id),
        "granted_to": ref("employee", clinic.doctor.id),
        "access_level": "read",
    }
    return body | overrides


def create(api: httpx.Client, clinic: Clinic, person: Patient, **overrides: Any) -> httpx.Response:
    return api.post(
        f"/api/patients/{person.id}/approvals", json=body_for(clinic, person, **overrides), headers=clinic.headers
    )


def code_from(world: World, patient: Patient, seen: int = 0) -> int:
    """The code of the newest approval SMS to the patient, once more than `seen` of them arrived."""
    deadline_sms: list[dict[str, Any]] = []

    def arrived() -> list[dict[str, Any]]:
        deadline_sms[:] = [m for m in world.sms_to(patient.phone) if "медичних записів" in (m.get("text") or "")]
        return deadline_sms if len(deadline_sms) > seen else []

    from me_world import poll

    messages = poll(arrived)
    texts = sorted(messages, key=lambda m: m.get("created_at") or m.get("inserted_at") or "")
    match = re.search(r"Код (\d{4})", texts[-1]["text"])
    assert match, texts[-1]
    return int(match.group(1))


def url(patient: Patient, approval_id: str, action: str = "") -> str:
    return f"/api/patients/{patient.id}/approvals/{approval_id}" + (f"/actions/{action}" if action else "")


def active(db_url: str, **kwargs: Any) -> service.ApprovalRecord | None:
    async def ask() -> service.ApprovalRecord | None:
        engine = make_engine(db_url, 1)
        try:
            async with engine.connect() as conn:
                return await service.active_approval(conn, **kwargs)
        finally:
            await engine.dispose()

    return asyncio.run(ask())


def test_the_patients_code_opens_the_record_once(
    api: httpx.Client, world: World, db_url: str, pg: psycopg.Connection
) -> None:
    clinic, patient = world.clinic(), world.patient()
    answer = create(api, clinic, patient)
    assert answer.status_code == 201, answer.text
    approval = answer.json()["data"]
    assert approval["is_verified"] is False and approval["status"] == "new"
    assert approval["granted_to"]["identifier"]["value"] == clinic.doctor.id
    assert approval["granted_resources"][0]["identifier"]["type"]["coding"][0]["code"] == "patient"
    assert approval["authentication_method_current"]["type"] == "OTP"
    assert "*" in approval["authentication_method_current"]["number"]
    person, doctor = uuid.UUID(patient.id), uuid.UUID(clinic.doctor.id)
    assert active(db_url, person_id=person, granted_to_employee_id=doctor) is None  # not before the code

    code = code_from(world, patient)
    wrong = 1000 + (code - 1000 + 1) % 9000
    refused = api.patch(url(patient, approval["id"]), json={"code": wrong}, headers=clinic.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["invalid"][0]["entry"] == "$.code"

    verified = api.patch(url(patient, approval["id"]), json={"code": code}, headers=clinic.headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["data"]["is_verified"] is True and verified.json()["data"]["status"] == "active"

    record = active(db_url, person_id=person, granted_to_employee_id=doctor)
    assert record is not None and record.id == uuid.UUID(approval["id"]) and record.whole_record
    # a whole-record approval also covers any episode; another doctor holds nothing
    assert active(db_url, person_id=person, granted_to_employee_id=doctor, episode_id=uuid.uuid4()) is not None
    assert active(db_url, person_id=person, granted_to_employee_id=uuid.uuid4()) is None
    assert active(db_url, person_id=person, granted_to_employee_id=doctor, access_level="write") is None

    # the same code again: the approval is already verified, nothing changes
    reused = api.patch(url(patient, approval["id"]), json={"code": code}, headers=clinic.headers)
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["message"] == service.ALREADY_VERIFIED

    listed = api.get(f"/api/patients/{patient.id}/approvals", headers=clinic.headers)
    assert listed.status_code == 200 and [a["id"] for a in listed.json()["data"]] == [approval["id"]]
    assert listed.headers["cache-control"] == "no-store"
    filtered = api.get(f"/api/patients/{patient.id}/approvals", params={"is_verified": "false"}, headers=clinic.headers)
    assert filtered.json()["data"] == []
    one = api.get(url(patient, approval["id"]), headers=clinic.headers)
    assert one.status_code == 200 and one.json()["data"]["is_verified"] is True

    # the clinic's MIS sees the approval's status changes in its event feed
    statuses = pg.execute(
        "SELECT properties->'status'->>'new_value' FROM events WHERE entity_type = 'Approval' AND entity_id = %s"
        " ORDER BY event_time",
        (approval["id"],),
    ).fetchall()
    assert [s for (s,) in statuses] == ["new", "active"]


def test_an_episode_approval_opens_that_episode_only(api: httpx.Client, world: World, db_url: str) -> None:
    clinic, patient = world.clinic(), world.patient()
    episode = uuid.uuid4()
    answer = create(api, clinic, patient, patient=None, resources=[ref("episode_of_care", episode)])
    assert answer.status_code == 201, answer.text
    approval = answer.json()["data"]
    code = code_from(world, patient)
    assert api.patch(url(patient, approval["id"]), json={"code": code}, headers=clinic.headers).status_code == 200
    person, doctor = uuid.UUID(patient.id), uuid.UUID(clinic.doctor.id)
    assert active(db_url, person_id=person, granted_to_employee_id=doctor, episode_id=episode) is not None
    assert active(db_url, person_id=person, granted_to_employee_id=doctor, episode_id=uuid.uuid4()) is None
    assert active(db_url, person_id=person, granted_to_employee_id=doctor) is None  # not the whole record
    by_episode = api.get(
        f"/api/patients/{patient.id}/approvals", params={"granted_resources": str(episode)}, headers=clinic.headers
    )
    assert [a["id"] for a in by_episode.json()["data"]] == [approval["id"]]


def test_a_legal_entity_approval_opens_the_record_to_its_staff(api: httpx.Client, world: World, db_url: str) -> None:
    clinic, patient = world.clinic(), world.patient()
    answer = create(api, clinic, patient, granted_to=ref("legal_entity", clinic.legal_entity_id))
    assert answer.status_code == 201, answer.text
    approval_id = answer.json()["data"]["id"]
    code = code_from(world, patient)
    assert api.patch(url(patient, approval_id), json={"code": code}, headers=clinic.headers).status_code == 200
    record = active(
        db_url,
        person_id=uuid.UUID(patient.id),
        granted_to_employee_id=uuid.uuid4(),
        granted_to_legal_entity_id=uuid.UUID(clinic.legal_entity_id),
    )
    assert record is not None and record.granted_to_type == "legal_entity"


def test_an_expired_code_is_refused(api: httpx.Client, world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    approval_id = create(api, clinic, patient).json()["data"]["id"]
    code = code_from(world, patient)
    pg.execute("UPDATE approvals SET code_expires_at = now() - interval '1 second' WHERE id = %s", (approval_id,))
    pg.commit()
    answer = api.patch(url(patient, approval_id), json={"code": code}, headers=clinic.headers)
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["message"] == service.CODE_EXPIRED
    assert count(pg, "SELECT count(*) FROM approvals WHERE id = %s AND is_verified", approval_id) == 0

    # a resend gives a new code; the old one no longer works, the new one does
    resent = api.patch(url(patient, approval_id, "resend"), headers=clinic.headers)
    assert resent.status_code == 201, resent.text
    new_code = code_from(world, patient, seen=1)
    if new_code != code:
        stale = api.patch(url(patient, approval_id), json={"code": code}, headers=clinic.headers)
        assert stale.status_code == 422, stale.text
    assert api.patch(url(patient, approval_id), json={"code": new_code}, headers=clinic.headers).status_code == 200


def test_an_expired_approval_opens_nothing(
    api: httpx.Client, world: World, pg: psycopg.Connection, db_url: str
) -> None:
    clinic, patient = world.clinic(), world.patient()
    approval_id = create(api, clinic, patient).json()["data"]["id"]
    code = code_from(world, patient)
    assert api.patch(url(patient, approval_id), json={"code": code}, headers=clinic.headers).status_code == 200
    pg.execute("UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = %s", (approval_id,))
    pg.commit()
    person, doctor = uuid.UUID(patient.id), uuid.UUID(clinic.doctor.id)
    assert active(db_url, person_id=person, granted_to_employee_id=doctor) is None
    details = api.get(url(patient, approval_id), headers=clinic.headers).json()["data"]
    assert details["status"] == "expired"
    expired = api.get(f"/api/patients/{patient.id}/approvals", params={"is_expired": "true"}, headers=clinic.headers)
    assert [a["id"] for a in expired.json()["data"]] == [approval_id]


def test_wrong_codes_burn_the_code(api: httpx.Client, world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    approval_id = create(api, clinic, patient).json()["data"]["id"]
    code = code_from(world, patient)
    wrong = 1000 + (code - 1000 + 1) % 9000
    messages = []
    for _ in range(3):  # ESOZ_APPROVAL_CODE_MAX_ATTEMPTS
        answer = api.patch(url(patient, approval_id), json={"code": wrong}, headers=clinic.headers)
        assert answer.status_code == 422, answer.text
        messages.append(answer.json()["error"]["invalid"][0]["rules"][0]["description"])
    assert messages == [service.WRONG_CODE, service.WRONG_CODE, service.ATTEMPTS_EXCEEDED]
    # the right code no longer works: the wrong ones were counted and committed
    late = api.patch(url(patient, approval_id), json={"code": code}, headers=clinic.headers)
    assert late.status_code == 409, late.text
    assert late.json()["error"]["message"] == service.NO_CODE
    assert count(pg, "SELECT count(*) FROM approvals WHERE id = %s AND is_verified", approval_id) == 0
    assert count(pg, "SELECT count(*) FROM audit_log WHERE action = 'approval.code_incorrect' AND person_id = %s",
                 patient.id) == 3  # fmt: skip


def test_unknown_patient_or_employee_writes_nothing(api: httpx.Client, world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    nobody = Patient(str(uuid.uuid4()), patient.phone)
    answer = create(api, clinic, nobody)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["type"] == "not_found"

    unknown = create(api, clinic, patient, granted_to=ref("employee", uuid.uuid4()))
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["error"]["invalid"][0]["entry"] == "$.granted_to.identifier.value"

    other = world.clinic()  # a doctor of another clinic cannot be granted by this one
    foreign = create(api, clinic, patient, granted_to=ref("employee", other.doctor.id))
    assert foreign.status_code == 422, foreign.text

    for bad in (
        {"resources": [ref("episode_of_care", uuid.uuid4())]},  # both resources and patient
        {"patient": None},  # neither
        {"patient": ref("patient", uuid.uuid4())},  # another patient
        {"patient": None, "resources": [ref("diagnostic_report", uuid.uuid4())]},
        {"service_request": ref("service_request", uuid.uuid4())},
        {"access_level": "admin"},
        {"authorize_with": str(uuid.uuid4())},
    ):
        refused = create(api, clinic, patient, **bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["type"] == "validation_failed"
    assert count(pg, "SELECT count(*) FROM approvals WHERE person_id = %s", patient.id) == 0
    assert world.sms_to(patient.phone) == []


def test_only_the_holder_verifies_and_cancels(
    api: httpx.Client, world: World, pg: psycopg.Connection, db_url: str
) -> None:
    clinic, other, patient = world.clinic(), world.clinic(), world.patient()
    approval_id = create(api, clinic, patient).json()["data"]["id"]
    code = code_from(world, patient)

    stolen = api.patch(url(patient, approval_id), json={"code": code}, headers=other.headers)
    assert stolen.status_code == 403, stolen.text
    assert api.patch(url(patient, approval_id), json={"code": code}, headers=clinic.headers).status_code == 200

    refused = api.patch(url(patient, approval_id, "cancel"), headers=other.headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["type"] == "forbidden"
    assert api.get(url(patient, approval_id), headers=other.headers).status_code == 404
    assert api.get(f"/api/patients/{patient.id}/approvals", headers=other.headers).json()["data"] == []
    assert count(pg, "SELECT count(*) FROM approvals WHERE id = %s AND status = 'active'", approval_id) == 1

    cancelled = api.patch(url(patient, approval_id, "cancel"), headers=clinic.headers)
    assert cancelled.status_code == 201, cancelled.text
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert active(db_url, person_id=uuid.UUID(patient.id), granted_to_employee_id=uuid.UUID(clinic.doctor.id)) is None
    again = api.patch(url(patient, approval_id, "cancel"), headers=clinic.headers)
    assert again.status_code == 409, again.text
    after = api.patch(url(patient, approval_id, "resend"), headers=clinic.headers)
    assert after.status_code == 409, after.text


def test_resends_are_limited(api: httpx.Client, world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    approval_id = create(api, clinic, patient).json()["data"]["id"]
    statuses = [api.patch(url(patient, approval_id, "resend"), headers=clinic.headers).status_code for _ in range(5)]
    assert statuses == [201, 201, 201, 201, 429]  # ESOZ_APPROVAL_CODE_MAX_SENDS = 5, create included


@pytest.mark.parametrize("path", ["", "/actions/resend", "/actions/cancel"])
def test_unknown_approval_is_404(api: httpx.Client, world: World, path: str) -> None:
    clinic, patient = world.clinic(), world.patient()
    target = f"/api/patients/{patient.id}/approvals/{uuid.uuid4()}{path}"
    answer = api.patch(target, json={"code": 1234}, headers=clinic.headers)
    assert answer.status_code == 404, answer.text


def test_the_sms_is_ukrainian_and_names_the_doctor(api: httpx.Client, world: World) -> None:
    clinic, patient = world.clinic(), world.patient()
    assert create(api, clinic, patient).status_code == 201
    text = world.wait_sms(patient.phone, "медичних записів")["text"]
    assert text.startswith("Код ") and "лікар" in text
    assert RESOURCES  # the references above use the contract's eHealth/resources system


def test_the_declaration_clinic_sees_and_cancels_every_approval(
    api: httpx.Client, world: World, pg: psycopg.Connection
) -> None:
    family, specialist, patient = world.clinic(), world.clinic(), world.patient()
    declaration = uuid.uuid4()
    pg.execute(
        "INSERT INTO declarations (id, person_id, declaration_number, employee_id, division_id, legal_entity_id,"
        " start_date, end_date, signed_at, status) VALUES (%s, %s, %s, %s, %s, %s, current_date,"
        " current_date + 365, now(), 'active')",
        (declaration, patient.id, f"D-{declaration.hex[:8]}", family.doctor.id, family.division_id,
         family.legal_entity_id),
    )  # fmt: skip
    pg.commit()
    approval_id = create(api, specialist, patient).json()["data"]["id"]
    listed = api.get(f"/api/patients/{patient.id}/approvals", headers=family.headers)
    assert [a["id"] for a in listed.json()["data"]] == [approval_id]
    assert api.get(url(patient, approval_id), headers=family.headers).status_code == 200
    # the family doctor's clinic may end it, but not enter the patient's code for another clinic
    assert api.patch(url(patient, approval_id), json={"code": 1234}, headers=family.headers).status_code == 403
    cancelled = api.patch(url(patient, approval_id, "cancel"), headers=family.headers)
    assert cancelled.status_code == 201, cancelled.text
    assert count(pg, "SELECT count(*) FROM audit_log WHERE action = 'approval.cancel' AND person_id = %s",
                 patient.id) == 1  # fmt: skip


def test_concurrent_wrong_codes_are_each_counted(api: httpx.Client, world: World, pg: psycopg.Connection) -> None:
    from concurrent.futures import ThreadPoolExecutor

    clinic, patient = world.clinic(), world.patient()
    approval_id = create(api, clinic, patient).json()["data"]["id"]
    code = code_from(world, patient)
    wrong = 1000 + (code - 1000 + 1) % 9000

    def attempt(_: int) -> int:
        with httpx.Client(base_url=str(api.base_url), timeout=30) as own:
            return own.patch(url(patient, approval_id), json={"code": wrong}, headers=clinic.headers).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [409] * 5 + [422] * 3  # three counted, then the code is gone for the rest
    assert count(pg, "SELECT count(*) FROM approvals WHERE id = %s AND code_hash IS NULL AND code_attempts = 3",
                 approval_id) == 1  # fmt: skip
    assert api.patch(url(patient, approval_id), json={"code": code}, headers=clinic.headers).status_code == 409
