"""Latency and errors measured by the service itself, per component and minute.

The request middleware calls `Aggregator.observe` after every response: a dict update in memory, no I/O.
A worker job (`status.metrics_flush`) merges the in-memory minutes into `status_metrics` with one upsert,
so any number of API processes add up. Percentiles come from fixed latency buckets, which merge exactly.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock

# Upper bounds (ms) of the latency buckets; the last bucket is everything slower.
BUCKETS_MS: tuple[float, ...] = (5, 10, 25, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000)
NBUCKETS = len(BUCKETS_MS) + 1

# Paths that are not the service's work for MIS (the status page itself, docs, health checks).
_IGNORED = ("/status", "/api/status", "/static", "/health", "/docs", "/redoc", "/openapi.json", "/favicon.ico")
_SIGNIN = ("/sign-in", "/oauth", "/auth", "/api/credentials_recovery_requests", "/.well-known")


def component_of(path: str) -> str | None:
    if path.startswith(_IGNORED):
        return None
    if path.startswith(_SIGNIN):
        return "signin"
    if path.startswith(("/api", "/admin")):
        return "api"
    return None


def bucket_of(ms: float) -> int:
    for i, bound in enumerate(BUCKETS_MS):
        if ms <= bound:
            return i
    return len(BUCKETS_MS)


@dataclass(slots=True)
class Minute:
    requests: int = 0
    errors: int = 0
    latency_sum_ms: float = 0.0
    hist: list[int] = field(default_factory=lambda: [0] * NBUCKETS)

    def add(self, other: "Minute") -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.latency_sum_ms += other.latency_sum_ms
        self.hist = [a + b for a, b in zip(self.hist, other.hist, strict=True)]


class Aggregator:
    """In-process per-minute totals of one app; `take()` hands them over to the flush job."""

    def __init__(self) -> None:
        self.minutes: dict[tuple[str, int], Minute] = {}

    def observe(self, path: str, status: int, seconds: float) -> None:
        component = component_of(path)
        if component is None:
            return
        minute = int(clock.now().timestamp()) // 60 * 60
        key = (component, minute)
        slot = self.minutes.get(key)
        if slot is None:
            slot = self.minutes[key] = Minute()
        ms = seconds * 1000
        slot.requests += 1
        slot.errors += status >= 500
        slot.latency_sum_ms += ms
        slot.hist[bucket_of(ms)] += 1

    def take(self) -> dict[tuple[str, int], Minute]:
        taken, self.minutes = self.minutes, {}
        return taken

    def give_back(self, taken: dict[tuple[str, int], Minute]) -> None:
        """After a failed flush: merge what was taken back in, so nothing measured is lost."""
        for key, value in taken.items():
            slot = self.minutes.setdefault(key, Minute())
            slot.add(value)


# One aggregator per database, so that several apps in one process (tests) never mix their numbers.
_AGGREGATORS: dict[str, Aggregator] = {}


def aggregator_for(database_url: str) -> Aggregator:
    return _AGGREGATORS.setdefault(database_url, Aggregator())


async def flush(conn: AsyncConnection, aggregator: Aggregator) -> int:
    taken = aggregator.take()
    if not taken:
        return 0
    try:
        for (component, minute), m in sorted(taken.items()):
            await conn.execute(
                text(
                    """
                    INSERT INTO status_metrics AS s (component, minute, requests, errors, latency_sum_ms, hist)
                    VALUES (:component, :minute, :requests, :errors, :sum, :hist)
                    ON CONFLICT (component, minute) DO UPDATE SET
                      requests = s.requests + EXCLUDED.requests,
                      errors = s.errors + EXCLUDED.errors,
                      latency_sum_ms = s.latency_sum_ms + EXCLUDED.latency_sum_ms,
                      hist = ARRAY(SELECT coalesce(a, 0) + coalesce(b, 0)
                                     FROM unnest(s.hist, EXCLUDED.hist) WITH ORDINALITY AS t(a, b, n) ORDER BY n)
                    """
                ),
                {
                    "component": component,
                    "minute": datetime.fromtimestamp(minute, UTC),
                    "requests": m.requests,
                    "errors": m.errors,
                    "sum": m.latency_sum_ms,
                    "hist": m.hist,
                },
            )
    except BaseException:
        aggregator.give_back(taken)
        raise
    return len(taken)


def percentile(hist: list[int], q: float) -> float | None:
    """The q-quantile (0..1) in ms, interpolated linearly inside its bucket."""
    total = sum(hist)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, count in enumerate(hist):
        if count and seen + count >= rank:
            low = BUCKETS_MS[i - 1] if i > 0 else 0.0
            high = BUCKETS_MS[i] if i < len(BUCKETS_MS) else BUCKETS_MS[-1] * 2
            return low + (high - low) * max(rank - seen, 0) / count
        seen += count
    return float(BUCKETS_MS[-1] * 2)


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    requests: int
    errors: int
    p50: float | None
    p95: float | None


async def series(conn: AsyncConnection, component: str, *, hours: int, step_minutes: int) -> list[Point]:
    """p50/p95 per step over the last `hours`; steps without requests have no percentiles."""
    end = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(hours=hours)
    rows = await conn.execute(
        text(
            """
            SELECT date_bin(make_interval(mins => :step), minute, CAST(:origin AS timestamptz)) AS at,
                   u.n, sum(u.v)::bigint AS v
              FROM status_metrics, unnest(hist) WITH ORDINALITY AS u(v, n)
             WHERE component = :component AND minute >= :start AND minute < :end
             GROUP BY 1, 2
            """
        ),
        {"step": step_minutes, "origin": start, "component": component, "start": start, "end": end},
    )
    hists: dict[datetime, list[int]] = {}
    for at, n, v in rows:
        hists.setdefault(at, [0] * NBUCKETS)[n - 1] = int(v)
    totals = await conn.execute(
        text(
            """
            SELECT date_bin(make_interval(mins => :step), minute, CAST(:origin AS timestamptz)) AS at,
                   sum(requests)::bigint AS requests, sum(errors)::bigint AS errors
              FROM status_metrics WHERE component = :component AND minute >= :start AND minute < :end GROUP BY 1
            """
        ),
        {"step": step_minutes, "origin": start, "component": component, "start": start, "end": end},
    )
    counts = {r.at: (int(r.requests), int(r.errors)) for r in totals}
    points = []
    steps = math.ceil(hours * 60 / step_minutes)
    for i in range(steps):
        at = start + timedelta(minutes=i * step_minutes)
        hist = hists.get(at, [0] * NBUCKETS)
        requests, errors = counts.get(at, (0, 0))
        points.append(Point(at, requests, errors, percentile(hist, 0.5), percentile(hist, 0.95)))
    return points


async def recent(conn: AsyncConnection, component: str, minutes: int = 5) -> dict[str, Any]:
    """Requests, error rate and p95 over the last few minutes: what the health sampler judges by."""
    rows = await conn.execute(
        text(
            """
            SELECT u.n, sum(u.v)::bigint AS v FROM status_metrics, unnest(hist) WITH ORDINALITY AS u(v, n)
             WHERE component = :component AND minute >= :since GROUP BY 1
            """
        ),
        {"component": component, "since": clock.now() - timedelta(minutes=minutes)},
    )
    hist = [0] * NBUCKETS
    for n, v in rows:
        hist[n - 1] = int(v)
    totals = (
        await conn.execute(
            text(
                "SELECT coalesce(sum(requests), 0) AS requests, coalesce(sum(errors), 0) AS errors"
                " FROM status_metrics WHERE component = :component AND minute >= :since"
            ),
            {"component": component, "since": clock.now() - timedelta(minutes=minutes)},
        )
    ).one()
    requests = int(totals.requests)
    return {
        "requests": requests,
        "error_rate": (int(totals.errors) / requests) if requests else 0.0,
        "p95_ms": percentile(hist, 0.95),
    }
