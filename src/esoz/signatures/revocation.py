"""Revocation evidence: CRLs kept in the database and OCSP answers from allowlisted responders only.

No request ever fetches a URL taken from a certificate unless its host is on an allowlist: CRLs are
downloaded by the refresh job, OCSP goes only to `signatures_ocsp_hosts` with a short timeout, and the
dev CA is answered in-process. With `revocation_mode="require"` missing evidence means rejection.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from asn1crypto import crl as asn1crl
from asn1crypto import x509 as asn1x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509 import ocsp
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.ids import uuid7
from esoz.core.logging import get_logger
from esoz.signatures.models import signature_crls
from esoz.signatures.trust import TrustStore

log = get_logger("esoz.signatures.revocation")

MAX_OCSP_RESPONSE_BYTES = 64 * 1024
MAX_CRL_BYTES = 64 * 1024 * 1024


@dataclass
class RevocationEvidence:
    crls: list[asn1crl.CertificateList] = field(default_factory=list)
    ocsps: list[bytes] = field(default_factory=list)


class RevocationSource(Protocol):
    async def evidence(self, certs: Sequence[asn1x509.Certificate], trust: TrustStore) -> RevocationEvidence:
        """CRLs/OCSP responses about `certs` (signer, TSA), gathered without contacting anyone
        except allowlisted responders."""
        ...


@dataclass
class StaticRevocation:
    """Evidence given up front (tests, offline verification)."""

    crls: list[bytes] = field(default_factory=list)
    ocsps: list[bytes] = field(default_factory=list)

    async def evidence(self, certs: Sequence[asn1x509.Certificate], trust: TrustStore) -> RevocationEvidence:
        return RevocationEvidence([asn1crl.CertificateList.load(c) for c in self.crls], list(self.ocsps))


# --- URL policy ----------------------------------------------------------------------------------------


def is_allowed_url(url: str, hosts: Sequence[str]) -> bool:
    """Only http(s) URLs whose host is exactly on the allowlist; link-local and unspecified addresses
    (cloud metadata: 169.254.169.254) are refused even if someone allowlists them."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and (ip.is_link_local or ip.is_unspecified or ip.is_multicast):
        return False
    return host in {h.lower() for h in hosts}


# --- OCSP ----------------------------------------------------------------------------------------------


# The key types that sign certificates and CRLs (cryptography's CertificateIssuerPublicKeyTypes).
_ISSUER_KEYS = (
    dsa.DSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
    rsa.RSAPublicKey,
)


def _signed_by(crl: x509.CertificateRevocationList, ca: asn1x509.Certificate) -> bool:
    key = _crypto_cert(ca).public_key()
    return isinstance(key, _ISSUER_KEYS) and crl.is_signature_valid(key)


def _crypto_cert(cert: asn1x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def ocsp_request_der(cert: asn1x509.Certificate, issuer: asn1x509.Certificate) -> bytes:
    # SHA-1 CertID is what responders universally support (RFC 6960 / 5019).
    builder = ocsp.OCSPRequestBuilder().add_certificate(_crypto_cert(cert), _crypto_cert(issuer), hashes.SHA1())
    return builder.build().public_bytes(serialization.Encoding.DER)


async def post_ocsp(url: str, request_der: bytes, seconds: float) -> bytes | None:
    """One OCSP POST; no redirects (a redirect could point anywhere), bounded response size."""
    try:
        async with httpx.AsyncClient(timeout=seconds, follow_redirects=False, trust_env=False) as client:
            async with client.stream(
                "POST", url, content=request_der, headers={"Content-Type": "application/ocsp-request"}
            ) as resp:
                if resp.status_code != 200:
                    return None
                body = b""
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_OCSP_RESPONSE_BYTES:
                        return None
                return body
    except (httpx.HTTPError, OSError):
        log.warning("ocsp request failed", url=url)
        return None


DevResponder = Callable[[asn1x509.Certificate, bytes], bytes | None]
OcspPoster = Callable[[str, bytes, float], Awaitable[bytes | None]]


# --- CRL store -----------------------------------------------------------------------------------------


def issuer_name_hash(name: asn1x509.Name) -> bytes:
    return hashlib.sha256(name.dump()).digest()


_parsed_crls: dict[object, asn1crl.CertificateList] = {}


def _parse_cached(row_id: object, der: bytes) -> asn1crl.CertificateList:
    # Rows are immutable (a refresh inserts a new one), so parsed CRLs can be kept by id.
    parsed = _parsed_crls.get(row_id)
    if parsed is None:
        if len(_parsed_crls) > 256:
            _parsed_crls.clear()
        parsed = _parsed_crls[row_id] = asn1crl.CertificateList.load(der)
    return parsed


async def latest_crls(
    conn: AsyncConnection, issuer_hashes: Sequence[bytes], now: datetime
) -> dict[bytes, asn1crl.CertificateList]:
    """The newest still-current CRL of each issuer."""
    if not issuer_hashes:
        return {}
    rows = await conn.execute(
        select(signature_crls.c.id, signature_crls.c.issuer_name_hash, signature_crls.c.der)
        .where(signature_crls.c.issuer_name_hash.in_(list(issuer_hashes)))
        .where((signature_crls.c.next_update.is_(None)) | (signature_crls.c.next_update > now))
        .order_by(signature_crls.c.issuer_name_hash, signature_crls.c.this_update.desc())
        .distinct(signature_crls.c.issuer_name_hash)
    )
    return {row.issuer_name_hash: _parse_cached(row.id, row.der) for row in rows}


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


async def store_crl(conn: AsyncConnection, data: bytes, source: str, trust: TrustStore) -> bool:
    """Keep a CRL whose signature verifies against a trusted CA; anything else is dropped. Older CRLs stay
    (evidence of what was known when); the newest current one per issuer is used."""
    try:
        crl = parse_crl(data)
    except ValueError:
        log.warning("crl unparsable", source=source)
        return False
    der = crl.public_bytes(serialization.Encoding.DER)
    parsed = asn1crl.CertificateList.load(der)
    issuers = trust.by_subject.get(parsed.issuer.dump(), [])
    if not any(_signed_by(crl, ca) for ca in issuers):
        log.warning("crl not signed by a trusted CA", source=source)
        return False
    name_hash = issuer_name_hash(parsed.issuer)
    known = await conn.scalar(
        select(signature_crls.c.id).where(
            signature_crls.c.issuer_name_hash == name_hash,
            signature_crls.c.this_update == crl.last_update_utc,
            signature_crls.c.der == der,
        )
    )
    if known is not None:
        return False  # the same CRL again (refresh before the CA published a new one)
    await conn.execute(
        insert(signature_crls).values(
            id=uuid7(),
            issuer_name_hash=name_hash,
            issuer=parsed.issuer.human_friendly,
            source=source,
            this_update=crl.last_update_utc,
            next_update=crl.next_update_utc,
            der=der,
        )
    )
    return True


async def download_crl(url: str, hosts: Sequence[str], seconds: float = 10.0) -> bytes | None:
    if not is_allowed_url(url, hosts):
        log.warning("crl url not allowlisted", url=url)
        return None
    try:
        async with httpx.AsyncClient(timeout=seconds, follow_redirects=False, trust_env=False) as client:
            async with client.stream("GET", url) as resp:
                if resp.status_code != 200:
                    return None
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_CRL_BYTES:
                        return None
                    chunks.append(chunk)
                return b"".join(chunks)
    except (httpx.HTTPError, OSError):
        log.warning("crl download failed", url=url)
        return None


async def refresh_crls(
    conn: AsyncConnection,
    trust: TrustStore,
    *,
    urls: Sequence[str],
    hosts: Sequence[str],
    files: Sequence[Path] = (),
) -> int:
    """The refresh job: download allowlisted CRL URLs and import local CRL files; returns rows stored."""
    stored = 0
    for url in urls:
        data = await download_crl(url, hosts)
        if data is not None and await store_crl(conn, data, url, trust):
            stored += 1
    for file in files:
        if file.is_file() and file.stat().st_size <= MAX_CRL_BYTES:
            if await store_crl(conn, file.read_bytes(), str(file), trust):
                stored += 1
    return stored


# --- the evidence source used by the service -----------------------------------------------------------


@dataclass
class StoredRevocation:
    """CRLs from the database first; OCSP (allowlisted responders, or the dev CA in-process) when no
    current CRL covers the certificate's issuer."""

    conn: AsyncConnection | None
    ocsp_hosts: Sequence[str] = ()
    ocsp_timeout: float = 1.5
    dev_responder: DevResponder | None = None
    poster: OcspPoster = post_ocsp  # the only code path that contacts a responder
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def evidence(self, certs: Sequence[asn1x509.Certificate], trust: TrustStore) -> RevocationEvidence:
        result = RevocationEvidence()
        # CRLs for the certificates' issuers and for the issuers of trusted intermediates.
        hashes_needed = {issuer_name_hash(c.issuer) for c in certs}
        crls = await latest_crls(self.conn, sorted(hashes_needed), self.now()) if self.conn is not None else {}
        result.crls.extend(crls.values())
        for cert in certs:
            if issuer_name_hash(cert.issuer) in crls:
                continue
            issuers = trust.issuers_of(cert)
            if not issuers:
                continue  # untrusted: path building fails anyway, ask nobody
            request = ocsp_request_der(cert, issuers[0])
            if self.dev_responder is not None:
                answer = self.dev_responder(cert, request)
                if answer is not None:
                    result.ocsps.append(answer)
                    continue
            for url in cert.ocsp_urls:
                if not is_allowed_url(url, self.ocsp_hosts):
                    log.info("ocsp url not allowlisted; not contacted", url=url)
                    continue
                answer = await self.poster(url, request, self.ocsp_timeout)
                if answer is not None:
                    result.ocsps.append(answer)
                    break
        return result
