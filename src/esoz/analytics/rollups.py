"""Incremental rollups: the consumer applies new events past a high-water mark; `rebuild` recomputes from source.

Events are ordered by (event_time, id), and event_time is the writing transaction's start. An event becomes
visible only when its transaction commits, possibly after later-stamped ones; so the consumer reads only up to
the *horizon*, the start of the oldest transaction still open: everything stamped earlier is already committed.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Date, Text, TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.analytics import sources
from esoz.core import clock
from esoz.medical_events import counts as medical_counts

STATE = "events"
LOCK = "SELECT {fn}(hashtext('esoz.analytics.rollups'))"
NIL = uuid.UUID(int=0)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
HORIZON = (
    "SELECT least(now(), min(xact_start)) FROM pg_stat_activity"
    " WHERE pid <> pg_backend_pid() AND datname = current_database() AND xact_start IS NOT NULL"
)
ACTIVE_DAYS = 35  # activity sets kept this long (the dashboard shows 30 days)


def _ids(sql: str) -> Any:
    return text(sql).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


# --- upserts: add what a source query found to a rollup ---------------------------------------------------

UPSERTS = {
    "records": "INSERT INTO analytics_records_monthly AS r (month, kind, region, n) {q}"
    " ON CONFLICT (month, kind, region) DO UPDATE SET n = r.n + EXCLUDED.n",
    "rx": "INSERT INTO analytics_rx_monthly AS r (month, region, program, prescriptions, dispenses) {q}"
    " ON CONFLICT (month, region, program) DO UPDATE SET prescriptions = r.prescriptions + EXCLUDED.prescriptions,"
    " dispenses = r.dispenses + EXCLUDED.dispenses",
    "innm": "INSERT INTO analytics_rx_innm_monthly AS r (month, region, program, innm_id, prescriptions) {q}"
    " ON CONFLICT (month, region, program, innm_id) DO UPDATE SET"
    " prescriptions = r.prescriptions + EXCLUDED.prescriptions",
    "abx": "INSERT INTO analytics_abx_monthly AS r (month, region, aware, ddd, dispenses) {q}"
    " ON CONFLICT (month, region, aware) DO UPDATE SET ddd = r.ddd + EXCLUDED.ddd,"
    " dispenses = r.dispenses + EXCLUDED.dispenses",
    "conclusions": "INSERT INTO analytics_conclusions_monthly AS r"
    " (month, region, category, signed, delivered, ack_seconds) {q}"
    " ON CONFLICT (month, region, category) DO UPDATE SET signed = r.signed + EXCLUDED.signed,"
    " delivered = r.delivered + EXCLUDED.delivered, ack_seconds = r.ack_seconds + EXCLUDED.ack_seconds",
    # Distinct sets: only rows new to the set move the counter.
    "patients": "WITH new AS (INSERT INTO analytics_rx_patients (year, region, program, person_id) {q}"
    " ON CONFLICT DO NOTHING RETURNING year, region, program)"
    " INSERT INTO analytics_rx_patients_count AS r (year, region, program, n)"
    " SELECT year, region, program, count(*) FROM new GROUP BY 1, 2, 3"
    " ON CONFLICT (year, region, program) DO UPDATE SET n = r.n + EXCLUDED.n",
    "active": "WITH new AS (INSERT INTO analytics_active (day, kind, id) {q}"
    " ON CONFLICT DO NOTHING RETURNING day, kind)"
    " INSERT INTO analytics_active_count AS r (day, kind, n) SELECT day, kind, count(*) FROM new GROUP BY 1, 2"
    " ON CONFLICT (day, kind) DO UPDATE SET n = r.n + EXCLUDED.n",
    "pending": "INSERT INTO analytics_pfu_pending (composition_id, person_id) {q} ON CONFLICT DO NOTHING",
}


async def _apply(conn: AsyncConnection, upsert: str, query: str, ids: list[uuid.UUID]) -> None:
    if ids:
        await conn.execute(_ids(UPSERTS[upsert].format(q=query)), {"ids": ids})


async def apply_entities(conn: AsyncConnection, created: dict[str, list[uuid.UUID]]) -> None:
    """Count newly created records of each kind (ids of their source rows)."""
    for kind in sources.RECORD_KINDS:
        await _apply(conn, "records", sources.records(kind, True), created.get(kind, []))
    mr, md, comp = (created.get(k, []) for k in ("medication_request", "medication_dispense", "composition"))
    await _apply(conn, "rx", sources.rx_prescriptions(True), mr)
    await _apply(conn, "innm", sources.rx_innm(True), mr)
    await _apply(conn, "rx", sources.rx_dispenses(True), md)
    await _apply(conn, "patients", sources.rx_patients(True), md)
    await _apply(conn, "abx", sources.abx(True), md)
    # Delivery is counted when the registry acknowledges (check_deliveries), so a new conclusion waits as pending.
    await _apply(conn, "conclusions", sources.conclusions(True, with_delivery=False), comp)
    await _apply(conn, "pending", "SELECT c.id, c.person_id FROM compositions c WHERE c.id = ANY(:ids)", comp)


# Medical records are counted by their domain (medical_events.counts); the oblast is their legal entity's.
MEDICAL_BY_REGION = (
    "SELECT x.month, x.kind, coalesce(le.region, '') AS region, sum(x.n)::bigint AS n"
    " FROM unnest(:months, :kinds, :legal_entities, :ns) AS x(month, kind, legal_entity_id, n)"
    " LEFT JOIN legal_entities le ON le.id = x.legal_entity_id GROUP BY 1, 2, 3"
)
MEDICAL_FRESH = "fresh_medical_records"


def _medical_rows(sql: str, found: list[medical_counts.RecordCount]) -> tuple[TextClause, dict[str, list[Any]]]:
    stmt = text(sql).bindparams(
        bindparam("months", type_=ARRAY(Date)),
        bindparam("kinds", type_=ARRAY(Text)),
        bindparam("legal_entities", type_=ARRAY(UUID(as_uuid=True))),
        bindparam("ns", type_=ARRAY(BigInteger)),
    )
    params: dict[str, list[Any]] = {
        "months": [c.month for c in found],
        "kinds": [c.kind for c in found],
        "legal_entities": [c.legal_entity_id for c in found],
        "ns": [c.n for c in found],
    }
    return stmt, params


async def apply_medical(conn: AsyncConnection, *, episode_ids: list[uuid.UUID], encounter_ids: list[uuid.UUID]) -> None:
    """Count the medical records new episodes and encounters (with their packages' records) created."""
    found = await medical_counts.created_counts(conn, episode_ids=episode_ids, encounter_ids=encounter_ids)
    if found:
        await conn.execute(*_medical_rows(UPSERTS["records"].format(q=MEDICAL_BY_REGION), found))


async def check_deliveries(conn: AsyncConnection, limit: int = 10000) -> int:
    """Move pending conclusions the ПФУ registry has acknowledged into the delivered figures."""
    sql = (
        f"WITH acked AS ({sources.ACKNOWLEDGED}),"
        " gone AS (DELETE FROM analytics_pfu_pending p USING acked a WHERE p.composition_id = a.composition_id)"
        " INSERT INTO analytics_conclusions_monthly AS r (month, region, category, signed, delivered, ack_seconds)"
        " SELECT month, region, category, 0, count(*), sum(seconds) FROM acked GROUP BY 1, 2, 3"
        " ON CONFLICT (month, region, category) DO UPDATE SET delivered = r.delivered + EXCLUDED.delivered,"
        " ack_seconds = r.ack_seconds + EXCLUDED.ack_seconds RETURNING delivered"
    )
    rows = (await conn.execute(text(sql), {"limit": limit})).all()
    return len(rows)


async def horizon(conn: AsyncConnection) -> datetime:
    return (await conn.execute(text(HORIZON))).scalar_one()


async def consume(conn: AsyncConnection, batch: int = 5000) -> int:
    """Apply the events committed since the last run (at most `batch`); returns how many were read."""
    if not (await conn.execute(text(LOCK.format(fn="pg_try_advisory_xact_lock")))).scalar_one():
        return 0  # another worker (or a rebuild) is at it
    until = await horizon(conn)
    mark = (
        await conn.execute(text("SELECT event_time, event_id FROM analytics_state WHERE name = :n"), {"n": STATE})
    ).first()
    after_time, after_id = (mark.event_time, mark.event_id) if mark else (EPOCH, NIL)
    rows = (
        await conn.execute(
            text(
                "SELECT e.id, e.event_time, e.entity_type, e.entity_id, e.properties->'status'->>'new_value' AS status,"
                " s.event_id IS NOT NULL AS skip FROM events e LEFT JOIN analytics_skip s ON s.event_id = e.id"
                " WHERE (e.event_time, e.id) > (:t, :i) AND e.event_time < :until ORDER BY e.event_time, e.id"
                " LIMIT :batch"
            ),
            {"t": after_time, "i": after_id, "until": until, "batch": batch},
        )
    ).all()
    if rows:
        created: dict[str, list[uuid.UUID]] = defaultdict(list)
        applied = [r for r in rows if not r.skip]
        for r in applied:
            kind = sources.CREATING.get((r.entity_type, r.status)) or medical_counts.CREATING_EVENTS.get(
                (r.entity_type, r.status)
            )
            if kind is not None:
                created[kind].append(r.entity_id)
        await apply_entities(conn, created)
        await apply_medical(conn, episode_ids=created["episode"], encounter_ids=created["encounter"])
        await _apply(conn, "active", sources.active(True), [r.id for r in applied])
        skipped = [r.id for r in rows if r.skip]
        if skipped:
            await conn.execute(_ids("DELETE FROM analytics_skip WHERE event_id = ANY(:ids)"), {"ids": skipped})
        await _set_mark(conn, rows[-1].event_time, rows[-1].id)
    return len(rows) + await check_deliveries(conn)


async def _set_mark(conn: AsyncConnection, at: datetime, event_id: uuid.UUID) -> None:
    await conn.execute(
        text(
            "INSERT INTO analytics_state (name, event_time, event_id, updated_at) VALUES (:n, :t, :i, now())"
            " ON CONFLICT (name) DO UPDATE SET event_time = EXCLUDED.event_time, event_id = EXCLUDED.event_id,"
            " updated_at = now()"
        ),
        {"n": STATE, "t": at, "i": event_id},
    )


async def purge(conn: AsyncConnection) -> int:
    since = clock.now().date() - timedelta(days=ACTIVE_DAYS)
    return (await conn.execute(text("DELETE FROM analytics_active WHERE day < :d"), {"d": since})).rowcount


# --- rebuild ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spec:
    table: str
    keys: tuple[str, ...]
    values: tuple[str, ...]
    queries: tuple[str, ...]  # unioned and summed by key
    where: str = ""  # the part of the table the rebuild owns (activity: the recent days only)


def specs() -> list[Spec]:
    # The medical records' part is counted by their domain into a temporary table first (rebuild).
    records = (*(sources.records(k, False) for k in sources.RECORD_KINDS), f"SELECT * FROM {MEDICAL_FRESH}")
    return [
        Spec("analytics_records_monthly", ("month", "kind", "region"), ("n",), records),
        Spec(
            "analytics_rx_monthly",
            ("month", "region", "program"),
            ("prescriptions", "dispenses"),
            (sources.rx_prescriptions(False), sources.rx_dispenses(False)),
        ),
        Spec(
            "analytics_rx_innm_monthly",
            ("month", "region", "program", "innm_id"),
            ("prescriptions",),
            (sources.rx_innm(False),),
        ),
        Spec("analytics_rx_patients", ("year", "region", "program", "person_id"), (), (sources.rx_patients(False),)),
        Spec(
            "analytics_rx_patients_count",
            ("year", "region", "program"),
            ("n",),
            (
                "SELECT year, region, program, count(*) AS n FROM ("
                + sources.rx_patients(False)
                + ") p GROUP BY 1, 2, 3",
            ),
        ),
        Spec("analytics_abx_monthly", ("month", "region", "aware"), ("ddd", "dispenses"), (sources.abx(False),)),
        Spec(
            "analytics_conclusions_monthly",
            ("month", "region", "category"),
            ("signed", "delivered", "ack_seconds"),
            (sources.conclusions(False, with_delivery=True),),
        ),
        Spec("analytics_pfu_pending", ("composition_id", "person_id"), (), (sources.pending(False),)),
        Spec("analytics_active", ("day", "kind", "id"), (), (sources.active(False, True),), "day >= :since"),
        Spec(
            "analytics_active_count",
            ("day", "kind"),
            ("n",),
            ("SELECT day, kind, count(*) AS n FROM (" + sources.active(False, True) + ") a GROUP BY 1, 2",),
            "day >= :since",
        ),
    ]


@dataclass
class Report:
    rows: dict[str, int] = field(default_factory=dict)
    differing: dict[str, int] = field(default_factory=dict)

    @property
    def agree(self) -> bool:
        return not any(self.differing.values())

    def summary(self) -> str:
        lines = [f"{t}: {self.rows[t]} rows, {self.differing[t]} differed" for t in self.rows]
        lines.append("rollups agreed with the source tables" if self.agree else "rollups DISAGREED; replaced")
        return "\n".join(lines)


def _fresh_sql(spec: Spec) -> str:
    keys = ", ".join(spec.keys)
    if not spec.values:
        return " UNION ".join(spec.queries)
    sums = ", ".join(f"sum({v}) AS {v}" for v in spec.values)
    return f"SELECT {keys}, {sums} FROM ({' UNION ALL '.join(spec.queries)}) q GROUP BY {keys}"


def _diff_sql(spec: Spec, fresh: str) -> str:
    where = f"WHERE {spec.where}" if spec.where else ""
    current = f"(SELECT * FROM {spec.table} {where})"
    if not spec.values:
        keys = ", ".join(spec.keys)
        return (
            f"SELECT (SELECT count(*) FROM (SELECT {keys} FROM {fresh} EXCEPT SELECT {keys} FROM {current} o) a)"
            f" + (SELECT count(*) FROM (SELECT {keys} FROM {current} o EXCEPT SELECT {keys} FROM {fresh}) b)"
        )
    # Floating sums (seconds) are compared to the millisecond: summation order differs between the two ways.
    cmp = " OR ".join(
        f"round(coalesce(n.{v}, 0)::numeric, 3) <> round(coalesce(o.{v}, 0)::numeric, 3)" for v in spec.values
    )
    return f"SELECT count(*) FROM {fresh} n FULL JOIN {current} o USING ({', '.join(spec.keys)}) WHERE {cmp}"


async def rebuild(engine: AsyncEngine, *, replace: bool = True) -> Report:
    """Recompute every rollup from the source tables, count the rows that differ, and (by default) replace them.

    Runs on one snapshot (REPEATABLE READ) under the consumer's lock. The high-water mark moves to the horizon
    taken *before* the snapshot, and the events the snapshot already shows past it go to the skip list.
    """
    report = Report()
    async with engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(LOCK.format(fn="pg_advisory_lock")))
        try:
            until = await horizon(conn)
            await conn.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ"))
            try:
                since = clock.now().date() - timedelta(days=ACTIVE_DAYS)
                medical = await medical_counts.all_counts(conn)
                await conn.execute(
                    *_medical_rows(f"CREATE TEMP TABLE {MEDICAL_FRESH} ON COMMIT DROP AS {MEDICAL_BY_REGION}", medical)
                )
                for spec in specs():
                    temp = f"fresh_{spec.table}"
                    await conn.execute(text(f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS {_fresh_sql(spec)}"),
                                       {"since": since})  # fmt: skip
                    report.rows[spec.table] = (await conn.execute(text(f"SELECT count(*) FROM {temp}"))).scalar_one()
                    report.differing[spec.table] = (
                        await conn.execute(text(_diff_sql(spec, temp)), {"since": since})
                    ).scalar_one()
                    if replace:
                        where = f"WHERE {spec.where}" if spec.where else ""
                        cols = ", ".join(spec.keys + spec.values)
                        await conn.execute(text(f"DELETE FROM {spec.table} {where}"), {"since": since})
                        await conn.execute(text(f"INSERT INTO {spec.table} ({cols}) SELECT {cols} FROM {temp}"))
                if replace:
                    await conn.execute(text("DELETE FROM analytics_skip"))
                    await conn.execute(
                        text("INSERT INTO analytics_skip SELECT id, event_time FROM events WHERE event_time >= :t"),
                        {"t": until},
                    )
                    await _set_mark(conn, until, NIL)
                await conn.execute(text("COMMIT"))
            except BaseException:
                await conn.execute(text("ROLLBACK"))
                raise
        finally:
            await conn.execute(text(LOCK.format(fn="pg_advisory_unlock")))
    return report
