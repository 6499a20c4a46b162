"""Cryptographic verification of one CAdES signature: the `SignatureVerifier` protocol and its
pyhanko backend (ECDSA P-256/P-384, RSA).

A DSTU 4145 backend (UAPKI via ctypes, or IIT EUSign) can implement the same protocol later; the
service picks the first backend whose `supports()` accepts the signer's certificate.

Trust decisions are pyhanko's: chain building and revocation by pyhanko-certvalidator with
`revocation_mode="require"` and no fetching, gated on `bottom_line` (never on `valid`, which stays
True for a tampered payload). A certificate that passed is cached; a later signature by it is still
checked cryptographically (digest + signature), only the chain/revocation work is skipped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from asn1crypto import cms, core
from asn1crypto import x509 as asn1x509
from cryptography.hazmat.primitives import hashes
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import (
    async_validate_cms_signature,
    collect_timing_info,
    extract_certs_for_validation,
    extract_tst_data_iter,
    validate_sig_integrity,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import StandardCMSSignatureStatus
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)

from esoz.core import metrics
from esoz.signatures import errors
from esoz.signatures.cache import CertStatusCache
from esoz.signatures.certinfo import Signer, signer_from_certificate
from esoz.signatures.errors import VerificationFailed
from esoz.signatures.revocation import RevocationEvidence, RevocationSource
from esoz.signatures.trust import TrustStore

# pyhanko logs every refused certificate as a WARNING with a traceback; the service logs one structured
# line per rejection instead, so a stream of bad signatures cannot flood the logs.
logging.getLogger("pyhanko.sign.validation.generic_cms").setLevel(logging.ERROR)

# A personal КЕП certificate asserts digitalSignature and/or nonRepudiation; a key-agreement pair
# certificate asserts neither and must never be accepted as a signer.
SIGNING_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
ALLOWED_DIGESTS = {"sha256", "sha384", "sha512"}
ALLOWED_CURVES = {"secp256r1", "secp384r1"}
MIN_RSA_BITS = 2048

# Exceptions pyhanko/asn1crypto raise on hostile or malformed structures; they mean "bad input".
MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    NotImplementedError,
    RecursionError,  # deeply nested ASN.1
)


@dataclass(frozen=True)
class VerifiedSignature:
    signer: Signer
    signing_time: datetime  # the timestamp's genTime for CAdES-T, else the verification time
    timestamped: bool
    cert_sha256: bytes
    backend: str
    cache_hit: bool


@dataclass
class VerifyContext:
    trust: TrustStore
    revocation: RevocationSource
    cache: CertStatusCache
    now: datetime
    require_timestamp: bool = False


class SignatureVerifier(Protocol):
    name: str

    def supports(self, cert: asn1x509.Certificate) -> bool:
        """Whether this backend handles the signer certificate's key algorithm."""
        ...

    async def verify(self, signed_data: cms.SignedData, content: bytes, ctx: VerifyContext) -> VerifiedSignature:
        """Verify the only SignerInfo of `signed_data` over `content`; raise VerificationFailed."""
        ...


def _digest_fn(content: bytes) -> Callable[[str], bytes]:
    cache: dict[str, bytes] = {}

    def digest(algo: str) -> bytes:
        if algo not in cache:
            h = hashes.Hash(get_pyca_cryptography_hash(algo))
            h.update(content)
            cache[algo] = h.finalize()
        return cache[algo]

    return digest


@lru_cache(maxsize=4096)
def _canonical_cert(der: bytes) -> asn1x509.Certificate:
    # One parsed object per certificate per process: asn1crypto memoises prepared name values on it,
    # which makes pyhanko's signing-certificate check on later signatures several times cheaper.
    return asn1x509.Certificate.load(der)


def find_signer_cert(signed_data: cms.SignedData) -> asn1x509.Certificate:
    """The certificate the (only) SignerInfo names. Matches on exact bytes first: asn1crypto's Name
    equality runs LDAP string preparation and costs more than the ECDSA check itself. The binding to
    the signing-certificate(-v2) attribute is checked by pyhanko during validation, not here."""
    sid = signed_data["signer_infos"][0]["sid"]
    certificates = signed_data["certificates"]
    for choice in [] if isinstance(certificates, core.Void) else certificates:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if cert.serial_number == ias["serial_number"].native and cert.issuer.dump() == ias["issuer"].dump():
                return _canonical_cert(cert.dump())
        elif sid.name == "subject_key_identifier" and cert.key_identifier == sid.chosen.native:
            return _canonical_cert(cert.dump())
    try:  # semantically equal but differently encoded names: let pyhanko match them
        return extract_certs_for_validation(signed_data).signer_cert
    except SignatureValidationError as exc:
        raise VerificationFailed(
            errors.NO_CERTIFICATE, "no_certificate", errors.DETAIL_NO_CERTIFICATE, cause=errors.cause_of(exc)
        ) from exc


def _has_signature_timestamp(signer_info: cms.SignerInfo) -> bool:
    attrs = signer_info["unsigned_attrs"]
    if isinstance(attrs, core.Void):
        return False
    return any(a["type"].native == "signature_time_stamp_token" for a in attrs)


class PyhankoVerifier:
    """ECDSA (P-256, P-384) and RSA (≥ 2048 bits) signatures, verified by pyhanko."""

    name = "pyhanko"

    def supports(self, cert: asn1x509.Certificate) -> bool:
        key = cert.public_key
        algo = key.algorithm
        if algo == "ec":
            kind, curve = key.curve
            return kind == "named" and curve in ALLOWED_CURVES
        if algo in ("rsa", "rsassa_pss"):
            return key.bit_size >= MIN_RSA_BITS
        return False

    def _context(
        self,
        ctx: VerifyContext,
        evidence: RevocationEvidence,
        other_certs: Sequence[asn1x509.Certificate],
        moment: datetime | None,
    ) -> ValidationContext:
        return ValidationContext(
            trust_roots=list(ctx.trust.anchors),
            other_certs=list(other_certs),
            moment=moment,
            allow_fetching=False,  # never fetch URLs named in a certificate
            crls=list(evidence.crls),
            ocsps=list(evidence.ocsps),
            revocation_mode="require",  # no evidence => reject (the hard-fail trap, security.md §7.3)
            # validating at a past timestamp time with today's CRL: a revocation after that time is fine
            retroactive_revinfo=moment is not None,
        )

    async def verify(self, signed_data: cms.SignedData, content: bytes, ctx: VerifyContext) -> VerifiedSignature:
        if not ctx.trust.anchors:
            raise VerificationFailed(errors.ROOT_NOT_FOUND, "untrusted", "the trust store is empty")
        signer_info: cms.SignerInfo = signed_data["signer_infos"][0]
        cert = find_signer_cert(signed_data)
        digest_algo = signer_info["digest_algorithm"]["algorithm"].native
        if digest_algo not in ALLOWED_DIGESTS:
            raise VerificationFailed(errors.UNSUPPORTED_ALGORITHM, "unsupported_algorithm", f"digest {digest_algo}")
        digest = _digest_fn(content)

        timing: dict[str, Any] = {}
        moment: datetime | None = None
        if _has_signature_timestamp(signer_info):
            moment, timing = await self._check_timestamp(signer_info, digest, ctx)
        elif ctx.require_timestamp:
            raise VerificationFailed(errors.NO_TIMESTAMP, "no_timestamp")
        at = moment or ctx.now

        cert_sha256 = hashlib.sha256(cert.dump()).digest()
        cache_hit = await ctx.cache.is_verified(cert_sha256, ctx.trust.key)
        metrics.CERT_CACHE.labels("hit" if cache_hit else "miss").inc()
        if cache_hit:
            # Chain, key usage and revocation were established within the cache TTL; validity at the
            # signing time and the signature itself are checked every time.
            validity = cert["tbs_certificate"]["validity"]
            if not validity["not_before"].native <= at <= validity["not_after"].native:
                raise self._expired(moment is not None, at)
            expected_type = signed_data["encap_content_info"]["content_type"].native
            try:
                intact, valid = validate_sig_integrity(signer_info, cert, expected_type, digest(digest_algo))
            except SignatureValidationError as exc:
                raise VerificationFailed(
                    errors.DATA_SIGNATURE, "signature", errors.DETAIL_SIGNATURE, cause=errors.cause_of(exc)
                ) from exc
            if not (intact and valid):
                raise VerificationFailed(errors.DATA_SIGNATURE, "signature")
        else:
            try:
                cert_info = extract_certs_for_validation(signed_data)  # also checks signing-certificate-v2
            except SignatureValidationError as exc:
                raise VerificationFailed(
                    errors.NO_CERTIFICATE, "no_certificate", errors.DETAIL_NO_CERTIFICATE, cause=errors.cause_of(exc)
                ) from exc
            cert = cert_info.signer_cert
            evidence = await ctx.revocation.evidence([cert], ctx.trust)
            vc = self._context(ctx, evidence, cert_info.other_certs, moment)
            try:
                status = await async_validate_cms_signature(
                    signed_data,
                    status_cls=StandardCMSSignatureStatus,
                    validation_context=vc,
                    status_kwargs=dict(timing),
                    key_usage_settings=SIGNING_KEY_USAGE,
                )
            except SignatureValidationError as exc:  # structural problems of the signed attributes
                raise VerificationFailed(
                    errors.DATA_SIGNATURE, "signature", errors.DETAIL_SIGNATURE, cause=errors.cause_of(exc)
                ) from exc
            if not status.bottom_line:
                raise await self._diagnose(status, cert, cert_info.other_certs, ctx, evidence, moment)
            await ctx.cache.remember(cert_sha256, ctx.trust.key)

        return VerifiedSignature(
            signer=signer_from_certificate(cert),
            signing_time=at,
            timestamped=moment is not None,
            cert_sha256=cert_sha256,
            backend=self.name,
            cache_hit=cache_hit,
        )

    async def _check_timestamp(
        self, signer_info: cms.SignerInfo, digest: Callable[[str], bytes], ctx: VerifyContext
    ) -> tuple[datetime, dict[str, Any]]:
        tsa_certs: list[asn1x509.Certificate] = []
        for tst in extract_tst_data_iter(signer_info, signed=False):
            tst_certs = [c.chosen for c in tst["certificates"] if c.name == "certificate"]
            tsa_certs.extend(tst_certs)
        evidence = await ctx.revocation.evidence(tsa_certs, ctx.trust)
        ts_vc = self._context(ctx, evidence, tsa_certs, None)
        try:
            timing = await collect_timing_info(signer_info, ts_validation_context=ts_vc, raw_digest=digest)
        except SignatureValidationError as exc:
            raise VerificationFailed(
                errors.TIMESTAMP_SIGNATURE, "timestamp", errors.DETAIL_TIMESTAMP, cause=errors.cause_of(exc)
            ) from exc
        ts = timing.get("timestamp_validity")
        if ts is None or not (ts.intact and ts.valid and ts.trusted):
            detail = None if ts is None else f"intact={ts.intact} valid={ts.valid} trusted={ts.trusted}"
            raise VerificationFailed(errors.TIMESTAMP_SIGNATURE, "timestamp", detail)
        return ts.timestamp, timing

    @staticmethod
    def _expired(timestamped: bool, at: datetime) -> VerificationFailed:
        if timestamped:
            return VerificationFailed(
                errors.TIMESTAMP_OUTSIDE_VALIDITY, "expired", f"certificate not valid at {at.isoformat()}"
            )
        return VerificationFailed(errors.EXPIRED, "expired", f"certificate not valid at {at.isoformat()}")

    async def _diagnose(
        self,
        status: StandardCMSSignatureStatus,
        cert: asn1x509.Certificate,
        other_certs: Sequence[asn1x509.Certificate],
        ctx: VerifyContext,
        evidence: RevocationEvidence,
        moment: datetime | None,
    ) -> VerificationFailed:
        """Turn a failed pyhanko status into the real system's message."""
        at = moment or ctx.now
        if not (status.intact and status.valid):
            return VerificationFailed(errors.DATA_SIGNATURE, "signature")
        indic = status.trust_problem_indic
        if indic is AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
            return VerificationFailed(errors.ROOT_NOT_FOUND, "untrusted", cert.issuer.human_friendly)
        if indic in (AdESIndeterminate.REVOKED_NO_POE, AdESIndeterminate.REVOKED_CA_NO_POE):
            details = status.revocation_details
            when = details.revocation_date.isoformat() if details and details.revocation_date else "unknown"
            return VerificationFailed(errors.REVOCATION, "revoked", f"certificate revoked at {when}")
        if indic in (AdESIndeterminate.OUT_OF_BOUNDS_NO_POE, AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED):
            return self._expired(moment is not None, at)
        if indic is AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE:
            return VerificationFailed(errors.KEY_USAGE, "key_usage", "neither digitalSignature nor nonRepudiation")
        if indic in (
            AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE,
            AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
        ):
            return VerificationFailed(errors.UNSUPPORTED_ALGORITHM, "unsupported_algorithm")
        # The AdES summary lumps several causes together: re-run path validation for the exact one.
        validator = CertificateValidator(
            cert,
            intermediate_certs=list(other_certs),
            validation_context=self._context(ctx, evidence, other_certs, moment),
        )
        try:
            await validator.async_validate_path()
        except InsufficientRevinfoError as exc:
            return VerificationFailed(
                errors.REVOCATION, "no_revocation_info", errors.DETAIL_NO_REVOCATION, cause=errors.cause_of(exc)
            )
        except RevokedError as exc:
            return VerificationFailed(
                errors.REVOCATION, "revoked", errors.DETAIL_REVOKED, cause=errors.cause_of(exc)
            )
        except (ExpiredError, NotYetValidError):
            return self._expired(moment is not None, at)
        except PathBuildingError as exc:
            return VerificationFailed(
                errors.ROOT_NOT_FOUND, "untrusted", errors.DETAIL_UNTRUSTED, cause=errors.cause_of(exc)
            )
        except (PathValidationError, ValidationError) as exc:
            return VerificationFailed(
                errors.ROOT_SIGNATURE, "chain", errors.DETAIL_CHAIN, cause=errors.cause_of(exc)
            )
        return VerificationFailed(errors.CONTAINER, "invalid", errors.DETAIL_INVALID, cause=str(indic))
