"""CMS verification: base64 CMS in, verified JSON and signers out (`verify_signed_document`, 400/422 on any
problem). Signed writes do not call it themselves: `signatures.flow.signed_write` verifies, checks the signer
and the content, and keeps the CMS in one order for every signed document.

Work on untrusted input is bounded before any cryptography: the base64 length, the decoded size, the
number of embedded certificates, of signers and of nesting levels are all capped by settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from asn1crypto import cms, core
from asn1crypto import x509 as asn1x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.errors import ApiError
from esoz.core.logging import get_logger
from esoz.settings import Settings, get_settings
from esoz.signatures import errors
from esoz.signatures.cache import DbCertCache, MemoryCertCache
from esoz.signatures.certinfo import Signer, signer_from_certificate
from esoz.signatures.devpki import DevPki
from esoz.signatures.errors import SignatureRejected, VerificationFailed, field_invalid, signature_count_error
from esoz.signatures.revocation import DevResponder, StoredRevocation
from esoz.signatures.trust import TrustStore, load_trust_store
from esoz.signatures.verifier import (
    MALFORMED,
    PyhankoVerifier,
    SignatureVerifier,
    VerifiedSignature,
    VerifyContext,
    find_signer_cert,
)

log = get_logger("esoz.signatures")

MAX_NESTING = 3
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Limits:
    max_cms_bytes: int = 512 * 1024
    max_certificates: int = 16
    max_signers: int = 4

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(s.signatures_max_cms_bytes, s.signatures_max_certificates, s.signatures_max_signers)


@dataclass(frozen=True)
class VerifiedDocument:
    content: Any  # the decoded JSON
    content_bytes: bytes
    cms_der: bytes  # the outermost ContentInfo exactly as received
    signatures: list[VerifiedSignature]  # natural persons, outermost envelope first
    stamps: list[VerifiedSignature]  # organisation seals

    @property
    def signer(self) -> Signer | None:
        return self.signatures[0].signer if self.signatures else None

    @property
    def stamp(self) -> Signer | None:
        return self.stamps[0].signer if self.stamps else None

    @property
    def signed_at(self) -> datetime:
        return min(s.signing_time for s in [*self.signatures, *self.stamps])


# --- decoding and structure ------------------------------------------------------------------------------


def decode_base64(value: object, entry: str, max_bytes: int) -> bytes:
    if not isinstance(value, str):
        raise field_invalid(entry, errors.NOT_BASE64)
    compact = "".join(value.split())  # tolerate line-wrapped base64 (MIME style)
    if len(compact) > 4 * ((max_bytes + 2) // 3):
        raise field_invalid(
            entry, f"signed data must be at most {max_bytes} bytes", rule="length", params={"max": max_bytes}
        )
    try:
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise field_invalid(entry, errors.NOT_BASE64) from None
    if not der:
        raise field_invalid(entry, errors.NOT_BASE64)
    return der


@dataclass(frozen=True)
class _Envelope:
    signed_data: cms.SignedData
    content: bytes
    signers: list[tuple[cms.SignedData, asn1x509.Certificate]]  # one single-signer SignedData each


def _single_signer_views(sd: cms.SignedData) -> list[cms.SignedData]:
    infos = sd["signer_infos"]
    if len(infos) == 1:
        return [sd]
    # pyhanko validates one SignerInfo per SignedData; the signature covers only that SignerInfo's
    # signed attributes, so a copy holding just it verifies exactly as the original.
    return [
        cms.SignedData(
            {
                "version": sd["version"],
                "digest_algorithms": sd["digest_algorithms"],
                "encap_content_info": sd["encap_content_info"],
                "certificates": sd["certificates"],
                "signer_infos": cms.SignerInfos([si]),
            }
        )
        for si in infos
    ]


def _parse_envelopes(der: bytes, entry: str, limits: Limits) -> tuple[list[_Envelope], bytes]:
    """Unwrap nested envelopes (e.g. a stamp over a signed document) down to the content."""
    envelopes: list[_Envelope] = []
    signer_count = 0
    data = der
    for _level in range(MAX_NESTING):
        try:
            info = cms.ContentInfo.load(data, strict=True)
            if info["content_type"].native != "signed_data":
                raise VerificationFailed(errors.CONTAINER, "container", "not a CMS SignedData")
            sd: cms.SignedData = info["content"]
            certificates = sd["certificates"]
            n_certs = 0 if isinstance(certificates, core.Void) else len(certificates)  # .native would parse all
            if n_certs > limits.max_certificates:
                raise field_invalid(
                    entry,
                    f"signed data contains {n_certs} certificates, at most {limits.max_certificates} are accepted",
                    rule="length",
                    params={"max": limits.max_certificates},
                )
            n_signers = len(sd["signer_infos"])
            signer_count += n_signers
            if signer_count > limits.max_signers:
                raise field_invalid(
                    entry,
                    f"signed data contains more than {limits.max_signers} signatures",
                    rule="length",
                    params={"max": limits.max_signers},
                )
            if n_signers == 0:
                raise VerificationFailed(errors.CONTAINER, "container", "no signatures")
            eci = sd["encap_content_info"]
            if isinstance(eci["content"], core.Void):
                raise VerificationFailed(errors.CONTAINER, "detached", "the signed content is not attached")
            content = bytes(eci["content"])
            views = _single_signer_views(sd)
            signers = [(view, find_signer_cert(view)) for view in views]
        except (ApiError, VerificationFailed):
            raise
        except MALFORMED as exc:
            raise VerificationFailed(
                errors.CONTAINER, "container", errors.DETAIL_CONTAINER, cause=errors.cause_of(exc)
            ) from exc
        envelopes.append(_Envelope(sd, content, signers))
        # The real DS keeps unwrapping while the content is itself a PKCS#7 envelope.
        if content[:1] != b"\x30" or not _looks_like_signed_data(content):
            return envelopes, content
        data = content
    raise VerificationFailed(errors.CONTAINER, "container", f"more than {MAX_NESTING} nested envelopes")


def _looks_like_signed_data(data: bytes) -> bool:
    try:
        content_type: str = cms.ContentInfo.load(data, strict=True)["content_type"].native  # asn1crypto is untyped
        return content_type == "signed_data"
    except MALFORMED:
        return False


def decode_json(content: bytes, entry: str) -> Any:
    text = content
    if text.startswith(UTF8_BOM):
        text = text[len(UTF8_BOM) :]
    text = text.rstrip(b"\x00")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise field_invalid(entry, errors.MALFORMED_CONTENT) from None


# --- verification ---------------------------------------------------------------------------------------


async def verify_cms(
    signed_b64: object,
    ctx: VerifyContext,
    *,
    required_signatures: int = 1,
    required_stamps: int = 0,
    entry: str = "$.signed_data",
    limits: Limits = Limits(),
    verifiers: Sequence[SignatureVerifier] = (PyhankoVerifier(),),
) -> VerifiedDocument:
    """Verify a base64 CMS against the sources in `ctx` (no database needed)."""
    der = decode_base64(signed_b64, entry, limits.max_cms_bytes)
    if len(der) > limits.max_cms_bytes:
        raise field_invalid(entry, f"signed data must be at most {limits.max_cms_bytes} bytes", rule="length")
    try:
        envelopes, content = _parse_envelopes(der, entry, limits)
        persons: list[tuple[cms.SignedData, asn1x509.Certificate, bytes]] = []
        stamps: list[tuple[cms.SignedData, asn1x509.Certificate, bytes]] = []
        for env in envelopes:
            for view, cert in env.signers:
                is_stamp = signer_from_certificate(cert).is_stamp
                (stamps if is_stamp else persons).append((view, cert, env.content))
        if len(persons) != required_signatures or len(stamps) != required_stamps:
            raise signature_count_error(required_signatures, required_stamps, len(persons), len(stamps))
        verified_persons = [await _verify_one(view, cert, data, ctx, verifiers) for view, cert, data in persons]
        verified_stamps = [await _verify_one(view, cert, data, ctx, verifiers) for view, cert, data in stamps]
    except VerificationFailed as failure:
        log.info("signature rejected", reason=failure.reason, detail=failure.detail, cause=failure.cause)
        raise SignatureRejected.from_failure(failure, entry) from None
    except MALFORMED as exc:  # lazily parsed ASN.1 fails wherever it is first touched: bad input, never a 500
        log.info("signature rejected", reason="container", cause=errors.cause_of(exc))
        raise SignatureRejected(errors.CONTAINER, "container", errors.DETAIL_CONTAINER, entry) from None
    return VerifiedDocument(
        content=decode_json(content, entry),
        content_bytes=content,
        cms_der=der,
        signatures=verified_persons,
        stamps=verified_stamps,
    )


async def _verify_one(
    view: cms.SignedData,
    cert: asn1x509.Certificate,
    content: bytes,
    ctx: VerifyContext,
    verifiers: Sequence[SignatureVerifier],
) -> VerifiedSignature:
    for backend in verifiers:
        if backend.supports(cert):
            try:
                return await backend.verify(view, content, ctx)
            except VerificationFailed:
                raise
            except MALFORMED as exc:
                raise VerificationFailed(
                    errors.CONTAINER, "container", errors.DETAIL_CONTAINER, cause=errors.cause_of(exc)
                ) from exc
    algo = cert.public_key.algorithm if cert.public_key else "unknown"
    raise VerificationFailed(errors.UNSUPPORTED_ALGORITHM, "unsupported_algorithm", f"certificate key {algo}")


# --- wiring from settings --------------------------------------------------------------------------------

_memory_cache = MemoryCertCache()


def pki_dir(settings: Settings) -> Path:
    return settings.signatures_pki_dir or settings.data_dir / "pki"


def _dev_allowed(settings: Settings, flag: bool | None) -> bool:
    if settings.env == "prod":
        return False  # a CA whose key sits next to the app is never a trust anchor in production
    return settings.env == "dev" if flag is None else flag


def trusts_dev_ca(settings: Settings) -> bool:
    return _dev_allowed(settings, settings.signatures_trust_dev_ca)


def dev_ocsp_enabled(settings: Settings) -> bool:
    return _dev_allowed(settings, settings.signatures_dev_ocsp)


def trust_store_for(settings: Settings) -> TrustStore:
    paths = list(settings.signatures_trust_paths)
    if trusts_dev_ca(settings):
        paths.append(pki_dir(settings) / "ca.pem")
    return load_trust_store(paths)


@lru_cache(maxsize=4)
def _dev_pki(folder: Path, mtime: float) -> DevPki:
    return DevPki.load(folder)


def dev_pki_for(settings: Settings) -> DevPki | None:
    folder = pki_dir(settings)
    if not DevPki.exists(folder):
        return None
    revoked = folder / "revoked.json"
    stamp = revoked.stat().st_mtime if revoked.exists() else 0.0
    return _dev_pki(folder, max(stamp, (folder / "ca.pem").stat().st_mtime))


def dev_responder_for(settings: Settings) -> DevResponder | None:
    if not dev_ocsp_enabled(settings):
        return None
    pki = dev_pki_for(settings)
    if pki is None:
        return None
    ca_subject = asn1x509.Certificate.load(pki.ca.cert.public_bytes(Encoding.DER)).subject.dump()

    def respond(cert: asn1x509.Certificate, request: bytes) -> bytes | None:
        return pki.respond(request) if cert.issuer.dump() == ca_subject else None

    return respond


def context_for(settings: Settings, conn: AsyncConnection | None, now: datetime | None = None) -> VerifyContext:
    ttl = settings.signatures_cert_cache_seconds
    _memory_cache.ttl_seconds = ttl
    cache = DbCertCache(conn, _memory_cache, ttl) if conn is not None else _memory_cache
    return VerifyContext(
        trust=trust_store_for(settings),
        revocation=StoredRevocation(
            conn,
            ocsp_hosts=settings.signatures_ocsp_hosts,
            ocsp_timeout=settings.signatures_ocsp_timeout_seconds,
            dev_responder=dev_responder_for(settings),
        ),
        cache=cache,
        now=now or datetime.now(UTC),
        require_timestamp=settings.signatures_require_timestamp,
    )


async def verify_signed_document(
    conn: AsyncConnection | None,
    signed_b64: object,
    *,
    required_signatures: int = 1,
    required_stamps: int = 0,
    entry: str = "$.signed_data",
    settings: Settings | None = None,
) -> VerifiedDocument:
    """Verify what an MIS sent in `signed_data` / `signed_<entity>`; raises ApiError (400/422)."""
    s = settings or get_settings()
    return await verify_cms(
        signed_b64,
        context_for(s, conn),
        required_signatures=required_signatures,
        required_stamps=required_stamps,
        entry=entry,
        limits=Limits.from_settings(s),
    )


def content_sha256(doc: VerifiedDocument) -> bytes:
    return hashlib.sha256(doc.content_bytes).digest()
