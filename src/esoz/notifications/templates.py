"""Patient- and user-facing texts, word for word as the real system sends them (contract §1.6).

Each function returns (kind, text); the kind names the template in the outbox and in the dev view.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

KYIV = ZoneInfo("Europe/Kyiv")


def _date(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(KYIV).date() if value.tzinfo else value.date()
    return value.strftime("%d.%m.%Y") if isinstance(value, date) else str(value)


def verification_code(code: str) -> tuple[str, str]:
    """Patient OTP (otp_verification: declaration requests, approvals)."""
    return "verification_code", f"Код авторизації дій в системі eHealth: {code}"


def user_otp(code: str) -> tuple[str, str]:
    """Second factor of a user's sign-in (mithril)."""
    return "user_otp", f"Код підтвердження: {code}"


def medication_request_sign(request_number: str, verification_code: str) -> tuple[str, str]:
    return "medication_request_sign", f"Ваш рецепт: {request_number}. Код підтвердження: {verification_code}"


def medication_request_reject(request_number: str, created_at: date | datetime | str) -> tuple[str, str]:
    return "medication_request_reject", f"Відкликано рецепт: {request_number} від {_date(created_at)}"


def service_request_cancel(number: str) -> tuple[str, str]:
    return "service_request_cancel", f"Ваше направлення під номером {number} було відмінено"


def service_request_recall(number: str) -> tuple[str, str]:
    return "service_request_recall", f"Ваше направлення під номером {number} було відкликано"


# esoz: the real texts of these are not published; these follow the same style.
def service_request_created(number: str, requisition: str | None = None) -> tuple[str, str]:
    tail = f". Номер групи направлень: {requisition}" if requisition else ""
    return "service_request_created", f"Ваше направлення: {number}{tail}"


def composition_created(title: str) -> tuple[str, str]:
    return "composition_created", f"Ваш медичний висновок: {title}"
