"""OpenAPI helpers shared by the domains' routes."""

from typing import Any

_DESCRIPTIONS = {
    401: "access_denied: no or invalid token",
    403: "forbidden: the token's scope does not allow this call",
    404: "not_found",
    422: "validation_failed: `error.invalid[]` names each bad query parameter",
}


def errors(*codes: int, **extra: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the contract errors a route can answer with.

    `extra` adds or extends a code's description; its keys are the code with a leading underscore
    (`_409="..."`), since a keyword cannot be a number.
    """
    documented: dict[int | str, dict[str, Any]] = {code: {"description": _DESCRIPTIONS[code]} for code in codes}
    for key, text in extra.items():
        code = int(key.lstrip("_"))
        known = documented.get(code, {}).get("description")
        documented[code] = {"description": f"{known}; {text}" if known else text}
    return documented
