"""Dashboard filters (period, oblast, programme) and the shape of a chart's data (columns and rows)."""

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.errors import ENTRY_QUERY, ValidationFailed, invalid_entry
from esoz.status.timefmt import KYIV

MAX_MONTHS = 120  # ten years: longer periods are refused
MAX_PAGE = 10000
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
SUPPRESSED = "<5"  # counts under 5 are never published
SMALL = 5


@dataclass(frozen=True, slots=True)
class Filters:
    month_from: date  # first days of the first and of the last month
    month_to: date
    region: str | None = None
    program: str | None = None

    @property
    def months(self) -> list[date]:
        out, m = [], self.month_from
        while m <= self.month_to:
            out.append(m)
            m = next_month(m)
        return out

    @property
    def date_to(self) -> date:
        """The last day of the period."""
        return date.fromordinal(next_month(self.month_to).toordinal() - 1)

    @property
    def days(self) -> int:
        return (self.date_to - self.month_from).days + 1

    @property
    def years(self) -> list[int]:
        return list(range(self.month_from.year, self.month_to.year + 1))

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links to downloads and between pages)."""
        out = {"from": f"{self.month_from:%Y-%m}", "to": f"{self.month_to:%Y-%m}"}
        if self.region:
            out["region"] = self.region
        if self.program:
            out["program"] = self.program
        return out


def next_month(m: date) -> date:
    return date(m.year + m.month // 12, m.month % 12 + 1, 1)


def add_months(m: date, n: int) -> date:
    k = m.year * 12 + m.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def this_month() -> date:
    today = clock.now().astimezone(KYIV).date()
    return today.replace(day=1)


def _error(entry: str, rule: str, description: str, params: Any = None) -> ValidationFailed:
    return ValidationFailed([invalid_entry(f"$.{entry}", rule, description, params, entry_type=ENTRY_QUERY)])


def _month(value: str, entry: str) -> date:
    found = MONTH.match(value.strip())
    if not found:
        raise _error(entry, "format", "expected a month as YYYY-MM", "YYYY-MM")
    return date(int(found.group(1)), int(found.group(2)), 1)


async def parse_filters(
    conn: AsyncConnection,
    month_from: str | None,
    month_to: str | None,
    region: str | None = None,
    program: str | None = None,
) -> Filters:
    """Validated filters; the period defaults to the last 12 months. Each bad value is the contract's 422."""
    end = _month(month_to, "to") if month_to else this_month()
    start = _month(month_from, "from") if month_from else add_months(end, -11)
    if end < start:
        raise _error("to", "greater_than", "the end of the period must not be before its start", f"{start:%Y-%m}")
    if (end.year - start.year) * 12 + end.month - start.month + 1 > MAX_MONTHS:
        raise _error("to", "max_period", f"the period must not exceed {MAX_MONTHS} months", MAX_MONTHS)
    region = region or None
    if region is not None and region not in await region_names(conn):
        raise _error("region", "inclusion", "unknown oblast (a KATOTTG code of the regions dictionary)")
    program = program or None
    if program is not None:
        try:
            program = str(uuid.UUID(program))
        except ValueError:
            raise _error("program", "uuid", "the programme is a medical_program id (UUID)") from None
        if program not in await program_names(conn):
            raise _error("program", "inclusion", "unknown medical programme")
    return Filters(start, end, region, program)


async def region_names(conn: AsyncConnection) -> dict[str, str]:
    rows = await conn.execute(text("SELECT katottg, name_uk FROM regions ORDER BY name_uk"))
    return {r.katottg: r.name_uk for r in rows}


async def program_names(conn: AsyncConnection) -> dict[str, tuple[str, str]]:
    """id -> (name, funding source)."""
    rows = await conn.execute(text("SELECT id::text AS id, name, funding_source FROM medical_programs ORDER BY name"))
    return {r.id: (r.name, r.funding_source) for r in rows}


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    kind: str = "count"  # count (suppressed under 5) | text | number (derived, suppressed by its basis) | share


@dataclass(slots=True)
class Chart:
    id: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    plot: dict[str, Any] = field(default_factory=dict)  # how the page draws it (kind, x, series)
    note: str = ""
    total_rows: int | None = None  # paged charts: rows in all pages

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "note": self.note,
            "columns": [{"key": c.key, "title": c.title} for c in self.columns],
            "rows": self.rows,
        }


def count(n: int | None) -> int | str:
    """A published count: under 5 (but not 0) becomes "<5"."""
    n = int(n or 0)
    return SUPPRESSED if 0 < n < SMALL else n


def derived(value: float | None, basis: int | None, digits: int = 2) -> float | None:
    """A rate or share is published only when at least 5 records stand behind it."""
    if value is None or int(basis or 0) < SMALL:
        return None
    return round(value, digits)


# --- answers (documented in the OpenAPI; rendered by Dashboard.as_dict and Chart.as_dict) --------------
# A count is a number, or "<5" when it is under 5; a rate or share is null when fewer than 5 records stand
# behind it: the values of figures and rows are therefore documented as any JSON value.


class DashboardLinkOut(BaseModel):
    id: str
    title: str
    url: str
    page: str


class ChartColumnOut(BaseModel):
    key: str
    title: str


class ChartOut(BaseModel):
    id: str
    title: str
    note: str
    columns: list[ChartColumnOut]
    rows: list[dict[str, Any]] = PydanticField(description="one object a row, keyed by the columns' keys")


class FigureOut(BaseModel):
    key: str
    title: str
    value: Any
    unit: str


class DashboardOut(BaseModel):
    id: str
    title: str
    filters: dict[str, str] = PydanticField(description="the applied filters as query parameters")
    figures: list[FigureOut]
    charts: list[ChartOut]


class ChartDataOut(ChartOut):
    dashboard: str
    filters: dict[str, str]
