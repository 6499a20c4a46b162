"""Every read of a patient's referrals is recorded with whose data it was, and never cached.

The requester lists and opens the referral, the performer finds it by the requisition number the patient
presents; each answer's audit row (found by the request id) names the action, the referral and the patient.
A refused read records no read.
"""

import uuid
from typing import Any

import httpx
import psycopg
from me_world import Clinic, World
from test_service_requests import content, create, get
from tests.audit_rows import wait_for_audit

READ_ROWS = (
    "SELECT action, resource_type, resource_id, person_id, legal_entity_id FROM audit_log"
    " WHERE request_id = %s AND action LIKE '%%.read' ORDER BY id"
)


def _read(client: httpx.Client, who: Clinic, path: str, **params: Any) -> tuple[httpx.Response, str]:
    request_id = f"sr-read-{uuid.uuid4().hex}"
    return client.get(path, params=params, headers=who.headers | {"X-Request-Id": request_id}), request_id


def _assert_recorded(
    pg: psycopg.Connection, answer: httpx.Response, request_id: str, sr_id: str, person: str, reader: Clinic
) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store" and answer.headers["pragma"] == "no-cache"
    rows = wait_for_audit(pg, READ_ROWS, [request_id])
    expected = ("service_request.read", "service_request", sr_id, uuid.UUID(person), uuid.UUID(reader.legal_entity_id))
    assert rows == [expected], f"{answer.request.url.path}: {rows}"


def test_every_referral_read_is_recorded_with_the_patient(
    client: httpx.Client, world: World, pg: psycopg.Connection
) -> None:
    clinic, lab, patient = world.clinic(), world.clinic(), world.patient()
    body = content(clinic)
    assert create(client, clinic, patient, body).status_code == 202
    sr_id = body["id"]
    requisition = get(client, clinic, patient, sr_id)["requisition"]

    listed = f"/api/patients/{patient.id}/service_requests"
    for path in (listed, f"{listed}/{sr_id}"):
        _assert_recorded(pg, *_read(client, clinic, path), sr_id, patient.id, clinic)
    found, request_id = _read(client, lab, "/api/service_requests", requisition=requisition)
    assert [r["id"] for r in found.json()["data"]] == [sr_id]
    _assert_recorded(pg, found, request_id, sr_id, patient.id, lab)

    # Another clinic opening the referral: not found, nothing left, nothing recorded as read. Rows are flushed in
    # the order they were queued, so once a later read's row is in the table the refused one's would be too.
    path = f"/api/patients/{patient.id}/service_requests/{sr_id}"
    hidden, hidden_id = _read(client, lab, path)
    assert hidden.status_code == 404 and hidden.headers["cache-control"] == "no-store"
    _assert_recorded(pg, *_read(client, clinic, path), sr_id, patient.id, clinic)
    assert pg.execute(READ_ROWS, [hidden_id]).fetchall() == []
