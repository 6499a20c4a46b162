"""Blocking a prescription as the contract describes it: `blocked_to` is a date-time in the body and the answer, the
status stays ACTIVE (blocking is a flag, `is_blocked`), unblocking clears it; a `blocked_to` that is not a date is
refused with the field named."""

import httpx
import pytest
from rx_world import World, drug

AMOXICILLIN = drug("Амоксил")


def _patch(world: World, headers: dict[str, str], path: str, body: object) -> httpx.Response:
    return httpx.patch(world.api.base_url.join(path), json=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("given", "answered"),
    [
        ("2030-08-02T21:45:16.000Z", "2030-08-03T23:59:59+03:00"),  # past midnight in Kyiv: the next day
        ("2030-01-15", "2030-01-15T23:59:59+02:00"),
    ],
)
def test_blocked_to_is_a_date_time_and_the_status_stays_active(world: World, given: str, answered: str) -> None:
    clinic, patient = world.clinic(), world.patient()
    mr = world.prescribe(clinic, patient, AMOXICILLIN, 20)
    path = f"/api/medication_requests/{mr['id']}/actions"
    body = {
        "block_reason_code": "BLOCK_WRONG_QTY_DRUG",
        "block_reason": "перевищено норми відпуску",
        "blocked_to": given,
    }
    blocked = _patch(world, clinic.doctor.headers, f"{path}/block", body)
    assert blocked.status_code == 200, blocked.text
    data = blocked.json()["data"]
    assert (data["status"], data["is_blocked"], data["blocked_to"]) == ("ACTIVE", True, answered)
    assert data["block_reason_code"] == "BLOCK_WRONG_QTY_DRUG"
    read = httpx.get(world.api.base_url.join(f"/api/medication_requests/{mr['id']}"), headers=clinic.doctor.headers)
    assert read.json()["data"]["blocked_to"] == answered

    unblocked = _patch(world, clinic.doctor.headers, f"{path}/unblock", {"block_reason_code": "UNBLOCK_DEFAULT"})
    assert unblocked.status_code == 200, unblocked.text
    data = unblocked.json()["data"]
    assert (data["status"], data["is_blocked"], data["blocked_to"]) == ("ACTIVE", False, None)


@pytest.mark.parametrize("given", ["tomorrow", "2030-13-01T10:00:00Z", "2030-02-30"])
def test_blocked_to_that_is_not_a_date_is_refused(world: World, given: str) -> None:
    clinic, patient = world.clinic(), world.patient()
    mr = world.prescribe(clinic, patient, AMOXICILLIN, 20)
    body = {"block_reason_code": "BLOCK_WRONG_QTY_DRUG", "blocked_to": given}
    refused = _patch(world, clinic.doctor.headers, f"/api/medication_requests/{mr['id']}/actions/block", body)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["type"] == "validation_failed" and [i["entry"] for i in error["invalid"]] == ["$.blocked_to"]
    still = httpx.get(world.api.base_url.join(f"/api/medication_requests/{mr['id']}"), headers=clinic.doctor.headers)
    assert still.json()["data"]["is_blocked"] is False
