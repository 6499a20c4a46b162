"""The verified-certificate cache: a certificate whose chain, key usage and revocation status passed is
not re-checked for `signatures_cert_cache_seconds` (the real DS: 30 minutes).

Two layers: a small per-process map (so a hit costs a dict lookup, not a round trip) in front of the
`signature_cert_checks` table (so all workers and nodes share what one of them verified). Either layer
only ever says "this certificate was fine at checked_at"; the service still verifies every signature.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.signatures.models import signature_cert_checks


class CertStatusCache(Protocol):
    async def is_verified(self, cert_sha256: bytes, trust_key: str) -> bool: ...

    async def remember(self, cert_sha256: bytes, trust_key: str) -> None: ...


@dataclass
class MemoryCertCache:
    ttl_seconds: float = 1800
    max_entries: int = 10_000
    _entries: dict[tuple[bytes, str], float] = field(default_factory=dict)

    async def is_verified(self, cert_sha256: bytes, trust_key: str) -> bool:
        expires = self._entries.get((cert_sha256, trust_key))
        if expires is None:
            return False
        if expires < time.monotonic():
            self._entries.pop((cert_sha256, trust_key), None)
            return False
        return True

    def remember_until(self, cert_sha256: bytes, trust_key: str, expires_monotonic: float) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded; a miss only costs one re-verification
        self._entries[(cert_sha256, trust_key)] = expires_monotonic

    async def remember(self, cert_sha256: bytes, trust_key: str) -> None:
        if self.ttl_seconds > 0:
            self.remember_until(cert_sha256, trust_key, time.monotonic() + self.ttl_seconds)

    def clear(self) -> None:
        self._entries.clear()


@dataclass
class NoCache:
    async def is_verified(self, cert_sha256: bytes, trust_key: str) -> bool:
        return False

    async def remember(self, cert_sha256: bytes, trust_key: str) -> None:
        return None


@dataclass
class DbCertCache:
    """The shared layer; `memory` (per process) is consulted first and filled from the table."""

    conn: AsyncConnection
    memory: MemoryCertCache
    ttl_seconds: float = 1800

    async def is_verified(self, cert_sha256: bytes, trust_key: str) -> bool:
        if self.ttl_seconds <= 0:
            return False
        if await self.memory.is_verified(cert_sha256, trust_key):
            return True
        now = datetime.now(UTC)
        expires_at = await self.conn.scalar(
            select(signature_cert_checks.c.expires_at).where(
                signature_cert_checks.c.cert_sha256 == cert_sha256,
                signature_cert_checks.c.trust_key == trust_key,
                signature_cert_checks.c.expires_at > now,
            )
        )
        if expires_at is None:
            return False
        self.memory.remember_until(cert_sha256, trust_key, time.monotonic() + (expires_at - now).total_seconds())
        return True

    async def remember(self, cert_sha256: bytes, trust_key: str) -> None:
        if self.ttl_seconds <= 0:
            return
        now = datetime.now(UTC)
        expires_at = now + timedelta(seconds=self.ttl_seconds)
        stmt = insert(signature_cert_checks).values(
            cert_sha256=cert_sha256, trust_key=trust_key, checked_at=now, expires_at=expires_at
        )
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[signature_cert_checks.c.cert_sha256, signature_cert_checks.c.trust_key],
                set_={"checked_at": now, "expires_at": expires_at},
            )
        )
        await self.memory.remember(cert_sha256, trust_key)
