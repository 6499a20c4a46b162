"""The registry's shipped reference data (src/esoz/registry/data) is complete and consistent."""

import csv
import json
import re
from pathlib import Path

import pytest

DATA = Path(__file__).parents[2] / "src/esoz/registry/data"


def _json(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


DICTS = _json("dictionaries.json")
RULES = _json("rules.json")


def codes(dictionary: str) -> set[str]:
    return set(DICTS[dictionary]["values"])


def test_regions():
    with (DATA / "regions.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["katottg", "name_uk", "name_en", "iso", "population"]
        rows = list(reader)
    assert len(rows) == 27
    katottg = [r["katottg"] for r in rows]
    assert len(set(katottg)) == 27
    assert all(re.fullmatch(r"UA\d{17}", k) for k in katottg)
    iso = [r["iso"] for r in rows]
    assert len(set(iso)) == 27
    assert all(re.fullmatch(r"UA-\d\d", i) for i in iso)
    assert all(r["name_uk"] and r["name_en"] for r in rows)
    by_code = {r["katottg"]: r for r in rows}
    assert by_code["UA80000000000093317"]["iso"] == "UA-30"  # Kyiv city
    assert by_code["UA44000000000018893"]["iso"] == "UA-09"  # Luhansk
    # population: digits, empty only for Crimea and Sevastopol
    empty = {r["katottg"] for r in rows if r["population"] == ""}
    assert empty == {"UA01000000000013043", "UA85000000000065278"}
    total = sum(int(r["population"]) for r in rows if r["population"])
    assert 41_000_000 < total < 41_300_000


def test_dictionaries_shape():
    assert len(DICTS) >= 20
    for name, d in DICTS.items():
        assert set(d) == {"name", "values", "labels", "is_active"}, name
        assert d["name"] == name
        assert d["is_active"] is True
        assert d["labels"] and set(d["labels"]) <= {"SYSTEM", "EXTERNAL"}, name
        assert d["values"], name
        for code, label in d["values"].items():
            assert code.strip() == code and code, (name, code)
            assert isinstance(label, str) and label.strip(), (name, code)
            assert re.search(r"[А-ЯҐЄІЇа-яґєії]", label), (name, code, label)  # Ukrainian label


def _code_lists():
    """(rule path, dictionary, codes) for every rule that names dictionary codes."""
    le = "LEGAL_ENTITY_TYPE"
    for le_type, divisions in RULES["allowed_division_types"].items():
        yield f"allowed_division_types.{le_type}", le, [le_type]
        yield f"allowed_division_types.{le_type}", "DIVISION_TYPE", divisions
    for le_type, employees in RULES["allowed_employee_types"].items():
        yield f"allowed_employee_types.{le_type}", le, [le_type]
        yield f"allowed_employee_types.{le_type}", "EMPLOYEE_TYPE", employees
    for le_type, owner in RULES["owner_employee_type"].items():
        yield f"owner_employee_type.{le_type}", le, [le_type]
        yield f"owner_employee_type.{le_type}", "EMPLOYEE_TYPE", [owner]
    for emp_type, specs in RULES["speciality_types_by_employee_type"].items():
        yield f"speciality_types_by_employee_type.{emp_type}", "EMPLOYEE_TYPE", [emp_type]
        yield f"speciality_types_by_employee_type.{emp_type}", "SPECIALITY_TYPE", specs
    yield (
        "doctor_specialities_for_declarations",
        "SPECIALITY_TYPE",
        RULES["doctor_specialities_for_declarations"],
    )
    yield "declaration_limits", "SPECIALITY_TYPE", list(RULES["declaration_limits"])
    yield "declaration_legal_entity_types", le, RULES["declaration_legal_entity_types"]
    yield "documents_requiring_expiration", "DOCUMENT_TYPE", RULES["documents_requiring_expiration"]
    yield "document_number_patterns", "DOCUMENT_TYPE", list(RULES["document_number_patterns"])


@pytest.mark.parametrize(("rule", "dictionary", "values"), list(_code_lists()), ids=lambda v: str(v)[:40])
def test_rule_codes_exist_in_dictionaries(rule, dictionary, values):
    missing = set(values) - codes(dictionary)
    assert not missing, f"{rule}: {sorted(missing)} not in {dictionary}"
    assert len(values) == len(set(values)), f"{rule}: duplicates"


def test_rules_cover_every_type():
    le_types = codes("LEGAL_ENTITY_TYPE")
    assert set(RULES["allowed_division_types"]) == le_types
    assert set(RULES["allowed_employee_types"]) == le_types
    assert set(RULES["document_number_patterns"]) == codes("DOCUMENT_TYPE")
    assert RULES["allowed_division_types"]["PHARMACY"] == ["DRUGSTORE", "DRUGSTORE_POINT"]
    assert set(RULES["allowed_division_types"]["MSP_PHARMACY"]) == codes("DIVISION_TYPE")
    assert set(RULES["declaration_limits"]) == set(RULES["doctor_specialities_for_declarations"])
    assert RULES["declaration_limits"] == {"FAMILY_DOCTOR": 1800, "THERAPIST": 2000, "PEDIATRICIAN": 900}
    for le_type in RULES["declaration_legal_entity_types"]:
        assert "DOCTOR" in RULES["allowed_employee_types"][le_type]


def _patterns():
    for doc_type, pattern in RULES["document_number_patterns"].items():
        yield f"document_number_patterns.{doc_type}", pattern
    for key in (
        "tax_id_pattern",
        "unzr_pattern",
        "edrpou_pattern",
        "zip_pattern",
        "phone_pattern",
        "name_pattern",
    ):
        yield key, RULES[key]


@pytest.mark.parametrize(("key", "pattern"), list(_patterns()))
def test_regexes_compile(key, pattern):
    re.compile(pattern)


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        ("PASSPORT", ["СН123456", "ІЄ000001"], ["CH123456", "СЫ123456", "СН12345", "сн123456"]),
        ("NATIONAL_ID", ["000123456"], ["12345678", "1234567890", "12345678a"]),
        ("BIRTH_CERTIFICATE", ["I-КВ123456", "№12/3"], ["I-КЁ123456", "I-КВ 123456", "A"]),
        ("TEMPORARY_CERTIFICATE", ["АБ1234", "123456789", "АБ12345/12345"], ["AB123456", "АБ12345\\12345"]),
        ("REFUGEE_CERTIFICATE", ["АБ123456"], ["АБ1234567"]),
        ("FOREIGN_PASSPORT", ["FA123456"], ["ФА123456", "fa123456"]),
    ],
)
def test_document_patterns_samples(key, good, bad):
    pattern = re.compile(RULES["document_number_patterns"][key])
    for value in good:
        assert pattern.fullmatch(value), (key, value)
    for value in bad:
        assert not pattern.fullmatch(value), (key, value)


def test_person_patterns_samples():
    name = re.compile(RULES["name_pattern"])
    for ok in ("Олена", "Мар'яна", "Квітка-Основ’яненко", "Ґудзь Їжак"):
        assert name.fullmatch(ok), ok
    for bad in ("Olena", "Эмма", "Ёлка", "Олена1", ""):
        assert not name.fullmatch(bad), bad
    phone = re.compile(RULES["phone_pattern"])
    assert phone.fullmatch("+380501234567")
    assert not phone.fullmatch("0501234567")
    assert not phone.fullmatch("+38050123456")
    assert all(re.fullmatch(r"0\d\d", p) for p in RULES["mobile_prefixes"])
    assert {"050", "067", "073", "099"} <= set(RULES["mobile_prefixes"])
    assert re.fullmatch(RULES["unzr_pattern"], "19800101-00013")
    assert re.fullmatch(RULES["tax_id_pattern"], "2912345678")


@pytest.mark.parametrize(
    ("dictionary", "required"),
    [
        ("GENDER", {"MALE", "FEMALE"}),
        (
            "DOCUMENT_TYPE",
            {
                "PASSPORT",
                "NATIONAL_ID",
                "BIRTH_CERTIFICATE",
                "TEMPORARY_CERTIFICATE",
                "REFUGEE_CERTIFICATE",
                "COMPLEMENTARY_PROTECTION_CERTIFICATE",
                "PERMANENT_RESIDENCE_PERMIT",
                "TEMPORARY_PASSPORT",
                "FOREIGN_PASSPORT",
            },
        ),
        ("PHONE_TYPE", {"MOBILE", "LANDLINE"}),
        ("ADDRESS_TYPE", {"REGISTRATION", "RESIDENCE"}),
        ("SETTLEMENT_TYPE", {"CITY", "VILLAGE", "SETTLEMENT", "TOWNSHIP"}),
        ("STREET_TYPE", {"STREET", "AVENUE", "BOULEVARD", "LANE", "SQUARE"}),
        (
            "EMPLOYEE_TYPE",
            {
                "OWNER",
                "HR",
                "DOCTOR",
                "ADMIN",
                "PHARMACY_OWNER",
                "PHARMACIST",
                "SPECIALIST",
                "ASSISTANT",
                "NHS",
                "NHS_SIGNER",
            },
        ),
        (
            "SPECIALITY_TYPE",
            {
                "THERAPIST",
                "PEDIATRICIAN",
                "FAMILY_DOCTOR",
                "PHARMACIST",
                "PROVISOR",
                "CLINICAL_PROVISOR",
                "CARDIOLOGY",
                "NEUROLOGY",
                "ENDOCRINOLOGY",
                "OPHTHALMOLOGY",
                "GENERAL_SURGERY",
            },
        ),
        ("SPECIALITY_LEVEL", {"FIRST", "SECOND", "HIGHEST", "NOT_APPLICABLE"}),
        (
            "LEGAL_ENTITY_TYPE",
            {"MSP", "PHARMACY", "MSP_PHARMACY", "PRIMARY_CARE", "OUTPATIENT", "MIS", "NHS", "EMERGENCY"},
        ),
        ("LEGAL_ENTITY_STATUS", {"ACTIVE", "SUSPENDED", "CLOSED", "REORGANIZED"}),
        ("LEGAL_FORM", {"140", "150", "240", "430"}),
        ("OWNER_PROPERTY_TYPE", {"STATE", "PRIVATE"}),
        ("DIVISION_TYPE", {"CLINIC", "AMBULANT_CLINIC", "FAP", "DRUGSTORE", "DRUGSTORE_POINT"}),
        ("EMPLOYEE_STATUS", {"NEW", "APPROVED", "DISMISSED"}),
        ("POSITION", {"P1", "P7", "P8", "P9", "P10"}),
        ("AUTHENTICATION_METHOD", {"OTP", "OFFLINE", "THIRD_PERSON", "NA"}),
        ("PREFERRED_WAY_COMMUNICATION", {"email", "phone"}),
        ("DECLARATION_STATUS", {"active", "pending_verification", "terminated", "closed", "rejected"}),
        ("COUNTRY", {"UA"}),
        ("EDUCATION_DEGREE", {"BACHELOR", "MASTER", "EXPERT"}),
        ("QUALIFICATION_TYPE", {"INTERNSHIP", "SPECIALIZATION"}),
        ("SCIENCE_DEGREE", {"PhD", "DOCTOR_OF_SCIENCE"}),
    ],
)
def test_demo_codes_exist(dictionary, required):
    assert dictionary in DICTS
    missing = required - codes(dictionary)
    assert not missing, f"{dictionary}: {sorted(missing)}"


def test_sources_note_covers_every_file():
    note = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    shipped = sorted(p.name for p in DATA.iterdir() if p.suffix in {".csv", ".json"})
    assert {"dictionaries.json", "regions.csv", "rules.json"} <= set(shipped)
    for name in shipped:
        assert f"## {name}" in note, name
