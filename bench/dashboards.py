"""Dashboard speed: p50/p95 of the dashboards' JSON and pages with a country's worth of records behind them.

    python bench/dashboards.py --records 10000000            # own database, generated here (server-side SQL)
    python bench/dashboards.py --url postgresql://…/esoz_bench_1m --rebuild   # a bench/generate.py country

The dashboards read only the rollups, so what is measured is the cost of a rollup query and a page render at the
rollups' size for that many records (five years, every oblast, programmes, hundreds of INNs). Stages, each timed:
generate source rows (if the database has none), `rebuild` the rollups from them, then for every dashboard
`--requests` sequential requests of its JSON (with and without filters) and of its page, over real HTTP to the app
in this process (uvicorn, no worker). Prints a table; writes bench/results/dashboards-<time>.json.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import LiveServer  # noqa: E402  (the test suite's uvicorn-in-a-thread server)
from esoz.analytics import rollups  # noqa: E402
from esoz.core.db import libpq_url, make_engine  # noqa: E402
from esoz.core.embedded import embedded_server  # noqa: E402
from esoz.core.migrations import upgrade  # noqa: E402
from esoz.registry.reference import load_reference_data  # noqa: E402
from esoz.settings import Settings  # noqa: E402

LVIV = "UA46000000000026241"
# Shares of the records (the real system's order: referrals first, then declarations, prescriptions, conclusions).
SHARES = {"service_requests": 0.40, "declarations": 0.25, "medication_requests": 0.15, "compositions": 0.08}
DISPENSED = 0.8  # of prescriptions; dispenses make up the remaining ~12 %


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


GENERATE = """
INSERT INTO legal_entities (id, edrpou, name, type, status, region)
  SELECT md5('le' || r.katottg || g)::uuid, lpad((abs(hashtext(r.katottg || g)) % 100000000)::text, 8, '0'),
         'Заклад ' || g, 'PRIMARY_CARE', 'ACTIVE', r.katottg
    FROM regions r, generate_series(1, 20) g ON CONFLICT DO NOTHING;
INSERT INTO divisions (id, legal_entity_id, name, type, status)
  SELECT md5('div')::uuid, id, 'Відділення', 'CLINIC', 'ACTIVE' FROM legal_entities LIMIT 1 ON CONFLICT DO NOTHING;
INSERT INTO parties (id, first_name, last_name, birth_date, gender, tax_id)
  VALUES (md5('party')::uuid, 'Олена', 'Лікар', '1980-01-01', 'FEMALE', '1234567890') ON CONFLICT DO NOTHING;
INSERT INTO employees (id, legal_entity_id, division_id, party_id, employee_type, position, status, start_date)
  SELECT md5('emp')::uuid, legal_entity_id, id, md5('party')::uuid, 'DOCTOR', 'P1', 'APPROVED', '2020-01-01'
    FROM divisions WHERE id = md5('div')::uuid ON CONFLICT DO NOTHING;
INSERT INTO medical_programs (id, name, funding_source, mr_blank_type)
  SELECT md5('prog' || g)::uuid, 'Програма ' || g, (ARRAY['NHS', 'NHS', 'LOCAL_BUDGET', 'PATIENT'])[1 + g % 4], 'F-1'
    FROM generate_series(1, 8) g ON CONFLICT DO NOTHING;
INSERT INTO innms (id, name, name_original, atc_code, aware)
  SELECT md5('innm' || g)::uuid, 'МНН ' || g, 'bench-innm-' || g, CASE WHEN g % 3 = 0 THEN 'J01' ELSE 'A10' END,
         CASE WHEN g % 3 = 0 THEN (ARRAY['ACCESS', 'WATCH', 'RESERVE'])[1 + g % 9 / 3] END
    FROM generate_series(1, 400) g ON CONFLICT DO NOTHING;
INSERT INTO persons (id, first_name, last_name, birth_date, birth_country, birth_settlement, gender)
  SELECT md5('p' || g)::uuid, 'Пацієнт', 'Тестовий', '1990-01-01', 'UA', 'Київ', 'MALE'
    FROM generate_series(1, :persons) g;
"""


def generate(url: str, records: int) -> None:
    persons = max(records // 20, 1000)
    n = {k: int(records * v) for k, v in SHARES.items()}
    day = "('2021-12-01'::date + floor(random() * 1825)::int)"
    ts = f"({day} + make_interval(secs => random() * 86400))::timestamptz"
    person = f"md5('p' || (1 + floor(random() * {persons})::int))::uuid"
    le = "md5('le' || (ARRAY(SELECT katottg FROM regions ORDER BY katottg))[1 + g % 27] || (1 + g % 20))::uuid"
    region = "(ARRAY(SELECT katottg FROM regions))[1 + floor(random() * 27)::int]"
    statements = [
        GENERATE.replace(":persons", str(persons)),
        f"""INSERT INTO declarations (id, person_id, declaration_number, employee_id, division_id, legal_entity_id,
              start_date, end_date, signed_at, status)
            SELECT gen_random_uuid(), {person}, 'D-' || g, md5('emp')::uuid, md5('div')::uuid,
                   {le}, '2022-01-01', '2023-01-01', {ts} + (g % 1) * interval '1s', 'terminated'
              FROM generate_series(1, {n["declarations"]}) g""",
        f"""INSERT INTO medication_requests (id, person_id, request_number, status, employee_id, division_id,
              legal_entity_id, medication_id, innm_id, medication_qty, medical_program_id, created_at, started_at,
              ended_at, dispense_valid_from, dispense_valid_to, intent, category, medication_request_requests_id)
            SELECT gen_random_uuid(), {person}, 'R-' || g, 'ACTIVE', md5('emp')::uuid, md5('div')::uuid,
                   {le}, md5('med')::uuid, md5('innm' || (1 + floor(power(random(), 2) * 400)::int))::uuid, 20,
                   CASE WHEN g % 9 = 0 THEN NULL ELSE md5('prog' || (1 + g % 8))::uuid END, d, d, d + 10, d, d + 30,
                   'order', 'community', gen_random_uuid()
              FROM generate_series(1, {n["medication_requests"]}) g, LATERAL (SELECT {day} + (g % 1) AS d) x""",
        f"""WITH d AS (INSERT INTO medication_dispenses (id, person_id, medication_request_id, status, dispensed_at,
              party_id, legal_entity_id, division_id, region, medical_program_id)
            SELECT gen_random_uuid(), m.person_id, m.id, 'PROCESSED', m.created_at + 1, md5('party')::uuid,
                   m.legal_entity_id, md5('div')::uuid, {region}, m.medical_program_id
              FROM medication_requests m WHERE random() < {DISPENSED} RETURNING id)
            INSERT INTO medication_dispense_details (id, medication_dispense_id, medication_id, medication_qty,
              sell_price, sell_amount, discount_amount, reimbursement_amount, ddd_count)
            SELECT gen_random_uuid(), id, md5('med')::uuid, 20, 1, 20, 0, 0, round((random() * 20)::numeric, 4)
              FROM d""",
        f"""INSERT INTO service_requests (id, person_id, status, requisition, category, service_id,
              requester_employee_id, requester_legal_entity_id, expiration_date, content, inserted_at)
            SELECT gen_random_uuid(), {person}, 'active', 'REQ-' || g, 'laboratory', md5('svc')::uuid,
                   md5('emp')::uuid, {le}, t + interval '7 days', '{{}}', t
              FROM generate_series(1, {n["service_requests"]}) g,
                   LATERAL (SELECT {ts} + (g % 1) * interval '1s' AS t) x""",
        f"""INSERT INTO compositions (id, person_id, title, type, category, status, author_id, custodian_id,
              validity_start, validity_end, content, integration_data, signed_at)
            SELECT gen_random_uuid(), {person}, 'T-' || g, 'TEMPORARY_DISABILITY',
                   (ARRAY['SICKNESS', 'CHILD_CARE', 'PREGNANCY', 'QUARANTINE', 'FAMILY_CARE'])[1 + g % 5], 'FINAL',
                   md5('emp')::uuid, {le}, '2022-01-01', '2022-01-10', '{{}}',
                   jsonb_build_array(jsonb_build_object('type', 'CREATE_ERLN_RECORD', 'integration_status',
                     CASE WHEN g % 20 = 0 THEN 'PENDING' ELSE 'SUCCESS' END, 'details',
                     jsonb_build_object('acknowledged_at', (t + make_interval(secs => 1 + random() * 60))::text))), t
              FROM generate_series(1, {n["compositions"]}) g,
                   LATERAL (SELECT {ts} + (g % 1) * interval '1s' AS t) x""",
    ]
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        for sql in statements:
            started = time.monotonic()
            for part in [s for s in sql.split(";\n") if s.strip()]:
                pg.execute(part)
            log(f"  {sql.split('INTO')[1].split('(')[0].strip()}: {time.monotonic() - started:.1f} s")
        pg.execute("ANALYZE")


def source_records(url: str) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        return sum(
            pg.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("declarations", "medication_requests", "medication_dispenses", "service_requests", "compositions")
        )


async def _rebuild(url: str) -> rollups.Report:
    engine = make_engine(url, 2)
    try:
        return await rollups.rebuild(engine)
    finally:
        await engine.dispose()


def timings(client: httpx.Client, path: str, n: int) -> dict[str, float]:
    client.get(path)  # warm-up
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        answer = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[max(int(len(samples) * 0.95) - 1, 0)], 1),
        "max_ms": round(samples[-1], 1),
    }


def measure(url: str, n: int) -> dict[str, dict[str, float]]:
    from tempfile import mkdtemp

    settings = Settings(env="dev", database_url=url, data_dir=Path(mkdtemp()), log_level="WARNING", db_pool_size=4,
                        inprocess_worker=False)  # fmt: skip
    period = "from=2022-01&to=2026-12"
    targets = {}
    for name in ("records", "prescriptions", "antibiotics", "conclusions", "activity"):
        targets[f"JSON {name}"] = f"/api/dashboards/{name}?{period}"
        targets[f"page {name}"] = f"/dashboards/{name}?{period}"
    targets["JSON prescriptions (Lviv)"] = f"/api/dashboards/prescriptions?{period}&region={LVIV}"
    targets["CSV antibiotics by_region"] = f"/api/dashboards/antibiotics/by_region.csv?{period}"
    targets["page index"] = "/dashboards"
    out = {}
    with LiveServer(settings) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        for label, path in targets.items():
            out[label] = timings(client, path, n)
            log(f"  {label:32s} p50 {out[label]['p50_ms']:7.1f} ms   p95 {out[label]['p95_ms']:7.1f} ms")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an existing database (e.g. made by bench/generate.py)")
    parser.add_argument("--records", type=int, default=1_000_000, help="records to generate when the db has none")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the rollups even if they are filled")
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per target")
    args = parser.parse_args(argv)
    own = args.url is None
    with nullcontext(args.url) if not own else embedded_server(ROOT / "bench" / "var" / "pg-dashboards") as server:
        url = server
        if own:
            name = f"esoz_dash_{args.records}"
            admin = libpq_url(server)
            with psycopg.connect(admin, autocommit=True) as pg:
                exists = pg.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
                if not exists:
                    pg.execute(f'CREATE DATABASE "{name}"')
            base, _, query = admin.partition("?")
            url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
            upgrade(url)
            asyncio.run(load_reference_data(url))
        result: dict[str, Any] = {"database": url.rsplit("/", 1)[-1]}
        records = source_records(url)
        if records == 0:
            log(f"generating {args.records:,} records")
            started = time.monotonic()
            generate(url, args.records)
            result["generate_s"] = round(time.monotonic() - started, 1)
            records = source_records(url)
        result["records"] = records
        with psycopg.connect(libpq_url(url), autocommit=True) as pg:
            filled = pg.execute("SELECT count(*) FROM analytics_records_monthly").fetchone()[0]
        if args.rebuild or not filled:
            log(f"rebuilding the rollups from {records:,} records")
            started = time.monotonic()
            report = asyncio.run(_rebuild(url))
            result["rebuild_s"] = round(time.monotonic() - started, 1)
            result["rollup_rows"] = report.rows
            log(f"  rebuild: {result['rebuild_s']} s; rollup rows: {sum(report.rows.values()):,}")
        log(f"measuring ({args.requests} sequential requests per target)")
        result["timings"] = measure(url, args.requests)
    out = ROOT / "bench" / "results" / f"dashboards-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    log(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
