"""The real system's response envelope: meta, data, paging, urgent."""

import uuid
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from esoz.core.context import current_request_id
from esoz.core.pagination import KeysetPaging, Paging
from esoz.core.patient_data import collect


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):  # asyncpg's own UUID subclass, which orjson does not take natively
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> bytes:
    # orjson encodes UUID, datetime and date natively; Decimal etc. fall to _default.
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def meta(request: Request, status: int, type_: str) -> dict[str, Any]:
    return {"url": str(request.url), "type": type_, "code": status, "request_id": current_request_id()}


class EnvelopeResponse(Response):
    media_type = "application/json"


def ok(
    request: Request,
    data: Any,
    *,
    status: int = 200,
    paging: Paging | KeysetPaging | None = None,
    urgent: dict[str, Any] | None = None,
) -> Response:
    collect(request.scope, data)  # whose data leaves, for routes that declare patient data
    body: dict[str, Any] = {"meta": meta(request, status, "list" if isinstance(data, list) else "object")}
    body["data"] = data
    if paging is not None:
        body["paging"] = paging.as_dict()
    if urgent is not None:
        body["urgent"] = urgent
    return EnvelopeResponse(dumps(body), status_code=status)


def error(request: Request, status: int, error_body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    body = {"meta": meta(request, status, "object"), "error": error_body}
    return EnvelopeResponse(dumps(body), status_code=status, headers=headers)
