"""Business validators of the registry (pure functions, no I/O).

Each check returns a list of `invalid[]` items naming the exact JSON path, so that one request
reports all its problems at once; `raise_if()` turns a non-empty list into 422 validation_failed.
The rules follow MPI/PRM (`persons/v2/validator.ex`) and the formats of data.md §5.2.
"""

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from stdnum.ua import edrpou as stdnum_edrpou
from stdnum.ua import rntrc

from esoz.core.errors import ValidationFailed, invalid_entry
from esoz.registry.reference import dictionary_codes, rules

Invalid = list[dict[str, Any]]
KYIV = ZoneInfo("Europe/Kyiv")


def today() -> date:
    """Business dates are Kyiv dates."""
    return datetime.now(KYIV).date()


def raise_if(errors: Invalid) -> None:
    if errors:
        raise ValidationFailed(errors)


def age_on(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


# --- identifiers ---------------------------------------------------------------------------------


def is_valid_rnokpp(value: str) -> bool:
    """РНОКПП: 10 digits, the last one a weighted checksum of the first nine."""
    return re.fullmatch(rules()["tax_id_pattern"], value) is not None and rntrc.is_valid(value)


def is_valid_edrpou(value: str) -> bool:
    """ЄДРПОУ: 8 digits with a check digit; a ФОП registers with their 10-digit РНОКПП instead."""
    if len(value) == 10:
        return is_valid_rnokpp(value)
    return re.fullmatch(r"[0-9]{8}", value) is not None and stdnum_edrpou.is_valid(value)


def check_tax_id(path: str, value: str) -> Invalid:
    if re.fullmatch(rules()["tax_id_pattern"], value) is None:
        return [invalid_entry(path, "format", "string does not match pattern", [rules()["tax_id_pattern"]])]
    if not rntrc.is_valid(value):
        return [invalid_entry(path, "invalid", "tax_id is not valid: wrong check digit", [value])]
    return []


def check_edrpou(path: str, value: str) -> Invalid:
    if re.fullmatch(rules()["edrpou_pattern"], value) is None or len(value) == 9:
        return [invalid_entry(path, "format", "string does not match pattern", ["^[0-9]{8}$|^[0-9]{10}$"])]
    if not is_valid_edrpou(value):
        return [invalid_entry(path, "invalid", "EDRPOU is not valid: wrong check digit", [value])]
    return []


def check_unzr(path: str, unzr: str, birth_date: date) -> Invalid:
    pattern = f"{birth_date:%Y%m%d}-[0-9]{{5}}"
    if re.fullmatch(pattern, unzr) is None:
        return [invalid_entry(path, "format", "unzr does not correspond to the birth date", [f"^{pattern}$"])]
    return []


# --- people ---------------------------------------------------------------------------------------


def check_name(path: str, value: str | None) -> Invalid:
    if value is None:
        return []
    if re.fullmatch(rules()["name_pattern"], value) is None:
        return [invalid_entry(path, "format", "only Ukrainian letters, apostrophe, hyphen and space", [])]
    return []


def check_birth_date(path: str, birth_date: date, on: date) -> Invalid:
    max_age = rules()["person_age_limits"]["max_age_years"]
    if birth_date > on:
        return [invalid_entry(path, "invalid", "birth date cannot be in the future", [])]
    if age_on(birth_date, on) >= max_age:
        return [invalid_entry(path, "invalid", f"birth date cannot be more than {max_age} years ago", [max_age])]
    return []


def check_tax_id_presence(base: str, tax_id: str | None, no_tax_id: bool, birth_date: date, on: date) -> Invalid:
    """`no_tax_id=true` forbids a tax id; `false` requires one from the age of 14."""
    if no_tax_id and tax_id:
        return [invalid_entry(f"{base}.tax_id", "invalid", "Persons who refused the tax_id should be without tax_id")]
    if (
        not no_tax_id
        and not tax_id
        and age_on(birth_date, on) >= rules()["person_age_limits"]["tax_id_required_from_age"]
    ):
        return [
            invalid_entry(f"{base}.tax_id", "required", "Only persons who refused the tax_id could be without tax_id")
        ]
    return []


# Read-only members: the schemas narrow `type` to a Literal, which a settable `type: str` would not accept.
class HasType(Protocol):
    @property
    def type(self) -> str: ...


def check_one_per_type(base: str, items: Sequence[HasType], what: str) -> Invalid:
    seen: set[str] = set()
    errors: Invalid = []
    for i, item in enumerate(items):
        if item.type in seen:
            errors.append(
                invalid_entry(f"{base}[{i}].type", "invalid", f"only one {what} of each type is allowed", [item.type])
            )
        seen.add(item.type)
    return errors


class DocumentLike(Protocol):
    type: str
    number: str
    expiration_date: date | None


def check_documents(base: str, documents: Sequence[DocumentLike], on: date) -> Invalid:
    allowed = dictionary_codes("DOCUMENT_TYPE")
    patterns: dict[str, str] = rules()["document_number_patterns"]
    need_expiry = set(rules()["documents_requiring_expiration"])
    errors = check_one_per_type(base, documents, "document")
    for i, doc in enumerate(documents):
        if doc.type not in allowed:
            errors.append(invalid_entry(f"{base}[{i}].type", "inclusion", "value is not allowed", sorted(allowed)))
            continue
        pattern = patterns.get(doc.type)
        if pattern and re.fullmatch(pattern, doc.number) is None:
            errors.append(invalid_entry(f"{base}[{i}].number", "format", "string does not match pattern", [pattern]))
        if doc.type in need_expiry:
            if doc.expiration_date is None:
                errors.append(
                    invalid_entry(f"{base}[{i}].expiration_date", "required", f"required for {doc.type}", [doc.type])
                )
            elif doc.expiration_date < on:
                errors.append(invalid_entry(f"{base}[{i}].expiration_date", "invalid", "document has expired", []))
    return errors


class PhoneLike(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def number(self) -> str: ...


def check_phone_number(path: str, number: str) -> Invalid:
    if re.fullmatch(rules()["phone_pattern"], number) is None:
        return [invalid_entry(path, "format", "string does not match pattern", [rules()["phone_pattern"]])]
    return []


def check_phones(base: str, phones: Sequence[PhoneLike]) -> Invalid:
    errors = check_one_per_type(base, phones, "phone")
    for i, phone in enumerate(phones):
        errors += check_phone_number(f"{base}[{i}].number", phone.number)
    return errors


def check_inclusion(path: str, value: str | None, allowed: Iterable[str]) -> Invalid:
    allowed = list(allowed)
    if value is not None and value not in allowed:
        return [invalid_entry(path, "inclusion", "value is not allowed in enum", allowed)]
    return []


def check_dictionary(path: str, value: str | None, dictionary: str) -> Invalid:
    return check_inclusion(path, value, sorted(dictionary_codes(dictionary)))


# --- facilities and staff -------------------------------------------------------------------------


def check_division_type(path: str, division_type: str, legal_entity_type: str) -> Invalid:
    allowed = rules()["allowed_division_types"].get(legal_entity_type, [])
    return check_inclusion(path, division_type, allowed)


def check_employee_type(path: str, employee_type: str, legal_entity_type: str) -> Invalid:
    allowed = rules()["allowed_employee_types"].get(legal_entity_type, [])
    return check_inclusion(path, employee_type, allowed)


def check_speciality(path: str, speciality: str, employee_type: str) -> Invalid:
    allowed = rules()["speciality_types_by_employee_type"].get(employee_type)
    if allowed is None:
        return check_dictionary(path, speciality, "SPECIALITY_TYPE")
    return check_inclusion(path, speciality, allowed)


def declaration_limit(speciality: str) -> int | None:
    return rules()["declaration_limits"].get(speciality)


def speciality_fits_age(speciality: str, birth_date: date, on: date) -> bool:
    """A therapist signs adults, a pediatrician children, a family doctor anyone (real PRM rule)."""
    adult = age_on(birth_date, on) >= rules()["person_age_limits"]["adult_age"]
    return {"THERAPIST": adult, "PEDIATRICIAN": not adult}.get(speciality, True)
