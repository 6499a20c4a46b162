"""Checks shared by the status services; each failure is the contract's 422 for one field."""

from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email

from esoz.core.errors import field_error
from esoz.status.components import COMPONENTS


def email(value: str, entry: str = "$.email") -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise field_error(entry, "email", f"is not a valid e-mail address: {exc}") from None


def components(values: Iterable[str], entry: str = "$.components", allow_empty: bool = False) -> list[str]:
    found = list(dict.fromkeys(values))
    if not found and not allow_empty:
        raise field_error(entry, "length", "at least one component is required", {"min": 1})
    unknown = [c for c in found if c not in COMPONENTS]
    if unknown:
        raise field_error(entry, "inclusion", f"unknown components {unknown}", list(COMPONENTS))
    return [c for c in COMPONENTS if c in found]  # page order
