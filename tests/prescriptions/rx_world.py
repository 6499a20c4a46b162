"""Test world of prescriptions: clinics with doctors and pharmacies with pharmacists who hold dev-PKI certificates
and real user tokens (the user is linked to the employee's party), patients, and the shipped demo catalogue."""

import asyncio
import base64
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
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

from esoz.core import clock
from esoz.core.db import make_engine
from esoz.identity import scopes
from esoz.identity.bootstrap import client_for, mint_token
from esoz.identity.models import users
from esoz.prescriptions.catalogue import brand_id, brand_rows, dosage_id, program_id, program_medication_id
from esoz.prescriptions.common import KYIV
from esoz.settings import Settings
from esoz.signatures.devpki import DevPki, Issued
from esoz.signatures.signing import async_sign

OCSP_URL = "http://127.0.0.1:8000/dev/ocsp"  # answered in-process by the dev responder

AFFORDABLE = "Доступні ліки"
PALLIATIVE = "Паліативна допомога: опіоїдні анальгетики"
LOCAL_NARCOTIC = "Наркотичні засоби (місцевий бюджет)"
SELF_PAID = "Рецептурні лікарські засоби (власні кошти)"
INSULIN = "Інсуліни"


def today() -> date:
    return clock.now().astimezone(KYIV).date()


def sign(content: Any, signer: Issued) -> str:
    raw = json.dumps(content, ensure_ascii=False).encode()
    return base64.b64encode(asyncio.run(async_sign(raw, signer.cert, signer.key))).decode()


@dataclass(frozen=True)
class Drug:
    """A brand of the shipped catalogue with its INN dosage and programme."""

    brand: str
    program: str
    row: dict[str, str]

    @property
    def dosage_id(self) -> str:
        return str(dosage_id(self.row))

    @property
    def brand_id(self) -> str:
        return str(brand_id(self.brand))

    @property
    def program_id(self) -> str:
        return str(program_id(self.program))

    @property
    def program_medication_id(self) -> str:
        return str(program_medication_id(self.program, self.brand))

    @property
    def package_qty(self) -> int:
        return int(self.row["package_qty"])

    @property
    def min_qty(self) -> int:
        return int(self.row["package_min_qty"])

    @property
    def price(self) -> float:
        return float(self.row["consumer_price"])

    @property
    def reimbursement(self) -> float:
        return float(self.row["reimbursement_amount"])


def drug(brand_prefix: str) -> Drug:
    row = next(r for r in brand_rows() if r["brand"].startswith(brand_prefix))
    return Drug(row["brand"], row["program"], row)


@dataclass
class Person:
    """An employee (doctor or pharmacist) with a signing certificate and a token of their own user."""

    id: str
    party_id: str
    tax_id: str
    last_name: str
    cert: Issued
    headers: dict[str, str]


@dataclass
class Clinic:
    legal_entity_id: str
    division_id: str
    doctor: Person


@dataclass
class Pharmacy:
    legal_entity_id: str
    division_id: str
    pharmacist: Person


@dataclass
class Patient:
    id: str
    phone: str


class World:
    def __init__(self, api: httpx.Client, pki: DevPki, db_url: str, settings: Settings) -> None:
        self.api, self.pki, self.db_url, self.settings = api, pki, db_url, settings

    # --- people ---------------------------------------------------------------------------------------

    def user_headers(self, legal_entity_id: str, party_id: str) -> dict[str, str]:
        async def mint() -> str:
            engine = make_engine(self.db_url, 1)
            try:
                async with engine.begin() as conn:
                    user_id = uuid.uuid4()
                    now = clock.now()
                    await conn.execute(
                        users.insert().values(
                            id=user_id,
                            email=f"rx+{user_id}@esoz.local",
                            party_id=uuid.UUID(party_id),
                            password_hash="!",
                            password_set_at=now,
                        )
                    )
                    client = await client_for(conn, uuid.UUID(legal_entity_id), None)
                    wanted = set(scopes.client_type_scopes(client.client_type))
                    token = await mint_token(
                        conn,
                        self.settings,
                        legal_entity_id=uuid.UUID(legal_entity_id),
                        user_id=user_id,
                        scope=wanted,
                    )
                    return token.value
            finally:
                await engine.dispose()

        return {"Authorization": f"Bearer {asyncio.run(mint())}"}

    def employee(self, legal_entity_id: str, division_id: str, **kwargs: Any) -> Person:
        body = employee_body(legal_entity_id, division_id, **kwargs)
        employee = created(self.api.post("/admin/employees", json=body))
        party = body["party"]
        full_name = f"{party['last_name']} {party['first_name']} {party['second_name']}"
        _, _, cert = self.pki.issue(tax_id=party["tax_id"], name=full_name, ocsp_url=OCSP_URL)
        party_id = employee["party"]["id"]
        return Person(
            employee["id"],
            party_id,
            party["tax_id"],
            party["last_name"],
            cert,
            self.user_headers(legal_entity_id, party_id),
        )

    def clinic(self, type_: str = "PRIMARY_CARE", region: str | None = None, **doctor: Any) -> Clinic:
        extra = {"region": region} if region else {}
        le = created(self.api.post("/admin/legal_entities", json=legal_entity_body(type_, **extra)))
        division = created(self.api.post("/admin/divisions", json=division_body(le["id"])))
        return Clinic(le["id"], division["id"], self.employee(le["id"], division["id"], **doctor))

    def pharmacy(
        self, contracts: tuple[str, ...] = (AFFORDABLE, PALLIATIVE, LOCAL_NARCOTIC, INSULIN), region: str | None = None
    ) -> Pharmacy:
        extra = {"region": region} if region else {}
        le = created(
            self.api.post("/admin/legal_entities", json=legal_entity_body("PHARMACY", mis_verified="VERIFIED", **extra))
        )
        division = created(self.api.post("/admin/divisions", json=division_body(le["id"], "DRUGSTORE")))
        pharmacist = self.employee(le["id"], division["id"], employee_type="PHARMACIST", speciality="PHARMACIST")
        for program in contracts:
            self.contract(le["id"], division["id"], program)
        return Pharmacy(le["id"], division["id"], pharmacist)

    def contract(self, legal_entity_id: str, division_id: str, program: str, **overrides: Any) -> dict[str, Any]:
        body = {
            "legal_entity_id": legal_entity_id,
            "medical_program_id": str(program_id(program)),
            "start_date": (today() - timedelta(days=10)).isoformat(),
            "end_date": (today() + timedelta(days=365)).isoformat(),
            "contract_divisions": [division_id],
        } | overrides
        return created(self.api.post("/admin/contracts/reimbursement", json=body))

    def patient(self, **overrides: Any) -> Patient:
        body = person_body(**overrides)
        person = created(self.api.post("/admin/persons", json={"person": body}))
        return Patient(person["id"], body["phones"][0]["number"])

    def declare(self, patient: Patient, clinic: Clinic) -> None:
        body = {"person_id": patient.id, "employee_id": clinic.doctor.id, "division_id": clinic.division_id}
        created(self.api.post("/admin/declarations", json=body))

    # --- prescribing ----------------------------------------------------------------------------------

    def request_body(self, clinic: Clinic, patient: Patient, d: Drug, qty: int | None = None, **extra: Any) -> dict:
        on = today()
        data = {
            "person_id": patient.id,
            "employee_id": clinic.doctor.id,
            "division_id": clinic.division_id,
            "created_at": on.isoformat(),
            "started_at": on.isoformat(),
            "ended_at": (on + timedelta(days=29)).isoformat(),
            "medication_id": d.dosage_id,
            "medication_qty": qty if qty is not None else d.package_qty,
            "medical_program_id": d.program_id,
            "intent": "order",
            "category": "community",
            "dosage_instruction": [{"sequence": 1, "text": "1 таблетка на день"}],
        } | extra
        return {"medication_request_request": data}

    def create_request(self, clinic: Clinic, patient: Patient, d: Drug, qty: int | None = None, **extra: Any):
        return httpx.post(
            self.api.base_url.join("/api/medication_request_requests"),
            json=self.request_body(clinic, patient, d, qty, **extra),
            headers=clinic.doctor.headers,
            timeout=30,
        )

    def sign_request(self, clinic: Clinic, mrr: dict[str, Any], signer: Person | None = None, content: Any = None):
        signer = signer or clinic.doctor
        body = {"signed_medication_request_request": sign(content if content is not None else mrr, signer.cert)}
        return httpx.patch(
            self.api.base_url.join(f"/api/medication_request_requests/{mrr['id']}/actions/sign"),
            json=body,
            headers=signer.headers,
            timeout=30,
        )

    def prescribe(self, clinic: Clinic, patient: Patient, d: Drug, qty: int | None = None, **extra: Any) -> dict:
        """Create and sign: the ACTIVE prescription."""
        response = self.create_request(clinic, patient, d, qty, **extra)
        assert response.status_code == 201, response.text
        signed = self.sign_request(clinic, response.json()["data"])
        assert signed.status_code == 200, signed.text
        return signed.json()["data"]

    def code_of(self, pg: Any, mr_id: str) -> str:
        return pg.execute("SELECT verification_code FROM medication_requests WHERE id = %s", [mr_id]).fetchone()[0]

    # --- dispensing -----------------------------------------------------------------------------------

    def dispense_body(self, pharmacy: Pharmacy, mr: dict[str, Any], d: Drug, qty: int | None = None, **over: Any):
        qty = qty if qty is not None else int(mr["medication_info"]["medication_qty"])
        discount = round(d.reimbursement / d.package_qty * qty, 2)
        sell = round(d.price / d.package_qty * qty, 2)
        detail = {
            "medication_id": d.brand_id,
            "program_medication_id": d.program_medication_id,
            "medication_qty": qty,
            "sell_price": round(d.price / d.package_qty, 2),
            "sell_amount": sell,
            "discount_amount": discount,
        } | over.pop("detail", {})
        data = {
            "medication_request_id": mr["id"],
            "dispensed_at": today().isoformat(),
            "dispensed_by": f"{pharmacy.pharmacist.last_name} О. П.",
            "division_id": pharmacy.division_id,
            "medical_program_id": mr["medical_program"]["id"],
            "dispense_details": [detail],
        } | over
        return {"medication_dispense": data}

    def dispense(self, pharmacy: Pharmacy, mr: dict[str, Any], d: Drug, code: str | None, **over: Any):
        params = {"code": code} if code is not None else {}
        return httpx.post(
            self.api.base_url.join("/api/pharmacy/medication_dispenses"),
            params=params,
            json=self.dispense_body(pharmacy, mr, d, **over),
            headers=pharmacy.pharmacist.headers,
            timeout=30,
        )

    def process(self, pharmacy: Pharmacy, md: dict[str, Any], signer: Person | None = None, **payment: Any):
        signer = signer or pharmacy.pharmacist
        content = md | payment
        return httpx.patch(
            self.api.base_url.join(f"/api/pharmacy/medication_dispenses/{md['id']}/actions/process"),
            json={"signed_medication_dispense": sign(content, signer.cert)},
            headers=signer.headers,
            timeout=30,
        )

    # --- SMS ------------------------------------------------------------------------------------------

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


def count(pg: Any, sql: str, *args: object) -> int:
    return pg.execute(sql, args).fetchone()[0]


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    err = response.json()["error"]
    return response.status_code, err["type"], err["message"]


def invalid_of(response: httpx.Response) -> list[tuple[str, str]]:
    return [(i["entry"], r["description"]) for i in response.json()["error"]["invalid"] for r in i["rules"]]


CallableHeaders = Callable[..., dict[str, str]]
