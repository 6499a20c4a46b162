"""Demo data: facilities, staff, patients and declarations, created once per database by `esoz seed --demo`.

Everything is drawn from a fixed seed (Faker `uk_UA` plus `random.Random`), so two fresh databases seeded
on the same day hold the same people; dates are relative to the day of seeding so ages and declaration
terms stay plausible. All rows go in with bulk inserts in one transaction; a legal entity with the fixed
EDRPOU `DEMO_MARKER_EDRPOU` marks the data as present, and a second run does nothing.

The accounts file (JSON, mode 0600) is what MIS developers script against. Its keys are stable; later
issues fill the empty lists:

    {
      "generated_at": "2026-11-26T15:00:00+00:00",
      "database": "127.0.0.1:5432/esoz",                       # host[:port]/name, never the password
      "legal_entities": [{"id", "edrpou", "name", "short_name", "type", "region",
                          "divisions": [{"id", "name", "type"}]}],
      "employees": [{"id", "legal_entity_id", "division_id", "party_id", "employee_type", "position",
                     "speciality", "first_name", "last_name", "second_name", "tax_id", "role"}],
      "patients": [{"id", "first_name", "last_name", "second_name", "birth_date", "tax_id",
                    "birth_certificate", "phone", "declaration_employee_id"}],  # a sample for person search
      "users": [],          # identity issue: logins and passwords of the employees
      "clients": [],        # identity issue: MIS OAuth client ids and secrets
      "certificates": [],   # signatures issue: certificate and key files of the signers
      "notes": "..."
    }

`role` is one of owner, family_doctor, therapist, pediatrician, specialist, pharmacy_owner, pharmacist;
`speciality` is the speciality code (e.g. "FAMILY_DOCTOR", "CARDIOLOGY") or null.
Demo phone numbers are random numbers with real mobile prefixes: never point a real SMS provider at them.
"""

import os
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from faker import Faker
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from stdnum.ua import edrpou as edrpou_number
from stdnum.ua import rntrc

from esoz.core import audit
from esoz.core.db import libpq_url, make_engine
from esoz.core.logging import get_logger
from esoz.core.models import human_numbers
from esoz.core.numbers import ALPHABET
from esoz.registry import demo_catalog as catalog
from esoz.registry.models import declarations, divisions, employees, legal_entities, parties, persons
from esoz.registry.reference import region_rows, rules

log = get_logger("esoz.registry.seed")

SEED = 20_260_101
# The real system's `declaration_term` global parameter (years); minors' declarations end the day before 18.
DECLARATION_TERM_YEARS = 40
DECLARATION_SHARE = 0.9
KYIV = ZoneInfo("Europe/Kyiv")
RNOKPP_EPOCH = date(1899, 12, 31)  # day 00001 of the РНОКПП is 1900-01-01
ID_CARDS_SINCE = date(2016, 1, 11)  # ID cards replaced passport booklets for new passports
PASSPORT_LETTERS = "АВЕІКМНОРСТХ"  # series letters seen on booklets; none of the forbidden Ы Ъ Э Ё
ROMAN_SERIES = ("I", "II", "III", "IV")
SAMPLE_PATIENTS = 12
NOTES = (
    "users/passwords and MIS client secrets arrive with the identity issue; "
    "certificate and key files with the signatures issue"
)


@dataclass
class DemoData:
    """Rows ready for insertion, plus what the accounts file needs that the rows do not say."""

    legal_entities: list[dict[str, Any]] = field(default_factory=list)
    divisions: list[dict[str, Any]] = field(default_factory=list)
    parties: list[dict[str, Any]] = field(default_factory=list)
    employees: list[dict[str, Any]] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)
    declarations: list[dict[str, Any]] = field(default_factory=list)
    roles: dict[uuid.UUID, str] = field(default_factory=dict)  # employee id -> role hint

    def counts(self) -> dict[str, int]:
        return {
            "legal_entities": len(self.legal_entities),
            "divisions": len(self.divisions),
            "parties": len(self.parties),
            "employees": len(self.employees),
            "persons": len(self.persons),
            "declarations": len(self.declarations),
        }


# --- identifiers ----------------------------------------------------------------------------------------------


def edrpou_for(base: str) -> str:
    return base + edrpou_number.calc_check_digit(base)


DEMO_MARKER_EDRPOU = edrpou_for(catalog.FACILITIES[0].edrpou_base)


def rnokpp(birth_date: date, gender: str, serial: int) -> str:
    """РНОКПП: zero-padded day count (Faker omits the padding), 3-digit serial, sex digit, check digit."""
    days = (birth_date - RNOKPP_EPOCH).days
    sex_digit = (2 * (serial % 5) + 1) if gender == "MALE" else 2 * (serial % 5)
    head = f"{days:05d}{serial // 5 % 1000:03d}{sex_digit}"
    return head + rntrc.calc_check_digit(head)


class _Ids:
    """UUIDv7-shaped ids from a seeded generator, one millisecond apart so they stay time-ordered."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.ms = int(now.timestamp() * 1000)

    def __call__(self) -> uuid.UUID:
        self.ms += 1
        rand = self.rng.getrandbits(74)
        value = (self.ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62
        return uuid.UUID(int=value | (rand & ((1 << 62) - 1)))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# --- the generator ----------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, now: datetime, seed: int) -> None:
        self.now = now
        self.seed = seed
        self.today = now.astimezone(KYIV).date()
        self.rng = random.Random(seed)
        self.fake = Faker("uk_UA")
        self.fake.seed_instance(seed)
        self.new_id = _Ids(random.Random(seed + 1), now)
        self.rules = rules()
        self.name_pattern = re.compile(self.rules["name_pattern"])
        self.regions = {r["katottg"]: r for r in region_rows()}
        self.tax_ids: set[str] = set()
        self.phones: set[str] = set()
        self.data = DemoData()

    # small draws

    def reseed(self, key: str) -> None:
        """Each facility, employee and patient draws from its own stream, so one that changes with the day
        (a 14th birthday adds an ID card) leaves the others, and every name, as they were."""
        self.rng = random.Random(f"{self.seed}:{key}")
        self.fake.seed_instance(f"{self.seed}:{key}")

    def between(self, start: date, end: date) -> date:
        # A fraction rather than randint: the stream consumed does not depend on the span.
        span = max((end - start).days, 0)
        return start + timedelta(days=min(int(self.rng.random() * (span + 1)), span))

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def name(self, kind: str, gender: str) -> str:
        """A Faker name that passes the registry's name rule (Faker spells the apostrophe as U+02BC)."""
        while True:
            value = getattr(self.fake, f"{kind}_{gender.lower()}")().replace("ʼ", "’")
            if self.name_pattern.fullmatch(value):
                return value

    def tax_id(self, birth_date: date, gender: str) -> str:
        while True:
            value = rnokpp(birth_date, gender, self.rng.randrange(5000))
            if value not in self.tax_ids:
                self.tax_ids.add(value)
                return value

    def mobile(self) -> str:
        while True:
            value = "+38" + self.rng.choice(self.rules["mobile_prefixes"]) + self.digits(7)
            if value not in self.phones:
                self.phones.add(value)
                return value

    def landline(self, oblast: catalog.Oblast) -> str:
        return "+38" + oblast.landline_code + self.digits(10 - len(oblast.landline_code))

    def address(self, kind: str, katottg: str, settlement: catalog.Settlement, apartment: bool) -> dict[str, Any]:
        street_type, street = self.rng.choice(catalog.STREETS)
        return {
            "type": kind,
            "country": "UA",
            "area": self.regions[katottg]["name_uk"],
            "region": settlement.raion,
            "settlement": settlement.name,
            "settlement_type": settlement.type,
            "street_type": street_type,
            "street": street,
            "building": str(self.rng.randint(1, 120)),
            "apartment": str(self.rng.randint(1, 180)) if apartment else None,
            "zip": f"{self.rng.randint(settlement.zip_from, settlement.zip_to):05d}",
        }

    def identity_document(self, birth_date: date, oblast: catalog.Oblast, booklet_share: float) -> dict[str, Any]:
        """A passport booklet (only for those 16 before ID cards came) or a valid ID card."""
        came_of_age = _add_years(birth_date, 16)
        if came_of_age < ID_CARDS_SINCE and self.rng.random() < booklet_share:
            issued = self.between(came_of_age, min(came_of_age + timedelta(days=3650), ID_CARDS_SINCE))
            series = self.rng.choice(PASSPORT_LETTERS) + self.rng.choice(PASSPORT_LETTERS)
            return {
                "type": "PASSPORT",
                "number": series + self.digits(6),
                "issued_by": oblast.passport_issuer,
                "issued_at": issued.isoformat(),
            }
        adult = age_on(birth_date, self.today) >= 18
        # An ID card is valid 10 years from 18 and 4 years before that: issue recently enough to be valid now.
        earliest = max(_add_years(birth_date, 18 if adult else 14), ID_CARDS_SINCE, self.today - timedelta(days=1000))
        issued = self.between(earliest, self.today - timedelta(days=1))
        return {
            "type": "NATIONAL_ID",
            "number": self.digits(9),
            "issued_by": oblast.id_card_issuer,
            "issued_at": issued.isoformat(),
            "expiration_date": _add_years(issued, 10 if adult else 4).isoformat(),
        }

    def birth_certificate(self, birth_date: date, oblast: catalog.Oblast) -> dict[str, Any]:
        # No space: the registry's pattern for birth certificates does not allow one.
        number = f"{self.rng.choice(ROMAN_SERIES)}-{oblast.birth_certificate_series}{self.digits(6)}"
        return {
            "type": "BIRTH_CERTIFICATE",
            "number": number,
            "issued_by": oblast.civil_registry,
            "issued_at": (birth_date + timedelta(days=self.rng.randint(3, 30))).isoformat(),
        }

    # facilities and staff

    def facilities(self) -> list[tuple[catalog.Facility, dict[str, Any], list[dict[str, Any]]]]:
        built: list[tuple[catalog.Facility, dict[str, Any], list[dict[str, Any]]]] = []
        for facility in catalog.FACILITIES:
            self.reseed(f"facility:{facility.edrpou_base}")
            oblast = catalog.OBLASTS[facility.region]
            home = oblast.settlements[facility.settlement]
            address = self.address("REGISTRATION", facility.region, home, apartment=False)
            le_id = self.new_id()
            slug = f"demo{len(built) + 1}"
            entity = {
                "id": le_id,
                "edrpou": edrpou_for(facility.edrpou_base),
                "name": facility.name,
                "short_name": facility.short_name,
                "public_name": facility.short_name,
                "type": facility.type,
                "status": "ACTIVE",
                "is_active": True,
                "legal_form": facility.legal_form,
                "owner_property_type": facility.owner_property_type,
                "email": f"info@{slug}.example.com",
                "website": f"https://{slug}.example.com",
                "beneficiary": None,  # the owner's name, once the owner is drawn
                "receiver_funds_code": None,
                "nhs_verified": True,
                "nhs_reviewed": True,
                "mis_verified": "VERIFIED",
                "edr_verified": True,
                "region": facility.region,
                "kveds": list(facility.kveds),
                "addresses": [address, {**address, "type": "RESIDENCE"}],
                "phones": [
                    {"type": "LANDLINE", "number": self.landline(oblast)},
                    {"type": "MOBILE", "number": self.mobile()},
                ],
                "accreditation": self.accreditation(facility),
                "licenses": [self.license(facility)],
                "archive": [],
            }
            division_rows = [self.division(entity, facility, spec) for spec in facility.divisions]
            built.append((facility, entity, division_rows))
        return built

    def accreditation(self, facility: catalog.Facility) -> dict[str, Any] | None:
        if facility.type == "PHARMACY":
            return None
        issued = self.between(self.today - timedelta(days=900), self.today - timedelta(days=60))
        return {
            "category": self.rng.choice(["FIRST", "HIGHEST"]),
            "order_no": f"{self.rng.randint(100, 999)}-А",
            "order_date": issued.isoformat(),
            "issued_date": issued.isoformat(),
            "expiry_date": _add_years(issued, 3).isoformat(),
        }

    def license(self, facility: catalog.Facility) -> dict[str, Any]:
        issued = self.between(self.today - timedelta(days=3000), self.today - timedelta(days=365))
        pharmacy = facility.type == "PHARMACY"
        return {
            "license_number": f"{'АЕ' if pharmacy else 'МП'}{self.digits(6)}",
            "issued_by": "Міністерство охорони здоров’я України",
            "issued_date": issued.isoformat(),
            "active_from_date": issued.isoformat(),
            "order_no": f"{self.rng.randint(100, 2999)}",
            "what_licensed": "роздрібна торгівля лікарськими засобами" if pharmacy else "медична практика",
        }

    def division(
        self, entity: dict[str, Any], facility: catalog.Facility, spec: tuple[str, str, int]
    ) -> dict[str, Any]:
        name, division_type, settlement_index = spec
        oblast = catalog.OBLASTS[facility.region]
        settlement = oblast.settlements[settlement_index]
        pharmacy = division_type.startswith("DRUGSTORE")
        weekdays = [["08.00", "21.00"]] if pharmacy else [["08.00", "20.00"]]
        hours = {day: weekdays for day in ("mon", "tue", "wed", "thu", "fri")}
        hours |= {"sat": [["09.00", "18.00"]] if pharmacy else [["09.00", "14.00"]]}
        return {
            "id": self.new_id(),
            "legal_entity_id": entity["id"],
            "name": name,
            "type": division_type,
            "status": "ACTIVE",
            "is_active": True,
            "email": f"division{self.rng.randint(1, 99)}@{entity['email'].split('@', 1)[1]}",
            "mountain_group": False,
            "dls_id": self.digits(7) if pharmacy else None,
            "dls_verified": True if pharmacy else None,
            "region": facility.region,
            "addresses": [self.address("RESIDENCE", facility.region, settlement, apartment=False)],
            "phones": [{"type": "LANDLINE", "number": self.landline(oblast)}],
            # Within ~1.5 km of the settlement's centre: well inside Ukraine.
            "location": {
                "latitude": round(settlement.lat + self.rng.uniform(-0.012, 0.012), 6),
                "longitude": round(settlement.lon + self.rng.uniform(-0.018, 0.018), 6),
            },
            "working_hours": hours,
        }

    def speciality(self, code: str, pharmacy: bool) -> dict[str, Any]:
        attested = self.between(self.today - timedelta(days=1500), self.today - timedelta(days=30))
        school, _ = self.rng.choice(catalog.PHARMACY_SCHOOLS if pharmacy else catalog.MEDICAL_SCHOOLS)
        return {
            "speciality": code,
            "speciality_officio": True,
            "level": "FIRST",
            "qualification_type": "AWARDING",
            "attestation_name": school,
            "attestation_date": attested.isoformat(),
            "valid_to_date": _add_years(attested, 5).isoformat(),
            "certificate_number": f"{self.digits(3)}/{self.digits(4)}",
        }

    def staff_member(
        self,
        facility: catalog.Facility,
        entity: dict[str, Any],
        division_rows: list[dict[str, Any]],
        index: int,
        s: catalog.Staff,
    ) -> None:
        self.reseed(f"staff:{facility.edrpou_base}:{index}")
        oblast = catalog.OBLASTS[facility.region]
        gender = self.rng.choice(["MALE", "FEMALE"])
        birth_date = self.between(self.today - timedelta(days=62 * 365), self.today - timedelta(days=28 * 365))
        pharmacy = facility.type == "PHARMACY"
        speciality = self.speciality(s.speciality, pharmacy) if s.speciality else None
        school, city = self.rng.choice(catalog.PHARMACY_SCHOOLS if pharmacy else catalog.MEDICAL_SCHOOLS)
        graduated = date(birth_date.year + 23, 6, self.rng.randint(20, 30))
        party_id = self.new_id()
        first_name = self.name("first_name", gender)
        last_name = self.name("last_name", gender)
        second_name = self.name("middle_name", gender)
        tax_id = self.tax_id(birth_date, gender)
        self.data.parties.append(
            {
                "id": party_id,
                "first_name": first_name,
                "last_name": last_name,
                "second_name": second_name,
                "birth_date": birth_date,
                "gender": gender,
                "tax_id": tax_id,
                "no_tax_id": False,
                "email": self.fake.safe_email(),
                "about_myself": None,
                "working_experience": self.today.year - graduated.year,
                "declaration_limit": self.rules["declaration_limits"].get(s.speciality or ""),
                "documents": [self.identity_document(birth_date, oblast, booklet_share=0.7)],
                "phones": [{"type": "MOBILE", "number": self.mobile()}],
                "educations": [
                    {
                        "country": "UA",
                        "city": city,
                        "institution_name": school,
                        "issued_date": graduated.isoformat(),
                        "diploma_number": f"{self.rng.choice(PASSPORT_LETTERS)}{self.rng.choice(PASSPORT_LETTERS)}"
                        f"{self.digits(8)}",
                        "degree": "MASTER" if graduated.year >= 2017 else "EXPERT",
                        "speciality": "Фармація" if pharmacy else "Лікувальна справа",
                    }
                ],
                "qualifications": [],
                "specialities": [speciality] if speciality else [],
                "science_degree": None,
            }
        )
        employee_id = self.new_id()
        self.data.employees.append(
            {
                "id": employee_id,
                "legal_entity_id": entity["id"],
                "division_id": None if s.division is None else division_rows[s.division]["id"],
                "party_id": party_id,
                "employee_type": s.employee_type,
                "position": s.position,
                "status": "APPROVED",
                "is_active": True,
                "start_date": self.between(max(graduated, self.today - timedelta(days=3650)), self.today),
                "end_date": None,
                "status_reason": None,
                "speciality": speciality,
            }
        )
        self.data.roles[employee_id] = s.role
        if s.role in ("owner", "pharmacy_owner"):
            entity["beneficiary"] = f"{last_name} {first_name} {second_name}"

    # patients

    def person(self, katottg: str, index: int) -> dict[str, Any]:
        self.reseed(f"person:{katottg}:{index}")
        oblast = catalog.OBLASTS[katottg]
        gender = self.rng.choice(["MALE", "FEMALE"])
        names = {k: self.name(k, gender) for k in ("first_name", "last_name", "middle_name")}
        low, high, _ = self.rng.choices(catalog.AGE_BUCKETS, weights=[b[2] for b in catalog.AGE_BUCKETS])[0]
        birth_date = self.between(
            _add_years(self.today, -high) + timedelta(days=1), _add_years(self.today, -low) - timedelta(days=1)
        )
        age = age_on(birth_date, self.today)
        documents: list[dict[str, Any]] = []
        if age < 18:
            documents.append(self.birth_certificate(birth_date, oblast))
        if age >= 14:
            documents.append(self.identity_document(birth_date, oblast, booklet_share=0.6))
        # Under 14 a РНОКПП is optional (many children have none yet); a few adults refused one on religious
        # grounds (no_tax_id) and hold a passport booklet.
        no_tax_id = age >= 18 and documents[-1]["type"] == "PASSPORT" and self.rng.random() < 0.05
        has_tax_id = not no_tax_id and (age >= 14 or self.rng.random() < 0.6)
        unzr = None
        if any(d["type"] == "NATIONAL_ID" for d in documents):
            unzr = f"{birth_date:%Y%m%d}-{self.digits(5)}"
        home = self.rng.choice(oblast.settlements)
        registration = self.address("REGISTRATION", katottg, home, apartment=home.type == "CITY")
        moved = self.rng.random() < 0.2
        residence = (
            self.address("RESIDENCE", katottg, self.rng.choice(oblast.settlements), apartment=True)
            if moved
            else {**registration, "type": "RESIDENCE"}
        )
        phone = self.mobile()
        offline = self.rng.random() < 0.12
        method = {
            "id": str(self.new_id()),
            "type": "OFFLINE" if offline else "OTP",
            "phone_number": None if offline else phone,
        }
        email = self.fake.safe_email() if age >= 18 and self.rng.random() < 0.4 else None
        contact_gender = self.rng.choice(["MALE", "FEMALE"])
        return {
            "id": self.new_id(),
            "first_name": names["first_name"],
            "last_name": names["last_name"],
            "second_name": names["middle_name"],
            "birth_date": birth_date,
            "birth_country": "Україна",
            "birth_settlement": self.rng.choice([home.name, self.fake.city_name()]),
            "gender": gender,
            "email": email,
            "tax_id": self.tax_id(birth_date, gender) if has_tax_id else None,
            "no_tax_id": no_tax_id,
            "unzr": unzr,
            "death_date": None,
            "preferred_way_communication": "email" if email else "phone",
            "secret": self.rng.choice(catalog.SECRET_WORDS),
            "patient_signed": True,
            "process_disclosure_data_consent": True,
            "status": "active",
            "is_active": True,
            "region": katottg,
            "documents": documents,
            "phones": [{"type": "MOBILE", "number": phone}],
            "addresses": [registration, residence],
            "authentication_methods": [method],
            "emergency_contact": {
                "first_name": self.name("first_name", contact_gender),
                "last_name": self.name("last_name", contact_gender),
                "second_name": self.name("middle_name", contact_gender),
                "phones": [{"type": "MOBILE", "number": self.mobile()}],
            },
            "confidant_person": [],
        }

    def link_confidants(self) -> None:
        """Children under 14 act through a parent: an adult of the same oblast 20–45 years older."""
        adults = [p for p in self.data.persons if age_on(p["birth_date"], self.today) >= 20]
        for child in self.data.persons:
            if age_on(child["birth_date"], self.today) >= 14:
                continue
            parents = [
                p
                for p in adults
                if p["region"] == child["region"]
                and 20 <= (child["birth_date"] - p["birth_date"]).days // 365 <= 45
                and p["no_tax_id"] is False
            ]
            if not parents:
                continue
            parent = self.rng.choice(parents)
            certificate = next(d for d in child["documents"] if d["type"] == "BIRTH_CERTIFICATE")
            child["confidant_person"] = [
                {
                    "relation_type": "PRIMARY",
                    "person_id": str(parent["id"]),
                    "documents_relationship": [{"type": "BIRTH_CERTIFICATE", "number": certificate["number"]}],
                }
            ]

    # declarations

    def declarations(self, doctors: list[dict[str, Any]]) -> None:
        limits = self.rules["declaration_limits"]
        load: dict[uuid.UUID, int] = {d["id"]: 0 for d in doctors}
        entity_by_division = {d["id"]: d["legal_entity_id"] for d in self.data.divisions}
        region_by_entity = {e["id"]: e["region"] for e in self.data.legal_entities}
        numbers: set[str] = set()
        for person in self.data.persons:
            if self.rng.random() >= DECLARATION_SHARE:
                continue
            birth_date = person["birth_date"]
            adult = age_on(birth_date, self.today) >= 18
            fits = ("THERAPIST", "FAMILY_DOCTOR") if adult else ("PEDIATRICIAN", "FAMILY_DOCTOR")
            candidates = [
                d
                for d in doctors
                if region_by_entity[d["legal_entity_id"]] == person["region"]
                and d["speciality"]["speciality"] in fits
                and load[d["id"]] < limits[d["speciality"]["speciality"]]
            ]
            if not candidates:
                continue
            doctor = self.rng.choice(candidates)
            load[doctor["id"]] += 1
            earliest = max(self.today - timedelta(days=730), birth_date)
            if adult:
                # A minor's declaration ends the day before 18: an adult's still-active one began after that.
                earliest = max(earliest, _add_years(birth_date, 18))
            start = self.between(earliest, self.today)
            end = _add_years(start, DECLARATION_TERM_YEARS)
            if age_on(birth_date, start) < 18:
                end = min(end, _add_years(birth_date, 18) - timedelta(days=1))
            signed_local = datetime.combine(start, time(self.rng.randint(8, 17), self.rng.randint(0, 59)), KYIV)
            while True:
                number = "0000-" + "-".join("".join(self.rng.choice(ALPHABET) for _ in range(4)) for _ in range(2))
                if number not in numbers:
                    numbers.add(number)
                    break
            self.data.declarations.append(
                {
                    "id": self.new_id(),
                    "person_id": person["id"],
                    "declaration_number": number,
                    "employee_id": doctor["id"],
                    "division_id": doctor["division_id"],
                    "legal_entity_id": entity_by_division[doctor["division_id"]],
                    "start_date": start,
                    "end_date": end,
                    "signed_at": min(signed_local.astimezone(UTC), self.now),  # never later than the seed
                    "status": "active",
                    "scope": "family_doctor",
                    "reason": None,
                    "reason_description": None,
                    "is_active": True,
                    "overlimit": False,
                    "declaration_request_id": self.new_id(),
                }
            )

    def build(self) -> DemoData:
        for facility, entity, division_rows in self.facilities():
            self.data.legal_entities.append(entity)
            self.data.divisions.extend(division_rows)
            for index, member in enumerate(facility.staff):
                self.staff_member(facility, entity, division_rows, index, member)
        for katottg, count in catalog.PERSONS_PER_OBLAST.items():
            self.data.persons.extend(self.person(katottg, i) for i in range(count))
        self.reseed("confidants")
        self.link_confidants()
        doctors = [
            e
            for e in self.data.employees
            if e["employee_type"] == "DOCTOR"
            and e["speciality"]["speciality"] in self.rules["doctor_specialities_for_declarations"]
        ]
        self.reseed("declarations")
        self.declarations(doctors)
        return self.data


def build_demo(now: datetime, seed: int = SEED) -> DemoData:
    """The demo rows for a given moment: the same `now` and seed always give the same rows."""
    return _Builder(now, seed).build()


# --- the accounts file -----------------------------------------------------------------------------------------


def database_label(url: str) -> str:
    """`host[:port]/database` of a URL, without user or password (a socket directory counts as the host)."""
    parsed = make_url(libpq_url(url))
    host = parsed.host or str(parsed.query.get("host", "")) or "localhost"
    return f"{host}:{parsed.port}/{parsed.database}" if parsed.port else f"{host}/{parsed.database}"


def build_accounts(data: DemoData, database: str, generated_at: datetime) -> dict[str, Any]:
    """The accounts document; later issues add users, OAuth clients and certificates to the same dict."""
    parties_by_id = {p["id"]: p for p in data.parties}
    divisions_by_entity: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for d in data.divisions:
        divisions_by_entity.setdefault(d["legal_entity_id"], []).append(
            {"id": str(d["id"]), "name": d["name"], "type": d["type"]}
        )
    doctor_of = {d["person_id"]: d["employee_id"] for d in data.declarations}
    # A spread of ages for person search: the first children and adults, with and without a tax id.
    today = generated_at.astimezone(KYIV).date()
    children = [p for p in data.persons if age_on(p["birth_date"], today) < 14]
    adults = [p for p in data.persons if age_on(p["birth_date"], today) >= 14]
    sample = children[: SAMPLE_PATIENTS // 3] + adults[: SAMPLE_PATIENTS - SAMPLE_PATIENTS // 3]
    return {
        "generated_at": generated_at.isoformat(),
        "database": database,
        "legal_entities": [
            {
                "id": str(e["id"]),
                "edrpou": e["edrpou"],
                "name": e["name"],
                "short_name": e["short_name"],
                "type": e["type"],
                "region": e["region"],
                "divisions": divisions_by_entity.get(e["id"], []),
            }
            for e in data.legal_entities
        ],
        "employees": [
            {
                "id": str(e["id"]),
                "legal_entity_id": str(e["legal_entity_id"]),
                "division_id": str(e["division_id"]) if e["division_id"] else None,
                "party_id": str(e["party_id"]),
                "employee_type": e["employee_type"],
                "position": e["position"],
                "speciality": e["speciality"]["speciality"] if e["speciality"] else None,
                "first_name": parties_by_id[e["party_id"]]["first_name"],
                "last_name": parties_by_id[e["party_id"]]["last_name"],
                "second_name": parties_by_id[e["party_id"]]["second_name"],
                "tax_id": parties_by_id[e["party_id"]]["tax_id"],
                "role": data.roles[e["id"]],
            }
            for e in data.employees
        ],
        "patients": [
            {
                "id": str(p["id"]),
                "first_name": p["first_name"],
                "last_name": p["last_name"],
                "second_name": p["second_name"],
                "birth_date": p["birth_date"].isoformat(),
                "tax_id": p["tax_id"],
                "birth_certificate": next(
                    (d["number"] for d in p["documents"] if d["type"] == "BIRTH_CERTIFICATE"), None
                ),
                "phone": p["phones"][0]["number"],
                "declaration_employee_id": str(doctor_of[p["id"]]) if p["id"] in doctor_of else None,
            }
            for p in sample
        ],
        "users": [],
        "clients": [],
        "certificates": [],
        "notes": NOTES,
    }


def write_accounts(path: Path, accounts: dict[str, Any]) -> Path:
    """Write owner-only (0600) from the first byte: later versions of this file carry secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(orjson.dumps(accounts, option=orjson.OPT_INDENT_2))
    os.chmod(tmp, 0o600)  # O_CREAT's mode is filtered by the umask
    os.replace(tmp, path)
    return path


# --- insertion -------------------------------------------------------------------------------------------------


async def _reserve_numbers(conn: AsyncConnection, data: DemoData, rng: random.Random) -> None:
    """Register the declaration numbers in `human_numbers`; any already taken is redrawn."""
    wanted = {d["declaration_number"]: d for d in data.declarations}
    while wanted:
        stmt = insert(human_numbers).on_conflict_do_nothing().returning(human_numbers.c.number)
        taken = set((await conn.execute(stmt, [{"number": n, "kind": "declaration"} for n in wanted])).scalars())
        clashes = [d for n, d in wanted.items() if n not in taken]
        wanted = {}
        for declaration in clashes:
            number = "0000-" + "-".join("".join(rng.choice(ALPHABET) for _ in range(4)) for _ in range(2))
            declaration["declaration_number"] = number
            wanted[number] = declaration


async def _insert(conn: AsyncConnection, data: DemoData) -> None:
    await _reserve_numbers(conn, data, random.Random(SEED + 2))
    for table, rows in (
        (legal_entities, data.legal_entities),
        (divisions, data.divisions),
        (parties, data.parties),
        (employees, data.employees),
        (persons, data.persons),
        (declarations, data.declarations),
    ):
        if rows:
            await conn.execute(table.insert(), rows)


# Other domains add their demo rows and accounts in the same transaction (see esoz.demo).
Extend = Callable[[AsyncConnection, DemoData, dict[str, Any]], Awaitable[None]]


async def seed_demo(
    url: str, accounts_path: Path, *, now: datetime | None = None, extend: Extend | None = None
) -> Path | None:
    """Create the demo data once; returns the accounts file's path, or None if the data was already there."""
    now = now or datetime.now(UTC)
    engine = make_engine(url, 1)
    try:
        async with engine.begin() as conn:
            # Two seeders started together: the second waits here and then sees the marker.
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('esoz.registry.seed_demo'))"))
            present = await conn.execute(
                select(func.count()).select_from(legal_entities).where(legal_entities.c.edrpou == DEMO_MARKER_EDRPOU)
            )
            if present.scalar_one():
                log.info("demo data already present", marker_edrpou=DEMO_MARKER_EDRPOU)
                return None
            data = build_demo(now)
            await _insert(conn, data)
            await audit.record(
                conn,
                action="seed.demo",
                resource_type="legal_entity",
                resource_id=data.legal_entities[0]["id"],
                details={"seed": SEED, "marker_edrpou": DEMO_MARKER_EDRPOU, "counts": data.counts()},
            )
            accounts = build_accounts(data, database_label(url), now)
            if extend is not None:
                await extend(conn, data, accounts)
            # Written before COMMIT: a failed write rolls the data back, so the next run can try again.
            path = write_accounts(accounts_path, accounts)
    finally:
        await engine.dispose()
    log.info("demo data created", accounts=str(path), **data.counts())
    return path
