"""Test world of the medical-events domains: clinics with doctors who hold dev-PKI certificates, patients,
and helpers that sign JSON the way an MIS does (CAdES over the exact JSON text)."""

import asyncio
import base64
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_factories import (
    created,
    division_body,
    employee_body,
    legal_entity_body,
    person_body,
)

from esoz.signatures.devpki import DevPki, Issued
from esoz.signatures.signing import async_sign

RESOURCES = "eHealth/resources"
OCSP_URL = "http://127.0.0.1:8000/dev/ocsp"  # answered in-process by the dev responder


def ref(resource: str, value: object) -> dict[str, Any]:
    return {
        "identifier": {"type": {"coding": [{"system": RESOURCES, "code": resource}], "text": ""}, "value": str(value)}
    }


def concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}], "text": ""}


def sign(content: Any, signer: Issued) -> str:
    raw = json.dumps(content, ensure_ascii=False).encode()
    return base64.b64encode(asyncio.run(async_sign(raw, signer.cert, signer.key))).decode()


@dataclass
class Doctor:
    id: str
    tax_id: str
    cert: Issued


@dataclass
class Clinic:
    legal_entity_id: str
    division_id: str
    doctor: Doctor
    headers: dict[str, str]
    others: list[Doctor] = field(default_factory=list)


@dataclass
class Patient:
    id: str
    phone: str


class World:
    def __init__(self, api: httpx.Client, pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> None:
        self.api, self.pki, self.headers_for = api, pki, headers_for

    def doctor(self, legal_entity_id: str, division_id: str) -> Doctor:
        body = employee_body(legal_entity_id, division_id)
        employee = created(self.api.post("/admin/employees", json=body))
        party = body["party"]
        full_name = f"{party['last_name']} {party['first_name']} {party['second_name']}"
        _, _, cert = self.pki.issue(tax_id=party["tax_id"], name=full_name, ocsp_url=OCSP_URL)
        return Doctor(employee["id"], party["tax_id"], cert)

    def clinic(self, type_: str = "PRIMARY_CARE") -> Clinic:
        le = created(self.api.post("/admin/legal_entities", json=legal_entity_body(type_)))
        division = created(self.api.post("/admin/divisions", json=division_body(le["id"])))
        doctor = self.doctor(le["id"], division["id"])
        return Clinic(le["id"], division["id"], doctor, self.headers_for(uuid.UUID(le["id"])))

    def patient(self) -> Patient:
        body = person_body()
        person = created(self.api.post("/admin/persons", json={"person": body}))
        return Patient(person["id"], body["phones"][0]["number"])

    def sms_to(self, phone: str) -> list[dict[str, Any]]:
        answer = self.api.get("/admin/dev/messages", params={"phone": phone})
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    def wait_sms(self, phone: str, contains: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.sms_to(phone):
                if contains in (message.get("text") or ""):
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no SMS to {phone} containing {contains!r}: {self.sms_to(phone)}")


def poll(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Call `check` until it returns something truthy (bounded; no timing assertions)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def count(pg: Any, sql: str, *args: object) -> int:
    return pg.execute(sql, args).fetchone()[0]
