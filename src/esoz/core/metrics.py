"""Prometheus metrics: what operators scrape at `/metrics` (the prometheus-client library).

Per process, counted where it happens: requests by route template and status with their latency, requests in flight
and refused at admission, database pool use, periodic job runs, certificate cache hits. `esoz serve` with several
workers runs the library's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, set by `esoz serve` before the workers
start), so a scrape that reaches any worker reports the sum of all of them.

Read from the database at scrape time, the same whichever worker answers: the outbox backlog and the age of its oldest
undelivered message per channel, and the audit log's sealing lag. `/metrics` answers only the networks of
`ESOZ_METRICS_ALLOW` (loopback by default): it tells how the service is built and how busy it is.
"""

import ipaddress
import os
from collections.abc import Iterable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.errors import NotFound

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"  # one label for every path no route matched: bounded cardinality

REQUESTS = Counter("esoz_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "esoz_http_request_duration_seconds",
    "time from the request's arrival to its answer",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("esoz_http_requests_in_flight", "requests being answered", multiprocess_mode="livesum")
SHED = Counter("esoz_http_requests_shed", "requests refused at admission (503) because the worker was at capacity")
DB_POOL = Gauge(
    "esoz_db_pool_connections",
    "database connections of the API pools by state",
    ["pool", "state"],
    multiprocess_mode="livesum",
)
JOB_RUNS = Counter("esoz_job_runs", "periodic job runs", ["job", "outcome"])
REPLICA_LAG = Gauge(
    "esoz_replica_lag_seconds",
    "how far the read replica is behind the primary (-1: unreachable)",
    multiprocess_mode="max",
)
REPLICA_READS = Counter(
    "esoz_lag_tolerant_reads",
    "connections of routes that tolerate replica lag, by where they went (replica, or primary and why)",
    ["target"],
)
CERT_CACHE = Counter("esoz_certificate_cache_lookups", "signer certificate cache look-ups", ["result"])


def serve_worker_metrics(*, host: str, port: int) -> None:
    """`esoz worker`'s own /metrics (job runs, its pool, the process): a thread of prometheus-client's server.

    The worker has no HTTP app; its counters would otherwise never leave the process. Bound to one address
    (loopback by default) instead of filtered like the API's /metrics.
    """
    start_http_server(port, addr=host)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_pools(pools: Iterable[tuple[str, AsyncEngine]]) -> None:
    """The current use of each pool (called every few seconds by each worker)."""
    for name, engine in pools:
        pool = engine.pool
        checked_out = getattr(pool, "checkedout", lambda: 0)()
        idle = getattr(pool, "checkedin", lambda: 0)()
        DB_POOL.labels(name, "in_use").set(checked_out)
        DB_POOL.labels(name, "idle").set(idle)


# --- read at scrape time ---------------------------------------------------------------------------------------------

_OUTBOX = text(
    "SELECT channel, count(*) AS pending, EXTRACT(EPOCH FROM now() - min(created_at)) AS oldest"
    " FROM outbox WHERE status = 'pending' GROUP BY channel"
)
# The unsealed rows are few and indexed (ix_audit_log_unsealed); uuid7 ids sort by time.
_SEALING_LAG = text(
    "SELECT EXTRACT(EPOCH FROM now() - occurred_at) FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT 1"
)


class _Snapshot(Collector):
    def __init__(self, outbox: list[tuple[str, int, float]], sealing_lag: float) -> None:
        self.outbox = outbox
        self.sealing_lag = sealing_lag

    def collect(self) -> Iterable[GaugeMetricFamily]:
        backlog = GaugeMetricFamily("esoz_outbox_pending", "messages not yet delivered", labels=["channel"])
        age = GaugeMetricFamily(
            "esoz_outbox_oldest_pending_age_seconds", "age of the oldest undelivered message", labels=["channel"]
        )
        for channel, pending, oldest in self.outbox:
            backlog.add_metric([channel], pending)
            age.add_metric([channel], oldest)
        yield backlog
        yield age
        yield GaugeMetricFamily(
            "esoz_audit_sealing_lag_seconds", "age of the oldest audit row not yet sealed", value=self.sealing_lag
        )


async def _snapshot(engine: AsyncEngine) -> _Snapshot:
    async with engine.connect() as conn:
        outbox = [(r.channel, int(r.pending), float(r.oldest or 0)) for r in await conn.execute(_OUTBOX)]
        lag = (await conn.execute(_SEALING_LAG)).scalar()
    return _Snapshot(outbox, float(lag or 0))


def _allowed(request: Request, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    peer = request.client.host if request.client else None
    try:
        address = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format); answered to ESOZ_METRICS_ALLOW only",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "the metrics"}},
    include_in_schema=False,
)
async def metrics(request: Request) -> Response:
    if not _allowed(request, request.app.state.metrics_allow):
        raise NotFound("Not found")
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    registry = CollectorRegistry()
    registry.register(await _snapshot(request.app.state.auth_engine))
    return Response(body + generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
