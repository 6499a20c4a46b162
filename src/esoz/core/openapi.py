"""OpenAPI helpers shared by the domains' routes."""

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from esoz.core.auth import SCOPES_OF_GATE

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


def _gate_scopes(dependant: Dependant) -> list[str]:
    found: list[str] = []
    for sub in dependant.dependencies:
        if sub.call is not None and sub.call in SCOPES_OF_GATE:
            found.extend(SCOPES_OF_GATE[sub.call])
        found.extend(_gate_scopes(sub))
    return found


def document_scopes(app: FastAPI) -> None:
    """Write each route's scopes into its operation as `x-scopes` (what an MIS must hold to call it).

    Call after every router is included: the routes are read from the app, where the scope gates are dependencies.
    """
    for route in _api_routes(app.routes):
        scopes = sorted(set(_gate_scopes(route.dependant)))
        if scopes:
            route.openapi_extra = {**(route.openapi_extra or {}), "x-scopes": scopes}
    app.openapi_schema = None


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # An included router may stay a branch of its own (its routes are not copied into the app's list).
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)
