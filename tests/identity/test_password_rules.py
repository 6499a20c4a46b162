"""The password rules as functions: transliteration, layouts, date forms, sequences (no HTTP, no database)."""

from datetime import date

import pytest

from esoz.identity.policy import PasswordRejected, PersonalData, check_password, check_strength, personal_words
from esoz.identity.translit import kmu55, to_cyrillic_layout, to_latin_layout
from esoz.settings import Settings

SETTINGS = Settings(database_url="postgresql://unused/x")
TARAS = PersonalData(
    names=("Шевченко", "Тарас", "Григорович"),
    birth_date=date(1985, 3, 12),
    email="t.shevchenko@clinic.ua",
    phones=("+380501234567",),
    tax_id="3012345678",
)


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("шевченко", "shevchenko"),
        ("згорани", "zghorany"),
        ("юрій", "yurii"),
        ("щастя", "shchastia"),
        ("їжак", "yizhak"),
    ],
)
def test_kmu55(cyrillic: str, latin: str) -> None:
    assert kmu55(cyrillic) == latin


def test_wrong_layout_both_ways() -> None:
    assert to_latin_layout("шевченко") == "itdxtyrj"
    assert to_cyrillic_layout("taras") == "ефкфі"


def test_birth_date_forms() -> None:
    words = personal_words(TARAS)
    assert {
        "12031985",
        "120385",
        "19850312",
        "850312",
        "03121985",
        "12.03.1985",
        "1985-03-12",
        "12/03/85",
        "1985",
    } <= words


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("ЕфкфіЕфкфі99!", "password_contains_personal_info"),  # Taras typed with the Ukrainian layout
        ("Zhyttia-0501234567", "password_contains_personal_info"),
        ("Zhyttia-t.shevchenko", "password_contains_personal_info"),
        ("Morozyvo-Kvitka-abcd7", "password_sequence"),
        ("Morozyvo-Kvitka-7777", "password_sequence"),
        ("Моrozyvo-kvitka-вітер", "password_complexity"),
        ("gfhjkm123456", "password_breached_or_common"),  # «пароль» typed with the Latin layout
    ],
)
def test_rules(password: str, rule: str) -> None:
    with pytest.raises(PasswordRejected) as caught:
        check_password(password, TARAS, SETTINGS)
        check_strength(password, TARAS, SETTINGS)
    assert caught.value.type == rule
    assert caught.value.text_uk  # every rule has its Ukrainian text for the pages


@pytest.mark.parametrize("password", ["Гарбуз-Квітка-Сонях-83", "Kvitka-Sonyashnyk-47", "Correct Horse Battery 7 Lviv"])
def test_good_passwords(password: str) -> None:
    check_password(password, TARAS, SETTINGS)
    check_strength(password, TARAS, SETTINGS)


def test_composition_rule_can_be_turned_off() -> None:
    relaxed = SETTINGS.model_copy(update={"password_require_classes": False})
    check_password("zoryana vatra dubrava ochi", TARAS, relaxed)
