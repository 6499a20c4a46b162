"""E-referrals over real HTTP: the whole status machine, the 7-day expiry, SMS, and every bad input of the contract."""

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from me_world import Clinic, Patient, World, concept, count, ref, sign

from esoz.core.db import make_engine
from esoz.referrals import service as sr_service
from esoz.services import catalogue

CATEGORY_SYSTEM = "eHealth/SNOMED/service_request_categories"
COUNSELLING = "409063005"


def service_id(code: str) -> str:
    return str(catalogue.load().service(code).id)


def content(clinic: Clinic, *, category: str = COUNSELLING, code: str = "CNS-0001", **extra: Any) -> dict[str, Any]:
    body = {
        "id": str(uuid.uuid4()),
        "status": "active",
        "intent": "order",
        "priority": "routine",
        "category": concept(CATEGORY_SYSTEM, category),
        "code": ref("service", service_id(code)),
        "occurrence_period": {"start": "2026-12-01T09:00:00+02:00", "end": "2026-12-01T10:00:00+02:00"},
        "requester_employee": ref("employee", clinic.doctor.id),
        "requester_legal_entity": ref("legal_entity", clinic.legal_entity_id),
        "note": "Консультація щодо болю в грудях",
        "patient_instruction": "Взяти з собою результати ЕКГ",
    }
    return body | extra


def create(
    client: httpx.Client, clinic: Clinic, patient: Patient, body: dict[str, Any], signer: Any = None
) -> httpx.Response:
    signed = sign(body, signer or clinic.doctor.cert)
    return client.post(
        f"/api/patients/{patient.id}/service_requests", json={"signed_data": signed}, headers=clinic.headers
    )


def get(client: httpx.Client, clinic: Clinic, patient: Patient, sr_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/patients/{patient.id}/service_requests/{sr_id}", headers=clinic.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def signed_change(
    client: httpx.Client, clinic: Clinic, patient: Patient, sr_id: str, action: str, status: str, system: str, code: str
) -> httpx.Response:
    current = get(client, clinic, patient, sr_id)
    body = current | {"status": status, "status_reason": concept(system, code), "explanatory_letter": "Помилка"}
    return client.patch(
        f"/api/patients/{patient.id}/service_requests/{sr_id}/actions/{action}",
        json={"signed_data": sign(body, clinic.doctor.cert)},
        headers=clinic.headers,
    )


def rows_of(pg: psycopg.Connection, patient: Patient) -> int:
    return count(pg, "SELECT count(*) FROM service_requests WHERE person_id = %s", patient.id)


@pytest.fixture
def clinic(world: World) -> Clinic:
    return world.clinic()


@pytest.fixture
def lab(world: World) -> Clinic:
    return world.clinic()


@pytest.fixture
def patient(world: World) -> Patient:
    return world.patient()


def test_referral_passes_its_whole_status_machine(
    client: httpx.Client, world: World, clinic: Clinic, lab: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    body = content(clinic)
    answer = create(client, clinic, patient, body)
    assert answer.status_code == 202, answer.text
    job = answer.json()["data"]
    assert job["status"] == "processed"
    polled = client.get(f"/api/jobs/{job['id']}", headers=clinic.headers)
    assert polled.status_code == 303 and polled.json()["data"]["status"] == "processed"
    assert polled.json()["meta"]["code"] == 303
    href = next(link["href"] for link in polled.json()["data"]["links"] if link["entity"] == "service_request")
    assert href.endswith(body["id"]) and polled.headers["location"] == href
    # another legal entity cannot read the job
    assert client.get(f"/api/jobs/{job['id']}", headers=lab.headers).status_code == 404

    sr = get(client, clinic, patient, body["id"])
    assert sr["status"] == "active" and sr["subject"]["identifier"]["value"] == patient.id
    requisition = sr["requisition"]
    assert len(requisition) == 19 and requisition.count("-") == 3
    world.wait_sms(patient.phone, requisition)

    # the performer finds it by the number the patient presents
    found = client.get("/api/service_requests", params={"requisition": requisition, "status": "active"},
                       headers=lab.headers)  # fmt: skip
    assert found.status_code == 200 and [r["id"] for r in found.json()["data"]] == [body["id"]]

    def act(action: str, json: dict[str, Any] | None = None, who: Clinic = lab) -> httpx.Response:
        return client.patch(f"/api/service_requests/{body['id']}/actions/{action}", json=json, headers=who.headers)

    use_body = {"used_by_legal_entity": ref("legal_entity", lab.legal_entity_id),
                "used_by_employee": ref("employee", lab.doctor.id)}  # fmt: skip
    assert act("use", use_body).status_code == 202
    assert (
        get(client, clinic, patient, body["id"])["used_by_legal_entity"]["identifier"]["value"] == lab.legal_entity_id
    )
    assert act("release").status_code == 202
    assert get(client, clinic, patient, body["id"])["used_by_legal_entity"] is None
    assert act("use", use_body).status_code == 202
    assert act("process").status_code == 202
    assert get(client, clinic, patient, body["id"])["status"] == "in_progress"
    completed = act("complete", {"completed_with": ref("encounter", uuid.uuid4())})
    assert completed.status_code == 202, completed.text
    assert get(client, clinic, patient, body["id"])["status"] == "completed"
    # a completed referral cannot be recalled, but it can be cancelled (entered in error)
    recalled = signed_change(client, clinic, patient, body["id"], "recall", "recalled",
                             sr_service.RECALL_SYSTEM, "cured")  # fmt: skip
    assert recalled.status_code == 409 and recalled.json()["error"]["type"] == "request_conflict"
    cancelled = signed_change(client, clinic, patient, body["id"], "cancel", "entered_in_error",
                              sr_service.CANCEL_SYSTEM, "misspelling")  # fmt: skip
    assert cancelled.status_code == 202, cancelled.text
    final = get(client, clinic, patient, body["id"])
    assert final["status"] == "entered_in_error"
    assert [h["status"] for h in final["status_history"]] == [
        "active", "in_progress", "completed", "entered_in_error",
    ]  # fmt: skip
    world.wait_sms(patient.phone, f"Ваше направлення під номером {requisition} було відмінено")
    events = count(pg, "SELECT count(*) FROM events WHERE entity_id = %s", body["id"])
    assert events == 4


def test_recall_is_signed_by_the_requester_and_texts_the_patient(
    client: httpx.Client, world: World, clinic: Clinic, patient: Patient
) -> None:
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    answer = signed_change(client, clinic, patient, body["id"], "recall", "recalled", sr_service.RECALL_SYSTEM, "cured")
    assert answer.status_code == 202, answer.text
    sr = get(client, clinic, patient, body["id"])
    assert sr["status"] == "recalled" and sr["status_reason"]["coding"][0]["code"] == "cured"
    world.wait_sms(patient.phone, f"Ваше направлення під номером {sr['requisition']} було відкликано")
    again = signed_change(client, clinic, patient, body["id"], "recall", "recalled", sr_service.RECALL_SYSTEM, "cured")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "Service request in status recalled cannot be recalled"


def test_recall_with_content_other_than_the_render_is_rejected(
    client: httpx.Client, clinic: Clinic, patient: Patient
) -> None:
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    current = get(client, clinic, patient, body["id"])
    tampered = current | {"status": "recalled", "status_reason": concept(sr_service.RECALL_SYSTEM, "cured"),
                          "note": "інший текст"}  # fmt: skip
    answer = client.patch(
        f"/api/patients/{patient.id}/service_requests/{body['id']}/actions/recall",
        json={"signed_data": sign(tampered, clinic.doctor.cert)},
        headers=clinic.headers,
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["invalid"][0]["rules"][0]["description"] == (
        "Signed content does not match the previously created content"
    )
    assert get(client, clinic, patient, body["id"])["status"] == "active"


def test_expired_referral_cannot_be_used_and_the_job_recalls_it(
    client: httpx.Client, clinic: Clinic, lab: Clinic, patient: Patient, pg: psycopg.Connection, db_url: str
) -> None:
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    sr = get(client, clinic, patient, body["id"])
    expires = datetime.fromisoformat(sr["expiration_date"])
    # today + 7 days at 23:59:59 Kyiv
    assert expires.astimezone(sr_service.KYIV).time().isoformat() == "23:59:59"
    assert (expires - datetime.now(UTC)) > timedelta(days=6)
    pg.execute("UPDATE service_requests SET expiration_date = now() - interval '1 minute' WHERE id = %s", (body["id"],))
    use = client.patch(
        f"/api/service_requests/{body['id']}/actions/use",
        json={"used_by_legal_entity": ref("legal_entity", lab.legal_entity_id)},
        headers=lab.headers,
    )
    assert use.status_code == 409 and use.json()["error"]["message"] == "Service request is expired"

    async def run() -> int:
        engine = make_engine(db_url, 1)
        try:
            async with engine.begin() as conn:
                return await sr_service.expire(conn)
        finally:
            await engine.dispose()

    assert asyncio.run(run()) >= 1
    sr = get(client, clinic, patient, body["id"])
    assert sr["status"] == "recalled" and sr["status_reason"]["coding"][0]["code"] == "autoexpired"


def test_two_performers_at_once_one_wins(client: httpx.Client, world: World, clinic: Clinic, patient: Patient) -> None:
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    performers = [world.clinic() for _ in range(2)]
    barrier = threading.Barrier(len(performers))
    results: list[httpx.Response] = []

    def take(performer: Clinic) -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=30) as own:
            barrier.wait()
            results.append(
                own.patch(
                    f"/api/service_requests/{body['id']}/actions/use",
                    json={"used_by_legal_entity": ref("legal_entity", performer.legal_entity_id)},
                    headers=performer.headers,
                )
            )

    threads = [threading.Thread(target=take, args=(p,)) for p in performers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status_code for r in results) == [202, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["error"]["message"] == "Service request is already used"


def test_resend_texts_the_number_again(client: httpx.Client, world: World, clinic: Clinic, patient: Patient) -> None:
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    requisition = get(client, clinic, patient, body["id"])["requisition"]
    world.wait_sms(patient.phone, requisition)
    answer = client.patch(f"/api/patients/{patient.id}/service_requests/{body['id']}/actions/resend",
                          headers=clinic.headers)  # fmt: skip
    assert answer.status_code == 202
    assert len(world.sms_to(patient.phone)) >= 1
    poll_count = lambda: len([m for m in world.sms_to(patient.phone) if requisition in m["text"]]) >= 2  # noqa: E731
    from me_world import poll

    poll(poll_count)


# --- bad input: exact status and type, nothing written ---------------------------------------------


def _bad(
    client: httpx.Client,
    clinic: Clinic,
    patient: Patient,
    pg: psycopg.Connection,
    body: dict[str, Any],
    signer: Any = None,
) -> dict[str, Any]:
    before = rows_of(pg, patient)
    answer = create(client, clinic, patient, body, signer)
    assert rows_of(pg, patient) == before
    return {"status": answer.status_code, **answer.json()["error"]}


def test_unknown_category_is_rejected(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    error = _bad(client, clinic, patient, pg, content(clinic, category="999999"))
    assert error["status"] == 422 and error["type"] == "validation_failed"
    assert error["invalid"][0]["entry"] == "$.category.coding[0].code"


def test_service_of_another_category_is_rejected(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    error = _bad(client, clinic, patient, pg, content(clinic, code="LAB-0001"))
    assert error["status"] == 422 and error["invalid"][0]["entry"] == "$.code.identifier.value"


def test_permitted_resources_not_allowed_for_laboratory(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    body = content(clinic, category=catalogue.LABORATORY, code="LAB-0001",
                   permitted_resources=[ref("episode_of_care", uuid.uuid4())])  # fmt: skip
    error = _bad(client, clinic, patient, pg, body)
    assert error["status"] == 422 and error["invalid"][0]["entry"] == "$.permitted_resources"


def test_signed_by_someone_else_is_rejected(
    client: httpx.Client, world: World, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    other = world.doctor(clinic.legal_entity_id, clinic.division_id)
    error = _bad(client, clinic, patient, pg, content(clinic), signer=other.cert)
    assert error["status"] == 422 and error["type"] == "validation_failed"
    assert error["invalid"][0]["rules"][0]["description"] == "Does not match the signer drfo"


def test_requester_must_be_the_callers_legal_entity(
    client: httpx.Client, clinic: Clinic, lab: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    body = content(clinic, requester_legal_entity=ref("legal_entity", lab.legal_entity_id))
    error = _bad(client, clinic, patient, pg, body)
    assert error["status"] == 422
    assert error["invalid"][0]["rules"][0]["description"] == "Must be current legal enity"


def test_duplicate_id_is_a_conflict(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    error = _bad(client, clinic, patient, pg, body)
    assert error["status"] == 409 and error["type"] == "request_conflict"


def test_unsigned_or_unknown_patient(
    client: httpx.Client, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    before = rows_of(pg, patient)
    answer = client.post(f"/api/patients/{patient.id}/service_requests", json={"signed_data": "not base64!"},
                         headers=clinic.headers)  # fmt: skip
    assert answer.status_code == 422 and answer.json()["error"]["type"] == "validation_failed"
    signed = {"signed_data": sign(content(clinic), clinic.doctor.cert)}
    missing = client.post(f"/api/patients/{uuid.uuid4()}/service_requests", json=signed, headers=clinic.headers)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Patient not found"
    assert rows_of(pg, patient) == before


def test_use_for_another_legal_entity_and_release_by_non_user(
    client: httpx.Client, clinic: Clinic, lab: Clinic, patient: Patient
) -> None:
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    url = f"/api/service_requests/{body['id']}/actions/use"
    wrong = client.patch(url, json={"used_by_legal_entity": ref("legal_entity", clinic.legal_entity_id)},
                         headers=lab.headers)  # fmt: skip
    assert wrong.status_code == 422
    ok = client.patch(url, json={"used_by_legal_entity": ref("legal_entity", lab.legal_entity_id)}, headers=lab.headers)
    assert ok.status_code == 202
    release = client.patch(f"/api/service_requests/{body['id']}/actions/release", headers=clinic.headers)
    assert release.status_code == 409
    assert release.json()["error"]["message"] == "Service request is used by another legal entity"
