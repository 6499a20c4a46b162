"""Test world of the medical-records reads: clinics whose doctors have tokens of their own user (linked to the
employee's party, so the access rule knows who reads), patients with declarations, and a patient's records.

Records are inserted with SQL, in the shape the encounter package stores them (the columns lists filter on, the
contract resource in `content`): the reads are tested apart from the writes. This file is the one place to switch
to the write service once reads and writes are tested together.
"""

import asyncio
import re
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_factories import created, division_body, employee_body, legal_entity_body, person_body

from esoz.core import clock
from esoz.core.db import make_engine
from esoz.identity import scopes
from esoz.identity.bootstrap import client_for, mint_token
from esoz.identity.models import users
from esoz.settings import Settings

RESOURCES = "eHealth/resources"
# What a doctor's token holds here: the MSP client type's scopes and the reads of these routes, whether or not the
# client type's cap lists them yet.
READ_SCOPES = {
    "episode:read",
    "encounter:read",
    "condition:read",
    "observation:read",
    "immunization:read",
    "allergy_intolerance:read",
    "diagnostic_report:read",
    "procedure:read",
    "medical_event_context:read",
    "patient_summary:read",
    "approval:create",
    "approval:read",
}


def ref(resource: str, value: object) -> dict[str, Any]:
    return {
        "identifier": {"type": {"coding": [{"system": RESOURCES, "code": resource}], "text": ""}, "value": str(value)}
    }


def concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}], "text": ""}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@dataclass
class Doctor:
    id: str
    party_id: str
    headers: dict[str, str]


@dataclass
class Clinic:
    legal_entity_id: str
    division_id: str
    doctor: Doctor


@dataclass
class Patient:
    id: str
    phone: str


class ReadsWorld:
    def __init__(self, api: httpx.Client, db_url: str, settings: Settings, pg: psycopg.Connection) -> None:
        self.api, self.db_url, self.settings, self.pg = api, db_url, settings, pg

    # --- people -------------------------------------------------------------------------------------------------

    def user_headers(self, legal_entity_id: str, party_id: str, scope: set[str] | None = None) -> dict[str, str]:
        async def mint() -> str:
            engine = make_engine(self.db_url, 1)
            try:
                async with engine.begin() as conn:
                    user_id = uuid.uuid4()
                    now = clock.now()
                    await conn.execute(
                        users.insert().values(
                            id=user_id,
                            email=f"me+{user_id}@esoz.local",
                            party_id=uuid.UUID(party_id),
                            password_hash="!",
                            password_set_at=now,
                        )
                    )
                    client = await client_for(conn, uuid.UUID(legal_entity_id), None)
                    wanted = set(scopes.client_type_scopes(client.client_type)) | READ_SCOPES
                    token = await mint_token(
                        conn,
                        self.settings,
                        legal_entity_id=uuid.UUID(legal_entity_id),
                        user_id=user_id,
                        scope=scope if scope is not None else wanted,
                    )
                    return token.value
            finally:
                await engine.dispose()

        return {"Authorization": f"Bearer {asyncio.run(mint())}"}

    def doctor(self, legal_entity_id: str, division_id: str, **kwargs: Any) -> Doctor:
        employee = created(
            self.api.post("/admin/employees", json=employee_body(legal_entity_id, division_id, **kwargs))
        )
        party_id = employee["party"]["id"]
        return Doctor(employee["id"], party_id, self.user_headers(legal_entity_id, party_id))

    def clinic(self, **doctor: Any) -> Clinic:
        le = created(self.api.post("/admin/legal_entities", json=legal_entity_body("PRIMARY_CARE")))
        division = created(self.api.post("/admin/divisions", json=division_body(le["id"])))
        return Clinic(le["id"], division["id"], self.doctor(le["id"], division["id"], **doctor))

    def patient(self) -> Patient:
        body = person_body()
        person = created(self.api.post("/admin/persons", json={"person": body}))
        return Patient(person["id"], body["phones"][0]["number"])

    def declare(self, patient: Patient, clinic: Clinic) -> None:
        body = {"person_id": patient.id, "employee_id": clinic.doctor.id, "division_id": clinic.division_id}
        created(self.api.post("/admin/declarations", json=body))

    # --- records (SQL, as the encounter package stores them) -----------------------------------------------------

    def _insert(self, table: str, values: dict[str, Any]) -> str:
        columns = ", ".join(values)
        marks = ", ".join(["%s"] * len(values))
        params = [Jsonb(v) if isinstance(v, dict | list) else v for v in values.values()]
        self.pg.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", params)
        self.pg.commit()
        return str(values["id"])

    def episode(
        self, patient: Patient, clinic: Clinic, *, name: str = "Гіпертонія", start: str = "2026-01-10",
        status: str = "active", diagnoses: tuple[str, ...] = (),
    ) -> str:  # fmt: skip
        episode_id = uuid.uuid4()
        content = {
            "id": str(episode_id),
            "type": {"system": "eHealth/episode_types", "code": "treatment"},
            "name": name,
            "managing_organization": ref("legal_entity", clinic.legal_entity_id),
            "care_manager": ref("employee", clinic.doctor.id),
            "current_diagnoses": [
                {
                    "condition": ref("condition", uuid.uuid4()),
                    "role": concept("eHealth/diagnosis_roles", "primary"),
                    "rank": 1,
                    "code": concept("eHealth/ICPC2/condition_codes", code),
                }
                for code in diagnoses
            ],
        }
        return self._insert(
            "episodes",
            {
                "id": episode_id,
                "person_id": uuid.UUID(patient.id),
                "status": status,
                "type": "treatment",
                "name": name,
                "legal_entity_id": uuid.UUID(clinic.legal_entity_id),
                "care_manager_id": uuid.UUID(clinic.doctor.id),
                "period_start": at(start),
                "period_end": None if status == "active" else at(start),
                "content": content,
            },
        )

    def encounter(
        self, patient: Patient, clinic: Clinic, episode_id: str, *, start: str = "2026-02-01",
        referral: str | None = None, origin_episode: str | None = None, status: str = "finished",
    ) -> str:  # fmt: skip
        encounter_id = uuid.uuid4()
        content: dict[str, Any] = {
            "id": str(encounter_id),
            "status": status,
            "period": {"start": at(start).isoformat(), "end": at(start).isoformat()},
            "episode": ref("episode", episode_id),
            "class": {"system": "eHealth/encounter_classes", "code": "AMB"},
            "type": concept("eHealth/encounter_types", "field"),
            "performer": ref("employee", clinic.doctor.id),
            "division": ref("division", clinic.division_id),
        }
        if origin_episode is not None:
            content["origin_episode"] = ref("episode", origin_episode)
        return self._insert(
            "encounters",
            {
                "id": encounter_id,
                "person_id": uuid.UUID(patient.id),
                "episode_id": uuid.UUID(episode_id),
                "status": status,
                "legal_entity_id": uuid.UUID(clinic.legal_entity_id),
                "division_id": uuid.UUID(clinic.division_id),
                "performer_id": uuid.UUID(clinic.doctor.id),
                "encounter_class": "AMB",
                "type": "field",
                "incoming_referral_id": None if referral is None else uuid.UUID(referral),
                "period_start": at(start),
                "period_end": at(start),
                "content": content,
            },
        )

    def record(
        self, kind: str, patient: Patient, clinic: Clinic, episode_id: str, encounter_id: str,
        content: dict[str, Any] | None = None, **columns: Any,
    ) -> str:  # fmt: skip
        record_id = uuid.uuid4()
        body = {"id": str(record_id), "context": ref("encounter", encounter_id)} | (content or {})
        return self._insert(
            kind,
            {
                "id": record_id,
                "person_id": uuid.UUID(patient.id),
                "episode_id": uuid.UUID(episode_id),
                "encounter_id": uuid.UUID(encounter_id),
                "legal_entity_id": uuid.UUID(clinic.legal_entity_id),
                "author_id": uuid.UUID(clinic.doctor.id),
                **columns,
                "content": body,
            },
        )

    def condition(self, patient: Patient, clinic: Clinic, episode_id: str, encounter_id: str, code: str,
                  onset: str = "2026-02-01", status: str = "confirmed") -> str:  # fmt: skip
        content = {
            "code": concept("eHealth/ICPC2/condition_codes", code),
            "clinical_status": "active",
            "primary_source": True,
            "asserter": ref("employee", clinic.doctor.id),
            "onset_date": at(onset).isoformat(),
        }
        return self.record(
            "conditions", patient, clinic, episode_id, encounter_id, content, status=status,
            clinical_status="active", code=code, code_system="eHealth/ICPC2/condition_codes", onset_date=at(onset),
        )  # fmt: skip

    def observation(self, patient: Patient, clinic: Clinic, episode_id: str, encounter_id: str, code: str,
                    issued: str = "2026-02-01") -> str:  # fmt: skip
        content = {
            "code": concept("eHealth/LOINC/observation_codes", code),
            "categories": [concept("eHealth/observation_categories", "vital-signs")],
            "primary_source": True,
            "issued": at(issued).isoformat(),
            "value_quantity": {"value": 36.6, "unit": "Cel"},
        }
        return self.record(
            "observations", patient, clinic, episode_id, encounter_id, content, status="valid", code=code,
            issued=at(issued),
        )  # fmt: skip

    def immunization(self, patient: Patient, clinic: Clinic, episode_id: str, encounter_id: str, vaccine: str,
                     date: str = "2026-02-01") -> str:  # fmt: skip
        content = {
            "vaccine_code": concept("eHealth/vaccine_codes", vaccine),
            "not_given": False,
            "primary_source": True,
            "date": at(date).isoformat(),
        }
        return self.record(
            "immunizations", patient, clinic, episode_id, encounter_id, content, status="completed",
            vaccine_code=vaccine, date=at(date),
        )  # fmt: skip

    def allergy(self, patient: Patient, clinic: Clinic, episode_id: str, encounter_id: str, code: str,
                onset: str = "2026-02-01") -> str:  # fmt: skip
        content = {
            "code": concept("eHealth/allergy_intolerance_codes", code),
            "clinical_status": "active",
            "primary_source": True,
            "onset_date_time": at(onset).isoformat(),
        }
        return self.record(
            "allergy_intolerances", patient, clinic, episode_id, encounter_id, content, status="confirmed",
            clinical_status="active", code=code, onset_date_time=at(onset),
        )  # fmt: skip

    def diagnostic_report(self, patient: Patient, clinic: Clinic, episode_id: str, encounter_id: str, service: str,
                          issued: str = "2026-02-01", based_on: str | None = None) -> str:  # fmt: skip
        content: dict[str, Any] = {
            "code": ref("service", service),
            "encounter": ref("encounter", encounter_id),
            "issued": at(issued).isoformat(),
            "primary_source": True,
            "origin_episode": ref("episode", episode_id),
        }
        if based_on is not None:
            content["based_on"] = ref("service_request", based_on)
        return self.record(
            "diagnostic_reports", patient, clinic, episode_id, encounter_id, content, status="final", code=service,
            issued=at(issued),
        )  # fmt: skip

    def procedure(self, patient: Patient, clinic: Clinic, episode_id: str, encounter_id: str, service: str,
                  status: str = "completed") -> str:  # fmt: skip
        content = {
            "code": ref("service", service),
            "encounter": ref("encounter", encounter_id),
            "primary_source": True,
            "recorded_by": ref("employee", clinic.doctor.id),
            "used_references": [ref("equipment", "9183a36b-4d45-4244-9339-63d81cd08d9c")],
        }
        return self.record(
            "procedures", patient, clinic, episode_id, encounter_id, content, status=status, code=service,
            performed_at=at("2026-02-01"),
        )  # fmt: skip

    # --- approvals -----------------------------------------------------------------------------------------------

    def approve(self, patient: Patient, clinic: Clinic, episode_id: str | None = None) -> str:
        """The doctor asks the patient for an approval (of the whole record, or of one episode), the patient reads
        out the SMS code, the doctor enters it: the approval is active. Returns its id."""
        body: dict[str, Any] = {"granted_to": ref("employee", clinic.doctor.id), "access_level": "read"}
        if episode_id is None:
            body["patient"] = ref("patient", patient.id)
        else:
            body["resources"] = [ref("episode_of_care", episode_id)]
        seen = len(self._approval_sms(patient))
        answer = self.api.post(f"/api/patients/{patient.id}/approvals", json=body, headers=clinic.doctor.headers)
        assert answer.status_code == 201, answer.text
        approval_id = answer.json()["data"]["id"]
        code = self._code(patient, seen)
        verified = self.api.patch(
            f"/api/patients/{patient.id}/approvals/{approval_id}", json={"code": code}, headers=clinic.doctor.headers
        )
        assert verified.status_code == 200, verified.text
        return str(approval_id)

    def _approval_sms(self, patient: Patient) -> list[dict[str, Any]]:
        answer = self.api.get("/admin/dev/messages", params={"phone": patient.phone})
        assert answer.status_code == 200, answer.text
        return [m for m in answer.json()["data"] if "медичних записів" in (m.get("text") or "")]

    def _code(self, patient: Patient, seen: int, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self._approval_sms(patient)
            if len(messages) > seen:
                newest = sorted(messages, key=lambda m: m.get("created_at") or m.get("inserted_at") or "")[-1]
                match = re.search(r"Код (\d{4})", newest["text"])
                assert match, newest
                return int(match.group(1))
            time.sleep(0.1)
        raise AssertionError(f"no approval SMS to {patient.phone}")

    # --- the audit ------------------------------------------------------------------------------------------------

    def read_rows(self, patient: Patient, action: str, timeout: float = 10.0) -> list[tuple[Any, ...]]:
        """The audit rows of the patient's reads with `action` (read rows are flushed in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.pg.execute(
                "SELECT actor_user_id, legal_entity_id, resource_type, resource_id, details FROM audit_log "
                "WHERE person_id = %s AND action = %s",
                (patient.id, action),
            ).fetchall()
            self.pg.commit()
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)
