"""The trust store: CA certificates of the accepted qualified providers, from files (configuration,
not code). Every certificate in it is a trust anchor, as the real DS treats its `certs` table."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1x509

MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024
CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


def _load_certs(data: bytes) -> list[asn1x509.Certificate]:
    if pem.detect(data):
        return [
            asn1x509.Certificate.load(der) for kind, _, der in pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"
        ]
    return [asn1x509.Certificate.load(data)]


@dataclass(frozen=True)
class TrustStore:
    anchors: tuple[asn1x509.Certificate, ...]
    key: str  # names this exact set of anchors (part of the verified-certificate cache key)
    by_subject: dict[bytes, list[asn1x509.Certificate]] = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_certs(cls, certs: Iterable[asn1x509.Certificate]) -> TrustStore:
        unique: dict[bytes, asn1x509.Certificate] = {}
        for cert in certs:
            if cert.ca:
                unique.setdefault(hashlib.sha256(cert.dump()).digest(), cert)
        digests = sorted(unique)
        by_subject: dict[bytes, list[asn1x509.Certificate]] = {}
        for cert in unique.values():
            by_subject.setdefault(cert.subject.dump(), []).append(cert)
        key = hashlib.sha256(b"".join(digests)).hexdigest()[:32]
        return cls(anchors=tuple(unique[d] for d in digests), key=key, by_subject=by_subject)

    @classmethod
    def from_paths(cls, paths: Iterable[Path]) -> TrustStore:
        certs: list[asn1x509.Certificate] = []
        for path in paths:
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in CERT_SUFFIXES) if path.is_dir() else [path]
            for file in files:
                if not file.is_file() or file.stat().st_size > MAX_TRUST_FILE_BYTES:
                    continue
                certs.extend(_load_certs(file.read_bytes()))
        return cls.from_certs(certs)

    def issuers_of(self, cert: asn1x509.Certificate) -> list[asn1x509.Certificate]:
        return self.by_subject.get(cert.issuer.dump(), [])


RECHECK_SECONDS = 10.0
_checked: dict[tuple[Path, ...], tuple[float, TrustStore]] = {}


@lru_cache(maxsize=8)
def _cached(paths: tuple[Path, ...], stamp: tuple[float, ...]) -> TrustStore:
    return TrustStore.from_paths(paths)


def load_trust_store(paths: Iterable[Path]) -> TrustStore:
    """Cached per process; files are re-stat'ed at most every RECHECK_SECONDS and a changed mtime reloads
    them, so ops can rotate anchors without a restart and a request pays no file I/O."""
    key = tuple(paths)
    now = time.monotonic()
    hit = _checked.get(key)
    if hit is not None and now - hit[0] < RECHECK_SECONDS:
        return hit[1]
    existing = tuple(p for p in key if p.exists())
    stamp = tuple(
        max([p.stat().st_mtime, *(c.stat().st_mtime for c in p.iterdir())]) if p.is_dir() else p.stat().st_mtime
        for p in existing
    )
    store = _cached(existing, stamp)
    _checked[key] = (now, store)
    return store
