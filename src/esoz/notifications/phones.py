"""Ukrainian phone numbers in the one form providers get: +380XXXXXXXXX."""

import re

_NOISE = re.compile(r"[\s\-().]")
_E164_UA = re.compile(r"^\+380[1-9]\d{8}$")


def normalise(phone: str) -> str | None:
    """`+380 (67) 123-45-67`, `380671234567`, `0671234567` -> `+380671234567`; None if not a UA number."""
    digits = _NOISE.sub("", phone or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("380"):
        digits = "+" + digits
    elif digits.startswith("0") and len(digits) == 10:
        digits = "+38" + digits
    return digits if _E164_UA.match(digits) else None
