"""Registry test data: unique values and request bodies (fixtures that post them are in conftest.py).

The database is shared by the whole run, so every factory makes its own unique values (a random
EDRPOU/РНОКПП with valid check digits, random Ukrainian-letter names).
"""

import random
from datetime import date, timedelta
from typing import Any

import httpx
from stdnum.ua import edrpou as stdnum_edrpou
from stdnum.ua import rntrc

from esoz.registry.validators import today

LETTERS = "абвгґдежзиіїйклмнопрстуфхцчшщьюяє"


# --- unique values ----------------------------------------------------------------------------------


def name(prefix: str = "") -> str:
    return (prefix + "".join(random.choices(LETTERS, k=10))).capitalize()


def edrpou() -> str:
    body = f"{random.randrange(10**7):07d}"
    return body + stdnum_edrpou.calc_check_digit(body)


def bad_check_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


def rnokpp(birth_date: date, male: bool = True) -> str:
    days = (birth_date - date(1899, 12, 31)).days
    serial = f"{random.randrange(1000):03d}"
    sex = random.choice("13579" if male else "02468")
    body = f"{days:05d}{serial}{sex}"
    return body + rntrc.calc_check_digit(body)


def phone() -> str:
    return "+38067" + f"{random.randrange(10**7):07d}"


def years_ago(years: int, days: int = 0) -> date:
    on = today()
    try:
        born = on.replace(year=on.year - years)
    except ValueError:  # 29 February
        born = on.replace(year=on.year - years, day=28)
    return born - timedelta(days=days)


# --- request bodies ---------------------------------------------------------------------------------


def address(kind: str = "RESIDENCE") -> dict[str, Any]:
    return {
        "type": kind,
        "country": "UA",
        "area": "Київська",
        "settlement": "Київ",
        "settlement_type": "CITY",
        "street_type": "STREET",
        "street": "Хрещатик",
        "building": "1",
        "zip": "01001",
    }


def legal_entity_body(type_: str = "PRIMARY_CARE", **overrides: Any) -> dict[str, Any]:
    body = {
        "edrpou": edrpou(),
        "name": "КНП Центр ПМСД " + name(),
        "short_name": "ЦПМСД",
        "public_name": "ЦПМСД",
        "type": type_,
        "legal_form": "140",
        "owner_property_type": "STATE",
        "email": "clinic@example.com",
        "kveds": ["86.21"],
        "addresses": [address("REGISTRATION"), address("RESIDENCE")],
        "phones": [{"type": "MOBILE", "number": phone()}],
        "region": "UA80000000000093317",
    }
    return body | overrides


def division_body(legal_entity_id: str, type_: str = "CLINIC", **overrides: Any) -> dict[str, Any]:
    body = {
        "legal_entity_id": legal_entity_id,
        "name": "Амбулаторія " + name(),
        "type": type_,
        "email": "division@example.com",
        "phones": [{"type": "MOBILE", "number": phone()}],
        "addresses": [address()],
        "location": {"latitude": 50.45, "longitude": 30.52},
    }
    return body | overrides


def party_body(**overrides: Any) -> dict[str, Any]:
    born = years_ago(random.randrange(25, 65), days=random.randrange(365))
    body = {
        "first_name": name(),
        "last_name": name(),
        "second_name": name(),
        "birth_date": born.isoformat(),
        "gender": "MALE",
        "tax_id": rnokpp(born),
        "documents": [{"type": "PASSPORT", "number": "СН" + f"{random.randrange(10**6):06d}"}],
        "phones": [{"type": "MOBILE", "number": phone()}],
    }
    return body | overrides


def employee_body(
    legal_entity_id: str,
    division_id: str | None,
    employee_type: str = "DOCTOR",
    speciality: str | None = "FAMILY_DOCTOR",
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_entity_id": legal_entity_id,
        "division_id": division_id,
        "position": "P2",
        "employee_type": employee_type,
        "start_date": (today() - timedelta(days=30)).isoformat(),
        "party": party_body(),
    }
    if speciality is not None:
        block = "pharmacist" if employee_type == "PHARMACIST" else "doctor"
        body[block] = {"specialities": [{"speciality": speciality, "speciality_officio": True, "level": "FIRST"}]}
    return body | overrides


def person_body(age: int = 35, **overrides: Any) -> dict[str, Any]:
    born = years_ago(age, days=random.randrange(300))
    mobile = phone()
    person = {
        "first_name": name(),
        "last_name": name(),
        "second_name": name(),
        "birth_date": born.isoformat(),
        "birth_country": "Україна",
        "birth_settlement": "Київ",
        "gender": "FEMALE",
        "tax_id": rnokpp(born, male=False),
        "no_tax_id": False,
        "unzr": f"{born:%Y%m%d}-{random.randrange(10**5):05d}",
        "secret": "секрет1",
        "documents": [{"type": "PASSPORT", "number": "КВ" + f"{random.randrange(10**6):06d}"}],
        "phones": [{"type": "MOBILE", "number": mobile}],
        "addresses": [address("REGISTRATION"), address("RESIDENCE")],
        "authentication_methods": [{"type": "OTP", "phone_number": mobile}],
    }
    return person | overrides


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()["data"]


def declare(
    api: httpx.Client, person_id: str, doctor: dict[str, Any], division_id: str, **extra: Any
) -> httpx.Response:
    body = {"person_id": person_id, "employee_id": doctor["id"], "division_id": division_id} | extra
    return api.post("/admin/declarations", json=body)
