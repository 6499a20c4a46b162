"""HTTP: the dev CA's OCSP responder (RFC 6960 over HTTP), for sandboxes and `openssl ocsp`.

Answers only when dev OCSP is enabled (default: env=dev; never in prod) and the dev PKI exists;
otherwise 404, so production exposes nothing here.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request, Response

from esoz.core.errors import NotFound
from esoz.settings import Settings
from esoz.signatures.service import dev_ocsp_enabled, dev_pki_for

router = APIRouter(tags=["signatures (dev)"])

OCSP_RESPONSE = "application/ocsp-response"
MAX_OCSP_REQUEST_BYTES = 16 * 1024


def _respond(request: Request, body: bytes) -> Response:
    settings: Settings = request.app.state.settings
    pki = dev_pki_for(settings) if dev_ocsp_enabled(settings) else None
    if pki is None:
        raise NotFound()
    return Response(content=pki.respond(body), media_type=OCSP_RESPONSE)


@router.post("/dev/ocsp", include_in_schema=False)
async def ocsp_post(request: Request) -> Response:
    body = await request.body()
    # An OCSP request is a few hundred bytes; anything large is answered "malformedRequest".
    return _respond(request, body if len(body) <= MAX_OCSP_REQUEST_BYTES else b"")


@router.get("/dev/ocsp/{encoded:path}", include_in_schema=False)
async def ocsp_get(request: Request, encoded: str) -> Response:
    try:
        body = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        body = b""
    return _respond(request, body)
