"""Every read of a patient's conclusions is recorded with whose data it was, and never cached.

The search, the conclusion, its integration results and its print form (HTML, not an envelope: the path names the
patient) each leave one audit row, found by the request id, naming the action, the conclusion and the patient.
A refused read records no read.
"""

import uuid
from typing import Any

import httpx
import psycopg
import pytest
from cworld import days, final, today
from me_world import Clinic, Patient, World
from tests.audit_rows import wait_for_audit

ROWS = (
    "SELECT action, resource_type, resource_id, person_id, legal_entity_id FROM audit_log"
    " WHERE request_id = %s ORDER BY id"
)


@pytest.fixture
def clinic(world: World) -> Clinic:
    return world.clinic()


@pytest.fixture
def patient(world: World) -> Patient:
    return world.patient()


def _read(esoz: httpx.Client, who: Clinic, path: str, **params: Any) -> tuple[httpx.Response, str]:
    request_id = f"composition-read-{uuid.uuid4().hex}"
    return esoz.get(path, params=params, headers=who.headers | {"X-Request-Id": request_id}), request_id


def _assert_recorded(
    pg: psycopg.Connection, answer: httpx.Response, request_id: str, action: str, cid: str, patient: Patient,
    reader: Clinic,
) -> None:  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store" and answer.headers["pragma"] == "no-cache"
    rows = wait_for_audit(pg, ROWS, [request_id])
    expected = (action, "composition", cid, uuid.UUID(patient.id), uuid.UUID(reader.legal_entity_id))
    assert rows == [expected], f"{answer.request.url.path}: {rows}"


def test_every_conclusion_read_is_recorded_with_the_patient(
    esoz: httpx.Client, world: World, clinic: Clinic, patient: Patient, pg: psycopg.Connection
) -> None:
    cid = final(esoz, clinic, patient, today(), today() + days(2))
    base = f"/api/patients/{patient.id}/compositions"

    for path, params, action in (
        (f"{base}/search", {}, "composition.read"),
        (f"{base}/{cid}", {}, "composition.read"),
        (f"{base}/{cid}/integration_data", {}, "composition.integration_data.read"),
        (f"{base}/{cid}/print_form", {"form_type": "INFO_CERTIFICATE"}, "composition.print"),
    ):
        _assert_recorded(pg, *_read(esoz, clinic, path, **params), action, cid, patient, clinic)

    # Another clinic: not found, nothing left, nothing recorded. Rows are flushed in the order they were queued,
    # so once a later read's row is in the table the refused one's would be too.
    other = world.clinic()
    for suffix in ("", "/print_form"):
        hidden, hidden_id = _read(esoz, other, f"{base}/{cid}{suffix}")
        assert hidden.status_code == 404 and hidden.headers["cache-control"] == "no-store"
        _assert_recorded(pg, *_read(esoz, clinic, f"{base}/{cid}"), "composition.read", cid, patient, clinic)
        assert pg.execute(ROWS, [hidden_id]).fetchall() == []
