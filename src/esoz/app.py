"""create_app(): the ASGI application — routers, middleware, error handlers, lifespan."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from esoz import __version__
from esoz.core.db import make_engine
from esoz.core.handlers import install_handlers
from esoz.core.health import router as health_router
from esoz.core.logging import configure_logging
from esoz.core.middleware import RequestContextMiddleware
from esoz.core.worker import run_jobs
from esoz.registry.admin import router as registry_admin_router
from esoz.registry.api import router as registry_router
from esoz.settings import Settings, get_settings

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
    if not settings.database_url:
        raise RuntimeError("ESOZ_DATABASE_URL must be set for the API process (esoz serve sets it)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.database_url, settings.db_pool_size)
        stop = asyncio.Event()
        jobs = asyncio.create_task(run_jobs(app.state.engine, stop)) if settings.inprocess_worker else None
        try:
            yield
        finally:
            stop.set()
            if jobs is not None:
                await jobs
            await app.state.engine.dispose()

    app = FastAPI(title="esoz", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    install_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(health_router)
    app.include_router(registry_router)
    if settings.env == "dev":
        # Until the identity issue lands, admin writes exist only in dev mode.
        app.include_router(registry_admin_router)
    return app
