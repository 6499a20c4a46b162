"""The shipped demo catalogue (data/catalogue.json): groups, services and one service programme, read as records.

Written for esoz (Ukrainian names; the SNOMED CT service-request categories); ids are fixed in the file, so
loading twice changes nothing and tests and the bench can name rows. A deployment loads the НСЗУ catalogue.
"""

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data") / "catalogue.json"


@dataclass(frozen=True, slots=True)
class Group:
    id: uuid.UUID
    code: str
    name: str
    parent: str | None  # the parent group's code
    request_allowed: bool


@dataclass(frozen=True, slots=True)
class Service:
    id: uuid.UUID
    code: str
    name: str
    category: str
    group: str  # the group's code
    is_composition: bool
    request_allowed: bool


@dataclass(frozen=True, slots=True)
class ProgramService:
    id: uuid.UUID
    service: str | None  # a service code, or
    group: str | None  # a group code
    consumer_price: Decimal
    description: str


@dataclass(frozen=True, slots=True)
class Program:
    id: uuid.UUID
    name: str
    funding_source: str
    services: tuple[ProgramService, ...]


@dataclass(frozen=True, slots=True)
class Catalogue:
    category_system: str
    categories: dict[str, str]  # SNOMED CT code -> Ukrainian name
    groups: tuple[Group, ...]
    services: tuple[Service, ...]
    programs: tuple[Program, ...]

    def service(self, code: str) -> Service:
        return next(s for s in self.services if s.code == code)

    def group(self, code: str) -> Group:
        return next(g for g in self.groups if g.code == code)


def _program(raw: dict[str, Any]) -> Program:
    entries = tuple(
        ProgramService(
            uuid.UUID(e["id"]), e.get("service"), e.get("group"), Decimal(str(e["consumer_price"])), e["description"]
        )
        for e in raw["services"]
    )
    return Program(uuid.UUID(raw["id"]), raw["name"], raw["funding_source"], entries)


@cache
def load() -> Catalogue:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    return Catalogue(
        category_system=raw["category_system"],
        categories={c["code"]: c["name"] for c in raw["categories"]},
        groups=tuple(
            Group(uuid.UUID(g["id"]), g["code"], g["name"], g["parent"], g["request_allowed"]) for g in raw["groups"]
        ),
        services=tuple(
            Service(
                uuid.UUID(s["id"]),
                s["code"],
                s["name"],
                s["category"],
                s["group"],
                s["is_composition"],
                s["request_allowed"],
            )
            for s in raw["services"]
        ),
        programs=tuple(_program(p) for p in raw["programs"]),
    )


LABORATORY = "108252007"
