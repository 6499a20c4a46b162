"""Medical events of the synthetic country (generate.py --medical-events): episodes, encounters and what their
packages produced, shaped as esoz stores a signed encounter package (medical_events/packages.py): each row keeps
the signed JSON of its record in `content`, beside the columns lists filter on; keys start with person_id.

Per patient with a declaration, RATE (57) events on average, in the real system's proportions (`SHARE`): about a
third encounters, observations the largest share, then conditions, episodes, immunizations, diagnostic reports,
procedures and allergies. Visits are skewed (exponential per patient): most patients have a few, some many.
The doctor of every event is the patient's declared family doctor, at the declaration's facility.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

RATE = 57.0
# Events per patient with a declaration at RATE (sum = RATE).
SHARE = {
    "episodes": 2.5,
    "encounters": 19.0,
    "observations": 20.0,
    "conditions": 10.0,
    "immunizations": 2.5,
    "diagnostic_reports": 1.5,
    "procedures": 1.0,
    "allergy_intolerances": 0.5,
}
TABLES = (
    "episodes",
    "encounters",
    "conditions",
    "observations",
    "immunizations",
    "allergy_intolerances",
    "diagnostic_reports",
    "procedures",
)
HISTORY_DAYS = 3 * 365  # events of the last three years

ICD10 = "eHealth/ICD10/condition_codes"
ICPC2 = "eHealth/ICPC2/condition_codes"
# (system, code, weight): hypertension, respiratory infections and diabetes lead primary care.
DIAGNOSES = (
    (ICD10, "I10", 18),
    (ICD10, "J06.9", 16),
    (ICD10, "E11.9", 7),
    (ICD10, "I25.1", 5),
    (ICD10, "J20.9", 5),
    (ICD10, "M54.5", 5),
    (ICD10, "K29.7", 3),
    (ICD10, "J02.9", 3),
    (ICD10, "N39.0", 2),
    (ICD10, "E66.0", 2),
    (ICD10, "J45.9", 2),
    (ICD10, "Z00.0", 6),
    (ICD10, "U07.1", 2),
    (ICPC2, "R80", 4),
    (ICPC2, "K86", 6),
    (ICPC2, "R74", 4),
    (ICPC2, "A98", 3),
    (ICPC2, "T90", 3),
)
REASONS = ("K86", "R05", "R74", "A03", "A98", "L03", "N01", "R80")
# code: (category, unit, low, high, decimals)
OBSERVATIONS = {
    "8480-6": ("vital_signs", "mm[Hg]", 100, 180, 0),
    "8462-4": ("vital_signs", "mm[Hg]", 60, 110, 0),
    "8867-4": ("vital_signs", "/min", 52, 110, 0),
    "8310-5": ("vital_signs", "Cel", 35.8, 39.5, 1),
    "29463-7": ("vital_signs", "kg", 40, 120, 1),
    "8302-2": ("vital_signs", "cm", 150, 195, 0),
    "39156-5": ("vital_signs", "kg/m2", 18, 38, 1),
    "9279-1": ("vital_signs", "/min", 12, 24, 0),
    "59408-5": ("vital_signs", "%", 90, 100, 0),
    "2339-0": ("laboratory", "mg/dL", 70, 220, 0),
    "4548-4": ("laboratory", "%", 4.2, 10.5, 1),
    "718-7": ("laboratory", "g/dL", 9, 17, 1),
}
OBSERVATION_WEIGHTS = (22, 22, 14, 8, 8, 3, 4, 3, 6, 4, 2, 4)
ADULT_VACCINES = (("Influenza", 40), ("COVID19_Pfizer", 25), ("COVID19_Moderna", 8), ("Td", 15), ("HepB", 5),
                  ("COVID19_AstraZeneca", 4), ("COVID19_Janssen", 3))  # fmt: skip
CHILD_VACCINES = (("DTaP", 22), ("IPV", 18), ("HepB", 14), ("MMR", 16), ("Hib", 12), ("BCG", 5), ("Influenza", 8),
                  ("OPV", 5))  # fmt: skip
ALLERGIES = ("227493005", "762952008", "256259004", "764146007", "387207008", "3718001", "102263004", "227037002")
EPISODE_TYPES = (("primary_care", 80), ("treatment", 10), ("diagnostic", 6), ("rehab", 4))
ENCOUNTER_TYPES = (("AMB", 85), ("home", 8), ("field", 3), ("covid", 4))
REPORT_CONCLUSIONS = ("ЕКГ без патологічних змін", "Загальний аналіз крові в межах норми",
                      "Рентгенографія ОГК: без вогнищевих змін", "УЗД ОЧП: без особливостей")  # fmt: skip


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}], "text": ""}


def _ref(resource: str, value: object) -> dict[str, Any]:
    return {
        "identifier": {
            "type": {"coding": [{"system": "eHealth/resources", "code": resource}], "text": ""},
            "value": str(value),
        }
    }


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _draws(rng: random.Random, mean: float) -> int:
    whole = int(mean)
    return whole + (1 if rng.random() < mean - whole else 0)


def _weighted(pairs: tuple[tuple[Any, int], ...]) -> tuple[list[Any], list[int]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


class MedicalEvents:
    """Generates one patient's medical events into `out[table]` (rows as dicts of the tables' columns)."""

    def __init__(
        self, rng: random.Random, new_id: Callable[[], uuid.UUID], now: datetime, rate: float, services: list[Any]
    ) -> None:
        self.rng, self.new_id, self.now, self.scale = rng, new_id, now, rate / RATE
        self.services = [str(s[1]) for s in services] or [str(uuid.UUID(int=1))]
        per_encounter = SHARE["encounters"]
        self.per_encounter = {t: SHARE[t] / per_encounter for t in TABLES[2:]}
        self.diagnoses = _weighted(tuple(((s, c), w) for s, c, w in DIAGNOSES))
        self.obs_codes = list(OBSERVATIONS), list(OBSERVATION_WEIGHTS)
        self.adult, self.child = _weighted(ADULT_VACCINES), _weighted(CHILD_VACCINES)
        self.episode_types, self.encounter_types = _weighted(EPISODE_TYPES), _weighted(ENCOUNTER_TYPES)

    def patient(self, person: dict[str, Any], decl: dict[str, Any], out: dict[str, list[Any]]) -> None:
        rng, scale = self.rng, self.scale
        mean = SHARE["encounters"] * scale
        visits = int(rng.expovariate(1 / mean) + 0.5) if mean > 0 else 0
        if visits == 0:
            return
        pid = person["id"]
        birth: date = person["birth_date"]
        born = datetime(birth.year, birth.month, birth.day, 12, tzinfo=UTC)
        earliest = max(self.now - timedelta(days=HISTORY_DAYS), born + timedelta(days=1))
        span = max((self.now - earliest).total_seconds() - 3600, 60)
        times = sorted(earliest + timedelta(seconds=rng.random() * span) for _ in range(visits))
        extra = SHARE["episodes"] * scale - 1
        n_episodes = min(visits, 1 + (int(rng.expovariate(1 / extra) + 0.5) if extra > 0 else 0))
        ctx = {
            "pid": pid,
            "doctor": decl["employee_id"],
            "le": decl["legal_entity_id"],
            "division": decl["division_id"],
            "child": (self.now.date() - birth).days < 18 * 365,
        }
        plan: list[list[datetime]] = [[] for _ in range(n_episodes)]
        for k, at in enumerate(times):
            plan[k if k < n_episodes else rng.randrange(n_episodes)].append(at)
        for visits_of in plan:
            episode_id = self.episode(ctx, visits_of, out)
            for at in visits_of:
                self.encounter(ctx, episode_id, at, out)

    def _common(self, ctx: dict[str, Any], at: datetime) -> dict[str, Any]:
        return {"person_id": ctx["pid"], "legal_entity_id": ctx["le"], "inserted_at": at, "updated_at": at}

    def episode(self, ctx: dict[str, Any], visits: list[datetime], out: dict[str, list[Any]]) -> uuid.UUID:
        rng = self.rng
        eid = self.new_id()
        start = visits[0] - timedelta(minutes=rng.randrange(5, 60))
        kind = rng.choices(*self.episode_types)[0]
        closed = visits[-1] < self.now - timedelta(days=120) and rng.random() < 0.7
        end = visits[-1] + timedelta(days=rng.randint(1, 14)) if closed else None
        name = {"primary_care": "Первинна допомога", "treatment": "Лікування", "diagnostic": "Обстеження",
                "rehab": "Реабілітація"}[kind] + f" {start.year}"  # fmt: skip
        content: dict[str, Any] = {
            "id": str(eid),
            "type": {"system": "eHealth/episode_types", "code": kind},
            "status": "active",
            "name": name,
            "managing_organization": _ref("legal_entity", ctx["le"]),
            "period": {"start": _iso(start)},
            "care_manager": _ref("employee", ctx["doctor"]),
        }
        if closed:
            content["status_reason"] = _concept("eHealth/episode_closing_reasons", "legal_entity")
            content["closing_summary"] = "Пацієнт одужав"
        out["episodes"].append(
            {
                "id": eid,
                "status": "closed" if closed else "active",
                "type": kind,
                "name": name,
                "care_manager_id": ctx["doctor"],
                "period_start": start,
                "period_end": end,
                "content": orjson.dumps(content).decode(),
                **self._common(ctx, start),
            }
        )
        return eid

    def encounter(self, ctx: dict[str, Any], episode_id: uuid.UUID, at: datetime, out: dict[str, list[Any]]) -> None:
        rng, per = self.rng, self.per_encounter
        enc_id = self.new_id()
        end = at + timedelta(minutes=rng.randrange(10, 40))
        stored = end + timedelta(seconds=rng.randrange(5, 600))
        context = _ref("encounter", enc_id)
        performer = _ref("employee", ctx["doctor"])
        common = {
            "episode_id": episode_id,
            "encounter_id": enc_id,
            "author_id": ctx["doctor"],
            **self._common(ctx, stored),
        }
        conditions = []
        for _ in range(_draws(rng, per["conditions"])):
            system, code = rng.choices(*self.diagnoses)[0]
            cid = self.new_id()
            active = at > self.now - timedelta(days=60) or code in ("I10", "E11.9", "I25.1", "J45.9", "K86", "T90")
            onset = at - timedelta(days=rng.randint(0, 30))
            content = {
                "id": str(cid),
                "primary_source": True,
                "asserter": performer,
                "context": context,
                "code": _concept(system, code),
                "clinical_status": "active" if active else "resolved",
                "verification_status": "confirmed",
                "onset_date": _iso(onset),
                "asserted_date": _iso(at),
            }
            conditions.append(cid)
            out["conditions"].append(
                {
                    "id": cid,
                    "status": "confirmed",
                    "clinical_status": content["clinical_status"],
                    "code": code,
                    "code_system": system,
                    "onset_date": onset,
                    "asserted_date": at,
                    "content": orjson.dumps(content).decode(),
                    **common,
                }
            )
        reports = []
        for _ in range(_draws(rng, per["diagnostic_reports"])):
            rid, service = self.new_id(), rng.choice(self.services)
            content = {
                "id": str(rid),
                "status": "final",
                "code": _ref("service", service),
                "category": [_concept("eHealth/diagnostic_report_categories", "diagnostic_procedure")],
                "encounter": context,
                "issued": _iso(end),
                "conclusion": rng.choice(REPORT_CONCLUSIONS),
                "primary_source": True,
                "recorded_by": performer,
                "managing_organization": _ref("legal_entity", ctx["le"]),
            }
            reports.append(rid)
            out["diagnostic_reports"].append(
                {
                    "id": rid,
                    "status": "final",
                    "code": service,
                    "issued": end,
                    "content": orjson.dumps(content).decode(),
                    **common,
                }
            )
        for _ in range(_draws(rng, per["observations"])):
            oid = self.new_id()
            code = rng.choices(*self.obs_codes)[0]
            category, unit, low, high, decimals = OBSERVATIONS[code]
            value = round(rng.uniform(low, high), decimals)
            report = reports[0] if reports and category == "laboratory" else None
            content = {
                "id": str(oid),
                "status": "valid",
                "context": context,
                "categories": [_concept("eHealth/observation_categories", category)],
                "code": _concept("eHealth/LOINC/observation_codes", code),
                "effective_date_time": _iso(at),
                "issued": _iso(end),
                "primary_source": True,
                "performer": performer,
                "value_quantity": {
                    "value": value if decimals else int(value),
                    "comparator": "=",
                    "unit": unit,
                    "system": "eHealth/ucum/units",
                    "code": unit,
                },
            }
            if report is not None:
                content["diagnostic_report"] = _ref("diagnostic_report", report)
            out["observations"].append(
                {
                    "id": oid,
                    "status": "valid",
                    "code": code,
                    "diagnostic_report_id": report,
                    "issued": end,
                    "effective_at": at,
                    "content": orjson.dumps(content).decode(),
                    **common,
                }
            )
        for _ in range(_draws(rng, per["immunizations"])):
            iid = self.new_id()
            vaccine = rng.choices(*(self.child if ctx["child"] else self.adult))[0]
            content = {
                "id": str(iid),
                "status": "completed",
                "not_given": False,
                "vaccine_code": _concept("eHealth/vaccine_codes", vaccine),
                "context": context,
                "date": _iso(at),
                "primary_source": True,
                "performer": performer,
                "lot_number": f"{rng.choice('ABCDEFGHKLMN')}{rng.randrange(10**5):05d}",
                "dose_quantity": {
                    "value": 0.5,
                    "unit": "ml",
                    "system": "eHealth/immunization_dosage_units",
                    "code": "ml",
                },
                "vaccination_protocols": [
                    {
                        "dose_sequence": rng.randint(1, 3),
                        "series_doses": 3,
                        "authority": _concept("eHealth/vaccination_authorities", "WVO"),
                    }
                ],
            }
            out["immunizations"].append(
                {
                    "id": iid,
                    "status": "completed",
                    "vaccine_code": vaccine,
                    "date": at,
                    "content": orjson.dumps(content).decode(),
                    **common,
                }
            )
        for _ in range(_draws(rng, per["allergy_intolerances"])):
            aid, code = self.new_id(), rng.choice(ALLERGIES)
            onset = at - timedelta(days=rng.randint(30, 3000))
            content = {
                "id": str(aid),
                "clinical_status": "active",
                "verification_status": "confirmed",
                "type": "allergy",
                "category": rng.choice(("medication", "food", "environment")),
                "criticality": rng.choice(("low", "high")),
                "context": context,
                "code": _concept("eHealth/allergy_intolerance_codes", code),
                "onset_date_time": _iso(onset),
                "asserted_date": _iso(at),
                "primary_source": True,
                "asserter": performer,
            }
            out["allergy_intolerances"].append(
                {
                    "id": aid,
                    "status": "confirmed",
                    "clinical_status": "active",
                    "code": code,
                    "onset_date_time": onset,
                    "content": orjson.dumps(content).decode(),
                    **common,
                }
            )
        for _ in range(_draws(rng, per["procedures"])):
            prid, service = self.new_id(), rng.choice(self.services)
            content = {
                "id": str(prid),
                "status": "completed",
                "code": _ref("service", service),
                "encounter": context,
                "performed_date_time": _iso(at),
                "recorded_by": performer,
                "primary_source": True,
                "performer": performer,
                "managing_organization": _ref("legal_entity", ctx["le"]),
            }
            out["procedures"].append(
                {
                    "id": prid,
                    "status": "completed",
                    "code": service,
                    "performed_at": at,
                    "content": orjson.dumps(content).decode(),
                    **common,
                }
            )
        type_code = rng.choices(*self.encounter_types)[0]
        encounter: dict[str, Any] = {
            "id": str(enc_id),
            "status": "finished",
            "period": {"start": _iso(at), "end": _iso(end)},
            "visit": _ref("visit", self.new_id()),
            "episode": _ref("episode", episode_id),
            "class": {"system": "eHealth/encounter_classes", "code": "PHC"},
            "type": _concept("eHealth/encounter_types", type_code),
            "performer": performer,
            "division": _ref("division", ctx["division"]),
            "reasons": [_concept("eHealth/ICPC2/reasons", rng.choice(REASONS))],
        }
        if conditions:
            encounter["diagnoses"] = [
                {
                    "condition": _ref("condition", c),
                    "role": _concept("eHealth/diagnosis_roles", "primary"),
                    "rank": 1 + i,
                }
                for i, c in enumerate(conditions[:10])
            ]
        if reports:
            encounter["supporting_info"] = [_ref("diagnostic_report", r) for r in reports]
        out["encounters"].append(
            {
                "id": enc_id,
                "episode_id": episode_id,
                "status": "finished",
                "division_id": ctx["division"],
                "performer_id": ctx["doctor"],
                "encounter_class": "PHC",
                "type": type_code,
                "incoming_referral_id": None,
                "period_start": at,
                "period_end": end,
                "content": orjson.dumps(encounter).decode(),
                "person_id": ctx["pid"],
                "legal_entity_id": ctx["le"],
                "inserted_at": stored,
                "updated_at": stored,
            }
        )
