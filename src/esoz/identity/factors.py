"""Second factors: SMS codes (the real system's `otps`) and TOTP (pyotp) with a replay guard.

SMS: 6 digits from the CSPRNG, valid 300 s, 3 tries per code, at most 3 sends a minute (429
`otp_timeout`), and 3 wrong codes in a row block the user (USER_OTP_ERROR_MAX). The code is stored as a
digest and leaves only inside the SMS (an outbox row, delivered by the notifications worker).
TOTP: 30-second steps, ±1 step accepted, and a step at or before the last accepted one is refused.
"""

import hmac
import secrets
import uuid
from datetime import timedelta
from typing import Any

import pyotp
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import audit, clock
from esoz.core.audit import Actor
from esoz.core.errors import ApiError
from esoz.core.ids import uuid7
from esoz.identity.models import authentication_factors, otps, users
from esoz.identity.tokens import digest
from esoz.identity.tx import Refusal
from esoz.settings import Settings

SMS = "SMS"
TOTP = "TOTP"
SMS_TEXT = "Код підтвердження: {code}"
TOTP_ISSUER = "esoz"
CHANGED_SMS = (
    "esoz: другий фактор входу до вашого облікового запису змінено. "
    "Якщо це були не ви, негайно зверніться до адміністратора закладу."
)
CHANGED_SUBJECT = "Другий фактор входу esoz змінено"
CHANGED_BODY = (
    "Вітаємо!\n\nДругий фактор входу до вашого облікового запису esoz щойно змінено: {what}.\n"
    "Усі сеанси входу завершено.\n\nЯкщо це були не ви, негайно зверніться до адміністратора закладу."
)
WHAT_UK = {
    SMS: "новий номер телефону для SMS-кодів",
    TOTP: "новий застосунок-автентифікатор",
    "reset": "оператор скинув другі фактори, під час наступного входу потрібно налаштувати новий",
}


def otp_error(type_: str, message: str, status: int = 401) -> ApiError:
    return ApiError(status, type_, message)


async def active_factor(conn: AsyncConnection, user_id: uuid.UUID) -> Any:
    """The user's active factor, TOTP preferred over SMS (it is the stronger one)."""
    rows = (
        await conn.execute(
            select(authentication_factors).where(
                authentication_factors.c.user_id == user_id, authentication_factors.c.is_active.is_(True)
            )
        )
    ).all()
    by_type = {r.type: r for r in rows}
    return by_type.get(TOTP) or by_type.get(SMS)


def mask_phone(phone: str) -> str:
    return phone[:6] + "*" * max(len(phone) - 8, 0) + phone[-2:]


async def send_sms_code(
    conn: AsyncConnection,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    phone: str,
    purpose: str,
    token_id: uuid.UUID | None,
    actor: Actor,
) -> None:
    now = clock.now()
    sent = (
        await conn.execute(
            select(func.count())
            .select_from(otps)
            .where(
                otps.c.user_id == user_id,
                otps.c.inserted_at > now - timedelta(seconds=settings.otp_send_window_seconds),
            )
        )
    ).scalar_one()
    if sent >= settings.otp_send_max:
        raise ApiError(
            429,
            "otp_timeout",
            "Sending OTP timeout. Try later.",
            headers={"Retry-After": str(settings.otp_send_window_seconds)},
        )
    # a new code cancels the previous ones: only the latest SMS works
    await conn.execute(update(otps).where(otps.c.user_id == user_id, otps.c.status == "NEW").values(status="CANCELED"))
    code = "".join(secrets.choice("0123456789") for _ in range(settings.otp_length))
    otp_id = uuid7()
    await conn.execute(
        otps.insert().values(
            id=otp_id,
            user_id=user_id,
            purpose=purpose,
            token_id=token_id,
            phone=phone,
            code_hash=digest(f"{otp_id}:{code}"),
            expires_at=now + timedelta(seconds=settings.otp_lifetime_seconds),
            inserted_at=now,
        )
    )
    from esoz.notifications.service import queue_sms

    await queue_sms(
        conn, phone=phone, text=SMS_TEXT.format(code=code), kind="auth_otp", idempotency_key=f"otp:{otp_id}"
    )
    await audit.record(
        conn,
        action="mfa.sms_sent",
        resource_type="otp",
        resource_id=otp_id,
        actor=actor,
        details={"purpose": purpose, "phone": mask_phone(phone)},
    )


async def _wrong_code(conn: AsyncConnection, settings: Settings, user_id: uuid.UUID, actor: Actor, kind: str) -> None:
    """Count a wrong code; the USER_OTP_ERROR_MAX-th in a row blocks the user."""
    counter = (
        await conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(otp_error_counter=users.c.otp_error_counter + 1)
            .returning(users.c.otp_error_counter)
        )
    ).scalar_one()
    await audit.record(
        conn, action="mfa.failure", resource_type="user", resource_id=user_id, outcome="failure", actor=actor,
        details={"factor": kind, "errors_in_row": counter},
    )  # fmt: skip
    if counter >= settings.otp_user_error_max:
        await conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(is_blocked=True, block_reason="Passed invalid OTP more than USER_OTP_ERROR_MAX")
        )
        await audit.record(
            conn, action="user.blocked", resource_type="user", resource_id=user_id, outcome="success", actor=actor,
            details={"reason": "otp_error_max"},
        )  # fmt: skip


async def _right_code(conn: AsyncConnection, user_id: uuid.UUID, actor: Actor, kind: str) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(otp_error_counter=0))
    await audit.record(
        conn, action="mfa.success", resource_type="user", resource_id=user_id, actor=actor, details={"factor": kind}
    )


async def check_sms_code(
    conn: AsyncConnection, settings: Settings, *, user_id: uuid.UUID, purpose: str, code: str, actor: Actor
) -> str:
    """Check the latest code; returns the phone it was sent to. Raises Refusal (commit) or ApiError."""
    row = (
        await conn.execute(
            select(otps)
            .where(otps.c.user_id == user_id, otps.c.purpose == purpose, otps.c.status == "NEW")
            .order_by(otps.c.inserted_at.desc())
            .limit(1)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise otp_error("otp_invalid", "Invalid OTP. Request a new code.")
    if row.expires_at <= clock.now():
        await conn.execute(update(otps).where(otps.c.id == row.id).values(status="EXPIRED"))
        raise otp_error("otp_expired", "OTP expired.")
    if hmac.compare_digest(row.code_hash, digest(f"{row.id}:{code}")):
        await conn.execute(update(otps).where(otps.c.id == row.id).values(status="VERIFIED"))
        await _right_code(conn, user_id, actor, SMS)
        return row.phone
    attempts = row.attempts + 1
    status = "UNVERIFIED" if attempts >= settings.otp_max_attempts else "NEW"
    await conn.execute(update(otps).where(otps.c.id == row.id).values(attempts=attempts, status=status))
    await _wrong_code(conn, settings, user_id, actor, SMS)
    if status == "UNVERIFIED":
        raise Refusal(otp_error("otp_reached_max_attempts", "Maximum attempts exceed. Request a new code."))
    raise Refusal(otp_error("otp_invalid", "Invalid OTP."))


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def _totp_timecode(secret: str, code: str) -> int | None:
    """The accepted time step of `code` (±1 step around now), or None."""
    totp = pyotp.TOTP(secret)
    now = clock.now()
    for step in (0, -1, 1):
        at = now + timedelta(seconds=step * totp.interval)
        if hmac.compare_digest(totp.at(at), code):
            return totp.timecode(at)
    return None


async def check_totp(
    conn: AsyncConnection, settings: Settings, *, factor: Any, code: str, actor: Actor, approve: bool = False
) -> None:
    row = (
        await conn.execute(
            select(authentication_factors).where(authentication_factors.c.id == factor.id).with_for_update()
        )
    ).one()
    timecode = _totp_timecode(row.factor, code) if code.isdigit() else None
    if timecode is None or (row.last_timecode is not None and timecode <= row.last_timecode):
        await _wrong_code(conn, settings, row.user_id, actor, TOTP)
        raise Refusal(otp_error("otp_invalid", "Invalid OTP."))
    values: dict[str, Any] = {"last_timecode": timecode}
    if approve:
        values["is_active"] = True
    await conn.execute(update(authentication_factors).where(authentication_factors.c.id == row.id).values(**values))
    await _right_code(conn, row.user_id, actor, TOTP)


async def check_new_totp(
    conn: AsyncConnection, settings: Settings, *, user_id: uuid.UUID, secret: str, code: str, actor: Actor
) -> int:
    """A code of a TOTP secret being enrolled (not stored as a factor yet); returns its time step."""
    timecode = _totp_timecode(secret, code) if code.isdigit() else None
    if timecode is None:
        await _wrong_code(conn, settings, user_id, actor, TOTP)
        raise Refusal(otp_error("otp_invalid", "Invalid OTP."))
    await _right_code(conn, user_id, actor, TOTP)
    return timecode


async def activate_totp(conn: AsyncConnection, *, user_id: uuid.UUID, secret: str, timecode: int) -> None:
    """The approved secret becomes the user's TOTP factor; the approving code's step cannot be replayed."""
    await conn.execute(
        insert(authentication_factors)
        .values(id=uuid7(), user_id=user_id, type=TOTP, factor=secret, is_active=True, last_timecode=timecode)
        .on_conflict_do_update(
            index_elements=[authentication_factors.c.user_id, authentication_factors.c.type],
            set_={"factor": secret, "is_active": True, "last_timecode": timecode},
        )
    )


async def sms_phone(conn: AsyncConnection, user_id: uuid.UUID) -> str | None:
    """The phone of the user's active SMS factor, if any."""
    return (
        await conn.execute(
            select(authentication_factors.c.factor).where(
                authentication_factors.c.user_id == user_id,
                authentication_factors.c.type == SMS,
                authentication_factors.c.is_active.is_(True),
            )
        )
    ).scalar_one_or_none()


async def notify_change(
    conn: AsyncConnection, *, user_id: uuid.UUID, email: str, old_phone: str | None, what: str, key: str
) -> str:
    """Tell the user of a factor change on the channel they had before it: an SMS to the old phone, or an
    e-mail when there was no SMS factor (whoever made the change may hold the new one). Returns the channel."""
    from esoz.notifications.service import queue_email, queue_sms

    if old_phone:
        await queue_sms(conn, phone=old_phone, text=CHANGED_SMS, kind="factor_changed", idempotency_key=key)
        return "sms"
    await queue_email(
        conn, to=email, subject=CHANGED_SUBJECT, text=CHANGED_BODY.format(what=WHAT_UK.get(what, what)),
        kind="factor_changed", idempotency_key=key,
    )  # fmt: skip
    return "email"
