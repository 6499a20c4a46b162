"""Active probes: the database answers, the CAs and OCSP responders (and the ПФУ endpoint) are reachable.

A probe never raises: it returns a state and what it saw, which the sampler records with the state.
"""

import time
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.status.components import DEGRADED, OPERATIONAL, OUTAGE

DB_SLOW_MS = 500.0


async def database(engine: AsyncEngine) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to answer is an outage of the database as far as users can tell
        return OUTAGE, {"error": type(exc).__name__}
    ms = round((time.perf_counter() - started) * 1000, 1)
    return (DEGRADED if ms > DB_SLOW_MS else OPERATIONAL), {"latency_ms": ms}


async def reachable(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """Any HTTP answer counts: an OCSP responder may well say 405 to a bare GET, and that is fine."""
    started = time.perf_counter()
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        return {"url": url, "ok": False, "error": type(exc).__name__}
    ms = round((time.perf_counter() - started) * 1000, 1)
    return {"url": url, "ok": response.status_code < 500, "http_status": response.status_code, "latency_ms": ms}


def judge(results: list[dict[str, Any]]) -> str:
    if not results or all(r["ok"] for r in results):
        return OPERATIONAL
    return DEGRADED if any(r["ok"] for r in results) else OUTAGE


async def endpoints(client: httpx.AsyncClient, urls: list[str]) -> tuple[str, dict[str, Any]]:
    results = [await reachable(client, url) for url in urls]
    return judge(results), {"checks": results}


def signature_urls(ocsp_hosts: list[str], crl_urls: list[str]) -> list[str]:
    """What users' signatures depend on: the OCSP responders and the CAs' CRL distribution points."""
    return [f"http://{host}/" for host in ocsp_hosts] + list(crl_urls)
