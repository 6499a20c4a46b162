"""create_app(): the ASGI application — routers, middleware, error handlers, lifespan."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz import __version__
from esoz.analytics.api import router as dashboards_router
from esoz.analytics.pages import router as dashboards_pages_router
from esoz.approvals.api import router as approvals_router
from esoz.audit.api import router as audit_router
from esoz.conclusions.api import router as conclusions_router
from esoz.core import audit, tracing
from esoz.core.admission import AdmissionMiddleware
from esoz.core.db import make_engine
from esoz.core.handlers import install_handlers
from esoz.core.health import router as health_router
from esoz.core.logging import configure_logging
from esoz.core.metrics import observe_pools
from esoz.core.metrics import router as metrics_router
from esoz.core.middleware import RequestContextMiddleware
from esoz.core.openapi import document_scopes
from esoz.core.patient_data import PatientDataMiddleware
from esoz.core.proxies import parse_networks
from esoz.core.ratelimit import RateLimiter
from esoz.core.replica import Replica
from esoz.core.worker import run_jobs
from esoz.enrolment.api import router as enrolment_router
from esoz.enrolment.confidants_api import router as enrolment_confidants_router
from esoz.enrolment.legacy_api import router as enrolment_legacy_router
from esoz.events.api import router as events_router
from esoz.identity import token_cache
from esoz.identity.admin import router as identity_admin_router
from esoz.identity.api import client_router as identity_client_router
from esoz.identity.api import router as identity_router
from esoz.identity.pages import router as identity_pages_router
from esoz.identity.tokens import verify_access_token
from esoz.jobs import all_jobs
from esoz.medical_events.api import jobs_router
from esoz.medical_events.api import router as medical_events_router
from esoz.medical_events.certificate_api import router as certificate_router
from esoz.medical_events.read_api import router as medical_records_router
from esoz.notifications.admin import dev_router as notifications_dev_router
from esoz.notifications.admin import router as notifications_admin_router
from esoz.notifications.api import router as notifications_router
from esoz.prescriptions.admin import router as prescriptions_admin_router
from esoz.prescriptions.api import router as prescriptions_router
from esoz.referrals.api import router as referrals_router
from esoz.registry.admin import router as registry_admin_router
from esoz.registry.api import router as registry_router
from esoz.registry.auth_methods_api import router as auth_methods_router
from esoz.registry.confidants_api import router as registry_confidants_router
from esoz.registry.requests_api import admin_router as registry_requests_admin_router
from esoz.registry.requests_api import router as registry_requests_router
from esoz.registry.requests_legacy_api import router as registry_requests_legacy_router
from esoz.services.api import router as services_router
from esoz.settings import Settings, get_settings
from esoz.signatures.api import router as signatures_router
from esoz.status import metrics as status_metrics
from esoz.status.api import router as status_router
from esoz.status.pages import router as status_pages_router

WEB_DIR = Path(__file__).parent / "web"

DESCRIPTION = """
MIS-facing REST API of esoz, an open implementation of Ukraine's e-health central database (ЕСОЗ).

Paths, field names, statuses and error strings follow the published ESOZ MIS API. Every response is
wrapped in the contract envelope `{"meta", "data", "paging", "urgent"}`; every error is
`{"meta", "error": {"type", "message", "invalid": [...]}}`.

Deviations from the real system are marked **esoz:** in the route descriptions.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    database_url = settings.database_url
    if not database_url:
        raise RuntimeError("ESOZ_DATABASE_URL must be set for the API process (esoz serve sets it)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Pools sized once, without overflow (bench/README.md). Overflow connections are opened and
        # closed per request under load (TLS probe, asyncpg type introspection) and throughput collapses.
        # The auth gate (token lookup, rate-limit counters, authz.denied audit) has a pool of its own: routes take
        # their ReadConn/WriteConn before the scope dependency runs, so with one pool, more requests in flight
        # than connections each held one while waiting for a second, and the pool deadlocked for its 30 s timeout.
        pgbouncer = settings.database_pgbouncer
        app.state.engine = make_engine(database_url, settings.db_pool_size, max_overflow=0, pgbouncer=pgbouncer)
        app.state.auth_engine = make_engine(database_url, 6, max_overflow=0, pgbouncer=pgbouncer)
        # /ready has a connection of its own: at the peak every API connection may be busy, and a probe that waits
        # for one would make the load balancer take a busy but healthy node out, and then the next.
        app.state.probe_engine = make_engine(database_url, 1, max_overflow=0, pgbouncer=pgbouncer)
        app.state.rate_limiter = RateLimiter(app.state.auth_engine, settings.redis_url)
        app.state.token_cache = await token_cache.start(settings)  # verified tokens, evicted by NOTIFY
        # Reads' audit rows in batches (core/audit.py: ReadAuditBuffer says what that guarantees).
        read_audit = (
            audit.ReadAuditBuffer(app.state.engine, settings.audit_read_flush_ms / 1000).start()
            if settings.audit_read_flush_ms
            else None
        )
        stop = asyncio.Event()
        app.state.replica = None
        if settings.database_read_url:
            app.state.replica = Replica(
                engine=make_engine(settings.database_read_url, settings.db_pool_size, max_overflow=0, pre_ping=True),
                primary=app.state.auth_engine,
                max_lag_seconds=settings.replica_max_lag_seconds,
                read_your_writes_seconds=settings.read_your_writes_seconds,
            )
            app.state.replica.start(stop)
        # The in-process jobs (outbox delivery, sealing, expiry) have connections of their own, so a busy API never
        # starves them of the pool; `esoz worker` sizes its own the same way.
        jobs_engine = (
            make_engine(database_url, 4, max_overflow=0, pgbouncer=pgbouncer) if settings.inprocess_worker else None
        )
        jobs = asyncio.create_task(run_jobs(jobs_engine, stop, all_jobs(settings))) if jobs_engine is not None else None
        pools = [("api", app.state.engine), ("auth", app.state.auth_engine)]
        if jobs_engine is not None:
            pools.append(("jobs", jobs_engine))
        tracing.instrument_engines([engine for _, engine in pools])
        pool_gauges = asyncio.create_task(_observe_pools(pools, stop))
        # What exists now (modules, tables, routes, schemas) lives as long as the process: move it out of the
        # collector's generations, so that full collections under load walk only per-request garbage.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            stop.set()
            await pool_gauges
            if app.state.replica is not None:
                await app.state.replica.close()
            if jobs is not None:
                await jobs
            if jobs_engine is not None:
                await jobs_engine.dispose()
            if read_audit is not None:
                await read_audit.close()
            await app.state.token_cache.close()
            await app.state.rate_limiter.close()
            await app.state.engine.dispose()
            await app.state.auth_engine.dispose()
            await app.state.probe_engine.dispose()
            tracing.flush()

    app = FastAPI(title="esoz", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics_allow = parse_networks(settings.metrics_allow)
    app.state.token_verifier = verify_access_token  # core.auth's gate asks identity who is calling
    install_handlers(app)
    app.add_middleware(PatientDataMiddleware)  # inside the request context: its rows carry the request id
    if settings.admission_max_in_flight:
        # Between the request context (a refusal carries the request id, is logged and counted) and everything
        # that costs work: a refused request reads no body, no token and no row.
        app.add_middleware(
            AdmissionMiddleware,
            max_in_flight=settings.admission_max_in_flight,
            max_wait_seconds=settings.admission_max_wait_ms / 1000,
            max_queue=settings.admission_max_queue,
            retry_after_seconds=settings.admission_retry_after_seconds,
        )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        observe=status_metrics.aggregator_for(database_url).observe,  # latency per minute
        trusted_proxies=settings.trusted_proxies,
    )
    # Routers are matched in this order, one route after another: the MIS hot paths come first (routing was
    # ~5 % of a request's CPU with the busiest routers late in the list; bench/README.md).
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(registry_router)
    app.include_router(registry_requests_router)
    app.include_router(auth_methods_router)
    app.include_router(enrolment_router)
    app.include_router(registry_confidants_router)
    app.include_router(enrolment_confidants_router)
    app.include_router(registry_requests_legacy_router)
    app.include_router(enrolment_legacy_router)
    app.include_router(identity_router)
    app.include_router(identity_client_router)
    app.include_router(events_router)
    app.include_router(prescriptions_router)
    app.include_router(referrals_router)
    app.include_router(medical_events_router)
    app.include_router(certificate_router)
    app.include_router(services_router)
    app.include_router(conclusions_router)
    app.include_router(approvals_router)
    app.include_router(medical_records_router)
    app.include_router(jobs_router)
    app.include_router(signatures_router)
    app.include_router(notifications_router)
    app.include_router(identity_pages_router)
    app.include_router(identity_admin_router)
    app.include_router(prescriptions_admin_router)
    app.include_router(status_router)
    app.include_router(status_pages_router)
    app.include_router(dashboards_router)
    app.include_router(dashboards_pages_router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(registry_admin_router)
    app.include_router(registry_requests_admin_router)
    app.include_router(notifications_admin_router)
    app.include_router(audit_router)
    configure_tracing(settings)
    tracing.instrument_app(app)  # outermost: the server span covers the whole request
    if settings.env == "dev":
        # The dev message view shows SMS codes: a sandbox convenience that production never serves.
        app.include_router(notifications_dev_router)
    document_scopes(app)  # after every router: the docs show each route's scopes
    return app


def configure_tracing(settings: Settings) -> None:
    if settings.tracing_otlp_endpoint:
        tracing.configure(
            endpoint=settings.tracing_otlp_endpoint,
            service_name=settings.tracing_service_name,
            sample_ratio=settings.tracing_sample_ratio,
        )


async def _observe_pools(pools: list[tuple[str, AsyncEngine]], stop: asyncio.Event) -> None:
    """Each worker reports its pools' use every few seconds (the gauges are summed over workers at scrape time)."""
    while not stop.is_set():
        observe_pools(pools)
        try:
            await asyncio.wait_for(stop.wait(), 5)
        except TimeoutError:
            pass
