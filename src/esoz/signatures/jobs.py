"""The CRL refresh job: the only place CRLs are downloaded (allowlisted hosts), never a request."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from esoz.core.db import make_engine
from esoz.core.worker import PeriodicJob
from esoz.settings import Settings, get_settings
from esoz.signatures.revocation import MAX_CRL_BYTES, download_crl, refresh_crls, store_crl
from esoz.signatures.service import dev_pki_for, pki_dir, trust_store_for, trusts_dev_ca

CRL_SUFFIXES = {".crl"}


def local_crl_files(settings: Settings) -> list[Path]:
    """CRL files next to the trust anchors (offline deployments) and the dev CA's CRL."""
    files: list[Path] = []
    for path in settings.signatures_trust_paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in CRL_SUFFIXES))
    if trusts_dev_ca(settings) and dev_pki_for(settings) is not None:
        files.append(pki_dir(settings) / "crl.der")
    return files


def jobs(settings: Settings) -> list[PeriodicJob]:
    """For the job registry (esoz.jobs.JOB_FACTORIES)."""
    return [
        PeriodicJob(
            "signatures.refresh_crls",
            settings.signatures_crl_refresh_seconds,
            run_with_engine=partial(refresh_crls_with_engine, settings=settings),
        )
    ]


async def refresh_crls_with_engine(engine: AsyncEngine, settings: Settings | None = None) -> int:
    """Downloads happen outside any transaction; each CRL is stored in its own short one."""
    s = settings or get_settings()
    trust = trust_store_for(s)
    blobs: list[tuple[str, bytes | None]] = []
    for url in s.signatures_crl_urls:
        blobs.append((url, await download_crl(url, s.signatures_crl_hosts)))
    blobs += [(str(f), f.read_bytes()) for f in local_crl_files(s) if f.is_file() and f.stat().st_size <= MAX_CRL_BYTES]
    stored = 0
    for source, data in blobs:
        if data is not None:
            async with engine.begin() as conn:
                stored += await store_crl(conn, data, source, trust)
    return stored


async def refresh_crls_job(conn: AsyncConnection, settings: Settings | None = None) -> int:
    """The same on a caller's connection (tests, one-off use)."""
    s = settings or get_settings()
    return await refresh_crls(
        conn,
        trust_store_for(s),
        urls=s.signatures_crl_urls,
        hosts=s.signatures_crl_hosts,
        files=local_crl_files(s),
    )


async def refresh_crls_once(url: str, settings: Settings) -> int:
    engine = make_engine(url, 1)
    try:
        return await refresh_crls_with_engine(engine, settings)
    finally:
        await engine.dispose()
