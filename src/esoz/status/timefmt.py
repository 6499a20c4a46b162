"""Times for people: Europe/Kyiv, day.month.year."""

from datetime import datetime
from zoneinfo import ZoneInfo

KYIV = ZoneInfo("Europe/Kyiv")


def kyiv(value: datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    return value.astimezone(KYIV).strftime(fmt) if value is not None else ""
