"""Records by type count medical events per type: episodes, encounters and every record an encounter package
stored, taken in from the Episode and Encounter status events the domain writes; the rebuild, which counts from
the tables, agrees with the consumer."""

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from dash_support import consume, rebuild
from dash_world import DNIPRO, LVIV, VOLYN, World, uid
from test_dashboards_numbers import PERIOD, figures, pub, rows_of, sql

from esoz.core.db import libpq_url
from esoz.medical_events.counts import KINDS

RECORDS = {
    "condition": "conditions",
    "observation": "observations",
    "immunization": "immunizations",
    "allergy_intolerance": "allergy_intolerances",
    "diagnostic_report": "diagnostic_reports",
    "procedure": "procedures",
}
KYIV_MONTH = "to_char(t.inserted_at AT TIME ZONE 'Europe/Kyiv', 'YYYY-MM')"
EXTRA = {
    "conditions": ("clinical_status", "code", "code_system"),
    "observations": ("code",),
    "immunizations": ("vaccine_code",),
    "allergy_intolerances": ("clinical_status", "code"),
    "diagnostic_reports": ("code",),
    "procedures": ("code",),
}
STATUS = {
    "conditions": "confirmed",
    "observations": "valid",
    "immunizations": "completed",
    "allergy_intolerances": "confirmed",
    "diagnostic_reports": "final",
    "procedures": "completed",
}


class MedicalWorld:
    """Episodes and encounter packages written as medical_events writes them: rows plus their status events."""

    def __init__(self, world: World, pg: psycopg.Connection) -> None:
        self.world, self.pg, self.rng = world, pg, random.Random(17)
        self.encounters: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime]] = []

    def episode(self, person: uuid.UUID, le: uuid.UUID, at: datetime, event: bool = True) -> uuid.UUID:
        e = uid()
        self.pg.execute(
            "INSERT INTO episodes (id, person_id, status, type, name, legal_entity_id, care_manager_id, period_start,"
            " inserted_at, updated_at) VALUES (%s, %s, 'active', 'primary_care', 'Епізод', %s, %s, %s, %s, %s)",
            (e, person, le, self.world.employee, at, at, at),
        )
        if event:
            self.world.event(self.pg, "Episode", e, "active", le)
        return e

    def package(self, person: uuid.UUID, episode: uuid.UUID, le: uuid.UUID, at: datetime,
                sizes: dict[str, int]) -> uuid.UUID:  # fmt: skip
        enc = uid()
        self.pg.execute(
            "INSERT INTO encounters (id, person_id, episode_id, status, legal_entity_id, performer_id,"
            " encounter_class, type, period_start, inserted_at, updated_at)"
            " VALUES (%s, %s, %s, 'finished', %s, %s, 'PHC', 'AMB', %s, %s, %s)",
            (enc, person, episode, le, self.world.employee, at, at, at),
        )
        for table, n in sizes.items():
            cols = EXTRA[table]
            for _ in range(n):
                self.pg.execute(
                    f"INSERT INTO {table} (id, person_id, episode_id, encounter_id, status, legal_entity_id,"
                    f" {', '.join(cols)}, inserted_at, updated_at)"
                    f" VALUES (%s, %s, %s, %s, %s, %s, {', '.join(['%s'] * len(cols))}, %s, %s)",
                    (uid(), person, episode, enc, STATUS[table], le, *(["X1"] * len(cols)), at, at),
                )
        self.world.event(self.pg, "Encounter", enc, "finished", le)
        self.encounters.append((enc, person, le, at))
        return enc

    def populate(self) -> None:
        r, w = self.rng, self.world
        for _ in range(25):
            person = r.choice(w.persons)
            le = w.clinics[r.choice([VOLYN, LVIV, DNIPRO, None])]
            # Late in the evening UTC of a month's last day is the next month in Kyiv: the month is Kyiv's.
            at = datetime(2026, r.randint(1, 10), r.choice((3, 14, 28)), r.randint(0, 23), tzinfo=UTC)
            episode = self.episode(person, le, at)
            for k in range(r.randint(0, 3)):
                sizes = {t: r.choice((0, 0, 1, 2, 3)) for t in RECORDS.values()}
                self.package(person, episode, le, at + timedelta(days=k, minutes=30), sizes)
        # Month-edge: stored at 23:30 UTC on 31 March, which is April in Kyiv.
        edge = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
        person, le = w.persons[0], w.clinics[LVIV]
        self.package(person, self.episode(person, le, edge), le, edge, {"conditions": 1, "observations": 2})


def expected(url: str, region: str | None = None) -> dict[tuple[str, str], int]:
    """(month, kind) -> n straight from the tables, independent of the domain's counting."""
    found: dict[tuple[str, str], int] = {}
    tables = {"episode": "episodes", "encounter": "encounters", **RECORDS}
    join = " JOIN legal_entities le ON le.id = t.legal_entity_id WHERE le.region = %s" if region else ""
    for kind, table in tables.items():
        for month, n in sql(
            url, f"SELECT {KYIV_MONTH}, count(*) FROM {table} t{join} GROUP BY 1", *([region] * bool(region))
        ):
            found[(month, kind)] = n
    return found


def _medical(url: str, world: World) -> MedicalWorld:
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        medical = MedicalWorld(world, pg)
        medical.populate()
    return medical


def test_records_by_type_count_medical_events_per_type(world_db: tuple[str, World], dash_app: httpx.Client) -> None:
    url, world = world_db
    _medical(url, world)
    consume(url)
    want = expected(url)
    assert {k for _, k in want} == set(KINDS)  # every type is there, so every column is checked
    assert want[("2026-04", "condition")] >= 1  # the month-edge package counts in Kyiv's April
    monthly = rows_of(dash_app, "records", "monthly")
    for row in monthly:
        for kind in KINDS:
            assert row[kind] == pub(want.get((row["month"], kind), 0)), (row["month"], kind)
    # The total and the figures include them beside the referrals, prescriptions and the rest.
    medical_in_period = sum(n for (m, _), n in want.items() if PERIOD["from"] <= m <= PERIOD["to"])
    others = sum(
        n for row in monthly for k, n in row.items() if k not in (*KINDS, "month", "total") and isinstance(n, int)
    )
    assert figures(dash_app, "records")["period"] >= medical_in_period
    assert medical_in_period > 100 and others > 0
    lviv = expected(url, LVIV)
    for row in rows_of(dash_app, "records", "monthly", region=LVIV):
        for kind in KINDS:
            assert row[kind] == pub(lviv.get((row["month"], kind), 0)), ("Lviv", row["month"], kind)
    # The columns carry Ukrainian names.
    chart = dash_app.get("/api/dashboards/records/monthly.json", params=PERIOD).json()["data"]
    titles = {c["key"]: c["title"] for c in chart["columns"]}
    assert titles["encounter"] == "Взаємодії" and titles["immunization"] == "Імунізації"


def test_rebuild_agrees_and_later_events_count_once(world_db: tuple[str, World]) -> None:
    url, world = world_db
    medical = _medical(url, world)
    consume(url)
    report = rebuild(url, replace=False)
    assert report.agree, report.summary()
    before = _rollup(url)
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        enc, _person, le, _at = medical.encounters[0]
        # A cancelled encounter is still a record created once; its cancel event adds nothing.
        pg.execute("UPDATE encounters SET status = 'entered_in_error' WHERE id = %s", (enc,))
        world.event(pg, "Encounter", enc, "entered_in_error", le)
        # An event naming no stored encounter or episode counts nothing (and breaks nothing).
        world.event(pg, "Encounter", uid(), "finished", le)
        world.event(pg, "Episode", uid(), "active", le)
        # A closed episode was counted when it opened.
        pg.execute("UPDATE episodes SET status = 'closed'")
        world.event(pg, "Episode", uid(), "closed", le)
    assert consume(url) == 4
    assert _rollup(url) == before
    # A new package counts its encounter and records once, in the current Kyiv month.
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        medical = MedicalWorld(world, pg)
        now = datetime.now(UTC)
        person, le = world.persons[1], world.clinics[VOLYN]
        medical.package(person, medical.episode(person, le, now), le, now, {"immunizations": 2, "procedures": 1})
    consume(url)
    after = _rollup(url)
    added = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
    assert {k: v for k, v in added.items() if v} == {
        "episode": 1,
        "encounter": 1,
        "immunization": 2,
        "procedure": 1,
    }
    report = rebuild(url, replace=False)
    assert report.agree, report.summary()


def test_rebuild_restores_medical_counts_the_rollup_lost(world_db: tuple[str, World]) -> None:
    url, world = world_db
    _medical(url, world)
    # Rows written without their events (a restore, a bulk load): only the rebuild finds them.
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        medical = MedicalWorld(world, pg)
        at = datetime(2026, 5, 5, 10, tzinfo=UTC)
        person, le = world.persons[2], world.clinics[DNIPRO]
        medical.episode(person, le, at, event=False)
    consume(url)
    report = rebuild(url, replace=True)
    assert not report.agree and report.differing["analytics_records_monthly"] >= 1
    assert _rollup(url) == {k: n for (_, k), n in _sum_by_kind(expected(url)).items()}
    assert rebuild(url, replace=False).agree


def _sum_by_kind(found: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for (_, kind), n in found.items():
        out[("", kind)] = out.get(("", kind), 0) + n
    return out


def _rollup(url: str) -> dict[str, Any]:
    kinds = list(KINDS)
    rows = sql(url, "SELECT kind, sum(n)::int FROM analytics_records_monthly WHERE kind = ANY(%s) GROUP BY 1", kinds)
    return dict(rows)
