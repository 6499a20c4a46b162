"""Component health: judged every minute from real signals and recorded as one sample per component.

api, sign-in: error rate and p95 of the last 5 minutes (measured by the service itself);
database, signatures, ПФУ: active probes; SMS, e-mail, ПФУ: outbox backlog and the age of the oldest
pending message. Declared incidents and maintenance are folded in when the page is read.
"""

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core import clock
from esoz.core import outbox as ob
from esoz.settings import Settings
from esoz.status import metrics, probes
from esoz.status.components import (
    COMPONENTS,
    DEGRADED,
    IMPACT_STATE,
    MAINTENANCE,
    OPERATIONAL,
    OUTAGE,
    UNKNOWN,
    worst,
)
from esoz.status.models import status_incidents, status_samples

MIN_REQUESTS = 20  # fewer requests than this in 5 minutes say nothing about the error rate
ERROR_RATE_DEGRADED, ERROR_RATE_OUTAGE = 0.05, 0.25
P95_DEGRADED_MS = 2000.0
BACKLOG_AGE_DEGRADED, BACKLOG_AGE_OUTAGE = 120.0, 900.0  # seconds the oldest pending message waits


def judge_traffic(recent: dict[str, Any]) -> str:
    if recent["requests"] >= MIN_REQUESTS:
        if recent["error_rate"] >= ERROR_RATE_OUTAGE:
            return OUTAGE
        if recent["error_rate"] >= ERROR_RATE_DEGRADED:
            return DEGRADED
    if recent["p95_ms"] is not None and recent["p95_ms"] > P95_DEGRADED_MS:
        return DEGRADED
    return OPERATIONAL


def judge_backlog(channel: dict[str, Any] | None) -> str:
    age = (channel or {}).get("oldest_pending_age_seconds")
    if age is None:
        return OPERATIONAL
    return OUTAGE if age > BACKLOG_AGE_OUTAGE else DEGRADED if age > BACKLOG_AGE_DEGRADED else OPERATIONAL


async def measure(engine: AsyncEngine, settings: Settings, http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """The measured state of every component with what it was judged by (no declared incidents here)."""
    found: dict[str, dict[str, Any]] = {}
    state, detail = await probes.database(engine)
    found["database"] = {"measured": state, **detail}
    if state == OUTAGE:
        return found  # nothing else can be read; the sample cannot be written either
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for component in ("api", "signin"):
            recent = await metrics.recent(conn, component)
            found[component] = {"measured": judge_traffic(recent), **recent}
        backlog = (await ob.metrics(conn))["channels"]
    for channel in ("sms", "email", "pfu"):
        found[channel] = {"measured": judge_backlog(backlog.get(channel)), "outbox": backlog.get(channel)}
    urls = probes.signature_urls(settings.signatures_ocsp_hosts, settings.signatures_crl_urls)
    state, detail = await probes.endpoints(http, urls)
    found["signatures"] = {"measured": state, **detail}
    pfu_url = settings.status_pfu_probe_url or settings.pfu_url
    if pfu_url:
        state, detail = await probes.endpoints(http, [pfu_url])
        found["pfu"] = {**found["pfu"], **detail, "measured": worst(found["pfu"]["measured"], state)}
    return found


async def declared(conn: AsyncConnection) -> dict[str, str]:
    """Component -> the state that open incidents declare for it."""
    rows = await conn.execute(
        select(status_incidents.c.components, status_incidents.c.impact).where(status_incidents.c.status != "resolved")
    )
    states: dict[str, str] = {}
    for components, impact in rows:
        for c in components:
            states[c] = worst(states.get(c, OPERATIONAL), IMPACT_STATE[impact])
    return states


def combine(measured: str, declared: str | None, in_maintenance: bool) -> str:
    if in_maintenance:
        return MAINTENANCE
    return worst(measured, declared or OPERATIONAL)


async def record(
    conn: AsyncConnection, found: dict[str, dict[str, Any]], maintenance: set[str], at: datetime | None = None
) -> int:
    """One sample per component for this minute (the first process to sample a minute wins)."""
    minute = (at or clock.now()).replace(second=0, microsecond=0)
    claimed = await declared(conn)
    rows = [
        {
            "component": c,
            "minute": minute,
            "state": combine(found[c]["measured"], claimed.get(c), c in maintenance),
            "detail": found[c],
        }
        for c in COMPONENTS
        if c in found
    ]
    if not rows:
        return 0
    await conn.execute(insert(status_samples).values(rows).on_conflict_do_nothing())
    return len(rows)


async def latest(conn: AsyncConnection, max_age_seconds: float) -> dict[str, dict[str, Any]]:
    """The freshest sample per component; older than `max_age_seconds` means we do not know."""
    rows = await conn.execute(
        text(
            """
            SELECT DISTINCT ON (component) component, minute, state, detail FROM status_samples
             WHERE minute > :since ORDER BY component, minute DESC
            """
        ),
        {"since": clock.now().replace(second=0, microsecond=0) - timedelta(seconds=max_age_seconds)},
    )
    return {r.component: {"minute": r.minute, "measured": r.detail.get("measured", UNKNOWN)} for r in rows}


async def purge(conn: AsyncConnection, days: int) -> int:
    total = 0
    for table in ("status_samples", "status_metrics"):
        result = await conn.execute(
            text(f"DELETE FROM {table} WHERE minute < now() - make_interval(days => :days)"), {"days": days}
        )
        total += result.rowcount or 0
    return total
