"""Delivery receipts from the SMS provider (a callback the provider calls, not an MIS endpoint).

The provider is told the URL in each message ($callback_url). Where the message id and the status sit
in its JSON is configured (ESOZ_SMS_RECEIPT_ID_PATH / _STATUS_PATH); the shared secret
ESOZ_SMS_RECEIPT_TOKEN must come back as `?token=` (required outside dev mode).
"""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from esoz.core import envelope
from esoz.core.db import WriteConn
from esoz.core.errors import Forbidden, NotFound, field_error
from esoz.core.schemas import Envelope
from esoz.notifications import service
from esoz.notifications.providers.http import dig
from esoz.notifications.schemas import SmsReceiptOut

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.post(
    "/sms/receipts",
    response_model=Envelope[SmsReceiptOut],
    summary="Delivery receipt callback of the SMS provider (esoz: not in the MIS API)",
)
async def sms_receipt(
    request: Request,
    conn: WriteConn,
    body: Annotated[dict[str, Any], Body()],
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    settings = request.app.state.settings
    expected = settings.sms_receipt_token
    if expected is None and settings.env != "dev":
        raise Forbidden("Receipts are not accepted: ESOZ_SMS_RECEIPT_TOKEN is not configured")
    if expected is not None and not hmac.compare_digest((token or "").encode(), expected.encode()):
        raise Forbidden("Invalid receipt token")
    message_id, status = dig(body, settings.sms_receipt_id_path), dig(body, settings.sms_receipt_status_path)
    if message_id is None:
        raise field_error("$." + settings.sms_receipt_id_path, "required", "provider message id is missing")
    if status is None:
        raise field_error("$." + settings.sms_receipt_status_path, "required", "delivery status is missing")
    if not await service.record_receipt(conn, provider_message_id=str(message_id), status=str(status)):
        raise NotFound("Message not found")
    return envelope.ok(request, {"message_id": str(message_id), "status": str(status)})
