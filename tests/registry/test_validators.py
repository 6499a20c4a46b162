"""The registry's pure validators: identifiers, dates, documents, per-type rules."""

from datetime import date, timedelta

import pytest
from registry_factories import bad_check_digit, edrpou, rnokpp

from esoz.registry import schemas, validators
from esoz.registry.validators import today


def entries(errors: list[dict]) -> list[tuple[str, str]]:
    return [(e["entry"], e["rules"][0]["rule"]) for e in errors]


def test_rnokpp_checksum() -> None:
    good = rnokpp(date(1985, 4, 12))
    assert validators.is_valid_rnokpp(good)
    assert not validators.is_valid_rnokpp(bad_check_digit(good))
    assert not validators.is_valid_rnokpp("12345")
    assert entries(validators.check_tax_id("$.tax_id", bad_check_digit(good))) == [("$.tax_id", "invalid")]
    assert entries(validators.check_tax_id("$.tax_id", "12345678ab")) == [("$.tax_id", "format")]


def test_rnokpp_encodes_birth_date() -> None:
    # d1..d5 = days since 31.12.1899 (data.md §5.2)
    assert rnokpp(date(1900, 1, 1)).startswith("00001")


def test_edrpou_check_digit() -> None:
    good = edrpou()
    assert validators.is_valid_edrpou(good)
    assert not validators.is_valid_edrpou(bad_check_digit(good))
    assert validators.is_valid_edrpou(rnokpp(date(1970, 1, 1)))  # a ФОП registers with a РНОКПП
    assert entries(validators.check_edrpou("$.edrpou", "123456789")) == [("$.edrpou", "format")]


def test_unzr_must_carry_the_birth_date() -> None:
    born = date(1990, 1, 1)
    assert validators.check_unzr("$.unzr", "19900101-00099", born) == []
    assert entries(validators.check_unzr("$.unzr", "19900102-00099", born)) == [("$.unzr", "format")]
    assert entries(validators.check_unzr("$.unzr", "19900101-0009", born)) == [("$.unzr", "format")]


def test_birth_date_limits() -> None:
    on = today()
    assert validators.check_birth_date("$.b", on, on) == []
    assert entries(validators.check_birth_date("$.b", on + timedelta(days=1), on)) == [("$.b", "invalid")]
    assert entries(validators.check_birth_date("$.b", on.replace(year=on.year - 151), on)) == [("$.b", "invalid")]


def test_tax_id_presence_rules() -> None:
    on = date(2026, 6, 1)
    adult, child = date(1990, 1, 1), date(2015, 1, 1)
    assert entries(validators.check_tax_id_presence("$.p", "1234567890", True, adult, on)) == [
        ("$.p.tax_id", "invalid")
    ]
    assert entries(validators.check_tax_id_presence("$.p", None, False, adult, on)) == [("$.p.tax_id", "required")]
    assert validators.check_tax_id_presence("$.p", None, False, child, on) == []  # under 14
    assert validators.check_tax_id_presence("$.p", None, True, adult, on) == []


def test_names_only_ukrainian_letters() -> None:
    assert validators.check_name("$.n", "Мар’яна-Олена") == []
    assert validators.check_name("$.n", "Об'єднана Ґанна") == []
    assert entries(validators.check_name("$.n", "Ivan")) == [("$.n", "format")]
    assert entries(validators.check_name("$.n", "Эдуард")) == [("$.n", "format")]


def test_documents_patterns_duplicates_and_expiry() -> None:
    docs = [
        schemas.Document(type="PASSPORT", number="СН123456"),
        schemas.Document(type="PASSPORT", number="СН654321"),
        schemas.Document(type="NATIONAL_ID", number="12345"),
        schemas.Document(type="NO_SUCH", number="1"),
    ]
    assert entries(validators.check_documents("$.d", docs, today())) == [
        ("$.d[1].type", "invalid"),
        ("$.d[2].number", "format"),
        ("$.d[2].expiration_date", "required"),
        ("$.d[3].type", "inclusion"),
    ]


def test_phones() -> None:
    phones = [schemas.Phone(type="MOBILE", number="+380671234567"), schemas.Phone(type="MOBILE", number="0671234567")]
    assert entries(validators.check_phones("$.p", phones)) == [("$.p[1].type", "invalid"), ("$.p[1].number", "format")]


@pytest.mark.parametrize(
    ("le_type", "division_type", "ok"),
    [("PRIMARY_CARE", "CLINIC", True), ("PRIMARY_CARE", "DRUGSTORE", False), ("PHARMACY", "DRUGSTORE", True)],
)
def test_division_type_per_legal_entity_type(le_type: str, division_type: str, ok: bool) -> None:
    assert (validators.check_division_type("$.type", division_type, le_type) == []) is ok


def test_employee_type_per_legal_entity_type() -> None:
    assert validators.check_employee_type("$.t", "DOCTOR", "PRIMARY_CARE") == []
    assert entries(validators.check_employee_type("$.t", "PHARMACIST", "PRIMARY_CARE")) == [("$.t", "inclusion")]


def test_speciality_and_age() -> None:
    on = date(2026, 6, 1)
    assert validators.speciality_fits_age("THERAPIST", date(1990, 1, 1), on)
    assert not validators.speciality_fits_age("THERAPIST", date(2015, 1, 1), on)
    assert validators.speciality_fits_age("PEDIATRICIAN", date(2015, 1, 1), on)
    assert validators.speciality_fits_age("FAMILY_DOCTOR", date(2015, 1, 1), on)
