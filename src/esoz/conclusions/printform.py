"""HTML print form of a conclusion: the information certificate (`form_type=INFO_CERTIFICATE`), Ukrainian."""

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.conclusions import pfu
from esoz.conclusions.models import compositions
from esoz.conclusions.schemas import TEMP_DISABILITY_CATEGORIES
from esoz.conclusions.service import validity_days
from esoz.core.rows import RowLike
from esoz.registry import repository

KYIV = ZoneInfo("Europe/Kyiv")
FORM_TYPES = ("INFO_CERTIFICATE",)
STATUS_LABELS = {
    "PRELIMINARY": "Попередній (не підписаний)",
    "FINAL": "Чинний",
    "AMENDED": "Продовжений іншим висновком",
    "ENTERED_IN_ERROR": "Скасований",
}
_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape(["html"])
)


def _d(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(KYIV).strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


def _days_word(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "день"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return "дні"
    return "днів"


def _name(last: str, first: str, second: str | None) -> str:
    return " ".join(p for p in (last, first, second) if p)


async def render_info_certificate(conn: AsyncConnection, row: RowLike) -> str:
    person = await repository.get_person(conn, person_id=row["person_id"])
    author = await repository.active_clinician(
        conn, employee_id=row["author_id"], legal_entity_id=None, entry="$.author"
    )
    le = await repository.get_legal_entity(conn, legal_entity_id=row["custodian_id"])
    assert person is not None and le is not None  # the composition's patient and custodian are registered
    replaces_title = None
    if row["replaces_id"] is not None:
        t = compositions
        replaces_title = (await conn.execute(select(t.c.title).where(t.c.id == row["replaces_id"]))).scalar()
    created: dict[str, Any] = next((e for e in row["integration_data"] if e.get("type") == pfu.CREATE), {})
    days = validity_days(row)
    context: dict[str, Any] = {
        "title": row["title"],
        "status": row["status"],
        "status_label": STATUS_LABELS[row["status"]],
        "patient_name": _name(person["last_name"], person["first_name"], person["second_name"]),
        "birth_date": _d(person["birth_date"]),
        "category_label": TEMP_DISABILITY_CATEGORIES.get(row["category"], row["category"]),
        "start": _d(row["validity_start"]),
        "end": _d(row["validity_end"]),
        "days": days,
        "days_word": _days_word(days),
        "replaces_title": replaces_title,
        "legal_entity_name": le["name"],
        "edrpou": le["edrpou"],
        "doctor_name": _name(author.party.last_name, author.party.first_name, author.party.second_name),
        "signed_at": _d(row["signed_at"]),
        "sick_leave_number": (created.get("details") or {}).get("number"),
        "explanatory_letter": row["explanatory_letter"],
    }
    return _env.get_template("info_certificate.html").render(context)
