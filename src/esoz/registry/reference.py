"""Shipped reference data (regions, dictionaries, rules) and its loading into the database."""

import csv
import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from esoz.core.db import make_engine
from esoz.registry.models import dictionaries, regions

DATA = files("esoz.registry") / "data"


@lru_cache
def rules() -> dict[str, Any]:
    """Registry rules (allowed division types, declaration limits, document patterns, ...)."""
    return json.loads((DATA / "rules.json").read_text(encoding="utf-8"))


@lru_cache
def dictionary_file() -> dict[str, dict[str, Any]]:
    return json.loads((DATA / "dictionaries.json").read_text(encoding="utf-8"))


def dictionary_codes(name: str) -> set[str]:
    return set(dictionary_file()[name]["values"])


def region_rows() -> list[dict[str, Any]]:
    with (DATA / "regions.csv").open(encoding="utf-8") as fh:
        return [
            {**row, "population": int(row["population"]) if row["population"] else None} for row in csv.DictReader(fh)
        ]


async def load_reference_data(url: str) -> None:
    """Insert shipped rows that are missing; rows an operator already changed are left alone."""
    engine = make_engine(url, 1)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(regions).values(region_rows()).on_conflict_do_nothing())
            await conn.execute(
                insert(dictionaries)
                .values(
                    [
                        {"name": name, "values": d["values"], "labels": d["labels"], "is_active": d["is_active"]}
                        for name, d in dictionary_file().items()
                    ]
                )
                .on_conflict_do_nothing()
            )
    finally:
        await engine.dispose()
