"""The patient's SMS code that confirms a request (a declaration request, a person request).

The code is kept only as a keyed hash on the request row, with its expiry and the wrong tries so far. A wrong
code is counted on the row and then refused with `CodeRefused`, which the route answers without raising, so the
count is committed and a caller cannot guess past the limit by letting transactions roll back.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.errors import ApiError, invalid_entry
from esoz.settings import Settings

ENTRY = "$.verification_code"
INCORRECT = "Invalid verification code"
EXPIRED = "Verification code expired"
EXHAUSTED = "Maximum attempts exceed"
SENDS_EXHAUSTED = "Sending OTP timeout. Try later."


class CodeRefused(ApiError):
    """A refused code (wrong, expired, tries used up): answered by the route, so the count is kept."""

    def __init__(self, message: str) -> None:
        super().__init__(422, "validation_failed", message, [invalid_entry(ENTRY, "invalid", message)])


@dataclass(frozen=True, kw_only=True)
class IssuedCode:
    code: str
    hash: str
    expires_at: datetime


def _digest(request_id: uuid.UUID, code: str) -> str:
    # The request id salts the hash: equal codes of two requests do not share a hash.
    return hmac.new(request_id.bytes, code.encode(), hashlib.sha256).hexdigest()


def issue(request_id: uuid.UUID, settings: Settings) -> IssuedCode:
    code = "".join(secrets.choice("0123456789") for _ in range(settings.otp_length))
    return IssuedCode(
        code=code,
        hash=_digest(request_id, code),
        expires_at=clock.now() + timedelta(seconds=settings.otp_lifetime_seconds),
    )


async def check(conn: AsyncConnection, table: Table, row: Any, code: str | None, settings: Settings) -> None:
    """Refuse unless `code` is the row's live code; a wrong one is counted first (the row is locked)."""
    if code is None or code == "":
        raise ApiError(
            422,
            "validation_failed",
            "verification_code is required",
            [invalid_entry(ENTRY, "required", "required property verification_code was not present")],
        )
    if row["otp_hash"] is None:
        raise CodeRefused(INCORRECT)
    if row["otp_attempts"] >= settings.otp_max_attempts:
        raise CodeRefused(EXHAUSTED)
    if row["otp_expires_at"] is None or row["otp_expires_at"] <= clock.now():
        raise CodeRefused(EXPIRED)
    if not hmac.compare_digest(_digest(row["id"], str(code)), row["otp_hash"]):
        await conn.execute(table.update().where(table.c.id == row["id"]).values(otp_attempts=table.c.otp_attempts + 1))
        raise CodeRefused(INCORRECT)


async def reissue(conn: AsyncConnection, table: Table, row: Any, settings: Settings) -> tuple[IssuedCode, RowMapping]:
    """A new code for the row (locked by the caller): the earlier one stops working and the tries start again.
    A request sends at most `request_code_max_sends` codes (the first one counts), so resends cannot flood the
    patient's phone."""
    if row["otp_sends"] >= settings.request_code_max_sends:
        raise ApiError(429, "otp_timeout", SENDS_EXHAUSTED)
    code = issue(row["id"], settings)
    stmt = (
        table.update()
        .where(table.c.id == row["id"])
        .values(
            otp_hash=code.hash,
            otp_expires_at=code.expires_at,
            otp_attempts=0,
            otp_sends=table.c.otp_sends + 1,
            updated_at=clock.now(),
        )
        .returning(*table.c)
    )
    return code, (await conn.execute(stmt)).mappings().one()
