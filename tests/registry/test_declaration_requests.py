"""Declaration requests v3: create (the contract's checks), the patient's SMS code, the doctor's КЕП, the
limit under concurrency, and the declaration the signed request becomes."""

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from registry_factories import created, employee_body, legal_entity_body
from request_world import Clinic, Doctor, World, code_from, make_world, sign

from esoz.core.db import make_engine
from esoz.registry import declaration_requests
from esoz.signatures.devpki import DevPki

CODE_SMS = "Код підтвердження декларації"


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return make_world(api, dev_pki, headers_for)


def request_declaration(
    client: httpx.Client, clinic: Clinic, person_id: str, doctor: Doctor | None = None
) -> httpx.Response:
    body = {"person_id": person_id, "employee_id": (doctor or clinic.doctor).id, "division_id": clinic.division_id}
    return client.post("/api/v3/declaration_requests", json=body, headers=clinic.headers)


def approve(client: httpx.Client, clinic: Clinic, id_: str, code: Any) -> httpx.Response:
    return client.patch(
        f"/api/v3/declaration_requests/{id_}/actions/approve", json={"verification_code": code}, headers=clinic.headers
    )


def sign_request(client: httpx.Client, clinic: Clinic, id_: str, content: Any, doctor: Doctor) -> httpx.Response:
    return client.patch(
        f"/api/v3/declaration_requests/{id_}/actions/sign",
        json={"signed_declaration_request": sign(content, doctor.cert)},
        headers=clinic.headers,
    )


def approved(world: World, client: httpx.Client, clinic: Clinic, person_id: str, phone: str) -> dict[str, Any]:
    response = request_declaration(client, clinic, person_id)
    assert response.status_code == 201, response.text
    req = response.json()["data"]
    answer = approve(client, clinic, req["id"], code_from(world, phone, CODE_SMS))
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    return [(i["entry"], r["description"]) for i in response.json()["error"].get("invalid", []) for r in i["rules"]]


def test_request_approve_sign_makes_the_declaration(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    response = request_declaration(client, clinic, patient.id)
    assert response.status_code == 201, response.text
    req = response.json()["data"]
    assert req["status"] == "NEW" and req["current_declaration_count"] == 0
    assert req["system_declaration_limit"] == 1800
    assert response.json()["urgent"]["authentication_method_current"]["type"] == "OTP"
    assert "*" in response.json()["urgent"]["authentication_method_current"]["number"]
    code = code_from(world, patient.phone, CODE_SMS)

    wrong = approve(client, clinic, req["id"], "0" if code != "0" * len(code) else "1")
    assert wrong.status_code == 422 and errors(wrong)[0][0] == "$.verification_code"
    assert pg.execute("SELECT otp_attempts FROM declaration_requests WHERE id = %s", [req["id"]]).fetchone() == (1,)

    answer = approve(client, clinic, req["id"], code)
    assert answer.status_code == 201, answer.text
    data = answer.json()["data"]
    assert data["status"] == "APPROVED"
    to_sign = data["data_to_be_signed"]
    assert to_sign["declaration_number"] == req["declaration_number"]
    assert "ДЕКЛАРАЦІЯ" in to_sign["content"] and "Пацієнт:" in to_sign["content"]
    reused = approve(client, clinic, req["id"], code)
    assert reused.status_code == 409

    other = world.doctor(clinic.legal_entity_id, clinic.division_id)
    by_other = sign_request(client, clinic, req["id"], to_sign, other)
    assert by_other.status_code == 422, by_other.text
    changed = sign_request(client, clinic, req["id"], to_sign | {"end_date": "2099-01-01"}, clinic.doctor)
    assert changed.status_code == 422, changed.text
    assert pg.execute("SELECT count(*) FROM declarations WHERE person_id = %s", [patient.id]).fetchone() == (0,)

    signed = sign_request(client, clinic, req["id"], to_sign, clinic.doctor)
    assert signed.status_code == 200, signed.text
    declaration = signed.json()["data"]
    assert declaration["status"] == "active" and declaration["id"] == req["declaration_id"]
    assert declaration["declaration_request_id"] == req["id"]
    row = pg.execute(
        "SELECT declaration_number, status FROM declarations WHERE id = %s", [declaration["id"]]
    ).fetchone()
    assert row == (req["declaration_number"], "active")
    world.wait_sms(patient.phone, req["declaration_number"])
    again = sign_request(client, clinic, req["id"], to_sign, clinic.doctor)
    assert again.status_code == 422  # SIGNED: incorrect status
    events = pg.execute(
        "SELECT properties->'status'->>'new_value' FROM events WHERE entity_id = %s ORDER BY event_time, id",
        [req["id"]],
    ).fetchall()
    assert [s for (s,) in events] == ["NEW", "APPROVED", "SIGNED"]


def test_expired_code_and_exhausted_attempts(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    req = request_declaration(client, clinic, patient.id).json()["data"]
    code = code_from(world, patient.phone, CODE_SMS)
    pg.execute(
        "UPDATE declaration_requests SET otp_expires_at = now() - interval '1 second' WHERE id = %s", [req["id"]]
    )
    expired = approve(client, clinic, req["id"], code)
    assert expired.status_code == 422 and "expired" in expired.json()["error"]["message"]

    req = request_declaration(client, clinic, world.patient().id).json()["data"]
    for _ in range(3):
        assert approve(client, clinic, req["id"], "x").status_code == 422
    row = pg.execute("SELECT otp_attempts, status FROM declaration_requests WHERE id = %s", [req["id"]]).fetchone()
    assert row == (3, "NEW")


def test_pediatrician_for_an_adult_is_refused(world: World, client: httpx.Client) -> None:
    clinic = world.clinic()
    body = employee_body(clinic.legal_entity_id, clinic.division_id, speciality="PEDIATRICIAN")
    pediatrician = created(world.api.post("/admin/employees", json=body))
    response = client.post(
        "/api/v3/declaration_requests",
        json={"person_id": world.patient().id, "employee_id": pediatrician["id"], "division_id": clinic.division_id},
        headers=clinic.headers,
    )
    assert response.status_code == 422
    assert ("$.person_id", "Doctor speciality doesn't match patient's age") in errors(response)


def test_deceased_and_unknown_persons_are_refused(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    pg.execute("UPDATE persons SET death_date = current_date WHERE id = %s", [patient.id])
    response = request_declaration(client, clinic, patient.id)
    assert response.status_code == 422 and ("$.person_id", "Person is deceased") in errors(response)
    unknown = request_declaration(client, clinic, str(uuid.uuid4()))
    assert unknown.status_code == 422 and unknown.json()["error"]["message"] == "Person not found"
    assert unknown.json()["error"]["type"] == "unverified"
    assert pg.execute("SELECT count(*) FROM declaration_requests WHERE person_id = %s", [patient.id]).fetchone() == (0,)


def test_full_doctor_is_refused(world: World, client: httpx.Client, pg: psycopg.Connection) -> None:
    clinic = world.clinic()
    body = {"person_id": world.patient().id, "employee_id": clinic.doctor.id, "division_id": clinic.division_id}
    assert world.api.post("/admin/declarations", json=body).status_code == 201
    pg.execute(
        "UPDATE parties SET declaration_limit = 1 FROM employees WHERE employees.party_id = parties.id "
        "AND employees.id = %s",
        [clinic.doctor.id],
    )
    response = request_declaration(client, clinic, world.patient().id)
    assert response.status_code == 422 and "could not sign more" in response.json()["error"]["message"]
    assert response.json()["error"]["type"] == "request_malformed"


def test_two_signings_for_the_last_place_one_wins(
    world: World, client: httpx.Client, pg: psycopg.Connection, server: str
) -> None:
    clinic = world.clinic()
    patients = [world.patient(), world.patient()]
    ready = [approved(world, client, clinic, p.id, p.phone) for p in patients]
    pg.execute(
        "UPDATE parties SET declaration_limit = 1 FROM employees WHERE employees.party_id = parties.id "
        "AND employees.id = %s",
        [clinic.doctor.id],
    )
    results: list[int] = []

    def go(req: dict[str, Any]) -> None:
        with httpx.Client(base_url=server, timeout=30) as c:
            results.append(sign_request(c, clinic, req["id"], req["data_to_be_signed"], clinic.doctor).status_code)

    threads = [threading.Thread(target=go, args=(r,)) for r in ready]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    active = pg.execute(
        "SELECT count(*) FROM declarations WHERE employee_id = %s AND status = 'active'", [clinic.doctor.id]
    ).fetchone()
    assert active == (1,)


def test_reject_and_expiry(world: World, client: httpx.Client, pg: psycopg.Connection, db_url: str) -> None:
    clinic = world.clinic()
    req = request_declaration(client, clinic, world.patient().id).json()["data"]
    rejected = client.patch(f"/api/v3/declaration_requests/{req['id']}/actions/reject", headers=clinic.headers)
    assert rejected.status_code == 201 and rejected.json()["data"]["status"] == "REJECTED"
    assert (
        client.patch(f"/api/v3/declaration_requests/{req['id']}/actions/reject", headers=clinic.headers).status_code
        == 409
    )

    req = request_declaration(client, clinic, world.patient().id).json()["data"]
    pg.execute("UPDATE declaration_requests SET expires_at = now() - interval '1 second' WHERE id = %s", [req["id"]])
    late = approve(client, clinic, req["id"], "123456")
    assert late.status_code == 409 and "expired" in late.text

    async def run_job() -> int:  # the worker's job, run now instead of waiting for its period
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return await declaration_requests.expire(conn)
        finally:
            await engine.dispose()

    asyncio.run(run_job())
    row = pg.execute("SELECT status, status_reason FROM declaration_requests WHERE id = %s", [req["id"]]).fetchone()
    assert row == ("EXPIRED", "expired")


def test_other_legal_entity_cannot_see_the_request(world: World, client: httpx.Client) -> None:
    clinic, other = world.clinic(), world.clinic()
    req = request_declaration(client, clinic, world.patient().id).json()["data"]
    assert client.get(f"/api/v3/declaration_requests/{req['id']}", headers=other.headers).status_code == 404
    mine = client.get(f"/api/v3/declaration_requests/{req['id']}", headers=clinic.headers)
    assert mine.status_code == 200 and mine.json()["data"]["id"] == req["id"]


def signed_declaration(world: World, client: httpx.Client, clinic: Clinic) -> tuple[str, str]:
    patient = world.patient()
    req = approved(world, client, clinic, patient.id, patient.phone)
    signed = sign_request(client, clinic, req["id"], req["data_to_be_signed"], clinic.doctor)
    assert signed.status_code == 200, signed.text
    return patient.id, signed.json()["data"]["id"]


def test_termination_by_the_doctor(world: World, client: httpx.Client) -> None:
    clinic, other = world.clinic(), world.clinic()
    _, declaration_id = signed_declaration(world, client, clinic)
    path = f"/api/declarations/{declaration_id}/actions/terminate"
    body = {"reason_description": "Пацієнт переїхав"}
    assert client.patch(path, json=body, headers=other.headers).status_code == 404
    ended = client.patch(path, json=body, headers=clinic.headers)
    assert ended.status_code == 200, ended.text
    data = ended.json()["data"]
    assert (data["status"], data["reason"], data["reason_description"]) == (
        "terminated",
        "manual_employee",
        body["reason_description"],
    )
    assert client.patch(path, json=body, headers=clinic.headers).status_code == 409
    readable = client.get(f"/api/declarations/{declaration_id}", headers=clinic.headers)
    assert readable.status_code == 200 and readable.json()["data"]["status"] == "terminated"


def test_termination_by_the_patient(
    world: World, client: httpx.Client, headers_for: Callable[..., dict[str, str]]
) -> None:
    clinic = world.clinic()
    person_id, declaration_id = signed_declaration(world, client, clinic)
    portal = created(world.api.post("/admin/legal_entities", json=legal_entity_body("MSP")))  # the portal's client
    cabinet = headers_for(uuid.UUID(portal["id"]), client_type="CABINET", scopes=["declaration:terminate"])
    path = f"/api/cabinet/declarations/{declaration_id}/actions/terminate"
    mis = headers_for(uuid.UUID(clinic.legal_entity_id), scopes=["declaration:terminate"])
    assert client.patch(path, json={"person_id": person_id}, headers=mis).status_code == 403
    someone_else = client.patch(path, json={"person_id": str(uuid.uuid4())}, headers=cabinet)
    assert someone_else.status_code == 404
    ended = client.patch(path, json={"person_id": person_id}, headers=cabinet)
    assert ended.status_code == 200, ended.text
    assert (ended.json()["data"]["status"], ended.json()["data"]["reason"]) == ("terminated", "manual_person")


def test_resend_gives_a_new_code_and_the_old_one_stops(world: World, client: httpx.Client) -> None:
    clinic, patient = world.clinic(), world.patient()
    req = request_declaration(client, clinic, patient.id).json()["data"]
    old = code_from(world, patient.phone, CODE_SMS)
    resent = client.post(f"/api/v3/declaration_requests/{req['id']}/actions/resend_otp", headers=clinic.headers)
    assert resent.status_code == 200 and resent.json()["data"]["active"] is True, resent.text
    new = code_from(world, patient.phone, CODE_SMS, seen=1)
    if new != old:  # a redraw can repeat the code (1 in 10^6); then the old code is the new one
        assert approve(client, clinic, req["id"], old).status_code == 422
    assert approve(client, clinic, req["id"], new).status_code == 201


def test_list_and_get_of_the_legal_entity(world: World, client: httpx.Client) -> None:
    clinic, patient = world.clinic(), world.patient()
    req = approved(world, client, clinic, patient.id, patient.phone)
    listed = client.get("/api/v3/declaration_requests", params={"person_id": patient.id}, headers=clinic.headers)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["data"]] == [req["id"]]
    assert listed.json()["paging"]["total_entries"] == 1
    got = client.get(f"/api/v3/declaration_requests/{req['id']}", headers=clinic.headers).json()["data"]
    assert got["status"] == "APPROVED" and got["data_to_be_signed"] == req["data_to_be_signed"]
    other = world.clinic()
    elsewhere = client.get("/api/v3/declaration_requests", params={"person_id": patient.id}, headers=other.headers)
    assert elsewhere.json()["data"] == []

    def ids(headers: dict[str, str], **params: str) -> list[str]:
        answer = client.get("/api/v3/declaration_requests", params={"person_id": patient.id, **params}, headers=headers)
        assert answer.status_code == 200, answer.text
        return [r["id"] for r in answer.json()["data"]]

    # the contract's legal_entity_id and channel filters, for a clinic's token and for НСЗУ's
    nhs = dict(world.api.headers)
    assert ids(clinic.headers, legal_entity_id=clinic.legal_entity_id) == [req["id"]]
    assert ids(clinic.headers, legal_entity_id=other.legal_entity_id) == []
    assert ids(nhs, legal_entity_id=clinic.legal_entity_id) == [req["id"]]
    assert ids(nhs, legal_entity_id=other.legal_entity_id) == []
    assert ids(clinic.headers, channel="MIS") == [req["id"]]
    assert ids(clinic.headers, channel="CABINET") == []
    bad = client.get("/api/v3/declaration_requests", params={"channel": "FAX"}, headers=clinic.headers)
    assert bad.status_code == 422


def test_a_doctor_full_by_approval_time_keeps_the_code(
    world: World, client: httpx.Client, pg: psycopg.Connection
) -> None:
    clinic, patient = world.clinic(), world.patient()
    req = request_declaration(client, clinic, patient.id).json()["data"]
    code = code_from(world, patient.phone, CODE_SMS)
    body = {"person_id": world.patient().id, "employee_id": clinic.doctor.id, "division_id": clinic.division_id}
    assert world.api.post("/admin/declarations", json=body).status_code == 201
    pg.execute("UPDATE declaration_requests SET system_declaration_limit = 1 WHERE id = %s", [req["id"]])
    full = approve(client, clinic, req["id"], code)
    assert full.status_code == 422 and full.json()["error"]["type"] == "request_malformed", full.text
    row = pg.execute("SELECT status, otp_attempts FROM declaration_requests WHERE id = %s", [req["id"]]).fetchone()
    assert row == ("NEW", 0)
