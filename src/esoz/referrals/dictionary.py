"""The shipped service-request dictionary: categories (SNOMED CT) and the services a referral may order."""

import json
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "services.json"


@dataclass(frozen=True, slots=True)
class Service:
    id: uuid.UUID
    code: str
    name: str
    category: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class Dictionary:
    category_system: str
    categories: dict[str, str]  # code -> Ukrainian name
    services: dict[uuid.UUID, Service]


@cache
def load() -> Dictionary:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    services = {
        uuid.UUID(s["id"]): Service(uuid.UUID(s["id"]), s["code"], s["name"], s["category"], s["is_active"])
        for s in raw["services"]
    }
    return Dictionary(raw["category_system"], {c["code"]: c["name"] for c in raw["categories"]}, services)


LABORATORY = "108252007"
