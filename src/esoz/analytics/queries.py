"""Dashboard figures read from the rollups only: a query costs the same with ten thousand or a billion records."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.analytics.schemas import (
    Chart,
    Column,
    Filters,
    add_months,
    count,
    derived,
    program_names,
    region_names,
    this_month,
)
from esoz.conclusions.schemas import TEMP_DISABILITY_CATEGORIES
from esoz.core import clock
from esoz.prescriptions.stewardship import AWARE_GROUPS
from esoz.status import metrics
from esoz.status.timefmt import KYIV

RECORD_KINDS = {
    "declaration": "Декларації",
    "medication_request": "Рецепти",
    "medication_dispense": "Погашення рецептів",
    "service_request": "Направлення",
    "composition": "Медичні висновки",
    # Medical events (medical_events.counts.KINDS).
    "episode": "Епізоди медичної допомоги",
    "encounter": "Взаємодії",
    "condition": "Стани (діагнози)",
    "observation": "Спостереження",
    "immunization": "Імунізації",
    "allergy_intolerance": "Алергії та непереносимості",
    "diagnostic_report": "Діагностичні звіти",
    "procedure": "Процедури",
}
FUNDING = {"NHS": "Реімбурсація (НСЗУ)", "LOCAL_BUDGET": "Місцевий бюджет", "PATIENT": "Власні кошти"}
AWARE_UK = {"ACCESS": "Доступ (Access)", "WATCH": "Спостереження (Watch)", "RESERVE": "Резерв (Reserve)"}
NO_REGION = "Область не вказано"
NO_PROGRAM = "Без програми (власні кошти)"
ACCESS_TARGET = 0.6  # WHO GPW13: at least 60 % of antibiotic use from the Access group


@dataclass(slots=True)
class Figure:
    key: str
    title: str
    value: Any
    unit: str = ""


@dataclass(slots=True)
class Dashboard:
    id: str
    title: str
    filters: Filters | None
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    def chart(self, chart_id: str) -> Chart | None:
        return next((c for c in self.charts if c.id == chart_id), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "filters": self.filters.query() if self.filters else {},
            "figures": [{"key": f.key, "title": f.title, "value": f.value, "unit": f.unit} for f in self.figures],
            "charts": [c.as_dict() for c in self.charts],
        }


@dataclass(frozen=True, slots=True)
class _Sum:
    k: Any
    p: int
    d: int


def _m(d: date) -> str:
    return f"{d:%Y-%m}"


def _where(f: Filters, *, program: bool = False, column: str = "month") -> tuple[str, dict[str, Any]]:
    sql = f"{column} BETWEEN :start AND :end"
    params: dict[str, Any] = {"start": f.month_from, "end": f.month_to}
    if f.region:
        sql += " AND region = :region"
        params["region"] = f.region
    if program and f.program:
        sql += " AND program = :program"
        params["program"] = f.program
    return sql, params


def did(ddd: Decimal | float, population: int | None, days: int) -> float | None:
    """DDD per 1,000 inhabitants per day: ΣDDD × 1000 / (population × days), as stewardship.consumption
    computes it (reference data.md §1.3)."""
    if not population or not days:
        return None
    return float(round(Decimal(str(ddd)) * 1000 / (population * days), 4))


# --- medical records ----------------------------------------------------------------------------------------


async def records(conn: AsyncConnection, f: Filters) -> Dashboard:
    where, params = _where(f)
    rows = await conn.execute(
        text(f"SELECT month, kind, sum(n) AS n FROM analytics_records_monthly WHERE {where} GROUP BY 1, 2"), params
    )
    by_month: dict[date, dict[str, int]] = defaultdict(dict)
    for r in rows:
        by_month[r.month][r.kind] = int(r.n)
    region_sql = " AND region = :region" if f.region else ""
    before = (
        await conn.execute(
            text(f"SELECT coalesce(sum(n), 0) FROM analytics_records_monthly WHERE month < :start{region_sql}"),
            params,
        )
    ).scalar_one()
    last12_start = add_months(this_month(), -11)
    last12 = (
        await conn.execute(
            text(f"SELECT coalesce(sum(n), 0) FROM analytics_records_monthly WHERE month >= :s{region_sql}"),
            {"s": last12_start, "region": f.region},
        )
    ).scalar_one()
    monthly, cumulative, running = [], [], int(before)
    for m in f.months:
        found = by_month.get(m, {})
        total = sum(found.values())
        running += total
        monthly.append({"month": _m(m)} | {k: count(found.get(k)) for k in RECORD_KINDS} | {"total": count(total)})
        cumulative.append({"month": _m(m), "cumulative": count(running)})
    in_period = running - int(before)
    return Dashboard(
        "records",
        "Електронні медичні записи",
        f,
        [
            Figure("period", "Записів за період", count(in_period)),
            Figure("last_12_months", "Записів за останні 12 місяців", count(last12)),
            Figure("all_time", "Записів від початку", count(running)),
        ],
        [
            Chart(
                "monthly",
                "Записи за типами по місяцях",
                [Column("month", "Місяць", "text")]
                + [Column(k, t) for k, t in RECORD_KINDS.items()]
                + [Column("total", "Усього")],
                monthly,
                {"kind": "stacked", "x": "month", "series": list(RECORD_KINDS)},
            ),
            Chart(
                "cumulative",
                "Записи наростаючим підсумком",
                [Column("month", "Місяць", "text"), Column("cumulative", "Усього від початку")],
                cumulative,
                {"kind": "line", "x": "month", "series": ["cumulative"]},
            ),
        ],
    )


# --- e-prescriptions ----------------------------------------------------------------------------------------


async def _patients(conn: AsyncConnection, f: Filters, group: str) -> dict[Any, int]:
    """Patients served (a processed dispense) per year, region or programme; `group` is one of those."""
    years = f.years
    region, program = f.region or "*", f.program or "*"
    if group == "year":
        sql, params = "region = :r AND program = :p", {"r": region, "p": program}
    elif group == "region":
        sql, params = "region <> '*' AND program = :p", {"p": program}
    else:
        sql, params = "program <> '*' AND region = :r", {"r": region}
    rows = await conn.execute(
        text(
            f"SELECT {group} AS k, sum(n) AS n FROM analytics_rx_patients_count"
            f" WHERE year BETWEEN :y0 AND :y1 AND {sql} GROUP BY 1"
        ),
        params | {"y0": years[0], "y1": years[-1]},
    )
    return {r.k: int(r.n) for r in rows}


async def prescriptions(conn: AsyncConnection, f: Filters, page: int = 1, page_size: int = 20) -> Dashboard:
    where, params = _where(f, program=True)
    regions, programs = await region_names(conn), await program_names(conn)

    # One pass over the rollup (at most years × oblasts × programmes rows); the three breakdowns are sums of it.
    cells = list(
        await conn.execute(
            text(
                "SELECT extract(year FROM month)::int AS year, region, program, sum(prescriptions) AS p,"
                f" sum(dispenses) AS d FROM analytics_rx_monthly WHERE {where} GROUP BY 1, 2, 3"
            ),
            params,
        )
    )

    def grouped(key: str) -> list[Any]:
        sums: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for c in cells:
            sums[getattr(c, key)][0] += int(c.p)
            sums[getattr(c, key)][1] += int(c.d)
        return [_Sum(k, p, d) for k, (p, d) in sorted(sums.items())]

    by_year = {r.k: (int(r.p), int(r.d)) for r in grouped("year")}
    patients_year = await _patients(conn, f, "year")
    year_rows = [
        {
            "year": y,
            "prescriptions": count(by_year.get(y, (0, 0))[0]),
            "dispenses": count(by_year.get(y, (0, 0))[1]),
            "patients": count(patients_year.get(y)),
        }
        for y in f.years
    ]
    patients_region = await _patients(conn, f, "region")
    region_rows = sorted(
        (
            {
                "region": r.k,
                "name": regions.get(r.k, NO_REGION),
                "prescriptions": count(r.p),
                "dispenses": count(r.d),
                "patients": count(patients_region.get(r.k)),
                "_sort": int(r.p),
            }
            for r in grouped("region")
        ),
        key=lambda x: -x["_sort"],
    )
    patients_program = await _patients(conn, f, "program")
    program_rows: list[dict[str, Any]] = []
    funding_totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in grouped("program"):
        name, funding = programs.get(r.k, (NO_PROGRAM, "PATIENT")) if r.k else (NO_PROGRAM, "PATIENT")
        funding_totals[funding][0] += int(r.p)
        funding_totals[funding][1] += int(r.d)
        program_rows.append(
            {
                "program": r.k,
                "name": name,
                "funding_source": funding,
                "prescriptions": count(r.p),
                "dispenses": count(r.d),
                "patients": count(patients_program.get(r.k)),
            }
        )
    funding_rows = [
        {
            "funding_source": k,
            "name": t,
            "prescriptions": count(funding_totals[k][0]),
            "dispenses": count(funding_totals[k][1]),
        }
        for k, t in FUNDING.items()
    ]
    top, top_total = await _top_innms(conn, f, page, page_size)
    total_p = sum(p for p, _ in by_year.values())
    patients_last = patients_year.get(f.years[-1], 0)
    for row in region_rows:
        row.pop("_sort")
    counts = [Column("prescriptions", "Рецептів"), Column("dispenses", "Погашень"), Column("patients", "Пацієнтів")]
    return Dashboard(
        "prescriptions",
        "Електронні рецепти",
        f,
        [
            Figure("prescriptions", "Рецептів виписано за період", count(total_p)),
            Figure("dispenses", "Рецептів погашено за період", count(sum(d for _, d in by_year.values()))),
            Figure("patients", f"Пацієнтів отримали ліки у {f.years[-1]} році", count(patients_last)),
        ],
        [
            Chart(
                "by_year",
                "Рецепти і пацієнти за роками",
                [Column("year", "Рік", "text"), *counts],
                year_rows,
                {"kind": "bars", "x": "year", "series": ["prescriptions", "dispenses"]},
                "Пацієнти — ті, хто отримав ліки за рецептом у відповідному календарному році.",
            ),
            Chart(
                "by_region",
                "Рецепти за областями",
                [Column("region", "Код КАТОТТГ", "text"), Column("name", "Область", "text"), *counts],
                region_rows,
                {"kind": "hbars", "x": "name", "series": ["prescriptions"]},
                "Рецепти — за областю закладу лікаря, погашення і пацієнти — за областю аптеки.",
            ),
            Chart(
                "by_program",
                "Рецепти за програмами",
                [
                    Column("program", "Ідентифікатор програми", "text"),
                    Column("name", "Програма", "text"),
                    Column("funding_source", "Джерело фінансування", "text"),
                    *counts,
                ],
                program_rows,
                {"kind": "hbars", "x": "name", "series": ["prescriptions"]},
            ),
            Chart(
                "by_funding",
                "Рецепти за джерелом фінансування",
                [Column("funding_source", "Код", "text"), Column("name", "Джерело", "text"), *counts[:2]],
                funding_rows,
                {"kind": "hbars", "x": "name", "series": ["prescriptions"]},
            ),
            Chart(
                "top_innms",
                "Найчастіше призначувані діючі речовини (МНН)",
                [
                    Column("rank", "Місце", "text"),
                    Column("name", "МНН", "text"),
                    Column("atc_code", "Код АТХ", "text"),
                    Column("prescriptions", "Рецептів"),
                ],
                top,
                {"kind": "hbars", "x": "name", "series": ["prescriptions"]},
                total_rows=top_total,
            ),
        ],
    )


async def _top_innms(conn: AsyncConnection, f: Filters, page: int, page_size: int) -> tuple[list[dict], int]:
    where = "region = :region AND program = :program AND month BETWEEN :start AND :end"
    params = {"region": f.region or "*", "program": f.program or "*", "start": f.month_from, "end": f.month_to}
    total = (
        await conn.execute(text(f"SELECT count(DISTINCT innm_id) FROM analytics_rx_innm_monthly WHERE {where}"), params)
    ).scalar_one()
    rows = await conn.execute(
        text(
            f"SELECT t.innm_id, t.n, i.name, i.atc_code FROM (SELECT innm_id, sum(prescriptions) AS n"
            f" FROM analytics_rx_innm_monthly WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT :limit OFFSET :offset)"
            " t LEFT JOIN innms i ON i.id = t.innm_id ORDER BY t.n DESC, t.innm_id"
        ),
        params | {"limit": page_size, "offset": (page - 1) * page_size},
    )
    start = (page - 1) * page_size
    out = [
        {
            "rank": start + i + 1,
            "innm_id": str(r.innm_id),
            "name": r.name,
            "atc_code": r.atc_code,
            "prescriptions": count(r.n),
        }
        for i, r in enumerate(rows)
    ]
    return out, int(total)


# --- antibiotics --------------------------------------------------------------------------------------------


async def antibiotics(conn: AsyncConnection, f: Filters) -> Dashboard:
    where, params = _where(f)
    pops = {
        r.katottg: (r.name_uk, r.population)
        for r in await conn.execute(text("SELECT katottg, name_uk, population FROM regions ORDER BY name_uk"))
    }
    wanted = [f.region] if f.region else [k for k, (_, p) in pops.items() if p]

    async def grouped(key: str) -> dict[Any, dict[str, list]]:
        rows = await conn.execute(
            text(
                f"SELECT {key} AS k, aware, sum(ddd) AS ddd, sum(dispenses) AS n FROM analytics_abx_monthly"
                f" WHERE {where} AND region = ANY(:wanted) GROUP BY 1, 2"
            ),
            params | {"wanted": wanted},
        )
        out: dict[Any, dict[str, list]] = defaultdict(dict)
        for r in rows:
            out[r.k][r.aware] = [r.ddd, int(r.n)]
        return out

    per = await grouped("region")  # per oblast over the whole period
    region_rows = []
    for code in wanted:
        name, population = pops[code]
        region_rows.append(
            _did_row({"region": code, "name": name, "population": population}, per.get(code, {}), population, f.days)
        )
    region_rows.sort(key=lambda x: -(x["did"] or 0))
    # Trend: the country (oblasts with a population estimate) or the chosen oblast, per month.
    population = sum(pops[k][1] or 0 for k in wanted)
    monthly = await grouped("month")
    trend = []
    for m in f.months:
        days = (add_months(m, 1) - m).days
        trend.append(_did_row({"month": _m(m)}, monthly.get(m, {}), population, days))
    national: dict[str, list] = defaultdict(lambda: [Decimal(0), 0])
    for code in wanted:
        for g, (ddd, n) in per.get(code, {}).items():
            national[g][0] += ddd
            national[g][1] += n
    overall = _did_row({}, national, population, f.days)
    restrictions = await _restrictions(conn, f, pops)
    did_cols = [
        Column("did", "DDD/1000/день", "number"),
        *(Column(f"did_{g.lower()}", AWARE_UK[g], "number") for g in AWARE_GROUPS),
        Column("access_share", "Частка Access", "share"),
        Column("dispenses", "Відпусків"),
    ]
    return Dashboard(
        "antibiotics",
        "Споживання антибіотиків",
        f,
        [
            Figure("did", "DDD на 1000 жителів на день", overall["did"]),
            Figure("access_share", "Частка групи Access", overall["access_share"], "share"),
            Figure("access_target", "Ціль ВООЗ для частки Access", ACCESS_TARGET, "share"),
        ],
        [
            Chart(
                "trend",
                "Динаміка споживання за групами AWaRe (DDD/1000/день)",
                [Column("month", "Місяць", "text"), *did_cols],
                trend,
                {
                    "kind": "lines",
                    "x": "month",
                    "series": ["did_access", "did_watch", "did_reserve"],
                    "markers": [
                        {"x": r["start_date"][:7], "label": r["name"]} for r in restrictions.rows if r["start_date"]
                    ],
                },
                "Вертикальні позначки — початок дії обмежень НСЗУ. Населення — оцінка 2022 року.",
            ),
            Chart(
                "by_region",
                "Споживання за областями (DDD/1000/день)",
                [
                    Column("region", "Код КАТОТТГ", "text"),
                    Column("name", "Область", "text"),
                    Column("population", "Населення", "text"),
                    *did_cols,
                ],
                region_rows,
                {"kind": "hbars", "x": "name", "series": ["did"]},
                "DDD на 1000 жителів на день = ΣDDD × 1000 / (населення × днів періоду); населення — оцінка 2022 року.",
            ),
            restrictions,
        ],
    )


def _did_row(base: dict[str, Any], groups: dict[str, list], population: int | None, days: int) -> dict[str, Any]:
    total = sum((v[0] for v in groups.values()), Decimal(0))
    n = sum(v[1] for v in groups.values())
    row = base | {"did": derived(did(total, population, days), n, 4)}
    for g in AWARE_GROUPS:
        ddd, _ = groups.get(g, [Decimal(0), 0])
        row[f"did_{g.lower()}"] = derived(did(ddd, population, days), n, 4)
    access = groups.get("ACCESS", [Decimal(0), 0])[0]
    row["access_share"] = derived(float(access / total) if total else None, n, 4)
    row["dispenses"] = count(n)
    return row


async def _restrictions(conn: AsyncConnection, f: Filters, pops: dict[str, tuple[str, int | None]]) -> Chart:
    rows = await conn.execute(
        text(
            "SELECT r.name, r.atc_prefix, i.name AS innm, r.region, r.forbidden, r.start_date, r.end_date"
            " FROM antibiotic_restrictions r LEFT JOIN innms i ON i.id = r.innm_id"
            " WHERE r.is_active AND r.start_date <= :end AND (r.end_date IS NULL OR r.end_date >= :start)"
            + (" AND (r.region IS NULL OR r.region = :region)" if f.region else "")
            + " ORDER BY r.start_date, r.name LIMIT 200"
        ),
        {"start": f.month_from, "end": f.date_to, "region": f.region},
    )
    out = [
        {
            "name": r.name,
            "target": r.innm or (f"АТХ {r.atc_prefix}" if r.atc_prefix else ""),
            "region": pops.get(r.region, ("Україна", None))[0] if r.region else "Україна",
            "forbidden": "так" if r.forbidden else "ні",
            "start_date": r.start_date.isoformat(),
            "end_date": r.end_date.isoformat() if r.end_date else "",
        }
        for r in rows
    ]
    return Chart(
        "restrictions",
        "Обмеження призначення антибіотиків, чинні в періоді",
        [
            Column("name", "Обмеження", "text"),
            Column("target", "Препарат", "text"),
            Column("region", "Територія", "text"),
            Column("forbidden", "Заборона", "text"),
            Column("start_date", "Діє з", "text"),
            Column("end_date", "Діє до", "text"),
        ],
        out,
        {"kind": "table"},
    )


# --- sick-leave conclusions ---------------------------------------------------------------------------------


@dataclass
class _Delivery:
    """One month's conclusions: signed, delivered to ПФУ, and the seconds those deliveries took."""

    signed: int = 0
    delivered: int = 0
    seconds: float = 0.0


async def conclusions(conn: AsyncConnection, f: Filters) -> Dashboard:
    where, params = _where(f)
    rows = list(
        await conn.execute(
            text(
                "SELECT month, category, sum(signed) AS signed, sum(delivered) AS delivered,"
                f" sum(ack_seconds) AS seconds FROM analytics_conclusions_monthly WHERE {where} GROUP BY 1, 2"
            ),
            params,
        )
    )
    cats = TEMP_DISABILITY_CATEGORIES
    by_month: dict[date, dict[str, int]] = defaultdict(dict)
    delivery: dict[date, _Delivery] = defaultdict(_Delivery)
    by_cat: dict[str, int] = defaultdict(int)
    for r in rows:
        by_month[r.month][r.category] = int(r.signed)
        by_cat[r.category] += int(r.signed)
        d = delivery[r.month]
        d.signed += int(r.signed)
        d.delivered += int(r.delivered)
        d.seconds += float(r.seconds)
    monthly = [
        {"month": _m(m), "total": count(sum(by_month.get(m, {}).values()))}
        | {c.lower(): count(by_month.get(m, {}).get(c)) for c in cats}
        for m in f.months
    ]
    pfu_rows = []
    for m in f.months:
        month = delivery.get(m) or _Delivery()
        signed, delivered, seconds = month.signed, month.delivered, month.seconds
        pfu_rows.append(
            {
                "month": _m(m),
                "signed": count(signed),
                "delivered": count(delivered),
                "delivered_share": derived(delivered / signed if signed else None, signed, 4),
                "ack_seconds_avg": derived(seconds / delivered if delivered else None, delivered, 1),
            }
        )
    signed = sum(int(r.signed) for r in rows)
    delivered = sum(int(r.delivered) for r in rows)
    seconds = sum(float(r.seconds) for r in rows)
    return Dashboard(
        "conclusions",
        "Висновки про тимчасову непрацездатність",
        f,
        [
            Figure("signed", "Висновків підписано за період", count(signed)),
            Figure(
                "delivered_share",
                "Передано до ПФУ",
                derived(delivered / signed if signed else None, signed, 4),
                "share",
            ),
            Figure(
                "ack_seconds_avg",
                "Середній час до підтвердження ПФУ",
                derived(seconds / delivered if delivered else None, delivered, 1),
                "seconds",
            ),
        ],
        [
            Chart(
                "monthly",
                "Висновки за місяцями",
                [Column("month", "Місяць", "text"), Column("total", "Усього")]
                + [Column(c.lower(), t) for c, t in cats.items()],
                monthly,
                {"kind": "bars", "x": "month", "series": ["total"]},
            ),
            Chart(
                "by_category",
                "Висновки за категоріями",
                [Column("category", "Код", "text"), Column("name", "Категорія", "text"), Column("signed", "Висновків")],
                [
                    {"category": c, "name": cats[c], "signed": count(by_cat.get(c))}
                    for c in sorted(cats, key=lambda c: -by_cat.get(c, 0))
                ],
                {"kind": "hbars", "x": "name", "series": ["signed"]},
            ),
            Chart(
                "pfu",
                "Передача до Пенсійного фонду",
                [
                    Column("month", "Місяць", "text"),
                    Column("signed", "Підписано"),
                    Column("delivered", "Підтверджено ПФУ"),
                    Column("delivered_share", "Частка переданих", "share"),
                    Column("ack_seconds_avg", "Середній час до підтвердження, с", "number"),
                ],
                pfu_rows,
                {"kind": "lines", "x": "month", "series": ["delivered_share"], "percent": True},
                "Частка — висновки, на які реєстр ПФУ відповів номером листка непрацездатності.",
            ),
        ],
    )


# --- activity -----------------------------------------------------------------------------------------------


async def activity(conn: AsyncConnection) -> Dashboard:
    today = clock.now().astimezone(KYIV).date()
    start = today - timedelta(days=29)
    rows = await conn.execute(
        text("SELECT day, kind, n FROM analytics_active_count WHERE day BETWEEN :s AND :e"), {"s": start, "e": today}
    )
    found: dict[date, dict[str, int]] = defaultdict(dict)
    for r in rows:
        found[r.day][r.kind] = int(r.n)
    daily = [
        {
            "day": (start + timedelta(days=i)).isoformat(),
            "legal_entities": count(found.get(start + timedelta(days=i), {}).get("legal_entity")),
            "users": count(found.get(start + timedelta(days=i), {}).get("user")),
        }
        for i in range(30)
    ]
    now = await metrics.recent(conn, "api", minutes=1)
    rps = round(now["requests"] / 60, 1)
    return Dashboard(
        "activity",
        "Активність",
        None,
        [
            Figure("legal_entities_today", "Закладів активні сьогодні", daily[-1]["legal_entities"]),
            Figure("users_today", "Користувачів активні сьогодні", daily[-1]["users"]),
            Figure("requests_per_second", "Запитів за секунду зараз", rps),
        ],
        [
            Chart(
                "daily",
                "Активні заклади і користувачі за 30 днів",
                [Column("day", "День", "text"), Column("legal_entities", "Закладів"), Column("users", "Користувачів")],
                daily,
                {"kind": "lines", "x": "day", "series": ["legal_entities", "users"]},
                "Активний — змінив хоча б один запис (декларацію, рецепт, направлення, висновок) цього дня.",
            ),
        ],
    )


DASHBOARDS = {
    "records": "Медичні записи",
    "prescriptions": "Електронні рецепти",
    "antibiotics": "Антибіотики",
    "conclusions": "Лікарняні",
    "activity": "Активність",
}
