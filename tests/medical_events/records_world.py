"""Helpers of the medical-records tests: an episode request, an encounter package with a diagnosis, an
observation, an immunization (and optionally the other record types), signed as an MIS signs it."""

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from me_world import Clinic, Doctor, Patient, World, concept, ref, sign

ICD10 = "eHealth/ICD10/condition_codes"


def iso(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) - timedelta(hours=2) + delta).isoformat().replace("+00:00", "Z")


def episode_body(clinic: Clinic, doctor: Doctor | None = None, **over: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": {"system": "eHealth/episode_types", "code": "primary_care"},
        "status": "active",
        "name": "Гіпертензія 2026",
        "managing_organization": ref("legal_entity", clinic.legal_entity_id),
        "period": {"start": iso(-timedelta(days=1))},
        "care_manager": ref("employee", (doctor or clinic.doctor).id),
    } | over


def package(
    clinic: Clinic, episode_id: str, *, doctor: Doctor | None = None, condition_code: str = "I10", full: bool = False
) -> dict[str, Any]:
    """An encounter with a diagnosis (condition), an observation and an immunization; `full` adds an allergy,
    a diagnostic report and a procedure."""
    performer = ref("employee", (doctor or clinic.doctor).id)
    encounter_id, condition_id = str(uuid.uuid4()), str(uuid.uuid4())
    context = ref("encounter", encounter_id)
    body: dict[str, Any] = {
        "encounter": {
            "id": encounter_id,
            "status": "finished",
            "period": {"start": iso(), "end": iso(timedelta(minutes=20))},
            "visit": ref("visit", uuid.uuid4()),
            "episode": ref("episode", episode_id),
            "class": {"system": "eHealth/encounter_classes", "code": "PHC"},
            "type": concept("eHealth/encounter_types", "AMB"),
            "performer": performer,
            "division": ref("division", clinic.division_id),
            "reasons": [concept("eHealth/ICPC2/reasons", "K86")],
            "diagnoses": [
                {
                    "condition": ref("condition", condition_id),
                    "role": concept("eHealth/diagnosis_roles", "primary"),
                    "rank": 1,
                }
            ],
        },
        "conditions": [
            {
                "id": condition_id,
                "primary_source": True,
                "asserter": performer,
                "context": context,
                "code": concept(ICD10, condition_code),
                "clinical_status": "active",
                "verification_status": "confirmed",
                "onset_date": iso(-timedelta(days=30)),
                "asserted_date": iso(),
            }
        ],
        "observations": [
            {
                "id": str(uuid.uuid4()),
                "status": "valid",
                "context": context,
                "categories": [concept("eHealth/observation_categories", "vital_signs")],
                "code": concept("eHealth/LOINC/observation_codes", "8480-6"),
                "effective_date_time": iso(),
                "issued": iso(),
                "primary_source": True,
                "performer": performer,
                "value_quantity": {
                    "value": 150,
                    "comparator": "=",
                    "unit": "mm[Hg]",
                    "system": "eHealth/ucum/units",
                    "code": "mm[Hg]",
                },
            }
        ],
        "immunizations": [
            {
                "id": str(uuid.uuid4()),
                "status": "completed",
                "not_given": False,
                "vaccine_code": concept("eHealth/vaccine_codes", "COVID19_Pfizer"),
                "context": context,
                "date": iso(),
                "primary_source": True,
                "performer": performer,
                "manufacturer": "Pfizer-BioNTech",
                "lot_number": "FK1234",
                "dose_quantity": {
                    "value": 0.3,
                    "unit": "ml",
                    "system": "eHealth/immunization_dosage_units",
                    "code": "ml",
                },
                "vaccination_protocols": [
                    {
                        "dose_sequence": 1,
                        "series_doses": 2,
                        "authority": concept("eHealth/vaccination_authorities", "WVO"),
                        "target_diseases": [concept("eHealth/vaccination_target_diseases", "840539006")],
                    }
                ],
            }
        ],
    }
    if full:
        report_id = str(uuid.uuid4())
        service = ref("service", uuid.uuid4())
        body["allergy_intolerances"] = [
            {
                "id": str(uuid.uuid4()),
                "clinical_status": "active",
                "verification_status": "confirmed",
                "type": "allergy",
                "category": "medication",
                "criticality": "high",
                "context": context,
                "code": concept("eHealth/allergy_intolerance_codes", "764146007"),
                "onset_date_time": iso(-timedelta(days=400)),
                "asserted_date": iso(),
                "primary_source": True,
                "asserter": performer,
            }
        ]
        body["diagnostic_reports"] = [
            {
                "id": report_id,
                "status": "final",
                "code": service,
                "category": [concept("eHealth/diagnostic_report_categories", "diagnostic_procedure")],
                "encounter": context,
                "issued": iso(),
                "conclusion": "ЕКГ без патологічних змін",
                "primary_source": True,
                "recorded_by": performer,
                "managing_organization": ref("legal_entity", clinic.legal_entity_id),
            }
        ]
        body["observations"][0]["diagnostic_report"] = ref("diagnostic_report", report_id)
        body["encounter"]["supporting_info"] = [ref("diagnostic_report", report_id)]
        body["conditions"][0]["evidences"] = [{"details": [ref("observation", body["observations"][0]["id"])]}]
        body["procedures"] = [
            {
                "id": str(uuid.uuid4()),
                "status": "completed",
                "code": service,
                "encounter": context,
                "performed_date_time": iso(),
                "recorded_by": performer,
                "primary_source": True,
                "performer": performer,
                "managing_organization": ref("legal_entity", clinic.legal_entity_id),
            }
        ]
    return body


def tamper(signed_data: str, old: bytes, new: bytes) -> str:
    """The CMS with bytes of its signed content changed after signing (same length, so the DER stays whole)."""
    assert len(old) == len(new)
    der = base64.b64decode(signed_data)
    assert old in der
    return base64.b64encode(der.replace(old, new, 1)).decode()


class Records:
    def __init__(self, client: httpx.Client, world: World) -> None:
        self.client, self.world = client, world

    def create_episode(self, clinic: Clinic, patient: Patient, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(f"/api/patients/{patient.id}/episodes", json=body, headers=clinic.headers)

    def open_episode(self, clinic: Clinic, patient: Patient, **over: Any) -> str:
        body = episode_body(clinic, **over)
        answer = self.create_episode(clinic, patient, body)
        assert answer.status_code == 202, answer.text
        return str(body["id"])

    def episode_action(
        self, clinic: Clinic, patient: Patient, episode_id: str, action: str | None, body: dict[str, Any]
    ) -> httpx.Response:
        path = f"/api/patients/{patient.id}/episodes/{episode_id}" + (f"/actions/{action}" if action else "")
        return self.client.patch(path, json=body, headers=clinic.headers)

    def submit(
        self,
        clinic: Clinic,
        patient: Patient,
        body: dict[str, Any],
        *,
        signer: Doctor | None = None,
        signed_data: str | None = None,
        visit: dict[str, Any] | None = None,
    ) -> httpx.Response:
        request: dict[str, Any] = {"signed_data": signed_data or sign(body, (signer or clinic.doctor).cert)}
        if visit is not None:
            request["visit"] = visit
        return self.client.post(f"/api/patients/{patient.id}/encounter_package", json=request, headers=clinic.headers)

    def correct(
        self, clinic: Clinic, patient: Patient, body: dict[str, Any], *, signer: Doctor | None = None
    ) -> httpx.Response:
        signed = sign(body, (signer or clinic.doctor).cert)
        return self.client.patch(
            f"/api/patients/{patient.id}/encounter_package", json={"signed_data": signed}, headers=clinic.headers
        )


def invalid(answer: httpx.Response) -> list[tuple[str, str]]:
    """(entry, description) of each invalid entry of a 422."""
    assert answer.status_code == 422, answer.text
    return [(i["entry"], i["rules"][0]["description"]) for i in answer.json()["error"]["invalid"]]
