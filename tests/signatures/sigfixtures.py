"""Helpers for the signatures tests: a throw-away PKI (CA, untrusted CA, doctor, TSA, OCSP responder)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import x509 as asn1x509
from cryptography.hazmat.primitives import serialization

from esoz.signatures import devpki
from esoz.signatures.cache import CertStatusCache, NoCache
from esoz.signatures.devpki import Issued
from esoz.signatures.revocation import RevocationSource, StaticRevocation
from esoz.signatures.signing import async_sign
from esoz.signatures.trust import TrustStore
from esoz.signatures.verifier import VerifyContext

DER = serialization.Encoding.DER
DOCTOR_TAX_ID = "3012345678"
DOCTOR_NAME = "Петренко Олена Іванівна"
CONTENT = '{"id": "9b1c", "status": "NEW", "medication_request": {"inn": "Метформін", "qty": 60}}'.encode()


def asn1(cert: Issued) -> asn1x509.Certificate:
    return asn1x509.Certificate.load(cert.cert.public_bytes(DER))


@dataclass
class Pki:
    ca: Issued
    other_ca: Issued
    doctor: Issued
    tsa: Issued
    ocsp: Issued
    trust: TrustStore

    def crl(self, revoked: dict[int, datetime] | None = None, ca: Issued | None = None) -> bytes:
        return devpki.make_crl(ca or self.ca, revoked or {}).public_bytes(DER)

    def ctx(
        self,
        revocation: RevocationSource | None = None,
        *,
        cache: CertStatusCache | None = None,
        require_timestamp: bool = False,
        trust: TrustStore | None = None,
    ) -> VerifyContext:
        return VerifyContext(
            trust=trust or self.trust,
            revocation=revocation if revocation is not None else StaticRevocation(crls=[self.crl()]),
            cache=cache or NoCache(),
            now=datetime.now(UTC),
            require_timestamp=require_timestamp,
        )


def make_pki() -> Pki:
    ca = devpki.make_ca("esoz test QTSP")
    return Pki(
        ca=ca,
        other_ca=devpki.make_ca("self-made CA"),
        doctor=devpki.issue_cert(
            ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, edrpou="38782323", organization="КНП Клініка №1"
        ),
        tsa=devpki.make_service_cert(ca, "esoz test TSA", "tsa", alg="rsa"),
        ocsp=devpki.make_service_cert(ca, "esoz test OCSP", "ocsp"),
        trust=TrustStore.from_certs([asn1(ca)]),
    )


async def sign_b64(content: bytes, signer: Issued, **kwargs: object) -> str:
    return base64.b64encode(await async_sign(content, signer.cert, signer.key, **kwargs)).decode()  # type: ignore[arg-type]


def days(n: float) -> timedelta:
    return timedelta(days=n)
