"""MIS-facing registry reads, as the real contract defines them."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import ReadConn
from esoz.registry import service

router = APIRouter(prefix="/api", tags=["registry"])


@router.get("/dictionaries", summary="Dictionaries (codes and their Ukrainian labels)")
async def get_dictionaries(
    request: Request,
    conn: ReadConn,
    name: Annotated[str | None, Query(max_length=100)] = None,
    is_active: bool | None = None,
) -> Response:
    return envelope.ok(request, await service.list_dictionaries(conn, name, is_active))
