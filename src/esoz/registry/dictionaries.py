"""Dictionaries in the shape of `GET /api/v2/dictionaries`: each value an object (code, description, is_active,
child values), the dictionary with a description, and filters on the values.

esoz keeps a dictionary's values as a flat map of code → Ukrainian label (the v1 shape); every value of an
active dictionary is active and none has children.
"""

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.registry.models import dictionaries

DESCRIPTIONS = {
    "GENDER": "Стать",
    "DOCUMENT_TYPE": "Типи документів, що посвідчують особу",
    "PHONE_TYPE": "Типи телефонів",
    "ADDRESS_TYPE": "Типи адрес",
    "SETTLEMENT_TYPE": "Типи населених пунктів",
    "STREET_TYPE": "Типи вулиць",
    "EMPLOYEE_TYPE": "Типи працівників",
    "SPECIALITY_TYPE": "Спеціальності",
    "SPECIALITY_LEVEL": "Кваліфікаційні категорії",
    "SPECIALITY_QUALIFICATION_TYPE": "Типи атестації",
    "LEGAL_ENTITY_TYPE": "Типи юридичних осіб",
    "LEGAL_ENTITY_STATUS": "Статуси юридичних осіб",
    "LEGAL_FORM": "Організаційно-правові форми",
    "OWNER_PROPERTY_TYPE": "Форми власності",
    "DIVISION_TYPE": "Типи підрозділів",
    "EMPLOYEE_STATUS": "Статуси працівників",
    "POSITION": "Посади",
    "AUTHENTICATION_METHOD": "Методи автентифікації пацієнта",
    "PREFERRED_WAY_COMMUNICATION": "Бажані способи зв'язку",
    "DECLARATION_STATUS": "Статуси декларацій",
    "COUNTRY": "Країни",
    "EDUCATION_DEGREE": "Освітні ступені",
    "QUALIFICATION_TYPE": "Типи післядипломної освіти",
    "SCIENCE_DEGREE": "Наукові ступені",
    "MEDICATION_REQUEST_REJECT_REASON": "Причини відкликання рецепта",
}


class DictionaryValueOut(BaseModel):
    code: str
    description: str
    is_active: bool
    child_values: list["DictionaryValueOut"]


class DictionaryV2Out(BaseModel):
    name: str
    description: str
    values: list[DictionaryValueOut]
    labels: list[Any] | dict[str, Any]
    is_active: bool


async def list_v2(
    conn: AsyncConnection,
    *,
    name: str | None = None,
    is_active: bool | None = None,
    value_code: str | None = None,
    value_description: str | None = None,
    value_is_active: bool | None = None,
) -> list[dict[str, Any]]:
    """Dictionaries with the values that pass the value filters; with a value filter, a dictionary none of
    whose values pass is left out."""
    query = select(dictionaries).order_by(dictionaries.c.name)
    if name is not None:
        query = query.where(dictionaries.c.name == name)
    if is_active is not None:
        query = query.where(dictionaries.c.is_active == is_active)
    by_value = value_code is not None or value_description is not None or value_is_active is not None
    needle = value_description.casefold() if value_description is not None else None
    out = []
    for row in (await conn.execute(query)).mappings():
        values = [
            {"code": code, "description": label, "is_active": row["is_active"], "child_values": []}
            for code, label in row["values"].items()
            if (value_code is None or code == value_code)
            and (needle is None or needle in str(label).casefold())
            and (value_is_active is None or row["is_active"] == value_is_active)
        ]
        if by_value and not values:
            continue
        out.append(
            {
                "name": row["name"],
                "description": DESCRIPTIONS.get(row["name"], row["name"]),
                "values": values,
                "labels": row["labels"],
                "is_active": row["is_active"],
            }
        )
    return out
