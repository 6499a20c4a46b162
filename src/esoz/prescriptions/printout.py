"""The prescription's printout (`printout_form`): the paper form a patient may take to the pharmacy, in Ukrainian.

Rendered from the prescription as it is stored (the signed draft and the current status), so the printout says
exactly what the doctor signed. Every value is HTML-escaped by the template engine.
"""

from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from esoz.core.rows import RowLike
from esoz.prescriptions import render

_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)

BLANK_TYPES = {"F-1": "Ф-1", "F-3": "Ф-3"}
FUNDING_SOURCES = {
    "NHS": "кошти державного бюджету (НСЗУ)",
    "LOCAL_BUDGET": "кошти місцевого бюджету",
    "PATIENT": "кошти пацієнта",
}
STATUSES = {
    "ACTIVE": "Чинний",
    "COMPLETED": "Погашений",
    "REJECTED": "Відкликаний",
    "EXPIRED": "Термін дії минув",
}
UNITS = {
    "MG": "мг",
    "G": "г",
    "MKG": "мкг",
    "MCG": "мкг",
    "ML": "мл",
    "L": "л",
    "U": "ОД",
    "IU": "МО",
    "TABLET": "табл.",
    "CAPSULE": "капс.",
    "DOSE": "доза",
    "PIECE": "шт.",
    "CARTRIDGE": "картридж",
    "PATCH": "пластир",
}
ADDRESS_PARTS = ("zip", "area", "region", "settlement", "street", "building", "apartment")


def _d(value: str | date | None) -> str:
    if value is None:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return day.strftime("%d.%m.%Y")


def _years(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} рік"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return f"{n} роки"
    return f"{n} років"


def _num(value: Any) -> str:
    return f"{float(value):g}".replace(".", ",") if value is not None else ""


def _unit(code: str | None) -> str:
    return UNITS.get(code or "", (code or "").lower())


def _dosage(dosage: Any) -> str:
    """`{numerator 500 MG, denumerator 1 TABLET}` → «500 мг / 1 табл.»."""
    if not isinstance(dosage, dict) or dosage.get("numerator_value") is None:
        return ""
    text = f"{_num(dosage['numerator_value'])} {_unit(dosage.get('numerator_unit'))}"
    if dosage.get("denumerator_value") is not None:
        text += f" / {_num(dosage['denumerator_value'])} {_unit(dosage.get('denumerator_unit'))}"
    return text


def _address(addresses: Any) -> str:
    first = addresses[0] if isinstance(addresses, list) and addresses else {}
    return ", ".join(str(first[k]) for k in ADDRESS_PARTS if isinstance(first, dict) and first.get(k))


def _full_name(party: dict[str, Any]) -> str:
    return " ".join(p for p in (party.get("last_name"), party.get("first_name"), party.get("second_name")) if p)


def html(mr: dict[str, Any]) -> str:
    """The printout of a prescription rendered by render.medication_request (the prescriber's view)."""
    info = mr["medication_info"]
    program = mr["medical_program"]
    employee = mr.get("employee") or {}
    legal_entity = mr.get("legal_entity") or {}
    division = mr.get("division") or {}
    ingredients = info.get("ingredients") or [{}]
    container = mr.get("container_dosage")
    context = {
        "number": mr["request_number"],
        "blank_type": BLANK_TYPES.get(program.get("mr_blank_type"), program.get("mr_blank_type") or ""),
        "status": STATUSES.get(mr["status"], mr["status"]),
        "is_active": mr["status"] == "ACTIVE" and not mr.get("is_blocked"),
        "is_blocked": bool(mr.get("is_blocked")),
        "created_at": _d(mr["created_at"]),
        "started_at": _d(mr["started_at"]),
        "ended_at": _d(mr["ended_at"]),
        "valid_from": _d(mr["dispense_valid_from"]),
        "valid_to": _d(mr["dispense_valid_to"]),
        "patient": mr["person"]["short_name"],
        "age": _years(int(mr["person"]["age"])),
        "medication": info["medication_name"],
        "innm": ingredients[0].get("name") or "",
        "innm_original": ingredients[0].get("name_original") or "",
        "dosage": _dosage(info.get("dosage")),
        "qty": _num(info["medication_qty"]),
        "container": f"{_num(container['value'])} {_unit(container['code'])}" if container else "",
        "instructions": [d.get("text") or "" for d in mr.get("dosage_instruction") or []],
        "program": program["name"],
        "funding": FUNDING_SOURCES.get(program.get("funding_source"), program.get("funding_source") or ""),
        "intent": "призначення (без права отримання)" if mr["intent"] == "plan" else "",
        "note": mr.get("note") or "",
        "doctor": _full_name(employee.get("party") or {}),
        "position": employee.get("position") or "",
        "legal_entity": legal_entity.get("name") or "",
        "edrpou": legal_entity.get("edrpou") or "",
        "division": division.get("name") or "",
        "address": _address(division.get("addresses")),
    }
    return _env.get_template("medication_request.html").render(context)


def with_printout(row: RowLike) -> dict[str, Any]:
    """The prescriber's render of a prescription with its printout."""
    mr = render.medication_request(row)
    return mr | {"printout_form": html(mr)}
