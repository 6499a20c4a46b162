"""Every dashboard figure equals the total computed straight from the source tables (independent SQL here),
on seeded data of known shape; DDD/1000/day on a hand-checked example; rebuild agrees with the consumer."""

import asyncio
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from dash_support import consume, rebuild
from dash_world import LVIV, USER, VOLYN, VOLYN_POPULATION, World

from esoz.core.db import libpq_url, make_engine
from esoz.prescriptions import stewardship

PERIOD = {"from": "2026-01", "to": "2026-10"}
KYIV_MONTH = "to_char({} AT TIME ZONE 'Europe/Kyiv', 'YYYY-MM')"


def pub(n: int) -> int | str:
    """What a published count must read."""
    return "<5" if 0 < n < 5 else n


def rows_of(client: httpx.Client, dashboard: str, chart: str, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/api/dashboards/{dashboard}/{chart}.json", params=PERIOD | params)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["rows"]


def figures(client: httpx.Client, dashboard: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"/api/dashboards/{dashboard}", params=PERIOD | params)
    assert answer.status_code == 200, answer.text
    return {f["key"]: f["value"] for f in answer.json()["data"]["figures"]}


def sql(url: str, query: str, *args: Any) -> list[tuple]:
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        return pg.execute(query, args).fetchall()


def test_records_by_type_and_month(world_db: tuple[str, World], dash_app: httpx.Client) -> None:
    url, _ = world_db
    assert consume(url) > 0
    expected: dict[tuple[str, str], int] = {}
    sources = {
        "declaration": f"SELECT {KYIV_MONTH.format('signed_at')}, count(*) FROM declarations GROUP BY 1",
        "medication_request": "SELECT to_char(created_at, 'YYYY-MM'), count(*) FROM medication_requests GROUP BY 1",
        "medication_dispense": "SELECT to_char(dispensed_at, 'YYYY-MM'), count(*) FROM medication_dispenses"
        " WHERE status = 'PROCESSED' GROUP BY 1",
        "service_request": f"SELECT {KYIV_MONTH.format('inserted_at')}, count(*) FROM service_requests GROUP BY 1",
        "composition": f"SELECT {KYIV_MONTH.format('signed_at')}, count(*) FROM compositions"
        " WHERE signed_at IS NOT NULL GROUP BY 1",
    }
    for kind, query in sources.items():
        for month, n in sql(url, query):
            expected[(month, kind)] = n
    monthly = rows_of(dash_app, "records", "monthly")
    assert [r["month"] for r in monthly] == [f"2026-{m:02d}" for m in range(1, 11)]
    for row in monthly:
        for kind in sources:
            assert row[kind] == pub(expected.get((row["month"], kind), 0)), (row["month"], kind)
        assert row["total"] == pub(sum(n for (m, _), n in expected.items() if m == row["month"]))
    total = sum(n for (m, _), n in expected.items() if "2026-01" <= m <= "2026-10")
    assert figures(dash_app, "records")["period"] == total
    cumulative = rows_of(dash_app, "records", "cumulative")
    assert cumulative[-1]["cumulative"] == sum(expected.values())
    # An oblast filter: declarations of Lviv facilities only.
    lviv = sql(
        url,
        f"SELECT {KYIV_MONTH.format('d.signed_at')}, count(*) FROM declarations d"
        " JOIN legal_entities le ON le.id = d.legal_entity_id WHERE le.region = %s GROUP BY 1",
        LVIV,
    )
    by_month = dict(lviv)
    for row in rows_of(dash_app, "records", "monthly", region=LVIV):
        assert row["declaration"] == pub(by_month.get(row["month"], 0))


def test_prescriptions_by_region_programme_funding_and_patients(
    world_db: tuple[str, World], dash_app: httpx.Client
) -> None:
    url, world = world_db
    consume(url)
    by_region = dict(
        sql(
            url,
            "SELECT coalesce(le.region, ''), count(*) FROM medication_requests m"
            " LEFT JOIN legal_entities le ON le.id = m.legal_entity_id GROUP BY 1",
        )
    )
    rows = {r["region"]: r for r in rows_of(dash_app, "prescriptions", "by_region")}
    assert {k: v["prescriptions"] for k, v in rows.items()} == {k: pub(v) for k, v in by_region.items()}
    patients_region = dict(
        sql(
            url,
            "SELECT coalesce(region, ''), count(DISTINCT person_id) FROM medication_dispenses"
            " WHERE status = 'PROCESSED' AND extract(year FROM dispensed_at) = 2026 GROUP BY 1",
        )
    )
    assert {k: v["patients"] for k, v in rows.items()} == {k: pub(patients_region.get(k, 0)) for k in rows}
    by_funding = dict(
        sql(
            url,
            "SELECT coalesce(p.funding_source, 'PATIENT'), count(*) FROM medication_requests m"
            " LEFT JOIN medical_programs p ON p.id = m.medical_program_id GROUP BY 1",
        )
    )
    funding = {r["funding_source"]: r["prescriptions"] for r in rows_of(dash_app, "prescriptions", "by_funding")}
    assert funding == {k: pub(by_funding.get(k, 0)) for k in ("NHS", "LOCAL_BUDGET", "PATIENT")}
    patients = sql(
        url,
        "SELECT count(DISTINCT person_id) FROM medication_dispenses WHERE status = 'PROCESSED'"
        " AND extract(year FROM dispensed_at) = 2026",
    )[0][0]
    found = figures(dash_app, "prescriptions")
    assert found["patients"] == pub(patients)
    assert found["prescriptions"] == pub(sql(url, "SELECT count(*) FROM medication_requests")[0][0])
    # Programme filter: prescriptions and patients of the NHS programme only, in Lviv.
    nhs = str(world.programs["NHS"])
    p_lviv = sql(
        url,
        "SELECT count(DISTINCT person_id) FROM medication_dispenses WHERE status = 'PROCESSED' AND region = %s"
        " AND medical_program_id = %s",
        LVIV,
        world.programs["NHS"],
    )[0][0]
    year = rows_of(dash_app, "prescriptions", "by_year", region=LVIV, program=nhs)
    assert year == [
        {
            "year": 2026,
            "prescriptions": pub(
                sql(
                    url,
                    "SELECT count(*) FROM medication_requests m JOIN legal_entities le ON le.id = m.legal_entity_id"
                    " WHERE le.region = %s AND m.medical_program_id = %s",
                    LVIV,
                    world.programs["NHS"],
                )[0][0]
            ),
            "dispenses": pub(
                sql(
                    url,
                    "SELECT count(*) FROM medication_dispenses WHERE status = 'PROCESSED' AND region = %s"
                    " AND medical_program_id = %s",
                    LVIV,
                    world.programs["NHS"],
                )[0][0]
            ),
            "patients": pub(p_lviv),
        }
    ]
    top = rows_of(dash_app, "prescriptions", "top_innms")
    expected_top = sql(
        url, "SELECT i.name, count(*) FROM medication_requests m JOIN innms i ON i.id = m.innm_id GROUP BY 1"
    )
    assert sorted((r["name"], r["prescriptions"]) for r in top) == sorted((n, pub(c)) for n, c in expected_top)
    assert [r["rank"] for r in top] == list(range(1, len(top) + 1))


def test_ddd_per_1000_per_day_hand_checked(fresh_db_url: str, live_server: Any, tmp_path: Any) -> None:
    """Volyn (1,022,107 people), March 2026 (31 days): 6 Access dispenses of 25,000 DDD and 5 Watch of 10,000.
    DID = 200,000 × 1000 / (1,022,107 × 31) = 6.3121; Access 4.7341, Watch 1.5780; Access share 75 %."""
    from esoz.settings import Settings

    world = World()
    with psycopg.connect(libpq_url(fresh_db_url), autocommit=True) as pg:
        world.base(pg)
        le = world.clinics[VOLYN]
        for innm, ddd, n in (("Amoxicillin-t", Decimal(25000), 6), ("Azithromycin-t", Decimal(10000), 5)):
            for i in range(n):
                person = world.persons[i]
                mr = world.prescription(pg, person, date(2026, 3, 2), le, None, innm)
                world.dispense(pg, mr, person, date(2026, 3, 3 + i), VOLYN, None, ddd)
        # Another month and oblast must not leak in.
        mr = world.prescription(pg, world.persons[0], date(2026, 4, 1), le, None, "Amoxicillin-t")
        world.dispense(pg, mr, world.persons[0], date(2026, 4, 1), VOLYN, None, Decimal(99999))
    consume(fresh_db_url)
    settings = Settings(env="dev", database_url=fresh_db_url, data_dir=tmp_path, log_level="WARNING",
                        db_pool_size=2, inprocess_worker=False)  # fmt: skip
    with live_server(settings) as live, httpx.Client(base_url=live.url) as client:
        params = {"from": "2026-03", "to": "2026-03", "region": VOLYN}
        answer = client.get("/api/dashboards/antibiotics/by_region.json", params=params)
        assert answer.status_code == 200, answer.text
        (row,) = answer.json()["data"]["rows"]
        assert row["population"] == VOLYN_POPULATION
        assert row["did"] == 6.3121
        assert (row["did_access"], row["did_watch"], row["did_reserve"]) == (4.7341, 1.578, 0.0)
        assert row["access_share"] == 0.75
        assert row["dispenses"] == 11
        assert round(200_000 * 1000 / (VOLYN_POPULATION * 31), 4) == 6.3121
        # The same figure as the prescriptions domain's own consumption report, computed from the source tables.
        trend = client.get("/api/dashboards/antibiotics/trend.json", params=params).json()["data"]["rows"]
        assert trend[0]["did"] == 6.3121

    async def direct() -> list[dict[str, Any]]:
        engine = make_engine(fresh_db_url, 1)
        try:
            async with engine.connect() as conn:
                return await stewardship.consumption(
                    conn, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31), region=VOLYN
                )
        finally:
            await engine.dispose()

    (own,) = asyncio.run(direct())
    assert own["did"] == row["did"] and own["by_aware"]["ACCESS"]["share"] == row["access_share"]


def test_antibiotics_every_oblast_agrees_with_stewardship(world_db: tuple[str, World], dash_app: httpx.Client) -> None:
    url, _ = world_db
    consume(url)

    async def direct() -> list[dict[str, Any]]:
        engine = make_engine(url, 1)
        try:
            async with engine.connect() as conn:
                return await stewardship.consumption(
                    conn, date_from=date(2026, 1, 1), date_to=date(2026, 10, 31), region=None
                )
        finally:
            await engine.dispose()

    own = {r["region"]: r for r in asyncio.run(direct())}
    rows = {r["region"]: r for r in rows_of(dash_app, "antibiotics", "by_region")}
    assert own  # the seeded data has antibiotics in every oblast
    for region, expected in own.items():
        n = sql(
            url,
            "SELECT count(DISTINCT d.id) FROM medication_dispenses d JOIN medication_requests m"
            " ON m.id = d.medication_request_id JOIN innms i ON i.id = m.innm_id WHERE d.status = 'PROCESSED'"
            " AND d.region = %s AND i.aware IS NOT NULL",
            region,
        )[0][0]
        assert rows[region]["dispenses"] == pub(n)
        assert rows[region]["did"] == (expected["did"] if n >= 5 else None)
        if n >= 5:
            assert rows[region]["access_share"] == expected["by_aware"]["ACCESS"]["share"]


def test_conclusions_and_pfu_delivery(world_db: tuple[str, World], dash_app: httpx.Client) -> None:
    url, _ = world_db
    consume(url)
    expected = dict(
        ((m, c), n)
        for m, c, n in sql(
            url,
            f"SELECT {KYIV_MONTH.format('signed_at')}, category, count(*) FROM compositions"
            " WHERE signed_at IS NOT NULL GROUP BY 1, 2",
        )
    )
    for row in rows_of(dash_app, "conclusions", "monthly"):
        for category in ("SICKNESS", "CHILD_CARE", "PREGNANCY"):
            assert row[category.lower()] == pub(expected.get((row["month"], category), 0))
    signed, delivered, seconds = sql(
        url,
        "SELECT count(*), count(a.at), sum(extract(epoch FROM a.at - c.signed_at)) FROM compositions c,"
        " LATERAL (SELECT (e->'details'->>'acknowledged_at')::timestamptz AS at FROM"
        " jsonb_array_elements(c.integration_data) e WHERE e->>'integration_status' = 'SUCCESS') a"
        " WHERE c.signed_at IS NOT NULL",
    )[0]
    signed = sql(url, "SELECT count(*) FROM compositions WHERE signed_at IS NOT NULL")[0][0]
    found = figures(dash_app, "conclusions")
    assert found["signed"] == signed
    assert found["delivered_share"] == round(delivered / signed, 4)
    assert found["ack_seconds_avg"] == round(float(seconds) / delivered, 1)
    # The registry acknowledges a pending one later: the figures follow once the consumer has run.
    pending = sql(url, "SELECT count(*) FROM analytics_pfu_pending")[0][0]
    assert pending == signed - delivered
    (target,) = sql(url, "SELECT composition_id FROM analytics_pfu_pending LIMIT 1")[0:1]
    sql_exec(
        url,
        "UPDATE compositions SET integration_data = jsonb_build_array(jsonb_build_object('type',"
        " 'CREATE_ERLN_RECORD', 'integration_status', 'SUCCESS', 'details', jsonb_build_object('acknowledged_at',"
        " (signed_at + interval '30 seconds')::text))) WHERE id = %s",
        target[0],
    )
    consume(url)
    assert figures(dash_app, "conclusions")["delivered_share"] == round((delivered + 1) / signed, 4)
    assert rebuild(url, replace=False).agree


def sql_exec(url: str, query: str, *args: Any) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        pg.execute(query, args)


def test_activity_today(world_db: tuple[str, World], dash_app: httpx.Client) -> None:
    url, _ = world_db
    consume(url)
    found = figures(dash_app, "activity")
    facilities = sql(
        url,
        "SELECT count(DISTINCT legal_entity_id) FROM events WHERE (event_time AT TIME ZONE 'Europe/Kyiv')::date"
        " = (now() AT TIME ZONE 'Europe/Kyiv')::date",
    )[0][0]
    assert found["legal_entities_today"] == pub(facilities) == "<5"  # four facilities: suppressed
    assert found["users_today"] == "<5"  # one user
    assert isinstance(found["requests_per_second"], float)
    assert USER


def test_rebuild_agrees_and_repairs(world_db: tuple[str, World]) -> None:
    url, world = world_db
    consume(url)
    report = rebuild(url, replace=False)
    assert report.agree, report.summary()
    assert report.rows["analytics_records_monthly"] > 0 and report.rows["analytics_rx_patients"] > 0
    # A rollup that drifted (e.g. a lost update) is found and put right.
    sql_exec(url, "UPDATE analytics_rx_monthly SET prescriptions = prescriptions + 7 WHERE ctid IN"
             " (SELECT ctid FROM analytics_rx_monthly LIMIT 1)")  # fmt: skip
    sql_exec(url, "DELETE FROM analytics_rx_patients WHERE ctid IN (SELECT ctid FROM analytics_rx_patients LIMIT 2)")
    broken = rebuild(url, replace=True)
    assert broken.differing["analytics_rx_monthly"] == 1 and broken.differing["analytics_rx_patients"] == 2
    assert rebuild(url, replace=False).agree
    # After a rebuild the consumer goes on from the new mark: new records are counted once.
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        world.declaration(pg, world.persons[0], datetime.fromisoformat("2026-05-05T10:00:00+00:00"),
                          world.clinics[VOLYN])  # fmt: skip
    assert consume(url) == 2
    assert consume(url) == 0
    assert rebuild(url, replace=False).agree


def test_rebuild_command(world_db: tuple[str, World], tmp_path: Any) -> None:
    """`esoz dashboards rebuild`: exits 0 when the rollups agree, 1 (and repairs) when they do not."""
    url, _ = world_db
    consume(url)
    env = os.environ | {"ESOZ_DATABASE_URL": url, "ESOZ_DATA_DIR": str(tmp_path), "ESOZ_LOG_LEVEL": "WARNING"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "esoz", "dashboards", "rebuild", *args]  # no venv on PATH in CI
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    ok = run("--check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "rollups agreed with the source tables" in ok.stdout
    sql_exec(url, "DELETE FROM analytics_records_monthly WHERE ctid IN (SELECT ctid FROM analytics_records_monthly"
             " LIMIT 1)")  # fmt: skip
    assert run("--check").returncode == 1
    repaired = run()
    assert repaired.returncode == 1 and "analytics_records_monthly:" in repaired.stdout
    assert run("--check").returncode == 0
