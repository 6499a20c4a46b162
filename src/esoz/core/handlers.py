"""Exception handlers: every failure leaves as the contract's error envelope, never a bare 500 page."""

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from esoz.core import envelope
from esoz.core.errors import (
    ENTRY_HEADER,
    ENTRY_JSON,
    ENTRY_PATH,
    ENTRY_QUERY,
    ENTRY_REQUEST,
    VALIDATION_MESSAGE,
    ApiError,
    RequestMalformed,
    invalid_entry,
)
from esoz.core.logging import get_logger

log = get_logger("esoz.errors")

_ENTRY_TYPES = {"body": ENTRY_JSON, "query": ENTRY_QUERY, "path": ENTRY_PATH, "header": ENTRY_HEADER}

# pydantic error type -> the real system's rule names
_RULES = {
    "missing": "required",
    "extra_forbidden": "schemata",
    "string_pattern_mismatch": "format",
    "literal_error": "inclusion",
    "enum": "inclusion",
    "string_too_short": "length",
    "string_too_long": "length",
    "too_short": "length",
    "too_long": "length",
    "greater_than": "number",
    "greater_than_equal": "number",
    "less_than": "number",
    "less_than_equal": "number",
    "value_error": "invalid",
    "assertion_error": "invalid",
    "json_invalid": "json",
}


def json_path(loc: tuple[Any, ...]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _invalid_from_pydantic(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    invalid = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        source, rest = (loc[0], loc[1:]) if loc and loc[0] in _ENTRY_TYPES else ("body", loc)
        # pydantic reports the failing union member / function validator as an extra loc part
        rest = tuple(p for p in rest if not (isinstance(p, str) and (p.startswith("function-") or "[" in p)))
        err_type = err.get("type", "")
        rule = _RULES.get(err_type, "cast" if err_type.endswith(("_type", "_parsing")) else "invalid")
        ctx = err.get("ctx") or {}
        params: dict[str, str] | list[str] = {k: str(v) for k, v in ctx.items() if k != "error"} or []
        message = err.get("msg", "invalid value")
        if err_type == "extra_forbidden":
            message = "schema does not allow additional properties"
        invalid.append(invalid_entry(json_path(rest), rule, message, params, _ENTRY_TYPES[source]))
    return invalid


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return envelope.error(request, exc.status, exc.body(), exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid")
        err = RequestMalformed(
            "Malformed JSON in request body",
            [
                invalid_entry(
                    "$", "json", str((detail.get("ctx") or {}).get("error", "invalid JSON")), entry_type=ENTRY_REQUEST
                )
            ],
        )
        return envelope.error(request, err.status, err.body())
    body = {"type": "validation_failed", "message": VALIDATION_MESSAGE, "invalid": _invalid_from_pydantic(errors)}
    return envelope.error(request, 422, body)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    types = {404: "not_found", 405: "method_not_allowed", 401: "access_denied", 403: "forbidden"}
    message = "Resource not found" if exc.status_code == 404 else str(exc.detail)
    return envelope.error(
        request,
        exc.status_code,
        {"type": types.get(exc.status_code, "request_error"), "message": message},
        getattr(exc, "headers", None),
    )


# SQLSTATEs PostgreSQL answers when a value sent to it cannot be stored or converted: numeric_value_out_of_range,
# datetime_field_overflow, character_not_in_repertoire (NUL), untranslatable_character.
_OUT_OF_RANGE_SQLSTATES = {"22003", "22008", "22021", "22P05"}
OUT_OF_RANGE_DESCRIPTION = "a value is outside the range esoz can store"


def _is_out_of_range(exc: BaseException) -> bool:
    """A value too large, too small or unstorable, wherever it was found: Python arithmetic on it (a date past
    9999-12-31), the driver encoding it (an int past 64 bits, a time that leaves the UTC range), or PostgreSQL."""
    seen: BaseException | None = exc
    for _ in range(8):  # the chain is short: DBAPIError -> adapter error -> asyncpg error -> Python error
        if seen is None:
            return False
        if isinstance(seen, OverflowError):
            return True
        if getattr(seen, "sqlstate", None) in _OUT_OF_RANGE_SQLSTATES:
            return True
        if str(seen).startswith("invalid input for query argument"):  # asyncpg could not encode a parameter
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


async def _out_of_range(request: Request, exc: Exception) -> Response:
    """Bad values are refused by the edge and the schemas (core/inputguard.py, core/numeric.py); this is the net under
    them: an extreme value that still gets through is a 422, never a 500. The write's transaction has rolled back
    before this runs. Anything else is a server error as before."""
    if not _is_out_of_range(exc):
        raise exc
    log.warning("value out of range", error=type(exc).__name__, detail=str(exc)[:300])
    invalid = [invalid_entry("$", "invalid", OUT_OF_RANGE_DESCRIPTION, entry_type=ENTRY_REQUEST)]
    body = {"type": "validation_failed", "message": VALIDATION_MESSAGE, "invalid": invalid}
    return envelope.error(request, 422, body)


async def _database_error(request: Request, exc: Exception) -> Response:
    """A lost database connection (a failover, a replica stopped mid-read) is the service's trouble, not a bug: 503
    with Retry-After, so an MIS retries, by then on a new connection. Values out of range are a 422 as above."""
    lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
    # the hot paths' raw asyncpg (core/fastsql.py): the server closed the connection, or is shutting down
    lost = lost or isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.OperatorInterventionError)
    if lost:
        log.warning("database connection lost", error=type(exc).__name__)
        body = {"type": "service_unavailable", "message": "The database connection was lost. Retry later."}
        return envelope.error(request, 503, body, {"Retry-After": "1"})
    return await _out_of_range(request, exc)


async def _unhandled(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return envelope.error(request, 500, {"type": "internal_error", "message": "Internal server error"})


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DBAPIError, _database_error)  # SQLAlchemy's wrapping of the driver's errors
    app.add_exception_handler(asyncpg.DataError, _out_of_range)  # the hot paths' raw asyncpg (core/fastsql.py)
    app.add_exception_handler(asyncpg.PostgresConnectionError, _database_error)
    app.add_exception_handler(asyncpg.OperatorInterventionError, _database_error)
    app.add_exception_handler(Exception, _unhandled)
