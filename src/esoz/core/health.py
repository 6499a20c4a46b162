"""Liveness and readiness probes for load balancers and orchestrators."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core import envelope
from esoz.core.logging import get_logger
from esoz.core.migrations import current_revisions, missing_heads
from esoz.core.replica import replica_of
from esoz.core.schemas import Envelope, HealthOut, ReadyOut

router = APIRouter(tags=["health"])
log = get_logger("esoz.health")
# Shorter than a load balancer's check timeout: a database that does not answer in time is "not ready".
PROBE_TIMEOUT_SECONDS = 3.0


def probe_engine_of(request: Request) -> AsyncEngine:
    """The one-connection pool of the probes, apart from the API's (set by create_app's lifespan)."""
    engine: AsyncEngine = request.app.state.probe_engine
    return engine


@router.get("/health", response_model=Envelope[HealthOut], summary="The process is alive")
async def health(request: Request) -> Response:
    return envelope.ok(request, {"status": "ok"})


@router.get(
    "/ready",
    response_model=Envelope[ReadyOut],
    summary="The database is reachable and its schema is current",
    responses={503: {"model": Envelope[ReadyOut], "description": "not ready: the database is unreachable or behind"}},
)
async def ready(request: Request) -> Response:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), probe_engine_of(request).connect() as conn:
            await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            current = await current_revisions(conn)
            missing = missing_heads(current)
            checks["migrations"] = "ok" if not missing else f"behind: {sorted(missing)} not applied"
    except Exception:  # any failure means "not ready": answered, and its cause logged (never sent)
        log.warning("not ready", exc_info=True)
        checks.setdefault("database", "unreachable")
    ready_ = all(v == "ok" for v in checks.values()) and len(checks) == 2
    replica = replica_of(request)
    if replica is not None:
        # Not part of readiness: a lagging or lost replica sends reads to the primary, the node still serves.
        checks["replica"] = replica.describe()
    return envelope.ok(
        request, {"status": "ready" if ready_ else "not_ready", "checks": checks}, status=200 if ready_ else 503
    )
