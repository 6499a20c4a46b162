"""Medical records in the demo: for the first patients with a declaration, an episode of care managed by their
family doctor and one encounter in it with a diagnosis, a blood-pressure observation and (every other patient)
a COVID-19 vaccination. Ids derive from the patient's, so seeding twice adds nothing.

The demo's records were not submitted through the API, so no CMS is kept for them: an MIS's own packages are.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.medical_events.models import conditions, encounters, episodes, immunizations, observations
from esoz.medical_events.refs import concept, reference

PATIENTS = 24
_NS = uuid.UUID("5b1f3a52-7d0e-4f43-9a39-0b8d1f6c2e11")
DIAGNOSES = (("I10", "Гіпертензія", "K86"), ("J06.9", "ГРВІ", "R74"), ("E11.9", "Цукровий діабет 2 типу", "T90"))


def _id(kind: str, person_id: object) -> uuid.UUID:
    return uuid.uuid5(_NS, f"{kind}:{person_id}")


def demo_rows(declarations: list[dict[str, Any]], now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The rows of each table for the first PATIENTS declarations (in the seed's order)."""
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in ("episodes", "encounters", "conditions", "observations",
                                                            "immunizations")}  # fmt: skip
    for n, declaration in enumerate(declarations[:PATIENTS]):
        person, doctor, legal_entity = (
            declaration["person_id"],
            declaration["employee_id"],
            declaration["legal_entity_id"],
        )
        code, name, reason = DIAGNOSES[n % len(DIAGNOSES)]
        episode_id, encounter_id, condition_id = (
            _id("episode", person),
            _id("encounter", person),
            _id("condition", person),
        )
        start = (now - timedelta(days=30 + n)).replace(microsecond=0)
        visit = start + timedelta(days=7)
        common = {"person_id": person, "legal_entity_id": legal_entity, "inserted_at": now, "updated_at": now}
        performer = reference("employee", doctor)
        context = reference("encounter", encounter_id)
        out["episodes"].append(
            common | {
                "id": episode_id, "status": "active", "type": "primary_care", "name": name,
                "care_manager_id": doctor, "period_start": start,
                "content": {
                    "id": str(episode_id), "type": {"system": "eHealth/episode_types", "code": "primary_care"},
                    "status": "active", "name": name,
                    "managing_organization": reference("legal_entity", legal_entity),
                    "period": {"start": start.isoformat()}, "care_manager": performer,
                    "current_diagnoses": [{"condition": reference("condition", condition_id),
                                           "role": concept("eHealth/diagnosis_roles", "primary"), "rank": 1,
                                           "code": concept("eHealth/ICD10/condition_codes", code)}],
                },
            }
        )  # fmt: skip
        encounter = {
            "id": str(encounter_id), "status": "finished",
            "period": {"start": visit.isoformat(), "end": (visit + timedelta(minutes=20)).isoformat()},
            "episode": reference("episode", episode_id),
            "class": {"system": "eHealth/encounter_classes", "code": "PHC"},
            "type": concept("eHealth/encounter_types", "AMB"), "performer": performer,
            "division": reference("division", declaration["division_id"]),
            "reasons": [concept("eHealth/ICPC2/reasons", reason)],
            "diagnoses": [{"condition": reference("condition", condition_id),
                           "role": concept("eHealth/diagnosis_roles", "primary"), "rank": 1}],
        }  # fmt: skip
        out["encounters"].append(
            common | {
                "id": encounter_id, "episode_id": episode_id, "status": "finished",
                "division_id": declaration["division_id"], "performer_id": doctor, "encounter_class": "PHC",
                "type": "AMB", "period_start": visit, "period_end": visit + timedelta(minutes=20),
                "content": encounter,
            }
        )  # fmt: skip
        record = common | {"episode_id": episode_id, "encounter_id": encounter_id, "author_id": doctor}
        out["conditions"].append(
            record | {
                "id": condition_id, "status": "confirmed", "clinical_status": "active", "code": code,
                "code_system": "eHealth/ICD10/condition_codes", "onset_date": start, "asserted_date": visit,
                "content": {
                    "id": str(condition_id), "primary_source": True, "asserter": performer, "context": context,
                    "code": concept("eHealth/ICD10/condition_codes", code), "clinical_status": "active",
                    "verification_status": "confirmed", "onset_date": start.isoformat(),
                    "asserted_date": visit.isoformat(),
                },
            }
        )  # fmt: skip
        observation_id = _id("observation", person)
        out["observations"].append(
            record | {
                "id": observation_id, "status": "valid", "code": "8480-6", "issued": visit, "effective_at": visit,
                "content": {
                    "id": str(observation_id), "status": "valid", "context": context,
                    "categories": [concept("eHealth/observation_categories", "vital_signs")],
                    "code": concept("eHealth/LOINC/observation_codes", "8480-6"),
                    "effective_date_time": visit.isoformat(), "issued": visit.isoformat(), "primary_source": True,
                    "performer": performer,
                    "value_quantity": {"value": 120 + n, "unit": "mm[Hg]", "system": "eHealth/ucum/units",
                                       "code": "mm[Hg]"},
                },
            }
        )  # fmt: skip
        if n % 2 == 0:
            immunization_id = _id("immunization", person)
            out["immunizations"].append(
                record | {
                    "id": immunization_id, "status": "completed", "vaccine_code": "COVID19_Pfizer", "date": visit,
                    "content": {
                        "id": str(immunization_id), "status": "completed", "not_given": False,
                        "vaccine_code": concept("eHealth/vaccine_codes", "COVID19_Pfizer"), "context": context,
                        "date": visit.isoformat(), "primary_source": True, "performer": performer,
                        "manufacturer": "Pfizer-BioNTech", "lot_number": f"FK{1000 + n}",
                        "vaccination_protocols": [{"dose_sequence": 1, "series_doses": 2,
                                                   "authority": concept("eHealth/vaccination_authorities", "WVO"),
                                                   "target_diseases": [concept(
                                                       "eHealth/vaccination_target_diseases", "840539006")]}],
                    },
                }
            )  # fmt: skip
    return out


async def add_medical_events(conn: AsyncConnection, data: Any, accounts: dict[str, Any], settings: Any) -> None:
    """The demo hook (`esoz.demo.HOOKS`)."""
    rows = demo_rows(list(data.declarations), datetime.now(UTC))
    for table in (episodes, encounters, conditions, observations, immunizations):
        if rows[table.name]:
            await conn.execute(insert(table).on_conflict_do_nothing(), rows[table.name])
    accounts["medical_events"] = {
        "patients_with_records": [str(e["person_id"]) for e in rows["episodes"]],
        "episodes": len(rows["episodes"]),
        "encounters": len(rows["encounters"]),
        "immunizations": len(rows["immunizations"]),
    }
