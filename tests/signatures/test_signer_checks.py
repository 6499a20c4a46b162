"""Signer is the doctor; signed content is the draft (security.md test 17, 18)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from uuid import UUID

import pytest

from esoz.core.errors import ApiError
from esoz.signatures.certinfo import Signer
from esoz.signatures.signer_checks import (
    CONTENT_MISMATCH,
    DRFO_MISMATCH,
    INVALID_DRFO,
    LAST_NAME_MISMATCH,
    check_content,
    check_signer_drfo,
    check_signer_last_name,
    drfo_matches,
    translit,
)

SIGNER = Signer(
    common_name="Петренко Олена Іванівна",
    given_name="Олена Іванівна",
    surname="Петренко",
    title=None,
    country_name="UA",
    locality_name=None,
    organization_name=None,
    organizational_unit_name=None,
    drfo="3012345678",
    edrpou=None,
    serial_number="01",
    issuer="esoz test QTSP",
    not_before=datetime(2026, 1, 1, tzinfo=UTC),
    not_after=datetime(2028, 1, 1, tzinfo=UTC),
    is_stamp=False,
)


def failure(fn, *args, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)
    err = info.value
    assert (err.status, err.type) == (422, "validation_failed")
    assert err.invalid is not None
    return err.invalid[0]


def test_translit_follows_the_real_system() -> None:
    assert translit("Андрій Михайленко") == "Andrii Mykhailenko"
    assert translit("Згурський") == "Zghurskyi"
    assert translit("ЯЯ999998") == "YaYa999998"


def test_drfo_equal_or_via_transliteration() -> None:
    assert drfo_matches("3012345678", "3012345678")
    assert drfo_matches("30 1234 5678", "3012345678")  # spaces in the certificate are ignored
    assert drfo_matches("ЯЯ999998", "YAYA999998")  # passport DRFO in Cyrillic, tax id stored in Latin
    # as in the real system, translit happens before upcasing, so lower-case "я" ("ia") != "Я" ("Ya")
    assert not drfo_matches("яя999998", "ЯЯ999998")
    assert not drfo_matches("3012345679", "3012345678")
    assert not drfo_matches("ЯЯ999998", "ЯЯ999999")


def test_signer_tax_id_is_not_the_doctors() -> None:
    check_signer_drfo(SIGNER, "3012345678")
    entry = failure(check_signer_drfo, SIGNER, "2012345670", entry="$.employee_id")
    assert entry["entry"] == "$.employee_id"
    assert entry["rules"][0]["description"] == DRFO_MISMATCH


def test_passport_drfo_via_translit() -> None:
    passport = dataclasses.replace(SIGNER, drfo="ЯЯ999998")
    check_signer_drfo(passport, "YAYA999998")
    assert failure(check_signer_drfo, passport, "YA999998")["rules"][0]["description"] == DRFO_MISMATCH


def test_missing_drfo() -> None:
    nodrfo = dataclasses.replace(SIGNER, drfo=None)
    assert failure(check_signer_drfo, nodrfo, "3012345678")["rules"][0]["description"] == INVALID_DRFO
    assert failure(check_signer_drfo, None, "3012345678")["rules"][0]["description"] == INVALID_DRFO


def test_last_name_case_insensitive() -> None:
    check_signer_last_name(SIGNER, "ПЕТРЕНКО")
    assert failure(check_signer_last_name, SIGNER, "Петренко-Коваль")["rules"][0]["description"] == LAST_NAME_MISMATCH


def test_content_equal_ignores_key_order_and_normalises_the_render() -> None:
    draft_id = UUID("0195a4e4-2f0a-7c5e-9d3b-4a1f2e3d4c5b")
    check_content(
        {"qty": 60, "id": str(draft_id), "items": [{"a": 1}]},
        {"id": draft_id, "items": [{"a": 1}], "qty": 60},
    )


def test_content_changed_names_the_keys() -> None:
    signed = {"id": "1", "status": "NEW", "medication": {"inn": "A", "qty": 60}, "flag": True, "extra": 1}
    rendered = {"id": "1", "status": "NEW", "medication": {"inn": "A", "qty": 61}, "flag": 1}
    entry = failure(check_content, signed, rendered)
    assert entry["entry"] == "$.content"
    rule = entry["rules"][0]
    assert rule["description"] == CONTENT_MISMATCH
    assert rule["params"] == ["$.extra", "$.flag", "$.medication.qty"]
