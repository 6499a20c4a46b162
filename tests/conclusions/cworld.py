"""Helpers of the conclusions tests: build, submit and sign temporary-disability conclusions over HTTP."""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from me_world import Clinic, Doctor, Patient, concept, poll, ref, sign

KYIV = ZoneInfo("Europe/Kyiv")


def title(esoz: httpx.Client, clinic: Clinic, patient: Patient) -> str:
    answer = esoz.post(f"/api/patients/{patient.id}/composition_title", params={"composition_type": "TEMP_DISABILITY"},
                       headers=clinic.headers)  # fmt: skip
    assert answer.status_code == 202, answer.text
    return answer.json()["data"]["title"]


def composition(
    clinic: Clinic,
    patient: Patient,
    number: str,
    start: date,
    end: date,
    *,
    status: str = "PRELIMINARY",
    category: str = "SICKNESS",
    replaces: str | None = None,
    author: Doctor | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "title": number,
        "status": status,
        "type": concept("COMPOSITION_TYPES", "TEMP_DISABILITY"),
        "category": concept("COMPOSITION_CATEGORIES", category),
        "date": datetime.now(KYIV).isoformat(),
        "custodian": ref("legal_entity", clinic.legal_entity_id),
        "author": ref("employee", (author or clinic.doctor).id),
        "event": [
            {
                "code": concept("COMPOSITION_EVENTS", "COMPOSITION_VALIDITY_PERIOD"),
                "period": {
                    "start": datetime.combine(start, time(0, 0, 1), KYIV).isoformat(),
                    "end": datetime.combine(end, time(23, 59, 59), KYIV).isoformat(),
                },
            }
        ],
        "section": [],
        "extension": [{"code": "IS_ACCIDENT", "value_boolean": False}],
    }
    if replaces:
        body["relates_to"] = [{"type": "replaces", "resource_reference": ref("composition", replaces)}]
    return body


def today() -> date:
    return datetime.now(KYIV).date()


def days(n: int) -> timedelta:
    return timedelta(days=n)


def submit_draft(esoz: httpx.Client, clinic: Clinic, patient: Patient, body: dict[str, Any]) -> httpx.Response:
    return esoz.post(f"/api/patients/{patient.id}/compositions", json={"composition": body}, headers=clinic.headers)


def get(esoz: httpx.Client, clinic: Clinic, patient: Patient, cid: str, suffix: str = "") -> Any:
    answer = esoz.get(f"/api/patients/{patient.id}/compositions/{cid}{suffix}", headers=clinic.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def sign_draft(
    esoz: httpx.Client, clinic: Clinic, patient: Patient, cid: str, signer: Doctor | None = None
) -> httpx.Response:
    render = get(esoz, clinic, patient, cid) | {"status": "FINAL"}
    signed = sign(render, (signer or clinic.doctor).cert)
    return esoz.patch(f"/api/patients/{patient.id}/compositions/{cid}/actions/sign", json={"signed_data": signed},
                      headers=clinic.headers)  # fmt: skip


def final(esoz: httpx.Client, clinic: Clinic, patient: Patient, start: date, end: date, **kwargs: Any) -> str:
    """A FINAL conclusion through the two-step flow; returns its id."""
    body = composition(clinic, patient, title(esoz, clinic, patient), start, end, **kwargs)
    created = submit_draft(esoz, clinic, patient, body)
    assert created.status_code == 202, created.text
    signed = sign_draft(esoz, clinic, patient, body["id"])
    assert signed.status_code == 202, signed.text
    return body["id"]


def mark_in_error(esoz: httpx.Client, clinic: Clinic, patient: Patient, cid: str) -> httpx.Response:
    render = get(esoz, clinic, patient, cid) | {
        "status": "ENTERED_IN_ERROR",
        "status_reason": concept("composition_mark_in_error_reasons", "default"),
        "explanatory_letter": "Помилка в даті",
    }
    return esoz.patch(f"/api/patients/{patient.id}/compositions/{cid}/actions/mark_in_error",
                      json={"signed_data": sign(render, clinic.doctor.cert)}, headers=clinic.headers)  # fmt: skip


def erln(esoz: httpx.Client, clinic: Clinic, patient: Patient, cid: str, task: str = "CREATE_ERLN_RECORD") -> dict:
    entries = get(esoz, clinic, patient, cid, "/integration_data")
    return next(e for e in entries if e["type"] == task)


def wait_erln(esoz: httpx.Client, clinic: Clinic, patient: Patient, cid: str, status: str = "SUCCESS",
              task: str = "CREATE_ERLN_RECORD") -> dict:  # fmt: skip
    return poll(lambda: (e := erln(esoz, clinic, patient, cid, task))["integration_status"] == status and e)
